//! With `--env` given, every placeholder must have a value.

use crate::diag::{Diagnostic, Problem};
use crate::ir::Job;
use crate::suggest;
use crate::template::{Placeholder, Variables};

/// One diagnostic per variable with no value, labelling every place that uses it.
pub(super) fn check(job: &Job, variables: &Variables, diagnostics: &mut Vec<Diagnostic>) {
    let mut names: Vec<&str> = variables.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut missing: Vec<(&str, Vec<&Placeholder>)> = Vec::new();
    let placeholders = job.templates().flat_map(|template| &template.placeholders);
    for placeholder in placeholders {
        if placeholder.is_comment() || variables.contains_key(&placeholder.name) {
            continue;
        }
        match missing
            .iter_mut()
            .find(|(name, _)| *name == placeholder.name)
        {
            Some((_, uses)) => uses.push(placeholder),
            None => missing.push((&placeholder.name, vec![placeholder])),
        }
    }
    for (name, uses) in missing {
        let suggestion = suggest::closest(name, names.iter().copied());
        let problem = Problem::UndefinedVariable {
            name: name.to_owned(),
        };
        let mut diagnostic = Diagnostic::new(problem).at(uses[0].span, "no value for this");
        for other in &uses[1..] {
            diagnostic = diagnostic.also(other.span, "also used here");
        }
        diagnostics.push(diagnostic.suggest(suggestion).note(value_hint(name)));
    }
}

/// How to give variable `name` a value: a tag with `--tag`, anything else with `--env`.
pub(crate) fn value_hint(name: &str) -> String {
    match name.strip_prefix("tag:") {
        Some(key) => format!("hint: give it a value with `--tag {key},VALUE`"),
        None => format!("hint: give it a value with `--env '{{\"{name}\": \"...\"}}'`"),
    }
}
