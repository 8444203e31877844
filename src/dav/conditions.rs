//! The conditional headers of a request, HTTP's (RFC 9110 §13) and `If`
//! (RFC 4918 §10.4), evaluated against the current state; and the write
//! gate they are evaluated with.

use std::sync::Arc;
use std::time::Duration;

use super::conditional::Preconditions;
use super::error::DavError;
use super::if_header::{IfHeader, ResourceState};
use super::state::DavState;
use crate::auth::Requester;
use crate::authority::AuthorityError;
use crate::authority::WritePermit;
use crate::locks::{LockError, LockToken, ResourcePath, WriteIntent};
use crate::web::path::parse_request_path;

#[derive(Clone)]
pub struct Conditions {
    http: Preconditions,
    if_header: Option<IfHeader>,
    target: ResourcePath,
    host: Option<String>,
}

impl Conditions {
    pub fn from_request(
        parts: &http::request::Parts,
        target: &ResourcePath,
    ) -> Result<Self, DavError> {
        let if_header = match parts.headers.get("if") {
            Some(value) => {
                let text = value
                    .to_str()
                    .map_err(|_| DavError::BadRequest("the If header is not ASCII".into()))?;
                Some(IfHeader::parse(text)?)
            }
            None => None,
        };
        Ok(Self {
            http: Preconditions::from_headers(&parts.headers),
            if_header,
            target: target.clone(),
            host: parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned),
        })
    }

    /// Whether the request states HTTP preconditions (`If-Match`,
    /// `If-None-Match`, ...): their answer depends on the write in progress.
    fn is_conditional(&self) -> bool {
        !self.http.is_empty()
    }

    /// Every state token of the `If` header (§10.4.1), whatever it evaluates to.
    pub fn submitted_tokens(&self) -> Vec<LockToken> {
        self.if_header
            .as_ref()
            .map(IfHeader::submitted_tokens)
            .unwrap_or_default()
    }

    /// Evaluates HTTP preconditions (RFC 9110 §13.2.2) and the If header
    /// (RFC 4918 §10.4) against the current state.
    pub async fn check(self, state: &Arc<DavState>, safe_method: bool) -> Result<(), DavError> {
        if self.http.is_empty() && self.if_header.is_none() {
            return Ok(());
        }
        state
            .blocking(move |s| {
                let current = s.metadata_if_exists(&self.target)?;
                self.http.evaluate(safe_method, current.as_ref())?;
                let Some(if_header) = &self.if_header else {
                    return Ok(());
                };
                let holds = if_header.evaluate(|tag| {
                    let path = match tag {
                        None => self.target.clone(),
                        Some(tag) => resource_tag_path(tag, self.host.as_deref())?,
                    };
                    let etag = match s.metadata_if_exists(&path) {
                        Ok(meta) => meta.map(|m| m.etag),
                        Err(_) => None,
                    };
                    let lock_tokens = s
                        .covering_locks(&path)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|l| l.token)
                        .collect();
                    Some(ResourceState { etag, lock_tokens })
                });
                if holds {
                    Ok(())
                } else {
                    Err(DavError::IfHeaderFalse)
                }
            })
            .await
    }
}

/// The path a Resource-Tag names, when it is on this server.
fn resource_tag_path(tag: &str, host: Option<&str>) -> Option<ResourcePath> {
    if tag.starts_with('/') {
        return parse_request_path(tag).ok().map(|p| p.path);
    }
    let uri: http::Uri = tag.parse().ok()?;
    let authority = uri.authority()?;
    let host: http::uri::Authority = host?.parse().ok()?;
    if !authority.host().eq_ignore_ascii_case(host.host())
        || authority.port_u16() != host.port_u16()
    {
        return None;
    }
    parse_request_path(uri.path()).ok().map(|p| p.path)
}

/// The write gate plus the request's conditions, evaluated once. The
/// conditions are evaluated after the authority admitted the write, while
/// the permit latches its paths, so nothing can change between that check
/// and the write (e.g. two `If-None-Match: *` PUTs). When the authority
/// refuses, the conditions still decide first: a false If header is 412
/// even on a locked resource (§10.4.1, §12.1).
///
/// A conditional write (`If-None-Match: *`, `If-Match`) that finds the
/// resource being written waits for that write, up to `CONDITIONAL_WAIT`,
/// and is then judged on what it wrote: of 32 racing conditional creates,
/// one is `201` and the others `412`, not `423`.
pub async fn pass_gate(
    state: &Arc<DavState>,
    conditions: Conditions,
    intent: WriteIntent,
    submitted: &[LockToken],
    requester: &Requester,
) -> Result<WritePermit, DavError> {
    let deadline = tokio::time::Instant::now() + CONDITIONAL_WAIT;
    let mut pause = Duration::from_millis(5);
    let gate = loop {
        let gate = state
            .authority
            .admit_async(intent.clone(), submitted, requester)
            .await;
        let busy = matches!(
            gate,
            Err(AuthorityError::Refused(LockError::BeingWritten { .. }))
        );
        if !(busy && conditions.is_conditional() && tokio::time::Instant::now() < deadline) {
            break gate.map_err(DavError::from);
        }
        // The write ends when its upload does: look again soon, less often
        // the longer it takes.
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    };
    conditions.check(state, false).await?;
    gate
}

/// How long a conditional write waits for a write in progress.
const CONDITIONAL_WAIT: Duration = Duration::from_secs(5);
