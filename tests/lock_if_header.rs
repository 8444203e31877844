//! RFC 4918 locking (Class 2) against the real binary, section 1.10 of the
//! RFC 4918 checklist: the If header (grammar, evaluation, submitted
//! tokens, tagged lists, ETags, HTTP conditionals).
//! Every test names the RFC sections it checks; the comment above it names
//! the checklist lines (`1.x/n` = section 1.x, n-th line). Every server here
//! runs without authentication, so every lock has no principal.
mod support;

use support::lock::*;
use support::{TestServer, etag, file_text};

// ===========================================================================
// 1.10 The If header

// 1.10/1: grammar: tagged and untagged lists, Not, Coded-URLs, [etags];
// malformed headers are 400.
#[test]
fn if_header_grammar_tagged_and_untagged_lists_s10_4_2() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    let url = s.url("/f.txt");
    let bad = [
        format!("(<{tok}>"),
        format!("<{url}>"),
        format!("(<{tok}>) <{url}> (<{tok}>)"),
        format!("<{url}> (<{tok}>) (<{tok}>) (["),
        "()".to_string(),
        "(Not)".to_string(),
        "([not-quoted])".to_string(),
        format!("<{tok}>"),
        "garbage".to_string(),
    ];
    for h in &bad {
        let r = put_if(&s, "/f.txt", "x", h);
        assert_eq!(r.status, 400, "If: {h}: {r:?}");
    }
    assert_eq!(file_text(&s, "f.txt"), "F");
    // `{E}` stands for the current ETag (each PUT changes it).
    let good = [
        format!("(<{tok}>)"),
        format!("<{url}> (<{tok}>)"),
        format!("</f.txt> (<{tok}>)"),
        format!("<{url}> ([\"nope\"]) (<{tok}> [{{E}}])"),
        format!("(Not [\"nope\"] <{tok}>)"),
        format!("  ( <{tok}> )  "),
        format!("(<{tok}>)\t(Not <DAV:no-lock> [{{E}}])"),
    ];
    for h in &good {
        let h = h.replace("{E}", &etag(&s, "/f.txt"));
        let r = put_if(&s, "/f.txt", "F", &h);
        assert_eq!(r.status, 204, "If: {h}: {r:?}");
    }
}

// 1.10/2: conditions in a list are ANDed, lists are ORed.
#[test]
fn if_lists_are_ored_and_conditions_anded_s10_4_3() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    let e = etag(&s, "/f.txt");
    assert_eq!(
        put_if(&s, "/f.txt", "x", &format!("(<{tok}> [\"nope\"])")).status,
        412
    );
    assert_eq!(file_text(&s, "f.txt"), "F");
    assert_eq!(
        put_if(&s, "/f.txt", "x", &format!("(<{tok}> [{e}])")).status,
        204
    );
    let e = etag(&s, "/f.txt");
    assert_eq!(
        put_if(&s, "/f.txt", "y", &format!("([\"nope\"]) (<{tok}> [{e}])")).status,
        204
    );
    assert_eq!(
        put_if(&s, "/f.txt", "z", "([\"nope\"]) (<urn:uuid:0-0-0-0-0>)").status,
        412
    );
    assert_eq!(file_text(&s, "f.txt"), "y");
}

// 1.10/3: a false If gives 412, also on a locked resource and on reads; a
// request without conditionals is never 412.
#[test]
fn false_if_header_is_412_before_any_lock_check_s10_4_1_s12_1() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/free.txt", "F").status, 201);
    assert_eq!(put(&s, "/locked.txt", "L").status, 201);
    lock_ok(&s, "/locked.txt", Scope::Exclusive, "0");
    let wrong = "(<urn:uuid:00000000-0000-0000-0000-00000000dead>)";
    assert_eq!(put_if(&s, "/free.txt", "x", wrong).status, 412);
    assert_eq!(put_if(&s, "/locked.txt", "x", wrong).status, 412);
    assert_eq!(
        with_if(&s, "DELETE", "/locked.txt", wrong, None).status,
        412
    );
    assert_eq!(with_if(&s, "GET", "/free.txt", wrong, None).status, 412);
    assert_eq!(
        with_if(&s, "PROPFIND", "/free.txt", wrong, None).status,
        412
    );
    assert_eq!(file_text(&s, "free.txt"), "F");
    assert_eq!(file_text(&s, "locked.txt"), "L");
    assert_eq!(put(&s, "/free.txt", "x").status, 204);
}

// 1.10/4: every token in the header is submitted whatever the evaluation;
// `(Not <DAV:no-lock>)` makes the header true.
#[test]
fn every_token_in_the_if_header_is_submitted_whatever_it_evaluates_to_s10_4_1_s10_4_8() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    // The header is true, but no valid token was submitted.
    assert_locked(&put_if(&s, "/f.txt", "x", "(Not <DAV:no-lock>)"), "/f.txt");
    assert_locked(
        &put_if(
            &s,
            "/f.txt",
            "x",
            "(<urn:uuid:00000000-0000-0000-0000-0000000000aa>) (Not <DAV:no-lock>)",
        ),
        "/f.txt",
    );
    // The list naming the token is false, the header is true: token counts.
    let r = put_if(
        &s,
        "/f.txt",
        "x",
        &format!("(<{tok}> [\"nope\"]) (Not <DAV:no-lock>)"),
    );
    assert_eq!(r.status, 204, "{r:?}");
    // DAV:no-lock alone is never matched.
    assert_eq!(put_if(&s, "/f.txt", "y", "(<DAV:no-lock>)").status, 412);
    // A token submitted in a tagged list about another resource still counts.
    assert_eq!(put(&s, "/g.txt", "G").status, 201);
    let r = put_if(&s, "/f.txt", "z", &format!("</g.txt> (Not <{tok}>)"));
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(file_text(&s, "f.txt"), "z");
}

// 1.10/5: untagged lists apply to the Request-URI, tagged lists to the named
// resource (absolute URI or absolute path).
#[test]
fn tagged_lists_apply_to_the_named_resource_untagged_to_the_request_uri_s10_4_4_s10_4_10() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/d/").status, 201);
    assert_eq!(put(&s, "/d/a.txt", "A").status, 201);
    assert_eq!(put(&s, "/d/b.txt", "B").status, 201);
    let tok = lock_ok(&s, "/d/", Scope::Exclusive, "0");
    // Untagged: the Request-URI /d/a.txt is not locked by tok, so false.
    assert_eq!(
        with_if(&s, "DELETE", "/d/a.txt", &if_token(&tok), None).status,
        412
    );
    // Tagged, absolute URI and absolute path.
    let abs = format!("<{}> (<{tok}>)", s.url("/d/"));
    assert_eq!(with_if(&s, "DELETE", "/d/a.txt", &abs, None).status, 204);
    assert_eq!(
        with_if(&s, "DELETE", "/d/b.txt", &format!("</d/> (<{tok}>)"), None).status,
        204
    );
    // A tag naming another server never matches.
    assert_eq!(put(&s, "/d2.txt", "x").status, 201);
    let elsewhere = format!("<http://elsewhere.example/d/> (<{tok}>)");
    assert_eq!(put_if(&s, "/d2.txt", "y", &elsewhere).status, 412);
}

// 1.10/6: a lock token matches anywhere in its lock's scope.
#[test]
fn lock_token_matches_any_resource_in_its_scope_s10_4_4() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(s.mkcol("/c/sub/").status, 201);
    assert_eq!(put(&s, "/c/sub/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/c/", Scope::Exclusive, "infinity");
    assert_eq!(put_with_token(&s, "/c/sub/f.txt", "x", &tok).status, 204);
    assert_eq!(
        put_if(
            &s,
            "/c/sub/f.txt",
            "y",
            &format!("</c/sub/f.txt> (<{tok}>)")
        )
        .status,
        204
    );
    // An unmapped URL in scope: the token matches too.
    assert_eq!(put_with_token(&s, "/c/sub/new.txt", "n", &tok).status, 201);
    // Out of scope: no match.
    assert_eq!(put(&s, "/out.txt", "o").status, 201);
    assert_eq!(put_with_token(&s, "/out.txt", "x", &tok).status, 412);
}

// 1.10/7: [etag] with weak or strong comparison; on an unmapped URL [etag]
// and state tokens are false, their Not true.
#[test]
fn if_header_etags_and_unmapped_urls_s10_4_4_s10_4_11() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let e = etag(&s, "/f.txt");
    assert!(e.starts_with('"'), "strong ETag expected: {e}");
    assert_eq!(put_if(&s, "/f.txt", "1", &format!("([{e}])")).status, 204);
    let e1 = etag(&s, "/f.txt");
    assert_ne!(e, e1);
    assert_eq!(
        put_if(&s, "/f.txt", "2", &format!("([{e}])")).status,
        412,
        "stale etag"
    );
    assert_eq!(
        put_if(&s, "/f.txt", "2", &format!("(Not [{e}])")).status,
        204
    );
    let e2 = etag(&s, "/f.txt");
    // deadbolt compares weakly (allowed by §10.4.4).
    assert_eq!(
        put_if(&s, "/f.txt", "3", &format!("([W/{e2}])")).status,
        204
    );
    assert_eq!(file_text(&s, "f.txt"), "3");

    assert_eq!(put_if(&s, "/u1.txt", "x", &format!("([{e2}])")).status, 412);
    assert_eq!(
        put_if(&s, "/u1.txt", "x", &format!("(Not [{e2}])")).status,
        201
    );
    let tok = "urn:uuid:00000000-0000-0000-0000-0000000000bb";
    assert_eq!(
        put_if(&s, "/u2.txt", "x", &format!("(<{tok}>)")).status,
        412
    );
    assert_eq!(
        put_if(&s, "/u2.txt", "x", &format!("(Not <{tok}>)")).status,
        201
    );
}

// 1.10/8: the multi-list examples of §10.4.6 and §10.4.7.
#[test]
fn if_header_rfc_examples_s10_4_6_s10_4_7() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    assert_eq!(put(&s, "/g.txt", "G").status, 201);
    let t2 = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    let t1 = lock_ok(&s, "/g.txt", Scope::Exclusive, "0");
    // §10.4.6: (<tok> ["etag1"]) (["etag2"]) with etag2 current.
    let e = etag(&s, "/f.txt");
    let h = format!("(<{t2}> [\"etag1\"]) ([{e}])");
    assert_eq!(put_if(&s, "/f.txt", "a", &h).status, 204);
    // §10.4.7: (Not <tok1> <tok2>): not locked by tok1, locked by tok2.
    assert_eq!(
        put_if(&s, "/f.txt", "b", &format!("(Not <{t1}> <{t2}>)")).status,
        204
    );
    assert_eq!(
        put_if(&s, "/f.txt", "c", &format!("(Not <{t2}> <{t1}>)")).status,
        412
    );
    assert_eq!(file_text(&s, "f.txt"), "b");
}

// 1.10/9: If works together with If-Match / If-None-Match; ETags are stable
// while content does not change (LOCK, refresh, UNLOCK, PROPPATCH).
#[test]
fn if_header_with_http_conditionals_and_stable_etags_s8_6() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let e0 = etag(&s, "/f.txt");
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    assert_eq!(etag(&s, "/f.txt"), e0, "LOCK does not change the ETag");
    assert_eq!(refresh(&s, "/f.txt", &tok, None).status, 200);
    assert_set_p_with_if(&s, "/f.txt", &if_token(&tok));
    assert_eq!(
        etag(&s, "/f.txt"),
        e0,
        "refresh and PROPPATCH keep the ETag"
    );

    let put = |if_match: (&str, &str)| {
        s.request("PUT", "/f.txt")
            .header("If", &if_token(&tok))
            .header("Connection", "close")
            .header(if_match.0, if_match.1)
            .body("new")
            .send()
    };
    assert_eq!(put(("If-Match", "\"wrong\"")).status, 412);
    assert_eq!(put(("If-None-Match", "*")).status, 412);
    assert_eq!(put(("If-None-Match", e0.as_str())).status, 412);
    assert_eq!(file_text(&s, "f.txt"), "F");
    assert_eq!(put(("If-Match", e0.as_str())).status, 204);
    let e1 = etag(&s, "/f.txt");
    assert_ne!(e1, e0);
    assert_eq!(unlock(&s, "/f.txt", &tok).status, 204);
    assert_eq!(etag(&s, "/f.txt"), e1, "UNLOCK does not change the ETag");
}
