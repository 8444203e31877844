//! deadbolt: a WebDAV server whose heart is resource locking.
//!
//! # Layout
//! - `locks`: the pure lock core. Paths (`ResourcePath`), the lock table
//!   view, write intents and latches, and `LockRules`, whose decisions say
//!   who may change what. No I/O, no clock, no locks, no permits.
//! - `store`: storage behind small traits: `fs` is the served directory
//!   (atomic writes); `sqlite` (embedded default), `postgres` (several
//!   nodes) and `memory` hold the lock table, holds, latches, audit trail
//!   and dead properties. Knows paths and
//!   bytes, never HTTP. Content and property writes require a `WritePermit`.
//! - `authority`: `LockService`, the one lock authority. Every lock-table
//!   change from every surface and process is one core decision inside one
//!   store transaction; it alone mints `WritePermit`s.
//! - `auth`: principals and htpasswd users; `web`: the body type and
//!   request paths every surface shares.
//! - Surfaces: `dav` (WebDAV, and Terraform's http state backend on the
//!   same URLs), `admin` (admin page, JSON API, CLI commands), `lockapi`
//!   (the JSON lock API for records and paths) and `lfs` (the Git LFS
//!   locking API), each with one place mapping errors to statuses.
//! - `app` authenticates once and routes to the surfaces; `server` is the
//!   listener and `connection` one client's connection until it closes;
//!   `config` and `cli` the settings.
//!
//! Dependencies point one way: `locks` <- `store` <- `authority` <-
//! surfaces <- `app` <- `server` (`tests/architecture.rs` checks it).

pub mod admin;
pub mod app;
pub mod auth;
pub mod authority;
pub mod cli;
pub mod config;
pub mod connection;
pub mod dav;
pub mod fragment_guard;
pub mod lfs;
pub mod lockapi;
pub mod locks;
pub mod logging;
pub mod metrics;
pub mod server;
pub mod store;
pub mod systemd;
pub mod tls;
pub mod web;
