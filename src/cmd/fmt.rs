//! `factotum fmt [FILES...] [--check]`: DSL files in their one canonical form.

use std::io::{self, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use super::{Stdout, error_line, read_rewritable};
use crate::ExitStatus;
use crate::atomic_write::{self, Existing};
use crate::cli::FmtArgs;
use crate::diag::Problem;
use crate::render;
use crate::syntax::Format;

/// What became of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Already canonical, or written.
    Done,
    /// `--check`: not canonical.
    Differs,
    /// Not a DSL file, or one with syntax errors.
    Refused,
    /// The result could not be written.
    WriteFailed,
}

/// Runs `fmt`.
pub(crate) fn run(args: &FmtArgs, no_colour: bool) -> ExitStatus {
    let stdin = [PathBuf::from("-")];
    let paths = if args.files.is_empty() {
        // Someone who typed `factotum fmt` to see what it does would otherwise face a silent
        // wait.
        if io::stdin().is_terminal() {
            error_line(format_args!(
                "fmt: reading a job from standard input (end it with Ctrl-D); name FILES to rewrite them in place"
            ));
        }
        &stdin[..]
    } else {
        &args.files[..]
    };
    let mut stdout = Stdout::new(no_colour);
    let worst = paths
        .iter()
        .map(|path| format_file(path, args, no_colour, &mut stdout))
        .max()
        .unwrap_or(Outcome::Done);
    stdout.finish(match worst {
        Outcome::Done => ExitStatus::Success,
        Outcome::Differs | Outcome::Refused => ExitStatus::Invalid,
        Outcome::WriteFailed => ExitStatus::OtherError,
    })
}

fn format_file(path: &Path, args: &FmtArgs, no_colour: bool, stdout: &mut Stdout) -> Outcome {
    let read = match read_rewritable(path, changes_the_job) {
        Ok(read) => read,
        // `check` reports these problems; the pre-commit hook runs both.
        Err(_) if args.skip_invalid => return Outcome::Done,
        Err(refused) => {
            refused.report(no_colour);
            return Outcome::Refused;
        }
    };
    let name = &read.source.name;
    if read.format == Format::Json {
        error_line(format_args!(
            "error: `{name}` is a JSON factfile; `fmt` formats DSL files (`factotum convert {name} --to dsl` writes one)"
        ));
        return Outcome::Refused;
    }
    let formatted = render::dsl::print(&read.job, &read.comments);
    let from_stdin = path == Path::new("-");
    let written = match (args.check, from_stdin) {
        (true, _) if formatted != read.source.text => {
            stdout.line(name);
            return Outcome::Differs;
        }
        (true, _) => return Outcome::Done,
        (false, true) => io::stdout().lock().write_all(formatted.as_bytes()),
        (false, false) if formatted == read.source.text => return Outcome::Done,
        (false, false) => atomic_write::write(path, formatted.as_bytes(), Existing::Replace)
            .map_err(io::Error::from),
    };
    match written {
        Ok(()) if args.list && !from_stdin => {
            stdout.line(name);
            Outcome::Done
        }
        Ok(()) => Outcome::Done,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Outcome::Done,
        Err(error) => {
            error_line(format_args!("error: cannot write `{name}`: {error}"));
            Outcome::WriteFailed
        }
    }
}

/// Whether `problem` leaves the parsed job different from the file, so that printing it would
/// change the job: a syntax error, or a value the front end could not keep. A bad schema URI
/// (E206) or constraints under an old schema (E207) keep every word, and are `check`'s to
/// report.
pub(crate) fn changes_the_job(problem: &Problem) -> bool {
    problem.is_structural()
        && !matches!(
            problem,
            Problem::SchemaUri { .. } | Problem::NeedsNewerSchema { .. }
        )
}
