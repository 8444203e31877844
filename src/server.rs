//! The listener: accepts connections, serves HTTP/1.1 with hyper, logs one
//! line per request, and drains open requests on SIGTERM or Ctrl-C.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::app::{App, AuthenticatedUser, PeerAddr};
use crate::config::Settings;
use crate::connection::{self, Drain, DrainWatch};
use crate::fragment_guard::{RequestLines, Watched};
use crate::web::body::Body;

/// Binds, announces the URL on stdout's first line, serves until a signal.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    // Opening the state may wait for a database: not on an async worker.
    let service = {
        let settings = settings.clone();
        tokio::task::spawn_blocking(move || App::build(&settings)).await??
    };
    let tls = match &settings.tls {
        Some(files) => Some(crate::tls::acceptor(&files.cert, &files.key)?),
        None => None,
    };
    if settings.htpasswd.is_some() && tls.is_none() && !settings.listen.ip().is_loopback() {
        tracing::warn!(
            listen = %settings.listen,
            "HTTP Basic authentication over plain HTTP on a non-loopback address: \
             passwords cross the network readable; use --tls-cert and --tls-key"
        );
    }
    let listener = TcpListener::bind(settings.listen).await?;
    let shutdown = shutdown_signal()?;
    let addr = listener.local_addr()?;
    {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "deadbolt listening on {scheme}://{addr}/")?;
        stdout.flush()?;
    }
    tracing::info!(
        root = %settings.root.display(),
        state_dir = %settings.state_dir.display(),
        %addr,
        "serving"
    );
    let sweeper = tokio::spawn(service.authority().run_sweeper());
    let users = watch_users(service.clone())?;
    crate::systemd::ready(&addr.to_string());
    let watchdog = crate::systemd::spawn_watchdog();
    let shutdown = async {
        shutdown.await;
        crate::systemd::stopping();
    };
    run(listener, service, tls, shutdown, settings.drain_timeout).await;
    sweeper.abort();
    users.abort();
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// Serves `listener` until `shutdown` completes, then gives open requests
/// up to `drain` to finish.
pub async fn run(
    listener: TcpListener,
    service: App,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let drain_watch = Drain::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: back off briefly.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Small answers must not wait for Nagle's algorithm.
                let _ = stream.set_nodelay(true);
                let watcher = drain_watch.watcher();
                match &tls {
                    None => {
                        let (stream, lines) = Watched::new(stream);
                        let handler = handler(service.clone(), peer, lines);
                        let head_limit = service.parser_head_limit();
                        tokio::spawn(serve_connection(stream, handler, head_limit, watcher, peer));
                    }
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        let service = service.clone();
                        tokio::spawn(async move {
                            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                Ok(Ok(stream)) => stream,
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "TLS handshake timed out");
                                    return;
                                }
                            };
                            let (stream, lines) = Watched::new(stream);
                            let head_limit = service.parser_head_limit();
                            let handler = handler(service, peer, lines);
                            serve_connection(stream, handler, head_limit, watcher, peer).await;
                        });
                    }
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    service.close_streams();
    tracing::info!("shutting down: draining open requests");
    tokio::select! {
        () = drain_watch.shutdown() => {}
        () = tokio::time::sleep(drain) => tracing::warn!("drain timed out; closing remaining connections"),
    }
}

/// A client gets this long to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one connection to its end; an error is only worth a debug line.
async fn serve_connection<I>(
    stream: Watched<I>,
    handler: impl hyper::service::Service<
        Request<Incoming>,
        Response = Response<Body>,
        Error = Infallible,
        Future = Answer,
    > + Unpin,
    head_limit: usize,
    watcher: DrainWatch,
    peer: SocketAddr,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    if let Err(e) = connection::serve(stream, handler, head_limit, watcher).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// A request's answer, boxed: lingering needs hyper's connection `Unpin`.
type Answer = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// The per-connection request handler hyper calls, in request order.
fn handler(
    service: App,
    peer: SocketAddr,
    lines: Arc<RequestLines>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Body>,
    Error = Infallible,
    Future = Answer,
> + Clone
+ Unpin {
    // Written once per connection: formatting an address for every
    // request's log line was a tenth of a small GET's own work.
    let peer = Peer {
        text: Arc::from(peer.to_string()),
        addr: peer,
    };
    service_fn(move |request| {
        Box::pin(handle(
            service.clone(),
            peer.clone(),
            lines.clone(),
            request,
        )) as Answer
    })
}

/// The client's address, and as the log line writes it.
#[derive(Clone)]
struct Peer {
    addr: SocketAddr,
    text: Arc<str>,
}

async fn handle(
    service: App,
    peer: Peer,
    lines: Arc<RequestLines>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // The lock token an UNLOCK names (a LOCK's comes with its answer).
    let unlocking = header_text(request.headers(), "lock-token");
    let fragment = fragment_of(&lines, &request);
    let mut request = request.map(|body| body.map_err(Into::into).boxed_unsync());
    request.extensions_mut().insert(PeerAddr(peer.addr));
    let response = match fragment {
        Some(fragment) => refuse_fragment(&service, &request, &fragment),
        None => match service.refuse_oversized_head(&request) {
            Some(refusal) => refusal,
            None => service.handle(request).await,
        },
    };
    service.observe(&method, response.status(), started.elapsed());
    let user = response
        .extensions()
        .get::<AuthenticatedUser>()
        .map(|user| user.0.as_str());
    let lock_token = header_text(response.headers(), "lock-token").or(unlocking);
    tracing::info!(
        peer = %peer.text,
        %method,
        path,
        user,
        lock_token = lock_token.as_deref().map(|t| t.trim_matches(['<', '>'])),
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    Ok(response)
}

fn header_text(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// The `#fragment` hyper dropped from this request's target, if any.
fn fragment_of<B>(lines: &RequestLines, request: &Request<B>) -> Option<String> {
    let uri = request.uri();
    let method = request.method().as_str();
    match (uri.scheme(), uri.path_and_query()) {
        (None, Some(origin)) => lines.fragment_of(method, origin.as_str()),
        _ => lines.fragment_of(method, &uri.to_string()),
    }
}

/// 400 for a target with a fragment: acting on the target without it could
/// delete or overwrite a resource the client did not name.
fn refuse_fragment(service: &App, request: &Request<Body>, fragment: &str) -> Response<Body> {
    let reason = format!(
        "the request target contains the fragment `{fragment}`, which HTTP does not allow \
         (RFC 9112 section 3.2); send `#` in a name percent-encoded as %23"
    );
    service.refuse_bad_request(request, reason)
}

/// How often the htpasswd file is looked at for changes.
const USERS_RECHECK: Duration = Duration::from_secs(2);

/// Re-reads the htpasswd file on SIGHUP (`systemctl reload`) and when it
/// changes, so users come and go without a restart.
fn watch_users(service: App) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(USERS_RECHECK);
        loop {
            let force = tokio::select! {
                _ = hangup.recv() => true,
                _ = ticks.tick() => false,
            };
            let service = service.clone();
            let _ = tokio::task::spawn_blocking(move || service.reload_users(force)).await;
        }
    }))
}

/// A future that completes on SIGTERM or Ctrl-C. The handlers are installed
/// here, before the caller announces the URL, so a signal sent the moment
/// the server is up is already a graceful shutdown.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}
