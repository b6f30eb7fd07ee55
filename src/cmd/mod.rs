//! One module per sub-command.

pub mod check;
pub mod completions;
pub mod convert;
pub mod dot;
pub mod fmt;
pub mod run;
pub mod validate;

use std::io::{self, IsTerminal};
use std::path::Path;

use codespan_reporting::term::termcolor::{
    Color, ColorChoice, ColorSpec, StandardStream, WriteColor,
};

use crate::atomic_write::Existing;
use crate::comment::Comment;
use crate::diag::Diagnostic;
use crate::ir::Job;
use crate::source::Source;
use crate::syntax::Format;

/// Colour for `stream` (stdout or stderr): never with `--no-colour`, `NO_COLOR` or
/// `CLICOLOR=0`; forced by `CLICOLOR_FORCE`; otherwise only when `stream` is a terminal.
pub(crate) fn colour_choice(no_colour: bool, stream: &impl IsTerminal) -> ColorChoice {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    let clicolor_off = std::env::var_os("CLICOLOR").is_some_and(|value| value == "0");
    let forced =
        std::env::var_os("CLICOLOR_FORCE").is_some_and(|value| !value.is_empty() && value != "0");
    if no_colour || set("NO_COLOR") || clicolor_off {
        ColorChoice::Never
    } else if forced || stream.is_terminal() {
        ColorChoice::Always
    } else {
        ColorChoice::Never
    }
}

/// A job read for rewriting (`fmt`, `convert`), with what only its file knew.
struct Rewritable {
    source: Source,
    format: Format,
    job: Job,
    comments: Vec<Comment>,
}

/// Reads a job to rewrite it. Syntax and schema errors make the parsed job unfaithful to the
/// file, so they are printed to stderr and the file is refused; other problems (templates, the
/// task graph) do not change a word of the job and are left to `check`.
fn read_rewritable(path: &Path, no_colour: bool) -> Option<Rewritable> {
    let (source, unreadable) = Source::read_argument(path);
    let parsed = match unreadable {
        Some(diagnostic) => crate::syntax::Parsed {
            job: None,
            diagnostics: vec![diagnostic],
            complete: false,
            comments: Vec::new(),
        },
        None => crate::syntax::parse(&source),
    };
    let mut blocking: Vec<Diagnostic> = parsed
        .diagnostics
        .into_iter()
        .filter(|d| d.problem.is_structural())
        .collect();
    match parsed.job {
        Some(job) if blocking.is_empty() => Some(Rewritable {
            format: Format::of(&source),
            source,
            job,
            comments: parsed.comments,
        }),
        _ => {
            crate::diag::sort(&mut blocking);
            let report = check::Report {
                source,
                diagnostics: blocking,
            };
            // stderr, because the job itself may be going to stdout.
            let mut stderr = StandardStream::stderr(colour_choice(no_colour, &io::stderr()));
            let _ = check::print_human(&mut stderr, &report);
            None
        }
    }
}

/// How the `--output` file of `dot` and `convert` treats an existing file: replaced only with
/// `--overwrite`. Refusing happens in the rename that puts the new file in place, so there is no
/// moment between a check and the write where another process could create the file.
pub(crate) fn existing_output(overwrite: bool) -> Existing {
    if overwrite {
        Existing::Replace
    } else {
        Existing::Refuse
    }
}

/// Writes `text` in `colour` (when `out` colours at all), then a plain newline.
pub(crate) fn write_line_in(out: &mut dyn WriteColor, colour: Color, text: &str) -> io::Result<()> {
    out.set_color(ColorSpec::new().set_fg(Some(colour)))?;
    write!(out, "{text}")?;
    out.reset()?;
    writeln!(out)
}
