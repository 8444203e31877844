//! A Server-Sent Events client on a bare socket: HTTP/1.1, the chunked
//! body decoded, messages parsed by a reader thread and handed over a
//! channel, so a test waits for each with a timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::TestServer;
use super::users::{basic, password};

/// How long a test waits for an event that must come.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// One SSE message (comments are kept apart).
#[derive(Debug, Clone)]
pub struct Message {
    pub id: Option<u64>,
    pub event: String,
    pub data: Value,
}

#[derive(Debug)]
enum Item {
    Message(Message),
    Comment(String),
}

/// An open stream, or the answer that refused it.
pub struct Sse {
    pub status: u16,
    /// The head of the answer, header names in lower case.
    pub head: String,
    /// The body of a refusal (empty for a stream).
    pub body: String,
    items: Receiver<Item>,
    socket: TcpStream,
}

/// `GET target` as `user` (None: no credentials), with `Last-Event-ID`
/// when given. Returns once the head has arrived: from then on, every
/// change the server commits is in the stream.
pub fn open(s: &TestServer, user: Option<&str>, target: &str, last_event_id: Option<u64>) -> Sse {
    let mut socket = TcpStream::connect(&s.addr).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    let mut request = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n",
        s.addr
    );
    if let Some(user) = user {
        request.push_str(&format!(
            "Authorization: {}\r\n",
            basic(user, &password(user))
        ));
    }
    if let Some(id) = last_event_id {
        request.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    request.push_str("\r\n");
    socket.write_all(request.as_bytes()).expect("send");
    let mut reader = BufReader::new(socket.try_clone().expect("clone socket"));
    let mut head = String::new();
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).expect("read head") > 0,
            "EOF in head: {head}"
        );
        if line == "\r\n" {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    let (tx, items) = channel();
    let mut body = String::new();
    if status == 200 {
        assert!(head.contains("content-type: text/event-stream"), "{head}");
        assert!(head.contains("transfer-encoding: chunked"), "{head}");
        thread::spawn(move || read_stream(reader, |item| tx.send(item).is_ok()));
    } else {
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        let mut bytes = vec![0; length];
        reader.read_exact(&mut bytes).expect("read refusal");
        body = String::from_utf8_lossy(&bytes).into_owned();
    }
    Sse {
        status,
        head,
        body,
        items,
        socket,
    }
}

/// Decodes chunks and SSE blocks until the stream ends or `send` fails.
fn read_stream(mut reader: BufReader<TcpStream>, mut send: impl FnMut(Item) -> bool) {
    let mut text = String::new();
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size).unwrap_or(0) == 0 {
            return;
        }
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            return;
        };
        if size == 0 {
            return;
        }
        let mut chunk = vec![0; size + 2];
        if reader.read_exact(&mut chunk).is_err() {
            return;
        }
        text.push_str(&String::from_utf8_lossy(&chunk[..size]));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            for item in parse_block(&block) {
                if !send(item) {
                    return;
                }
            }
        }
    }
}

fn parse_block(block: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let (mut id, mut event, mut data) = (None, String::from("message"), None);
    for line in block.lines() {
        if let Some(comment) = line.strip_prefix(':') {
            items.push(Item::Comment(comment.trim().to_owned()));
        } else if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.parse().unwrap_or_else(|_| panic!("id {v:?}")));
        } else if let Some(v) = line.strip_prefix("event: ") {
            event = v.to_owned();
        } else if let Some(v) = line.strip_prefix("data: ") {
            let json = serde_json::from_str(v).unwrap_or_else(|e| panic!("data {v:?}: {e}"));
            data = Some(json);
        }
    }
    if let Some(data) = data {
        items.push(Item::Message(Message { id, event, data }));
    }
    items
}

impl Sse {
    /// The next message within `timeout`, skipping comments.
    pub fn next_within(&self, timeout: Duration) -> Option<Message> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.items.recv_timeout(left) {
                Ok(Item::Message(m)) => return Some(m),
                Ok(Item::Comment(_)) => continue,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// The next message, which must come within `EVENT_TIMEOUT` and be of
    /// `kind`.
    pub fn expect(&self, kind: &str) -> Message {
        let m = self
            .next_within(EVENT_TIMEOUT)
            .unwrap_or_else(|| panic!("no {kind} event within {EVENT_TIMEOUT:?}"));
        assert_eq!(m.event, kind, "{m:?}");
        assert_eq!(m.data["kind"], kind, "{m:?}");
        assert_eq!(m.id, m.data["id"].as_u64(), "id: is the event's id: {m:?}");
        m
    }

    /// Asserts that no message comes within `quiet`.
    pub fn expect_quiet(&self, quiet: Duration) {
        if let Some(m) = self.next_within(quiet) {
            panic!("unexpected event: {m:?}");
        }
    }

    /// Whether the server ended the stream within `timeout`.
    pub fn ends_within(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.items.recv_timeout(left) {
                Ok(_) => continue,
                Err(RecvTimeoutError::Disconnected) => return true,
                Err(RecvTimeoutError::Timeout) => return false,
            }
        }
    }

    /// Closes the connection from this side.
    pub fn close(self) {
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}
