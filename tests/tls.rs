//! HTTPS with rustls (issue 4, item 1): `--tls-cert` and `--tls-key` serve
//! WebDAV over TLS; a plain-HTTP client gets nothing. Uses the system's
//! `openssl` (to make a certificate) and `curl` (a TLS client); skipped
//! loudly when they are missing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn make_certificate(dir: &Path) {
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl could not make a certificate");
}

/// `curl` against the server; returns (HTTP status, body).
fn curl(cert: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", "-w", "\n%{http_code}", "--cacert"])
        .arg(cert)
        .args(args)
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (status.to_owned(), body.to_owned())
}

#[test]
fn webdav_over_https_with_rustls() {
    if !have("openssl") || !have("curl") {
        eprintln!("SKIPPED: webdav_over_https_with_rustls needs openssl and curl");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    make_certificate(dir.path());
    let cert = dir.path().join("cert.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_deadbolt"))
        .arg("serve")
        .arg(dir.path().join("root"))
        .args(["--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(dir.path().join("key.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start deadbolt");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let url = line
        .trim()
        .strip_prefix("deadbolt listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let file = dir.path().join("upload.txt");
    std::fs::write(&file, "over TLS").expect("write upload");
    let (status, _) = curl(
        &cert,
        &[
            "-T",
            file.to_str().expect("utf-8 path"),
            &format!("{url}a.txt"),
        ],
    );
    assert_eq!(status, "201");
    let (status, body) = curl(&cert, &[&format!("{url}a.txt")]);
    assert_eq!((status.as_str(), body.as_str()), ("200", "over TLS"));
    let (status, body) = curl(&cert, &["-X", "PROPFIND", "-H", "Depth: 1", &url]);
    assert_eq!(status, "207");
    assert!(body.contains("/a.txt</D:href>"), "{body}");

    // Plain HTTP to the TLS port is not served.
    let plain = url.replacen("https://", "http://", 1);
    let (status, _) = curl(&cert, &[&format!("{plain}a.txt")]);
    assert_eq!(status, "000", "plain HTTP must not be answered");
    drop(server);
}

#[test]
fn tls_cert_without_key_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_deadbolt"))
        .arg("serve")
        .arg(dir.path().join("root"))
        .args(["--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent.pem"])
        .output()
        .expect("run deadbolt");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--tls-cert and --tls-key go together"),
        "{stderr}"
    );
}
