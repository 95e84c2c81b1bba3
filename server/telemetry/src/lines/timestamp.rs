//! The timestamp a line starts with.

use std::{cell::RefCell, fmt::Write as _, time::SystemTime};

/// Appends `at` as RFC 3339 UTC with microseconds (`2026-11-30T10:48:57.123456Z`). The part up
/// to the second is formatted once per second and thread; a line then costs a copy and six
/// digits.
pub(super) fn timestamp(line: &mut String, at: SystemTime) {
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    // A clock set before 1970 logs as 1970 (humantime, like the format, starts there).
    let at = at.max(SystemTime::UNIX_EPOCH);
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let (seconds, micros) = (since.as_secs(), since.subsec_micros());
    SECOND.with(|second| {
        let Ok(mut second) = second.try_borrow_mut() else {
            let _ = write!(line, "{}", humantime::format_rfc3339_micros(at));
            return;
        };
        if second.0 != seconds {
            let (cached, text) = &mut *second;
            text.clear();
            // `YYYY-MM-DDTHH:MM:SSZ`, kept without its `Z`. Past the year 9999 humantime
            // refuses: the line then says the seconds since the epoch.
            if write!(text, "{}", humantime::format_rfc3339_seconds(at)).is_ok() {
                text.pop();
            } else {
                text.clear();
                let _ = write!(text, "{seconds}");
            }
            *cached = seconds;
        }
        line.push_str(&second.1);
        let _ = write!(line, ".{micros:06}Z");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_before_1970_or_past_9999_still_give_a_line() {
        let mut line = String::new();
        timestamp(
            &mut line,
            SystemTime::UNIX_EPOCH - std::time::Duration::from_secs(5),
        );
        assert_eq!(line, "1970-01-01T00:00:00.000000Z");
        let far = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(300_000_000_000);
        let mut line = String::new();
        timestamp(&mut line, far);
        assert_eq!(line, "300000000000.000000Z");
    }

    #[test]
    fn timestamps_are_rfc3339_with_microseconds_across_seconds() {
        let start =
            SystemTime::UNIX_EPOCH + std::time::Duration::from_micros(1_796_000_000_999_998);
        for step in 0..4u64 {
            let at = start + std::time::Duration::from_micros(step);
            let mut line = String::new();
            timestamp(&mut line, at);
            assert_eq!(line, humantime::format_rfc3339_micros(at).to_string());
        }
    }
}
