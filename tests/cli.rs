//! The command line: help, flags / DEADBOLT_* env vars / TOML config and their
//! precedence (flag > env > file > default), start-up failures, SIGTERM.
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{ALLPROP, Launch, TestServer, toml_path};

const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// PROPFIND / with Depth: infinity: 207 when allowed, 403 when refused.
fn depth_infinity_status(s: &TestServer) -> u16 {
    s.propfind("/", "infinity", Some(ALLPROP)).status
}

/// A PROPFIND body of a bit more than 2 KiB.
fn big_propfind() -> String {
    let padding: String = (0..100)
        .map(|i| format!("<Z:pad{i} xmlns:Z=\"urn:x\"/>"))
        .collect();
    format!(
        r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>{padding}</D:prop></D:propfind>"#
    )
}

#[test]
fn help_mentions_serve() {
    let (status, out, err) = Launch::bare().arg("--help").run_to_exit(EXIT_TIMEOUT);
    assert!(status.success(), "--help exit {status:?}; stderr: {err}");
    assert!(out.contains("serve"), "--help output: {out}");
}

#[test]
fn serve_help_lists_every_flag() {
    let (status, out, err) = Launch::bare()
        .args(&["serve", "--help"])
        .run_to_exit(EXIT_TIMEOUT);
    assert!(
        status.success(),
        "serve --help exit {status:?}; stderr: {err}"
    );
    for flag in [
        "--listen",
        "--state-dir",
        "--config",
        "--allow-depth-infinity",
        "--max-xml-body",
    ] {
        assert!(out.contains(flag), "serve --help lacks {flag}: {out}");
    }
    assert!(
        out.contains("DEADBOLT_LISTEN"),
        "help should name the env vars: {out}"
    );
}

#[test]
fn first_stdout_line_is_the_url_and_logs_go_to_stderr() {
    let s = TestServer::start();
    let out = s.stdout();
    let first = out.lines().next().unwrap();
    assert_eq!(first, format!("deadbolt listening on {}/", s.base));
    assert_eq!(s.request("OPTIONS", "/").send().status, 200);
}

#[test]
fn depth_infinity_is_refused_by_default() {
    let s = TestServer::start();
    assert_eq!(depth_infinity_status(&s), 403);
}

#[test]
fn env_var_allows_depth_infinity() {
    let s = Launch::new()
        .env("DEADBOLT_ALLOW_DEPTH_INFINITY", "true")
        .start();
    assert_eq!(depth_infinity_status(&s), 207);
}

#[test]
fn config_file_allows_depth_infinity() {
    let launch = Launch::new();
    let cfg = launch.write_file("deadbolt.toml", "allow_depth_infinity = true\n");
    let s = launch.arg("--config").arg(cfg).start();
    assert_eq!(depth_infinity_status(&s), 207);
}

#[test]
fn env_overrides_config_file() {
    let launch = Launch::new();
    let cfg = launch.write_file("deadbolt.toml", "allow_depth_infinity = true\n");
    let s = launch
        .arg("--config")
        .arg(cfg)
        .env("DEADBOLT_ALLOW_DEPTH_INFINITY", "false")
        .start();
    assert_eq!(
        depth_infinity_status(&s),
        403,
        "env false must beat file true"
    );
}

#[test]
fn flag_overrides_env() {
    let s = Launch::new()
        .arg("--allow-depth-infinity")
        .env("DEADBOLT_ALLOW_DEPTH_INFINITY", "false")
        .start();
    assert_eq!(depth_infinity_status(&s), 207, "flag must beat env false");
}

#[test]
fn max_xml_body_flag_beats_env_and_file() {
    let launch = Launch::new();
    let cfg = launch.write_file("deadbolt.toml", "max_xml_body = 1000000\n");
    let s = launch
        .args(&["--max-xml-body", "1024", "--config"])
        .arg(cfg)
        .env("DEADBOLT_MAX_XML_BODY", "1000000")
        .start();
    let r = s.propfind("/", "0", Some(&big_propfind()));
    assert_eq!(r.status, 413, "{r:?}");
}

#[test]
fn max_xml_body_from_env_and_from_file() {
    let s = Launch::new().env("DEADBOLT_MAX_XML_BODY", "1024").start();
    assert_eq!(
        s.propfind("/", "0", Some(&big_propfind())).status,
        413,
        "env"
    );
    drop(s);
    let launch = Launch::new();
    let cfg = launch.write_file("deadbolt.toml", "max_xml_body = 1024\n");
    let s = launch.arg("--config").arg(cfg).start();
    assert_eq!(
        s.propfind("/", "0", Some(&big_propfind())).status,
        413,
        "file"
    );
    assert_eq!(
        s.propfind("/", "0", Some(ALLPROP)).status,
        207,
        "small body"
    );
}

#[test]
fn listen_and_state_dir_from_env() {
    let launch = Launch::bare();
    let root = launch.tmp().join("root");
    let state = launch.tmp().join("envstate");
    let s = launch
        .arg("serve")
        .arg(&root)
        .env("DEADBOLT_LISTEN", "127.0.0.1:0")
        .env("DEADBOLT_STATE_DIR", &state)
        .start();
    assert_eq!(s.put("/a.txt", "a").status, 201);
    assert_eq!(
        s.proppatch("/a.txt", &support::proppatch_set("urn:x", "p", "1"))
            .status,
        207
    );
    assert!(state.is_dir(), "DEADBOLT_STATE_DIR not used");
    assert!(
        std::fs::read_dir(&state).unwrap().count() > 0,
        "state dir empty"
    );
    assert!(
        !root.join(".deadbolt").exists(),
        "default state dir used instead"
    );
}

#[test]
fn root_listen_and_state_dir_from_config_file() {
    let launch = Launch::bare();
    let root = launch.tmp().join("cfgroot");
    let state = launch.tmp().join("cfgstate");
    let cfg = launch.write_file(
        "deadbolt.toml",
        &format!(
            "root = {}\nlisten = \"127.0.0.1:0\"\nstate_dir = {}\n",
            toml_path(&root),
            toml_path(&state)
        ),
    );
    let s = launch.arg("serve").arg("--config").arg(cfg).start();
    assert_eq!(s.put("/from-config.txt", "c").status, 201);
    assert!(
        root.join("from-config.txt").is_file(),
        "root from the config file not served"
    );
    assert_eq!(
        s.proppatch(
            "/from-config.txt",
            &support::proppatch_set("urn:x", "p", "1")
        )
        .status,
        207
    );
    assert!(state.is_dir(), "state_dir from the config file not used");
}

#[test]
fn missing_root_dir_is_created() {
    let launch = Launch::bare();
    let root = launch.tmp().join("not/yet/there");
    let state = launch.tmp().join("state");
    let s = launch
        .arg("serve")
        .arg(&root)
        .args(&["--listen", "127.0.0.1:0", "--state-dir"])
        .arg(&state)
        .start();
    assert!(root.is_dir());
    assert_eq!(s.put("/x.txt", "x").status, 201);
    assert!(root.join("x.txt").is_file());
}

#[test]
fn sigterm_exits_with_status_0() {
    let mut s = TestServer::start();
    assert_eq!(s.put("/a.txt", "a").status, 201);
    let status = s.terminate();
    assert!(
        status.success(),
        "exit after SIGTERM: {status:?}; stderr:\n{}",
        s.stderr()
    );
}

#[test]
fn sigterm_right_after_the_url_is_printed_exits_0() {
    // The contract: once the first line is out, SIGTERM means drain and exit 0, so the
    // handler must be installed before the URL is announced.
    for _ in 0..10 {
        let mut s = TestServer::start();
        let status = s.terminate();
        assert!(
            status.success(),
            "exit after SIGTERM: {status:?}; stderr:\n{}",
            s.stderr()
        );
    }
}

#[test]
fn sigterm_with_an_idle_connection_open_still_exits_0_promptly() {
    // The drain must be bounded: an idle keep-alive connection cannot hold it forever.
    let mut s = TestServer::start();
    let mut idle = TcpStream::connect(&s.addr).unwrap();
    write!(idle, "OPTIONS / HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr).unwrap();
    let mut silent = TcpStream::connect(&s.addr).unwrap();
    silent.flush().unwrap();
    let started = std::time::Instant::now();
    let status = s.terminate();
    assert!(
        status.success(),
        "exit after SIGTERM: {status:?}; stderr:\n{}",
        s.stderr()
    );
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "drain took {:?}",
        started.elapsed()
    );
}

#[test]
fn sigterm_does_not_wait_for_a_client_that_keeps_its_connection_open() {
    // A closing connection lingers (reads what the client still sends, up
    // to 5 s) so that an early answer is not lost to a reset; a stopping
    // server does not linger for a client that is merely idle.
    let mut s = TestServer::start();
    let mut idle = TcpStream::connect(&s.addr).unwrap();
    write!(idle, "OPTIONS / HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr).unwrap();
    let mut answer = [0u8; 512];
    assert!(idle.read(&mut answer).unwrap() > 0, "OPTIONS answered");
    let started = std::time::Instant::now();
    let status = s.terminate();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the stop waited {:?} for an idle client",
        started.elapsed()
    );
}

#[test]
fn invalid_config_file_fails_with_a_message() {
    for (name, content) in [
        ("syntax.toml", "this is = = not toml\n"),
        ("type.toml", "allow_depth_infinity = \"maybe\"\n"),
        ("number.toml", "max_xml_body = \"lots\"\n"),
    ] {
        let launch = Launch::new();
        let cfg = launch.write_file(name, content);
        let (status, out, err) = launch.arg("--config").arg(cfg).run_to_exit(EXIT_TIMEOUT);
        assert!(!status.success(), "{name}: exit {status:?}");
        assert!(!err.trim().is_empty(), "{name}: nothing on stderr");
        assert!(!out.contains("listening"), "{name}: started anyway: {out}");
    }
}

#[test]
fn missing_config_file_fails_with_a_message() {
    let launch = Launch::new();
    let cfg = launch.tmp().join("does-not-exist.toml");
    let (status, out, err) = launch.arg("--config").arg(cfg).run_to_exit(EXIT_TIMEOUT);
    assert!(!status.success(), "exit {status:?}");
    assert!(
        err.contains("does-not-exist.toml"),
        "stderr should name the file: {err}"
    );
    assert!(!out.contains("listening"));
}

#[test]
fn invalid_flag_values_fail_with_a_message() {
    for (what, launch) in [
        (
            "--listen",
            Launch::bare().args(&["serve", "root", "--listen", "not-an-address"]),
        ),
        (
            "--max-xml-body",
            Launch::new().args(&["--max-xml-body", "lots"]),
        ),
        (
            "DEADBOLT_MAX_XML_BODY",
            Launch::new().env("DEADBOLT_MAX_XML_BODY", "lots"),
        ),
    ] {
        let (status, out, err) = launch.run_to_exit(EXIT_TIMEOUT);
        assert!(!status.success(), "{what}: exit {status:?}");
        assert!(!err.trim().is_empty(), "{what}: nothing on stderr");
        assert!(!out.contains("listening"), "{what}: started anyway");
    }
}

#[test]
fn a_clean_start_logs_no_errors() {
    // Opening the state store must not race with itself ("database is locked").
    for _ in 0..8 {
        let mut s = TestServer::start();
        assert_eq!(s.request("OPTIONS", "/").send().status, 200);
        let _ = s.terminate();
        let err = s.stderr();
        assert!(
            !err.lines().any(|l| l.contains("ERROR")),
            "ERROR logged on a clean start:\n{err}"
        );
    }
}
