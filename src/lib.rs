//! deadbolt: a WebDAV server whose heart is resource locking.
//!
//! # Layout
//! - `locks`: the pure lock core. Paths (`ResourcePath`), write intents and
//!   the `WritePermit` that only `LockManager::check_write` can issue. No I/O,
//!   no clock, no HTTP.
//! - `store`: storage behind small traits. `fs` is the served directory
//!   (atomic writes), `sqlite` the dead properties. Knows paths and bytes,
//!   never HTTP. Mutations require a `WritePermit`.
//! - `dav`: the WebDAV protocol. `DavService` parses a request into a typed
//!   method request, asks the write gate for a permit, executes against the
//!   stores and renders the answer; `dav::error` is the one place that turns
//!   failures into statuses.
//! - `config`, `cli`, `server`, `app`: wiring only (settings, the command
//!   line, the listener and graceful shutdown, building the service).
//!
//! Dependencies point one way: `locks` <- `store` <- `dav` <- wiring.

pub mod admin;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dav;
pub mod fragment_guard;
pub mod locks;
pub mod metrics;
pub mod server;
pub mod store;
pub mod tls;
