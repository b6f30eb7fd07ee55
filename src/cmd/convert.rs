//! `factotum convert FILE --to dsl|json [-o OUT]`: the same job in the other format.

use super::{error_line, read_rewritable};
use crate::ExitStatus;
use crate::cli::{ConvertArgs, Target};
use crate::diag::Problem;
use crate::render;

/// Runs `convert`.
pub(crate) fn run(args: &ConvertArgs, no_colour: bool) -> ExitStatus {
    let read = match read_rewritable(&args.file, Problem::is_structural) {
        Ok(read) => read,
        Err(refused) => {
            refused.report(no_colour);
            return ExitStatus::Invalid;
        }
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
    super::write_output(&text, args.output.as_deref(), args.overwrite)
}
