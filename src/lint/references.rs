//! Task names and the references between them: duplicates, unknown and self dependencies,
//! repeated dependencies. Lists the dependencies between tasks for the cycle check.

use std::borrow::Cow;
use std::collections::HashMap;

use compact_str::CompactString;

use super::Options;
use crate::diag::{Diagnostic, Problem};
use crate::ir::Job;
use crate::span::Span;
use crate::suggest;
use crate::template::{Template, Variables};

/// Task `to` waits for task `from` (both positions in the file), as the `dependsOn` entry at
/// `span` says.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dependency {
    pub(super) from: usize,
    pub(super) to: usize,
    pub(super) span: Span,
}

/// Every dependency between two known, different tasks, in file order, once each.
pub(super) fn check<'j>(
    job: &'j Job,
    options: Options<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Dependency> {
    let key = |template: &'j Template| name_key(template, options.variables);
    // Room for every dependency up front: growing the list of a big job would briefly hold it
    // one and a half times over.
    let mut dependencies =
        Vec::with_capacity(job.tasks.iter().map(|task| task.depends_on.len()).sum());
    // Names are copied into the map: up to 24 bytes are stored inline, so a lookup reads the
    // map alone rather than following a pointer to each task (a cache miss per probe on a big
    // job).
    let mut index: HashMap<CompactString, usize> = HashMap::with_capacity(job.tasks.len());
    for (position, task) in job.tasks.iter().enumerate() {
        let name = key(&task.name);
        if let Some(&first) = index.get(name.as_ref()) {
            let problem = Problem::DuplicateTask {
                task: name.into_owned(),
            };
            diagnostics.push(
                Diagnostic::new(problem)
                    .at(task.name.span, "defined again here")
                    .also(job.tasks[first].name.span, "first defined here"),
            );
        } else {
            index.insert(CompactString::from(name), position);
        }
    }

    // Names in file order, built on the first unknown dependency, so suggestions are stable.
    let mut ordered_names: Option<Vec<(usize, &str)>> = None;
    for (position, task) in job.tasks.iter().enumerate() {
        let own_name = key(&task.name);
        let mut seen: Vec<(Cow<'_, str>, &Template)> = Vec::with_capacity(task.depends_on.len());
        for dependency in &task.depends_on {
            let name = key(dependency);
            if let Some((_, first)) = seen.iter().find(|(seen_name, _)| *seen_name == name) {
                let problem = Problem::DuplicateDependency {
                    task: own_name.clone().into_owned(),
                    dependency: name.into_owned(),
                };
                diagnostics.push(
                    Diagnostic::new(problem)
                        .at(dependency.span, "listed again here")
                        .also(first.span, "first listed here"),
                );
                continue;
            }
            if name == own_name {
                let problem = Problem::SelfDependency {
                    task: own_name.clone().into_owned(),
                };
                diagnostics
                    .push(Diagnostic::new(problem).at(dependency.span, "depends on itself here"));
            } else if let Some(&target) = index.get(name.as_ref()) {
                dependencies.push(Dependency {
                    from: target,
                    to: position,
                    span: dependency.span,
                });
            } else if options.complete {
                let names = ordered_names.get_or_insert_with(|| {
                    let mut names: Vec<(usize, &str)> = index
                        .iter()
                        .map(|(name, &at)| (at, name.as_ref()))
                        .collect();
                    names.sort_unstable();
                    names
                });
                let suggestion = suggest::closest(&name, names.iter().map(|&(_, name)| name));
                let problem = Problem::UnknownDependency {
                    task: own_name.clone().into_owned(),
                    dependency: name.clone().into_owned(),
                };
                diagnostics.push(
                    Diagnostic::new(problem)
                        .at(dependency.span, "no task has this name")
                        .suggest(suggestion),
                );
            }
            seen.push((name, dependency));
        }
    }
    dependencies
}

/// The name tasks are matched by: rendered when `--env` gave every value it needs, else the
/// normalized text, so `{{env}}` and `{{ env }}` are the same name.
pub(super) fn name_key<'t>(template: &'t Template, variables: Option<&Variables>) -> Cow<'t, str> {
    variables
        .and_then(|variables| template.render(variables).ok())
        .unwrap_or_else(|| template.normalized())
}
