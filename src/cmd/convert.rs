//! `factotum convert FILE --to dsl|json [-o OUT]`: the same job in the other format.

use std::io::{self, Write as _};

use super::{error_line, read_rewritable};
use crate::ExitStatus;
use crate::atomic_write;
use crate::cli::{ConvertArgs, Target};
use crate::diag::Problem;
use crate::render;

/// Runs `convert`.
pub(crate) fn run(args: &ConvertArgs, no_colour: bool) -> ExitStatus {
    let Some(read) = read_rewritable(&args.file, no_colour, Problem::is_structural) else {
        return ExitStatus::Invalid;
    };
    let text = match args.to {
        Target::Dsl => render::dsl::print(&read.job, &read.comments),
        Target::Json => {
            let dropped = read.comments.len();
            if dropped > 0 {
                let (comments, were) = if dropped == 1 {
                    ("comment", "was")
                } else {
                    ("comments", "were")
                };
                error_line(format_args!(
                    "warning: JSON has no comments: {dropped} {comments} of `{}` {were} left out",
                    read.source.name
                ));
            }
            render::json::print(&read.job)
        }
    };
    let written = match &args.output {
        None => io::stdout().lock().write_all(text.as_bytes()),
        Some(path) => match atomic_write::write(
            path,
            text.as_bytes(),
            super::existing_output(args.overwrite),
        )
        .map_err(io::Error::from)
        {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                error_line(format_args!(
                    "error: `{}` already exists; add `--overwrite` to replace it",
                    path.display()
                ));
                return ExitStatus::OtherError;
            }
            Err(error) => Err(error),
        },
    };
    match written {
        Ok(()) => ExitStatus::Success,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitStatus::Success,
        Err(error) => {
            let target = args.output.as_ref().map_or_else(
                || "standard output".to_owned(),
                |p| format!("`{}`", p.display()),
            );
            error_line(format_args!("error: cannot write {target}: {error}"));
            ExitStatus::OtherError
        }
    }
}
