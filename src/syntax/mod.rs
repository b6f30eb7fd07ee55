//! Front ends: source text in, IR and diagnostics out.

mod decoded;
mod json;
mod rules;

use crate::diag::Diagnostic;
use crate::ir::Job;
use crate::source::Source;

/// What a front end made of a source.
#[derive(Debug)]
pub struct Parsed {
    /// The job, when the file was usable enough to build one (it may still have errors).
    pub job: Option<Job>,
    /// Problems found while parsing and lowering, in no particular order.
    pub diagnostics: Vec<Diagnostic>,
    /// False when a task had to be left out of `job`, so references cannot be judged.
    pub complete: bool,
}

/// Parses a factfile.
pub fn parse(source: &Source) -> Parsed {
    let lowered = json::parse(&source.text);
    Parsed {
        job: lowered.job,
        diagnostics: lowered.diagnostics,
        complete: lowered.complete,
    }
}
