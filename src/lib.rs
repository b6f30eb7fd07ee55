//! factotum: compile, check, draw and run job DAGs ("factfiles").
//!
//! One pipeline in one direction:
//! source text → [`syntax`] (pest grammars, spans kept) → [`ir`] → `lint` → backends
//! ([`render`], the executor, webhooks). Diagnostics ([`diag`]) are plain data until a backend
//! prints them. `HACKING.md` at the root of the repository is the file map and the checklist
//! for changing the language.

mod atomic_write;
pub(crate) mod cli;
pub(crate) mod cmd;
pub mod comment;
pub(crate) mod constraint;
pub mod diag;
pub(crate) mod env_option;
pub(crate) mod exec;
pub mod explain;
pub(crate) mod export;
pub(crate) mod graph;
pub mod ir;
pub(crate) mod lint;
mod lsp;
pub mod render;
pub mod source;
pub mod span;
pub(crate) mod store;
pub(crate) mod suggest;
pub mod syntax;
pub mod template;
pub(crate) mod webhook;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::comment::Comment;
use crate::diag::{Diagnostic, Severity};
use crate::ir::Job;
pub use crate::lint::Resolved;
use crate::source::Source;
use crate::template::Variables;

/// Exit codes shared with Factotum 0.7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything was fine.
    Success = 0,
    /// A job file has errors.
    Invalid = 1,
    /// `run`: a task failed, or the run was interrupted.
    TaskFailed = 2,
    /// Anything else: usage errors, bad `--env`, output that cannot be written.
    OtherError = 3,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status as u8)
    }
}

/// A source turned into a job, with every problem found on the way.
#[derive(Debug)]
pub struct Compiled {
    /// The job, when the source was usable enough to build one; it may still have errors.
    pub job: Option<Job>,
    /// The job's task names matched to its tasks by the linter, whenever there is a job.
    pub resolved: Option<Resolved>,
    /// Syntax, schema, template and task-graph problems, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The file's comments, each with what it is attached to, for the printers.
    pub comments: Vec<Comment>,
}

/// A job without errors and its names resolved: what backends may draw or run.
#[derive(Clone, Copy, Debug)]
pub struct ValidJob<'c> {
    /// The job.
    pub job: &'c Job,
    /// Its task names matched to its tasks; the backends never match names themselves.
    pub resolved: &'c Resolved,
}

impl Compiled {
    /// The result of a source that could not be read: `diagnostic` says why.
    pub fn unreadable(diagnostic: Diagnostic) -> Self {
        Self {
            job: None,
            resolved: None,
            diagnostics: vec![diagnostic],
            comments: Vec::new(),
        }
    }

    /// The job, unless it is missing or has errors.
    pub fn valid(&self) -> Option<ValidJob<'_>> {
        let has_errors = self
            .diagnostics
            .iter()
            .any(|diagnostic| diagnostic.severity() == Severity::Error);
        if has_errors {
            return None;
        }
        Some(ValidJob {
            job: self.job.as_ref()?,
            resolved: self.resolved.as_ref()?,
        })
    }
}

/// Parses and lints one source. With `variables`, names are compared after rendering and every
/// placeholder must have a value.
pub fn compile(source: &Source, variables: Option<&Variables>) -> Compiled {
    let parsed = syntax::parse(source);
    let mut diagnostics = parsed.diagnostics;
    let resolved = parsed.job.as_ref().map(|job| {
        let options = lint::Options {
            format: syntax::Format::of(source),
            variables,
            complete: parsed.complete,
        };
        let (problems, resolved) = lint::check(job, options);
        diagnostics.extend(problems);
        resolved
    });
    diag::sort(&mut diagnostics);
    Compiled {
        job: parsed.job,
        resolved,
        diagnostics,
        comments: parsed.comments,
    }
}

/// Every problem of one source: syntax, schema, templates and the task graph, sorted by
/// position. With `variables`, names are compared after rendering and every placeholder must
/// have a value.
pub fn check(source: &Source, variables: Option<&Variables>) -> Vec<Diagnostic> {
    compile(source, variables).diagnostics
}

/// Runs the command line `args` (program name first).
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    if let Some(status) = cmd::completions::answer_request(&args) {
        return status.into();
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) if error.kind() == ErrorKind::DisplayVersion => {
            // 0.7's form, which scripts written for it parse; clap's would be `factotum X.Y.Z`.
            let line = format!("Factotum version {}\n", env!("CARGO_PKG_VERSION"));
            return cmd::write_output(&line, None, false).into();
        }
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                ErrorKind::DisplayHelp => ExitStatus::Success,
                // Usage errors are 3, as in 0.7: 2 means "a task failed" for `run`.
                _ => ExitStatus::OtherError,
            }
            .into();
        }
    };
    cmd::choose_colour(cli.color);
    let no_colour = cli.no_colour || cli.color == cli::ColourWhen::Never;
    match &cli.command {
        Command::Check(args) => cmd::check::run(args, no_colour),
        Command::Validate(args) => cmd::validate::run(args, no_colour),
        Command::Run(args) => cmd::run::run(args, no_colour),
        Command::Fmt(args) => cmd::fmt::run(args, no_colour),
        Command::Convert(args) => cmd::convert::run(args, no_colour),
        Command::Dot(args) => cmd::dot::run(args, no_colour),
        Command::Export(args) => cmd::export::run(args, no_colour),
        Command::History(args) => cmd::history::run(args, no_colour),
        Command::Show(args) => cmd::show::run(args, no_colour),
        Command::Locks(args) => cmd::locks::list(args, no_colour),
        Command::Unlock(args) => cmd::locks::unlock(args, no_colour),
        Command::Completions(args) => cmd::completions::run(args),
        Command::Submit(args) => cmd::submit::run(args, no_colour),
        Command::Explain(args) => cmd::explain::run(args, no_colour),
        Command::Tasks(args) => cmd::tasks::run(args, no_colour),
        Command::Man(args) => cmd::man::run(args),
        Command::Lsp(_) => cmd::lsp::run(),
    }
    .into()
}
