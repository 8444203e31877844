//! The `Prefer` request header (RFC 7240): the `wait` preference (§4.3),
//! which a lock request uses to wait for a lock instead of being refused.

use std::time::Duration;

use http::HeaderMap;

/// The longest wait the server grants, whatever is asked: a waiting
/// request holds a connection.
pub const MAX_WAIT: Duration = Duration::from_secs(600);

/// The `wait` preference in seconds, capped at `MAX_WAIT`; `None` when the
/// request states none. Preferences the server does not know are ignored,
/// as §2 asks, and so is a `wait` that is not a number.
pub fn wait(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|preference| {
            let preference = preference.split(';').next()?.trim();
            let (name, value) = preference.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("wait") {
                return None;
            }
            let seconds: u64 = value.trim().trim_matches('"').parse().ok()?;
            Some(Duration::from_secs(seconds).min(MAX_WAIT))
        })
}

/// The `Preference-Applied` value for a wait that was honoured.
pub fn applied(wait: Duration) -> String {
    format!("wait={}", wait.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("prefer", v.parse().unwrap());
        }
        map
    }

    #[test]
    fn wait_is_found_among_other_preferences() {
        assert_eq!(wait(&headers(&["wait=10"])), Some(Duration::from_secs(10)));
        assert_eq!(
            wait(&headers(&["respond-async, Wait = 5"])),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            wait(&headers(&["return=minimal", "wait=\"7\""])),
            Some(Duration::from_secs(7))
        );
        assert_eq!(wait(&headers(&["wait=99999"])), Some(MAX_WAIT));
        assert_eq!(wait(&headers(&["wait=soon", "return=minimal"])), None);
        assert_eq!(wait(&HeaderMap::new()), None);
        assert_eq!(applied(Duration::from_secs(5)), "wait=5");
    }
}
