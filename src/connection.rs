//! One HTTP/1.1 connection from accept to close: served by hyper, asked to
//! finish when the server drains, and closed lingering, so that an answer
//! sent before the request's body was read reaches the client.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::HttpService;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use crate::fragment_guard::Watched;

/// Tells open connections to finish and waits until they have.
pub struct Drain {
    tx: watch::Sender<()>,
}

/// One connection's end of a `Drain`: while it lives, the drain waits.
pub struct DrainWatch {
    rx: watch::Receiver<()>,
}

impl Drain {
    pub fn new() -> Self {
        Self {
            tx: watch::Sender::new(()),
        }
    }

    pub fn watcher(&self) -> DrainWatch {
        DrainWatch {
            rx: self.tx.subscribe(),
        }
    }

    /// Asks every connection to finish its request in flight and close,
    /// then waits for the last one to go.
    pub async fn shutdown(self) {
        self.tx.send_replace(());
        self.tx.closed().await;
    }
}

impl Default for Drain {
    fn default() -> Self {
        Self::new()
    }
}

/// How long a closing connection keeps reading what the client still
/// sends. Bounded, so a client that never stops cannot hold it open.
const LINGER: Duration = Duration::from_secs(5);

/// Serves `io` until the client or the server ends the connection, then
/// closes it lingering. The error is hyper's, for the log.
pub async fn serve<I, S, B>(
    io: Watched<I>,
    service: S,
    head_limit: usize,
    mut drain: DrainWatch,
) -> Result<(), hyper::Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: HttpService<Incoming, ResBody = B> + Unpin,
    S::Future: Unpin,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut connection = http1::Builder::new()
        .keep_alive(true)
        .max_header_size(head_limit)
        .serve_connection(TokioIo::new(io), service);
    let mut drained = pin!(drain.rx.changed());
    let mut draining = false;
    let served = poll_fn(|cx| {
        if !draining && drained.as_mut().poll(cx).is_ready() {
            draining = true;
            std::pin::Pin::new(&mut connection).graceful_shutdown();
        }
        // Without hyper's own shutdown of the socket: `linger` does it.
        connection.poll_without_shutdown(cx)
    })
    .await;
    // What the client still sends is no request: unwatched. A server
    // that is stopping does not wait for clients that keep a connection
    // open (an idle keep-alive one would hold the stop for `LINGER`).
    let mut io = connection.into_parts().io.into_inner().into_inner();
    if draining {
        let _ = io.shutdown().await;
        return served;
    }
    tokio::select! {
        () = linger(io) => {}
        _ = drained => {}
    }
    served
}

/// Closes as RFC 9112 section 9.6 asks: stop writing (the answer is out),
/// then read and discard until the client closes too or `LINGER` passes.
/// Closing at once with unread bytes on the socket makes the kernel send a
/// reset, which can destroy the answer before the client (or a proxy in
/// front, which then answers 502) has read it.
async fn linger<I: AsyncRead + AsyncWrite + Unpin>(mut io: I) {
    if io.shutdown().await.is_err() {
        return;
    }
    let mut discard = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        while let Ok(1..) = io.read(&mut discard).await {}
    })
    .await;
}
