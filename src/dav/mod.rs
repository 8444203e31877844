//! The WebDAV service: parse -> gate -> execute -> render.
//!
//! `DavService::handle` is the only `match` on the method. Each method lives
//! in `methods/` as a typed request (`parse`, no I/O), the paths it will
//! change (`intent`), and `execute`, which gets the `WritePermit` that the
//! write gate (`LockManager::check_write`) issued for that intent. Errors
//! become responses in `error.rs` only.

pub mod body;
pub mod conditional;
pub mod error;
pub mod headers;
pub mod if_header;
pub mod live_props;
pub mod methods;
pub mod path;
pub mod xml;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::BodyExt;

use self::body::Body;
use self::conditional::Preconditions;
use self::error::DavError;
use self::error::Disclosure;
use self::if_header::{IfHeader, ResourceState};
use self::path::parse_request_path;
use self::xml::XmlError;
use crate::auth::{AuthError, Principal, Role, Users};
use crate::locks::{
    ActiveLock, LockClient, LockManager, LockTable, LockToken, Reach, ResourcePath, Timestamp,
    WriteIntent, WritePermit,
};
use crate::store::{
    ContentStore, EventContext, LockSelection, LockStore, Meta, PropertyStore, Removal, StoreError,
};

/// Limits and switches of the DAV layer.
#[derive(Debug, Clone)]
pub struct DavConfig {
    /// Whether 423 answers name who holds the lock.
    pub disclosure: Disclosure,
    /// PROPFIND with Depth: infinity is refused unless this is set.
    pub allow_depth_infinity: bool,
    /// Largest XML request body accepted, in bytes.
    pub max_xml_body: u64,
}

impl Default for DavConfig {
    fn default() -> Self {
        Self {
            disclosure: Disclosure::ShowHolder,
            allow_depth_infinity: false,
            max_xml_body: 1024 * 1024,
        }
    }
}

/// Everything a request handler may use.
pub struct DavState {
    pub content: Arc<dyn ContentStore>,
    pub properties: Arc<dyn PropertyStore>,
    /// The locks themselves (the source of truth) ...
    pub lock_store: Arc<dyn LockStore>,
    /// ... and the rules and write latches applied to them.
    pub locks: Arc<LockManager>,
    /// Serialises this process's lock decisions with its write checks, so a
    /// LOCK cannot slip between a write's check and its latch.
    pub gate: Mutex<()>,
    /// The users, when `--htpasswd` is set; without it nobody authenticates.
    pub users: Option<Users>,
    /// Lock and hold administration (the admin API), over the same store.
    pub admin: crate::admin::Admin,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub config: DavConfig,
}

/// The address of the peer, put into each request's extensions by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The user a request was authenticated as, put into its response's
/// extensions for the request log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser(pub String);

/// Who sent a request, and from where.
#[derive(Debug, Clone, Default)]
pub struct Requester {
    /// `None` without authentication, or for an anonymous reader.
    pub principal: Option<Principal>,
    pub client: LockClient,
}

impl Requester {
    pub fn name(&self) -> Option<&str> {
        self.principal.as_ref().map(|p| p.name.as_str())
    }

    pub fn is_admin(&self) -> bool {
        self.principal.as_ref().is_some_and(Principal::is_admin)
    }

    /// The audit context of a lock change this requester makes.
    pub fn event_context(&self, removal: Removal) -> EventContext {
        EventContext {
            actor: self.name().map(str::to_owned),
            client: self.client.clone(),
            removal,
            reason: None,
        }
    }
}

/// Methods that change something; read-only users and anonymous readers
/// may not use them (and unknown methods count as changing).
fn is_modifying(method: &Method) -> bool {
    !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS" | "PROPFIND")
}

/// The wall clock as the lock core counts it.
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Timestamp(u64::try_from(millis).unwrap_or(u64::MAX))
}

impl DavState {
    fn hold_gate(&self) -> MutexGuard<'_, ()> {
        // The guard protects no data, so a poisoned one is as good as new.
        self.gate.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The write gate: a permit for `intent`, or why not.
    pub fn check_write(
        &self,
        intent: WriteIntent,
        submitted: &[LockToken],
        requester: &Requester,
    ) -> Result<WritePermit, DavError> {
        let now = now();
        let selections: Vec<LockSelection> = intent
            .targets()
            .iter()
            .map(|(path, reach)| LockSelection {
                path: path.clone(),
                with_members: *reach == Reach::Subtree,
            })
            .collect();
        let _gate = self.hold_gate();
        let table = self.lock_store.view(&selections, now)?;
        Ok(self
            .locks
            .check_write(&table, intent, submitted, requester.name(), now)?)
    }

    /// Live locks covering `path` (lockdiscovery, the If header).
    pub fn covering_locks(
        &self,
        path: &ResourcePath,
        now: Timestamp,
    ) -> Result<Vec<ActiveLock>, DavError> {
        let selection = LockSelection {
            path: path.clone(),
            with_members: false,
        };
        Ok(self
            .lock_store
            .view(&[selection], now)?
            .covering_locks(path, now))
    }

    /// Runs a lock decision in one store transaction: `decide` sees the
    /// selected locks; its changes are committed only if it returns `Ok`.
    pub fn lock_transaction<T>(
        &self,
        selections: &[LockSelection],
        now: Timestamp,
        context: &EventContext,
        decide: impl FnOnce(&LockManager, &mut LockTable) -> Result<T, DavError>,
    ) -> Result<T, DavError> {
        let mut decide = Some(decide);
        let mut outcome = None;
        let _gate = self.hold_gate();
        self.lock_store
            .transact(selections, now, context, &mut |table| {
                let Some(decide) = decide.take() else {
                    return false;
                };
                let result = decide(&self.locks, table);
                let commit = result.is_ok();
                outcome = Some(result);
                commit
            })?;
        outcome.unwrap_or_else(|| Err(DavError::Internal("lock transaction did not run".into())))
    }

    /// Drops the locks rooted at `path` or below (their resources are gone).
    pub fn forget_locks_in_tree(
        &self,
        path: &ResourcePath,
        requester: &Requester,
    ) -> Result<(), DavError> {
        let selection = LockSelection {
            path: path.clone(),
            with_members: true,
        };
        let context = requester.event_context(Removal::ResourceGone);
        self.lock_transaction(&[selection], now(), &context, |_, table| {
            table.forget_tree(path);
            Ok(())
        })
    }

    /// Removes expired locks from storage.
    pub fn sweep_expired_locks(&self) -> Result<usize, DavError> {
        Ok(self.lock_store.remove_expired(now())?.len())
    }

    /// Whether something exists at `path`.
    pub async fn exists(self: &Arc<Self>, path: &ResourcePath) -> Result<bool, DavError> {
        let path = path.clone();
        self.blocking(move |s| Ok(s.metadata_if_exists(&path)?.is_some()))
            .await
    }

    /// Runs blocking store work on tokio's blocking pool.
    pub async fn blocking<T, F>(self: &Arc<Self>, work: F) -> Result<T, DavError>
    where
        F: FnOnce(&DavState) -> Result<T, DavError> + Send + 'static,
        T: Send + 'static,
    {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || work(&state))
            .await
            .map_err(|e| DavError::Internal(format!("blocking task failed: {e}")))?
    }

    /// The metadata of `path`, or `None` when nothing is there.
    pub fn metadata_if_exists(&self, path: &ResourcePath) -> Result<Option<Meta>, DavError> {
        match self.content.metadata(path) {
            Ok(meta) => Ok(Some(meta)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The DAV tree as one service; cheap to clone.
#[derive(Clone)]
pub struct DavService {
    state: Arc<DavState>,
}

impl DavService {
    pub fn new(state: DavState) -> Self {
        Self {
            state: Arc::new(state),
        }
    }

    /// Records a finished request in the metrics.
    pub fn observe(&self, method: &Method, status: http::StatusCode, elapsed: Duration) {
        self.state
            .metrics
            .observe(method.as_str(), status.as_u16(), elapsed);
    }

    /// Answers `request` with `error` without dispatching it. Its body is
    /// never read, so a request that has one ends the connection.
    pub fn refuse<B>(&self, error: DavError, request: &Request<B>) -> Response<Body> {
        let mut response = error.into_response(self.state.config.disclosure);
        if body::announces_body(request.headers()) {
            response.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
        }
        response
    }

    pub async fn handle(&self, request: Request<Body>) -> Response<Body> {
        let (request, body_read) = body::track_request_body(request);
        let (parts, body) = request.into_parts();
        // Authentication and authorization come before everything else,
        // locks and conditions included (§8.1).
        let (result, user) = match self.authenticate(&parts) {
            Ok(requester) => {
                let user = requester
                    .name()
                    .map(|name| AuthenticatedUser(name.to_owned()));
                (self.dispatch(parts, body, requester).await, user)
            }
            Err(error) => (Err(error), None),
        };
        let mut response = match result {
            Ok(response) => response,
            Err(error) => {
                let mut response = error.into_response(self.state.config.disclosure);
                if body_read.is_some_and(|read| !read.is_done()) {
                    // Part of the body may still be on the connection, so it
                    // cannot carry the next request: say so instead of just
                    // closing. A body read to the end keeps the connection.
                    response.headers_mut().insert(
                        http::header::CONNECTION,
                        http::HeaderValue::from_static("close"),
                    );
                }
                response
            }
        };
        if let Some(user) = user {
            response.extensions_mut().insert(user);
        }
        response
    }

    /// Removes expired locks now and then, for as long as the server runs.
    /// Expired locks are already ignored by every lookup; this only frees them.
    pub async fn run_lock_sweeper(self) {
        loop {
            let next = match self
                .state
                .blocking(|s| Ok(s.lock_store.next_expiry()?))
                .await
            {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the next lock expiry failed");
                    None
                }
            };
            let wait = next.map_or(SWEEP_INTERVAL, |at| {
                Duration::from_millis(at.0.saturating_sub(now().0))
                    .clamp(Duration::from_millis(50), SWEEP_INTERVAL)
            });
            tokio::time::sleep(wait).await;
            match self.state.blocking(|s| s.sweep_expired_locks()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "removed expired locks"),
                Err(e) => tracing::warn!(error = %e, "sweeping expired locks failed"),
            }
        }
    }

    /// Who is asking: 401 without valid credentials (when users are
    /// configured), 403 for a read-only user's modifying request.
    fn authenticate(&self, parts: &http::request::Parts) -> Result<Requester, DavError> {
        let header =
            |name: http::header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let client = LockClient {
            address: parts.extensions.get::<PeerAddr>().map(|p| p.0.to_string()),
            user_agent: header(http::header::USER_AGENT).map(str::to_owned),
        };
        let Some(users) = &self.state.users else {
            return Ok(Requester {
                principal: None,
                client,
            });
        };
        // A bcrypt check takes tens of milliseconds of CPU; keep it off the
        // async workers so wrong passwords cannot stall other requests.
        let authorization = header(http::header::AUTHORIZATION);
        let principal = tokio::task::block_in_place(|| users.authenticate(authorization))?;
        if is_modifying(&parts.method) {
            match &principal {
                None => return Err(AuthError::Missing.into()),
                Some(p) if p.role == Role::ReadOnly => {
                    return Err(DavError::Forbidden(format!(
                        "{} may only read on this server",
                        p.name
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(Requester { principal, client })
    }

    /// The admin page and API under the reserved prefix: administrators
    /// only (everyone, when the server has no users at all).
    async fn admin(
        &self,
        parts: http::request::Parts,
        body: Body,
        requester: Requester,
        rest: Vec<String>,
    ) -> Result<Response<Body>, DavError> {
        if self.state.users.is_some() {
            match &requester.principal {
                None => return Err(AuthError::Missing.into()),
                Some(p) if !p.is_admin() => {
                    return Err(DavError::Forbidden(
                        "the admin page and API are for administrators".into(),
                    ));
                }
                Some(_) => {}
            }
        }
        match rest.first().map(String::as_str) {
            None | Some("") if matches!(parts.method, Method::GET | Method::HEAD) => {
                Ok(crate::admin::page::respond())
            }
            Some("metrics") if rest.len() == 1 && parts.method == Method::GET => {
                let text = self
                    .state
                    .blocking(|s| Ok(s.metrics.render(&s.lock_store.stats(now())?)))
                    .await?;
                Response::builder()
                    .header(
                        http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )
                    .body(body::full(text))
                    .map_err(|e| DavError::Internal(e.to_string()))
            }
            Some("api") => {
                let body = read_xml_body(&self.state, body).await?;
                let api_path = rest[1..].to_vec();
                Ok(self
                    .state
                    .blocking(move |s| {
                        Ok(crate::admin::api::handle(
                            &s.admin,
                            &requester,
                            &parts.method,
                            &parts.uri,
                            &api_path,
                            &body,
                        )
                        .unwrap_or_else(crate::admin::api::error_response))
                    })
                    .await?)
            }
            _ => Err(DavError::NotFound),
        }
    }

    async fn dispatch(
        &self,
        parts: http::request::Parts,
        body: Body,
        requester: Requester,
    ) -> Result<Response<Body>, DavError> {
        use methods::*;
        let state = &self.state;
        if parts.method == Method::OPTIONS && parts.uri.path() == "*" {
            return Ok(options::respond());
        }
        if let Some(rest) = admin_route(parts.uri.path()) {
            return self.admin(parts, body, requester, rest).await;
        }
        let target = parse_request_path(parts.uri.path())?;
        let conditions = Conditions::from_request(&parts, &target.path)?;
        let submitted = conditions.submitted_tokens();
        // Reads evaluate their conditions first. Writes evaluate them after
        // the gate, while the permit latches their paths, so nothing can
        // change between that check and the write (e.g. two `If-None-Match:
        // *` PUTs); see `pass_gate`.
        match parts.method.as_str() {
            "OPTIONS" => Ok(options::respond()),
            "GET" | "HEAD" => {
                conditions.check(state, true).await?;
                let head = parts.method == Method::HEAD;
                get_head::execute(state, &parts, target.path, head).await
            }
            "PROPFIND" => {
                conditions.check(state, true).await?;
                let request = propfind::PropfindRequest::parse(state, &parts, target, body).await?;
                propfind::execute(state, request).await
            }
            "PUT" => {
                let request = put::PutRequest::parse(&parts, target)?;
                let exists = state.exists(request.path()).await?;
                let permit = pass_gate(
                    state,
                    conditions,
                    request.intent(exists),
                    &submitted,
                    &requester,
                )
                .await?;
                put::execute(state, request, permit, body).await
            }
            "DELETE" => {
                let request = delete::DeleteRequest::parse(&parts, target)?;
                let permit =
                    pass_gate(state, conditions, request.intent(), &submitted, &requester).await?;
                delete::execute(state, request, permit, requester).await
            }
            "MKCOL" => {
                let request = mkcol::MkcolRequest::parse(state, target, body).await?;
                let permit =
                    pass_gate(state, conditions, request.intent(), &submitted, &requester).await?;
                mkcol::execute(state, request, permit).await
            }
            "COPY" | "MOVE" => {
                let is_move = parts.method.as_str() == "MOVE";
                let request = copy_move::CopyMoveRequest::parse(&parts, target, is_move)?;
                let destination_exists = state.exists(request.destination()).await?;
                let permit = pass_gate(
                    state,
                    conditions,
                    request.intent(destination_exists),
                    &submitted,
                    &requester,
                )
                .await?;
                copy_move::execute(state, request, permit, requester).await
            }
            "PROPPATCH" => {
                let request = proppatch::ProppatchRequest::parse(state, target, body).await?;
                let permit =
                    pass_gate(state, conditions, request.intent(), &submitted, &requester).await?;
                proppatch::execute(state, request, permit).await
            }
            "LOCK" => {
                let request =
                    lock::LockRequest::parse(state, &parts, target, body, &submitted).await?;
                match conditions.check(state, false).await {
                    // §9.10.6: a refresh whose token does not cover the URL
                    // is 412 with lock-token-matches-request-uri.
                    Err(DavError::IfHeaderFalse) if request.is_refresh() => {
                        let token = request.refresh_token().cloned();
                        let path = request.path().clone();
                        let covers = state
                            .blocking(move |s| {
                                Ok(s.covering_locks(&path, now())?
                                    .iter()
                                    .any(|l| Some(&l.token) == token.as_ref()))
                            })
                            .await?;
                        return Err(if covers {
                            DavError::IfHeaderFalse
                        } else {
                            DavError::RefreshTokenMismatch
                        });
                    }
                    other => other?,
                }
                lock::execute(state, request, submitted, requester).await
            }
            "UNLOCK" => {
                let request = unlock::UnlockRequest::parse(&parts, target)?;
                conditions.check(state, false).await?;
                unlock::execute(state, request, requester).await
            }
            "POST" => Err(DavError::MethodNotAllowed {
                allow: options::ALLOW,
                reason: "POST is not supported here; use PUT to upload".into(),
            }),
            other => Err(DavError::NotImplemented(format!(
                "the {other} method is not implemented"
            ))),
        }
    }
}

/// The write gate plus the request's conditions, evaluated once. When the
/// gate refuses, the conditions still decide first: a false If header is 412
/// even on a locked resource (§10.4.1, §12.1).
async fn pass_gate(
    state: &Arc<DavState>,
    conditions: Conditions,
    intent: WriteIntent,
    submitted: &[LockToken],
    requester: &Requester,
) -> Result<WritePermit, DavError> {
    // A short SQLite read under the gate mutex: let this worker's other
    // connections move to another thread meanwhile.
    let gate = tokio::task::block_in_place(|| state.check_write(intent, submitted, requester));
    conditions.check(state, false).await?;
    gate
}

/// The segments after the admin prefix, when `raw_path` is under it.
fn admin_route(raw_path: &str) -> Option<Vec<String>> {
    let rest = raw_path
        .strip_prefix('/')?
        .strip_prefix(crate::admin::api::ADMIN_PREFIX)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    Some(
        rest.split('/')
            .skip(1)
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect(),
    )
}

/// The longest the lock sweeper sleeps.
const SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The conditional headers of a request: the HTTP ones and `If`.
#[derive(Clone)]
struct Conditions {
    http: Preconditions,
    if_header: Option<IfHeader>,
    target: ResourcePath,
    host: Option<String>,
}

impl Conditions {
    fn from_request(parts: &http::request::Parts, target: &ResourcePath) -> Result<Self, DavError> {
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

    fn submitted_tokens(&self) -> Vec<LockToken> {
        self.if_header
            .as_ref()
            .map(IfHeader::submitted_tokens)
            .unwrap_or_default()
    }

    /// Evaluates HTTP preconditions (RFC 9110 §13.2.2) and the If header
    /// (RFC 4918 §10.4) against the current state.
    async fn check(self, state: &Arc<DavState>, safe_method: bool) -> Result<(), DavError> {
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
                let now = now();
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
                        .covering_locks(&path, now)
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

/// Reads a whole XML request body, refusing more than the configured limit.
pub async fn read_xml_body(state: &DavState, mut body: Body) -> Result<Bytes, DavError> {
    let limit = state.config.max_xml_body;
    let too_large = || DavError::from(XmlError::TooLarge { limit });
    if http_body::Body::size_hint(&body).lower() > limit {
        return Err(too_large());
    }
    let mut collected = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| DavError::BodyRead(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if (collected.len() + data.len()) as u64 > limit {
                return Err(too_large());
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}
