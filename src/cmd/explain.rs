//! `factotum explain CODE`: what a diagnostic code means, a job that gets it, and the fix.

use super::{Stdout, error_line};
use crate::ExitStatus;
use crate::cli::ExplainArgs;
use crate::diag::Severity;
use crate::explain::{EXPLANATIONS, Example, ExampleFile, Explanation, find};

/// Runs `explain`.
pub(crate) fn run(args: &ExplainArgs, no_colour: bool) -> ExitStatus {
    let Some(explanation) = find(&args.code) else {
        let codes: Vec<&str> = EXPLANATIONS.iter().map(|e| e.code).collect();
        error_line(format_args!(
            "error: `{}` is not a diagnostic code; the codes are {}",
            args.code,
            codes.join(", ")
        ));
        return ExitStatus::OtherError;
    };
    let mut stdout = Stdout::new(no_colour);
    stdout.line(&text(explanation));
    stdout.finish(ExitStatus::Success)
}

/// The whole explanation, as printed.
fn text(explanation: &Explanation) -> String {
    let severity = match explanation.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!(
        "{code} ({severity}): {summary}\n\n{meaning}\n\nExample: {example}\nFix: {fix}",
        code = explanation.code,
        summary = explanation.summary,
        meaning = explanation.meaning,
        example = example(&explanation.example),
        fix = explanation.fix,
    )
}

/// The example's command line, then its file indented.
fn example(example: &Example) -> String {
    let command = format!("`factotum {}`", example.command.join(" "));
    let name = example.file_name;
    match &example.file {
        ExampleFile::Missing => format!("{command}, where there is no file `{name}`.\n"),
        ExampleFile::OverFourGibibytes => {
            format!("{command}, where `{name}` holds more than 4 GiB.\n")
        }
        ExampleFile::Bytes(bytes) => {
            let mut shown = format!("{command}, with this `{name}`:\n\n");
            for line in String::from_utf8_lossy(bytes).lines() {
                if !line.is_empty() {
                    shown.push_str("    ");
                    shown.push_str(line);
                }
                shown.push('\n');
            }
            shown
        }
    }
}
