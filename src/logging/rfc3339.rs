//! RFC 3339 timestamps in UTC with millisecond precision (`2026-12-03T21:06:14.123Z`), for the audit
//! record and webhook bodies. No crate in the dependency tree formats them (`httpdate` writes RFC 7231 dates), and the
//! conversion is a few lines of civil-calendar arithmetic (days since 1970 → proleptic Gregorian
//! date, H. Hinnant's `civil_from_days`).

use std::time::{SystemTime, UNIX_EPOCH};

/// `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ`; a time before 1970 is written as the epoch.
pub fn format(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 → (year, month 1–12, day 1–31).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of each 400-year era's years.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
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

    #[test]
    fn every_day_for_four_centuries_follows_the_previous_one() {
        let mut prev = civil_from_days(0);
        for days in 1..146_097 + 366 {
            let next = civil_from_days(days);
            let (y, m, d) = prev;
            let expected = if next.2 == 1 {
                // A new month starts only after the previous month's last day.
                let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
                let last = match m {
                    2 if leap => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                assert_eq!(d, last, "{prev:?} → {next:?}");
                if m == 12 {
                    (y + 1, 1, 1)
                } else {
                    (y, m + 1, 1)
                }
            } else {
                (y, m, d + 1)
            };
            assert_eq!(next, expected);
            prev = next;
        }
    }
}
