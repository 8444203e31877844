//! The server's log: one line (or JSON object) per event on stderr, with
//! the filter from `RUST_LOG` (`info` by default).
//!
//! Every request writes a line, so its cost is part of every small
//! request's: the timestamps come from `humantime`, which writes digits
//! straight into a buffer (tracing-subscriber's own clock formats through
//! `fmt` and took a quarter of the line's cost), and colour codes are
//! compiled out (they cost even when switched off).

use std::time::SystemTime;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use crate::cli::LogFormat;

/// Installs the global subscriber; call once, first thing.
pub fn init(format: LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_timer(Clock);
    match format {
        LogFormat::Text => logs.init(),
        // One object per line, the event's fields at the top level.
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

/// RFC 3339 in UTC to the microsecond (`2026-12-08T00:41:00.123456Z`), the
/// form tracing-subscriber's default clock writes.
struct Clock;

impl FormatTime for Clock {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        write_time(w, SystemTime::now())
    }
}

fn write_time(w: &mut impl std::fmt::Write, at: SystemTime) -> std::fmt::Result {
    // humantime refuses times before 1970 (it panics): a clock set that
    // far back gets the crate's own clock, which writes them.
    if at < SystemTime::UNIX_EPOCH {
        let mut text = String::new();
        tracing_subscriber::fmt::time::SystemTime.format_time(&mut Writer::new(&mut text))?;
        return w.write_str(&text);
    }
    write!(w, "{}", humantime::format_rfc3339_micros(at))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::write_time;

    fn text(at: std::time::SystemTime) -> String {
        let mut out = String::new();
        write_time(&mut out, at).unwrap();
        out
    }

    #[test]
    fn times_are_rfc3339_utc_to_the_microsecond() {
        let at = UNIX_EPOCH + Duration::new(1_796_690_460, 123_456_789);
        assert_eq!(text(at), "2026-12-08T00:41:00.123456Z");
        assert_eq!(text(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let at = UNIX_EPOCH + Duration::new(951_782_400, 7_000);
        assert_eq!(text(at), "2000-02-29T00:00:00.000007Z");
        // Before 1970 the line still gets a time, not a panic.
        assert!(!text(UNIX_EPOCH - Duration::from_secs(1)).is_empty());
    }

    #[test]
    fn the_form_is_the_one_tracing_subscriber_writes() {
        use tracing_subscriber::fmt::format::Writer;
        use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
        let mut theirs = String::new();
        SystemTime
            .format_time(&mut Writer::new(&mut theirs))
            .unwrap();
        let ours = text(std::time::SystemTime::now());
        // The same separators in the same places; only digits may differ.
        let shape = |s: &str| s.replace(|c: char| c.is_ascii_digit(), "0");
        assert_eq!(shape(&ours), shape(&theirs), "{ours} against {theirs}");
    }
}
