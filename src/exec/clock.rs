//! Time as Factotum 0.7 printed it: UTC timestamps with nanoseconds, and short durations.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2026-11-28 06:24:42.768162940 UTC`.
pub(crate) fn timestamp(at: SystemTime) -> String {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (year, month, day) = civil_date(seconds / 86_400);
    let time_of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:09} UTC",
        time_of_day / 3600,
        time_of_day % 3600 / 60,
        time_of_day % 60,
        since_epoch.subsec_nanos()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01, by the era arithmetic of
/// "chrono-compatible low-level date algorithms" (eras of 400 years, March-based years).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// One decimal of seconds: `0.0s`, `5.0s`, as in a task's "succeeded after" line.
pub(crate) fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

/// The summary's duration: `2.5s` below a minute, `1m, 2s` below an hour, else `1h, 0m, 0s`.
pub(crate) fn summary_duration(duration: Duration) -> String {
    let whole = duration.as_secs();
    if whole < 60 {
        seconds(duration)
    } else if whole < 3600 {
        format!("{}m, {}s", whole / 60, whole % 60)
    } else {
        format!("{}h, {}m, {}s", whole / 3600, whole % 3600 / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::{summary_duration, timestamp};

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01 00:00:00.000000000 UTC");
        let at = UNIX_EPOCH + Duration::new(1_795_847_082, 768_162_940);
        assert_eq!(timestamp(at), "2026-11-28 06:24:42.768162940 UTC");
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(timestamp(leap_day), "2000-02-29 00:00:00.000000000 UTC");
    }

    #[test]
    fn durations() {
        assert_eq!(summary_duration(Duration::from_millis(0)), "0.0s");
        assert_eq!(summary_duration(Duration::from_millis(2_500)), "2.5s");
        assert_eq!(summary_duration(Duration::from_millis(62_500)), "1m, 2s");
        assert_eq!(summary_duration(Duration::from_secs(3599)), "59m, 59s");
        assert_eq!(summary_duration(Duration::from_secs(3600)), "1h, 0m, 0s");
        assert_eq!(summary_duration(Duration::from_secs(36_063)), "10h, 1m, 3s");
    }
}
