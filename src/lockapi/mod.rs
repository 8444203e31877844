//! The lock API: locks on record keys (`orders/42`) and served paths for
//! any program, as JSON, on the one lock table.
//!
//! | method | path | |
//! |---|---|---|
//! | POST | `/_deadbolt/api/locks` | take a lock (`201`), or wait for it |
//! | POST | `/_deadbolt/api/locks/{token}/refresh` | heartbeat: a new expiry |
//! | DELETE | `/_deadbolt/api/locks/{token}` | release (`204`) |
//! | GET | `/_deadbolt/api/events?path=&key=&since_id=` | lock events (SSE) |
//! | GET | `/_deadbolt/api/openapi.json` | this API and the admin API (OpenAPI 3.1) |
//!
//! Listing, one lock, breaking and the history are the admin API's. Every
//! user who may write may take and release locks (the admin API is for
//! administrators); a lock is bound to its taker like a WebDAV lock. Every
//! user may watch the events and read the OpenAPI document: that is
//! reading.

mod events;
mod problem;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use serde::Deserialize;

use self::events::EventStreams;
use self::problem::Problem;
use self::wire::{CreateBody, LockJson, RefreshBody};
use crate::auth::{AuthError, Requester, WriteDenied};
use crate::authority::{Grant, LockService, NewLock};
use crate::locks::{LockToken, TimeoutRequest};
use crate::web::body::{self, Body, read_limited};
use crate::web::{guard, prefer};

/// The lock API; cheap to clone.
#[derive(Clone)]
pub struct LockApiService {
    authority: Arc<LockService>,
    /// With users, only those who may write get in.
    authentication: bool,
    /// Whether a refusal names who holds the lock (`--hide-lock-owners`).
    show_holder: bool,
    max_body: u64,
    events: Arc<EventStreams>,
}

/// The OpenAPI 3.1 document of the lock API, the event stream and the
/// admin API (`tests/openapi.rs` runs schemathesis against a server with it).
const OPENAPI: &str = include_str!("../../assets/openapi.json");

/// Whether a request under the reserved prefix (`rest`: the segments after
/// it) is the lock API's; everything else there is the admin surface's.
/// The paths only this API has are its own whatever the method (a wrong one
/// gets `405`); on the paths it shares with the admin API (`locks`,
/// `locks/{token}`), only its methods are.
pub fn serves(method: &Method, rest: &[String]) -> bool {
    let segments: Vec<&str> = rest.iter().map(String::as_str).collect();
    matches!(
        (method.as_str(), segments.as_slice()),
        ("POST", ["api", "locks"])
            | ("DELETE", ["api", "locks", _])
            | (_, ["api", "locks", _, "refresh"])
            | (_, ["api", "events"])
            | (_, ["api", "openapi.json"])
    )
}

/// The methods of the paths only this API has (for `Allow`).
fn allowed(segments: &[&str]) -> &'static str {
    match segments {
        ["api", "openapi.json"] => "GET, HEAD",
        ["api", "events"] => "GET",
        _ => "POST",
    }
}

impl LockApiService {
    pub fn new(
        authority: Arc<LockService>,
        authentication: bool,
        show_holder: bool,
        max_body: u64,
    ) -> Self {
        Self {
            events: Arc::new(EventStreams::new(Arc::clone(&authority), !show_holder)),
            authority,
            authentication,
            show_holder,
            max_body,
        }
    }

    /// Ends every event stream: the server is shutting down.
    pub fn close_streams(&self) {
        self.events.close();
    }

    /// Serves one request that `serves` said is ours.
    pub async fn handle(
        &self,
        parts: http::request::Parts,
        body: Body,
        requester: Requester,
        rest: Vec<String>,
    ) -> Response<Body> {
        self.serve(parts, body, requester, rest)
            .await
            .unwrap_or_else(Problem::into_response)
    }

    /// 401 for a request the app could not authenticate.
    pub fn refuse_unauthenticated(&self, error: AuthError) -> Response<Body> {
        Problem::from(error).into_response()
    }

    /// `status` with `reason`, for a request refused before it is served
    /// (login pauses, head limits).
    pub fn refuse(&self, status: StatusCode, reason: String) -> Response<Body> {
        let kind = match status {
            StatusCode::TOO_MANY_REQUESTS => "too-many-failed-logins",
            StatusCode::URI_TOO_LONG | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
                "request-head-too-large"
            }
            _ => "bad-request",
        };
        Problem::new(status, kind, reason).into_response()
    }

    async fn serve(
        &self,
        parts: http::request::Parts,
        body: Body,
        requester: Requester,
        rest: Vec<String>,
    ) -> Result<Response<Body>, Problem> {
        let segments: Vec<&str> = rest.iter().map(String::as_str).collect();
        let method = parts.method.as_str();
        // Reading: every user. Their request bodies are never read.
        match (method, segments.as_slice()) {
            ("GET", ["api", "events"]) => {
                self.authorize_reader(&requester)?;
                refuse_cross_site(&parts.headers)?;
                return self
                    .events
                    .open(&parts.headers, parts.uri.query(), &requester)
                    .await;
            }
            ("GET" | "HEAD", ["api", "openapi.json"]) => {
                self.authorize_reader(&requester)?;
                return Ok(json_text_response(OPENAPI));
            }
            ("POST", ["api", "locks"] | ["api", "locks", _, "refresh"])
            | ("DELETE", ["api", "locks", _]) => {}
            (_, segments) => {
                // Who may not use the endpoint learns that first.
                self.authorize_reader(&requester)?;
                return Err(Problem::method_not_allowed(
                    &parts.method,
                    allowed(segments),
                ));
            }
        }
        self.authorize(&requester)?;
        refuse_cross_site(&parts.headers)?;
        let body = read_limited(body, self.max_body).await?;
        require_json(&parts.headers, body.len())?;
        let segments: Vec<&str> = rest.iter().map(String::as_str).collect();
        match (parts.method.as_str(), segments.as_slice()) {
            ("POST", ["api", "locks"]) => self.create(&parts.headers, &body, requester).await,
            ("POST", ["api", "locks", token, "refresh"]) => {
                let request: RefreshBody = match body.is_empty() {
                    true => RefreshBody::default(),
                    false => parse_json(&body)?,
                };
                let token = token_from_url(token);
                self.blocking(move |authority, show_holder| {
                    let lock = authority
                        .lock(token.as_str())
                        .map_err(|e| Problem::for_refresh(e, show_holder))?;
                    let timeout = ttl(request.ttl_seconds)?;
                    let lock = authority
                        .refresh(&lock.token, &lock.root, &timeout, &requester)
                        .map_err(|e| Problem::from_authority(e, show_holder))?;
                    Ok(json_response(StatusCode::OK, &LockJson::new(&lock)))
                })
                .await
            }
            ("DELETE", ["api", "locks", token]) => {
                let token = token_from_url(token);
                self.blocking(move |authority, show_holder| {
                    let lock = authority
                        .lock(token.as_str())
                        .map_err(|e| Problem::from_authority(e, show_holder))?;
                    authority
                        .release(&lock.token, &lock.root, &requester)
                        .map_err(|e| Problem::from_authority(e, show_holder))?;
                    let mut response = Response::new(body::empty());
                    *response.status_mut() = StatusCode::NO_CONTENT;
                    Ok(response)
                })
                .await
            }
            _ => Err(Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "no such lock API endpoint",
            )),
        }
    }

    /// Takes a lock, waiting for it when the request asks to.
    async fn create(
        &self,
        headers: &HeaderMap,
        body: &Bytes,
        requester: Requester,
    ) -> Result<Response<Body>, Problem> {
        let request: CreateBody = parse_json(body)?;
        let new = NewLock {
            root: request.resource()?,
            root_is_collection: false,
            scope: request.scope()?,
            depth: request.depth()?,
            owner: request.owner_xml()?,
            timeout: ttl(request.ttl_seconds)?,
            reason: request.reason()?,
        };
        let preferred = prefer::wait(headers);
        let wait = match request.wait_seconds {
            Some(seconds) => Some(Duration::from_secs(seconds).min(prefer::MAX_WAIT)),
            None => preferred,
        };
        let granted: Grant = match wait.filter(|w| !w.is_zero()) {
            Some(wait) => self
                .authority
                .acquire_waiting(new, None, Vec::new(), requester, wait)
                .await
                .map_err(|e| Problem::from_authority(e, self.show_holder))?,
            None => {
                self.blocking(move |authority, show_holder| {
                    authority
                        .acquire(new, None, &[], &requester)
                        .map_err(|e| Problem::from_authority(e, show_holder))
                })
                .await?
            }
        };
        let lock = LockJson::new(&granted.lock);
        let mut response = json_response(StatusCode::CREATED, &lock);
        // Tokens are `urn:uuid:` and hex digits: nothing to encode.
        let location = format!("/{}/api/locks/{}", crate::web::RESERVED_PREFIX, lock.token);
        let headers = response.headers_mut();
        if let Ok(location) = HeaderValue::from_str(&location) {
            headers.insert(header::LOCATION, location);
        }
        if let (Some(wait), None) = (preferred, request.wait_seconds) {
            if let Ok(applied) = HeaderValue::from_str(&prefer::applied(wait)) {
                headers.insert("preference-applied", applied);
            }
        }
        Ok(response)
    }

    /// With users: only those who may write.
    fn authorize(&self, requester: &Requester) -> Result<(), Problem> {
        if !self.authentication {
            return Ok(());
        }
        match requester.may_write() {
            Ok(()) => Ok(()),
            Err(WriteDenied::Anonymous) => Err(AuthError::Missing.into()),
            Err(WriteDenied::ReadOnly(name)) => {
                Err(Problem::forbidden(WriteDenied::read_only_reason(&name)))
            }
        }
    }

    /// With users: anyone logged in (read-only users too).
    fn authorize_reader(&self, requester: &Requester) -> Result<(), Problem> {
        match (&requester.principal, self.authentication) {
            (None, true) => Err(AuthError::Missing.into()),
            _ => Ok(()),
        }
    }

    /// Runs authority calls (blocking store work) on tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&LockService, bool) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Problem> {
        let authority = Arc::clone(&self.authority);
        let show_holder = self.show_holder;
        tokio::task::spawn_blocking(move || work(&authority, show_holder))
            .await
            .map_err(|e| Problem::internal(format!("blocking task failed: {e}")))?
    }
}

/// A browser on another site must not act with credentials it keeps for
/// this one (`web::guard`).
fn refuse_cross_site(headers: &HeaderMap) -> Result<(), Problem> {
    match guard::cross_site(headers) {
        Some(why) => Err(Problem::forbidden(why)),
        None => Ok(()),
    }
}

fn require_json(headers: &HeaderMap, body_len: usize) -> Result<(), Problem> {
    if guard::json_or_empty(headers, body_len) {
        return Ok(());
    }
    Err(Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "send the body as Content-Type: application/json",
    ))
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, Problem> {
    serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("invalid JSON body: {e}")))
}

/// The requested lifetime; none asks for the server's default.
fn ttl(seconds: Option<u64>) -> Result<Vec<TimeoutRequest>, Problem> {
    match seconds {
        Some(0) => Err(Problem::bad_request("ttl_seconds must be at least 1")),
        Some(s) => Ok(vec![TimeoutRequest::Seconds(s)]),
        None => Ok(Vec::new()),
    }
}

/// A token from the URL: as answered (`urn:uuid:...`), or its uuid alone.
fn token_from_url(text: &str) -> LockToken {
    if text.contains(':') {
        LockToken(text.to_owned())
    } else {
        LockToken(format!("urn:uuid:{text}"))
    }
}

fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    let mut response = Response::new(body::full(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A JSON document kept as text.
fn json_text_response(text: &'static str) -> Response<Body> {
    let mut response = Response::new(body::full(text));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
