//! PROPFIND (RFC 4918 §9.1). Depth 1 and infinity answers are streamed: a
//! blocking task walks the collection and sends the multistatus in chunks,
//! so a 100,000-member collection never sits in memory as one response.

use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode, header, request::Parts};

use crate::dav::body::{self, Body, BoxError};
use crate::dav::error::DavError;
use crate::dav::headers::Depth;
use crate::dav::live_props::{self, LockSource};
use crate::dav::path::{RequestPath, href};
use crate::dav::xml::propfind::PropfindRequest as Wanted;
use crate::dav::xml::render::{self, PropStat, PropValue};
use crate::dav::xml::{self, DAV_NS};
use crate::dav::{DavState, read_xml_body};
use crate::locks::ResourcePath;
use crate::store::LockSelection;
use crate::store::{DeadProperty, Meta, PropertyName, StoreError};

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
        // §9.1: no Depth header means infinity.
        let depth = Depth::from_headers(&parts.headers)?.unwrap_or(Depth::Infinity);
        if depth == Depth::Infinity && !state.config.allow_depth_infinity {
            return Err(DavError::DepthInfinityRefused);
        }
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
    let meta = {
        let path = request.path.clone();
        state
            .blocking(move |s| Ok(s.content.metadata(&path)?))
            .await?
    };
    let body = if request.depth == Depth::Zero || !meta.is_collection() {
        state
            .blocking(move |s| {
                let mut out = String::new();
                let locks = LockSource::Store(s);
                render_resource(s, &locks, &request.path, &meta, &request.wanted, &mut out);
                Ok(body::full(render::multistatus(&out)))
            })
            .await?
    } else {
        stream_tree(Arc::clone(state), request, meta)
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::MULTI_STATUS;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    Ok(response)
}

fn stream_tree(state: Arc<DavState>, request: PropfindRequest, meta: Meta) -> Body {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, BoxError>>(4);
    tokio::task::spawn_blocking(move || {
        let mut out = String::with_capacity(CHUNK * 2);
        out.push_str(render::XML_DECLARATION);
        out.push_str(render::MULTISTATUS_OPEN);
        // One read of the locks for the whole answer (Depth 1: the collection
        // and its members; infinity: the whole tree).
        let now = crate::dav::now();
        let snapshot = match request.depth {
            Depth::Infinity => state.lock_store.view(
                &[LockSelection {
                    path: request.path.clone(),
                    with_members: true,
                }],
                now,
            ),
            _ => state.lock_store.view_children(&request.path, now),
        };
        let snapshot = match snapshot {
            Ok(snapshot) => snapshot,
            Err(e) => {
                tracing::error!(error = %e, "reading locks for PROPFIND failed");
                let _ = tx.blocking_send(Err(e.into()));
                return;
            }
        };
        let locks = LockSource::Snapshot(&snapshot);
        render_resource(
            &state,
            &locks,
            &request.path,
            &meta,
            &request.wanted,
            &mut out,
        );
        // Collections still to list; depth 1 lists only the first.
        let mut pending = vec![request.path.clone()];
        while let Some(collection) = pending.pop() {
            let members = match state.content.members(&collection) {
                Ok(members) => members,
                Err(e) => {
                    tracing::warn!(%collection, error = %e, "PROPFIND could not list a collection");
                    continue;
                }
            };
            for member in members {
                let Ok(path) = collection.join(member.name) else {
                    continue;
                };
                render_resource(
                    &state,
                    &locks,
                    &path,
                    &member.meta,
                    &request.wanted,
                    &mut out,
                );
                if member.meta.is_collection() && request.depth == Depth::Infinity {
                    pending.push(path);
                }
                if out.len() >= CHUNK
                    && tx
                        .blocking_send(Ok(Bytes::from(std::mem::take(&mut out))))
                        .is_err()
                {
                    return; // The client went away.
                }
            }
        }
        out.push_str(render::MULTISTATUS_CLOSE);
        let _ = tx.blocking_send(Ok(Bytes::from(out)));
    });
    body::stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// Appends the `D:response` for one resource.
fn render_resource(
    state: &DavState,
    locks: &LockSource<'_>,
    path: &ResourcePath,
    meta: &Meta,
    wanted: &Wanted,
    out: &mut String,
) {
    let href = href(path, meta.is_collection());
    match propstats(state, locks, path, meta, wanted) {
        Ok(propstats) => render::response_with_propstats(out, &href, &propstats),
        Err(e) => {
            tracing::error!(%path, error = %e, "reading dead properties failed");
            render::response_with_status(out, &href, StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}

fn propstats(
    state: &DavState,
    locks: &LockSource<'_>,
    path: &ResourcePath,
    meta: &Meta,
    wanted: &Wanted,
) -> Result<Vec<PropStat>, StoreError> {
    let dead = state.properties.all(path)?;
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let is_dead = |local: &str| {
        dead.iter()
            .any(|d| d.name.namespace == DAV_NS && d.name.local == local)
    };
    match wanted {
        Wanted::AllProp { include } => {
            for local in live_props::names(meta) {
                if !is_dead(local) {
                    found.extend(live_props::value(local, path, meta, locks));
                }
            }
            found.extend(dead.iter().map(|d| PropValue::Dead(d.xml.clone())));
            for name in include {
                let already = name.namespace == DAV_NS
                    && live_props::names(meta).contains(&name.local.as_str())
                    || dead.iter().any(|d| &d.name == name);
                if !already {
                    lookup(locks, name, path, meta, &dead, &mut found, &mut missing);
                }
            }
        }
        Wanted::PropName => {
            for local in live_props::names(meta) {
                if !is_dead(local) {
                    found.push(PropValue::Name(PropertyName::new(DAV_NS, *local)));
                }
            }
            found.extend(dead.iter().map(|d| PropValue::Name(d.name.clone())));
        }
        Wanted::Prop(names) => {
            for name in names {
                lookup(locks, name, path, meta, &dead, &mut found, &mut missing);
            }
        }
    }
    Ok(vec![
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
    ])
}

/// One named property: a stored value wins over a computed one.
fn lookup(
    locks: &LockSource<'_>,
    name: &PropertyName,
    path: &ResourcePath,
    meta: &Meta,
    dead: &[DeadProperty],
    found: &mut Vec<PropValue>,
    missing: &mut Vec<PropValue>,
) {
    if let Some(d) = dead.iter().find(|d| &d.name == name) {
        found.push(PropValue::Dead(d.xml.clone()));
    } else if let Some(live) = (name.namespace == DAV_NS)
        .then(|| live_props::value(&name.local, path, meta, locks))
        .flatten()
    {
        found.push(live);
    } else {
        missing.push(PropValue::Name(name.clone()));
    }
}
