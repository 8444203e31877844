//! The `If` header (`deadbolt::dav::if_header`, RFC 4918 §10.4).
//!
//! - `IfHeader::parse` never panics.
//! - What it accepts has the grammar's shape: at least one list, each with at
//!   least one condition; either every list is tagged or none is; tags and
//!   state tokens are non-empty, trimmed, without `>`, and appear in the text;
//!   entity tags are RFC 9110 entity-tags (`[W/]"etagc*"`).
//! - Rendering the parsed header the way a client writes it parses back to the
//!   same value.
//! - `submitted_tokens` is every state token, once, in order of appearance.
//! - `evaluate` is the OR over lists of the AND over conditions, `Not`
//!   inverts a condition, and a list about a resource we do not know is false.
#![no_main]

use deadbolt::dav::if_header::{Condition, IfHeader, List, Operand, ResourceState};
use deadbolt::locks::LockToken;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(header) = IfHeader::parse(text) else {
        return;
    };

    // Shape.
    assert!(!header.lists.is_empty());
    let tagged = header.lists[0].resource.is_some();
    for list in &header.lists {
        assert_eq!(list.resource.is_some(), tagged, "{text:?}");
        assert!(!list.conditions.is_empty());
        if let Some(tag) = &list.resource {
            assert!(is_clean_uri(tag) && text.contains(tag.as_str()), "{tag:?}");
        }
        for condition in &list.conditions {
            match &condition.operand {
                Operand::Token(token) => {
                    assert!(is_clean_uri(token) && text.contains(token.as_str()));
                }
                Operand::Etag(etag) => {
                    assert!(is_entity_tag(etag), "{etag:?} from {text:?}");
                    assert!(text.contains(etag.as_str()));
                }
            }
        }
    }

    // Round trip through the text a client would send.
    let rendered = render(&header);
    assert_eq!(
        IfHeader::parse(&rendered).as_ref(),
        Ok(&header),
        "{text:?} rendered as {rendered:?}"
    );

    // Submitted tokens: all of them, deduplicated, first appearance first.
    let mut expected: Vec<LockToken> = Vec::new();
    for condition in header.lists.iter().flat_map(|l| &l.conditions) {
        if let Operand::Token(token) = &condition.operand {
            let token = LockToken(token.clone());
            if !expected.contains(&token) {
                expected.push(token);
            }
        }
    }
    assert_eq!(header.submitted_tokens(), expected);

    // Evaluation against a state built from the header itself, so that both
    // outcomes of every condition are reachable: every other submitted token
    // is held, and the resource's ETag is the first one named (if any).
    let state = ResourceState {
        etag: header
            .lists
            .iter()
            .flat_map(|l| &l.conditions)
            .find_map(|c| match &c.operand {
                Operand::Etag(e) => Some(e.trim_start_matches("W/").to_owned()),
                Operand::Token(_) => None,
            }),
        lock_tokens: expected.iter().step_by(2).cloned().collect(),
    };
    let known = |_: Option<&str>| Some(state.clone());
    let single = |resource: &Option<String>, conditions: Vec<Condition>| IfHeader {
        lists: vec![List {
            resource: resource.clone(),
            conditions,
        }],
    };

    assert!(!header.evaluate(|_| None), "unknown resources: {text:?}");
    let mut any_list = false;
    for list in &header.lists {
        let mut all_conditions = true;
        for condition in &list.conditions {
            let holds = single(&list.resource, vec![condition.clone()]).evaluate(known);
            assert_eq!(holds, oracle(condition, &state), "{condition:?}");
            let inverted = Condition {
                not: !condition.not,
                ..condition.clone()
            };
            assert_ne!(
                holds,
                single(&list.resource, vec![inverted]).evaluate(known)
            );
            all_conditions &= holds;
        }
        assert_eq!(
            single(&list.resource, list.conditions.clone()).evaluate(known),
            all_conditions
        );
        any_list |= all_conditions;
    }
    assert_eq!(header.evaluate(known), any_list, "{text:?}");

    // The evaluator asks about exactly the resources the lists name.
    let mut asked = Vec::new();
    header.evaluate(|resource| {
        asked.push(resource.map(str::to_owned));
        None
    });
    let named: Vec<Option<String>> = header.lists.iter().map(|l| l.resource.clone()).collect();
    assert_eq!(asked, named);
});

/// RFC 4918: a state token matches when the resource holds it; an entity tag
/// when the resource exists and the opaque tags are equal (weak comparison).
fn oracle(condition: &Condition, state: &ResourceState) -> bool {
    let matched = match &condition.operand {
        Operand::Token(token) => state.lock_tokens.iter().any(|t| t.0 == *token),
        Operand::Etag(tag) => state
            .etag
            .as_deref()
            .is_some_and(|etag| etag.trim_start_matches("W/") == tag.trim_start_matches("W/")),
    };
    matched != condition.not
}

/// A Coded-URL or Resource-Tag body as the parser keeps it.
fn is_clean_uri(text: &str) -> bool {
    !text.is_empty() && !text.contains('>') && text.trim() == text
}

/// RFC 9110 §8.8.3: `entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE`,
/// `etagc = %x21 / %x23-7E / obs-text`.
fn is_entity_tag(text: &str) -> bool {
    let opaque = text.strip_prefix("W/").unwrap_or(text);
    opaque.len() >= 2
        && opaque.starts_with('"')
        && opaque.ends_with('"')
        && opaque[1..opaque.len() - 1]
            .chars()
            .all(|c| c == '\x21' || ('\x23'..='\x7e').contains(&c) || !c.is_ascii())
}

/// The header as a client writes it: a tag before each run of lists about
/// the same resource, `Not ` before negated conditions.
fn render(header: &IfHeader) -> String {
    let mut out = String::new();
    let mut last_tag: Option<&str> = None;
    for list in &header.lists {
        if let Some(tag) = list.resource.as_deref()
            && last_tag != Some(tag)
        {
            out.push('<');
            out.push_str(tag);
            out.push_str("> ");
            last_tag = Some(tag);
        }
        out.push('(');
        for condition in &list.conditions {
            if condition.not {
                out.push_str("Not ");
            }
            match &condition.operand {
                Operand::Token(token) => {
                    out.push('<');
                    out.push_str(token);
                    out.push_str("> ");
                }
                Operand::Etag(etag) => {
                    out.push('[');
                    out.push_str(etag);
                    out.push_str("] ");
                }
            }
        }
        out.push_str(") ");
    }
    out
}
