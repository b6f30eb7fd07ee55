//! `factotum history [JOB]`: the recent runs in the store, newest first.

use serde_json::{Value, json};

use super::{Stdout, error_line, open_store};
use crate::ExitStatus;
use crate::cli::{HistoryArgs, ListFormat};
use crate::store::{self, Millis, RunSummary};

/// Runs `history`.
pub(crate) fn run(args: &HistoryArgs, no_colour: bool) -> ExitStatus {
    let mut stdout = Stdout::new(no_colour);
    let status = list(args, &mut stdout);
    stdout.finish(status)
}

fn list(args: &HistoryArgs, stdout: &mut Stdout) -> ExitStatus {
    let mut backend = match open_store(&args.store) {
        Ok(backend) => backend,
        Err(status) => return status,
    };
    let file = args.factfile.as_deref().map(store::file_key);
    let listing = match backend.list_runs(file.as_deref(), args.limit) {
        Ok(listing) => listing,
        Err(error) => {
            error_line(format_args!("error: {error}"));
            return ExitStatus::OtherError;
        }
    };
    warn_unreadable(listing.unreadable, "runs");
    match args.format {
        ListFormat::Json => {
            let runs: Vec<Value> = listing.rows.iter().map(run_json).collect();
            stdout.line(&pretty(&Value::Array(runs)));
        }
        ListFormat::Table => {
            let mut rows = vec![
                [
                    "RUN",
                    "JOB",
                    "HOST",
                    "STARTED (UTC)",
                    "DURATION",
                    "OUTCOME",
                    "TASKS",
                ]
                .map(str::to_owned),
            ];
            rows.extend(listing.rows.iter().map(|summary| {
                [
                    summary.run.id.clone(),
                    printable(&summary.run.job),
                    printable(&summary.run.host),
                    time_text(summary.run.started_at),
                    duration_text(summary.run.started_at, summary.run.ended_at),
                    summary.outcome().as_str().to_owned(),
                    counts_text(summary),
                ]
            }));
            if listing.rows.is_empty() {
                stdout.line(&format!("No runs recorded in {}", backend.location()));
            } else {
                for line in table(&rows) {
                    stdout.line(&line);
                }
            }
        }
    }
    ExitStatus::Success
}

/// Says on stderr that a damaged store held rows that could not be read.
pub(crate) fn warn_unreadable(count: usize, what: &str) {
    if count > 0 {
        error_line(format_args!(
            "warning: {count} {what} in the store could not be read (damaged rows are left out)"
        ));
    }
}

/// `3 succeeded, 1 failed, 2 skipped of 7`, leaving out the counts that are zero.
fn counts_text(summary: &RunSummary) -> String {
    let counts = summary.counts;
    let parts: Vec<String> = [
        (counts.succeeded, "succeeded"),
        (counts.failed, "failed"),
        (counts.skipped, "skipped"),
    ]
    .into_iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, word)| format!("{count} {word}"))
    .collect();
    if parts.is_empty() {
        format!("none run of {}", counts.total)
    } else {
        format!("{} of {}", parts.join(", "), counts.total)
    }
}

/// A run as JSON, for `history --format json` and `show --format json`.
pub(crate) fn run_json(summary: &RunSummary) -> Value {
    let run = &summary.run;
    json!({
        "id": run.id,
        "job": run.job,
        "file": run.file,
        "jobHash": run.job_hash,
        "host": run.host,
        "user": run.user,
        "pid": run.pid,
        "startedAt": iso(run.started_at),
        "endedAt": run.ended_at.map(iso),
        "durationSeconds": run.ended_at.map(|end| {
            std::time::Duration::from_millis(millis_between(run.started_at, end)).as_secs_f64()
        }),
        "outcome": summary.outcome().as_str(),
        "exitCode": run.exit_code,
        "resumes": run.resumes,
        "env": run.env,
        "tags": run.tags.iter().map(|(key, value)| json!([key, value])).collect::<Vec<_>>(),
        "tasks": {
            "total": summary.counts.total,
            "succeeded": summary.counts.succeeded,
            "failed": summary.counts.failed,
            "skipped": summary.counts.skipped,
        },
    })
}

/// JSON with two-space indentation.
pub(crate) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn millis_between(start: Millis, end: Millis) -> u64 {
    u64::try_from(end.saturating_sub(start)).unwrap_or(0)
}

fn as_time(at: Millis) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(at).unwrap_or(0))
}

/// A stored time as ISO 8601, for JSON.
pub(crate) fn iso(at: Millis) -> String {
    crate::exec::clock::iso_timestamp(as_time(at))
}

/// A stored time for tables (UTC).
pub(crate) fn time_text(at: Millis) -> String {
    crate::exec::clock::listing_timestamp(as_time(at))
}

/// How long from `start` to `end`, or `-` while there is no end.
pub(crate) fn duration_text(start: Millis, end: Option<Millis>) -> String {
    end.map_or_else(
        || "-".to_owned(),
        |end| {
            crate::exec::clock::summary_duration(std::time::Duration::from_millis(millis_between(
                start, end,
            )))
        },
    )
}

/// Text from the store made safe for a terminal: control characters (an escape sequence in
/// a job name or in task output) are shown escaped, never sent as they are.
pub(crate) fn printable(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\t' {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// Rows of cells as aligned lines: each column as wide as its widest cell, two spaces apart.
/// Every row has as many cells as the first.
pub(crate) fn table<R: AsRef<[String]>>(rows: &[R]) -> Vec<String> {
    let columns = rows.first().map_or(0, |row| row.as_ref().len());
    let mut widths = vec![0; columns];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row.as_ref()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (column, (cell, width)) in row.as_ref().iter().zip(&widths).enumerate() {
                line.push_str(cell);
                if column + 1 < columns {
                    let pad = width - cell.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(printable("a\u{1b}[31mb\nc\td é"), "a\\u{1b}[31mb\\nc\td é");
    }
}
