//! The lock API's JSON: what clients send, and locks as they are answered.

use serde::{Deserialize, Deserializer, Serialize};

use super::problem::Problem;
use crate::authority::view::{owner_text, rfc3339};
use crate::locks::{ActiveLock, LockDepth, LockScope, ResourcePath};

/// The longest `owner` or `reason` kept (they are shown, not parsed).
const MAX_TEXT: usize = 1024;

/// `POST /_deadbolt/api/locks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    pub key: Option<String>,
    pub path: Option<String>,
    pub scope: Option<String>,
    pub depth: Option<DepthValue>,
    #[serde(default, deserialize_with = "whole_seconds")]
    pub ttl_seconds: Option<u64>,
    pub owner: Option<String>,
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "whole_seconds")]
    pub wait_seconds: Option<u64>,
}

/// `"0"`, `0` or `"infinity"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum DepthValue {
    Number(serde_json::Number),
    Text(String),
}

/// `POST /_deadbolt/api/locks/{token}/refresh` (the body is optional).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    #[serde(default, deserialize_with = "whole_seconds")]
    pub ttl_seconds: Option<u64>,
}

/// A number of seconds: a whole number, written `60` or `60.0` (JSON has
/// one kind of number, and some clients write every number with a point).
fn whole_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let whole = number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(f))
            // In range and whole: the conversion is exact (or saturates at the top).
            .map(|f| f as u64)
    });
    whole.map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!("expected a whole number of seconds, not {number}"))
    })
}

impl CreateBody {
    /// The resource: a record key or a served path, exactly one of them.
    pub fn resource(&self) -> Result<ResourcePath, Problem> {
        match (&self.key, &self.path) {
            (Some(key), None) => ResourcePath::record(key)
                .map_err(|e| Problem::bad_request(format!("invalid key {key:?}: {e}"))),
            (None, Some(path)) => served_path(path),
            _ => Err(Problem::bad_request(
                "give exactly one of \"key\" (a record) or \"path\" (a served path)",
            )),
        }
    }

    pub fn scope(&self) -> Result<LockScope, Problem> {
        match self.scope.as_deref() {
            None => Ok(LockScope::Exclusive),
            Some(text) => LockScope::parse(text)
                .ok_or_else(|| Problem::bad_request("scope must be \"exclusive\" or \"shared\"")),
        }
    }

    pub fn depth(&self) -> Result<LockDepth, Problem> {
        let refused = || Problem::bad_request("depth must be \"0\" or \"infinity\"");
        match &self.depth {
            None => Ok(LockDepth::Zero),
            Some(DepthValue::Number(n)) if n.as_f64() == Some(0.0) => Ok(LockDepth::Zero),
            Some(DepthValue::Text(text)) => LockDepth::parse(text).ok_or_else(refused),
            Some(DepthValue::Number(_)) => Err(refused()),
        }
    }

    /// The owner as a `DAV:owner` element, so WebDAV clients see it too.
    pub fn owner_xml(&self) -> Result<Option<String>, Problem> {
        let Some(owner) = text_field("owner", self.owner.as_deref())? else {
            return Ok(None);
        };
        let mut escaped = String::with_capacity(owner.len());
        for c in owner.chars() {
            match c {
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                '&' => escaped.push_str("&amp;"),
                c if c.is_control() && !c.is_whitespace() => escaped.push(' '),
                c => escaped.push(c),
            }
        }
        Ok(Some(format!(
            "<D:owner xmlns:D=\"DAV:\">{escaped}</D:owner>"
        )))
    }

    pub fn reason(&self) -> Result<Option<String>, Problem> {
        Ok(text_field("reason", self.reason.as_deref())?.map(str::to_owned))
    }
}

fn text_field<'a>(name: &str, value: Option<&'a str>) -> Result<Option<&'a str>, Problem> {
    match value.map(str::trim) {
        Some(v) if v.chars().count() > MAX_TEXT => Err(Problem::bad_request(format!(
            "{name} is longer than {MAX_TEXT} characters"
        ))),
        Some("") | None => Ok(None),
        Some(v) => Ok(Some(v)),
    }
}

/// A served path as JSON gives it: `/docs/plan.odt`, not percent-encoded.
pub(super) fn served_path(path: &str) -> Result<ResourcePath, Problem> {
    let bad = |why: String| Problem::bad_request(format!("invalid path {path:?}: {why}"));
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| bad("it must start with '/'".into()))?;
    let resource = ResourcePath::from_segments(rest.split('/').filter(|s| !s.is_empty()))
        .map_err(|e| bad(e.to_string()))?;
    if resource.segments().first().map(String::as_str) == Some(crate::web::RESERVED_PREFIX) {
        return Err(bad("it is the server's own prefix".into()));
    }
    Ok(resource)
}

/// A lock as the API answers it.
#[derive(Debug, Serialize)]
pub struct LockJson {
    pub token: String,
    pub fencing_token: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub scope: &'static str,
    pub depth: &'static str,
    pub holder: Option<String>,
    pub owner: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub ttl_seconds: u64,
}

impl LockJson {
    pub fn new(lock: &ActiveLock) -> Self {
        let key = lock.root.record_key();
        Self {
            token: lock.token.to_string(),
            fencing_token: lock.fencing,
            path: key.is_none().then(|| lock.root.key()),
            key,
            scope: lock.scope.as_str(),
            depth: lock.depth.as_str(),
            holder: lock.principal.clone(),
            owner: owner_text(lock.owner.as_deref()),
            created_at: rfc3339(lock.created),
            expires_at: rfc3339(lock.expires),
            ttl_seconds: lock.timeout_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: &str) -> Result<CreateBody, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn seconds_are_whole_numbers_written_either_way() {
        let body = create(r#"{"key": "a", "ttl_seconds": 60.0, "wait_seconds": 5}"#).unwrap();
        assert_eq!((body.ttl_seconds, body.wait_seconds), (Some(60), Some(5)));
        assert_eq!(create(r#"{"key": "a"}"#).unwrap().ttl_seconds, None);
        assert_eq!(
            create(r#"{"key": "a", "ttl_seconds": null}"#)
                .unwrap()
                .ttl_seconds,
            None
        );
        for bad in ["1.5", "-1", "-1.0", "1e300", "\"60\"", "true"] {
            let error = create(&format!(r#"{{"key": "a", "ttl_seconds": {bad}}}"#))
                .expect_err(bad)
                .to_string();
            assert!(error.contains("number"), "{bad}: {error}");
        }
        let refresh: RefreshBody = serde_json::from_str(r#"{"ttl_seconds": 30.0}"#).unwrap();
        assert_eq!(refresh.ttl_seconds, Some(30));
    }

    #[test]
    fn depth_is_zero_or_infinity() {
        for zero in ["0", "0.0", "\"0\""] {
            let body = create(&format!(r#"{{"key": "a", "depth": {zero}}}"#)).unwrap();
            assert_eq!(body.depth().ok(), Some(LockDepth::Zero), "{zero}");
        }
        let body = create(r#"{"key": "a", "depth": "infinity"}"#).unwrap();
        assert_eq!(body.depth().ok(), Some(LockDepth::Infinity));
        for bad in ["1", "\"1\"", "-0.5"] {
            let body = create(&format!(r#"{{"key": "a", "depth": {bad}}}"#)).unwrap();
            assert!(body.depth().is_err(), "{bad}");
        }
    }
}
