//! PUT (RFC 9110 §9.3.4, RFC 4918 §9.7): streams the body into a temporary
//! file beside the target, then fsyncs and renames it into place.

use std::sync::Arc;

use bytes::BytesMut;
use http::{Response, StatusCode, header, request::Parts};
use http_body_util::BodyExt;

use crate::authority::WritePermit;
use crate::dav::DavState;
use crate::dav::error::DavError;
use crate::dav::sync_clients::{Digests, SyncHeaders};
use crate::locks::{Reach, ResourcePath, WriteIntent};
use crate::store::{PatchOp, PendingWrite};
use crate::web::body::{self, Body};
use crate::web::path::RequestPath;

/// Body bytes gathered before one write to disk: bounds memory per upload.
const WRITE_BATCH: usize = 256 * 1024;

pub struct PutRequest {
    path: ResourcePath,
    /// X-OC-Mtime and OC-Checksum (`sync_clients`).
    sync: SyncHeaders,
    /// The body's length, when Content-Length announces it.
    declared: Option<u64>,
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
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok(Self {
            path: target.path,
            sync: SyncHeaders::parse(&parts.headers)?,
            declared,
        })
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
    let (pending, budget) = {
        let (path, permit) = (request.path.clone(), Arc::clone(&permit));
        let declared = request.declared;
        state
            .blocking(move |s| {
                let budget = quota_budget(s, &path, declared)?;
                Ok((s.content.begin_write(&permit, &path)?, budget))
            })
            .await?
    };
    let replaces_existing = pending.replaces_existing();
    let digests = request.sync.wants_digests().then(Digests::default);
    let mut upload = Some(Upload { pending, digests });
    let mut batch = BytesMut::new();
    let mut received: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| DavError::BodyRead(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            received = received.saturating_add(data.len() as u64);
            if let Some(budget) = &budget {
                // Dropping the upload removes what it wrote so far.
                budget.check(received)?;
            }
            batch.extend_from_slice(&data);
            if batch.len() >= WRITE_BATCH {
                let chunk = batch.split().freeze();
                upload = Some(write(state, upload, move |u| u.write(&chunk)).await?);
            }
        }
    }
    let chunk = batch.freeze();
    let upload = upload.ok_or_else(|| DavError::Internal("upload lost".into()))?;
    let PutRequest { path, sync, .. } = request;
    let mtime_accepted = sync.mtime.is_some();
    state
        .blocking(move |s| {
            let mut upload = upload;
            upload.write(&chunk)?;
            let Upload {
                mut pending,
                digests,
            } = upload;
            let checksums = digests.map(Digests::finish);
            if let Some(mismatch) = checksums.as_ref().and_then(|sums| sync.mismatch(sums)) {
                // Dropping the upload removes its temporary file.
                return Err(DavError::BadRequest(mismatch));
            }
            if let Some(at) = sync.mtime {
                pending.set_modified(at)?;
            }
            pending.commit()?;
            if let (Some(quota), Some(budget)) = (&s.quota, &budget) {
                quota.wrote(budget.replaced, received);
            }
            if let Some(sums) = checksums {
                // Kept with the ETag they describe; the upload stands even
                // if they cannot be kept.
                let kept = s.content.metadata(&path).and_then(|meta| {
                    let op = PatchOp::Set(sums.to_property(&meta.etag));
                    s.properties.patch(&permit, &path, &[op])
                });
                if let Err(e) = kept {
                    tracing::warn!(%path, error = %e, "could not keep the upload's checksums");
                }
            }
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
    let mut response = Response::builder().status(status);
    if mtime_accepted {
        response = response.header("x-oc-mtime", "accepted");
    }
    response
        .body(body::empty())
        .map_err(|e| DavError::Internal(e.to_string()))
}

/// What an upload may write under `--quota`: the room left plus the bytes
/// of the file it replaces.
struct Budget {
    room: u64,
    replaced: u64,
}

impl Budget {
    fn check(&self, bytes: u64) -> Result<(), DavError> {
        if bytes <= self.room.saturating_add(self.replaced) {
            return Ok(());
        }
        Err(DavError::InsufficientStorage(format!(
            "the upload ({bytes} bytes or more) does not fit in the quota (--quota): \
             {} bytes are free",
            self.room
        )))
    }
}

/// The upload's budget under the quota (none without one), refusing at
/// once a body whose announced length does not fit.
fn quota_budget(
    s: &DavState,
    path: &ResourcePath,
    declared: Option<u64>,
) -> Result<Option<Budget>, DavError> {
    let Some(quota) = &s.quota else {
        return Ok(None);
    };
    let replaced = s.metadata_if_exists(path)?.map_or(0, |m| m.len);
    let budget = Budget {
        room: quota.room(s.content.as_ref()),
        replaced,
    };
    if let Some(declared) = declared {
        budget.check(declared)?;
    }
    Ok(Some(budget))
}

/// An upload in progress and the digests of what it received so far.
struct Upload {
    pending: Box<dyn PendingWrite>,
    digests: Option<Digests>,
}

impl Upload {
    fn write(&mut self, chunk: &[u8]) -> Result<(), crate::store::StoreError> {
        if let Some(digests) = &mut self.digests {
            digests.update(chunk);
        }
        self.pending.write_chunk(chunk)
    }
}

/// Runs one write of the upload on the blocking pool and hands it back.
async fn write<F>(
    state: &Arc<DavState>,
    upload: Option<Upload>,
    step: F,
) -> Result<Upload, DavError>
where
    F: FnOnce(&mut Upload) -> Result<(), crate::store::StoreError> + Send + 'static,
{
    let mut upload = upload.ok_or_else(|| DavError::Internal("upload lost".into()))?;
    state
        .blocking(move |_| {
            step(&mut upload)?;
            Ok(upload)
        })
        .await
}
