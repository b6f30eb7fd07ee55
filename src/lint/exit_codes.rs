//! Checks of each task on its own: its exit-code lists and its executor.

use crate::diag::{Diagnostic, Problem};
use crate::ir::Job;
use crate::syntax::Format;

pub(super) fn check(job: &Job, format: Format, diagnostics: &mut Vec<Diagnostic>) {
    for task in &job.tasks {
        let name = || task.name.text.to_string();
        let on_result = &task.on_result;
        if on_result.continue_job.value.is_empty() {
            let problem = Problem::NoWayToContinue { task: name() };
            diagnostics.push(
                Diagnostic::new(problem)
                    .at(
                        on_result.continue_job.span,
                        "no exit code continues the job",
                    )
                    .note("hint: list the exit codes that mean success, usually 0"),
            );
        }
        let lists_zero = |codes: &[crate::span::Spanned<u16>]| codes.iter().any(|c| c.value == 0);
        if !on_result.continue_job.value.is_empty()
            && !lists_zero(&on_result.continue_job.value)
            && !lists_zero(&on_result.terminate_job_with_success.value)
        {
            let problem = Problem::ContinueWithoutZero { task: name() };
            diagnostics.push(
                Diagnostic::new(problem)
                    .at(on_result.continue_job.span, "0 is not among these")
                    .note(match format {
                        Format::Dsl => "hint: `continue on` replaces the default 0 rather than adding to it: write `continue on 0, …` if a command that succeeds should continue the job",
                        Format::Json => "hint: `continueJob` lists every code that continues the job, 0 too: add 0 if a command that succeeds should continue it",
                    }),
            );
        }
        let mut reported = Vec::new();
        for terminate in &on_result.terminate_job_with_success.value {
            let code = terminate.value;
            if reported.contains(&code) {
                continue;
            }
            let continue_entry = on_result
                .continue_job
                .value
                .iter()
                .find(|c| c.value == code);
            if let Some(continue_entry) = continue_entry {
                reported.push(code);
                let problem = Problem::ConflictingCode { task: name(), code };
                diagnostics.push(
                    Diagnostic::new(problem)
                        .at(terminate.span, "finishes the job")
                        .also(continue_entry.span, "continues the job"),
                );
            }
        }
        if task.executor.value != "shell" {
            let problem = Problem::NonShellExecutor {
                task: name(),
                executor: task.executor.value.clone(),
            };
            diagnostics.push(
                Diagnostic::new(problem)
                    .at(task.executor.span, "not `shell`")
                    .note(
                        "every task runs with `sh -c`, as in Factotum 0.7, whatever its executor",
                    ),
            );
        }
    }
}
