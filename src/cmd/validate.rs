//! `factotum validate FILE`: Factotum 0.7's contract, with diagnostics instead of one line.

use codespan_reporting::term::termcolor::Color;

use super::Stdout;
use super::check::check_file;
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
    let mut stdout = Stdout::new(no_colour);
    let name = args.factfile.display();
    stdout.write(|out| print_human(out, &report));
    if valid {
        stdout.line_in(Color::Green, &format!("'{name}' is a valid Factfile!"));
    } else {
        stdout.line_in(
            Color::Red,
            &format!("'{name}' is not a valid factotum factfile"),
        );
    }
    stdout.finish(if valid {
        ExitStatus::Success
    } else {
        ExitStatus::Invalid
    })
}
