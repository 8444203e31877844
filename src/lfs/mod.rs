//! The Git LFS File Locking API, so that `git lfs lock` takes its locks in
//! deadbolt's one lock table.
//!
//! A repository is a served path: with
//! `lfs.url = http://HOST:PORT/_deadbolt/lfs/projects/game`, the LFS path
//! `assets/hero.psd` is the served `/projects/game/assets/hero.psd`.
//!
//! | method | path after `/_deadbolt/lfs/<repository>` | |
//! |---|---|---|
//! | POST | `/locks` | `{"path"}`: 201 `{"lock"}`; 409 `{"lock", "message"}` naming the lock in the way |
//! | GET | `/locks?path=&id=&cursor=&limit=&refspec=` | `{"locks", "next_cursor"?}`, newest first |
//! | POST | `/locks/verify` | `{"cursor"?, "limit"?}`: `{"ours", "theirs", "next_cursor"?}` |
//! | POST | `/locks/{id}/unlock` | `{"force"?}`: `{"lock"}` |
//!
//! - An LFS lock is an exclusive, depth-0 lock on the served path, taken
//!   through the lock authority like a WebDAV LOCK: WebDAV writes there get
//!   423, and the lock is listed, audited and breakable like any other.
//! - A lock's id is the uuid of its token (`urn:uuid:<id>`), so either one
//!   gives the other.
//! - LFS has no refresh: LFS locks ask for an infinite timeout, which the
//!   server caps at `--lock-timeout-max` (one week by default).
//! - Any authenticated user may lock and unlock; read-only users and
//!   anonymous readers may only list and verify. This surface does not go
//!   through the admin surface's administrators-only check.
//! - The `ref` of a request is ignored: a lock holds on every branch.

mod api;
mod error;
mod wire;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response, StatusCode};

use self::api::Call;
use self::error::LfsError;
use self::wire::{Repository, Viewer};
use crate::auth::{AuthError, Requester, WriteDenied};
use crate::authority::LockService;
use crate::locks::ResourcePath;
use crate::web::body::{Body, read_limited};

/// The segment after the reserved prefix (`/_deadbolt/lfs/...`) that routes
/// to this surface.
pub const LFS_SEGMENT: &str = "lfs";

/// Settings of the LFS surface.
#[derive(Debug, Clone)]
pub struct LfsConfig {
    /// With users, locking needs a read-write login.
    pub authentication: bool,
    /// `--hide-lock-owners`: other users' names are left out.
    pub hide_lock_owners: bool,
    /// The largest JSON body read.
    pub max_body: u64,
    /// Paths the server keeps for itself: no lock may be taken there.
    pub reserved: Vec<ResourcePath>,
}

/// The LFS locking API; cheap to clone.
#[derive(Clone)]
pub struct LfsService {
    authority: Arc<LockService>,
    config: Arc<LfsConfig>,
}

/// Which operation a path asks for.
enum Endpoint {
    Locks,
    Verify,
    Unlock(String),
}

/// Splits `/projects/game/locks/<id>/unlock` into the repository and the
/// endpoint, read from the end (a repository may have any name).
fn parse_target(rest: &str) -> Result<(Repository, Endpoint), LfsError> {
    let mut segments = Vec::new();
    // Empty segments (a doubled or trailing '/' in lfs.url) are no names.
    for raw in rest.split('/').filter(|s| !s.is_empty()) {
        let segment = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| {
                LfsError::new(
                    StatusCode::BAD_REQUEST,
                    "the URL is not valid UTF-8 after percent-decoding",
                )
            })?;
        segments.push(segment.into_owned());
    }
    let names: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (repository, endpoint) = match names.as_slice() {
        [repo @ .., "locks", id, "unlock"] => (repo, Endpoint::Unlock((*id).to_owned())),
        [repo @ .., "locks", "verify"] => (repo, Endpoint::Verify),
        [repo @ .., "locks"] => (repo, Endpoint::Locks),
        _ => {
            return Err(LfsError::not_found(
                "deadbolt serves only the Git LFS locking API (<lfs.url>/locks), not LFS objects",
            ));
        }
    };
    let root = ResourcePath::from_segments(repository.iter().copied()).map_err(|e| {
        LfsError::new(
            StatusCode::BAD_REQUEST,
            format!("invalid repository path in the URL: {e}"),
        )
    })?;
    Ok((Repository { root }, endpoint))
}

impl LfsService {
    pub fn new(authority: Arc<LockService>, config: LfsConfig) -> Self {
        Self {
            authority,
            config: Arc::new(config),
        }
    }

    /// 401 for a request the app could not authenticate.
    pub fn refuse_unauthenticated(&self, error: AuthError) -> Response<Body> {
        LfsError::from(error).into_response()
    }

    /// 400 with `reason`, for a request refused before it is parsed.
    pub fn bad_request(&self, reason: String) -> Response<Body> {
        self.refuse(StatusCode::BAD_REQUEST, reason)
    }

    /// `status` with `reason`, for a request refused before it is parsed.
    pub fn refuse(&self, status: StatusCode, reason: String) -> Response<Body> {
        LfsError::new(status, reason).into_response()
    }

    /// Serves one request; `rest` is the raw path after `/_deadbolt/lfs`.
    pub async fn handle(
        &self,
        parts: http::request::Parts,
        body: Body,
        requester: Requester,
        rest: &str,
    ) -> Response<Body> {
        self.serve(parts, body, requester, rest)
            .await
            .unwrap_or_else(LfsError::into_response)
    }

    async fn serve(
        &self,
        parts: http::request::Parts,
        body: Body,
        requester: Requester,
        rest: &str,
    ) -> Result<Response<Body>, LfsError> {
        let (repository, endpoint) = parse_target(rest)?;
        let method = &parts.method;
        let writes = match (&endpoint, method) {
            (Endpoint::Locks, &Method::GET) => false,
            (Endpoint::Locks, &Method::POST) => true,
            (Endpoint::Verify, &Method::POST) => false,
            (Endpoint::Unlock(_), &Method::POST) => true,
            (Endpoint::Locks, _) => return Err(LfsError::method_not_allowed("GET, POST")),
            (_, _) => return Err(LfsError::method_not_allowed("POST")),
        };
        self.authorize(&requester, writes)?;
        if writes {
            // Never on behalf of a page on another site (`web::guard`).
            if let Some(why) = crate::web::guard::cross_site(&parts.headers) {
                return Err(LfsError::forbidden(why));
            }
        }
        let body = if *method == Method::POST {
            read_limited(body, self.config.max_body).await?
        } else {
            Bytes::new()
        };
        let query = parts.uri.query().map(str::to_owned);
        let (authority, config) = (Arc::clone(&self.authority), Arc::clone(&self.config));
        tokio::task::spawn_blocking(move || {
            let call = Call {
                authority: &authority,
                viewer: Viewer {
                    repository: &repository,
                    requester: &requester,
                    hide_owners: config.hide_lock_owners,
                },
                reserved: &config.reserved,
            };
            match endpoint {
                Endpoint::Locks if writes => call.create(&body),
                Endpoint::Locks => call.list(query.as_deref()),
                Endpoint::Verify => call.verify(&body),
                Endpoint::Unlock(id) => call.unlock(&id, &body),
            }
        })
        .await
        .map_err(|e| LfsError::internal(format!("blocking task failed: {e}")))?
    }

    /// With users, anyone logged in may list and verify; locking and
    /// unlocking need a login (401) that may write (403).
    fn authorize(&self, requester: &Requester, writes: bool) -> Result<(), LfsError> {
        if !self.config.authentication || !writes {
            return Ok(());
        }
        match requester.may_write() {
            Ok(()) => Ok(()),
            Err(WriteDenied::Anonymous) => Err(AuthError::Missing.into()),
            Err(WriteDenied::ReadOnly(name)) => Err(LfsError::forbidden(format!(
                "{}: listing and verifying locks work, locking does not",
                WriteDenied::read_only_reason(&name)
            ))),
        }
    }
}
