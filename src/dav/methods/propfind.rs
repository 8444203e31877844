//! PROPFIND (RFC 4918 §9.1). Depth 1 and infinity answers are streamed: a
//! blocking task walks the collection and sends the multistatus in chunks,
//! so a 100,000-member collection never sits in memory as one response.
//! Locks are read once per answer and dead properties once per listed
//! collection, never once per member.

use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode, header, request::Parts};
use tokio::sync::mpsc;

use crate::dav::error::DavError;
use crate::dav::headers::Depth;
use crate::dav::live_props;
use crate::dav::live_props::Live;
use crate::dav::sync_clients::{self, Checksums};
use crate::dav::xml::propfind::PropfindRequest as Wanted;
use crate::dav::xml::render::{self, PropStat, PropValue};
use crate::dav::xml::{self, DAV_NS};
use crate::dav::{DavState, read_xml_body};
use crate::locks::{LockTable, ResourcePath};
use crate::store::{DeadProperty, MemberProperties, Meta, PropertyName, Space};
use crate::web::body::{self, Body, BoxError};
use crate::web::path::{RequestPath, href};

/// Rendered responses are sent once this many bytes have gathered.
const CHUNK: usize = 32 * 1024;

pub struct PropfindRequest {
    path: ResourcePath,
    depth: Depth,
    wanted: Wanted,
}

impl PropfindRequest {
    pub async fn parse(
        state: &DavState,
        parts: &Parts,
        target: RequestPath,
        body: Body,
    ) -> Result<Self, DavError> {
        // §9.1: no Depth header means infinity (refused in `execute` only
        // where it would walk a tree).
        let depth = Depth::from_headers(&parts.headers)?.unwrap_or(Depth::Infinity);
        let body = read_xml_body(state, body).await?;
        let wanted = xml::propfind::parse(&body)?;
        Ok(Self {
            path: target.path,
            depth,
            wanted,
        })
    }
}

pub async fn execute(
    state: &Arc<DavState>,
    request: PropfindRequest,
) -> Result<Response<Body>, DavError> {
    // A single resource's answer is read on the request's task: metadata
    // from the page cache and two indexed reads from the state database
    // take microseconds, less than a hop to the blocking pool and back.
    // Listing members can take long, so it goes to the pool.
    let meta = state.content.metadata(&request.path)?;
    // A file has no members: Depth infinity there is Depth 0, and clients
    // (webdav4) send exactly that, with no Depth header, before a download.
    if request.depth == Depth::Infinity
        && meta.is_collection()
        && !state.config.allow_depth_infinity
    {
        return Err(DavError::DepthInfinityRefused);
    }
    // The locks and the resource's own dead properties are read before the
    // answer starts: when the lock table cannot be read the request fails
    // whole (503 when the database is unavailable), never as a 207 that
    // leaves out the locks.
    let request = Arc::new(request);
    let single = request.depth == Depth::Zero || !meta.is_collection();
    // Space may mean counting the tree (`--quota`): that goes to the pool.
    let (snapshot, dead, space) = if single && !live_props::wants_space(&request.wanted) {
        own_answer(state, &request, single)?
    } else {
        let request = Arc::clone(&request);
        state
            .blocking(move |s| own_answer(s, &request, single))
            .await?
    };
    let body = if single {
        let mut out = String::new();
        let live = Live {
            locks: &snapshot,
            space,
        };
        let (path, wanted) = (&request.path, &request.wanted);
        render_resource(&live, path, &meta, Some(&dead), wanted, &mut out);
        body::full(render::multistatus(&out))
    } else {
        stream_tree(Arc::clone(state), request, meta, (snapshot, space), dead)
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::MULTI_STATUS;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    Ok(response)
}

/// What the answer says of the requested resource beyond its metadata:
/// the lock snapshot for the whole answer, its dead properties, and
/// RFC 4331's quota properties (once: a tree is on one filesystem), only
/// when asked for. `single`: the answer is of the resource alone.
fn own_answer(
    s: &DavState,
    request: &PropfindRequest,
    single: bool,
) -> Result<(LockTable, Vec<DeadProperty>, Option<Space>), DavError> {
    let (snapshot, dead) = match single {
        true => s.authority.view_path_with_properties(&request.path)?,
        false => (lock_snapshot(s, request)?, s.properties.all(&request.path)?),
    };
    let space = match live_props::wants_space(&request.wanted) {
        true => {
            let filesystem = s.content.space(&request.path).ok();
            match &s.quota {
                Some(quota) => Some(quota.space(s.content.as_ref(), filesystem)),
                None => filesystem,
            }
        }
        false => None,
    };
    Ok((snapshot, dead, space))
}

/// Rendered responses gathering until a chunk is worth sending.
struct Sink {
    out: String,
    tx: mpsc::Sender<Result<Bytes, BoxError>>,
}

impl Sink {
    /// Sends what has gathered once it makes a chunk; false when the client
    /// went away.
    fn send_if_full(&mut self) -> bool {
        if self.out.len() < CHUNK {
            return true;
        }
        // The chunk's buffer leaves with it; the next starts at full size
        // rather than growing (and copying) its way up again.
        let full = std::mem::replace(&mut self.out, String::with_capacity(CHUNK * 2));
        self.tx.blocking_send(Ok(Bytes::from(full))).is_ok()
    }
}

fn stream_tree(
    state: Arc<DavState>,
    request: Arc<PropfindRequest>,
    meta: Meta,
    (snapshot, space): (LockTable, Option<Space>),
    dead: Vec<DeadProperty>,
) -> Body {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, BoxError>>(4);
    tokio::task::spawn_blocking(move || {
        let mut sink = Sink {
            out: String::with_capacity(CHUNK * 2),
            tx,
        };
        let live = Live {
            locks: &snapshot,
            space,
        };
        if write_tree(&state, &request, &meta, &live, &dead, &mut sink) {
            let _ = sink.tx.blocking_send(Ok(Bytes::from(sink.out)));
        }
    });
    body::stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// Renders the whole multistatus of a Depth 1 or infinity answer into
/// `sink`; false when the client went away.
fn write_tree(
    state: &DavState,
    request: &PropfindRequest,
    meta: &Meta,
    live: &Live<'_>,
    dead: &[DeadProperty],
    sink: &mut Sink,
) -> bool {
    sink.out.push_str(render::XML_DECLARATION);
    sink.out.push_str(render::MULTISTATUS_OPEN);
    let (path, wanted) = (&request.path, &request.wanted);
    render_resource(live, path, meta, Some(dead), wanted, &mut sink.out);
    // Collections still to list; depth 1 lists only the first.
    let mut pending = vec![request.path.clone()];
    while let Some(collection) = pending.pop() {
        if !write_members(state, live, request, &collection, &mut pending, sink) {
            return false;
        }
    }
    sink.out.push_str(render::MULTISTATUS_CLOSE);
    true
}

/// One read of the locks for a whole tree's answer (Depth 1: the
/// collection and its members; infinity: the tree).
fn lock_snapshot(state: &DavState, request: &PropfindRequest) -> Result<LockTable, DavError> {
    Ok(match request.depth {
        Depth::Zero => state.authority.view_path(&request.path)?,
        Depth::Infinity => state.authority.view_tree(&request.path)?,
        Depth::One => state.authority.view_children(&request.path)?,
    })
}

/// Renders the members of `collection`, queueing subcollections when the
/// depth is infinity; false when the client went away.
fn write_members(
    state: &DavState,
    live: &Live<'_>,
    request: &PropfindRequest,
    collection: &ResourcePath,
    pending: &mut Vec<ResourcePath>,
    sink: &mut Sink,
) -> bool {
    let members = match state.content.members(collection) {
        Ok(members) => members,
        Err(e) => {
            tracing::warn!(%collection, error = %e, "PROPFIND could not list a collection");
            return true;
        }
    };
    // One read of the members' dead properties instead of one per member
    // (each read takes a connection from the small shared pool). It holds
    // only members that have some, so the answer still streams.
    let member_dead = member_properties(state, collection);
    for member in members {
        let dead = member_dead
            .as_ref()
            .map(|all| all.get(member.name()).map_or(&[][..], Vec::as_slice));
        let (path, meta) = (&member.path, &member.meta);
        render_resource(live, path, meta, dead, &request.wanted, &mut sink.out);
        if meta.is_collection() && request.depth == Depth::Infinity {
            pending.push(member.path);
        }
        if !sink.send_if_full() {
            return false;
        }
    }
    true
}

/// The dead properties of a collection's members; `None` (logged) if
/// unreadable.
fn member_properties(state: &DavState, collection: &ResourcePath) -> Option<MemberProperties> {
    state
        .properties
        .of_members(collection)
        .inspect_err(|e| {
            tracing::error!(%collection, error = %e, "reading members' dead properties failed");
        })
        .ok()
}

/// Appends the `D:response` for one resource: a 500 when its dead
/// properties (`dead`) could not be read.
fn render_resource(
    live: &Live<'_>,
    path: &ResourcePath,
    meta: &Meta,
    dead: Option<&[DeadProperty]>,
    wanted: &Wanted,
    out: &mut String,
) {
    let href = href(path, meta.is_collection());
    match dead {
        Some(dead) => {
            let propstats = propstats(live, path, meta, dead, wanted);
            render::response_with_propstats(out, &href, &propstats);
        }
        None => render::response_with_status(out, &href, StatusCode::INTERNAL_SERVER_ERROR),
    }
}

fn propstats<'a>(
    live: &Live<'_>,
    path: &'a ResourcePath,
    meta: &'a Meta,
    dead: &'a [DeadProperty],
    wanted: &Wanted,
) -> [PropStat<'a>; 2] {
    // Room for every live property allprop reports, without regrowing.
    let mut found = Vec::with_capacity(12);
    let mut missing = Vec::new();
    let is_dead = |local: &str| {
        dead.iter()
            .any(|d| d.name.namespace == DAV_NS && d.name.local == local)
    };
    match wanted {
        Wanted::AllProp { include } => {
            for local in live_props::names(meta) {
                if !is_dead(local) {
                    found.extend(live_props::value(local, path, meta, live));
                }
            }
            found.extend(visible(dead).map(|d| PropValue::Dead(&d.xml)));
            for name in include {
                let already = name.namespace == DAV_NS
                    && live_props::names(meta).contains(&name.local.as_str())
                    || dead.iter().any(|d| &d.name == name);
                if !already {
                    lookup(live, name, path, meta, dead, &mut found, &mut missing);
                }
            }
        }
        Wanted::PropName => {
            for local in live_props::names(meta) {
                if !is_dead(local) {
                    found.push(PropValue::Name(PropertyName::new(DAV_NS, *local)));
                }
            }
            found.extend(visible(dead).map(|d| PropValue::Name(d.name.clone())));
        }
        Wanted::Prop(names) => {
            for name in names {
                lookup(live, name, path, meta, dead, &mut found, &mut missing);
            }
        }
    }
    [
        PropStat {
            status: StatusCode::OK,
            props: found,
            error: None,
        },
        PropStat {
            status: StatusCode::NOT_FOUND,
            props: missing,
            error: None,
        },
    ]
}

/// The dead properties clients set (not what deadbolt keeps beside them).
fn visible(dead: &[DeadProperty]) -> impl Iterator<Item = &DeadProperty> {
    dead.iter().filter(|d| !sync_clients::is_internal(&d.name))
}

/// One named property: a stored value wins over a computed one.
fn lookup<'a>(
    live: &Live<'_>,
    name: &PropertyName,
    path: &'a ResourcePath,
    meta: &'a Meta,
    dead: &'a [DeadProperty],
    found: &mut Vec<PropValue<'a>>,
    missing: &mut Vec<PropValue<'a>>,
) {
    if sync_clients::is_checksums(name) {
        // Computed while a sync client's upload came in (`sync_clients`).
        match Checksums::of(dead, &meta.etag).filter(|_| !meta.is_collection()) {
            Some(sums) => found.push(PropValue::Xml(sums.render())),
            None => missing.push(PropValue::Name(name.clone())),
        }
    } else if let Some(d) = visible(dead).find(|d| &d.name == name) {
        found.push(PropValue::Dead(&d.xml));
    } else if let Some(live) = (name.namespace == DAV_NS)
        .then(|| live_props::value(&name.local, path, meta, live))
        .flatten()
    {
        found.push(live);
    } else {
        missing.push(PropValue::Name(name.clone()));
    }
}
