//! PROPPATCH (RFC 4918 §9.2): set and remove dead properties in document
//! order, all or nothing. A protected live property fails with 403 and
//! every other instruction of the request with 424.

use std::sync::Arc;

use http::{Response, StatusCode};

use super::delete::multistatus_response;
use crate::authority::WritePermit;
use crate::dav::error::DavError;
use crate::dav::live_props;
use crate::dav::sync_clients;
use crate::dav::xml;
use crate::dav::xml::render::{self, Precondition, PropStat, PropValue};
use crate::dav::{DavState, read_xml_body};
use crate::locks::{Reach, ResourcePath, WriteIntent};
use crate::store::{PatchOp, PropertyName};
use crate::web::body::Body;
use crate::web::path::{RequestPath, href};

pub struct ProppatchRequest {
    path: ResourcePath,
    ops: Vec<PatchOp>,
}

impl ProppatchRequest {
    pub async fn parse(
        state: &DavState,
        target: RequestPath,
        body: Body,
    ) -> Result<Self, DavError> {
        let body = read_xml_body(state, body).await?;
        let ops = xml::proppatch::parse(&body)?;
        Ok(Self {
            path: target.path,
            ops,
        })
    }

    pub fn intent(&self) -> WriteIntent {
        WriteIntent::new().touches(&self.path, Reach::Resource)
    }
}

fn op_name(op: &PatchOp) -> &PropertyName {
    match op {
        PatchOp::Set(prop) => &prop.name,
        PatchOp::Remove(name) => name,
    }
}

pub async fn execute(
    state: &Arc<DavState>,
    request: ProppatchRequest,
    permit: WritePermit,
) -> Result<Response<Body>, DavError> {
    state
        .blocking(move |s| {
            let meta = s.content.metadata(&request.path)?;
            // Each property once, in the order the request names it.
            let mut names: Vec<&PropertyName> = Vec::new();
            for op in &request.ops {
                if !names.contains(&op_name(op)) {
                    names.push(op_name(op));
                }
            }
            let (refused, accepted): (Vec<_>, Vec<_>) = names
                .into_iter()
                .partition(|name| live_props::is_protected(name));
            let as_values = |names: Vec<&PropertyName>| {
                names
                    .into_iter()
                    .map(|n| PropValue::Name(n.clone()))
                    .collect::<Vec<_>>()
            };
            let propstats = if refused.is_empty() {
                s.properties.patch(&permit, &request.path, &request.ops)?;
                // Windows sets the modification time this way: honour it,
                // so getlastmodified and the file agree.
                if let Some(at) = request.ops.iter().find_map(sync_clients::win32_modified) {
                    s.content.set_modified(&permit, &request.path, at)?;
                }
                vec![PropStat {
                    status: StatusCode::OK,
                    props: as_values(accepted),
                    error: None,
                }]
            } else {
                vec![
                    PropStat {
                        status: StatusCode::FORBIDDEN,
                        props: as_values(refused),
                        error: Some(Precondition::CannotModifyProtectedProperty),
                    },
                    PropStat {
                        status: StatusCode::FAILED_DEPENDENCY,
                        props: as_values(accepted),
                        error: None,
                    },
                ]
            };
            let mut out = String::new();
            render::response_with_propstats(
                &mut out,
                &href(&request.path, meta.is_collection()),
                &propstats,
            );
            Ok(multistatus_response(render::multistatus(&out)))
        })
        .await
}
