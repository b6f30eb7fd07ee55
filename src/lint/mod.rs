//! The linter: every semantic problem of a job in one pass. Pure: no IO, deterministic order.

mod constraints;
mod cycles;
mod exit_codes;
mod options;
mod references;
mod variables;

#[cfg(test)]
mod tests;

pub use references::Resolved;
pub(crate) use references::name_key;
pub(crate) use variables::value_hint;

use crate::diag::Diagnostic;
use crate::ir::Job;
use crate::syntax::Format;
use crate::template::Variables;

/// What the linter may assume.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Options<'a> {
    /// The format the job is written in, for hints that quote the file's own words.
    pub format: Format,
    /// With `--env`: the values, so names are compared rendered and every variable must exist.
    pub variables: Option<&'a Variables>,
    /// Whether every task of the file made it into the job. When not, unknown-dependency and
    /// cycle checks are skipped: the missing task might be the one referred to.
    pub complete: bool,
}

/// Every problem of `job`, unsorted, and its task names resolved to tasks.
pub(crate) fn check(job: &Job, options: Options<'_>) -> (Vec<Diagnostic>, Resolved) {
    let mut diagnostics = Vec::new();
    exit_codes::check(job, options.format, &mut diagnostics);
    constraints::check(job, &mut diagnostics);
    options::check(job, options.format, options.complete, &mut diagnostics);
    if let Some(variables) = options.variables {
        variables::check(job, variables, &mut diagnostics);
    }
    let resolved = references::check(job, options, &mut diagnostics);
    if options.complete {
        cycles::check(job, resolved.dependencies(), &mut diagnostics);
    }
    (diagnostics, resolved)
}
