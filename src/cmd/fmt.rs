//! `factotum fmt [FILES...] [--check]`: DSL files in their one canonical form.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::read_rewritable;
use crate::ExitStatus;
use crate::atomic_write::{self, Existing};
use crate::cli::FmtArgs;
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
pub fn run(args: &FmtArgs) -> ExitStatus {
    let stdin = [PathBuf::from("-")];
    let paths = if args.files.is_empty() {
        &stdin[..]
    } else {
        &args.files[..]
    };
    let worst = paths
        .iter()
        .map(|path| format_file(path, args))
        .max()
        .unwrap_or(Outcome::Done);
    match worst {
        Outcome::Done => ExitStatus::Success,
        Outcome::Differs | Outcome::Refused => ExitStatus::Invalid,
        Outcome::WriteFailed => ExitStatus::OtherError,
    }
}

fn format_file(path: &Path, args: &FmtArgs) -> Outcome {
    let Some(read) = read_rewritable(path, args.no_colour) else {
        return Outcome::Refused;
    };
    let name = &read.source.name;
    if read.format == Format::Json {
        eprintln!(
            "error: `{name}` is a JSON factfile; `fmt` formats DSL files (`factotum convert {name} --to dsl` writes one)"
        );
        return Outcome::Refused;
    }
    let formatted = render::dsl::print(&read.job, &read.comments);
    let from_stdin = path == Path::new("-");
    let written = match (args.check, from_stdin) {
        (true, _) if formatted != read.source.text => {
            println!("{name}");
            return Outcome::Differs;
        }
        (true, _) => return Outcome::Done,
        (false, true) => io::stdout().lock().write_all(formatted.as_bytes()),
        (false, false) if formatted == read.source.text => return Outcome::Done,
        (false, false) => atomic_write::write(path, formatted.as_bytes(), Existing::Replace)
            .map_err(io::Error::from),
    };
    match written {
        Ok(()) => Outcome::Done,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Outcome::Done,
        Err(error) => {
            eprintln!("error: cannot write `{name}`: {error}");
            Outcome::WriteFailed
        }
    }
}
