//! DELETE (RFC 4918 §9.6): files and whole trees. Members that cannot be
//! removed are named in a 207; their ancestors stay, and are not reported.

use std::sync::Arc;

use http::{Response, StatusCode, header, request::Parts};

use crate::auth::Requester;
use crate::authority::WritePermit;
use crate::dav::DavState;
use crate::dav::error::{DavError, store_error_status};
use crate::dav::headers::Depth;
use crate::dav::xml::render;
use crate::locks::{Reach, ResourcePath, WriteIntent};
use crate::store::TreeOutcome;
use crate::web::body::{self, Body};
use crate::web::path::{RequestPath, href};

pub struct DeleteRequest {
    path: ResourcePath,
}

impl DeleteRequest {
    pub fn parse(parts: &Parts, target: RequestPath) -> Result<Self, DavError> {
        if matches!(
            Depth::from_headers(&parts.headers)?,
            Some(Depth::Zero | Depth::One)
        ) {
            // §9.6.1: DELETE always acts as Depth: infinity.
            return Err(DavError::BadRequest(
                "DELETE takes Depth: infinity only".into(),
            ));
        }
        if target.path.is_root() {
            return Err(DavError::Forbidden(
                "the root collection cannot be deleted".into(),
            ));
        }
        Ok(Self { path: target.path })
    }

    pub fn intent(&self) -> WriteIntent {
        WriteIntent::new()
            .touches(&self.path, Reach::Subtree)
            .changes_members_of_parent(&self.path)
    }
}

pub async fn execute(
    state: &Arc<DavState>,
    request: DeleteRequest,
    permit: WritePermit,
    requester: Requester,
) -> Result<Response<Body>, DavError> {
    state
        .blocking(move |s| {
            let path = &request.path;
            s.content.metadata(path)?;
            let outcome = s.content.remove(&permit, path);
            if outcome.failed.is_empty() {
                s.properties.forget_tree(&permit, path)?;
                s.authority.forget_tree(&permit, path, &requester)?;
                return Ok(no_content());
            }
            s.properties.forget(&permit, &outcome.done)?;
            for removed in &outcome.done {
                s.authority.forget_tree(&permit, removed, &requester)?;
            }
            Ok(partial_failure(s, &outcome))
        })
        .await
}

fn no_content() -> Response<Body> {
    let mut response = Response::new(body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// A 207 naming each member that stayed, with the status its failure maps to.
pub fn partial_failure(state: &DavState, outcome: &TreeOutcome) -> Response<Body> {
    let mut responses = String::new();
    for (path, error) in &outcome.failed {
        let is_collection = state
            .content
            .metadata(path)
            .is_ok_and(|m| m.is_collection());
        render::response_with_status(
            &mut responses,
            &href(path, is_collection),
            store_error_status(error),
        );
    }
    multistatus_response(render::multistatus(&responses))
}

pub fn multistatus_response(xml: String) -> Response<Body> {
    let mut response = Response::new(body::full(xml));
    *response.status_mut() = StatusCode::MULTI_STATUS;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    response
}
