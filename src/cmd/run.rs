//! `factotum run FILE`: check the job, apply host constraints, render templates, run.

use std::io::Write as _;
use std::time::Duration;

use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};

use super::check::{Report, load, print_human};
use crate::cli::RunArgs;
use crate::constraint::{HostConstraint, split_key_value};
use crate::exec::{self, State, clock};
use crate::ir::Job;
use crate::plan::{Plan, StartError};
use crate::template::{Template, Variables};
use crate::{ExitStatus, env};

const GREEN: &str = "\u{1b}[32m";
const YELLOW: &str = "\u{1b}[33m";
const CYAN: &str = "\u{1b}[36m";
const RESET: &str = "\u{1b}[0m";

/// Runs `run`.
pub fn run(args: &RunArgs) -> ExitStatus {
    let colour = super::colour_choice(args.no_colour) == ColorChoice::Always;
    let mut variables = match args.env.as_deref().map(env::parse).transpose() {
        Ok(variables) => variables.unwrap_or_default(),
        Err(error) => {
            eprintln!("error: {error}");
            return ExitStatus::OtherError;
        }
    };
    variables.extend(tags(&args.tags));
    // Command-line constraints are decided before the job is read, as in 0.7: a server that is
    // not the one meant says so and succeeds even when the file is not deployed there.
    let mut constraints = Vec::with_capacity(args.constraints.len());
    for text in &args.constraints {
        match HostConstraint::parse(text) {
            Ok(constraint) => constraints.push((text.clone(), constraint)),
            Err(error) => {
                eprintln!("error: `--constraint {text}`: {error}");
                return ExitStatus::OtherError;
            }
        }
    }
    if let Some(status) = refuse_on_mismatch(&constraints, colour) {
        return status;
    }

    let (source, unreadable) = load(&args.factfile);
    let (job, diagnostics) = match unreadable {
        Some(diagnostic) => (None, vec![diagnostic]),
        None => crate::compile(&source, Some(&variables)),
    };
    if !diagnostics.is_empty() {
        let mut out = StandardStream::stdout(super::colour_choice(args.no_colour));
        let report = Report {
            source,
            diagnostics,
        };
        if print_human(&mut out, &report).is_err() {
            return ExitStatus::OtherError;
        }
    }
    let Some(job) = job else {
        return ExitStatus::Invalid;
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
    if let Some(status) = refuse_on_mismatch(&file_constraints, colour) {
        return status;
    }

    let tasks = prepare(&job, &variables);
    let names: Vec<&str> = tasks.iter().map(|task| task.name.as_str()).collect();
    let dependencies: Vec<Vec<String>> = job
        .tasks
        .iter()
        .map(|task| {
            task.depends_on
                .iter()
                .map(|d| render(d, &variables))
                .collect()
        })
        .collect();
    let dependency_names: Vec<Vec<&str>> = dependencies
        .iter()
        .map(|names| names.iter().map(String::as_str).collect())
        .collect();
    let plan = Plan::new(&names, &dependency_names);
    let start = match &args.start {
        None => None,
        Some(wanted) => match names.iter().position(|name| name == wanted) {
            Some(start) => Some(start),
            None => return refuse_start(wanted, StartError::NotFound),
        },
    };
    let members = match start.map(|start| plan.subtree(start)) {
        None => (0..tasks.len()).collect(),
        Some(Ok(members)) => members,
        Some(Err(error)) => return refuse_start(args.start.as_deref().unwrap_or_default(), error),
    };

    if args.dry_run {
        return dry_run(&tasks, &plan, &members);
    }
    let options = exec::Options {
        jobs: args.jobs,
        grace: Duration::from_secs_f64(args.grace),
        colour,
        tasks_without_colour: args.no_colour,
    };
    let report = match exec::execute(&tasks, &plan, &members, &options) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: cannot run the job: {error}");
            return ExitStatus::OtherError;
        }
    };
    summarise(&tasks, &plan, start, &members, &report, colour)
}

/// Tags as template variables `tag:KEY`, parsed as 0.7 did; later duplicates win.
fn tags(tags: &[String]) -> Variables {
    tags.iter()
        .map(|tag| split_key_value(tag))
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, value)| (format!("tag:{key}"), value))
        .collect()
}

/// Prints 0.7's warning and gives exit 0 when a constraint rules this machine out.
fn refuse_on_mismatch(
    constraints: &[(String, HostConstraint)],
    colour: bool,
) -> Option<ExitStatus> {
    for (text, constraint) in constraints {
        if let Err(reason) = constraint.evaluate() {
            let value = split_key_value(text).1;
            let line = format!(
                "Warn: the specifed host constraint \"{value}\" did not match, no tasks have been executed. Reason: {reason}"
            );
            if colour {
                println!("{YELLOW}{line}{RESET}");
            } else {
                println!("{line}");
            }
            return Some(ExitStatus::Success);
        }
    }
    None
}

fn refuse_start(task: &str, error: StartError) -> ExitStatus {
    let reason = match error {
        StartError::NotFound => "the task specified could not be found",
        StartError::NotSelfContained => {
            "the job cannot be started here without triggering prior tasks"
        }
    };
    println!("The job cannot be started from '{task}' because {reason}");
    ExitStatus::OtherError
}

/// Renders a template; the linter has made sure every variable has a value.
fn render(template: &Template, variables: &Variables) -> String {
    template
        .render(variables)
        .map_or_else(|_| template.text.clone(), std::borrow::Cow::into_owned)
}

/// Each task's rendered name and the exact line `sh -c` runs: the command, a space, then each
/// argument in double quotes, unescaped, as Factotum 0.7 built it.
fn prepare(job: &Job, variables: &Variables) -> Vec<exec::Task> {
    job.tasks
        .iter()
        .map(|task| {
            let arguments: Vec<String> = task
                .arguments
                .iter()
                .map(|argument| format!("\"{}\"", render(argument, variables)))
                .collect();
            let codes = |list: &crate::span::Spanned<Vec<crate::span::Spanned<u16>>>| {
                list.value.iter().map(|code| code.value).collect()
            };
            exec::Task {
                name: render(&task.name, variables),
                command_line: format!(
                    "{} {}",
                    render(&task.command, variables),
                    arguments.join(" ")
                ),
                continue_codes: codes(&task.on_result.continue_job),
                terminate_codes: codes(&task.on_result.terminate_job_with_success),
            }
        })
        .collect()
}

/// Prints what would run, in start order, with the exact command line, quoted for a shell.
fn dry_run(tasks: &[exec::Task], plan: &Plan, members: &[usize]) -> ExitStatus {
    let mut out = std::io::stdout().lock();
    for task in plan.start_order(members) {
        let spec = &tasks[task];
        let _ = writeln!(
            out,
            "Task '{}' would run: sh -c {}",
            spec.name,
            shell_quote(&spec.command_line)
        );
    }
    let _ = writeln!(
        out,
        "{n}/{n} tasks would run; this was a dry run, nothing was started",
        n = members.len()
    );
    ExitStatus::Success
}

/// `text` in single quotes, so it can be pasted into a shell as one word.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Prints 0.7's summary lines and decides the exit code.
fn summarise(
    tasks: &[exec::Task],
    plan: &Plan,
    start: Option<usize>,
    members: &[usize],
    report: &exec::Report,
    colour: bool,
) -> ExitStatus {
    let summary = format!(
        "{}/{} tasks run in {}",
        report.started,
        members.len(),
        clock::summary_duration(report.elapsed)
    );
    if colour {
        println!("{GREEN}{summary}{RESET}");
    } else {
        println!("{summary}");
    }
    let in_plan_order = || -> Vec<usize> {
        let mut order: Vec<usize> = plan.tiers(start).into_iter().flatten().collect();
        order.retain(|task| members.binary_search(task).is_ok());
        order
    };
    let listed = |order: &[usize], keep: &dyn Fn(&State) -> bool| -> String {
        let names: Vec<String> = order
            .iter()
            .filter(|&&task| keep(&report.states[task]))
            .map(|&task| {
                if colour {
                    format!("'{CYAN}{}{RESET}'", tasks[task].name)
                } else {
                    format!("'{}'", tasks[task].name)
                }
            })
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
        let name = if signal == signal_hook::consts::SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        println!(
            "Factotum job was interrupted by {name}, so no more tasks were started - the following tasks were not run: {}!",
            listed(&order, &not_run)
        );
    }
    if any(&failed) {
        println!(
            "Factotum job executed abnormally as a task ({}) failed - the following tasks were not run: {}!",
            listed(&order, &failed),
            listed(&order, &not_run)
        );
        ExitStatus::TaskFailed
    } else if report.interrupted_by.is_some() && any(&not_run) {
        ExitStatus::TaskFailed
    } else {
        if any(&early) {
            println!(
                "Factotum job finished early as a task ({}) requested an early finish. The following tasks were not run: {}.",
                listed(&order, &early),
                listed(&order, &not_run)
            );
        }
        ExitStatus::Success
    }
}
