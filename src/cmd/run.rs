//! `factotum run FILE`: check the job, apply host constraints, render templates, run.

use std::io::Write as _;
use std::time::Duration;

use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};

use super::check::{Report, print_human};
use crate::cli::RunArgs;
use crate::constraint::{HostConstraint, split_key_value};
use crate::exec::{self, State, clock};
use crate::graph::{Schedule, StartError, TaskGraph};
use crate::ir::Job;
use crate::lint::Resolved;
use crate::source::Source;
use crate::span::Spanned;
use crate::template::{Template, Variables};
use crate::{Compiled, ExitStatus, env_option, webhook};

const GREEN: &str = "\u{1b}[32m";
const RED: &str = "\u{1b}[31m";
const YELLOW: &str = "\u{1b}[33m";
const CYAN: &str = "\u{1b}[36m";
const RESET: &str = "\u{1b}[0m";

/// Runs `run`.
pub fn run(args: &RunArgs) -> ExitStatus {
    let colour = super::colour_choice(args.no_colour, &std::io::stdout()) == ColorChoice::Always;
    let variables = match preflight(args, colour) {
        Ok(variables) => variables,
        Err(status) => return status,
    };
    let (job, resolved) = match load_job(args, &variables) {
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
    if let Some(status) = refuse_on_mismatch(&file_constraints, colour) {
        return status;
    }

    let rendered = render_tasks(&job, &variables);
    let tasks: Vec<exec::PreparedTask> = rendered.iter().map(RenderedTask::to_exec).collect();
    let plan = resolved.graph();
    // The linter compared names rendered with these same variables, as `--start` is written.
    let start = match &args.start {
        None => None,
        Some(wanted) => match resolved.task(wanted) {
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
        keep_output: args.webhook.as_ref().map(|_| args.max_stdouterr_size),
        heartbeat: args
            .webhook
            .as_ref()
            .and(args.heartbeat_interval)
            .map(|seconds| Duration::from_secs(seconds.get())),
    };
    let order = || in_plan_order(&plan, start, &members);
    let mut webhook = args.webhook.as_ref().map(|url| {
        let settings = webhook::Settings {
            url: url.clone(),
            timeout: Duration::from_secs_f64(args.webhook_timeout),
            drain: Duration::from_secs_f64(args.webhook_drain),
            live_output: options.heartbeat.is_some(),
        };
        let factfile = compact_factfile(&job, &variables, &rendered);
        let job = webhook::Job {
            factfile: &factfile,
            tags: tags(&args.tags)
                .into_iter()
                .map(|(key, value)| (key["tag:".len()..].to_owned(), value))
                .collect(),
            names: rendered.iter().map(|task| task.name.clone()).collect(),
            order: order(),
        };
        webhook::Webhook::start(&settings, job)
    });
    let mut quiet = exec::Quiet;
    let observer: &mut dyn exec::Observer = match &mut webhook {
        Some(webhook) => webhook,
        None => &mut quiet,
    };
    let report = match exec::execute(&tasks, &plan, &members, &options, observer) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: cannot run the job: {error}");
            return ExitStatus::OtherError;
        }
    };
    let status = summarise(&tasks, &order, &members, &report, colour);
    if let Some(webhook) = webhook {
        webhook.finish(colour);
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
fn preflight(args: &RunArgs, colour: bool) -> Result<Variables, ExitStatus> {
    let mut variables = match args.env.as_deref().map(env_option::parse).transpose() {
        Ok(variables) => variables.unwrap_or_default(),
        Err(error) => {
            eprintln!("error: {error}");
            return Err(ExitStatus::OtherError);
        }
    };
    variables.extend(tags(&args.tags));
    if let Some(url) = &args.webhook {
        if args.dry_run {
            print_error(
                "Error: --webhook cannot be used with the --dry-run option",
                colour,
            );
            return Err(ExitStatus::OtherError);
        }
        if let Err(reason) = webhook::check_url(url) {
            let line =
                format!("Error: the specifed webhook URL \"{url}\" is invalid. Reason: {reason}");
            print_error(&line, colour);
            return Err(ExitStatus::OtherError);
        }
    }
    let mut constraints = Vec::with_capacity(args.constraints.len());
    for text in &args.constraints {
        match HostConstraint::parse(text) {
            Ok(constraint) => constraints.push((text.clone(), constraint)),
            Err(error) => {
                eprintln!("error: `--constraint {text}`: {error}");
                return Err(ExitStatus::OtherError);
            }
        }
    }
    match refuse_on_mismatch(&constraints, colour) {
        Some(status) => Err(status),
        None => Ok(variables),
    }
}

/// Reads and checks the job; its diagnostics (warnings too) are printed as `check` prints them.
fn load_job(args: &RunArgs, variables: &Variables) -> Result<(Job, Resolved), ExitStatus> {
    let (source, unreadable) = Source::read_argument(&args.factfile);
    let compiled = match unreadable {
        Some(diagnostic) => Compiled::unreadable(diagnostic),
        None => crate::compile(&source, Some(variables)),
    };
    let valid = compiled.valid().is_some();
    let Compiled {
        job,
        resolved,
        diagnostics,
    } = compiled;
    if !diagnostics.is_empty() {
        let mut out =
            StandardStream::stdout(super::colour_choice(args.no_colour, &std::io::stdout()));
        let report = Report {
            source,
            diagnostics,
        };
        if print_human(&mut out, &report).is_err() {
            return Err(ExitStatus::OtherError);
        }
    }
    job.zip(resolved)
        .filter(|_| valid)
        .ok_or(ExitStatus::Invalid)
}

/// 0.7's error lines for webhook flags: red, on stdout.
fn print_error(line: &str, colour: bool) {
    if colour {
        println!("{RED}{line}{RESET}");
    } else {
        println!("{line}");
    }
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
        .map_or_else(|_| template.text.to_string(), std::borrow::Cow::into_owned)
}

/// A task with its templates rendered.
struct RenderedTask<'j> {
    name: String,
    executor: &'j str,
    command: String,
    arguments: Vec<String>,
    depends_on: Vec<String>,
    continue_codes: Vec<u16>,
    terminate_codes: Vec<u16>,
}

impl RenderedTask<'_> {
    /// The task as the executor runs it: `sh -c` gets the command, a space, then each argument
    /// in double quotes, unescaped, as Factotum 0.7 built the line.
    fn to_exec(&self) -> exec::PreparedTask {
        let arguments: Vec<String> = self.arguments.iter().map(|a| format!("\"{a}\"")).collect();
        exec::PreparedTask {
            name: self.name.clone(),
            command_line: format!("{} {}", self.command, arguments.join(" ")),
            continue_codes: self.continue_codes.clone(),
            terminate_codes: self.terminate_codes.clone(),
        }
    }
}

fn render_tasks<'j>(job: &'j Job, variables: &Variables) -> Vec<RenderedTask<'j>> {
    let codes =
        |list: &Spanned<Vec<Spanned<u16>>>| list.value.iter().map(|code| code.value).collect();
    let all = |templates: &[Template]| templates.iter().map(|t| render(t, variables)).collect();
    job.tasks
        .iter()
        .map(|task| RenderedTask {
            name: render(&task.name, variables),
            executor: &task.executor.value,
            command: render(&task.command, variables),
            arguments: all(&task.arguments),
            depends_on: all(&task.depends_on),
            continue_codes: codes(&task.on_result.continue_job),
            terminate_codes: codes(&task.on_result.terminate_job_with_success),
        })
        .collect()
}

/// The job as 0.7 re-encoded it for webhooks: compact, in its key order, templates rendered.
fn compact_factfile(
    job: &Job,
    variables: &Variables,
    rendered: &[RenderedTask<'_>],
) -> webhook::CompactFactfile {
    let tasks = rendered
        .iter()
        .map(|task| webhook::CompactTask {
            name: task.name.clone(),
            executor: task.executor.to_owned(),
            command: task.command.clone(),
            arguments: task.arguments.clone(),
            depends_on: task.depends_on.clone(),
            on_result: webhook::CompactOnResult {
                terminate_job_with_success: task.terminate_codes.clone(),
                continue_job: task.continue_codes.clone(),
            },
        })
        .collect();
    webhook::CompactFactfile {
        schema: job.schema.value.clone(),
        data: webhook::CompactJob {
            name: render(&job.name, variables),
            tasks,
            constraints: job.constraints.iter().map(|c| c.value.clone()).collect(),
        },
    }
}

/// Prints what would run, in start order, with the exact command line, quoted for a shell.
fn dry_run(tasks: &[exec::PreparedTask], plan: &TaskGraph, members: &[usize]) -> ExitStatus {
    let mut out = std::io::stdout().lock();
    for task in Schedule::new(plan, members).start_order() {
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
    tasks: &[exec::PreparedTask],
    in_plan_order: &dyn Fn() -> Vec<usize>,
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
