//! The JSON lock API (issue 10): taking a lock, and waiting until requests
//! stand in line for one.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::users::req_as;
use super::{Response, TestServer};

pub const LOCKS: &str = "/_deadbolt/api/locks";

/// `POST /_deadbolt/api/locks` with `body` as `user`.
pub fn post_lock(s: &TestServer, user: Option<&str>, body: Value) -> Response {
    req_as(s, user, "POST", LOCKS)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
}

/// Polls until `n` requests wait for `resource` (`{"key": ...}` or
/// `{"path": ...}`, held all along): a request that does not wait is
/// refused as queued, with the count. It is root's (who may write), and
/// never granted while the lock is held.
pub fn wait_until_queued(s: &TestServer, resource: Value, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let resp = post_lock(s, Some("root"), resource.clone());
        let body: Value = serde_json::from_str(&resp.body).unwrap_or(Value::Null);
        if body["waiting"].as_u64() == Some(n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{n} waiters never queued: {resp:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
