//! The application: builds the lock authority and the surfaces from the
//! settings, then for each request authenticates once and routes it:
//! `/_deadbolt/lfs/` to the Git LFS locking API, the rest of the reserved
//! prefix `/_deadbolt/` to the admin surface, everything else to WebDAV. A
//! new surface is one more route here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http::{Method, Request, Response};

use crate::admin::{ADMIN_PREFIX, AdminService};
use crate::auth::{AuthError, Requester, Users};
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
    users: Option<Users>,
    authority: Arc<LockService>,
    dav: DavService,
    admin: AdminService,
    lock_api: LockApiService,
    lfs: LfsService,
    metrics: Arc<Metrics>,
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
        let content = FsStore::new(&settings.root, reserved.clone())
            .with_context(|| format!("cannot serve {}", settings.root.display()))?;
        let stores = open(&settings.state).with_context(|| match &settings.state {
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
                let users = Users::load(
                    path,
                    &settings.admins,
                    &settings.read_only_users,
                    settings.anonymous_read,
                )?;
                tracing::info!(users = users.len(), "HTTP Basic authentication on");
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
            }),
        })
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
        let requester = self.authenticate(&parts);
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
    /// are missing (and anonymous reading is off) or wrong. Authorization
    /// (what this requester may do) is each surface's business.
    fn authenticate(&self, parts: &http::request::Parts) -> Result<Requester, AuthError> {
        let header =
            |name: http::header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let client = LockClient {
            address: parts.extensions.get::<PeerAddr>().map(|p| p.0.to_string()),
            user_agent: header(http::header::USER_AGENT).map(str::to_owned),
        };
        let Some(users) = &self.inner.users else {
            return Ok(Requester {
                principal: None,
                client,
            });
        };
        // A bcrypt check takes tens of milliseconds of CPU; keep it off the
        // async workers so wrong passwords cannot stall other requests.
        let authorization = header(http::header::AUTHORIZATION);
        let principal = tokio::task::block_in_place(|| users.authenticate(authorization))?;
        Ok(Requester { principal, client })
    }
}

fn close_connection(response: &mut Response<Body>) {
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
}
