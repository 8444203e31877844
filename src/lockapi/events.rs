//! `GET /_deadbolt/api/events`: lock events as Server-Sent Events, from
//! the audit trail, so every process and node sharing the state is seen.
//!
//! Each message is `id:` (the audit event's id), `event:` (its kind) and
//! `data:` (the event as JSON). A stream starts at the newest event, or
//! after the id in `Last-Event-ID` (what a reconnecting `EventSource`
//! sends) or `?since_id=`, replaying what it missed from the trail first.
//! It reads new events when a change commits in this process (the
//! authority's watch), at least every `POLL` for other processes and
//! nodes, and sends a comment every `HEARTBEAT` so proxies keep it open.
//!
//! The stream is the response body itself, with no task of its own: when
//! the client goes away, hyper drops the body and everything with it,
//! including the stream's slot among `MAX_STREAMS`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

use super::problem::Problem;
use super::wire::served_path;
use crate::auth::Requester;
use crate::authority::view::rfc3339;
use crate::authority::{Follower, LockService};
use crate::locks::{ResourcePath, Timestamp};
use crate::store::LockEvent;
use crate::web::body::{self, Body, BoxError};

/// The most streams one server keeps open; beyond, `503`. Each holds a
/// connection and reads the trail about once a second.
pub const MAX_STREAMS: usize = 256;

/// How often a stream reads the trail without being woken: what other
/// processes and nodes record is seen within this.
const POLL: Duration = Duration::from_secs(1);

/// How often it reads while waiting for an id committing out of order.
const GAP_POLL: Duration = Duration::from_millis(200);

/// A comment at least this often keeps proxies from closing an idle stream.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// What a client should wait before reconnecting (the SSE `retry:` field).
const RETRY_MS: u64 = 2000;

/// The open streams of one server.
pub struct EventStreams {
    authority: Arc<LockService>,
    slots: Arc<Semaphore>,
    /// Set when the server shuts down: every stream ends, so that draining
    /// does not wait for them.
    closing: watch::Sender<bool>,
    /// `--hide-lock-owners`.
    hide_names: bool,
    heartbeat: Duration,
}

/// Which events a stream sends, and from where.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    path: Option<ResourcePath>,
    /// Resume after this id; `None`: from now.
    after: Option<u64>,
}

impl EventStreams {
    pub fn new(authority: Arc<LockService>, hide_names: bool) -> Self {
        Self {
            authority,
            slots: Arc::new(Semaphore::new(MAX_STREAMS)),
            closing: watch::Sender::new(false),
            hide_names,
            heartbeat: HEARTBEAT,
        }
    }

    /// Ends every stream (the server is shutting down).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Opens a stream for `requester` (already authorized to read).
    pub async fn open(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        requester: &Requester,
    ) -> Result<Response<Body>, Problem> {
        let request = parse_request(headers, query)?;
        let slot = Arc::clone(&self.slots).try_acquire_owned().map_err(|_| {
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too-many-streams",
                format!("{MAX_STREAMS} event streams are open, the most this server keeps"),
            )
            .retry(5)
        })?;
        let authority = Arc::clone(&self.authority);
        let last = tokio::task::spawn_blocking(move || authority.last_event_id())
            .await
            .map_err(|e| Problem::internal(format!("blocking task failed: {e}")))?
            .map_err(|e| Problem::from_authority(e, false))?;
        // An id beyond the newest (from another database, or a trail that
        // was reset) would hide every event until the ids caught up with
        // it; such a client starts from the newest, like a new stream.
        let after = request.after.map_or(last, |id| id.min(last));
        let feed = Feed {
            authority: Arc::clone(&self.authority),
            follower: Some(Follower::new(after, request.path)),
            changes: self.authority.changes(),
            closing: self.closing.subscribe(),
            names: Names {
                hide: self.hide_names && !requester.is_admin(),
                me: requester.name().map(str::to_owned),
            },
            queue: VecDeque::from([Bytes::from(format!(
                ": deadbolt lock events after {after}\nretry: {RETRY_MS}\n\n"
            ))]),
            read_due: true,
            waiting: false,
            failing: false,
            heartbeat: self.heartbeat,
            heartbeat_at: Instant::now() + self.heartbeat,
            _slot: slot,
        };
        let chunks = futures_util::stream::unfold(feed, Feed::next_chunk);
        let mut response = Response::new(body::stream(chunks));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // nginx would otherwise buffer the stream until a buffer fills.
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        Ok(response)
    }
}

/// `?path=` or `?key=` (or neither), and where to resume: `Last-Event-ID`
/// wins over `?since_id=`, since a reconnecting `EventSource` keeps the
/// URL it started with and sends the newer id in the header.
fn parse_request(headers: &HeaderMap, query: Option<&str>) -> Result<Request, Problem> {
    let mut path = None;
    let mut key = None;
    let mut since = None;
    for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let slot = match name.as_ref() {
            "path" => &mut path,
            "key" => &mut key,
            "since_id" => &mut since,
            other => {
                return Err(Problem::bad_request(format!(
                    "unknown query parameter {other:?}: use path, key or since_id"
                )));
            }
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(Problem::bad_request(format!("{name} is given twice")));
        }
    }
    let path = match (path, key) {
        (Some(path), None) => Some(served_path(&path)?),
        (None, Some(key)) => Some(
            ResourcePath::record(&key)
                .map_err(|e| Problem::bad_request(format!("invalid key {key:?}: {e}")))?,
        ),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(Problem::bad_request(
                "give at most one of path (a served path) and key (a record key)",
            ));
        }
    };
    let header = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("?").trim().to_owned())
        .filter(|v| !v.is_empty());
    let after = match (header, since) {
        (Some(id), _) => Some(event_id(&id, "Last-Event-ID")?),
        (None, Some(id)) => Some(event_id(&id, "since_id")?),
        (None, None) => None,
    };
    Ok(Request { path, after })
}

fn event_id(text: &str, what: &str) -> Result<u64, Problem> {
    text.trim().parse().map_err(|_| {
        Problem::bad_request(format!(
            "{what} must be an event id (a whole number), not {text:?}"
        ))
    })
}

/// Whose names a stream shows (`--hide-lock-owners`: the reader's own, and
/// everyone's to administrators, who see them in the admin API anyway).
struct Names {
    hide: bool,
    me: Option<String>,
}

impl Names {
    fn show(&self, name: Option<&String>) -> Option<String> {
        name.filter(|n| !self.hide || self.me.as_ref() == Some(*n))
            .cloned()
    }
}

/// An event as a stream sends it in `data:`.
#[derive(Debug, Serialize)]
struct EventJson<'a> {
    id: u64,
    kind: &'a str,
    /// The served path, for an event on one.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// The record key, for an event on a record.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    token: Option<&'a str>,
    /// Who held the lock (hidden under `--hide-lock-owners`).
    holder: Option<String>,
    /// Who made the change (hidden like the holder).
    actor: Option<String>,
    at: String,
    at_ms: u64,
    reason: Option<&'a str>,
}

/// One SSE message for `event`.
fn message(event: &LockEvent, names: &Names) -> Bytes {
    let (path, key) = match ResourcePath::from_key(&event.path) {
        Ok(resource) => match resource.record_key() {
            Some(key) => (None, Some(key)),
            None => (Some(resource.key()), None),
        },
        // Not a key deadbolt writes: shown as stored.
        Err(_) => (Some(event.path.clone()), None),
    };
    let json = EventJson {
        id: event.id,
        kind: &event.kind,
        path,
        key,
        token: event.token.as_deref(),
        holder: names.show(event.holder.as_ref()),
        actor: names.show(event.actor.as_ref()),
        at: rfc3339(Timestamp(event.at_ms)),
        at_ms: event.at_ms,
        reason: event.reason.as_deref(),
    };
    let data = serde_json::to_string(&json).unwrap_or_else(|_| "{}".to_owned());
    // Kinds are deadbolt's own words, without line breaks; JSON escapes its.
    let kind: String = event.kind.chars().filter(|c| !c.is_control()).collect();
    Bytes::from(format!("id: {}\nevent: {kind}\ndata: {data}\n\n", event.id))
}

/// One open stream: its follower of the trail and what is left to send.
struct Feed {
    authority: Arc<LockService>,
    /// Away while a read runs on the blocking pool.
    follower: Option<Follower>,
    changes: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    names: Names,
    queue: VecDeque<Bytes>,
    /// Read the trail before waiting again.
    read_due: bool,
    /// An id is late (committing out of order): read again soon.
    waiting: bool,
    /// The last read failed (the database is away): said once in the log.
    failing: bool,
    heartbeat: Duration,
    heartbeat_at: Instant,
    _slot: OwnedSemaphorePermit,
}

impl Feed {
    /// The next chunk of the body; `None` ends it.
    async fn next_chunk(mut self) -> Option<(Result<Bytes, BoxError>, Self)> {
        loop {
            if *self.closing.borrow() {
                return None;
            }
            if let Some(chunk) = self.queue.pop_front() {
                self.heartbeat_at = Instant::now() + self.heartbeat;
                return Some((Ok(chunk), self));
            }
            if self.read_due {
                // Marked seen before reading: a change committed during the
                // read wakes the next wait at once.
                self.changes.borrow_and_update();
                if !self.read().await {
                    return None;
                }
                continue;
            }
            let poll = if self.waiting { GAP_POLL } else { POLL };
            tokio::select! {
                Ok(()) = self.changes.changed() => self.read_due = true,
                () = tokio::time::sleep(poll) => self.read_due = true,
                () = tokio::time::sleep_until(self.heartbeat_at) => {
                    self.queue.push_back(Bytes::from_static(b": keep-alive\n\n"));
                }
                _ = self.closing.changed() => return None,
            }
        }
    }

    /// Reads what is new into the queue; false when the stream must end.
    async fn read(&mut self) -> bool {
        self.read_due = false;
        let Some(mut follower) = self.follower.take() else {
            return false;
        };
        let authority = Arc::clone(&self.authority);
        let read = tokio::task::spawn_blocking(move || {
            let batch = follower.next(&authority, std::time::Instant::now());
            (follower, batch)
        })
        .await;
        let Ok((follower, batch)) = read else {
            tracing::error!("reading lock events failed: the blocking task ended");
            return false;
        };
        match batch {
            Ok(batch) => {
                if self.failing {
                    tracing::info!("reading lock events works again");
                    self.failing = false;
                }
                for event in &batch.events {
                    self.queue.push_back(message(event, &self.names));
                }
                self.read_due = batch.more;
                self.waiting = batch.waiting;
            }
            // The stream stays open and tries again at the next poll: an
            // `EventSource` given an error status would not reconnect.
            Err(e) => {
                if !self.failing {
                    tracing::warn!(error = %e, after = follower.cursor(), "reading lock events failed");
                    self.failing = true;
                }
            }
        }
        self.follower = Some(follower);
        true
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        let after = self.follower.as_ref().map(Follower::cursor);
        tracing::debug!(after, "lock event stream ended");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(last_event_id: Option<&str>, query: &str) -> Result<Request, Problem> {
        let mut headers = HeaderMap::new();
        if let Some(id) = last_event_id {
            headers.insert("last-event-id", HeaderValue::from_str(id).unwrap());
        }
        parse_request(&headers, Some(query))
    }

    #[test]
    fn requests_name_a_path_or_a_key_and_where_to_resume() {
        let r = request(None, "path=/docs").unwrap();
        assert_eq!(r.path.map(|p| p.key()).as_deref(), Some("/docs"));
        assert_eq!(r.after, None);
        let r = request(None, "key=orders%2F42&since_id=7").unwrap();
        assert_eq!(
            r.path.and_then(|p| p.record_key()).as_deref(),
            Some("orders/42")
        );
        assert_eq!(r.after, Some(7));
        // The header wins: a reconnecting EventSource keeps its first URL.
        assert_eq!(request(Some("12"), "since_id=7").unwrap().after, Some(12));
        assert_eq!(
            request(Some(""), "").unwrap(),
            Request {
                path: None,
                after: None
            }
        );
        for (header, query) in [
            (None, "path=/a&key=b"),
            (None, "path=docs"),
            (None, "path=/_deadbolt/api"),
            (None, "key="),
            (None, "key=a//b"),
            (None, "since_id=-1"),
            (Some("x"), ""),
            (None, "paths=/a"),
            (None, "path=/a&path=/b"),
        ] {
            assert!(request(header, query).is_err(), "{header:?} {query}");
        }
    }

    fn event(path: &str, holder: Option<&str>, actor: Option<&str>) -> LockEvent {
        LockEvent {
            id: 42,
            at_ms: 1_700_000_000_123,
            kind: "released".into(),
            path: path.into(),
            token: Some("urn:uuid:1".into()),
            holder: holder.map(str::to_owned),
            actor: actor.map(str::to_owned),
            client_address: Some("10.0.0.1:5000".into()),
            user_agent: Some("curl".into()),
            reason: None,
        }
    }

    fn data(message: &Bytes) -> serde_json::Value {
        let text = std::str::from_utf8(message).unwrap();
        let line = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn messages_carry_id_kind_and_the_event_as_json() {
        let names = Names {
            hide: false,
            me: None,
        };
        let m = message(&event("#/orders/42", Some("ana"), Some("bob")), &names);
        let text = std::str::from_utf8(&m).unwrap();
        assert!(
            text.starts_with("id: 42\nevent: released\ndata: {"),
            "{text}"
        );
        assert!(text.ends_with("}\n\n"), "{text}");
        let json = data(&m);
        assert_eq!(json["key"], "orders/42");
        assert!(json.get("path").is_none(), "{json}");
        assert_eq!(
            (&json["holder"], &json["actor"]),
            (&"ana".into(), &"bob".into())
        );
        assert_eq!(json["at"], "2023-11-14T22:13:20Z");
        assert!(
            json.get("client_address").is_none(),
            "addresses are for administrators"
        );
        let json = data(&message(&event("/docs/a b.txt", None, None), &names));
        assert_eq!(json["path"], "/docs/a b.txt");
    }

    #[tokio::test]
    async fn an_idle_stream_keeps_alive_and_ends_when_the_server_closes() {
        use http_body_util::BodyExt;

        use crate::authority::AuthorityConfig;
        use crate::locks::LockClient;
        use crate::store::Stores;
        use crate::store::memory::MemoryStore;

        let store = Arc::new(MemoryStore::default());
        let stores = Stores {
            locks: store.clone(),
            audit: store.clone(),
            properties: store,
        };
        let authority = Arc::new(LockService::new(&stores, AuthorityConfig::default()));
        let mut streams = EventStreams::new(authority, false);
        streams.heartbeat = Duration::from_millis(50);
        let requester = Requester {
            principal: None,
            client: LockClient::default(),
        };
        let mut body = streams
            .open(&HeaderMap::new(), None, &requester)
            .await
            .expect("a stream")
            .into_body();
        let mut next = async || -> Option<String> {
            let frame = body.frame().await?.ok()?.into_data().ok()?;
            Some(String::from_utf8_lossy(&frame).into_owned())
        };
        let preamble = next().await.expect("the preamble");
        assert!(preamble.contains("retry: 2000\n"), "{preamble:?}");
        let started = Instant::now();
        assert_eq!(next().await.as_deref(), Some(": keep-alive\n\n"));
        assert!(started.elapsed() >= Duration::from_millis(50));
        streams.close();
        assert_eq!(next().await, None, "closed with the server");
        assert_eq!(
            streams.slots.available_permits(),
            MAX_STREAMS,
            "its place is free"
        );
    }

    #[test]
    fn hidden_names_are_only_the_readers_own() {
        let names = Names {
            hide: true,
            me: Some("ana".into()),
        };
        let json = data(&message(&event("/a", Some("ana"), Some("bob")), &names));
        assert_eq!(json["holder"], "ana");
        assert!(json["actor"].is_null(), "{json}");
    }
}
