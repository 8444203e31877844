//! MKCOL (RFC 4918 §9.3): creates one collection; never its parents.

use std::sync::Arc;

use http::{Response, StatusCode};

use crate::authority::WritePermit;
use crate::dav::error::DavError;
use crate::dav::{DavState, read_xml_body};
use crate::locks::{Reach, ResourcePath, WriteIntent};
use crate::store::StoreError;
use crate::web::body::{self, Body};
use crate::web::path::RequestPath;

pub struct MkcolRequest {
    path: ResourcePath,
}

impl MkcolRequest {
    pub async fn parse(
        state: &DavState,
        target: RequestPath,
        body: Body,
    ) -> Result<Self, DavError> {
        // §9.3: we define no MKCOL body, so any body is 415.
        if !read_xml_body(state, body).await?.is_empty() {
            return Err(DavError::UnsupportedMediaType(
                "MKCOL with a request body is not supported".into(),
            ));
        }
        if target.path.is_root() {
            return Err(DavError::MethodNotAllowed {
                allow: super::options::ALLOW,
                reason: "the root collection already exists".into(),
            });
        }
        Ok(Self { path: target.path })
    }

    pub fn intent(&self) -> WriteIntent {
        WriteIntent::new()
            .touches(&self.path, Reach::Create)
            .changes_members_of_parent(&self.path)
    }
}

pub async fn execute(
    state: &Arc<DavState>,
    request: MkcolRequest,
    permit: WritePermit,
) -> Result<Response<Body>, DavError> {
    state
        .blocking(move |s| {
            if s.metadata_if_exists(&request.path)?.is_some() {
                return Err(already_mapped());
            }
            match s.content.create_collection(&permit, &request.path) {
                Ok(()) => Ok(()),
                Err(StoreError::AlreadyExists(_)) => Err(already_mapped()),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    let mut response = Response::new(body::empty());
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

fn already_mapped() -> DavError {
    DavError::MethodNotAllowed {
        allow: super::options::ALLOW,
        reason: "something already exists at this URL".into(),
    }
}
