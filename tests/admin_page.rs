//! The admin page (`/_deadbolt/`) end to end in headless Chromium, driven
//! over the W3C WebDriver protocol by chromedriver: an administrator logs
//! in, sees a lock taken over WebDAV, places a maintenance hold, breaks the
//! lock, and afterwards a WebDAV PUT that got 423 succeeds; a lock taken
//! through the lock API shows at once (the page follows the event stream).
//!
//! Needs the Debian packages `chromium` and `chromium-driver`. Without
//! them the test says SKIPPED and passes, unless `DEADBOLT_REQUIRE_CHROMIUM`
//! is set (CI), when it fails. `DEADBOLT_UPDATE_SCREENSHOT=1` also writes
//! the screenshot to docs/admin-page.png. See docs/admin-page.md.
mod support;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use support::lock::{Scope, lockinfo};
use support::users::basic;
use support::{Launch, TestServer, poll};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long chromedriver may take to answer its status endpoint.
const DRIVER_STARTUP: Duration = Duration::from_secs(30);
/// Upper bound for one WebDriver command (starting the browser included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the page may take to show a change.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);
/// How soon a change must show while the page follows the event stream.
const LIVE_BOUND: Duration = Duration::from_secs(4);
/// W3C WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

const ADMIN: (&str, &str) = ("admin", "admin-pw");
/// Takes the lock.
const ANA: (&str, &str) = ("ana", "ana-pw");
/// Writes where Ana's lock is, before and after it is broken.
const BOB: (&str, &str) = ("bob", "bob-pw");

/// Polls `probe` every 100 ms until it gives a value, for at most `timeout`.
fn wait_for<T>(timeout: Duration, probe: impl FnMut() -> Option<T>) -> Option<T> {
    poll(timeout, Duration::from_millis(100), probe)
}

fn required() -> bool {
    std::env::var_os("DEADBOLT_REQUIRE_CHROMIUM").is_some_and(|v| !v.is_empty() && v != "0")
}

/// chromedriver, running on a port of its own. `Drop` ends the session
/// (closing Chromium) and kills chromedriver.
struct Driver {
    child: Child,
    base: String,
    session: Option<String>,
    agent: ureq::Agent,
    log: PathBuf,
}

impl Driver {
    fn start(dir: &Path) -> Driver {
        let port = support::free_port();
        let log = dir.join("chromedriver.log");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(File::create(dir.join("chromedriver.out")).expect("create log"))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start chromedriver");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(COMMAND_TIMEOUT))
            .build()
            .into();
        let mut driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            session: None,
            agent,
            log,
        };
        let ready = wait_for(DRIVER_STARTUP, || {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited at start: {status}");
            }
            let response = driver
                .agent
                .get(format!("{}/status", driver.base))
                .config()
                .timeout_global(Some(Duration::from_secs(2)))
                .build()
                .call()
                .ok()?;
            let status: Value =
                serde_json::from_str(&response.into_body().read_to_string().ok()?).ok()?;
            status["value"]["ready"].as_bool().filter(|r| *r)
        });
        assert!(
            ready.is_some(),
            "chromedriver not ready within {DRIVER_STARTUP:?}"
        );
        driver
    }

    /// Starts headless Chromium with its profile in `profile`.
    fn new_session(&mut self, profile: &Path) {
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run",
                        "--window-size=1440,900", "--lang=en-US",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                },
            }}
        });
        let value = self.raw("POST", "/session", Some(capabilities));
        let id = value["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {value}"))
            .to_owned();
        self.session = Some(id);
    }

    /// One WebDriver command on `path` (absolute): its `value`, or a panic
    /// naming the WebDriver error.
    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let result = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string()),
        };
        let response = result.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let ok = response.status().is_success();
        let text = response
            .into_body()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: unreadable reply: {e}"));
        let reply: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: not JSON ({e}): {text}"));
        if !ok {
            panic!(
                "WebDriver {method} {path} failed: {} {}",
                reply["value"]["error"], reply["value"]["message"]
            );
        }
        reply["value"].clone()
    }

    /// A command on the session: `path` is relative to `/session/{id}`.
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let session = self.session.as_deref().expect("a session");
        self.raw(method, &format!("/session/{session}{path}"), body)
    }

    fn navigate(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body) in the page and returns its result.
    fn script(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Element ids matching a CSS selector (none is not an error).
    fn find_all(&self, css: &str) -> Vec<String> {
        let found = self.cmd(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The one element matching `css`, waiting for it to appear.
    fn find(&self, css: &str) -> String {
        wait_for(PAGE_TIMEOUT, || self.find_all(css).into_iter().next())
            .unwrap_or_else(|| panic!("no {css} in the page: {}", self.page_state()))
    }

    fn text(&self, element: &str) -> String {
        self.cmd("GET", &format!("/element/{element}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn type_into(&self, element: &str, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn clear(&self, element: &str) {
        self.cmd(
            "POST",
            &format!("/element/{element}/clear"),
            Some(json!({})),
        );
    }

    fn click(&self, element: &str) {
        self.cmd(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    /// Waits until nothing matches `css`.
    fn wait_gone(&self, css: &str) {
        let gone = wait_for(PAGE_TIMEOUT, || self.find_all(css).is_empty().then_some(()));
        assert!(
            gone.is_some(),
            "{css} still in the page after {PAGE_TIMEOUT:?}: {}",
            self.page_state()
        );
    }

    /// Waits until exactly `n` elements match `css`.
    fn wait_count(&self, css: &str, n: usize) {
        let reached = wait_for(PAGE_TIMEOUT, || {
            (self.find_all(css).len() == n).then_some(())
        });
        assert!(
            reached.is_some(),
            "not {n} × {css} after {PAGE_TIMEOUT:?}: {}",
            self.page_state()
        );
    }

    /// Waits until the element's text satisfies `want`; returns that text.
    fn wait_text(&self, css: &str, want: impl Fn(&str) -> bool) -> String {
        wait_for(PAGE_TIMEOUT, || {
            let text = self.text(&self.find(css));
            want(&text).then_some(text)
        })
        .unwrap_or_else(|| panic!("{css} never showed the text wanted: {}", self.page_state()))
    }

    /// What the page shows (its text and error box), for failure messages.
    fn page_state(&self) -> String {
        let state = self.script(
            "return {url: location.href, error: document.getElementById('error')?.textContent, \
             text: document.body ? document.body.innerText : null};",
            json!([]),
        );
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: String = log.lines().rev().take(30).collect::<Vec<_>>().join("\n");
        format!("{state:#}\nchromedriver log (last lines, newest first):\n{tail}")
    }

    fn screenshot(&self) -> Vec<u8> {
        let encoded = self.cmd("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64 screenshot"))
            .expect("screenshot is base64")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let url = format!("{}/session/{session}", self.base);
            let _ = self
                .agent
                .delete(&url)
                .config()
                .timeout_global(Some(Duration::from_secs(20)))
                .build()
                .call();
        }
        let _ = self.child.kill();
        let _ = support::wait_bounded(&mut self.child, Duration::from_secs(10));
    }
}

/// Starts the server with three users: an administrator and two writers.
fn server() -> TestServer {
    let launch = Launch::new();
    let htpasswd: String = [ADMIN, ANA, BOB]
        .iter()
        .map(|(user, password)| format!("{user}:{}\n", bcrypt::hash(password, 4).unwrap()))
        .collect();
    let file = launch.write_file("htpasswd", &htpasswd);
    launch
        .arg("--htpasswd")
        .arg(file)
        .arg("--admins")
        .arg(ADMIN.0)
        .start()
}

#[test]
fn an_admin_breaks_a_lock_in_the_browser_and_writes_work_again() {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        let message = format!(
            "admin_page: {CHROMEDRIVER} or {CHROMIUM} is missing \
             (apt-get install chromium chromium-driver)"
        );
        if required() {
            panic!("{message}, and DEADBOLT_REQUIRE_CHROMIUM is set");
        }
        // Straight to stderr: libtest would swallow eprintln! of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "\n**************** SKIPPED ****************\n{message}\n"
        );
        return;
    }

    let s = server();
    let as_user = |who: (&str, &str), method: &str, path: &str| {
        s.request(method, path)
            .header("Authorization", &basic(who.0, who.1))
    };

    // Ana locks /report.txt over WebDAV; Bob locks a folder of his own.
    assert_eq!(
        as_user(ANA, "PUT", "/report.txt").body("v1").send().status,
        201
    );
    let lock = as_user(ANA, "LOCK", "/report.txt")
        .header("Depth", "0")
        .header("Timeout", "Second-3600")
        .xml(&lockinfo(Scope::Exclusive, Some("Ana")))
        .send();
    assert_eq!(lock.status, 200, "LOCK: {lock:?}");
    let token = lock
        .expect_header("lock-token")
        .trim_matches(['<', '>'])
        .to_owned();
    assert_eq!(as_user(BOB, "MKCOL", "/drafts").send().status, 201);
    let bobs = as_user(BOB, "LOCK", "/drafts/")
        .header("Depth", "infinity")
        .header("Timeout", "Second-600")
        .xml(&lockinfo(
            Scope::Exclusive,
            Some("<D:href>mailto:bob@example.org</D:href>"),
        ))
        .send();
    assert_eq!(bobs.status, 200, "LOCK: {bobs:?}");
    assert_eq!(as_user(ADMIN, "MKCOL", "/releases").send().status, 201);

    // Before: Bob may not write where Ana's lock is.
    let before = as_user(BOB, "PUT", "/report.txt").body("bob's v2").send();
    assert_eq!(before.status, 423, "PUT before the break: {before:?}");
    // The listing users see has the badge.
    let listing = as_user(BOB, "GET", "/").send();
    assert!(
        listing.body.contains("locked by ana since"),
        "lock badge in the listing: {}",
        listing.body
    );

    let browser_dir = tempfile::Builder::new()
        .prefix("deadbolt-chromium-")
        .tempdir()
        .expect("temp dir");
    let profile = browser_dir.path().join("profile");
    let mut driver = Driver::start(browser_dir.path());
    driver.new_session(&profile);

    // Log in: Basic credentials in the URL of the page. Its fetch() calls
    // (resolved against location.origin, which has no credentials) are
    // authenticated from Chromium's HTTP auth cache.
    let (user, password) = ADMIN;
    driver.navigate(&format!("http://{user}:{password}@{}/_deadbolt/", s.addr));

    // Ana's lock, as taken over WebDAV.
    let row_css = format!("tr.lock[data-token=\"{token}\"]");
    driver.find(&row_css);
    let cell = |name: &str| driver.text(&driver.find(&format!("{row_css} td.{name}")));
    assert_eq!(cell("path"), "/report.txt");
    assert_eq!(cell("holder"), "ana");
    assert_eq!(cell("owner"), "Ana");
    assert_eq!(cell("scope"), "exclusive");
    assert_eq!(cell("depth"), "0");
    let client = cell("client");
    assert!(client.starts_with("127.0.0.1:"), "{client}");
    let expires = cell("expires");
    assert!(expires.contains("left"), "{expires}");
    assert_eq!(cell("token"), token);
    driver.wait_count("tr.lock", 2); // Ana's and Bob's

    // Filters: by user, then back to everything.
    driver.type_into(&driver.find("#filter-user"), "ana");
    driver.click(&driver.find("#filter-apply"));
    driver.wait_count("tr.lock", 1);
    driver.find(&row_css);
    driver.click(&driver.find("#filter-clear"));
    driver.wait_count("tr.lock", 2);

    // API errors show in the page.
    driver.type_into(&driver.find("#hold-path"), "/releases");
    driver.type_into(&driver.find("#hold-reason"), "moving to the new NAS");
    driver.type_into(&driver.find("#hold-until"), "soonish");
    driver.click(&driver.find("#hold-submit"));
    let error = driver.wait_text("#error", |t| !t.is_empty());
    assert!(
        error.contains("400") && error.contains("soonish"),
        "{error}"
    );
    assert!(driver.find_all("tr.hold").is_empty());
    for field in ["#hold-path", "#hold-reason", "#hold-until"] {
        driver.clear(&driver.find(field));
    }

    // A maintenance hold, placed with the page's form.
    driver.type_into(&driver.find("#hold-path"), "/releases");
    driver.type_into(&driver.find("#hold-reason"), "moving to the new NAS");
    driver.type_into(&driver.find("#hold-until"), "2h");
    driver.click(&driver.find("#hold-submit"));
    let hold_row = driver.find("tr.hold[data-path=\"/releases\"]");
    let hold_text = driver.text(&hold_row);
    driver.wait_text("#error", str::is_empty);
    assert!(
        hold_text.contains("moving to the new NAS") && hold_text.contains("admin"),
        "{hold_text}"
    );
    let held = as_user(BOB, "PUT", "/releases/x.txt").body("x").send();
    assert_eq!(held.status, 423, "PUT under a hold: {held:?}");

    // The page with two locks and a hold, for docs/admin-page.md.
    let reason = "Ana is on holiday; unblocking the report";
    driver.type_into(&driver.find(&format!("{row_css} input.reason")), reason);
    driver.script("window.scrollTo(0, 0);", json!([]));
    let png = driver.screenshot();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "screenshot is a PNG");
    if std::env::var_os("DEADBOLT_UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/admin-page.png");
        std::fs::write(&docs, &png).expect("write docs/admin-page.png");
    }

    // Break it.
    driver.click(&driver.find(&format!("{row_css} button.break")));
    driver.wait_gone(&row_css);
    let error = driver.text(&driver.find("#error"));
    assert!(error.is_empty(), "the page shows an error: {error}");
    assert_eq!(driver.find_all("tr.lock").len(), 1, "Bob's lock stays");

    // After: Bob's PUT without a token goes through.
    let after = as_user(BOB, "PUT", "/report.txt").body("bob's v2").send();
    assert!(
        (200..300).contains(&after.status),
        "PUT after the break: {after:?}"
    );
    assert_eq!(as_user(BOB, "GET", "/report.txt").send().body, "bob's v2");

    // The audit trail says who broke it and why.
    let history = as_user(ADMIN, "GET", "/_deadbolt/api/history").send();
    assert_eq!(history.status, 200, "{history:?}");
    let history: Value = serde_json::from_str(&history.body).expect("JSON history");
    let broken = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "broken" && e["token"] == token.as_str())
        .unwrap_or_else(|| panic!("no broken event for {token}: {history:#}"));
    assert_eq!(broken["reason"], reason, "{broken:#}");
    assert_eq!(broken["actor"], "admin", "{broken:#}");
    assert_eq!(broken["holder"], "ana", "{broken:#}");
    assert_eq!(broken["path"], "/report.txt", "{broken:#}");

    // Release the hold from the page too.
    driver.click(&driver.find("tr.hold[data-path=\"/releases\"] button.release"));
    driver.wait_gone("tr.hold");
    let released = as_user(BOB, "PUT", "/releases/x.txt").body("x").send();
    assert_eq!(released.status, 201, "PUT after the release: {released:?}");

    // Live: the page follows the lock event stream, so a lock taken
    // elsewhere (here through the lock API) shows without waiting for a
    // poll (every 10 s while the stream is down, every 60 s while it is up).
    driver.wait_text("#status", |t| t.contains("live"));
    let started = Instant::now();
    let taken = as_user(BOB, "POST", "/_deadbolt/api/locks")
        .header("Content-Type", "application/json")
        .body(r#"{"path": "/live.txt", "owner": "Bob's script"}"#)
        .send();
    assert_eq!(taken.status, 201, "lock API: {taken:?}");
    let taken: Value = serde_json::from_str(&taken.body).expect("JSON lock");
    let live_row = format!(
        "tr.lock[data-token=\"{}\"]",
        taken["token"].as_str().expect("token")
    );
    driver.find(&live_row);
    let shown = started.elapsed();
    assert!(shown < LIVE_BOUND, "the new lock took {shown:?} to show");
    let gone = as_user(
        BOB,
        "DELETE",
        &format!(
            "/_deadbolt/api/locks/{}",
            taken["token"].as_str().unwrap_or_default()
        ),
    )
    .send();
    assert_eq!(gone.status, 204, "{gone:?}");
    driver.wait_gone(&live_row);
}
