//! The admin web page: a single HTML document (with its inline style and
//! script) embedded in the binary; it reads and changes locks through the
//! admin API. See docs/admin-page.md.

use std::sync::LazyLock;

use base64::Engine;
use http::{Response, StatusCode, header};
use sha2::{Digest, Sha256};

use crate::web::body::{self, Body};

const PAGE: &str = include_str!("../../assets/admin.html");

/// The page may run its own inline script and style (by hash) and talk to
/// this origin, nothing else; it may not be framed (its Break buttons).
static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    let hashes = |tag: &str| {
        inline_blocks(PAGE, tag)
            .map(|block| format!(" 'sha256-{}'", csp_hash(block)))
            .collect::<String>()
    };
    format!(
        "default-src 'none'; script-src{}; style-src{}; connect-src 'self'; \
         img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hashes("script"),
        hashes("style"),
    )
});

pub fn respond() -> Response<Body> {
    let mut response = Response::new(body::full(PAGE));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    if let Ok(policy) = header::HeaderValue::from_str(&CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The contents of each `<tag>...</tag>` block of `html` (tags without
/// attributes, as the page writes them).
fn inline_blocks<'a>(html: &'a str, tag: &str) -> impl Iterator<Item = &'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut rest = html;
    std::iter::from_fn(move || {
        let start = rest.find(&open)? + open.len();
        let len = rest[start..].find(&close)?;
        let block = &rest[start..start + len];
        rest = &rest[start + len + close.len()..];
        Some(block)
    })
}

/// The CSP source hash of an inline block: base64 of its SHA-256.
fn csp_hash(block: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(block.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_exactly_the_inline_script_and_style() {
        let scripts: Vec<_> = inline_blocks(PAGE, "script").collect();
        let styles: Vec<_> = inline_blocks(PAGE, "style").collect();
        assert_eq!(scripts.len(), 1, "one inline script");
        assert_eq!(styles.len(), 1, "one inline style");
        let policy = CONTENT_SECURITY_POLICY.as_str();
        assert!(
            policy.contains(&format!("script-src 'sha256-{}';", csp_hash(scripts[0]))),
            "{policy}"
        );
        assert!(
            policy.contains(&format!("style-src 'sha256-{}';", csp_hash(styles[0]))),
            "{policy}"
        );
        assert!(!policy.contains("unsafe"), "{policy}");
        let response = respond();
        assert_eq!(
            response.headers()[header::CONTENT_SECURITY_POLICY],
            policy,
            "sent with the page"
        );
    }

    #[test]
    fn the_page_is_self_contained_and_never_parses_data_as_html() {
        for external in ["src=\"http", "href=\"http", "url(", "@import", "<link"] {
            assert!(!PAGE.contains(external), "external resource: {external}");
        }
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
        ] {
            assert!(!PAGE.contains(sink), "HTML sink in the page: {sink}");
        }
        // What tests/admin_page.rs finds the page's parts by.
        for hook in [
            "\"data-token\": lock.token",
            "class: \"break\"",
            "class: \"reason\"",
            "class: \"release\"",
            "\"data-path\": hold.path",
            "[\"path\", \"holder\", \"owner\", \"scope\", \"depth\", \"created\",",
            "id=\"hold-form\"",
            "id=\"hold-path\"",
            "id=\"hold-reason\"",
            "id=\"hold-until\"",
            "id=\"hold-submit\"",
            "id=\"filter-path\"",
            "id=\"filter-user\"",
            "id=\"filter-apply\"",
            "id=\"filter-clear\"",
            "id=\"error\"",
            "id=\"status\"",
            "dataset.live",
        ] {
            assert!(PAGE.contains(hook), "the page lost a test hook: {hook}");
        }
    }

    #[test]
    fn inline_blocks_finds_each_block() {
        let html = "<p>x</p><style>a{}</style><script>1</script><script>2</script>";
        assert_eq!(
            inline_blocks(html, "script").collect::<Vec<_>>(),
            ["1", "2"]
        );
        assert_eq!(inline_blocks(html, "style").collect::<Vec<_>>(), ["a{}"]);
        assert_eq!(inline_blocks(html, "pre").count(), 0);
    }
}
