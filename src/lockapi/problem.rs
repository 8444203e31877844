//! The lock API's one error map: every failure is an RFC 9457
//! `application/problem+json` body with the right status. A refusal (423)
//! names the resource, the holder (unless owners are hidden), since when
//! and until when, with a `Retry-After`.

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::auth::AuthError;
use crate::authority::view::{owner_text, rfc3339};
use crate::authority::{AuthorityError, now};
use crate::locks::{LockError, ResourcePath, Timestamp};
use crate::store::StoreError;
use crate::web::body::{self, Body, ReadError};

/// A failed lock API call.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    /// The last part of the `type` URI: `urn:deadbolt:problem:{kind}`.
    kind: &'static str,
    detail: String,
    /// Members beside the standard ones (`resource`, `holder`, ...).
    extra: Vec<(&'static str, Value)>,
    retry_after: Option<u64>,
    /// The methods a `405` names in `Allow`.
    allow: Option<&'static str>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            detail: detail.into(),
            extra: Vec::new(),
            retry_after: None,
            allow: None,
        }
    }

    /// 405 for a method the endpoint does not have; `allow` lists those it has.
    pub fn method_not_allowed(method: &http::Method, allow: &'static str) -> Self {
        let mut problem = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            format!("{method} is not allowed here; {allow} is"),
        );
        problem.allow = Some(allow);
        problem
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// A failure of the server itself: logged, told as no more than that.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "lock API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }

    fn with(mut self, name: &'static str, value: Value) -> Self {
        self.extra.push((name, value));
        self
    }

    pub fn retry(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The 423 for a refusal of the lock rules; `show_holder` decides
    /// whether it says who holds the lock.
    pub fn refused(refusal: LockError, show_holder: bool) -> Self {
        let now = now();
        let detail = refusal.to_string();
        match refusal {
            LockError::Conflict { lock } | LockError::Locked { lock } => {
                let by = match (&lock.principal, show_holder) {
                    (Some(holder), true) => format!(" by {holder}"),
                    _ => String::new(),
                };
                let detail = format!(
                    "{} is locked{by} until {}",
                    lock.root,
                    rfc3339(lock.expires)
                );
                let mut problem = Self::new(StatusCode::LOCKED, "locked", detail)
                    .with("resource", resource_json(&lock.root))
                    .with("scope", json!(lock.scope.as_str()))
                    .with("since", json!(rfc3339(lock.created)))
                    .with("until", json!(rfc3339(lock.expires)))
                    .retry(retry_after(now, lock.expires));
                if show_holder {
                    problem = problem
                        .with("holder", json!(lock.principal))
                        .with("owner", json!(owner_text(lock.owner.as_deref())));
                }
                problem
            }
            LockError::Held { hold } => {
                let mut problem = Self::new(StatusCode::LOCKED, "maintenance-hold", detail)
                    .with("resource", resource_json(&hold.path))
                    .with("reason", json!(hold.reason))
                    .with("since", json!(rfc3339(hold.created)))
                    .with("until", json!(hold.until.map(rfc3339)));
                if let Some(until) = hold.until {
                    problem = problem.retry(retry_after(now, until));
                }
                problem
            }
            LockError::BeingWritten { path } => {
                Self::new(StatusCode::LOCKED, "being-written", detail)
                    .with("resource", resource_json(&path))
                    .retry(1)
            }
            LockError::Queued { path, waiting } => Self::new(StatusCode::LOCKED, "queued", detail)
                .with("resource", resource_json(&path))
                .with("waiting", json!(waiting))
                .retry(1),
            LockError::NotOwner => Self::forbidden(detail),
            LockError::TokenMismatch => {
                Self::new(StatusCode::PRECONDITION_FAILED, "lock-gone", detail)
            }
            LockError::TooManyLocks { .. } => {
                Self::new(StatusCode::INSUFFICIENT_STORAGE, "too-many-locks", detail)
            }
            LockError::LockedMembers { .. } => Self::new(StatusCode::LOCKED, "locked", detail),
        }
    }

    /// The authority's answer, for a surface that shows holders or not.
    pub fn from_authority(e: AuthorityError, show_holder: bool) -> Self {
        match e {
            AuthorityError::Refused(refusal) => Self::refused(refusal, show_holder),
            AuthorityError::NoSuchLock(_) => {
                Self::new(StatusCode::NOT_FOUND, "no-such-lock", e.to_string())
            }
            AuthorityError::Store(StoreError::Busy { .. } | StoreError::Unavailable { .. }) => {
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    e.to_string(),
                )
                .retry(1)
            }
            other => Self::internal(other),
        }
    }

    /// The authority's answer to a heartbeat: a lock that is gone cannot
    /// be refreshed, so an unknown token is 412 (take a new lock), not 404.
    pub fn for_refresh(e: AuthorityError, show_holder: bool) -> Self {
        match e {
            AuthorityError::NoSuchLock(token) => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "lock-gone",
                format!("no live lock has the token {token}; take a new one"),
            ),
            other => Self::from_authority(other, show_holder),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let mut value = json!({
            "type": format!("urn:deadbolt:problem:{}", self.kind),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Value::Object(members) = &mut value {
            for (name, extra) in self.extra {
                members.insert(name.to_owned(), extra);
            }
        }
        let mut response = Response::new(body::full(value.to_string()));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"deadbolt\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string())
    }
}

impl From<ReadError> for Problem {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::TooLarge { .. } => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", e.to_string())
            }
            ReadError::Body(_) => Self::bad_request(e.to_string()),
        }
    }
}

/// The resource named in a problem: `{"key": ...}` or `{"path": ...}`.
fn resource_json(path: &ResourcePath) -> serde_json::Value {
    match path.record_key() {
        Some(key) => serde_json::json!({ "key": key }),
        None => serde_json::json!({ "path": path.key() }),
    }
}

/// Seconds from `now` until `until`, at least 1 (a `Retry-After` value).
fn retry_after(now: Timestamp, until: Timestamp) -> u64 {
    now.seconds_until(until).max(1)
}
