//! `factotum dot FILE`: a job's task graph as Graphviz dot or a Mermaid flowchart, on standard
//! output or in a file. Every failure is `Error: …` on stderr and exit 3, as in Factotum 0.7.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;

use codespan_reporting::term::termcolor::{Color, StandardStream};

use super::check::{Report, print_human};
use crate::atomic_write::{self, WriteError};
use crate::cli::{DotArgs, GraphFormat};
use crate::ir::Job;
use crate::plan::{Plan, StartError};
use crate::render::drawing::Drawing;
use crate::render::{dot, mermaid};
use crate::source::Source;
use crate::template::Template;
use crate::{Compiled, ExitStatus};

/// Runs `dot`.
pub fn run(args: &DotArgs) -> ExitStatus {
    let (source, unreadable) = Source::read_argument(&args.factfile);
    let compiled = match unreadable {
        Some(diagnostic) => Compiled {
            job: None,
            diagnostics: vec![diagnostic],
        },
        None => crate::compile(&source, None),
    };
    let Some(job) = compiled.valid_job() else {
        let report = Report {
            source,
            diagnostics: compiled.diagnostics,
        };
        let mut stderr =
            StandardStream::stderr(super::colour_choice(args.no_colour, &io::stderr()));
        // The exit status already says the job is invalid; a failed write cannot add to that.
        let _ = print_human(&mut stderr, &report);
        return ExitStatus::OtherError;
    };
    let plan = plan_of(job);
    let start = match args
        .start
        .as_deref()
        .map(|name| start_point(job, &plan, name))
        .transpose()
    {
        Ok(start) => start,
        Err(error) => return fail(args, start_error_message(error)),
    };
    let drawing = Drawing::new(job, &plan, start);
    let text = match args.format {
        GraphFormat::Dot => dot::render(&drawing),
        GraphFormat::Mermaid => mermaid::render(&drawing),
    };
    match &args.output {
        None => write_stdout(args, &text),
        Some(path) => write_file(args, path, &text),
    }
}

/// The task graph, with dependencies matched to tasks as the linter matched them (placeholders
/// compared by their normalized spelling), although names are drawn as written.
fn plan_of(job: &Job) -> Plan {
    let names: Vec<Cow<'_, str>> = job
        .tasks
        .iter()
        .map(|task| task.name.normalized())
        .collect();
    let dependencies: Vec<Vec<Cow<'_, str>>> = job
        .tasks
        .iter()
        .map(|task| task.depends_on.iter().map(Template::normalized).collect())
        .collect();
    let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    let dependencies: Vec<Vec<&str>> = dependencies
        .iter()
        .map(|names| names.iter().map(AsRef::as_ref).collect())
        .collect();
    Plan::new(&names, &dependencies)
}

/// The task named `name` (raw text, as 0.7 compared it), if drawing can start there.
fn start_point(job: &Job, plan: &Plan, name: &str) -> Result<usize, StartError> {
    let start = job
        .tasks
        .iter()
        .position(|task| &*task.name.text == name)
        .ok_or(StartError::NotFound)?;
    plan.subtree(start).map(|_| start)
}

/// Factotum 0.7's wording for `dot --start` problems.
fn start_error_message(error: StartError) -> &'static str {
    match error {
        StartError::NotFound => "the task specified could not be found",
        StartError::NotSelfContained => "the job cannot be started here.",
    }
}

/// Writes `text` to standard output; it has no final newline, so it must be flushed here.
fn write_stdout(args: &DotArgs, text: &str) -> ExitStatus {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitStatus::Success,
        // A reader that stopped early (`| head`) got what it wanted.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitStatus::Success,
        Err(error) => fail(
            args,
            &format!("couldn't write to standard output ({error})"),
        ),
    }
}

/// Writes `text` to `path`, refusing to replace a file unless `--overwrite`.
fn write_file(args: &DotArgs, path: &Path, text: &str) -> ExitStatus {
    let name = path.display();
    match atomic_write::write(
        path,
        text.as_bytes(),
        super::existing_output(args.overwrite),
    ) {
        Ok(()) => {}
        Err(WriteError::Create(error)) => {
            return fail(args, &format!("couldn't create file '{name}' ({error})"));
        }
        Err(WriteError::Write(error)) => {
            return fail(args, &format!("couldn't write to file '{name}' ({error})"));
        }
    }
    let mut stdout = StandardStream::stdout(super::colour_choice(args.no_colour, &io::stdout()));
    // The file is written, which is what matters; a lost confirmation is no failure.
    let _ = super::write_line_in(&mut stdout, Color::Green, "File written successfully");
    ExitStatus::Success
}

/// Prints `Error: <message>` on stderr, red as in 0.7, and returns exit status 3.
fn fail(args: &DotArgs, message: &str) -> ExitStatus {
    let mut stderr = StandardStream::stderr(super::colour_choice(args.no_colour, &io::stderr()));
    // Nothing better can be done when stderr itself is gone; the exit status still tells.
    let _ = super::write_line_in(&mut stderr, Color::Red, &format!("Error: {message}"));
    ExitStatus::OtherError
}
