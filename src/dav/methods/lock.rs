//! LOCK (RFC 4918 §9.10): create a lock, or refresh one (no body, `If`
//! naming exactly one token). A lock answered 200/201 is already in the
//! lock table: the authority's decision and the durable insert are one
//! transaction.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Response, StatusCode, header, request::Parts};

use crate::auth::Requester;
use crate::authority::{AuthorityError, Grant, NewLock, now};
use crate::dav::DavState;
use crate::dav::error::DavError;
use crate::dav::headers::{self, Depth};
use crate::dav::xml::{self, render};
use crate::locks::{
    self, ActiveLock, LockDepth, LockError, LockScope, LockToken, Reach, ResourcePath,
    TimeoutRequest, WriteIntent,
};
use crate::web::body::{self, Body};
use crate::web::path::{RequestPath, href};
use crate::web::prefer;

/// A LOCK that creates a lock (WebDAV's, or Terraform's: `terraform.rs`).
pub struct CreateLock {
    pub path: ResourcePath,
    pub scope: LockScope,
    pub depth: LockDepth,
    /// The `DAV:owner` element to keep, as self-contained XML.
    pub owner: Option<String>,
    pub timeout: Vec<TimeoutRequest>,
}

/// A granted lock, and whether its resource was created for it (§7.3).
pub struct Granted {
    pub lock: ActiveLock,
    pub created: bool,
    pub is_collection: bool,
}

pub enum LockRequest {
    Create(CreateLock),
    Refresh {
        path: ResourcePath,
        token: LockToken,
        timeout: Vec<TimeoutRequest>,
    },
}

impl LockRequest {
    pub fn is_refresh(&self) -> bool {
        matches!(self, Self::Refresh { .. })
    }

    /// The token a refresh names.
    pub fn refresh_token(&self) -> Option<&LockToken> {
        match self {
            Self::Refresh { token, .. } => Some(token),
            Self::Create(_) => None,
        }
    }

    pub fn path(&self) -> &ResourcePath {
        match self {
            Self::Create(new) => &new.path,
            Self::Refresh { path, .. } => path,
        }
    }

    /// `body` is the whole request body, read within the XML body limit.
    pub fn parse(
        parts: &Parts,
        target: RequestPath,
        body: &[u8],
        submitted: &[LockToken],
    ) -> Result<Self, DavError> {
        let timeout = headers::timeout(&parts.headers);
        if body.iter().all(u8::is_ascii_whitespace) {
            // §9.10.2: a refresh names its lock in the If header; Depth is
            // ignored. `DAV:no-lock` is no lock's token, so it does not count.
            let tokens: Vec<&LockToken> = submitted
                .iter()
                .filter(|t| t.as_str() != "DAV:no-lock")
                .collect();
            return match tokens.as_slice() {
                [token] => Ok(Self::Refresh {
                    path: target.path,
                    token: (*token).clone(),
                    timeout,
                }),
                _ => Err(DavError::BadRequest(
                    "a LOCK without a body refreshes a lock and needs an If header naming exactly one lock token".into(),
                )),
            };
        }
        let info = xml::lockinfo::parse(body)?;
        // §9.10.3: only 0 and infinity; no Depth means infinity.
        let depth = match Depth::from_headers(&parts.headers)? {
            None | Some(Depth::Infinity) => LockDepth::Infinity,
            Some(Depth::Zero) => LockDepth::Zero,
            Some(Depth::One) => {
                return Err(DavError::BadRequest(
                    "LOCK takes Depth: 0 or infinity".into(),
                ));
            }
        };
        Ok(Self::Create(CreateLock {
            path: target.path,
            scope: info.scope,
            depth,
            owner: info.owner,
            timeout,
        }))
    }
}

/// `wait`: the request's `Prefer: wait` (a conflicting LOCK then waits in
/// line for the lock instead of being refused at once).
pub async fn execute(
    state: &Arc<DavState>,
    request: LockRequest,
    submitted: Vec<LockToken>,
    requester: Requester,
    wait: Option<Duration>,
) -> Result<Response<Body>, DavError> {
    let request = match (request, wait.filter(|w| !w.is_zero())) {
        (LockRequest::Create(new), Some(wait)) => {
            return wait_and_grant(state, new, submitted, requester, wait).await;
        }
        (request, _) => request,
    };
    match request {
        LockRequest::Create(new) => {
            // Page-cache metadata: asked on the request's task.
            let prepared = prepare(state, new)?;
            if prepared.create.is_some() {
                // Creating the resource writes a file: a blocking thread's job.
                return state
                    .blocking(move |s| {
                        created_response(grant_prepared(s, &prepared, &submitted, &requester)?)
                    })
                    .await;
            }
            let grant = state
                .authority
                .acquire_async(prepared.lock.clone(), &submitted, &requester)
                .await?;
            created_response(finish(state, &prepared, grant, &requester)?)
        }
        LockRequest::Refresh {
            path,
            token,
            timeout,
        } => {
            let lock = state
                .authority
                .refresh_async(&token, &path, &timeout, &requester)
                .await
                .map_err(refresh_error)?;
            let root_href = href(&lock.root, lock.root_is_collection);
            lock_response(StatusCode::OK, &lock, now(), &root_href)
        }
    }
}

/// A refresh naming a lock that does not cover the URL is a bad request.
fn refresh_error(e: AuthorityError) -> DavError {
    match e {
        AuthorityError::Refused(LockError::TokenMismatch) => DavError::RefreshTokenMismatch,
        other => other.into(),
    }
}

/// A LOCK that waits in line (`Prefer: wait`) up to `wait`.
async fn wait_and_grant(
    state: &Arc<DavState>,
    new: CreateLock,
    submitted: Vec<LockToken>,
    requester: Requester,
    wait: Duration,
) -> Result<Response<Body>, DavError> {
    // Page-cache metadata: asked on the request's task, as for any LOCK.
    let prepared = prepare(state, new)?;
    let grant = state
        .authority
        .acquire_waiting(
            prepared.lock.clone(),
            prepared.create.clone(),
            submitted,
            requester.clone(),
            wait,
        )
        .await?;
    let granted = state
        .blocking(move |s| finish(s, &prepared, grant, &requester))
        .await?;
    let mut response = created_response(granted)?;
    if let Ok(applied) = HeaderValue::from_str(&prefer::applied(wait)) {
        response.headers_mut().insert("preference-applied", applied);
    }
    Ok(response)
}

/// 200 (or 201 for a new resource) with the lock and its `Lock-Token`.
fn created_response(granted: Granted) -> Result<Response<Body>, DavError> {
    let Granted {
        lock,
        created,
        is_collection,
    } = granted;
    let path = lock.root.clone();
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = lock_response(status, &lock, now(), &href(&path, is_collection))?;
    let token = HeaderValue::from_str(&format!("<{}>", lock.token))
        .map_err(|e| DavError::Internal(e.to_string()))?;
    response.headers_mut().insert("lock-token", token);
    Ok(response)
}

/// Grants a lock; an unmapped URL becomes an empty, locked resource
/// (§7.3). Committed before it returns.
pub fn grant(
    s: &DavState,
    new: CreateLock,
    submitted: &[LockToken],
    requester: &Requester,
) -> Result<Granted, DavError> {
    grant_prepared(s, &prepare(s, new)?, submitted, requester)
}

/// `grant` of a prepared LOCK, from a blocking thread.
fn grant_prepared(
    s: &DavState,
    prepared: &Prepared,
    submitted: &[LockToken],
    requester: &Requester,
) -> Result<Granted, DavError> {
    // One decision: the conflict check, and the insert that is committed
    // before anyone hears of the lock.
    let grant = s.authority.acquire(
        prepared.lock.clone(),
        prepared.create.clone(),
        submitted,
        requester,
    )?;
    finish(s, prepared, grant, requester)
}

/// A LOCK ready for the authority: the lock, and for an unmapped URL the
/// intent to create its resource.
struct Prepared {
    lock: NewLock,
    create: Option<WriteIntent>,
}

fn prepare(s: &DavState, new: CreateLock) -> Result<Prepared, DavError> {
    let CreateLock {
        path,
        scope,
        depth,
        owner,
        timeout,
    } = new;
    let existing = s.metadata_if_exists(&path)?;
    if existing.is_none() {
        let parent = path.parent().unwrap_or_default();
        if !s
            .metadata_if_exists(&parent)?
            .is_some_and(|m| m.is_collection())
        {
            // §9.10.6: never create intermediate collections.
            return Err(DavError::Conflict(
                "the parent collection does not exist".into(),
            ));
        }
    }
    let is_collection = existing.as_ref().is_some_and(|m| m.is_collection());
    // §7.3: an unmapped URL becomes an empty, locked resource. That adds a
    // member to the parent, so the parent's locks have a say too.
    let create = existing.is_none().then(|| {
        WriteIntent::new()
            .touches(&path, Reach::Resource)
            .changes_members_of_parent(&path)
    });
    let new_lock = NewLock {
        root: path.clone(),
        root_is_collection: is_collection,
        scope,
        depth,
        owner,
        timeout,
        reason: None,
    };
    Ok(Prepared {
        lock: new_lock,
        create,
    })
}

/// Creates the resource of a granted lock on an unmapped URL, or gives
/// the lock back when that fails.
fn finish(
    s: &DavState,
    prepared: &Prepared,
    grant: Grant,
    requester: &Requester,
) -> Result<Granted, DavError> {
    let path = &prepared.lock.root;
    let mut created = false;
    if let Some(permit) = grant.create {
        // The permit latches the path, so nobody writes it meanwhile; but
        // a LOCK that waited may find it created since it looked: then
        // there is nothing to create (and nothing to truncate).
        let made = match s.metadata_if_exists(path) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => {
                created = true;
                s.content
                    .begin_write(&permit, path)
                    .and_then(|pending| pending.commit())
                    .map_err(DavError::from)
            }
            Err(e) => Err(e),
        };
        drop(permit);
        if let Err(error) = made {
            s.authority.withdraw(&grant.lock, requester)?;
            return Err(error);
        }
    }
    Ok(Granted {
        lock: grant.lock,
        created,
        is_collection: prepared.lock.root_is_collection,
    })
}

/// `<D:prop><D:lockdiscovery>` with the one lock (§9.10.1).
fn lock_response(
    status: StatusCode,
    lock: &ActiveLock,
    now: locks::Timestamp,
    root_href: &str,
) -> Result<Response<Body>, DavError> {
    let mut xml = String::from(render::XML_DECLARATION);
    xml.push_str("<D:prop xmlns:D=\"DAV:\">");
    xml.push_str(&render::lockdiscovery(
        std::slice::from_ref(lock),
        now,
        |_| root_href.to_owned(),
    ));
    xml.push_str("</D:prop>\n");
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/xml; charset=utf-8")
        // §9.10: LOCK responses are not cacheable.
        .header(header::CACHE_CONTROL, "no-store")
        .body(body::full(xml))
        .map_err(|e| DavError::Internal(e.to_string()))
}
