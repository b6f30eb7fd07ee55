//! `factotum dot FILE`: a job's task graph as Graphviz dot or a Mermaid flowchart, on standard
//! output or in a file. Every failure is `Error: …` on stderr and exit 3, as in Factotum 0.7.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use codespan_reporting::term::termcolor::{Color, StandardStream};

use super::{Loaded, load, print_on_stderr};
use crate::atomic_write::{self, WriteError};
use crate::cli::{DotArgs, GraphFormat};
use crate::graph::{StartError, TaskGraph};
use crate::ir::Job;
use crate::render::drawing::{Drawing, RunStates};
use crate::render::{dot, mermaid};
use crate::span::Span;
use crate::store::TaskState;
use crate::template::Template;
use crate::{ExitStatus, ValidJob};

/// Runs `dot`.
pub(crate) fn run(args: &DotArgs, no_colour: bool) -> ExitStatus {
    let Loaded { source, compiled } = load(&args.factfile, None);
    let Some(valid) = compiled.valid() else {
        print_on_stderr(no_colour, source, compiled.diagnostics);
        return ExitStatus::OtherError;
    };
    let graph = valid.resolved.graph();
    let start = match args
        .start
        .as_deref()
        .map(|name| start_point(valid, &graph, name))
        .transpose()
    {
        Ok(start) => start,
        Err(error) => return fail(no_colour, start_error_message(error)),
    };
    let mut drawing = Drawing::new(valid.job, &graph, start);
    if let Some(wanted) = &args.run {
        match run_states(args, wanted, valid.job) {
            Ok(states) => drawing = drawing.coloured_by(states),
            Err(status) => return status,
        }
    }
    let text = match args.format {
        GraphFormat::Dot => dot::render(&drawing),
        GraphFormat::Mermaid => mermaid::render(&drawing),
    };
    match &args.output {
        None => write_stdout(no_colour, &text),
        Some(path) => write_file(args, no_colour, path, &text),
    }
}

/// Each task's state in the recorded run `wanted`, matched by name: the job's names are
/// rendered with the run's own `--env` and `--tag` values, as the run rendered them.
fn run_states(args: &DotArgs, wanted: &str, job: &Job) -> Result<RunStates, ExitStatus> {
    let mut store = super::open_store(&args.store)?;
    let (summary, tasks) = super::show::find(&mut *store, wanted)?;
    super::history::warn_unreadable(tasks.unreadable, "task rows of this run");
    let run = summary.run;
    // A recorded `--env` that no longer parses leaves the names as written.
    let mut variables = run
        .env
        .as_deref()
        .and_then(|env| crate::env_option::parse(env).ok())
        .unwrap_or_default();
    variables.extend(super::run::tag_variables(&run.tags));
    let recorded: HashMap<&str, TaskState> = tasks
        .rows
        .iter()
        .map(|record| (record.name.as_str(), record.state))
        .collect();
    let states = job
        .tasks
        .iter()
        .map(|task| {
            let name = task
                .name
                .render(&variables)
                .map_or_else(|_| task.name.text.to_string(), Cow::into_owned);
            recorded.get(name.as_str()).copied()
        })
        .collect();
    Ok(RunStates {
        run: run.id,
        states,
    })
}

/// The task named `name`, if drawing can start there. The name is looked up as the linter
/// resolved names (placeholders normalized), then must also be spelled exactly as in the file,
/// as 0.7 compared names.
fn start_point(valid: ValidJob<'_>, graph: &TaskGraph, name: &str) -> Result<usize, StartError> {
    let wanted = Template::parse(name, Span::default(), &|offset| offset, &mut Vec::new());
    let start = valid
        .resolved
        .task(&wanted.normalized())
        .filter(|&task| valid.job.tasks[task].name.text == name)
        .ok_or(StartError::NotFound)?;
    graph.subtree(start).map(|_| start)
}

/// Factotum 0.7's wording for `dot --start` problems.
fn start_error_message(error: StartError) -> &'static str {
    match error {
        StartError::NotFound => "the task specified could not be found",
        StartError::NotSelfContained => "the job cannot be started here.",
    }
}

/// Writes `text` to standard output; it has no final newline, so it must be flushed here.
fn write_stdout(no_colour: bool, text: &str) -> ExitStatus {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitStatus::Success,
        // A reader that stopped early (`| head`) got what it wanted.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitStatus::Success,
        Err(error) => fail(
            no_colour,
            &format!("couldn't write to standard output ({error})"),
        ),
    }
}

/// Writes `text` to `path`, refusing to replace a file unless `--overwrite`.
fn write_file(args: &DotArgs, no_colour: bool, path: &Path, text: &str) -> ExitStatus {
    let name = path.display();
    match atomic_write::write(
        path,
        text.as_bytes(),
        super::existing_output(args.overwrite),
    ) {
        Ok(()) => {}
        Err(WriteError::Create(error)) => {
            return fail(
                no_colour,
                &format!("couldn't create file '{name}' ({error})"),
            );
        }
        Err(WriteError::Write(error)) => {
            return fail(
                no_colour,
                &format!("couldn't write to file '{name}' ({error})"),
            );
        }
    }
    let mut stdout = StandardStream::stdout(super::colour_choice(no_colour, &io::stdout()));
    // The file is written, which is what matters; a lost confirmation is no failure.
    let _ = super::write_line_in(&mut stdout, Color::Green, "File written successfully");
    ExitStatus::Success
}

/// Prints `Error: <message>` on stderr, red as in 0.7, and returns exit status 3.
fn fail(no_colour: bool, message: &str) -> ExitStatus {
    let mut stderr = StandardStream::stderr(super::colour_choice(no_colour, &io::stderr()));
    // Nothing better can be done when stderr itself is gone; the exit status still tells.
    let _ = super::write_line_in(&mut stderr, Color::Red, &format!("Error: {message}"));
    ExitStatus::OtherError
}
