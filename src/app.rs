//! Builds the DAV service from settings (tests can call this too).

use std::sync::{Arc, Mutex};

use anyhow::Context;

use crate::admin::Admin;
use crate::admin::api::ADMIN_PREFIX;
use crate::auth::Users;
use crate::config::Settings;
use crate::dav::error::Disclosure;
use crate::dav::{DavConfig, DavService, DavState};
use crate::locks::{LockManager, ResourcePath};
use crate::store::LockStore;
use crate::store::fs::FsStore;
use crate::store::sqlite::SqliteStore;

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

pub fn build(settings: &Settings) -> anyhow::Result<DavService> {
    // The admin prefix is reserved; a member of that name would be hidden,
    // so refuse to start rather than hide it silently.
    let admin_dir = settings.root.join(ADMIN_PREFIX);
    if admin_dir.symlink_metadata().is_ok() {
        anyhow::bail!(
            "{} would be hidden by the admin page at /{ADMIN_PREFIX}/; rename it to serve this directory",
            admin_dir.display()
        );
    }
    let mut reserved: Vec<ResourcePath> = reserved_state_path(settings).into_iter().collect();
    reserved.push(ResourcePath::from_segments([ADMIN_PREFIX])?);
    let content = FsStore::new(&settings.root, reserved)
        .with_context(|| format!("cannot serve {}", settings.root.display()))?;
    let state =
        Arc::new(SqliteStore::open(&settings.state_dir).with_context(|| {
            format!("cannot open the state in {}", settings.state_dir.display())
        })?);
    // Locks answered 200 before a restart or a crash are still in force:
    // they are read from the state database, never from memory.
    let stats = state
        .stats(crate::dav::now())
        .context("cannot read the stored locks")?;
    let held: u64 = stats.held_by_scope.iter().map(|(_, n)| n).sum();
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
    let locks = Arc::new(LockManager::new(
        settings.lock_timeouts,
        settings.lock_limits,
    ));
    let admin = Admin::new(state.clone(), Arc::clone(&locks));
    Ok(DavService::new(DavState {
        users,
        admin,
        metrics: Arc::new(crate::metrics::Metrics::new()),
        content: Arc::new(content),
        properties: state.clone(),
        lock_store: state,
        locks,
        gate: Mutex::new(()),
        config: DavConfig {
            disclosure: if settings.hide_lock_owners {
                Disclosure::HideHolder
            } else {
                Disclosure::ShowHolder
            },
            allow_depth_infinity: settings.allow_depth_infinity,
            max_xml_body: settings.max_xml_body,
        },
    }))
}
