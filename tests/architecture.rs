//! The dependency rule of shared/design.md, checked on the source text: the
//! lock core and the request parsers stay pure (no async runtime, no HTTP
//! server, no database, no filesystem, no clock), so their decisions are
//! deterministic and testable with an injected `now`.

use std::fs;
use std::path::{Path, PathBuf};

const FORBIDDEN: &[&str] = &[
    "tokio",
    "hyper",
    "rusqlite",
    "r2d2",
    "std::fs",
    "SystemTime::now",
    "Instant::now",
    "crate::store",
    "crate::dav",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn violations(files: &[PathBuf], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = fs::read_to_string(file).expect("readable source file");
        for (n, line) in text.lines().enumerate() {
            for word in forbidden {
                if line.contains(word) {
                    found.push(format!(
                        "{}:{}: uses `{word}`: {}",
                        file.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn the_lock_core_is_pure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/locks"), &mut files);
    assert!(
        files.len() >= 4,
        "expected the lock core's files, found {files:?}"
    );
    let found = violations(&files, FORBIDDEN);
    assert!(
        found.is_empty(),
        "the lock core must stay pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_request_parsers_are_pure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = ["headers.rs", "if_header.rs", "path.rs", "conditional.rs"]
        .iter()
        .map(|f| root.join("src/dav").join(f))
        .collect();
    rust_files(&root.join("src/dav/xml"), &mut files);
    // Parsers may use the DAV layer's error and path types and the store's
    // data types (PropertyName, Meta); no runtime, server, database or clock.
    let forbidden: Vec<&str> = FORBIDDEN
        .iter()
        .copied()
        .filter(|w| !matches!(*w, "crate::dav" | "crate::store"))
        .collect();
    let found = violations(&files, &forbidden);
    assert!(
        found.is_empty(),
        "the parsers must stay pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checker_notices_a_violation() {
    // Guards the guard: a file that reads the clock is reported.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("impure.rs");
    fs::write(
        &file,
        "fn now() { let _ = std::time::SystemTime::now(); }\n",
    )
    .expect("write");
    assert_eq!(violations(&[file], FORBIDDEN).len(), 1);
}
