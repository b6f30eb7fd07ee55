//! `factotum validate FILE`: Factotum 0.7's contract, with diagnostics instead of one line.

use std::io;

use codespan_reporting::term::termcolor::{Color, StandardStream};

use super::check::check_file;
use super::error_line;
use crate::ExitStatus;
use crate::cli::ValidateArgs;
use crate::diag::Severity;
use crate::render::diagnostics::print_human;

/// Runs `validate`.
pub(crate) fn run(args: &ValidateArgs, no_colour: bool) -> ExitStatus {
    let report = check_file(&args.factfile, None);
    let valid = report
        .diagnostics
        .iter()
        .all(|d| d.severity() != Severity::Error);
    let mut stdout = StandardStream::stdout(super::colour_choice(no_colour, &io::stdout()));
    let name = args.factfile.display();
    let written = print_human(&mut stdout, &report).and_then(|()| {
        let (colour, verdict) = if valid {
            (Color::Green, format!("'{name}' is a valid Factfile!"))
        } else {
            (
                Color::Red,
                format!("'{name}' is not a valid factotum factfile"),
            )
        };
        super::write_line_in(&mut stdout, colour, &verdict)
    });
    // A reader that stopped early (`| head -1`) got what it wanted: the verdict's status stands.
    if let Err(error) = written {
        if error.kind() != io::ErrorKind::BrokenPipe {
            error_line(format_args!("error: cannot write the report: {error}"));
            return ExitStatus::OtherError;
        }
    }
    if valid {
        ExitStatus::Success
    } else {
        ExitStatus::Invalid
    }
}
