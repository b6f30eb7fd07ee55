//! `factotum run FILE`: check the job, apply host constraints, prepare the tasks, run.

use std::time::Duration;

use codespan_reporting::term::termcolor::Color;

use super::{Loaded, Stdout, error_line, load};
use crate::cli::RunArgs;
use crate::constraint::{HostConstraint, split_key_value};
use crate::exec::{self, PreparedTask, State, clock};
use crate::graph::{Schedule, StartError, TaskGraph};
use crate::ir::Job;
use crate::lint::Resolved;
use crate::render::diagnostics::{Report, print_human};
use crate::render::painted;
use crate::template::{Variables, push_shell_quoted};
use crate::{Compiled, ExitStatus, env_option, webhook};

/// Runs `run`. Everything but the tasks' own lines goes through one standard output, so a
/// failed write is reported once, and the run's exit status is kept (3 if it was a success).
pub(crate) fn run(args: &RunArgs, no_colour: bool) -> ExitStatus {
    let mut stdout = Stdout::new(no_colour);
    let status = run_job(args, no_colour, &mut stdout);
    stdout.finish(status)
}

fn run_job(args: &RunArgs, no_colour: bool, stdout: &mut Stdout) -> ExitStatus {
    let variables = match preflight(args, stdout) {
        Ok(variables) => variables,
        Err(status) => return status,
    };
    let (job, resolved) = match load_job(args, &variables, stdout) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    let file_constraints: Vec<(String, HostConstraint)> = job
        .constraints
        .iter()
        .filter_map(|c| {
            HostConstraint::parse(&c.value)
                .ok()
                .map(|parsed| (c.value.clone(), parsed))
        })
        .collect();
    if let Some(status) = refuse_on_mismatch(&file_constraints, stdout) {
        return status;
    }

    let prepared = exec::prepare(&job, &variables, args.webhook.is_some());
    let tasks = &prepared.tasks;
    let plan = resolved.graph();
    // The linter compared names rendered with these same variables, as `--start` is written.
    let start = match &args.start {
        None => None,
        Some(wanted) => match resolved.task(wanted) {
            Some(start) => Some(start),
            None => return refuse_start(wanted, StartError::NotFound, stdout),
        },
    };
    let members = match start.map(|start| plan.subtree(start)) {
        None => (0..tasks.len()).collect(),
        Some(Ok(members)) => members,
        Some(Err(error)) => {
            return refuse_start(args.start.as_deref().unwrap_or_default(), error, stdout);
        }
    };

    if args.dry_run {
        dry_run(tasks, &plan, &members, stdout);
        return ExitStatus::Success;
    }
    let colour = stdout.colours();
    let options = exec::Options {
        jobs: args.jobs,
        grace: Duration::from_secs_f64(args.grace),
        colour,
        tasks_without_colour: no_colour,
        keep_output: args.webhook.as_ref().map(|_| args.max_stdouterr_size),
        heartbeat: args
            .webhook
            .as_ref()
            .and(args.heartbeat_interval)
            .map(|seconds| Duration::from_secs(seconds.get())),
    };
    let order = || in_plan_order(&plan, start, &members);
    let mut webhook =
        args.webhook
            .as_ref()
            .zip(prepared.factfile.as_ref())
            .map(|(url, factfile)| {
                let settings = webhook::Settings {
                    url: url.clone(),
                    timeout: Duration::from_secs_f64(args.webhook_timeout),
                    drain: Duration::from_secs_f64(args.webhook_drain),
                    grace: options.grace,
                    live_output: options.heartbeat.is_some(),
                };
                let job = webhook::Job {
                    factfile,
                    tags: tags(&args.tags).collect(),
                    names: tasks.iter().map(|task| task.name.clone()).collect(),
                    order: order(),
                };
                webhook::Webhook::start(&settings, job)
            });
    let mut quiet = exec::Quiet;
    let observer: &mut dyn exec::Observer = match &mut webhook {
        Some(webhook) => webhook,
        None => &mut quiet,
    };
    let report = match exec::execute(tasks, &plan, &members, &options, observer) {
        Ok(report) => report,
        Err(error) => {
            error_line(format_args!("error: cannot run the job: {error}"));
            return ExitStatus::OtherError;
        }
    };
    let status = summarise(tasks, &order, &members, &report, stdout);
    if let Some(webhook) = webhook {
        stdout.write(|out| webhook.finish(out, report.interrupted_by, &report.interrupts));
    }
    status
}

/// The run's tasks in 0.7's plan order, for summaries and webhooks.
fn in_plan_order(plan: &TaskGraph, start: Option<usize>, members: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = plan.tiers(start).into_iter().flatten().collect();
    order.retain(|task| members.binary_search(task).is_ok());
    order
}

/// Everything decided before the job is read, in 0.7's order: `--env` and `--tag` (the
/// template variables they give are returned), the webhook flags, then command-line
/// constraints, so a server that is not the one meant succeeds even when the file is absent.
fn preflight(args: &RunArgs, stdout: &mut Stdout) -> Result<Variables, ExitStatus> {
    let mut variables = match args.env.as_deref().map(env_option::parse).transpose() {
        Ok(variables) => variables.unwrap_or_default(),
        Err(error) => {
            error_line(format_args!("error: {error}"));
            return Err(ExitStatus::OtherError);
        }
    };
    variables.extend(tags(&args.tags).map(|(key, value)| (format!("tag:{key}"), value)));
    if let Some(url) = &args.webhook {
        // 0.7's error lines for webhook flags: red, on stdout.
        if args.dry_run {
            stdout.line_in(
                Color::Red,
                "Error: --webhook cannot be used with the --dry-run option",
            );
            return Err(ExitStatus::OtherError);
        }
        if let Err(reason) = webhook::check_url(url) {
            let line =
                format!("Error: the specifed webhook URL \"{url}\" is invalid. Reason: {reason}");
            stdout.line_in(Color::Red, &line);
            return Err(ExitStatus::OtherError);
        }
    }
    let mut constraints = Vec::with_capacity(args.constraints.len());
    for text in &args.constraints {
        match HostConstraint::parse(text) {
            Ok(constraint) => constraints.push((text.clone(), constraint)),
            Err(error) => {
                error_line(format_args!("error: `--constraint {text}`: {error}"));
                return Err(ExitStatus::OtherError);
            }
        }
    }
    match refuse_on_mismatch(&constraints, stdout) {
        Some(status) => Err(status),
        None => Ok(variables),
    }
}

/// Reads and checks the job; its diagnostics (warnings too) are printed as `check` prints them.
fn load_job(
    args: &RunArgs,
    variables: &Variables,
    stdout: &mut Stdout,
) -> Result<(Job, Resolved), ExitStatus> {
    let Loaded { source, compiled } = load(&args.factfile, Some(variables));
    let valid = compiled.valid().is_some();
    let Compiled {
        job,
        resolved,
        diagnostics,
        ..
    } = compiled;
    if !diagnostics.is_empty() {
        let report = Report {
            source,
            diagnostics,
        };
        stdout.write(|out| print_human(out, &report));
    }
    job.zip(resolved)
        .filter(|_| valid)
        .ok_or(ExitStatus::Invalid)
}

/// `--tag KEY,VALUE` pairs as 0.7 parsed them, in order, so that a later duplicate wins
/// wherever they are collected: as template variables `tag:KEY` and as the webhook's tags.
fn tags(tags: &[String]) -> impl Iterator<Item = (String, String)> + '_ {
    tags.iter()
        .map(|tag| split_key_value(tag))
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, value)| (key.to_owned(), value))
}

/// Prints 0.7's warning and gives exit 0 when a constraint rules this machine out.
fn refuse_on_mismatch(
    constraints: &[(String, HostConstraint)],
    stdout: &mut Stdout,
) -> Option<ExitStatus> {
    for (text, constraint) in constraints {
        if let Err(reason) = constraint.evaluate() {
            let value = split_key_value(text).1;
            let line = format!(
                "Warn: the specifed host constraint \"{value}\" did not match, no tasks have been executed. Reason: {reason}"
            );
            stdout.line_in(Color::Yellow, &line);
            return Some(ExitStatus::Success);
        }
    }
    None
}

fn refuse_start(task: &str, error: StartError, stdout: &mut Stdout) -> ExitStatus {
    let reason = match error {
        StartError::NotFound => "the task specified could not be found",
        StartError::NotSelfContained => {
            "the job cannot be started here without triggering prior tasks"
        }
    };
    stdout.line(&format!(
        "The job cannot be started from '{task}' because {reason}"
    ));
    ExitStatus::OtherError
}

/// Prints what would run, in start order, with the exact command line, quoted for a shell.
fn dry_run(tasks: &[PreparedTask], plan: &TaskGraph, members: &[usize], stdout: &mut Stdout) {
    for task in Schedule::new(plan, members).start_order() {
        let spec = &tasks[task];
        let mut line = format!("Task '{}' would run: sh -c ", spec.name);
        push_shell_quoted(&mut line, &spec.command_line);
        stdout.line(&line);
    }
    stdout.line(&format!(
        "{n}/{n} tasks would run; this was a dry run, nothing was started",
        n = members.len()
    ));
}

/// Prints 0.7's summary lines and decides the exit code.
fn summarise(
    tasks: &[PreparedTask],
    in_plan_order: &dyn Fn() -> Vec<usize>,
    members: &[usize],
    report: &exec::Report,
    stdout: &mut Stdout,
) -> ExitStatus {
    let summary = format!(
        "{}/{} tasks run in {}",
        report.started,
        members.len(),
        clock::summary_duration(report.elapsed)
    );
    stdout.line_in(Color::Green, &summary);
    let colour = stdout.colours();
    let listed = |order: &[usize], keep: &dyn Fn(&State) -> bool| -> String {
        let names: Vec<String> = order
            .iter()
            .filter(|&&task| keep(&report.states[task]))
            .map(|&task| format!("'{}'", painted(&tasks[task].name, Color::Cyan, colour)))
            .collect();
        names.join(", ")
    };
    let not_run = |state: &State| matches!(state, State::Waiting | State::Skipped(_));
    let failed = |state: &State| matches!(state, State::Failed(_));
    let early = |state: &State| *state == State::FinishedEarly;
    let any =
        |keep: &dyn Fn(&State) -> bool| members.iter().any(|&task| keep(&report.states[task]));
    if !any(&failed) && !any(&early) && report.interrupted_by.is_none() {
        return ExitStatus::Success;
    }
    let order = in_plan_order();
    if let Some(signal) = report.interrupted_by {
        let name = exec::signal_name(signal);
        let line = if any(&not_run) {
            format!(
                "Factotum job was interrupted by {name}, so no more tasks were started - the following tasks were not run: {}!",
                listed(&order, &not_run)
            )
        } else {
            format!("Factotum job was interrupted by {name} - every task had already started!")
        };
        stdout.line(&line);
    }
    if any(&failed) {
        let failed = listed(&order, &failed);
        let line = if any(&not_run) {
            format!(
                "Factotum job executed abnormally as a task ({failed}) failed - the following tasks were not run: {}!",
                listed(&order, &not_run)
            )
        } else {
            format!(
                "Factotum job executed abnormally as a task ({failed}) failed - every other task was run!"
            )
        };
        stdout.line(&line);
        ExitStatus::TaskFailed
    } else if report.interrupted_by.is_some() {
        // Even when every task it stopped exited 0: the run did not go as planned.
        ExitStatus::TaskFailed
    } else {
        if any(&early) {
            let early = listed(&order, &early);
            let line = if any(&not_run) {
                format!(
                    "Factotum job finished early as a task ({early}) requested an early finish. The following tasks were not run: {}.",
                    listed(&order, &not_run)
                )
            } else {
                format!(
                    "Factotum job finished early as a task ({early}) requested an early finish. Every other task was run."
                )
            };
            stdout.line(&line);
        }
        ExitStatus::Success
    }
}
