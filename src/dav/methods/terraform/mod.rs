//! Terraform's http state backend on a plain WebDAV URL: with `address`,
//! `lock_address` and `unlock_address` all naming the state file, Terraform
//! sends `LOCK` and `UNLOCK` with its LockInfo JSON as the body, `GET`s the
//! state and `POST`s it back with `?ID=` naming its lock.
//!
//! Nothing here is a side table: a Terraform lock is an exclusive depth-0
//! lock granted by the lock authority like any WebDAV lock (listed, audited,
//! breakable, bound to its principal), and a state write is a PUT through
//! the same gate and write path. What Terraform's client needs is only in
//! the answers: `200` (not `201`) for a granted LOCK and for UNLOCK, and a
//! refused LOCK is `423` with the holder's LockInfo JSON, which Terraform
//! decodes and prints.

mod lock_info;

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Response, StatusCode, header, request::Parts};

use self::lock_info::{LockInfo, names, refusal_json, unlock_id};
use super::lock::{CreateLock, grant};
use super::put::PutRequest;
use crate::auth::Requester;
use crate::authority::AuthorityError;
use crate::dav::DavState;
use crate::dav::error::DavError;
use crate::dav::headers;
use crate::locks::{
    ActiveLock, LockDepth, LockError, LockScope, LockToken, ResourcePath, TimeoutRequest,
    WriteIntent,
};
use crate::store::StoreError;
use crate::web::body::{self, Body};
use crate::web::path::RequestPath;

/// Whether the request's Content-Type is JSON (`application/json`, or a
/// `+json` type).
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let media = value.split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case("application/json") || media.to_ascii_lowercase().ends_with("+json")
}

/// Whether a LOCK or UNLOCK is Terraform's: a JSON body, by its Content-Type
/// or by its first character. XML bodies, and empty ones without a JSON
/// Content-Type (a refresh, a WebDAV UNLOCK), stay WebDAV's.
pub fn speaks_json(headers: &HeaderMap, body: &[u8]) -> bool {
    json_content_type(headers) || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Whether a POST is a Terraform state write: Terraform always sends its
/// state as `application/json`. Other POSTs stay refused (405).
pub fn is_state_write(headers: &HeaderMap) -> bool {
    json_content_type(headers)
}

/// Terraform's LOCK: an exclusive depth-0 lock on the state file whose
/// owner keeps the LockInfo. An unmapped state URL becomes an empty file,
/// as for any LOCK (§7.3); Terraform reads an empty state as none.
pub async fn lock(
    state: &Arc<DavState>,
    parts: &Parts,
    target: RequestPath,
    body: &[u8],
    submitted: Vec<LockToken>,
    requester: Requester,
) -> Result<Response<Body>, DavError> {
    let info = LockInfo::parse(body)?;
    let Some(id) = info.id().map(str::to_owned) else {
        return Err(DavError::BadRequest(
            "the LockInfo needs an ID: Terraform names its lock by it".into(),
        ));
    };
    // Terraform never refreshes its lock and an apply may run for hours:
    // ask for the longest lock the server grants, unless told otherwise.
    let mut timeout = headers::timeout(&parts.headers);
    if timeout.is_empty() {
        timeout.push(TimeoutRequest::Infinite);
    }
    let path = target.path;
    let disclosure = state.config.disclosure;
    let lock = state
        .blocking(move |s| {
            check_state_url(s, &path)?;
            let new = CreateLock {
                path: path.clone(),
                scope: LockScope::Exclusive,
                depth: LockDepth::Zero,
                owner: Some(info.to_owner_xml()),
                timeout,
            };
            match grant(s, new, &submitted, &requester) {
                Ok(granted) => Ok(granted.lock),
                // Terraform's client retries a request whose answer it did
                // not get: its own lock, asked for again, is granted.
                Err(DavError::Locked(LockError::Conflict { lock }))
                    if lock.root == path
                        && lock.principal.as_deref() == requester.name()
                        && LockInfo::of_lock(&lock).is_some_and(|i| i.id() == Some(&id)) =>
                {
                    Ok(*lock)
                }
                // Terraform reads a 423 body as the holder's LockInfo.
                Err(refused) => Err(match &refused {
                    DavError::Locked(refusal) if refused.status() == StatusCode::LOCKED => {
                        DavError::StateLocked(refusal_json(refusal, disclosure))
                    }
                    _ => refused,
                }),
            }
        })
        .await?;
    let token = HeaderValue::from_str(&format!("<{}>", lock.token))
        .map_err(|e| DavError::Internal(e.to_string()))?;
    Response::builder()
        .status(StatusCode::OK)
        .header("lock-token", token)
        .header(header::CACHE_CONTROL, "no-store")
        .body(body::empty())
        .map_err(|e| DavError::Internal(e.to_string()))
}

/// A state file is a file in an existing collection. Refused here with
/// statuses Terraform does not take for "locked" (it reads 409 as a held
/// lock and tries to decode the holder from the body).
fn check_state_url(s: &DavState, path: &ResourcePath) -> Result<(), DavError> {
    let parent = path.parent().ok_or_else(|| {
        DavError::BadRequest("the root is a collection; the state needs a file URL".into())
    })?;
    if s.metadata_if_exists(path)?
        .is_some_and(|m| m.is_collection())
    {
        return Err(DavError::BadRequest(format!(
            "{path} is a collection; the state needs a file URL"
        )));
    }
    if !s
        .metadata_if_exists(&parent)?
        .is_some_and(|m| m.is_collection())
    {
        // No intermediate collections are made (§9.10.6): MKCOL them.
        return Err(StoreError::NotFound(parent).into());
    }
    Ok(())
}

/// Terraform's UNLOCK: releases the lock its body's ID names; with no ID
/// (`terraform force-unlock` sends an empty body), the lock on the state
/// file. Only its holder may, or an administrator (recorded as broken).
pub async fn unlock(
    state: &Arc<DavState>,
    target: RequestPath,
    body: &[u8],
    requester: Requester,
) -> Result<Response<Body>, DavError> {
    let id = unlock_id(body)?;
    let path = target.path;
    state
        .blocking(move |s| {
            let lock = named_lock(s.covering_locks(&path)?, id.as_deref(), &path)?;
            s.authority
                .release(&lock.token, &path, &requester)
                .map_err(|e| match e {
                    AuthorityError::Refused(LockError::TokenMismatch) => {
                        DavError::Conflict(format!("the lock on {path} was released meanwhile"))
                    }
                    other => other.into(),
                })
        })
        .await?;
    // Terraform takes nothing but 200 for a successful unlock.
    Response::builder()
        .status(StatusCode::OK)
        .body(body::empty())
        .map_err(|e| DavError::Internal(e.to_string()))
}

/// The one lock covering `path` that `id` names (any one lock when `None`).
fn named_lock(
    covering: Vec<ActiveLock>,
    id: Option<&str>,
    path: &ResourcePath,
) -> Result<ActiveLock, DavError> {
    match id {
        Some(id) => covering
            .into_iter()
            .find(|lock| names(lock, id))
            .ok_or_else(|| DavError::Conflict(not_held(id, path))),
        None => match <[ActiveLock; 1]>::try_from(covering) {
            Ok([lock]) => Ok(lock),
            Err(covering) if covering.is_empty() => {
                Err(DavError::Conflict(format!("nothing is locked at {path}")))
            }
            Err(covering) => Err(DavError::Conflict(format!(
                "{} shared locks cover {path}; name one by its token as the ID",
                covering.len()
            ))),
        },
    }
}

fn not_held(id: &str, path: &ResourcePath) -> String {
    format!(
        "no lock with ID {id} is held on {path} (it expired, or was unlocked or broken); lock the state again"
    )
}

/// Terraform's state write: `POST address[?ID=lock id]` with the state.
/// It is a PUT: the same gate, with the named lock's token submitted, and
/// the same atomic write (temporary file, fsync, rename).
pub struct StateWrite {
    put: PutRequest,
    id: Option<String>,
}

impl StateWrite {
    pub fn parse(parts: &Parts, target: RequestPath) -> Result<Self, DavError> {
        let id = parts.uri.query().and_then(|query| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "ID")
                .map(|(_, id)| id.into_owned())
                .filter(|id| !id.is_empty())
        });
        let put = PutRequest::parse(parts, target)?;
        Ok(Self { put, id })
    }

    pub fn path(&self) -> &ResourcePath {
        self.put.path()
    }

    pub fn intent(&self, exists: bool) -> WriteIntent {
        self.put.intent(exists)
    }

    /// The tokens the write submits: the If header's, and the token of the
    /// lock `?ID=` names. An ID that names no lock on the state is refused:
    /// the writer believes it holds a lock that is gone. Without an ID
    /// (Terraform with locking off), the write is a plain PUT: allowed
    /// while nobody holds a lock on the state.
    pub async fn tokens(
        &self,
        state: &Arc<DavState>,
        mut submitted: Vec<LockToken>,
    ) -> Result<Vec<LockToken>, DavError> {
        let Some(id) = self.id.clone() else {
            return Ok(submitted);
        };
        let path = self.path().clone();
        let covering = state.blocking(move |s| s.covering_locks(&path)).await?;
        match covering.iter().find(|lock| names(lock, &id)) {
            Some(lock) => submitted.push(lock.token.clone()),
            // Held by another lock: the gate answers 423 naming its holder.
            None if !covering.is_empty() => {}
            None => return Err(DavError::Conflict(not_held(&id, self.path()))),
        }
        Ok(submitted)
    }

    pub fn into_put(self) -> PutRequest {
        self.put
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: Option<&str>) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Some(value) = content_type {
            map.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn json_bodies_are_terraforms_xml_and_empty_ones_webdavs() {
        let none = headers(None);
        assert!(speaks_json(&none, b" \n{\"ID\":\"a\"}"));
        assert!(!speaks_json(&none, b"<?xml version=\"1.0\"?><D:lockinfo/>"));
        assert!(!speaks_json(&none, b""), "an empty LOCK is a refresh");
        let xml = headers(Some("application/xml; charset=utf-8"));
        assert!(!speaks_json(&xml, b"<D:lockinfo/>"));
        for json in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/vnd.x+json",
        ] {
            assert!(speaks_json(&headers(Some(json)), b""), "{json}");
            assert!(is_state_write(&headers(Some(json))), "{json}");
        }
        assert!(!is_state_write(&headers(Some("text/plain"))));
        assert!(!is_state_write(&none));
    }

    /// A shared lock on `/s`, granted by the core.
    fn lock(token: &str) -> ActiveLock {
        let request = crate::locks::LockRequest {
            token: LockToken(token.into()),
            root: ResourcePath::from_segments(["s"]).unwrap(),
            root_is_collection: false,
            scope: LockScope::Shared,
            depth: LockDepth::Zero,
            owner: None,
            principal: None,
            client: Default::default(),
            timeout: Vec::new(),
        };
        crate::locks::LockRules::default()
            .acquire(&mut Default::default(), request, crate::locks::Timestamp(0))
            .unwrap()
    }

    #[test]
    fn an_unlock_names_one_lock() {
        let path = ResourcePath::from_segments(["s"]).unwrap();
        let conflict = |r: Result<ActiveLock, DavError>| match r {
            Err(DavError::Conflict(reason)) => reason,
            other => panic!("{other:?}"),
        };
        let two = vec![lock("urn:a"), lock("urn:b")];
        assert_eq!(
            named_lock(two.clone(), Some("urn:b"), &path)
                .unwrap()
                .token
                .0,
            "urn:b"
        );
        assert!(
            conflict(named_lock(two.clone(), Some("urn:c"), &path))
                .contains("no lock with ID urn:c")
        );
        assert!(conflict(named_lock(two, None, &path)).contains("2 shared locks"));
        assert!(conflict(named_lock(vec![], None, &path)).contains("nothing is locked"));
        assert_eq!(
            named_lock(vec![lock("urn:a")], None, &path)
                .unwrap()
                .token
                .0,
            "urn:a"
        );
    }
}
