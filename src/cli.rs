//! The command line, declared with clap's derive API.

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCompleter;

use crate::cmd::completions::task_names;

pub(crate) use crate::render::diagnostics::Format;

/// Compile, check, draw and run job DAGs (factfiles).
#[derive(Debug, Parser)]
#[command(name = "factotum", version, disable_version_flag = true)]
pub(crate) struct Cli {
    /// Print the version and exit, as Factotum 0.7 did: `Factotum version X.Y.Z`.
    #[arg(short = 'v', visible_short_alias = 'V', long = "version", action = ArgAction::Version)]
    version: Option<bool>,

    /// Never colour the output, before or after the sub-command (`run` also sets
    /// `CLICOLOR=0` for its tasks, as 0.7 did).
    #[arg(long, global = true)]
    pub no_colour: bool,

    /// When to colour the output: `auto` (on a terminal, unless `NO_COLOR` or `CLICOLOR=0`;
    /// always with `CLICOLOR_FORCE`), `always`, or `never` (the same as `--no-colour`).
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColourWhen::Auto)]
    pub color: ColourWhen,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--color`: when to colour the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColourWhen {
    /// Colour a terminal, as the environment allows.
    Auto,
    /// Colour whatever the output is and whatever the environment says.
    Always,
    /// Never colour.
    Never,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check job files and print every problem found, with its line and column.
    Check(CheckArgs),
    /// Check one job file, as Factotum 0.7 did: `'<file>' is a valid Factfile!` or the problems.
    Validate(ValidateArgs),
    /// Run a job: each task starts as soon as the tasks it waits for have succeeded.
    Run(RunArgs),
    /// Rewrite DSL files (`.factotum`) in their canonical form, keeping every comment.
    Fmt(FmtArgs),
    /// Convert a job between a JSON factfile and the DSL, losing nothing but comments.
    Convert(ConvertArgs),
    /// Draw a job's task graph as Graphviz dot (Factotum 0.7's format) or a Mermaid flowchart.
    Dot(DotArgs),
    /// Write a job for another engine: an Apache Airflow DAG file or a Slurm submission script.
    Export(ExportArgs),
    /// List recent runs from the run history, newest first.
    History(HistoryArgs),
    /// Show one recorded run task by task.
    Show(ShowArgs),
    /// List the locks and run-once keys held in the store.
    Locks(LocksArgs),
    /// Release a lock, or forget a run-once key, whatever holds it.
    Unlock(UnlockArgs),
    /// Print a completion script for a shell.
    Completions(CompletionsArgs),
    /// List a job's tasks in the order a run starts them, with what each waits for, its
    /// command line and what its exit codes mean.
    Tasks(TasksArgs),
    /// Print a manual page (roff): `factotum man > factotum.1`, `factotum man run > factotum-run.1`.
    Man(ManArgs),
    /// Start a run of an exported job on a running engine (Airflow), and optionally follow it.
    Submit(SubmitArgs),
    /// Explain a diagnostic code (e.g. `E401`): what it means, an example and the fix.
    Explain(ExplainArgs),
    /// Serve editors over the Language Server Protocol on standard input and output:
    /// diagnostics as `check` gives them, navigation, completion, rename, formatting, quick fixes.
    Lsp(LspArgs),
}

/// Arguments of `factotum lsp`.
#[derive(Debug, clap::Args)]
pub(crate) struct LspArgs {
    /// Accepted and ignored: standard input and output are the only transport, and some
    /// editors' clients (VS Code's, Helix) pass it.
    #[arg(long)]
    pub stdio: bool,
}

/// Arguments of `factotum explain`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    /// The code, as `check` prints it: `E401`, `W400`, …
    pub code: String,
}

/// Arguments of `factotum fmt`.
#[derive(Debug, clap::Args)]
pub(crate) struct FmtArgs {
    /// DSL files to rewrite; `-` (or none) reads standard input and writes standard output.
    #[arg(value_name = "FILES")]
    pub files: Vec<PathBuf>,

    /// Change nothing: list the files that are not in canonical form, and exit 1 if any.
    #[arg(long)]
    pub check: bool,

    /// Print the name of each file rewritten (as `--check` names each file that differs).
    #[arg(short, long)]
    pub list: bool,

    /// Leave files with syntax errors alone without reporting them, for when `check` runs too
    /// (as in the pre-commit hooks) and reports them.
    #[arg(long)]
    pub skip_invalid: bool,
}

/// Arguments of `factotum convert`.
#[derive(Debug, clap::Args)]
pub(crate) struct ConvertArgs {
    /// The job file, in either format; `-` reads standard input.
    pub file: PathBuf,

    /// The format to write.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub to: Target,

    /// Write here instead of to standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Replace OUT if it exists.
    #[arg(long, requires = "output")]
    pub overwrite: bool,
}

/// What `convert` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Target {
    /// The `.factotum` language, in the form `fmt` writes.
    Dsl,
    /// A JSON factfile that Factotum 0.7 runs (schema 1-0-0 unless the job has constraints).
    Json,
}

/// Arguments of `factotum export`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// The job file; `-` reads standard input.
    pub factfile: PathBuf,

    /// The engine to write the job for.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub to: Engine,

    /// Template variables as a JSON object, written into the commands (or, with
    /// `--defer-env`, the defaults of the DAG's run parameters).
    #[arg(long, value_name = "JSON")]
    pub env: Option<String>,

    /// Job metadata `KEY,VALUE`, usable in templates as `{{ tag:KEY }}`; Airflow DAG tags
    /// `KEY:VALUE`. Repeatable.
    #[arg(long = "tag", value_name = "KEY,VALUE")]
    pub tags: Vec<String>,

    /// Airflow only: leave the variables to each run (`dag_run.conf`), `--env` giving defaults.
    #[arg(long)]
    pub defer_env: bool,

    /// Export only this task and the tasks below it.
    #[arg(long, value_name = "TASK", add = ArgValueCompleter::new(task_names))]
    pub start: Option<String>,

    /// Airflow only: the DAG id (default: derived from the job's name).
    #[arg(long, value_name = "ID")]
    pub dag_id: Option<String>,

    /// Airflow only: when runs start, as a cron expression or preset (default: only when
    /// triggered).
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,

    /// Write here instead of to standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Replace OUT if it exists.
    #[arg(long, requires = "output")]
    pub overwrite: bool,
}

/// The engines `export` writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Engine {
    /// A Python file defining one Apache Airflow 3 DAG.
    Airflow,
    /// A POSIX sh script that submits the job to Slurm with sbatch.
    Slurm,
}

/// Arguments of `factotum run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The job file.
    pub factfile: PathBuf,

    /// Run only this task and the tasks below it (its own dependencies are taken as done).
    #[arg(long, value_name = "TASK", add = ArgValueCompleter::new(task_names))]
    pub start: Option<String>,

    /// Template variables as a JSON object.
    #[arg(long, value_name = "JSON")]
    pub env: Option<String>,

    /// Print the order tasks would start in and the exact command of each; run nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Job metadata `KEY,VALUE`; usable in templates as `{{ tag:KEY }}`. Repeatable.
    #[arg(long = "tag", value_name = "KEY,VALUE")]
    pub tags: Vec<String>,

    /// Run only where this holds: `host,NAME`, `host,IP-ADDRESS` or `host,*`. Repeatable:
    /// the job runs when any of them holds (a list of allowed hosts).
    #[arg(long = "constraint", value_name = "TYPE,VALUE")]
    pub constraints: Vec<String>,

    /// Run at most this many tasks at once, 1 or more (default: no limit).
    #[arg(short = 'j', long, value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<std::num::NonZeroUsize>,

    /// Seconds between SIGTERM and SIGKILL for running tasks when factotum is stopped.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = parse_seconds, env = "FACTOTUM_GRACE")]
    pub grace: f64,

    /// POST the job's progress to this URL (Factotum 0.7's `job_update` and `task_update` events).
    /// With `FACTOTUM_WEBHOOK_SECRET` set, each request is signed (`X-Factotum-Signature-256`).
    /// A dry run ignores a URL that comes from `FACTOTUM_WEBHOOK`.
    #[arg(long, value_name = "URL", env = "FACTOTUM_WEBHOOK")]
    pub webhook: Option<String>,

    /// With --webhook: also send the running tasks' state and output every N seconds.
    #[arg(long, value_name = "N", value_parser = parse_interval, env = "FACTOTUM_HEARTBEAT_INTERVAL")]
    pub heartbeat_interval: Option<std::num::NonZeroU64>,

    /// Keep the last N characters of each task's stdout and stderr, for the run history and
    /// webhooks.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_stdouterr_size: usize,

    /// With --webhook: seconds one request may take before it counts as failed.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_timeout, env = "FACTOTUM_WEBHOOK_TIMEOUT")]
    pub webhook_timeout: f64,

    /// With --webhook: seconds the end of the run waits for events still being sent.
    #[arg(long, value_name = "SECONDS", default_value_t = 45.0, value_parser = parse_seconds, env = "FACTOTUM_WEBHOOK_DRAIN")]
    pub webhook_drain: f64,

    /// Run again what did not succeed in RUN (an id, a prefix of one, or `last`; without
    /// RUN, the latest run of this job): failed, interrupted, skipped and not started tasks.
    #[arg(long, value_name = "RUN", conflicts_with = "start", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,

    /// Take this lock in the store before any task starts; it is released when the run
    /// succeeds, and left held when it fails until `factotum unlock NAME`. Repeatable.
    #[arg(long = "lock", value_name = "NAME")]
    pub locks: Vec<String>,

    /// Like --lock, but released at the end whatever happened, and when its holder is lost.
    #[arg(long = "soft-lock", value_name = "NAME")]
    pub soft_locks: Vec<String>,

    /// Run at most once to success per KEY (templated, e.g. `nightly-{{ day }}`) across every
    /// server sharing the store; elsewhere, or once done, warn and exit 0.
    #[arg(long, value_name = "KEY")]
    pub once: Option<String>,

    /// With --once: while a live run holds KEY, wait; exit 0 when it succeeds, take over and
    /// resume when it is lost.
    #[arg(long, requires = "once")]
    pub wait: bool,

    /// Seconds after its last renewal that a holder of a lock or key counts as lost.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_lease, env = "FACTOTUM_LEASE")]
    pub lease: f64,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// A number of tasks at once: 0 would run nothing, so it is refused in words.
fn parse_jobs(text: &str) -> Result<std::num::NonZeroUsize, String> {
    let count: usize = text
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number of tasks (1 or more)"))?;
    std::num::NonZeroUsize::new(count).ok_or_else(|| {
        "0 tasks at once would never start one; give 1 or more, or leave `-j` out for no limit"
            .to_owned()
    })
}

/// A lease: at least 1 second (renewals go out every fifth of it), at most a day.
fn parse_lease(text: &str) -> Result<f64, String> {
    parse_seconds(text)
        .ok()
        .filter(|&seconds| seconds >= 1.0)
        .ok_or_else(|| format!("`{text}` is not a number of seconds from 1 to 86400"))
}

/// Where the run history is kept.
#[derive(Debug, clap::Args)]
pub(crate) struct StoreArgs {
    /// The run-history store: `sqlite:PATH`, `postgres://USER@HOST:PORT/DATABASE`, or `none`
    /// to record nothing (default: `$XDG_STATE_HOME/factotum/store.db`).
    #[arg(long = "store", value_name = "URL", env = "FACTOTUM_STORE")]
    pub url: Option<String>,
}

impl StoreArgs {
    /// The store named with `--store` or `FACTOTUM_STORE`; an empty value names none.
    pub(crate) fn named(&self) -> Option<&str> {
        self.url.as_deref().filter(|url| !url.is_empty())
    }
}

/// Arguments of `factotum history`.
#[derive(Debug, clap::Args)]
pub(crate) struct HistoryArgs {
    /// Only the runs of the job in this file.
    #[arg(value_name = "JOB")]
    pub factfile: Option<PathBuf>,

    /// At most this many runs.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,

    /// How to print them.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `factotum show`.
#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    /// The run: its id, a prefix of it that only it has, or `last`.
    #[arg(value_name = "RUN")]
    pub run: String,

    /// How to print it.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `factotum locks`.
#[derive(Debug, clap::Args)]
pub(crate) struct LocksArgs {
    /// How to print them.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `factotum unlock`.
#[derive(Debug, clap::Args)]
pub(crate) struct UnlockArgs {
    /// The lock's name or the run-once key, as `locks` lists it.
    #[arg(value_name = "NAME")]
    pub name: String,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// How `history` and `show` print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    /// Aligned columns for people.
    Table,
    /// JSON, for programs.
    Json,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && (0.0..=86_400.0).contains(&seconds) => Ok(seconds),
        _ => Err(format!(
            "`{text}` is not a number of seconds between 0 and 86400"
        )),
    }
}

/// Seconds a request may take: above 0 (no request can finish in no time) up to 86400.
fn parse_timeout(text: &str) -> Result<f64, String> {
    parse_seconds(text)
        .ok()
        .filter(|&seconds| seconds > 0.0)
        .ok_or_else(|| format!("`{text}` is not a number of seconds above 0 and up to 86400"))
}

/// Whole seconds from 1 to 86400, bounded as the other durations are.
fn parse_interval(text: &str) -> Result<std::num::NonZeroU64, String> {
    text.parse::<std::num::NonZeroU64>()
        .ok()
        .filter(|seconds| seconds.get() <= 86_400)
        .ok_or_else(|| format!("`{text}` is not a whole number of seconds between 1 and 86400"))
}

/// Arguments of `factotum check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Job files to check, or folders: every `*.factfile` and `*.factotum` under one, except
    /// what `.gitignore` leaves out; `-` reads standard input.
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,

    /// How to print problems.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Template variables as a JSON object; every placeholder must then have a value.
    #[arg(long, value_name = "JSON")]
    pub env: Option<String>,

    /// Job metadata `KEY,VALUE`, the template variable `tag:KEY` as `run --tag` gives it;
    /// every placeholder must then have a value. Repeatable.
    #[arg(long = "tag", value_name = "KEY,VALUE")]
    pub tags: Vec<String>,

    /// Host constraints to check the syntax of, as `run --constraint` takes them. Repeatable
    /// (`run` runs when any of them holds).
    #[arg(long = "constraint", value_name = "TYPE,VALUE")]
    pub constraints: Vec<String>,

    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Arguments of `factotum validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct ValidateArgs {
    /// The job file.
    pub factfile: PathBuf,
}

/// Arguments of `factotum dot`.
#[derive(Debug, clap::Args)]
pub(crate) struct DotArgs {
    /// The job file; `-` reads standard input.
    pub factfile: PathBuf,

    /// Draw only this task and the tasks that depend on it, directly or not.
    #[arg(long, value_name = "TASK", add = ArgValueCompleter::new(task_names))]
    pub start: Option<String>,

    /// Write the drawing to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace the `--output` file if it exists.
    #[arg(long)]
    pub overwrite: bool,

    /// The drawing's language.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,

    /// Colour each task by its state in this recorded run (an id, a prefix, or `last`).
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// Output formats for drawings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    /// Graphviz dot, as Factotum 0.7 wrote it (render with `dot -Tsvg`).
    Dot,
    /// A Mermaid `flowchart TD`, which GitHub renders in Markdown.
    Mermaid,
}

/// Arguments of `factotum completions`: the script registers completion that asks factotum
/// itself at each TAB, so `--start` completes the task names of the job on the line.
#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells `factotum completions` writes scripts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Shell {
    /// Bash: `source <(factotum completions bash)`.
    Bash,
    /// Zsh: save as `_factotum` in a folder of `$fpath`.
    Zsh,
    /// Fish: save as `~/.config/fish/completions/factotum.fish`.
    Fish,
}

/// Arguments of `factotum submit`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Credentials come from the environment, never from the command line: \
AIRFLOW_TOKEN (a bearer token), or AIRFLOW_USERNAME and AIRFLOW_PASSWORD (exchanged for one at \
URL/auth/token). The DAG must already be in Airflow: `factotum export JOB --to airflow \
--defer-env -o DAGS_FOLDER/FILE.py`."
)]
pub(crate) struct SubmitArgs {
    /// The job file, as it was exported.
    pub factfile: PathBuf,

    /// The engine to run on.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub to: SubmitEngine,

    /// The engine's address: for Airflow, the API server's base URL (`http://HOST:8080`).
    #[arg(long, value_name = "URL")]
    pub url: String,

    /// Template variables as a JSON object: the run's `conf` (the job must have been exported
    /// with `--defer-env`).
    #[arg(long, value_name = "JSON")]
    pub env: Option<String>,

    /// The DAG's id, when it was exported with `--dag-id` (default: derived from the job's name
    /// as `export` derives it).
    #[arg(long, value_name = "ID")]
    pub dag_id: Option<String>,

    /// Unpause the DAG if it is paused (a paused DAG's runs wait forever).
    #[arg(long)]
    pub unpause: bool,

    /// Wait for the run to end, printing each task's start and end; exit 0 if the run
    /// succeeded, 2 if it failed.
    #[arg(long)]
    pub follow: bool,
}

/// Engines `factotum submit` starts runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SubmitEngine {
    /// Apache Airflow 3, through its REST API (v2).
    Airflow,
}

/// Arguments of `factotum tasks`.
#[derive(Debug, clap::Args)]
pub(crate) struct TasksArgs {
    /// The job file; `-` reads standard input.
    #[arg(value_name = "JOB")]
    pub factfile: PathBuf,

    /// Template variables as a JSON object, as `run --env` takes them.
    #[arg(long, value_name = "JSON")]
    pub env: Option<String>,

    /// Job metadata `KEY,VALUE`, usable in templates as `{{ tag:KEY }}`. Repeatable.
    #[arg(long = "tag", value_name = "KEY,VALUE")]
    pub tags: Vec<String>,

    /// How to print them.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// Arguments of `factotum man`.
#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {
    /// The sub-command whose page to print, `factotum-COMMAND(1)` (default: `factotum(1)`,
    /// which lists them).
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}
