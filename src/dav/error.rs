//! The one place where failures become HTTP answers: status, headers and a
//! short body saying why (an RFC 4918 `DAV:error` element for WebDAV
//! preconditions, plain text otherwise).

use http::{HeaderValue, Response, StatusCode, header};

use super::xml::XmlError;
use super::xml::render::{self, Precondition};
use crate::auth::AuthError;
use crate::authority::view::{owner_text, rfc3339};
use crate::authority::{AuthorityError, now};
use crate::locks::{ActiveLock, LockError};
use crate::store::StoreError;
use crate::web::body::{self, Body};
use crate::web::path::{PathError, href};

#[derive(Debug, thiserror::Error)]
pub enum DavError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{reason}")]
    MethodNotAllowed { allow: &'static str, reason: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("request body larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("range not satisfiable")]
    RangeNotSatisfiable { len: u64 },
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    BadGateway(String),
    /// A header line or the request head over the limits (431).
    #[error("{0}")]
    HeaderTooLarge(String),
    /// A request target over the limit (414).
    #[error("{0}")]
    UriTooLong(String),
    /// Too many failed logins from this client or for this user (429).
    #[error("{0}")]
    TooManyRequests(String),
    /// The upload does not fit in the quota (507).
    #[error("{0}")]
    InsufficientStorage(String),
    /// PROPFIND Depth: infinity while it is disabled (403, §9.1).
    #[error("PROPFIND with Depth: infinity is disabled on this server; use Depth: 1")]
    DepthInfinityRefused,
    /// UNLOCK with a token that names no lock on this resource (409, §9.11.1).
    #[error("the Lock-Token names no lock that covers this resource")]
    UnlockTokenMismatch,
    /// A refresh whose token does not cover the Request-URI (412, §9.10.6).
    #[error("the lock token does not cover this resource")]
    RefreshTokenMismatch,
    /// An `If` header that evaluated to false (412, §10.4).
    #[error("the If header's conditions are not met")]
    IfHeaderFalse,
    /// A conditional GET/HEAD whose validators still match (RFC 9110 §15.4.5).
    #[error("not modified")]
    NotModified { etag: String, last_modified: String },
    #[error(transparent)]
    Locked(#[from] LockError),
    /// A Terraform LOCK refused (423): the body is the holder's LockInfo
    /// JSON, which Terraform decodes to say who holds its state.
    #[error("the Terraform state is locked: {0}")]
    StateLocked(String),
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error(transparent)]
    IfHeader(#[from] super::if_header::IfHeaderError),
    #[error("reading the request body failed: {0}")]
    BodyRead(String),
    #[error("{0}")]
    Internal(String),
}

impl DavError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::Path(_) | Self::BodyRead(_) | Self::IfHeader(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::HeaderTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::DepthInfinityRefused => StatusCode::FORBIDDEN,
            Self::UnlockTokenMismatch => StatusCode::CONFLICT,
            Self::RefreshTokenMismatch | Self::IfHeaderFalse => StatusCode::PRECONDITION_FAILED,
            Self::NotModified { .. } => StatusCode::NOT_MODIFIED,
            Self::Locked(LockError::NotOwner) => StatusCode::FORBIDDEN,
            Self::Locked(LockError::TokenMismatch) => StatusCode::CONFLICT,
            Self::Locked(LockError::LockedMembers { .. }) => StatusCode::MULTI_STATUS,
            // §11.5: the server cannot store what the request needs.
            Self::Locked(LockError::TooManyLocks { .. }) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Locked(_) | Self::StateLocked(_) => StatusCode::LOCKED,
            Self::Store(e) => store_error_status(e),
            Self::Xml(e) => match e {
                XmlError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            },
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The complete response for this error. `disclosure` decides whether
    /// a 423 names who holds the lock.
    pub fn into_response(self, disclosure: Disclosure) -> Response<Body> {
        let status = self.status();
        let mut builder = Response::builder().status(status);
        match &self {
            Self::MethodNotAllowed { allow, .. } => {
                builder = builder.header(header::ALLOW, *allow);
            }
            Self::RangeNotSatisfiable { len } => {
                builder = builder.header(header::CONTENT_RANGE, format!("bytes */{len}"));
            }
            Self::Locked(LockError::LockedMembers { locks }) => {
                return locked_members_response(locks);
            }
            Self::Locked(LockError::Held { hold }) => {
                if let Some(until) = hold.until {
                    let seconds = now().seconds_until(until).max(1);
                    builder = builder.header(header::RETRY_AFTER, seconds);
                }
            }
            Self::Store(StoreError::Busy { .. } | StoreError::Unavailable { .. })
            | Self::Locked(LockError::Queued { .. }) => {
                builder = builder.header(header::RETRY_AFTER, 1);
            }
            Self::Unauthorized(_) => {
                builder = builder.header(
                    header::WWW_AUTHENTICATE,
                    "Basic realm=\"deadbolt\", charset=\"UTF-8\"",
                );
            }
            Self::StateLocked(lock_info) => {
                let response = builder
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body::full(lock_info.clone()));
                return response.unwrap_or_else(|_| internal_error());
            }
            Self::NotModified {
                etag,
                last_modified,
            } => {
                let response = builder
                    .header(header::ETAG, etag.as_str())
                    .header(header::LAST_MODIFIED, last_modified.as_str())
                    .body(body::empty());
                return response.unwrap_or_else(|_| internal_error());
            }
            _ => {}
        }
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let (condition, hrefs) = match &self {
            Self::DepthInfinityRefused => (Some(Precondition::PropfindFiniteDepth), vec![]),
            Self::UnlockTokenMismatch | Self::RefreshTokenMismatch => {
                (Some(Precondition::LockTokenMatchesRequestUri), vec![])
            }
            Self::Locked(LockError::Locked { lock }) => (
                Some(Precondition::LockTokenSubmitted),
                vec![href(&lock.root, lock.root_is_collection)],
            ),
            Self::Locked(LockError::Conflict { lock }) => (
                Some(Precondition::NoConflictingLock),
                vec![href(&lock.root, lock.root_is_collection)],
            ),
            Self::Locked(LockError::Held { hold }) => (
                Some(Precondition::MaintenanceHold),
                vec![href(&hold.path, false)],
            ),
            Self::Locked(LockError::Queued { path, .. }) => (
                Some(Precondition::NoConflictingLock),
                vec![href(path, false)],
            ),
            _ => (None, vec![]),
        };
        let (content_type, text) = match condition {
            Some(condition) => (
                "application/xml; charset=utf-8",
                render::error_body(condition, &hrefs, &self.public_reason(disclosure)),
            ),
            None => (
                "text/plain; charset=utf-8",
                format!("{}\n", self.public_reason(disclosure)),
            ),
        };
        builder
            .header(header::CONTENT_TYPE, HeaderValue::from_static(content_type))
            .body(body::full(text))
            .unwrap_or_else(|_| internal_error())
    }

    /// The reason shown to the client; server-side details stay in the log.
    fn public_reason(&self, disclosure: Disclosure) -> String {
        match self {
            Self::Store(StoreError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::InvalidFilename =>
            {
                "a name in the path is too long or not allowed by the filesystem".to_owned()
            }
            Self::Store(StoreError::Busy { .. }) => {
                "the server is busy with other lock decisions; try again shortly".to_owned()
            }
            Self::Store(StoreError::Unavailable { .. }) => {
                "the lock table is unavailable right now; try again shortly".to_owned()
            }
            Self::Store(_) | Self::Internal(_) if self.status().is_server_error() => {
                "internal server error".to_owned()
            }
            Self::Store(StoreError::Reserved(_)) => "not found".to_owned(),
            Self::Locked(LockError::Locked { lock }) => format!(
                "{} is {}; submit its lock token in the If header",
                lock.root,
                describe_lock(lock, disclosure)
            ),
            Self::Locked(LockError::Conflict { lock }) => {
                format!(
                    "{} is already {}",
                    lock.root,
                    describe_lock(lock, disclosure)
                )
            }
            Self::Locked(LockError::Held { hold }) => {
                let until = hold
                    .until
                    .map(|t| format!(" until {}", rfc3339(t)))
                    .unwrap_or_default();
                format!(
                    "{} is held for maintenance{until}: {}; reading still works",
                    hold.path, hold.reason
                )
            }
            other => other.to_string(),
        }
    }
}

/// Whether 423 answers say who holds a lock (`--hide-lock-owners` turns it off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Disclosure {
    #[default]
    ShowHolder,
    HideHolder,
}

/// "locked by alice (Ana's laptop) since 10:02:00Z, until 11:02:00Z"
fn describe_lock(lock: &ActiveLock, disclosure: Disclosure) -> String {
    let scope = match lock.scope {
        crate::locks::LockScope::Exclusive => "locked",
        crate::locks::LockScope::Shared => "shared-locked",
    };
    let times = format!(
        "since {}, until {}",
        rfc3339(lock.created),
        rfc3339(lock.expires)
    );
    if disclosure == Disclosure::HideHolder {
        return format!("{scope} {times}");
    }
    let owner = owner_text(lock.owner.as_deref());
    let holder = match (&lock.principal, owner) {
        (Some(user), Some(owner)) => format!(" by {user} ({owner})"),
        (Some(user), None) => format!(" by {user}"),
        (None, Some(owner)) => format!(" by {owner}"),
        (None, None) => String::new(),
    };
    format!("{scope}{holder} {times}")
}

/// The status a storage failure gets, at the top level or inside a 207.
pub fn store_error_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::NotFound(_) => StatusCode::NOT_FOUND,
        StoreError::ParentMissing(_) => StatusCode::CONFLICT,
        StoreError::AlreadyExists(_) | StoreError::IsCollection(_) => {
            StatusCode::METHOD_NOT_ALLOWED
        }
        // Server state is invisible: it "does not exist" for clients.
        StoreError::Reserved(_) => StatusCode::NOT_FOUND,
        StoreError::OutsideRoot(_) => StatusCode::FORBIDDEN,
        StoreError::NotPermitted(_)
        | StoreError::Database { .. }
        | StoreError::Corrupt(_)
        | StoreError::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
        // Another writer held the state database through every retry, or
        // the database cannot be reached: never a wrong answer, a later one.
        StoreError::Busy { .. } | StoreError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        StoreError::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                StatusCode::INSUFFICIENT_STORAGE
            }
            std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::NotADirectory => {
                StatusCode::CONFLICT
            }
            // ENAMETOOLONG and names the filesystem cannot hold.
            std::io::ErrorKind::InvalidFilename | std::io::ErrorKind::InvalidInput => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        },
    }
}

/// 207 naming each locked member of a tree with 423 (§9.6.1, §9.8.5).
fn locked_members_response(locks: &[ActiveLock]) -> Response<Body> {
    let mut responses = String::new();
    for lock in locks {
        render::response_with_status(
            &mut responses,
            &href(&lock.root, lock.root_is_collection),
            StatusCode::LOCKED,
        );
    }
    let mut response = Response::new(body::full(render::multistatus(&responses)));
    *response.status_mut() = StatusCode::MULTI_STATUS;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    response
}

fn internal_error() -> Response<Body> {
    let mut response = Response::new(body::full("internal server error\n"));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// The lock authority's answers, for this surface.
impl From<AuthorityError> for DavError {
    fn from(e: AuthorityError) -> Self {
        match e {
            AuthorityError::Refused(e) => Self::Locked(e),
            AuthorityError::Store(e) => Self::Store(e),
            // Administration answers; WebDAV methods never ask for them.
            other => Self::Internal(other.to_string()),
        }
    }
}
