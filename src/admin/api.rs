//! The admin JSON API, under the reserved prefix `/_deadbolt/` (see
//! `ADMIN_PREFIX`): the same operations as the CLI, for administrators.
//!
//! | method | path | |
//! |---|---|---|
//! | GET | `/_deadbolt/api/locks?path=&user=` | locks and holds |
//! | GET | `/_deadbolt/api/locks/{token}` | one lock |
//! | POST | `/_deadbolt/api/locks/{token}/break` | `{"reason": "..."}` |
//! | GET | `/_deadbolt/api/holds` | holds |
//! | POST | `/_deadbolt/api/holds` | `{"path", "reason", "until"?}` |
//! | DELETE | `/_deadbolt/api/holds?path=` | release a hold |
//! | GET | `/_deadbolt/api/history?path=&since=&limit=` | audit trail |
//! | GET | `/_deadbolt/` | the admin page |

use std::collections::HashMap;

use bytes::Bytes;
use http::{Method, Response, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use super::views::{HoldView, InputError, LockView, parse_path, parse_time};
use crate::auth::{AuthError, Requester};
use crate::authority::{AuthorityError, LockFilter, LockService, now};
use crate::locks::Hold;
use crate::store::{HistoryFilter, StoreError};
use crate::web::body::{self, Body, ReadError};

#[derive(Debug, Deserialize, Default)]
struct BreakBody {
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct HoldBody {
    path: String,
    reason: String,
    until: Option<String>,
}

/// Why an API call failed, as a status and a JSON `{"error": ...}` body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// The methods a `405` names in `Allow`.
    allow: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            allow: None,
        }
    }

    /// A failure of the server itself: logged, and told as no more than that.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "admin request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    }
}

/// The admin surface's one status mapping.
impl From<AuthorityError> for ApiError {
    fn from(e: AuthorityError) -> Self {
        let status = match &e {
            AuthorityError::NoSuchLock(_)
            | AuthorityError::NothingLockedAt(_)
            | AuthorityError::NoSuchHold(_) => StatusCode::NOT_FOUND,
            AuthorityError::HoldAlreadyOver => StatusCode::BAD_REQUEST,
            AuthorityError::Refused(_) => StatusCode::LOCKED,
            AuthorityError::Store(StoreError::Busy { .. } | StoreError::Unavailable { .. }) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AuthorityError::Store(_) => return Self::internal(e),
        };
        Self::new(status, e.to_string())
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, e.to_string())
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        let status = match e {
            ReadError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ReadError::Body(_) => StatusCode::BAD_REQUEST,
        };
        Self::new(status, e.to_string())
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, e.to_string())
    }
}

fn json_response(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(body::full(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

pub fn error_response(error: ApiError) -> Response<Body> {
    let mut response = json_response(error.status, json!({ "error": error.message }));
    let headers = response.headers_mut();
    match error.status {
        StatusCode::UNAUTHORIZED => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"deadbolt\", charset=\"UTF-8\""),
            );
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        _ => {}
    }
    if let Some(allow) = error.allow {
        headers.insert(header::ALLOW, header::HeaderValue::from_static(allow));
    }
    response
}

fn query(uri: &http::Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

/// The methods of an admin API path, for `Allow`: with those the lock API
/// serves on the same path (`POST locks`, `DELETE locks/{token}`; the app
/// sends those to it), since a client sees one resource.
fn allowed(path: &[&str]) -> Option<&'static str> {
    match path {
        ["locks"] => Some("GET, POST"),
        ["locks", _] => Some("GET, DELETE"),
        ["locks", _, "break"] => Some("POST"),
        ["holds"] => Some("GET, POST, DELETE"),
        ["history"] => Some("GET"),
        _ => None,
    }
}

/// Serves one admin API call; `rest` is the path after `/_deadbolt/api/`.
/// Blocking (store access): the caller runs it on the blocking pool.
pub fn handle(
    authority: &LockService,
    requester: &Requester,
    method: &Method,
    uri: &http::Uri,
    rest: &[String],
    body: &Bytes,
) -> Result<Response<Body>, ApiError> {
    let now = now();
    let q = query(uri);
    let segments: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["locks"]) => {
            let filter = LockFilter {
                path: q.get("path").map(|p| parse_path(p)).transpose()?,
                holder: q.get("user").cloned(),
            };
            let locks: Vec<LockView> = authority
                .locks(&filter)?
                .iter()
                .map(|l| LockView::new(l, now))
                .collect();
            let holds: Vec<HoldView> = authority.holds()?.iter().map(HoldView::from).collect();
            Ok(json_response(
                StatusCode::OK,
                json!({ "locks": locks, "holds": holds }),
            ))
        }
        ("GET", ["locks", token]) => {
            let lock = authority.lock(token)?;
            Ok(json_response(
                StatusCode::OK,
                json!({ "lock": LockView::new(&lock, now) }),
            ))
        }
        ("POST", ["locks", token, "break"]) => {
            let request: BreakBody = if body.is_empty() {
                BreakBody::default()
            } else {
                parse_json(body)?
            };
            let lock = authority.break_lock(token, requester, request.reason)?;
            Ok(json_response(
                StatusCode::OK,
                json!({ "broken": LockView::new(&lock, now) }),
            ))
        }
        ("GET", ["holds"]) => {
            let holds: Vec<HoldView> = authority.holds()?.iter().map(HoldView::from).collect();
            Ok(json_response(StatusCode::OK, json!({ "holds": holds })))
        }
        ("POST", ["holds"]) => {
            let request: HoldBody = parse_json(body)?;
            if request.reason.trim().is_empty() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "a hold needs a reason",
                ));
            }
            let hold = Hold {
                path: parse_path(&request.path)?,
                reason: request.reason,
                until: request
                    .until
                    .as_deref()
                    .map(|t| parse_time(t, now, true))
                    .transpose()?,
                created: now,
                created_by: requester.name().map(str::to_owned),
            };
            authority.set_hold(hold.clone(), requester)?;
            Ok(json_response(
                StatusCode::CREATED,
                json!({ "hold": HoldView::from(&hold) }),
            ))
        }
        ("DELETE", ["holds"]) => {
            let path = q
                .get("path")
                .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "give ?path= of the hold"))?;
            authority.release_hold(&parse_path(path)?, requester)?;
            Ok(json_response(StatusCode::OK, json!({ "released": path })))
        }
        ("GET", ["history"]) => {
            let limit = match q.get("limit") {
                Some(n) => n.parse().map_err(|_| {
                    ApiError::new(StatusCode::BAD_REQUEST, "limit must be a number")
                })?,
                None => 100,
            };
            let filter = HistoryFilter {
                path: q.get("path").map(|p| parse_path(p)).transpose()?,
                since: q
                    .get("since")
                    .map(|s| parse_time(s, now, false))
                    .transpose()?,
                limit,
            };
            Ok(json_response(
                StatusCode::OK,
                json!({ "events": authority.history(&filter)? }),
            ))
        }
        (_, path) => match allowed(path) {
            Some(allow) => Err(ApiError {
                allow: Some(allow),
                ..ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("{method} is not allowed here; {allow} is"),
                )
            }),
            None => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "no such admin API endpoint",
            )),
        },
    }
}
