//! The house rules of docs/architecture.md, checked on the source text:
//! - the lock core and the request parsers stay pure (no async runtime, no
//!   HTTP server, no database, no filesystem, no clock);
//! - dependencies between top-level modules point one way (`LAYERS`);
//! - no source file takes part in an import cycle;
//! - nothing but the lock authority and the stores writes the lock table.
//!
//! Dependencies are read from `use` statements (braces expanded) and from
//! `crate::` paths anywhere in the code. `pub use` re-exports are namespace
//! plumbing, not dependencies, and are not counted.

use std::collections::{BTreeMap, BTreeSet};
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
    "Mutex",
];

/// Which top-level modules each module may use. `authority::permit` (the
/// `WritePermit` type, a leaf) is apart from the rest of the authority:
/// the stores demand permits, the authority uses the stores.
const LAYERS: &[(&str, &[&str])] = &[
    ("locks", &[]),
    ("cli", &[]),
    ("tls", &[]),
    ("fragment_guard", &[]),
    ("systemd", &[]),
    ("logging", &["cli"]),
    ("web", &["locks"]),
    ("auth", &["locks"]),
    ("authority::permit", &["locks"]),
    ("store", &["locks", "authority::permit"]),
    ("metrics", &["store"]),
    ("config", &["cli", "locks", "store"]),
    (
        "authority",
        &["locks", "store", "auth", "authority::permit"],
    ),
    (
        "dav",
        &[
            "locks",
            "store",
            "authority",
            "authority::permit",
            "auth",
            "web",
        ],
    ),
    (
        "admin",
        &[
            "locks",
            "store",
            "authority",
            "auth",
            "web",
            "metrics",
            "cli",
            "config",
        ],
    ),
    ("lfs", &["locks", "store", "authority", "auth", "web"]),
    ("lockapi", &["locks", "store", "authority", "auth", "web"]),
    (
        "app",
        &[
            "admin",
            "auth",
            "authority",
            "config",
            "dav",
            "lfs",
            "lockapi",
            "locks",
            "metrics",
            "store",
            "web",
        ],
    ),
    ("connection", &["fragment_guard"]),
    (
        "server",
        &[
            "app",
            "config",
            "connection",
            "fragment_guard",
            "systemd",
            "tls",
            "web",
        ],
    ),
];

/// Calls and statements that change the lock table: only `src/authority/`
/// (the lock authority) and `src/store/` (the engines) may contain them.
const LOCK_TABLE_WRITES: &[&str] = &[
    ".transact(",
    ".renew_latches(",
    ".release_latch(",
    ".remove_expired(",
    ".prune_history(",
    "INSERT INTO active_lock",
    "INSERT INTO hold",
    "INSERT OR REPLACE INTO hold",
    "INTO latch.write_latch",
    "INSERT INTO lock_event",
    "DELETE FROM active_lock",
    "DELETE FROM hold",
    "FROM latch.write_latch",
    "DELETE FROM lock_event",
    "UPDATE active_lock",
    "UPDATE latch.write_latch",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

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

/// The text of a file without its comments (line comments and doc
/// comments) and without its inline test module (`#[cfg(test)] mod x {`,
/// by convention at the end): tests may reach anywhere.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) if text[at..].lines().nth(1).is_some_and(|l| l.ends_with('{')) => &text[..at],
        _ => text,
    };
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                ""
            } else if let Some(at) = line.find(" //") {
                &line[..at]
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
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

/// The module path of a source file: `src/dav/xml/render.rs` is
/// `dav::xml::render`, `src/dav/mod.rs` is `dav`, `src/lib.rs` is the crate.
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(root).expect("file below src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    match last.as_str() {
        "mod.rs" | "lib.rs" | "main.rs" => {}
        name => parts.push(name.trim_end_matches(".rs").to_owned()),
    }
    parts
}

/// The file that defines module `path`, if there is one.
fn file_of(root: &Path, path: &[String]) -> Option<PathBuf> {
    if path.is_empty() {
        return Some(root.join("lib.rs"));
    }
    let joined: PathBuf = path.iter().collect();
    let as_file = root.join(&joined).with_extension("rs");
    if as_file.is_file() {
        return Some(as_file);
    }
    let as_dir = root.join(&joined).join("mod.rs");
    as_dir.is_file().then_some(as_dir)
}

/// Expands a use tree (`a::{b, c::{d, e}}`) into plain paths.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let plain = tree.split(" as ").next().unwrap_or("").trim();
        return vec![plain.to_owned()];
    };
    let prefix = tree[..open].trim().trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|item| !item.trim().is_empty())
        .flat_map(expand)
        .map(|item| match item.as_str() {
            "self" => prefix.to_owned(),
            _ if prefix.is_empty() => item,
            _ => format!("{prefix}::{item}"),
        })
        .collect()
}

/// The paths a file uses: its `use` statements (not `pub use`) and every
/// `crate::` path in its code.
fn used_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = &rest[..at];
        let starts_statement = before.is_empty()
            || before.ends_with(|c: char| c.is_whitespace() || c == ';' || c == '{' || c == '}');
        let public = before.trim_end().ends_with("pub") || before.trim_end().ends_with(')');
        let after = &rest[at + 4..];
        let end = after.find(';').unwrap_or(after.len());
        let tree = &after[..end];
        // A use tree has only path characters; anything else is prose.
        let is_tree = tree
            .chars()
            .all(|c| c.is_alphanumeric() || "_:{},* \n\t".contains(c))
            && tree.matches('{').count() == tree.matches('}').count();
        if starts_statement && !public && is_tree {
            paths.extend(expand(tree));
        }
        rest = &after[end.min(after.len())..];
    }
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let tail: String = rest[at..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        paths.push(tail.trim_end_matches(':').to_owned());
        rest = &rest[at + 7..];
    }
    paths
}

/// The module a path used from `module` leads to (`None`: another crate).
fn resolve(root: &Path, module: &[String], path: &str) -> Option<Vec<String>> {
    let segments: Vec<String> = path
        .split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "*")
        .map(str::to_owned)
        .collect();
    let first = segments.first()?;
    // `super` of `a/b.rs` and of `a/b/mod.rs` is `a`.
    let mut absolute: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "self" => module.to_vec(),
        "super" => module[..module.len().saturating_sub(1)].to_vec(),
        _ => {
            let mut child = module.to_vec();
            child.push(first.clone());
            file_of(root, &child)?;
            module.to_vec()
        }
    };
    let mut iter = segments.iter().peekable();
    if matches!(first.as_str(), "crate" | "self" | "super") {
        iter.next();
    }
    while iter.peek().is_some_and(|s| *s == "super") {
        iter.next();
        absolute.pop();
    }
    absolute.extend(iter.cloned());
    // The longest prefix that is a module with a file of its own.
    (0..=absolute.len())
        .rev()
        .map(|n| absolute[..n].to_vec())
        .find(|prefix| file_of(root, prefix).is_some())
}

/// The layer a module belongs to.
fn layer(module: &[String]) -> String {
    match module {
        [top, sub, ..] if top == "authority" && sub == "permit" => "authority::permit".into(),
        [top, ..] => top.clone(),
        [] => "crate".into(),
    }
}

/// Every file's dependencies on other modules: (file module, used module).
fn dependencies(root: &Path, files: &[PathBuf]) -> BTreeSet<(Vec<String>, Vec<String>)> {
    let mut edges = BTreeSet::new();
    for file in files {
        let module = module_of(root, file);
        let text = code(&fs::read_to_string(file).expect("readable source file"));
        for path in used_paths(&text) {
            if let Some(target) = resolve(root, &module, &path) {
                if target != module && !target.is_empty() {
                    edges.insert((module.clone(), target));
                }
            }
        }
    }
    edges
}

fn layer_violations(edges: &BTreeSet<(Vec<String>, Vec<String>)>) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut found = Vec::new();
    for (from, to) in edges {
        let (from_layer, to_layer) = (layer(from), layer(to));
        if from_layer == to_layer || from.is_empty() {
            continue;
        }
        match allowed.get(from_layer.as_str()) {
            None => found.push(format!("module `{from_layer}` is not in LAYERS")),
            Some(ok) if !ok.contains(&to_layer.as_str()) => found.push(format!(
                "{} uses {} (`{from_layer}` may use only {ok:?})",
                from.join("::"),
                to.join("::")
            )),
            Some(_) => {}
        }
    }
    found
}

/// Import cycles between files, each as the list of modules around it.
fn cycles(edges: &BTreeSet<(Vec<String>, Vec<String>)>) -> Vec<String> {
    let mut graph: BTreeMap<&Vec<String>, Vec<&Vec<String>>> = BTreeMap::new();
    for (from, to) in edges {
        graph.entry(from).or_default().push(to);
    }
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        // Depth-first search for a path back to `start`.
        let mut stack: Vec<(&Vec<String>, Vec<&Vec<String>>)> = vec![(start, vec![start])];
        let mut seen = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            for next in graph.get(node).into_iter().flatten() {
                if next == start {
                    let mut cycle: Vec<String> = path.iter().map(|m| m.join("::")).collect();
                    let smallest = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap_or(0);
                    cycle.rotate_left(smallest);
                    found.insert(cycle.join(" -> "));
                } else if seen.insert(*next) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
    }
    found.into_iter().collect()
}

fn all_sources() -> (PathBuf, Vec<PathBuf>) {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.retain(|f| !f.ends_with("main.rs"));
    (root, files)
}

#[test]
fn the_lock_core_is_pure() {
    let mut files = Vec::new();
    rust_files(&src().join("locks"), &mut files);
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
    let root = src();
    let mut files: Vec<PathBuf> = [
        "dav/headers.rs",
        "dav/if_header.rs",
        "dav/conditional.rs",
        "web/path.rs",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect();
    rust_files(&root.join("dav/xml"), &mut files);
    // Parsers may use the DAV layer's error types and the store's data
    // types (PropertyName, Meta); no runtime, server, database or clock.
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
fn dependencies_point_one_way() {
    let (root, files) = all_sources();
    let edges = dependencies(&root, &files);
    assert!(
        edges.len() > 100,
        "the checker found too few dependencies to be reading the code: {}",
        edges.len()
    );
    let found = layer_violations(&edges);
    assert!(
        found.is_empty(),
        "dependencies must follow LAYERS:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_file_takes_part_in_an_import_cycle() {
    let (root, files) = all_sources();
    let found = cycles(&dependencies(&root, &files));
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn only_the_authority_and_the_stores_write_the_lock_table() {
    let (root, mut files) = all_sources();
    files.retain(|f| !f.starts_with(root.join("authority")) && !f.starts_with(root.join("store")));
    let texts: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|f| {
            let text = code(&fs::read_to_string(&f).expect("readable"));
            (f, text)
        })
        .collect();
    let mut found = Vec::new();
    for (file, text) in &texts {
        for write in LOCK_TABLE_WRITES {
            if text.contains(write) {
                found.push(format!("{}: `{write}`", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "lock-table writes outside the authority and the stores:\n{}",
        found.join("\n")
    );
}

/// Guards the guards: each checker reports a planted violation.
#[test]
fn the_checkers_notice_violations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, text).expect("write");
        path
    };
    let impure = write(
        "locks/impure.rs",
        "fn now() { let _ = std::time::SystemTime::now(); }\n",
    );
    assert_eq!(violations(&[impure], FORBIDDEN).len(), 1);

    let files = vec![
        write("lib.rs", "pub mod locks;\npub mod dav;\n"),
        write(
            "locks/mod.rs",
            "use crate::dav::{error::DavError, Thing};\n",
        ),
        write(
            "dav/mod.rs",
            "pub mod error;\npub use self::error::DavError;\n",
        ),
        write("dav/error.rs", "use super::render;\n"),
        write("dav/render.rs", "use super::error::{self, Precondition};\n"),
        write(
            "store/mod.rs",
            "fn f() { crate::locks::x(); crate::dav::y(); }\n",
        ),
        write(
            "authority/mod.rs",
            "fn g(table: &mut T) { store.transact(table); }\n",
        ),
    ];
    let edges = dependencies(root, &files);
    let layers = layer_violations(&edges);
    assert!(
        layers
            .iter()
            .any(|v| v.starts_with("locks uses dav::error")),
        "{layers:?}"
    );
    assert!(
        layers.iter().any(|v| v.starts_with("store uses dav")),
        "{layers:?}"
    );
    let found = cycles(&edges);
    assert_eq!(
        found,
        vec!["dav::error -> dav::render".to_owned()],
        "{edges:?}"
    );
    // `pub use` alone is no dependency: dav/mod.rs re-exports error.rs.
    assert!(!edges.contains(&(
        vec!["dav".to_owned()],
        vec!["dav".to_owned(), "error".to_owned()]
    )));
    let writes: Vec<&str> = LOCK_TABLE_WRITES
        .iter()
        .copied()
        .filter(|w| code("fn g() { store.transact(x); } // .release_latch(").contains(w))
        .collect();
    assert_eq!(writes, vec![".transact("]);
}
