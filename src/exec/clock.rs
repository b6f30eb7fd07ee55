//! Time as Factotum 0.7 printed it: UTC timestamps with nanoseconds, and short durations.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A century: "never", for a run.
const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);

/// The instant `wait` from now; a wait beyond what the clock holds (2^64 seconds) is cut to a
/// century rather than panicking as `Instant + Duration` does.
pub(crate) fn deadline_after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait.min(CENTURY)).unwrap_or(now)
}

/// `2026-11-28 06:24:42.768162940 UTC`, as the terminal lines show start times.
pub(crate) fn timestamp(at: SystemTime) -> String {
    let (date, time, nanos) = utc(at);
    format!("{date} {time}.{nanos:09} UTC")
}

/// `2026-11-28T06:24:42.768Z`, as webhooks show start times.
pub(crate) fn iso_timestamp(at: SystemTime) -> String {
    let (date, time, nanos) = utc(at);
    format!("{date}T{time}.{:03}Z", nanos / 1_000_000)
}

/// `20261128T062442768Z`: sorts as the time does, and is short enough to type a prefix of.
pub(crate) fn compact_timestamp(at: SystemTime) -> String {
    let (date, time, nanos) = utc(at);
    let digits = |text: String| text.replace(['-', ':'], "");
    format!("{}T{}{:03}Z", digits(date), digits(time), nanos / 1_000_000)
}

/// `2026-11-28 06:24:42`, as listings of runs show times (UTC, said in their headings).
pub(crate) fn listing_timestamp(at: SystemTime) -> String {
    let (date, time, _) = utc(at);
    format!("{date} {time}")
}

/// An ISO-8601 duration as 0.7's webhooks wrote it: days split out, then seconds with as many
/// fractional digits (3, 6 or 9) as the precision needs: `PT0S`, `PT7.000418798S`, `P1DT5S`.
pub(crate) fn iso_duration(duration: Duration) -> String {
    let days = duration.as_secs() / 86_400;
    let seconds = duration.as_secs() % 86_400;
    let nanos = duration.subsec_nanos();
    let fraction = if nanos == 0 {
        String::new()
    } else if nanos.is_multiple_of(1_000_000) {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1000) {
        format!(".{:06}", nanos / 1000)
    } else {
        format!(".{nanos:09}")
    };
    let days = if days > 0 {
        format!("{days}D")
    } else {
        String::new()
    };
    format!("P{days}T{seconds}{fraction}S")
}

/// The UTC date (`YYYY-MM-DD`), time (`HH:MM:SS`) and nanoseconds of `at`.
fn utc(at: SystemTime) -> (String, String, u32) {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (year, month, day) = civil_date(seconds / 86_400);
    let time_of_day = seconds % 86_400;
    let time = format!(
        "{:02}:{:02}:{:02}",
        time_of_day / 3600,
        time_of_day % 3600 / 60,
        time_of_day % 60
    );
    (
        format!("{year:04}-{month:02}-{day:02}"),
        time,
        since_epoch.subsec_nanos(),
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

    use super::{deadline_after, iso_duration, iso_timestamp, summary_duration, timestamp};

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01 00:00:00.000000000 UTC");
        let at = UNIX_EPOCH + Duration::new(1_795_847_082, 768_162_940);
        assert_eq!(timestamp(at), "2026-11-28 06:24:42.768162940 UTC");
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(timestamp(leap_day), "2000-02-29 00:00:00.000000000 UTC");
        assert_eq!(iso_timestamp(at), "2026-11-28T06:24:42.768Z");
    }

    #[test]
    fn iso_durations() {
        assert_eq!(iso_duration(Duration::ZERO), "PT0S");
        assert_eq!(iso_duration(Duration::new(0, 88_095_475)), "PT0.088095475S");
        assert_eq!(iso_duration(Duration::new(7, 418_000)), "PT7.000418S");
        assert_eq!(iso_duration(Duration::from_millis(2500)), "PT2.500S");
        assert_eq!(iso_duration(Duration::from_secs(86_405)), "P1DT5S");
    }

    #[test]
    fn deadlines_never_overflow() {
        let far = deadline_after(Duration::MAX);
        assert!(far > deadline_after(Duration::from_secs(86_400)));
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
