//! PUT (RFC 9110 §9.3.4, RFC 4918 §9.7): streams the body into a temporary
//! file beside the target, then fsyncs and renames it into place.

use std::sync::Arc;

use bytes::BytesMut;
use http::{Response, StatusCode, header, request::Parts};
use http_body_util::BodyExt;

use crate::authority::WritePermit;
use crate::dav::DavState;
use crate::dav::error::DavError;
use crate::locks::{Reach, ResourcePath, WriteIntent};
use crate::store::PendingWrite;
use crate::web::body::{self, Body};
use crate::web::path::RequestPath;

/// Body bytes gathered before one write to disk: bounds memory per upload.
const WRITE_BATCH: usize = 256 * 1024;

pub struct PutRequest {
    path: ResourcePath,
}

impl PutRequest {
    pub fn parse(parts: &Parts, target: RequestPath) -> Result<Self, DavError> {
        if parts.headers.contains_key(header::CONTENT_RANGE) {
            // RFC 9110 §14.5: a partial PUT must not be taken as a full one.
            return Err(DavError::BadRequest(
                "Content-Range on PUT (partial update) is not supported".into(),
            ));
        }
        if target.path.is_root() {
            return Err(DavError::MethodNotAllowed {
                allow: super::options::ALLOW,
                reason: "the root is a collection; PUT needs a file name".into(),
            });
        }
        Ok(Self { path: target.path })
    }

    pub fn path(&self) -> &ResourcePath {
        &self.path
    }

    /// A new file also changes its parent's member list (§7.4).
    pub fn intent(&self, exists: bool) -> WriteIntent {
        let intent = WriteIntent::new().touches(&self.path, Reach::Resource);
        if exists {
            intent
        } else {
            intent.changes_members_of_parent(&self.path)
        }
    }
}

pub async fn execute(
    state: &Arc<DavState>,
    request: PutRequest,
    permit: WritePermit,
    mut body: Body,
) -> Result<Response<Body>, DavError> {
    let permit = Arc::new(permit);
    // Checks (parent exists, target is not a collection) happen here, before
    // a single body byte is read.
    let pending = {
        let (path, permit) = (request.path.clone(), Arc::clone(&permit));
        state
            .blocking(move |s| Ok(s.content.begin_write(&permit, &path)?))
            .await?
    };
    let replaces_existing = pending.replaces_existing();
    let mut pending = Some(pending);
    let mut batch = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| DavError::BodyRead(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            batch.extend_from_slice(&data);
            if batch.len() >= WRITE_BATCH {
                let chunk = batch.split().freeze();
                pending = Some(write(state, pending, move |p| p.write_chunk(&chunk)).await?);
            }
        }
    }
    let chunk = batch.freeze();
    let pending = pending.ok_or_else(|| DavError::Internal("upload lost".into()))?;
    state
        .blocking(move |_| {
            let mut pending = pending;
            pending.write_chunk(&chunk)?;
            pending.commit()?;
            // The write is over: its latch is released here, on the
            // blocking pool, before the answer goes out.
            drop(permit);
            Ok(())
        })
        .await?;
    let status = if replaces_existing {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    };
    Response::builder()
        .status(status)
        .body(body::empty())
        .map_err(|e| DavError::Internal(e.to_string()))
}

/// Runs one write of the upload on the blocking pool and hands it back.
async fn write<F>(
    state: &Arc<DavState>,
    pending: Option<Box<dyn PendingWrite>>,
    step: F,
) -> Result<Box<dyn PendingWrite>, DavError>
where
    F: FnOnce(&mut Box<dyn PendingWrite>) -> Result<(), crate::store::StoreError> + Send + 'static,
{
    let mut pending = pending.ok_or_else(|| DavError::Internal("upload lost".into()))?;
    state
        .blocking(move |_| {
            step(&mut pending)?;
            Ok(pending)
        })
        .await
}
