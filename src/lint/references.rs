//! Task names and the references between them: duplicates, unknown and self dependencies,
//! repeated dependencies. Resolves every name once, for the cycle check and every backend.

use std::borrow::Cow;
use std::collections::HashMap;

use compact_str::CompactString;

use super::Options;
use crate::diag::{Diagnostic, Problem};
use crate::graph::TaskGraph;
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

/// Where a task name is defined, by the name tasks are matched by.
#[derive(Clone, Copy, Debug)]
struct Definition {
    task: usize,
    span: Span,
}

/// Every task name of a job matched to its task, once, by the one rule all of factotum uses
/// (`name_key`): the task graph the backends draw and run, and an index from each name to
/// where it is defined and referred to (for go-to-definition and rename in an editor).
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    tasks: usize,
    /// Each distinct name, at its first definition. Names are copied into the map: up to 24
    /// bytes are stored inline, so a lookup reads the map alone rather than following a
    /// pointer to each task (a cache miss per probe on a big job).
    names: HashMap<CompactString, Definition>,
    /// Every dependency between two known, different tasks, in file order, once each.
    dependencies: Vec<Dependency>,
    /// References that make no edge: a dependency listed again, or a task naming itself; each
    /// with the task it names.
    other_references: Vec<(usize, Span)>,
}

impl Resolved {
    /// The task called `name`, compared as the linter compared names: rendered when the job
    /// was compiled with variables, else with placeholders normalized (`{{ env }}`).
    pub fn task(&self, name: &str) -> Option<usize> {
        self.names.get(name).map(|definition| definition.task)
    }

    /// Where the task called `name` is defined (its first definition, if there are several).
    pub fn definition(&self, name: &str) -> Option<Span> {
        self.names.get(name).map(|definition| definition.span)
    }

    /// Every `dependsOn` entry that names the task called `name`, in file order (repeated and
    /// self-references included: renaming the task must change them too).
    pub fn references(&self, name: &str) -> Vec<Span> {
        let Some(task) = self.task(name) else {
            return Vec::new();
        };
        let mut spans: Vec<Span> = self
            .dependencies
            .iter()
            .filter(|dependency| dependency.from == task)
            .map(|dependency| dependency.span)
            .chain(
                self.other_references
                    .iter()
                    .filter(|&&(named, _)| named == task)
                    .map(|&(_, span)| span),
            )
            .collect();
        spans.sort_unstable();
        spans
    }

    /// The dependencies between tasks, both ways, for the backends.
    pub fn graph(&self) -> TaskGraph {
        TaskGraph::from_edges(
            self.tasks,
            self.dependencies
                .iter()
                .map(|dependency| (dependency.from, dependency.to)),
        )
    }

    /// Every dependency between two known, different tasks, in file order, once each.
    pub(super) fn dependencies(&self) -> &[Dependency] {
        &self.dependencies
    }
}

/// Checks names and references, and resolves them.
pub(super) fn check<'j>(
    job: &'j Job,
    options: Options<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Resolved {
    let key = |template: &'j Template| name_key(template, options.variables);
    // Room for every dependency up front: growing the list of a big job would briefly hold it
    // one and a half times over.
    let mut dependencies =
        Vec::with_capacity(job.tasks.iter().map(|task| task.depends_on.len()).sum());
    let mut index: HashMap<CompactString, Definition> = HashMap::with_capacity(job.tasks.len());
    let mut other_references = Vec::new();
    for (position, task) in job.tasks.iter().enumerate() {
        let name = key(&task.name);
        if let Some(&Definition { task: first, .. }) = index.get(name.as_ref()) {
            let problem = Problem::DuplicateTask {
                task: name.into_owned(),
            };
            diagnostics.push(
                Diagnostic::new(problem)
                    .at(task.name.span, "defined again here")
                    .also(job.tasks[first].name.span, "first defined here"),
            );
        } else {
            let definition = Definition {
                task: position,
                span: task.name.span,
            };
            index.insert(CompactString::from(name), definition);
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
                if let Some(named) = index.get(name.as_ref()) {
                    other_references.push((named.task, dependency.span));
                }
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
                other_references.push((position, dependency.span));
            } else if let Some(target) = index.get(name.as_ref()) {
                dependencies.push(Dependency {
                    from: target.task,
                    to: position,
                    span: dependency.span,
                });
            } else if options.complete {
                let names = ordered_names.get_or_insert_with(|| {
                    let mut names: Vec<(usize, &str)> = index
                        .iter()
                        .map(|(name, at)| (at.task, name.as_ref()))
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
    Resolved {
        tasks: job.tasks.len(),
        names: index,
        dependencies,
        other_references,
    }
}

/// The name tasks are matched by: rendered when `--env` gave every value it needs, else the
/// normalized text, so `{{env}}` and `{{ env }}` are the same name.
pub(crate) fn name_key<'t>(template: &'t Template, variables: Option<&Variables>) -> Cow<'t, str> {
    variables
        .and_then(|variables| template.render(variables).ok())
        .unwrap_or_else(|| template.normalized())
}

#[cfg(test)]
mod tests {
    use crate::source::Source;
    use crate::span::Span;

    /// The text of `span` in `text`.
    fn spelled(text: &str, span: Span) -> &str {
        &text[span.start as usize..span.end as usize]
    }

    #[test]
    fn the_index_finds_every_definition_and_reference_by_the_linters_name() {
        let text = r#"job "j"

task "load {{env}}" {
    run "true"
}

task "report" {
    run "true"
    after "load {{ env }}", "load {{env}}"
}

task "again" {
    run "true"
    after "again", "load {{env}}"
}
"#;
        let compiled = crate::compile(&Source::new("j.factotum", text), None);
        let resolved = compiled.resolved.expect("the job parses");
        let name = "load {{env}}";
        assert_eq!(resolved.task(name), Some(0));
        let definition = resolved.definition(name).expect("defined");
        assert_eq!(spelled(text, definition), r#""load {{env}}""#);
        let references: Vec<&str> = resolved
            .references(name)
            .into_iter()
            .map(|span| spelled(text, span))
            .collect();
        assert_eq!(
            references,
            [
                r#""load {{ env }}""#,
                r#""load {{env}}""#,
                r#""load {{env}}""#
            ]
        );
        assert_eq!(
            resolved.references("again").len(),
            1,
            "a task naming itself"
        );
        assert_eq!(resolved.task("load {{ env }}"), None, "keys are normalized");
        let graph = resolved.graph();
        assert_eq!(graph.dependencies, [vec![], vec![0], vec![0]]);
        assert_eq!(graph.dependents, [vec![1, 2], vec![], vec![]]);
    }
}
