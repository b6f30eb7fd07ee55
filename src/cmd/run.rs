//! `factotum run FILE`: check the job, apply host constraints, prepare the tasks, run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use codespan_reporting::term::termcolor::Color;

use super::claims::{self, Keeper, Taken};
use super::{Loaded, Stdout, error_line, load};
use crate::cli::RunArgs;
use crate::constraint::{HostConstraint, split_key_value};
use crate::exec::{self, PreparedRun, PreparedTask, State, clock};
use crate::graph::{Schedule, StartError, TaskGraph};
use crate::ir::Job;
use crate::lint::Resolved;
use crate::render::diagnostics::{Report, print_human};
use crate::render::painted;
use crate::span::Span;
use crate::store::claims as claims_store;
use crate::store::recorder::{self, Recorder};
use crate::store::resume::{self, ResumePlan};
use crate::store::{self, Address, Backend, Outcome, RunRecord, RunSummary, TaskRecord};
use crate::syntax::Format;
use crate::template::Variables;
use crate::template::{Template, push_shell_quoted};
use crate::{Compiled, ExitStatus, env_option, webhook};

/// Runs `run`. Everything but the tasks' own lines goes through one standard output, so a
/// failed write is reported once, and the run's exit status is kept (3 if it was a success).
pub(crate) fn run(args: &RunArgs, no_colour: bool) -> ExitStatus {
    let mut stdout = Stdout::new(no_colour);
    let status = run_job(args, no_colour, &mut stdout);
    stdout.finish(status)
}

fn run_job(args: &RunArgs, no_colour: bool, stdout: &mut Stdout) -> ExitStatus {
    let mut variables = match preflight(args, stdout) {
        Ok(variables) => variables,
        Err(status) => return status,
    };
    // A resumed run reads the run it resumes before the job: its `--env` and `--tag` values
    // are the defaults.
    let (mut store, mut resumed) = match args.resume.as_deref() {
        Some(wanted) => match resume_target(args, wanted, stdout) {
            Ok((opened, resumed)) => (Some(opened), Some(resumed)),
            Err(status) => return status,
        },
        None => (None, None),
    };
    let tags = match template_inputs(args, resumed.as_ref(), &mut variables) {
        Ok(tags) => tags,
        Err(status) => return status,
    };
    let (job, resolved, format) = match load_job(args, &variables, stdout) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    if let Some(status) = refuse_on_mismatch(&file_constraints(&job), stdout) {
        return status;
    }

    let prepared = prepare(args, &job, format, &variables);
    let tasks = &prepared.tasks;
    let plan = resolved.graph();
    let (start, mut members) = match start_and_members(args, &resolved, &plan, stdout) {
        Ok(chosen) => chosen,
        Err(status) => return status,
    };
    let run_id = store::new_run_id(std::time::SystemTime::now());
    let asks = match claim_asks(args, &variables, &run_id) {
        Ok(asks) => asks,
        Err(status) => return status,
    };
    if !asks.is_empty()
        && !args.dry_run
        && let Err(status) = take_claims(args, &asks, &mut store, &mut resumed, stdout)
    {
        return status;
    }
    let definitions = recorder::definitions(tasks, &plan);
    let names: Vec<String> = tasks.iter().map(|task| task.name.clone()).collect();
    let resume_plan = resumed.as_ref().map(|resumed| {
        resume::plan(
            &plan,
            &names,
            &definitions,
            &resumed.tasks,
            &resumed.summary.run.id,
        )
    });
    if let Some(resume_plan) = &resume_plan {
        members.clone_from(&resume_plan.members);
    }

    if args.dry_run {
        if let Some(resume_plan) = &resume_plan {
            for line in resume_plan.describe(&names) {
                stdout.line(&line);
            }
        }
        dry_run(&prepared, &plan, &members, stdout);
        return ExitStatus::Success;
    }
    let record = run_record(
        args,
        run_id,
        &prepared.name,
        &definitions,
        &tags,
        resumed.as_ref(),
    );
    let rows = task_rows(&names, &definitions, &plan, resume_plan.as_ref());
    let record_resumes = record.resumes.clone();
    let inbox = exec::Inbox::new(Duration::from_secs_f64(args.grace));
    // The leases are kept from before the run is recorded, on a connection of their own.
    let keeper = match keep_claims(args, &asks, &mut store, &inbox) {
        Ok(keeper) => keeper,
        Err(status) => return status,
    };
    let recording = match start_recording(args, store, &record, rows) {
        Ok(recording) => recording,
        Err(status) => {
            if let Some(keeper) = keeper {
                keeper.abandon();
            }
            return status;
        }
    };
    if let Some(summary) = resume_plan.and_then(|plan| plan.describe(&names).into_iter().next()) {
        error_line(format_args!("{summary}"));
    }
    let ready = Ready {
        prepared: &prepared,
        plan: &plan,
        start,
        members: &members,
        tags: &tags,
        resumes: record_resumes.as_deref(),
    };
    execute(args, no_colour, &ready, (recording, keeper, inbox), stdout)
}

/// A job ready to run: everything decided, the store opened or not.
struct Ready<'r> {
    prepared: &'r PreparedRun,
    plan: &'r TaskGraph,
    start: Option<usize>,
    members: &'r [usize],
    tags: &'r [(String, String)],
    /// The run this one resumes, if it does.
    resumes: Option<&'r str>,
}

/// Runs the job with its observers (webhook, run history), then prints the summary.
fn execute(
    args: &RunArgs,
    no_colour: bool,
    ready: &Ready<'_>,
    (recording, keeper, inbox): (Recording, Option<Keeper>, exec::Inbox),
    stdout: &mut Stdout,
) -> ExitStatus {
    let &Ready {
        prepared,
        plan,
        start,
        members,
        tags,
        resumes,
    } = ready;
    let (tasks, factfile) = (&prepared.tasks, prepared.factfile.as_ref());
    let (mut recorder, not_kept) = match recording {
        Recording::Kept(recorder) => (Some(recorder), None),
        Recording::Failed(problem) => (None, Some(problem)),
        Recording::Off => (None, None),
    };
    let colour = stdout.colours();
    let options = exec::Options {
        jobs: args.jobs,
        grace: Duration::from_secs_f64(args.grace),
        colour,
        tasks_without_colour: no_colour,
        keep_output: (recorder.is_some() || args.webhook.is_some())
            .then_some(args.max_stdouterr_size),
        heartbeat: args
            .webhook
            .as_ref()
            .and(args.heartbeat_interval)
            .map(|seconds| Duration::from_secs(seconds.get())),
        job_timeout: prepared.timeout.clone(),
        pools: prepared.pools.iter().cloned().collect(),
    };
    let order = || in_plan_order(plan, start, members);
    let mut webhook = args.webhook.as_ref().zip(factfile).map(|(url, factfile)| {
        let settings = webhook::Settings {
            url: url.clone(),
            timeout: Duration::from_secs_f64(args.webhook_timeout),
            drain: Duration::from_secs_f64(args.webhook_drain),
            grace: options.grace,
            live_output: options.heartbeat.is_some(),
            signer: webhook::signer_from_environment(),
        };
        let job = webhook::Job {
            factfile,
            // A resumed run's events say which run it resumes, where 0.7's schema has room.
            tags: tags
                .iter()
                .cloned()
                .chain(resumes.map(|run| ("resumes".to_owned(), run.to_owned())))
                .collect(),
            names: tasks.iter().map(|task| task.name.clone()).collect(),
            order: order(),
        };
        webhook::Webhook::start(settings, job)
    });
    let mut observers = exec::Observers(Vec::new());
    if let Some(webhook) = &mut webhook {
        observers.0.push(webhook);
    }
    if let Some(recorder) = &mut recorder {
        observers.0.push(recorder);
    }
    let executed = exec::execute(tasks, plan, members, &options, &mut observers, inbox);
    let report = match executed {
        Ok(report) => report,
        Err(error) => {
            error_line(format_args!("error: cannot run the job: {error}"));
            if let Some(recorder) = recorder {
                recorder.finish(Outcome::Failed, ExitStatus::OtherError as i32);
            }
            if let Some(keeper) = keeper {
                keeper.abandon();
            }
            return ExitStatus::OtherError;
        }
    };
    let status = summarise(tasks, &order, members, &report, stdout);
    let outcome = outcome(&report, members);
    let store_problem = match recorder {
        Some(recorder) => recorder.finish(outcome, status as i32),
        None => not_kept,
    };
    // After the run is recorded, so that whoever finds a claim released finds the run too.
    if let Some(keeper) = keeper {
        keeper.finish(outcome.is_success());
    }
    if let Some(problem) = store_problem {
        stdout.line(&format!(
            "The run history of this run is incomplete: {problem}"
        ));
    }
    if let Some(webhook) = webhook {
        stdout.write(|out| webhook.finish(out, report.interrupted_by, &report.interrupts));
    }
    status
}

/// The job's own host constraints, as `--constraint` gives them.
fn file_constraints(job: &Job) -> Vec<(String, HostConstraint)> {
    job.constraints
        .iter()
        .filter_map(|c| {
            HostConstraint::parse(&c.value)
                .ok()
                .map(|parsed| (c.value.clone(), parsed))
        })
        .collect()
}

/// Where the run starts (`--start`) and which tasks it covers, in file order.
fn start_and_members(
    args: &RunArgs,
    resolved: &Resolved,
    plan: &TaskGraph,
    stdout: &mut Stdout,
) -> Result<(Option<usize>, Vec<usize>), ExitStatus> {
    // The linter compared names rendered with these same variables, as `--start` is written.
    let Some(wanted) = &args.start else {
        return Ok((None, (0..plan.len()).collect()));
    };
    let Some(start) = resolved.task(wanted) else {
        return Err(refuse_start(wanted, StartError::NotFound, stdout));
    };
    match plan.subtree(start) {
        Ok(members) => Ok((Some(start), members)),
        Err(error) => Err(refuse_start(wanted, error, stdout)),
    }
}

/// The run a resumed run resumes.
struct Resumed {
    summary: RunSummary,
    tasks: Vec<TaskRecord>,
}

/// Opens the store (it must open, named or not: the run to resume is in it) and finds the
/// run `--resume` names; `wanted` is empty for the latest run of this job.
fn resume_target(
    args: &RunArgs,
    wanted: &str,
    stdout: &mut Stdout,
) -> Result<(Box<dyn Backend>, Resumed), ExitStatus> {
    let mut store = super::open_store(&args.store)?;
    let wanted = Some(wanted).filter(|wanted| !wanted.is_empty());
    let (summary, tasks) = find_resumed(&mut *store, args, wanted, stdout)?;
    Ok((store, Resumed { summary, tasks }))
}

/// Completes the template variables with the tags, and returns the tags. A resumed run
/// takes `--env` and `--tag` from the run it resumes unless they are given again.
fn template_inputs(
    args: &RunArgs,
    resumed: Option<&Resumed>,
    variables: &mut Variables,
) -> Result<Vec<(String, String)>, ExitStatus> {
    let recorded = resumed.map(|resumed| &resumed.summary.run);
    let tags: Vec<(String, String)> = match recorded {
        Some(run) if args.tags.is_empty() => run.tags.clone(),
        _ => tags(&args.tags).collect(),
    };
    if let Some(env) = recorded
        .filter(|_| args.env.is_none())
        .and_then(|run| run.env.as_deref())
    {
        *variables = env_option::parse(env).map_err(|error| {
            error_line(format_args!(
                "error: the `--env` recorded for the resumed run cannot be read: {error}"
            ));
            ExitStatus::OtherError
        })?;
    }
    variables.extend(tag_variables(&tags));
    Ok(tags)
}

/// The run as the store first records it.
fn run_record(
    args: &RunArgs,
    id: String,
    job_name: &str,
    definitions: &[String],
    tags: &[(String, String)],
    resumed: Option<&Resumed>,
) -> RunRecord {
    let recorded = resumed.map(|resumed| &resumed.summary.run);
    let now = std::time::SystemTime::now();
    RunRecord {
        id,
        job: job_name.to_owned(),
        file: store::file_key(&args.factfile),
        job_hash: recorder::job_hash(job_name, definitions),
        env: args
            .env
            .clone()
            .or_else(|| recorded.and_then(|run| run.env.clone())),
        tags: tags.to_vec(),
        host: store::host_name(),
        user: store::user_name(),
        pid: std::process::id(),
        process_identity: store::process_identity(std::process::id()),
        started_at: store::millis(now),
        ended_at: None,
        outcome: Outcome::Running,
        exit_code: None,
        resumes: recorded.map(|run| run.id.clone()),
    }
}

/// The run `--resume` names, or the latest run of this job; one that succeeded leaves
/// nothing to do (exit 0), one still running cannot be resumed (exit 3).
fn find_resumed(
    store: &mut dyn Backend,
    args: &RunArgs,
    wanted: Option<&str>,
    stdout: &mut Stdout,
) -> Result<(RunSummary, Vec<TaskRecord>), ExitStatus> {
    let lookup = if let Some(wanted) = wanted {
        store::find_run(store, wanted)
    } else {
        let file = store::file_key(&args.factfile);
        store
            .list_runs(Some(&file), 1)
            .and_then(|listing| match listing.rows.into_iter().next() {
                Some(latest) => store::find_run(store, &latest.run.id),
                None => Ok(store::Lookup::NotFound),
            })
    };
    let (summary, tasks) = match lookup {
        Ok(store::Lookup::Found(found)) => *found,
        Ok(store::Lookup::NotFound) => {
            let what = wanted.map_or_else(
                || format!("no run of {} is recorded", args.factfile.display()),
                |wanted| format!("no run `{wanted}` is recorded"),
            );
            error_line(format_args!(
                "error: nothing to resume: {what} in {}",
                store.location()
            ));
            return Err(ExitStatus::OtherError);
        }
        Ok(store::Lookup::Ambiguous(ids)) => {
            error_line(format_args!(
                "error: `{}` is the start of several runs ({}): give more of the id",
                wanted.unwrap_or_default(),
                ids.join(", ")
            ));
            return Err(ExitStatus::OtherError);
        }
        Err(error) => {
            error_line(format_args!("error: {error}"));
            return Err(ExitStatus::OtherError);
        }
    };
    match summary.outcome() {
        Outcome::Running => {
            error_line(format_args!(
                "error: run {} is still running (pid {} on {}): it cannot be resumed while it runs",
                summary.run.id, summary.run.pid, summary.run.host
            ));
            Err(ExitStatus::OtherError)
        }
        outcome if outcome.is_success() => {
            stdout.line(&format!(
                "Nothing to resume: run {} {}.",
                summary.run.id,
                outcome.as_str()
            ));
            Err(ExitStatus::Success)
        }
        _ => Ok((summary, tasks.rows)),
    }
}

/// Whether and where the run is recorded.
enum Recording {
    /// In this store.
    Kept(Recorder),
    /// Not at all, because the default store did not work.
    Failed(store::StoreError),
    /// Not at all, as asked with `--store none`.
    Off,
}

/// The claims `--lock`, `--soft-lock` and `--once` ask for, for the run `run`; the key is
/// rendered with the run's variables.
fn claim_asks(
    args: &RunArgs,
    variables: &Variables,
    run: &str,
) -> Result<Vec<claims_store::Ask>, ExitStatus> {
    let once = match &args.once {
        None => None,
        Some(text) => {
            let template =
                Template::parse(text, Span::default(), &|offset| offset, &mut Vec::new());
            match template.render(variables) {
                Ok(key) if !key.trim().is_empty() => Some(key.into_owned()),
                Ok(_) => {
                    error_line(format_args!(
                        "error: `--once {text}` renders to an empty key"
                    ));
                    return Err(ExitStatus::OtherError);
                }
                Err(missing) => {
                    error_line(format_args!(
                        "error: `--once {text}`: no value for `{}`; give it with --env",
                        missing.name
                    ));
                    return Err(ExitStatus::OtherError);
                }
            }
        }
    };
    let holder = claims_store::Holder {
        run: run.to_owned(),
        host: store::host_name(),
        pid: std::process::id(),
        process_identity: store::process_identity(std::process::id()),
    };
    Ok(
        claims::kinds_asked(&args.locks, &args.soft_locks, once.as_deref())
            .map(|(name, kind)| claims_store::Ask {
                name: name.to_owned(),
                kind,
                holder: holder.clone(),
                lease: Duration::from_secs_f64(args.lease),
                resume_failed: args.resume.is_some(),
            })
            .collect(),
    )
}

/// Takes the claims of `asks` in the store (opening it if the run has not yet), or says
/// why the run must not start. A claim taken over from a lost holder makes the run resume
/// that holder's run.
fn take_claims(
    args: &RunArgs,
    asks: &[claims_store::Ask],
    store: &mut Option<Box<dyn Backend>>,
    resumed: &mut Option<Resumed>,
    stdout: &mut Stdout,
) -> Result<(), ExitStatus> {
    let mut backend = match store.take() {
        Some(backend) => backend,
        None => store_for_claims(args)?,
    };
    let job_file = args.factfile.display().to_string();
    match claims::take(&mut *backend, asks, args.wait, &job_file, stdout) {
        Taken::Stop(status) => return Err(status),
        Taken::Go { resume: None } => {}
        Taken::Go { resume: Some(lost) } => match store::find_run(&mut *backend, &lost) {
            Ok(store::Lookup::Found(found)) => {
                let (summary, previous) = *found;
                *resumed = Some(Resumed {
                    summary,
                    tasks: previous.rows,
                });
            }
            // A claim whose run was never recorded: nothing is known done, all runs.
            Ok(_) => {}
            Err(error) => {
                error_line(format_args!("error: {error}"));
                claims::free(&mut *backend, asks);
                return Err(ExitStatus::OtherError);
            }
        },
    }
    *store = Some(backend);
    Ok(())
}

/// Starts keeping the leases of the claims taken, if any; a second connection that cannot
/// be made frees them and stops the run before it starts.
fn keep_claims(
    args: &RunArgs,
    asks: &[claims_store::Ask],
    store: &mut Option<Box<dyn Backend>>,
    inbox: &exec::Inbox,
) -> Result<Option<Keeper>, ExitStatus> {
    let Some(backend) = store.as_deref_mut().filter(|_| !asks.is_empty()) else {
        return Ok(None);
    };
    match backend.connect_again() {
        Ok(connection) => Ok(Some(Keeper::start(
            connection,
            asks.to_vec(),
            Duration::from_secs_f64(args.grace),
            inbox.stopper(),
        ))),
        Err(error) => {
            error_line(format_args!("error: {error}"));
            claims::free(backend, asks);
            Err(ExitStatus::OtherError)
        }
    }
}

/// The store claims are kept in: it must work, named or not, since running anyway could run
/// a job twice (exit 3 otherwise, before any task).
fn store_for_claims(args: &RunArgs) -> Result<Box<dyn Backend>, ExitStatus> {
    if args.store.named() == Some(store::NO_STORE) {
        error_line(format_args!(
            "error: --lock, --soft-lock and --once keep their claims in the store: `--store none` cannot hold them"
        ));
        return Err(ExitStatus::OtherError);
    }
    super::open_store(&args.store)
}

/// Opens the store and records the start of the run. A store named with `--store` (or
/// `FACTOTUM_STORE`) that does not work stops the run before any task starts (exit 3); the
/// default one only warns: the job runs, unrecorded.
fn start_recording(
    args: &RunArgs,
    opened: Option<Box<dyn Backend>>,
    record: &RunRecord,
    rows: Vec<TaskRecord>,
) -> Result<Recording, ExitStatus> {
    if args.store.named() == Some(store::NO_STORE) {
        return Ok(Recording::Off);
    }
    let address = match Address::resolve(args.store.named()) {
        Ok(address) => address,
        Err(reason) if args.store.named().is_some() => {
            error_line(format_args!("error: {reason}"));
            return Err(ExitStatus::OtherError);
        }
        Err(reason) => {
            error_line(format_args!(
                "Warn: the run history is not kept, the job runs all the same: {reason}"
            ));
            return Ok(Recording::Failed(store::StoreError {
                store: "default".to_owned(),
                message: reason,
            }));
        }
    };
    let started = match opened {
        Some(backend) => Ok(backend),
        None => store::open(&address.location),
    }
    .and_then(|backend| {
        let location = backend.location().to_string();
        Recorder::begin(backend, record, rows).map(|recorder| (recorder, location))
    });
    match started {
        Ok((recorder, location)) => {
            let resumes = record
                .resumes
                .as_ref()
                .map(|resumed| format!(", resuming run {resumed}"))
                .unwrap_or_default();
            error_line(format_args!(
                "Run {} is recorded in {location}{resumes}",
                record.id
            ));
            Ok(Recording::Kept(recorder))
        }
        Err(error) if address.named => {
            error_line(format_args!("error: {error}"));
            Err(ExitStatus::OtherError)
        }
        Err(error) => {
            error_line(format_args!(
                "Warn: the run history is not kept, the job runs all the same: {error}"
            ));
            Ok(Recording::Failed(error))
        }
    }
}

/// Each task's place in 0.7's plan order of the whole job.
fn plan_positions(plan: &TaskGraph) -> Vec<usize> {
    let mut place = vec![0; plan.len()];
    for (order, task) in plan.tiers(None).into_iter().flatten().enumerate() {
        place[task] = order;
    }
    place
}

/// The rows a run starts with: every task of the job, not started, but for those a resumed
/// run does not run, which keep their state from the run they last ran in.
fn task_rows(
    names: &[String],
    definitions: &[String],
    plan: &TaskGraph,
    resume_plan: Option<&ResumePlan>,
) -> Vec<TaskRecord> {
    let plan_positions = plan_positions(plan);
    let mut rows: Vec<TaskRecord> = names
        .iter()
        .zip(definitions)
        .enumerate()
        .map(|(task, (name, definition))| {
            TaskRecord::not_started(task, plan_positions[task], name.clone(), definition.clone())
        })
        .collect();
    for carried in resume_plan
        .map(|plan| plan.carried.as_slice())
        .unwrap_or_default()
    {
        if let Some(row) = rows.get_mut(carried.position) {
            *row = TaskRecord {
                plan_order: plan_positions[carried.position],
                ..carried.clone()
            };
        }
    }
    rows
}

/// How the run ended, as the store records it.
fn outcome(report: &exec::Report, members: &[usize]) -> Outcome {
    let any = |keep: fn(&State) -> bool| members.iter().any(|&task| keep(&report.states[task]));
    if report.interrupted_by.is_some() || report.stopped.is_some() {
        Outcome::Interrupted
    } else if any(|state| matches!(state, State::Failed(_))) {
        Outcome::Failed
    } else if any(|state| *state == State::FinishedEarly) {
        Outcome::FinishedEarly
    } else {
        Outcome::Succeeded
    }
}

/// The run's tasks in 0.7's plan order, for summaries and webhooks.
fn in_plan_order(plan: &TaskGraph, start: Option<usize>, members: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = plan.tiers(start).into_iter().flatten().collect();
    order.retain(|task| members.binary_search(task).is_ok());
    order
}

/// Everything decided before the job is read, in 0.7's order: `--env` (the template
/// variables it gives are returned), the webhook flags, then command-line
/// constraints, so a server that is not the one meant succeeds even when the file is absent.
fn preflight(args: &RunArgs, stdout: &mut Stdout) -> Result<Variables, ExitStatus> {
    let variables = super::env_variables(args.env.as_deref())?;
    // A crontab's `FACTOTUM_WEBHOOK` must not stop someone trying the job with a dry run.
    let typed_webhook = args
        .webhook
        .as_ref()
        .filter(|url| !(args.dry_run && from_environment("FACTOTUM_WEBHOOK", url)));
    if let Some(url) = typed_webhook {
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
    match refuse_unless_any_matches(&constraints, stdout) {
        Some(status) => Err(status),
        None => Ok(variables),
    }
}

/// Whether `value` is what the environment variable `name` holds (so it may not have been
/// typed).
fn from_environment(name: &str, value: &str) -> bool {
    std::env::var_os(name).is_some_and(|set| set == value)
}

/// Reads and checks the job; its diagnostics (warnings too) are printed as `check` prints them.
fn load_job(
    args: &RunArgs,
    variables: &Variables,
    stdout: &mut Stdout,
) -> Result<(Job, Resolved, Format), ExitStatus> {
    let Loaded { source, compiled } = load(&args.factfile, Some(variables));
    let format = Format::of(&source);
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
        .map(|(job, resolved)| (job, resolved, format))
        .ok_or(ExitStatus::Invalid)
}

/// `--tag KEY,VALUE` pairs as 0.7 parsed them, in order, so that a later duplicate wins
/// wherever they are collected: as template variables `tag:KEY` and as the webhook's tags.
pub(crate) fn tags(tags: &[String]) -> impl Iterator<Item = (String, String)> + '_ {
    tags.iter()
        .map(|tag| split_key_value(tag))
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, value)| (key.to_owned(), value))
}

/// Tags as the template variables `tag:KEY` they give.
pub(crate) fn tag_variables<'t>(
    tags: impl IntoIterator<Item = &'t (String, String)>,
) -> impl Iterator<Item = (String, String)> {
    tags.into_iter()
        .map(|(key, value)| (format!("tag:{key}"), value.clone()))
}

/// Prints 0.7's warning and gives exit 0 when the command line's constraints, a list of
/// allowed hosts, all rule this machine out: one that holds lets the job run. (0.7 kept only
/// the last `--constraint`; requiring all would never run for two different hosts.)
fn refuse_unless_any_matches(
    constraints: &[(String, HostConstraint)],
    stdout: &mut Stdout,
) -> Option<ExitStatus> {
    let mut refusals = Vec::with_capacity(constraints.len());
    for (text, constraint) in constraints {
        match constraint.evaluate() {
            Ok(()) => return None,
            Err(reason) => refusals.push((split_key_value(text).1, reason)),
        }
    }
    let line = match refusals.as_slice() {
        [] => return None,
        [(value, reason)] => format!(
            "Warn: the specifed host constraint \"{value}\" did not match, no tasks have been executed. Reason: {reason}"
        ),
        several => {
            let values: Vec<String> = several
                .iter()
                .map(|(value, _)| format!("\"{value}\""))
                .collect();
            let reasons: Vec<String> = several
                .iter()
                .map(|(value, reason)| format!("\"{value}\": {reason}"))
                .collect();
            format!(
                "Warn: the specifed host constraints {} did not match, no tasks have been executed. Reasons: {}",
                values.join(", "),
                reasons.join("; ")
            )
        }
    };
    stdout.line_in(Color::Yellow, &line);
    Some(ExitStatus::Success)
}

/// Prints 0.7's warning and gives exit 0 when one of the job's own constraints rules this
/// machine out.
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

/// The job's templates rendered, its tasks ready to run (with the webhook's factfile when
/// there is a webhook).
fn prepare(args: &RunArgs, job: &Job, format: Format, variables: &Variables) -> PreparedRun {
    let directory = job_directory(&args.factfile);
    exec::prepare(job, format, variables, args.webhook.is_some(), &directory)
}

/// The directory a job's relative working directories start from: the job file's, or the
/// current one for a job read from standard input.
pub(crate) fn job_directory(factfile: &Path) -> PathBuf {
    if factfile == Path::new("-") {
        return PathBuf::new();
    }
    factfile.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Prints what would run, in start order, with the exact command line, quoted for a shell,
/// and each task's options under it.
fn dry_run(prepared: &PreparedRun, plan: &TaskGraph, members: &[usize], stdout: &mut Stdout) {
    if let Some((_, written)) = &prepared.timeout {
        stdout.line(&format!("The job would be stopped after {written}s"));
    }
    let pool_of = |task: usize| {
        let pool = prepared.tasks[task].options.pool.as_ref()?;
        prepared.pools.iter().position(|(name, _)| name == pool)
    };
    let sizes: Vec<usize> = prepared.pools.iter().map(|(_, size)| *size).collect();
    for task in Schedule::new(plan, members).start_order_in_pools(pool_of, &sizes) {
        let spec = &prepared.tasks[task];
        stdout.line(&format!(
            "Task '{}' would run: {}",
            spec.name,
            spec.shell_command()
        ));
        for option in option_lines(&spec.options, &prepared.pools) {
            stdout.line(&format!("    {option}"));
        }
    }
    stdout.line(&format!(
        "{n}/{n} tasks would run; this was a dry run, nothing was started",
        n = members.len()
    ));
}

/// A task's options as `--dry-run` shows them, one line each.
pub(crate) fn option_lines(options: &exec::TaskOptions, pools: &[(String, usize)]) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(retry) = &options.retry {
        let mut parts = vec![
            format!("{} attempts", retry.attempts),
            format!("delay {}", clock::seconds(retry.delay)),
            format!("backoff {}", retry.backoff),
        ];
        parts.extend(
            retry
                .max_delay
                .map(|max| format!("max {}", clock::seconds(max))),
        );
        parts.push(retry.on_codes.as_ref().map_or_else(
            || "on any failure".to_owned(),
            |codes| {
                let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
                format!("on exit {}", codes.join(", "))
            },
        ));
        lines.push(format!("retry: {}", parts.join(", ")));
    }
    if let Some((_, written)) = &options.timeout {
        lines.push(format!("timeout: {written}s"));
    }
    for (name, value) in &options.env {
        let mut line = format!("env: {name}=");
        push_shell_quoted(&mut line, value);
        lines.push(line);
    }
    if let Some(directory) = &options.working_directory {
        lines.push(format!("dir: {}", directory.display()));
    }
    if let Some(pool) = &options.pool {
        let size = pools
            .iter()
            .find(|(name, _)| name == pool)
            .map_or(String::new(), |(_, size)| format!(" (size {size})"));
        lines.push(format!("pool: {pool}{size}"));
    }
    lines
}

/// Prints 0.7's summary lines and decides the exit code.
fn summarise(
    tasks: &[PreparedTask],
    in_plan_order: &dyn Fn() -> Vec<usize>,
    members: &[usize],
    report: &exec::Report,
    stdout: &mut Stdout,
) -> ExitStatus {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let attempts = if report.retries > 0 || report.timeouts > 0 {
        format!(
            " ({}, {})",
            count(report.retries, "retry", "retries"),
            count(report.timeouts, "timeout", "timeouts")
        )
    } else {
        String::new()
    };
    let summary = format!(
        "{}/{} tasks run in {}{attempts}",
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
    let interrupted = report
        .interrupted_by
        .map(|signal| format!("interrupted by {}", exec::signal_name(signal)))
        .or_else(|| report.stopped.as_ref().map(|why| format!("stopped: {why}")));
    if !any(&failed) && !any(&early) && interrupted.is_none() {
        return ExitStatus::Success;
    }
    let order = in_plan_order();
    if let Some(interrupted) = &interrupted {
        let line = if any(&not_run) {
            format!(
                "Factotum job was {interrupted}, so no more tasks were started - the following tasks were not run: {}!",
                listed(&order, &not_run)
            )
        } else {
            format!("Factotum job was {interrupted} - every task had already started!")
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
    } else if interrupted.is_some() {
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
