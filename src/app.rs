//! The application: builds the lock authority and the surfaces from the
//! settings, then for each request authenticates once and routes it:
//! `/_deadbolt/lfs/` to the Git LFS locking API, the rest of the reserved
//! prefix `/_deadbolt/` to the admin surface, everything else to WebDAV. A
//! new surface is one more route here.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http::{Method, Request, Response};

use crate::admin::{ADMIN_PREFIX, AdminService};
use crate::auth::file::UserFile;
use crate::auth::throttle::{Paused, Throttle};
use crate::auth::{AuthError, Check, Requester};
use crate::authority::{AuthorityConfig, LockService};
use crate::config::Settings;
use crate::dav::{DavConfig, DavService, DavState, Disclosure};
use crate::lfs::{LFS_SEGMENT, LfsConfig, LfsService};
use crate::lockapi::{self, LockApiService};
use crate::locks::{LockClient, LockRules, ResourcePath};
use crate::metrics::Metrics;
use crate::store::fs::FsStore;
use crate::store::{StateLocation, open};
use crate::web::body::{self, Body};

/// The address of the peer, put into each request's extensions by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The user a request was authenticated as, put into its response's
/// extensions for the request log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser(pub String);

/// Which surface serves a request.
enum Route {
    /// The Git LFS locking API; the raw path after `/_deadbolt/lfs`. It
    /// comes before the admin route: it is for every user, not only
    /// administrators.
    Lfs(String),
    /// The admin page and API; the segments after the prefix.
    Admin(Vec<String>),
    /// The lock API (open to every user who may write); the segments after
    /// the prefix.
    LockApi(Vec<String>),
    Dav,
}

/// `rest` without the segment `name` at its start (`/name` or `/name/...`).
fn strip_segment<'a>(rest: &'a str, name: &str) -> Option<&'a str> {
    rest.strip_prefix('/')
        .and_then(|p| p.strip_prefix(name))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn route(method: &Method, raw_path: &str) -> Route {
    let Some(rest) = strip_segment(raw_path, ADMIN_PREFIX) else {
        return Route::Dav;
    };
    if let Some(lfs) = strip_segment(rest, LFS_SEGMENT) {
        return Route::Lfs(lfs.to_owned());
    }
    let segments: Vec<String> = rest
        .split('/')
        .skip(1)
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    if lockapi::serves(method, &segments) {
        Route::LockApi(segments)
    } else {
        Route::Admin(segments)
    }
}

/// The whole server behind the listener; cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    users: Option<UserFile>,
    authority: Arc<LockService>,
    dav: DavService,
    admin: AdminService,
    lock_api: LockApiService,
    lfs: LfsService,
    metrics: Arc<Metrics>,
    /// The longest header line and request target accepted.
    max_header_line: usize,
    /// The largest request head accepted (hyper enforces it).
    max_header_size: usize,
    /// Proxies whose X-Forwarded-For is believed.
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Failed logins, by client address and user name.
    throttle: Throttle,
    /// bcrypt checks running at once, at most (one per core): a flood of
    /// wrong passwords must not take every core.
    checks: tokio::sync::Semaphore,
}

/// Why a request is not authenticated.
enum AuthFailure {
    Refused(AuthError),
    /// Too many failed logins: 429 before any check.
    Paused(Paused),
}

/// The state directory as a path inside the served tree, when it is there:
/// that path is then hidden from clients.
fn reserved_state_path(settings: &Settings) -> Option<ResourcePath> {
    let relative = settings.state_dir.strip_prefix(&settings.root).ok()?;
    let segments: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    ResourcePath::from_segments(segments).ok()
}

impl App {
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        // The admin prefix is reserved; a member of that name would be
        // hidden, so refuse to start rather than hide it silently.
        let admin_dir = settings.root.join(ADMIN_PREFIX);
        if admin_dir.symlink_metadata().is_ok() {
            anyhow::bail!(
                "{} would be hidden by the admin page at /{ADMIN_PREFIX}/; rename it to serve this directory",
                admin_dir.display()
            );
        }
        let mut reserved: Vec<ResourcePath> = reserved_state_path(settings).into_iter().collect();
        reserved.push(ResourcePath::from_segments([ADMIN_PREFIX])?);
        let content = FsStore::new(&settings.root, reserved.clone(), settings.durability)
            .with_context(|| format!("cannot serve {}", settings.root.display()))?;
        let stores = open(&settings.state, settings.durability).with_context(|| match &settings
            .state
        {
            StateLocation::Directory(dir) => format!("cannot open the state in {}", dir.display()),
            _ => "cannot open the state database".to_owned(),
        })?;
        let authority = Arc::new(LockService::new(
            &stores,
            AuthorityConfig {
                rules: LockRules::new(settings.lock_timeouts, settings.lock_limits),
                audit_retention: settings.audit_retention,
            },
        ));
        // Locks answered 200 before a restart or a crash are still in force:
        // they are read from the state database, never from memory.
        let held: u64 = authority
            .stats()
            .context("cannot read the stored locks")?
            .held_by_scope
            .iter()
            .map(|(_, n)| n)
            .sum();
        if held > 0 {
            tracing::info!(locks = held, "locks from before the restart are in force");
        }
        let users = match &settings.htpasswd {
            Some(path) => {
                let users = UserFile::load(
                    path,
                    &settings.admins,
                    &settings.read_only_users,
                    settings.anonymous_read,
                )?;
                tracing::info!(users = users.users().len(), "HTTP Basic authentication on");
                Some(users)
            }
            None => None,
        };
        let disclosure = if settings.hide_lock_owners {
            Disclosure::HideHolder
        } else {
            Disclosure::ShowHolder
        };
        let metrics = Arc::new(Metrics::new());
        let dav = DavService::new(DavState {
            content: Arc::new(content),
            properties: stores.properties,
            authority: Arc::clone(&authority),
            authentication: users.is_some(),
            config: DavConfig {
                disclosure,
                allow_depth_infinity: settings.allow_depth_infinity,
                max_xml_body: settings.max_xml_body,
            },
            quota: settings.quota.map(crate::dav::Quota::new),
        });
        let admin = AdminService::new(
            Arc::clone(&authority),
            Arc::clone(&metrics),
            users.is_some(),
            settings.max_xml_body,
        );
        let lock_api = LockApiService::new(
            Arc::clone(&authority),
            users.is_some(),
            !settings.hide_lock_owners,
            settings.max_xml_body,
        );
        let lfs = LfsService::new(
            Arc::clone(&authority),
            LfsConfig {
                authentication: users.is_some(),
                hide_lock_owners: settings.hide_lock_owners,
                max_body: settings.max_xml_body,
                reserved,
            },
        );
        Ok(Self {
            inner: Arc::new(Inner {
                users,
                authority,
                dav,
                admin,
                lock_api,
                lfs,
                metrics,
                max_header_line: settings.max_header_line,
                max_header_size: settings.max_header_size,
                trusted_proxies: settings.trusted_proxies.clone(),
                throttle: Throttle::new(settings.login_failures),
                checks: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(2, |n| n.get()),
                ),
            }),
        })
    }

    /// Re-reads the htpasswd file if it changed (`force`: in any case),
    /// logging what happened; nothing without users.
    pub fn reload_users(&self, force: bool) {
        let Some(file) = &self.inner.users else {
            return;
        };
        match file.reload(force) {
            Ok(Some(users)) => {
                tracing::info!(users, file = %file.path().display(), "reloaded the htpasswd file");
            }
            Ok(None) => {}
            Err(e) => tracing::error!(
                error = %e,
                users = file.users().len(),
                "the htpasswd file does not load; keeping the users it had"
            ),
        }
    }

    /// The lock authority (the server runs its sweeper).
    pub fn authority(&self) -> Arc<LockService> {
        Arc::clone(&self.inner.authority)
    }

    /// Ends the long-lived responses (lock event streams), so that a
    /// shutdown need not wait for them to time out.
    pub fn close_streams(&self) {
        self.inner.lock_api.close_streams();
    }

    /// Records a finished request in the metrics.
    pub fn observe(&self, method: &Method, status: http::StatusCode, elapsed: Duration) {
        self.inner
            .metrics
            .observe(method.as_str(), status.as_u16(), elapsed);
    }

    pub async fn handle(&self, request: Request<Body>) -> Response<Body> {
        let (request, body_read) = body::track_request_body(request);
        let (parts, body) = request.into_parts();
        let inner = &self.inner;
        let requester = match self.authenticate(&parts).await {
            Ok(requester) => Ok(requester),
            Err(AuthFailure::Refused(e)) => Err(e),
            Err(AuthFailure::Paused(paused)) => {
                let reason = format!(
                    "too many failed logins from {}; try again in {} s",
                    paused.who,
                    retry_seconds(&paused)
                );
                let status = http::StatusCode::TOO_MANY_REQUESTS;
                let mut response = self.refuse(&parts.method, parts.uri.path(), status, reason);
                response.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from(retry_seconds(&paused)),
                );
                if body_read.is_some_and(|read| !read.is_done()) {
                    close_connection(&mut response);
                }
                return response;
            }
        };
        let user = requester
            .as_ref()
            .ok()
            .and_then(Requester::name)
            .map(|name| AuthenticatedUser(name.to_owned()));
        let mut response = match route(&parts.method, parts.uri.path()) {
            Route::Lfs(rest) => match requester {
                Ok(requester) => inner.lfs.handle(parts, body, requester, &rest).await,
                Err(e) => inner.lfs.refuse_unauthenticated(e),
            },
            Route::Admin(rest) => match requester {
                Ok(requester) => inner.admin.handle(parts, body, requester, rest).await,
                Err(e) => inner.admin.refuse_unauthenticated(e),
            },
            Route::LockApi(rest) => match requester {
                Ok(requester) => inner.lock_api.handle(parts, body, requester, rest).await,
                Err(e) => inner.lock_api.refuse_unauthenticated(e),
            },
            Route::Dav => match requester {
                Ok(requester) => inner.dav.handle(parts, body, requester).await,
                Err(e) => inner.dav.refuse_unauthenticated(e),
            },
        };
        if body_read.is_some_and(|read| !read.is_done()) {
            // Part of the body may still be on the connection, so it cannot
            // carry the next request: say so instead of just closing. A
            // body read to the end keeps the connection.
            close_connection(&mut response);
        }
        if let Some(user) = user {
            response.extensions_mut().insert(user);
        }
        response
    }

    /// The largest request head the connection's parser reads: four times
    /// `--max-header-size`, so that heads over the limit reach
    /// `refuse_oversized_head`, which says why; beyond this backstop the
    /// parser answers a bare 431 itself.
    pub fn parser_head_limit(&self) -> usize {
        self.inner.max_header_size.saturating_mul(4)
    }

    /// The refusal of a request whose target (414) or one of whose header
    /// lines (431) is longer than `--max-header-line`, or whose head is
    /// larger than `--max-header-size` (431); `None` for one within the
    /// limits. Checked before authentication, so an oversized head costs
    /// no password check.
    pub fn refuse_oversized_head<B>(&self, request: &Request<B>) -> Option<Response<Body>> {
        let limit = self.inner.max_header_line;
        let target = request.uri().to_string().len();
        let line_of = |name: &http::HeaderName, value: &http::HeaderValue| {
            name.as_str().len() + 2 + value.len()
        };
        let head: usize = target
            + request
                .headers()
                .iter()
                .map(|(name, value)| line_of(name, value) + 2)
                .sum::<usize>();
        let (is_target, reason) = if target > limit {
            let reason = format!(
                "the request target is {target} bytes; at most {limit} are accepted (--max-header-line)"
            );
            (true, reason)
        } else if let Some((name, value)) = request
            .headers()
            .iter()
            .find(|(name, value)| line_of(name, value) > limit)
        {
            let line = line_of(name, value);
            let reason = format!(
                "the header {name} is {line} bytes; at most {limit} are accepted per line \
                 (--max-header-line)"
            );
            (false, reason)
        } else if head > self.inner.max_header_size {
            let reason = format!(
                "the request head is {head} bytes; at most {} are accepted (--max-header-size)",
                self.inner.max_header_size
            );
            (false, reason)
        } else {
            return None;
        };
        let status = match is_target {
            true => http::StatusCode::URI_TOO_LONG,
            false => http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        };
        let mut response = self.refuse(request.method(), request.uri().path(), status, reason);
        if body::announces_body(request.headers()) {
            close_connection(&mut response);
        }
        Some(response)
    }

    /// Where a request comes from: the peer, or through a trusted proxy
    /// the client its `X-Forwarded-For` names (the last address in it that
    /// is not itself a trusted proxy). Also the text the audit trail shows:
    /// `ip:port` of a peer, the bare address of a forwarded client.
    fn client_address(&self, parts: &http::request::Parts) -> (Option<IpAddr>, Option<String>) {
        let Some(peer) = parts.extensions.get::<PeerAddr>().map(|p| p.0) else {
            return (None, None);
        };
        let trusted = |ip: &IpAddr| self.inner.trusted_proxies.iter().any(|n| n.contains(ip));
        if !trusted(&peer.ip()) {
            return (Some(peer.ip()), Some(peer.to_string()));
        }
        let hops: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        // From the right: each trusted proxy vouches for the hop before it;
        // a hop that is no address vouches for nothing further.
        let mut client = None;
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = Some(ip);
            if !trusted(&ip) {
                break;
            }
        }
        match client {
            Some(client) => (Some(client), Some(client.to_string())),
            None => (Some(peer.ip()), Some(peer.to_string())),
        }
    }

    /// `status` with `reason`, in the words of the surface `path` belongs to.
    fn refuse(
        &self,
        method: &Method,
        path: &str,
        status: http::StatusCode,
        reason: String,
    ) -> Response<Body> {
        match route(method, path) {
            Route::Lfs(_) => self.inner.lfs.refuse(status, reason),
            Route::Admin(_) => self.inner.admin.refuse(status, reason),
            Route::LockApi(_) => self.inner.lock_api.refuse(status, reason),
            Route::Dav => self.inner.dav.refuse(status, reason),
        }
    }

    /// Answers `request` with 400 and `reason` without serving it. Its body
    /// is never read, so a request that has one ends the connection.
    pub fn refuse_bad_request<B>(&self, request: &Request<B>, reason: String) -> Response<Body> {
        let mut response = match route(request.method(), request.uri().path()) {
            Route::Lfs(_) => self.inner.lfs.bad_request(reason),
            Route::Admin(_) | Route::LockApi(_) => self.inner.admin.bad_request(reason),
            Route::Dav => self.inner.dav.bad_request(reason),
        };
        if body::announces_body(request.headers()) {
            close_connection(&mut response);
        }
        response
    }

    /// Who is asking: `Err` when the server has users and the credentials
    /// are missing (and anonymous reading is off) or wrong, or when this
    /// client or user name failed too often lately. Authorization (what
    /// this requester may do) is each surface's business.
    async fn authenticate(&self, parts: &http::request::Parts) -> Result<Requester, AuthFailure> {
        let header =
            |name: http::header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let (address, shown) = self.client_address(parts);
        let client = LockClient {
            address: shown,
            user_agent: header(http::header::USER_AGENT).map(str::to_owned),
        };
        let Some(users) = self.inner.users.as_ref().map(UserFile::users) else {
            return Ok(Requester {
                principal: None,
                client,
            });
        };
        let authorization = header(http::header::AUTHORIZATION);
        let credentials = match users.check(authorization).map_err(AuthFailure::Refused)? {
            Check::Done(principal) => return Ok(Requester { principal, client }),
            Check::Verify(credentials) => credentials,
        };
        let user = credentials.user.clone();
        let throttle = &self.inner.throttle;
        let paused = |now| {
            throttle
                .check(address, &user, now)
                .map_err(AuthFailure::Paused)
        };
        paused(std::time::Instant::now())?;
        // A bcrypt check takes tens of milliseconds of CPU: a few at a
        // time, on the blocking pool, so wrong passwords cannot stall the
        // rest. The wait may be long, and a pause may begin meanwhile.
        let Ok(_permit) = self.inner.checks.acquire().await else {
            return Err(AuthFailure::Refused(AuthError::Invalid));
        };
        paused(std::time::Instant::now())?;
        let verified = tokio::task::spawn_blocking(move || users.verify(&credentials))
            .await
            .unwrap_or(Err(AuthError::Invalid));
        match verified {
            Ok(principal) => {
                throttle.succeeded(address, &user);
                Ok(Requester {
                    principal: Some(principal),
                    client,
                })
            }
            Err(e) => {
                match throttle.failed(address, &user, std::time::Instant::now()) {
                    Some(pause) => tracing::warn!(
                        client = ?address, user, pause_seconds = pause.retry_after.as_secs(),
                        "repeated failed logins: pausing {}", pause.who
                    ),
                    None => tracing::info!(client = ?address, user, "failed login"),
                }
                Err(AuthFailure::Refused(e))
            }
        }
    }
}

fn close_connection(response: &mut Response<Body>) {
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
}

/// Whole seconds of a pause, at least 1 (a `Retry-After` value).
fn retry_seconds(paused: &Paused) -> u64 {
    paused.retry_after.as_secs_f64().ceil().max(1.0) as u64
}
