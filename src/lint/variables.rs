//! With `--env` given, every placeholder must have a value.

use crate::diag::{Diagnostic, Problem};
use crate::ir::Job;
use crate::suggest;
use crate::template::Variables;

pub(super) fn check(job: &Job, variables: &Variables, diagnostics: &mut Vec<Diagnostic>) {
    let mut names: Vec<&str> = variables.keys().map(String::as_str).collect();
    names.sort_unstable();
    let placeholders = job.templates().flat_map(|template| &template.placeholders);
    for placeholder in placeholders {
        if placeholder.is_comment() || variables.contains_key(&placeholder.name) {
            continue;
        }
        let suggestion = suggest::closest(&placeholder.name, names.iter().copied());
        let problem = Problem::UndefinedVariable {
            name: placeholder.name.clone(),
        };
        diagnostics.push(
            Diagnostic::new(problem)
                .at(placeholder.span, "no value for this")
                .suggest(suggestion)
                .note(format!(
                    "hint: give it a value with `--env '{{\"{}\": \"...\"}}'`",
                    placeholder.name
                )),
        );
    }
}
