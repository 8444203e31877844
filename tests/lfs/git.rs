//! The real `git lfs` client, in working copies of their own: each has its
//! own HOME (so nothing touches this machine's git configuration), its user's
//! credentials in a `credential.helper store` file, and
//! `lfs.url = <server>/_deadbolt/lfs/<repository>`.
//!
//! Without git-lfs the tests say SKIPPED and pass, unless
//! `DEADBOLT_REQUIRE_GIT_LFS` is set (CI sets it), which makes them fail.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::users::password;
use crate::support::{TestServer, temp_dir, wait_bounded};

/// How long one git command may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether `git lfs` can run here. Missing: panics when it is required,
/// else prints why the calling test is skipped.
pub fn available(test: &str) -> bool {
    let works = Command::new("git")
        .args(["lfs", "version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        let message = "git-lfs is not installed (Debian: apt-get install git-lfs)";
        if std::env::var_os("DEADBOLT_REQUIRE_GIT_LFS").is_some_and(|v| !v.is_empty() && v != "0") {
            panic!("{message}, and DEADBOLT_REQUIRE_GIT_LFS is set");
        }
        eprintln!("SKIPPED {test}: {message}");
    }
    works
}

/// What a git command printed, and how it ended.
#[derive(Debug)]
pub struct GitOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// One user's clone of a repository whose LFS locks live on the server.
pub struct WorkingCopy {
    _dir: tempfile::TempDir,
    home: PathBuf,
    repo: PathBuf,
}

/// Files every working copy has committed; `*.psd` is lockable.
pub const FILES: &[&str] = &["assets/hero.psd", "assets/villain.psd", "assets/map.psd"];

impl WorkingCopy {
    /// A fresh repository for `user`, its LFS server the locks of
    /// `repository` (like `projects/game`) on `s`.
    pub fn new(s: &TestServer, user: &str, repository: &str) -> Self {
        let dir = temp_dir("deadbolt-lfs-");
        let home = dir.path().join("home");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&home).expect("create HOME");
        std::fs::create_dir_all(repo.join("assets")).expect("create the working copy");
        let credentials = dir.path().join("credentials");
        let store = format!("http://{user}:{}@{}\n", password(user), s.addr);
        std::fs::write(&credentials, store).expect("write the credentials");
        let wc = Self {
            _dir: dir,
            home,
            repo,
        };
        let helper = format!("store --file={}", credentials.display());
        let lfs_url = format!("{}/_deadbolt/lfs/{repository}", s.base);
        wc.ok(&["init", "-q", "-b", "main"]);
        wc.ok(&["lfs", "install", "--local"]);
        for (key, value) in [
            ("lfs.url", lfs_url.as_str()),
            ("lfs.locksverify", "true"),
            ("credential.helper", helper.as_str()),
            ("user.name", user),
            ("user.email", &format!("{user}@example.org")),
        ] {
            wc.ok(&["config", key, value]);
        }
        wc.ok(&["lfs", "track", "--lockable", "*.psd"]);
        for file in FILES {
            std::fs::write(wc.repo.join(file), format!("{file} by {user}\n")).expect("write");
        }
        wc.ok(&["add", "."]);
        wc.ok(&["commit", "-q", "-m", "assets"]);
        wc
    }

    pub fn dir(&self) -> &Path {
        &self.repo
    }

    /// `git ARGS...` in the working copy, bounded in time.
    pub fn git(&self, args: &[&str]) -> GitOutput {
        let mut command = Command::new("git");
        command
            .args(args)
            .current_dir(&self.repo)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Nothing from the machine or the developer's shell: no system or
        // global config, no prompts, no variables pointing git elsewhere.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("GIT_") {
                command.env_remove(key);
            }
        }
        command
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C");
        let mut child = command.spawn().expect("run git");
        let mut out_pipe = child.stdout.take().expect("stdout");
        let mut err_pipe = child.stderr.take().expect("stderr");
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out_pipe.read_to_string(&mut s);
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err_pipe.read_to_string(&mut s);
            s
        });
        let status = wait_bounded(&mut child, GIT_TIMEOUT);
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let output = GitOutput {
            success: status.is_some_and(|s| s.success()),
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        };
        assert!(
            status.is_some(),
            "git {args:?} did not finish within {GIT_TIMEOUT:?}: {output:#?}"
        );
        output
    }

    /// `git ARGS...`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.git(args);
        assert!(out.success, "git {args:?} must succeed: {out:#?}");
        out.stdout
    }

    /// `git ARGS...`, which must fail; what it printed (stderr, then stdout).
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.git(args);
        assert!(!out.success, "git {args:?} must fail: {out:#?}");
        format!("{}{}", out.stderr, out.stdout)
    }
}
