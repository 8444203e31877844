//! Issue 10, "done when": the four kinds of client (WebDAV, the JSON lock
//! API, Git LFS, Terraform) take their locks in one table. For every pair,
//! a lock taken by one refuses the other, both ways, and the refusal names
//! the holder; and every kind of lock is in `deadbolt locks list`, the
//! admin API and the history.
mod support;

use serde_json::{Value, json};
use support::admin::*;
use support::lock::*;
use support::users::*;
use support::{Response, TestServer};

const REPO: &str = "projects/game";
const LFS_MEDIA: &str = "application/vnd.git-lfs+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    WebDav,
    LockApi,
    GitLfs,
    Terraform,
}

const SURFACES: [Surface; 4] = [
    Surface::WebDav,
    Surface::LockApi,
    Surface::GitLfs,
    Surface::Terraform,
];

/// A granted lock: how its surface releases it.
struct Held {
    surface: Surface,
    path: String,
    /// The lock token (WebDAV, lock API, Terraform) or the LFS id.
    id: String,
}

fn lfs<'a>(s: &'a TestServer, user: &str, method: &str, rest: &str) -> support::Req<'a> {
    req_as(
        s,
        Some(user),
        method,
        &format!("/_deadbolt/lfs/{REPO}{rest}"),
    )
    .header("Accept", LFS_MEDIA)
    .header("Content-Type", LFS_MEDIA)
}

fn terraform_info(id: &str, who: &str) -> String {
    json!({
        "ID": id, "Operation": "OperationTypeApply", "Info": "", "Who": who,
        "Version": "1.11.4", "Created": "2026-01-02T03:04:05Z", "Path": ""
    })
    .to_string()
}

/// `user` asks `surface` for an exclusive lock on `path` (a file below
/// /projects/game/).
fn take(s: &TestServer, surface: Surface, user: &str, path: &str) -> Response {
    match surface {
        Surface::WebDav => req_as(s, Some(user), "LOCK", path)
            .header("Depth", "0")
            .xml(&lockinfo(Scope::Exclusive, None))
            .send(),
        Surface::LockApi => req_as(s, Some(user), "POST", "/_deadbolt/api/locks")
            .header("Content-Type", "application/json")
            .body(json!({ "path": path }).to_string())
            .send(),
        Surface::GitLfs => {
            let relative = path.trim_start_matches(&format!("/{REPO}/")).to_owned();
            lfs(s, user, "POST", "/locks")
                .body(json!({ "path": relative }).to_string())
                .send()
        }
        Surface::Terraform => req_as(s, Some(user), "LOCK", path)
            .header("Content-Type", "application/json")
            .body(terraform_info(
                &format!("tf-{user}"),
                &format!("{user}@host"),
            ))
            .send(),
    }
}

fn granted(s: &TestServer, surface: Surface, user: &str, path: &str) -> Held {
    let r = take(s, surface, user, path);
    let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    let id = match surface {
        Surface::WebDav | Surface::Terraform => {
            assert!(r.status == 200 || r.status == 201, "{surface:?}: {r:?}");
            lock_token_header(&r)
        }
        Surface::LockApi => {
            assert_eq!(r.status, 201, "{surface:?}: {r:?}");
            body["token"].as_str().expect("token").to_owned()
        }
        Surface::GitLfs => {
            assert_eq!(r.status, 201, "{surface:?}: {r:?}");
            body["lock"]["id"].as_str().expect("id").to_owned()
        }
    };
    Held {
        surface,
        path: path.to_owned(),
        id,
    }
}

/// Asserts that `surface` refused, in its own words, naming `holder`.
fn assert_refused(r: &Response, surface: Surface, holder: &str, what: &str) {
    let status = match surface {
        Surface::GitLfs => 409,
        _ => 423,
    };
    assert_eq!(r.status, status, "{what}: {r:?}");
    let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    let named = match surface {
        Surface::WebDav => r.body.contains(holder),
        Surface::LockApi => body["holder"] == holder,
        Surface::GitLfs => body["lock"]["owner"]["name"] == holder,
        // Terraform prints the holder's LockInfo; for a lock of another
        // kind, `Who` is its holder.
        Surface::Terraform => {
            body["Who"] == holder || body["Who"].as_str().is_some_and(|w| w.starts_with(holder))
        }
    };
    assert!(named, "{what}: the refusal names {holder}: {r:?}");
}

fn release(s: &TestServer, held: &Held, user: &str) {
    let r = match held.surface {
        Surface::WebDav => unlock_as(s, Some(user), &held.path, &held.id),
        Surface::LockApi => req_as(
            s,
            Some(user),
            "DELETE",
            &format!("/_deadbolt/api/locks/{}", held.id),
        )
        .send(),
        Surface::GitLfs => lfs(s, user, "POST", &format!("/locks/{}/unlock", held.id))
            .body("{}")
            .send(),
        Surface::Terraform => req_as(s, Some(user), "UNLOCK", &held.path)
            .header("Content-Type", "application/json")
            .body(terraform_info(
                &format!("tf-{user}"),
                &format!("{user}@host"),
            ))
            .send(),
    };
    assert!(
        matches!(r.status, 200 | 204),
        "{:?} release of {}: {r:?}",
        held.surface,
        held.path
    );
}

fn team() -> TestServer {
    let s = start_team(&[]);
    for dir in ["/projects/", "/projects/game/"] {
        assert_eq!(req_as(&s, Some("alice"), "MKCOL", dir).send().status, 201);
    }
    s
}

#[test]
fn every_kind_of_lock_refuses_every_other_kind_both_ways() {
    let s = team();
    let mut pairs = 0;
    for (n, first) in SURFACES.iter().enumerate() {
        for second in SURFACES.iter().filter(|s| *s != first) {
            let path = format!("/{REPO}/f{n}-{second:?}.bin");
            assert_eq!(put_as(&s, Some("alice"), &path, "x").status, 201);
            let held = granted(&s, *first, "alice", &path);
            let refused = take(&s, *second, "bob", &path);
            assert_refused(
                &refused,
                *second,
                "alice",
                &format!("{second:?} over {first:?}'s lock on {path}"),
            );
            // The file itself is guarded too: a WebDAV write without the token.
            assert_eq!(put_as(&s, Some("bob"), &path, "bob").status, 423, "{path}");
            release(&s, &held, "alice");
            let now_free = granted(&s, *second, "bob", &path);
            release(&s, &now_free, "bob");
            pairs += 1;
        }
    }
    assert_eq!(pairs, 12, "six pairs, both ways");
}

#[test]
fn every_kind_of_lock_is_listed_and_audited() {
    let s = team();
    let mut held = Vec::new();
    for (n, surface) in SURFACES.iter().enumerate() {
        let path = format!("/{REPO}/listed-{n}.bin");
        assert_eq!(put_as(&s, Some("alice"), &path, "x").status, 201);
        held.push(granted(&s, *surface, "alice", &path));
    }
    let record = req_as(&s, Some("alice"), "POST", "/_deadbolt/api/locks")
        .header("Content-Type", "application/json")
        .body(r#"{"key": "orders/42"}"#)
        .send();
    assert_eq!(record.status, 201, "{record:?}");
    let listed = api_get(&s, "root", "/_deadbolt/api/locks");
    let paths: Vec<&str> = array(&listed, "locks")
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    let cli = cli_on(&s, &["locks", "list"]);
    for h in &held {
        assert!(
            paths.contains(&h.path.as_str()),
            "{:?} in {paths:?}",
            h.surface
        );
        assert!(
            cli.ok().contains(&h.path),
            "{:?} in {}",
            h.surface,
            cli.ok()
        );
    }
    assert!(paths.contains(&"key orders/42"), "{paths:?}");
    assert!(cli.ok().contains("key orders/42"), "{}", cli.ok());
    let events = api_history(&s, "root", "");
    for h in &held {
        assert!(
            events
                .iter()
                .any(|e| e["kind"] == "acquired" && e["path"] == h.path.as_str()),
            "{:?}'s lock in the history",
            h.surface
        );
    }
}
