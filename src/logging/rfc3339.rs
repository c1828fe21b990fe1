//! RFC 3339 timestamps in UTC with millisecond precision (`2026-12-03T21:06:14.123Z`), for the audit
//! record and webhook bodies; the calendar is the `time` crate's.

use std::time::{SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;

/// `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ`; a time before 1970 is written as the epoch.
pub fn format(t: SystemTime) -> String {
    let t = OffsetDateTime::from(t.max(UNIX_EPOCH));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, millis: u64) -> String {
        format(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
    }

    #[test]
    fn known_instants() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        // `date -u -d @951782400`: the leap day of a year divisible by 400.
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_700_000_000, 999), "2023-11-14T22:13:20.999Z");
        // The last second of 2024 (a leap year) and the first of 2025.
        assert_eq!(at(1_735_689_599, 0), "2024-12-31T23:59:59.000Z");
        assert_eq!(at(1_735_689_600, 0), "2025-01-01T00:00:00.000Z");
        // 1900 was not a leap year, 2100 will not be: 2100-03-01 follows 2100-02-28.
        assert_eq!(at(4_107_456_000, 0), "2100-02-28T00:00:00.000Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
        assert_eq!(
            format(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00.000Z"
        );
    }
}
