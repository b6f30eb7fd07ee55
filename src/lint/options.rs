//! Checks of the task options and the job's pools: names that must match, codes a retry can
//! never see, and environment variable names.

use crate::diag::{Diagnostic, Problem};
use crate::ir::{Job, Task};
use crate::span::Spanned;
use crate::suggest;
use crate::syntax::Format;

/// The largest exit status a process can report: the low 8 bits of its status.
const MAX_EXIT_STATUS: u16 = 255;

pub(super) fn check(job: &Job, format: Format, complete: bool, diagnostics: &mut Vec<Diagnostic>) {
    report_repeats("pool", job.pools.iter().map(|pool| &pool.name), diagnostics);
    for task in &job.tasks {
        if complete {
            check_pool(job, task, diagnostics);
        }
        check_retry_codes(task, format, diagnostics);
        check_environment(task, diagnostics);
    }
}

/// Every name of `names` that was declared before, at its second declaration.
fn report_repeats<'j>(
    kind: &'static str,
    names: impl Iterator<Item = &'j Spanned<String>>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut seen: Vec<&Spanned<String>> = Vec::new();
    for name in names {
        if let Some(first) = seen.iter().find(|seen| seen.value == name.value) {
            let problem = Problem::DuplicateName {
                kind,
                name: name.value.clone(),
            };
            diagnostics.push(
                Diagnostic::new(problem)
                    .at(name.span, "declared again here")
                    .also(first.span, "first declared here")
                    .note("hint: keep one of them"),
            );
        } else {
            seen.push(name);
        }
    }
}

/// A task's pool must be one the job declares.
fn check_pool(job: &Job, task: &Task, diagnostics: &mut Vec<Diagnostic>) {
    let Some(pool) = &task.pool else {
        return;
    };
    if job
        .pools
        .iter()
        .any(|declared| declared.name.value == pool.value)
    {
        return;
    }
    let declared = job
        .pools
        .iter()
        .map(|declared| declared.name.value.as_str());
    let suggestion = suggest::closest(&pool.value, declared);
    let problem = Problem::UnknownPool {
        task: task.name.text.to_string(),
        pool: pool.value.clone(),
    };
    let mut diagnostic = Diagnostic::new(problem)
        .at(pool.span, "no such pool")
        .suggest(suggestion);
    if suggestion.is_none() {
        diagnostic = diagnostic.note(format!(
            "hint: declare it with its size, `pool \"{}\" size 2` (JSON: `\"pools\": {{\"{}\": 2}}`)",
            pool.value, pool.value
        ));
    }
    diagnostics.push(diagnostic);
}

/// The codes a retry is limited to must be failures, and codes a process can exit with.
fn check_retry_codes(task: &Task, format: Format, diagnostics: &mut Vec<Diagnostic>) {
    let Some(on_codes) = task
        .retry
        .as_ref()
        .and_then(|retry| retry.on_codes.as_ref())
    else {
        return;
    };
    let on_result = &task.on_result;
    let success = on_result
        .continue_job
        .value
        .iter()
        .chain(&on_result.terminate_job_with_success.value);
    let success: Vec<&Spanned<u16>> = success.collect();
    for code in &on_codes.value {
        let name = || task.name.text.to_string();
        if let Some(meaning) = success.iter().find(|success| success.value == code.value) {
            let problem = Problem::RetryCodeMeansSuccess {
                task: name(),
                code: code.value,
            };
            let hint = match format {
                Format::Dsl => {
                    "hint: a code that continues or finishes the job is never retried: take it out of `retry … on`"
                }
                Format::Json => {
                    "hint: a code that continues or finishes the job is never retried: take it out of `onCodes`"
                }
            };
            diagnostics.push(
                Diagnostic::new(problem)
                    .at(code.span, "retried")
                    .also(meaning.span, "means success")
                    .note(hint),
            );
        } else if code.value > MAX_EXIT_STATUS {
            let problem = Problem::RetryCodeNeverHappens {
                task: name(),
                code: code.value,
            };
            diagnostics.push(
                Diagnostic::new(problem)
                    .at(code.span, "above 255")
                    .note("a process's exit status is its low 8 bits: `exit 256` is seen as 0"),
            );
        }
    }
}

/// Variable names must be settable: not empty, without `=` or NUL, and each set once.
fn check_environment(task: &Task, diagnostics: &mut Vec<Diagnostic>) {
    for variable in &task.env {
        let name = &variable.name.value;
        if name.is_empty() || name.contains(['=', '\0']) {
            let problem = Problem::BadEnvironmentName {
                task: task.name.text.to_string(),
                name: name.clone(),
            };
            diagnostics.push(
                Diagnostic::new(problem)
                    .at(variable.name.span, "not a variable name")
                    .note("a variable's name is not empty and has no `=` or NUL character"),
            );
        }
    }
    report_repeats(
        "environment variable",
        task.env.iter().map(|variable| &variable.name),
        diagnostics,
    );
}
