//! The LFS surface's one error map: every failure becomes a status and a
//! `{"message": ...}` body in `application/vnd.git-lfs+json`, which the
//! `git lfs` client prints as it is. A refused lock also carries the lock in
//! the way (`{"lock": ..., "message": ...}`, 409), as the API asks.

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use super::wire::{InputError, LockJson, Viewer};
use crate::auth::AuthError;
use crate::authority::view::rfc3339;
use crate::authority::{AuthorityError, now};
use crate::locks::{ActiveLock, LockDepth, LockError, LockScope, ResourcePath};
use crate::store::StoreError;
use crate::web::body::{self, Body, ReadError};

/// The media type of every request and answer of the API.
pub const MEDIA_TYPE: &str = "application/vnd.git-lfs+json";

/// Why an LFS request failed.
#[derive(Debug)]
pub struct LfsError {
    status: StatusCode,
    message: String,
    /// The lock that refused a new one (409).
    lock: Option<Box<LockJson>>,
    /// The methods a path allows (405).
    allow: Option<&'static str>,
    /// Seconds after which the same request may succeed.
    retry_after: Option<u64>,
}

impl LfsError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            lock: None,
            allow: None,
            retry_after: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("this Git LFS endpoint allows only {allow}"),
            )
        }
    }

    /// A failure of the server itself: logged, and told as no more than that.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "Git LFS request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    }

    /// The authority's refusals and failures, told to `viewer`: a lock in
    /// the way of a new lock on `target` is named with its holder (409), a
    /// busy state database is worth retrying (503 + Retry-After).
    pub fn from_authority(
        error: AuthorityError,
        viewer: &Viewer,
        target: Option<&ResourcePath>,
    ) -> Self {
        let (status, retry_after) = match &error {
            AuthorityError::Refused(LockError::Conflict { lock } | LockError::Locked { lock }) => {
                return Self::conflict(lock, viewer, target);
            }
            AuthorityError::Refused(LockError::Held { hold }) => (
                StatusCode::LOCKED,
                hold.until.map(|until| now().seconds_until(until).max(1)),
            ),
            AuthorityError::Refused(LockError::BeingWritten { .. } | LockError::Queued { .. }) => {
                (StatusCode::LOCKED, Some(1))
            }
            AuthorityError::Refused(LockError::TooManyLocks { .. }) => {
                (StatusCode::INSUFFICIENT_STORAGE, None)
            }
            AuthorityError::Refused(LockError::NotOwner) => (StatusCode::FORBIDDEN, None),
            // The lock went away between reading it and changing it.
            AuthorityError::Refused(LockError::TokenMismatch) | AuthorityError::NoSuchLock(_) => {
                return Self::not_found("no such lock: it was unlocked, broken or expired");
            }
            AuthorityError::Store(StoreError::Busy { .. }) => {
                return Self::unavailable(
                    "the server is busy with other lock decisions; try again shortly",
                );
            }
            AuthorityError::Store(StoreError::Unavailable { .. }) => {
                return Self::unavailable(
                    "the lock table is unavailable right now; try again shortly",
                );
            }
            _ => return Self::internal(error),
        };
        Self {
            retry_after,
            ..Self::new(status, error.to_string())
        }
    }

    fn unavailable(message: &str) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }

    /// 409 naming the lock in the way of a new lock on `target` and who
    /// holds it: the same path, or a tree around it (a WebDAV lock with
    /// depth infinity on a folder).
    fn conflict(lock: &ActiveLock, viewer: &Viewer, target: Option<&ResourcePath>) -> Self {
        let how = describe(lock, viewer);
        let root = viewer.path(&lock.root);
        let message = match target {
            Some(path) if *path != lock.root => {
                format!("{} is inside {root}, which is {how}", viewer.path(path))
            }
            _ => format!("{root} is already {how}"),
        };
        Self {
            lock: Some(Box::new(viewer.lock(lock))),
            ..Self::new(StatusCode::CONFLICT, message)
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let mut value = json!({ "message": self.message });
        if let Some(lock) = &self.lock {
            value["lock"] = json!(lock);
        }
        let mut response = json_response(self.status, &value);
        let headers = response.headers_mut();
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            // git-lfs reads LFS-Authenticate first; other clients the
            // standard header.
            let challenge = HeaderValue::from_static("Basic realm=\"deadbolt\", charset=\"UTF-8\"");
            headers.insert("lfs-authenticate", challenge.clone());
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// "locked by bob (Bob's laptop) since 2026-11-25T10:02:00Z (lock 6f0c...)";
/// a lock on a tree is "locked with depth infinity by ...".
fn describe(lock: &ActiveLock, viewer: &Viewer) -> String {
    let scope = match lock.scope {
        LockScope::Exclusive => "locked",
        LockScope::Shared => "shared-locked",
    };
    let depth = match lock.depth {
        LockDepth::Zero => "",
        LockDepth::Infinity => " with depth infinity",
    };
    format!(
        "{scope}{depth} by {} since {} (lock {})",
        viewer.holder(lock),
        rfc3339(lock.created),
        super::wire::lock_id(&lock.token)
    )
}

/// A JSON answer in the API's media type.
pub fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(body::full(value.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl From<InputError> for LfsError {
    fn from(e: InputError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, e.to_string())
    }
}

impl From<ReadError> for LfsError {
    fn from(e: ReadError) -> Self {
        let status = match e {
            ReadError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ReadError::Body(_) => StatusCode::BAD_REQUEST,
        };
        Self::new(status, e.to_string())
    }
}

impl From<AuthError> for LfsError {
    fn from(e: AuthError) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Requester;
    use crate::lfs::wire::Repository;

    fn viewer_parts() -> (Repository, Requester) {
        let repository = Repository {
            root: ResourcePath::from_segments(["projects", "game"]).unwrap(),
        };
        (repository, Requester::default())
    }

    fn status_and_headers(error: AuthorityError) -> (StatusCode, http::HeaderMap) {
        let (repository, requester) = viewer_parts();
        let viewer = Viewer {
            repository: &repository,
            requester: &requester,
            hide_owners: false,
        };
        let response = LfsError::from_authority(error, &viewer, None).into_response();
        (response.status(), response.headers().clone())
    }

    #[test]
    fn a_busy_or_unavailable_state_database_is_503_with_retry_after() {
        for error in [
            StoreError::Busy {
                source: "database is locked".into(),
            },
            StoreError::Unavailable {
                source: "connection refused".into(),
            },
        ] {
            let (status, headers) = status_and_headers(AuthorityError::Store(error));
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(headers[header::RETRY_AFTER], "1");
            assert_eq!(headers[header::CONTENT_TYPE], MEDIA_TYPE);
        }
        let (status, _) =
            status_and_headers(AuthorityError::Store(StoreError::Corrupt("x".into())));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_missing_login_asks_for_basic_credentials_both_ways() {
        let response = LfsError::from(AuthError::Missing).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let headers = response.headers();
        assert!(
            headers["lfs-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
        assert!(
            headers[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
    }
}
