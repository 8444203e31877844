//! The four operations of the Git LFS locking API, on the one lock table.
//! Each is blocking (store work): `mod.rs` runs them on the blocking pool.
//!
//! An LFS lock is an ordinary lock: exclusive, depth 0, on the served path
//! of the file, taken with `LockService::acquire` like a WebDAV LOCK. So a
//! WebDAV lock (or any other) is in the way of an LFS lock and the other way
//! round, and every listing here shows the locks of every surface.

use http::{Response, StatusCode};
use serde_json::json;

use super::error::{LfsError, json_response};
use super::wire::{
    CreateBody, Cursor, UnlockBody, VerifyBody, Viewer, page, parse_body, parse_json, parse_limit,
    token_of,
};
use crate::authority::{AuthorityError, LockFilter, LockService, NewLock};
use crate::locks::{ActiveLock, LockDepth, LockScope, ResourcePath, TimeoutRequest};
use crate::web::body::Body;

/// The `DAV:owner` of locks taken here by a user: WebDAV clients and 423
/// answers show it beside the holder ("locked by alice (Git LFS)"). Without
/// a user there is nobody to show it beside, and LFS would read it as the
/// owner's name.
const OWNER_XML: &str = "<D:owner xmlns:D=\"DAV:\">Git LFS</D:owner>";

/// What one request works with.
pub struct Call<'a> {
    pub authority: &'a LockService,
    pub viewer: Viewer<'a>,
    /// Paths the server keeps for itself (the admin prefix, the state
    /// directory): no lock may be taken there.
    pub reserved: &'a [ResourcePath],
}

impl Call<'_> {
    fn refused(&self, error: AuthorityError) -> LfsError {
        LfsError::from_authority(error, &self.viewer, None)
    }

    /// `POST .../locks`: 201 with the new lock, or 409 with the one in the way.
    pub fn create(&self, body: &[u8]) -> Result<Response<Body>, LfsError> {
        let request: CreateBody = parse_json(body)?;
        let path = self.viewer.repository.resolve(&request.path)?;
        if self.reserved.iter().any(|r| path.starts_with(r)) {
            return Err(LfsError::new(
                StatusCode::BAD_REQUEST,
                format!("{path} is reserved for the server"),
            ));
        }
        let new = NewLock {
            root: path.clone(),
            root_is_collection: false,
            scope: LockScope::Exclusive,
            depth: LockDepth::Zero,
            owner: self.viewer.requester.name().map(|_| OWNER_XML.to_owned()),
            // LFS locks have no refresh: ask for the longest the server
            // grants (--lock-timeout-max).
            timeout: vec![TimeoutRequest::Infinite],
            reason: None,
        };
        let grant = self
            .authority
            .acquire(new, None, &[], self.viewer.requester)
            .map_err(|e| LfsError::from_authority(e, &self.viewer, Some(&path)))?;
        Ok(json_response(
            StatusCode::CREATED,
            &json!({ "lock": self.viewer.lock(&grant.lock) }),
        ))
    }

    /// `GET .../locks?path=&id=&cursor=&limit=&refspec=`
    pub fn list(&self, query: Option<&str>) -> Result<Response<Body>, LfsError> {
        let (mut path, mut id, mut cursor, mut limit) = (None, None, None, None);
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "path" => path = Some(value.into_owned()),
                "id" => id = Some(value.into_owned()),
                "cursor" => cursor = Some(value.into_owned()),
                "limit" => limit = Some(value.into_owned()),
                // refspec: locks hold on every branch.
                _ => {}
            }
        }
        let path = path
            .filter(|p| !p.is_empty())
            .map(|p| self.viewer.repository.resolve(&p))
            .transpose()?;
        let cursor = cursor.as_deref().map(Cursor::decode).transpose()?;
        let limit = parse_limit(limit.as_deref())?;
        let mut locks = match id.filter(|i| !i.is_empty()) {
            Some(id) => self.by_id(&id)?.into_iter().collect(),
            None => self.in_repository(path.as_ref())?,
        };
        if let Some(path) = &path {
            locks.retain(|l| l.root == *path);
        }
        let (locks, next) = page(locks, cursor.as_ref(), limit);
        let locks: Vec<_> = locks.iter().map(|l| self.viewer.lock(l)).collect();
        Ok(json_response(
            StatusCode::OK,
            &with_cursor(json!({ "locks": locks }), next),
        ))
    }

    /// `POST .../locks/verify`: the repository's locks split into the
    /// requester's own (`ours`, which they may unlock) and everyone else's.
    pub fn verify(&self, body: &[u8]) -> Result<Response<Body>, LfsError> {
        let request: VerifyBody = parse_body(body)?;
        let cursor = request.cursor.as_deref().map(Cursor::decode).transpose()?;
        let locks = self.in_repository(None)?;
        let (locks, next) = page(locks, cursor.as_ref(), request.limit.unwrap_or(0));
        let (ours, theirs): (Vec<&ActiveLock>, Vec<&ActiveLock>) =
            locks.iter().partition(|l| self.viewer.owns(l));
        let view = |locks: Vec<&ActiveLock>| -> Vec<_> {
            locks.into_iter().map(|l| self.viewer.lock(l)).collect()
        };
        Ok(json_response(
            StatusCode::OK,
            &with_cursor(json!({ "ours": view(ours), "theirs": view(theirs) }), next),
        ))
    }

    /// `POST .../locks/{id}/unlock`: the holder releases; anyone else needs
    /// `force`, and `force` on someone else's lock needs an administrator
    /// (it is recorded as broken, like `deadbolt locks break`).
    pub fn unlock(&self, id: &str, body: &[u8]) -> Result<Response<Body>, LfsError> {
        let request: UnlockBody = parse_body(body)?;
        let lock = self.by_id(id)?.ok_or_else(|| {
            LfsError::not_found(format!("no lock in this repository has the id {id:?}"))
        })?;
        let requester = self.viewer.requester;
        let gone = if self.viewer.owns(&lock) {
            self.authority
                .release(&lock.token, &lock.root, requester)
                .map(|(lock, _)| lock)
        } else if !request.force {
            return Err(LfsError::forbidden(format!(
                "{} is locked by {}; only they can unlock it (an administrator can use --force)",
                self.viewer.path(&lock.root),
                self.viewer.holder(&lock),
            )));
        } else if !requester.is_admin() {
            return Err(LfsError::forbidden(format!(
                "only an administrator may unlock someone else's lock with --force; {} is locked by {}",
                self.viewer.path(&lock.root),
                self.viewer.holder(&lock),
            )));
        } else {
            let reason = Some("git lfs unlock --force".to_owned());
            self.authority
                .break_lock(lock.token.as_str(), requester, reason)
        };
        let gone = gone.map_err(|e| self.refused(e))?;
        Ok(json_response(
            StatusCode::OK,
            &json!({ "lock": self.viewer.lock(&gone) }),
        ))
    }

    /// The live lock `id` names, when it is in this repository.
    fn by_id(&self, id: &str) -> Result<Option<ActiveLock>, LfsError> {
        let Some(token) = token_of(id) else {
            return Ok(None);
        };
        match self.authority.lock(token.as_str()) {
            Ok(lock) if self.viewer.repository.contains(&lock.root) => Ok(Some(lock)),
            Ok(_) | Err(AuthorityError::NoSuchLock(_)) => Ok(None),
            Err(e) => Err(self.refused(e)),
        }
    }

    /// The live locks rooted inside the repository (at `path`, when given),
    /// whichever surface took them.
    fn in_repository(&self, path: Option<&ResourcePath>) -> Result<Vec<ActiveLock>, LfsError> {
        let repository = self.viewer.repository;
        let filter = LockFilter {
            path: Some(path.unwrap_or(&repository.root).clone()),
            holder: None,
        };
        let mut locks = self.authority.locks(&filter).map_err(|e| self.refused(e))?;
        locks.retain(|l| repository.contains(&l.root));
        Ok(locks)
    }
}

fn with_cursor(mut value: serde_json::Value, next: Option<String>) -> serde_json::Value {
    if let Some(next) = next {
        value["next_cursor"] = json!(next);
    }
    value
}
