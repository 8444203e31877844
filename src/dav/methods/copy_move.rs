//! COPY and MOVE (RFC 4918 §9.8, §9.9). Dead properties travel with the
//! resource; an existing destination is deleted first when Overwrite is T.

use std::sync::Arc;

use http::{Response, StatusCode, request::Parts};

use super::delete::partial_failure;
use crate::auth::Requester;
use crate::authority::WritePermit;
use crate::dav::DavState;
use crate::dav::error::DavError;
use crate::dav::headers::{self, Depth};
use crate::locks::{Reach, ResourcePath, WriteIntent};
use crate::store::{CopyDepth, TreeOutcome};
use crate::web::body::{self, Body};
use crate::web::path::RequestPath;

pub struct CopyMoveRequest {
    source: ResourcePath,
    destination: ResourcePath,
    overwrite: bool,
    depth: CopyDepth,
    is_move: bool,
}

impl CopyMoveRequest {
    pub fn parse(parts: &Parts, target: RequestPath, is_move: bool) -> Result<Self, DavError> {
        let destination = headers::destination(&parts.headers)?.path;
        let overwrite = headers::overwrite(&parts.headers)?;
        let depth = match (Depth::from_headers(&parts.headers)?, is_move) {
            (None | Some(Depth::Infinity), _) => CopyDepth::Tree,
            (Some(Depth::Zero), false) => CopyDepth::ResourceOnly,
            _ => {
                return Err(DavError::BadRequest(if is_move {
                    "MOVE takes Depth: infinity only".into()
                } else {
                    "COPY takes Depth: 0 or infinity".into()
                }));
            }
        };
        let source = target.path;
        if source == destination {
            return Err(DavError::Forbidden(
                "the source and the destination are the same".into(),
            ));
        }
        // Either way round, one tree would be written into or over the other.
        if destination.starts_with(&source) || source.starts_with(&destination) {
            return Err(DavError::Forbidden(
                "the destination lies inside the source, or the source inside the destination"
                    .into(),
            ));
        }
        Ok(Self {
            source,
            destination,
            overwrite,
            depth,
            is_move,
        })
    }

    pub fn destination(&self) -> &ResourcePath {
        &self.destination
    }

    /// COPY changes only the destination side; MOVE both, including the
    /// member lists of the collections it takes from and adds to (§7.4-7.6).
    pub fn intent(&self, destination_exists: bool) -> WriteIntent {
        let mut intent = WriteIntent::new().touches(&self.destination, Reach::Subtree);
        if !destination_exists {
            intent = intent.changes_members_of_parent(&self.destination);
        }
        if self.is_move {
            intent = intent
                .touches(&self.source, Reach::Subtree)
                .changes_members_of_parent(&self.source);
        }
        intent
    }
}

pub async fn execute(
    state: &Arc<DavState>,
    request: CopyMoveRequest,
    permit: WritePermit,
    requester: Requester,
) -> Result<Response<Body>, DavError> {
    state
        .blocking(move |s| run(s, &request, &permit, &requester))
        .await
}

fn run(
    s: &DavState,
    r: &CopyMoveRequest,
    permit: &WritePermit,
    requester: &Requester,
) -> Result<Response<Body>, DavError> {
    s.content.metadata(&r.source)?;
    let destination_parent = r.destination.parent().unwrap_or_default();
    match s.metadata_if_exists(&destination_parent)? {
        Some(meta) if meta.is_collection() => {}
        _ => {
            return Err(DavError::Conflict(
                "the destination's parent collection does not exist".into(),
            ));
        }
    }
    let existed = s.metadata_if_exists(&r.destination)?.is_some();
    if existed {
        if !r.overwrite {
            return Err(DavError::PreconditionFailed(
                "the destination exists and Overwrite is F".into(),
            ));
        }
        // §9.8.4 / §9.9.3: Overwrite T deletes the destination first.
        let removed = s.content.remove(permit, &r.destination);
        if !removed.failed.is_empty() {
            s.properties.forget(permit, &removed.done)?;
            return Ok(partial_failure(s, &removed));
        }
        s.properties.forget_tree(permit, &r.destination)?;
        s.authority.forget_tree(permit, &r.destination, requester)?;
    }
    if r.is_move {
        s.content.rename(permit, &r.source, &r.destination)?;
        s.properties.rename(permit, &r.source, &r.destination)?;
        // Locks never travel with a MOVE (§7.6); the source's are gone.
        s.authority.forget_tree(permit, &r.source, requester)?;
    } else {
        let copied: TreeOutcome = s.content.copy(permit, &r.source, &r.destination, r.depth);
        if copied.done.is_empty() {
            if let Some((_, error)) = copied.failed.into_iter().next() {
                return Err(error.into());
            }
        } else {
            s.properties
                .copy(permit, &r.source, &r.destination, r.depth)?;
            if !copied.failed.is_empty() {
                return Ok(partial_failure(s, &copied));
            }
        }
    }
    let status = if existed {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    };
    let mut response = Response::new(body::empty());
    *response.status_mut() = status;
    Ok(response)
}
