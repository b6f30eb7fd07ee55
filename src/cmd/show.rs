//! `factotum show RUN`: one recorded run, task by task in plan order.

use serde_json::{Value, json};

use super::history::{
    duration_text, iso, pretty, printable, run_json, table, time_text, warn_unreadable,
};
use super::{Stdout, error_line, open_store};
use crate::ExitStatus;
use crate::cli::{ListFormat, ShowArgs};
use crate::store::{self, Listing, Lookup, RunSummary, TaskRecord, TaskState};

/// Runs `show`.
pub(crate) fn run(args: &ShowArgs, no_colour: bool) -> ExitStatus {
    let mut stdout = Stdout::new(no_colour);
    let status = show(args, &mut stdout);
    stdout.finish(status)
}

fn show(args: &ShowArgs, stdout: &mut Stdout) -> ExitStatus {
    let mut backend = match open_store(&args.store) {
        Ok(backend) => backend,
        Err(status) => return status,
    };
    let (summary, tasks) = match find(&mut *backend, &args.run) {
        Ok(found) => found,
        Err(status) => return status,
    };
    warn_unreadable(tasks.unreadable, "task rows of this run");
    match args.format {
        ListFormat::Json => {
            let mut run = run_json(&summary);
            if let Value::Object(fields) = &mut run {
                fields.insert(
                    "taskStates".to_owned(),
                    tasks.rows.iter().map(task_json).collect(),
                );
            }
            stdout.line(&pretty(&run));
        }
        ListFormat::Table => {
            for line in describe(&summary, &tasks.rows) {
                stdout.line(&line);
            }
        }
    }
    ExitStatus::Success
}

/// The run `wanted` names, or an error line and exit 3 (exit 1 when there is no such run).
pub(crate) fn find(
    backend: &mut dyn store::Backend,
    wanted: &str,
) -> Result<(RunSummary, Listing<TaskRecord>), ExitStatus> {
    match store::find_run(backend, wanted) {
        Ok(Lookup::Found(found)) => Ok(*found),
        Ok(Lookup::NotFound) => {
            error_line(format_args!(
                "error: no run `{}` is recorded in {}; `factotum history` lists the runs there",
                printable(wanted),
                backend.location()
            ));
            Err(ExitStatus::OtherError)
        }
        Ok(Lookup::Ambiguous(ids)) => {
            error_line(format_args!(
                "error: `{}` is the start of several runs ({}): give more of the id",
                printable(wanted),
                ids.join(", ")
            ));
            Err(ExitStatus::OtherError)
        }
        Err(error) => {
            error_line(format_args!("error: {error}"));
            Err(ExitStatus::OtherError)
        }
    }
}

fn task_json(task: &TaskRecord) -> Value {
    json!({
        "name": task.name,
        "position": task.position,
        "state": task.state.as_str(),
        "startedAt": task.started_at.map(iso),
        "endedAt": task.ended_at.map(iso),
        "exitCode": task.exit_code,
        "signal": task.signal,
        "reason": task.reason,
        "stdoutTail": task.stdout_tail,
        "stderrTail": task.stderr_tail,
        "carriedFrom": task.carried_from,
        "attempts": task.attempts,
    })
}

/// The run for people: a header, a table of tasks, then what each failed task said.
fn describe(summary: &RunSummary, tasks: &[TaskRecord]) -> Vec<String> {
    let run = &summary.run;
    let mut lines = vec![
        format!(
            "Run {} of '{}' ({})",
            run.id,
            printable(&run.job),
            printable(&run.file)
        ),
        format!(
            "Outcome: {}{}",
            summary.outcome().as_str(),
            run.exit_code
                .map(|code| format!(" (exit {code})"))
                .unwrap_or_default()
        ),
        format!(
            "Started {} UTC on {} by {} (pid {}), took {}",
            time_text(run.started_at),
            printable(&run.host),
            printable(&run.user),
            run.pid,
            duration_text(run.started_at, run.ended_at)
        ),
    ];
    if let Some(resumed) = &run.resumes {
        lines.push(format!("Resumes run {resumed}"));
    }
    if let Some(env) = &run.env {
        lines.push(format!("--env {}", printable(env)));
    }
    for (key, value) in &run.tags {
        lines.push(format!("--tag {},{}", printable(key), printable(value)));
    }
    lines.push(String::new());
    // The column is there only when a task was retried: most runs try each task once.
    let retried = tasks
        .iter()
        .any(|task| task.attempts.is_some_and(|n| n > 1));
    let mut heading = ["TASK", "STATE", "STARTED (UTC)", "DURATION", "EXIT"]
        .map(str::to_owned)
        .to_vec();
    if retried {
        heading.push("ATTEMPTS".to_owned());
    }
    let mut rows = vec![heading];
    rows.extend(tasks.iter().map(|task| {
        let state = match &task.carried_from {
            Some(run) => format!("{} (in run {run})", task.state.as_str()),
            None => task.state.as_str().to_owned(),
        };
        let exit = match (task.exit_code, task.signal) {
            (_, Some(signal)) => format!("signal {signal}"),
            (Some(code), None) => code.to_string(),
            (None, None) => "-".to_owned(),
        };
        let mut row = vec![
            printable(&task.name),
            state,
            task.started_at.map_or_else(|| "-".to_owned(), time_text),
            task.started_at.map_or_else(
                || "-".to_owned(),
                |start| duration_text(start, task.ended_at),
            ),
            exit,
        ];
        if retried {
            row.push(
                task.attempts
                    .map_or_else(|| "-".to_owned(), |n| n.to_string()),
            );
        }
        row
    }));
    lines.extend(table(&rows));
    for task in tasks {
        let failed = matches!(task.state, TaskState::Failed | TaskState::Interrupted)
            && task.carried_from.is_none();
        if !failed {
            continue;
        }
        lines.push(String::new());
        lines.push(format!(
            "Task '{}' {}: {}",
            printable(&task.name),
            task.state.as_str(),
            task.reason.as_deref().map_or_else(String::new, printable)
        ));
        for (stream, tail) in [("stdout", &task.stdout_tail), ("stderr", &task.stderr_tail)] {
            if let Some(tail) = tail {
                lines.push(format!("  {stream}, last lines:"));
                lines.extend(tail.lines().map(|line| format!("    {}", printable(line))));
            }
        }
    }
    lines
}
