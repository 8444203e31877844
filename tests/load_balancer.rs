//! The deployment of docs/deployment.md, for real: two nodes on one
//! PostgreSQL database and one directory behind nginx running
//! `deploy/nginx.conf`. Clients that only ever talk to nginx, whichever
//! node answers, see one server; when a node dies, nginx sends the next
//! requests to the other and no acknowledged lock is lost.
//!
//! Skipped loudly without nginx, a failure instead when
//! DEADBOLT_REQUIRE_NGINX is set (CI sets it).
mod support;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::lock::*;
use support::pg::PgCluster;
use support::process::{kill_9, together};
use support::{Launch, Response, TestServer, poll};

fn find_nginx() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
}

/// nginx in the foreground with `deploy/nginx.conf`, its placeholders
/// filled in; killed when dropped.
struct Nginx {
    child: Child,
    _prefix: tempfile::TempDir,
    addr: String,
}

impl Nginx {
    fn start(binary: &Path, nodes: &[&TestServer]) -> Self {
        let prefix = tempfile::Builder::new()
            .prefix("deadbolt-nginx-")
            .tempdir()
            .expect("temp dir");
        // The workers may run as another user: let them use the prefix.
        Command::new("chmod")
            .args(["777"])
            .arg(prefix.path())
            .status()
            .expect("chmod");
        let addr = format!("127.0.0.1:{}", support::free_port());
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx.conf"),
        )
        .expect("deploy/nginx.conf");
        let upstreams: Vec<String> = nodes
            .iter()
            .map(|n| format!("server {};", n.addr))
            .collect();
        let config = template
            .replace("@PREFIX@", &prefix.path().display().to_string())
            .replace("@LISTEN@", &addr)
            .replace("@NODES@", &upstreams.join("\n        "));
        let file = prefix.path().join("nginx.conf");
        std::fs::write(&file, config).expect("write nginx.conf");
        let child = Command::new(binary)
            .arg("-p")
            .arg(prefix.path())
            .arg("-c")
            .arg(&file)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn nginx");
        let up = poll(Duration::from_secs(20), Duration::from_millis(50), || {
            TcpStream::connect(&addr).ok().map(|_| ())
        });
        assert!(up.is_some(), "nginx did not start listening on {addr}");
        Self {
            child,
            _prefix: prefix,
            addr,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers before it exits (SIGKILL
        // would leave them behind).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        if support::wait_bounded(&mut self.child, Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How many requests a node has logged (one line per request).
fn requests_served(node: &TestServer) -> usize {
    node.stderr()
        .lines()
        .filter(|l| l.contains(" request"))
        .count()
}

#[test]
fn two_nodes_behind_nginx_act_as_one_server() {
    let Some(binary) = find_nginx() else {
        assert!(
            std::env::var_os("DEADBOLT_REQUIRE_NGINX").is_none(),
            "DEADBOLT_REQUIRE_NGINX is set but nginx is not installed"
        );
        eprintln!(
            "SKIPPED: nginx not installed (apt-get install nginx): load balancer test did NOT run"
        );
        return;
    };
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let database = cluster.new_database();
    let a = Launch::new().args(&["--database", &database]).start();
    let b = Launch::bare()
        .arg("serve")
        .arg(a.root())
        .args(&["--listen", "127.0.0.1:0", "--database", &database])
        .start();
    let nginx = Nginx::start(&binary, &[&a, &b]);
    let lb = TestServer::at(&nginx.addr);

    assert_eq!(put(&lb, "/plan.odt", "v1").status, 201);
    let token = lock_ok(&lb, "/plan.odt", Scope::Exclusive, "0");
    // Whichever node nginx picks, the lock holds and the token works.
    for round in 0..6 {
        assert_lock_token_submitted(&put(&lb, "/plan.odt", "sneaky"), "/plan.odt");
        let with_token = put_with_token(&lb, "/plan.odt", &format!("v{round}"), &token);
        assert_eq!(with_token.status, 204, "{with_token:?}");
    }
    // COPY names its Destination by the address the client used.
    let copy = lb.copy_move("COPY", "/plan.odt", "/copy.odt", &[]);
    assert_eq!(copy.status, 201, "{copy:?}");
    // Racing clients through nginx get one lock.
    assert_eq!(put(&lb, "/race.txt", "r").status, 201);
    let answers = together(16, |_| bare_lock(&lb, "/race.txt", Scope::Exclusive, "0"));
    let granted: Vec<&Response> = answers.iter().filter(|r| r.status == 200).collect();
    assert_eq!(granted.len(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|r| r.status == 423).count(), 15);
    assert!(
        requests_served(&a) > 0 && requests_served(&b) > 0,
        "nginx used both nodes ({} and {} requests)",
        requests_served(&a),
        requests_served(&b)
    );

    // Node A dies: nginx sends the next requests to B, and A's locks hold.
    // nginx learns of the death from a failed attempt: a GET it repeats on
    // B. A streamed PUT sent first on a kept-alive connection to A could
    // not be repeated and would get 502 (docs/deployment.md).
    kill_9(&a);
    for _ in 0..4 {
        assert_eq!(lb.get("/plan.odt").status, 200);
    }
    for _ in 0..4 {
        assert_lock_token_submitted(&put(&lb, "/plan.odt", "sneaky"), "/plan.odt");
    }
    assert_eq!(
        put_with_token(&lb, "/plan.odt", "after", &token).status,
        204
    );
    assert_eq!(unlock(&lb, "/plan.odt", &token).status, 204);
    assert_eq!(put(&lb, "/plan.odt", "free").status, 204);
    assert_eq!(lb.get("/plan.odt").body, "free");
}
