//! Task names and the references between them: duplicates, unknown and self dependencies,
//! repeated dependencies. Builds the dependency graph the cycle check walks.

use std::borrow::Cow;
use std::collections::HashMap;

use petgraph::graph::{DiGraph, NodeIndex};

use super::Options;
use crate::diag::{Diagnostic, Problem};
use crate::ir::Job;
use crate::suggest;
use crate::template::{Template, Variables};

/// Tasks as nodes (index = position in the file); an edge `a → b` means `b` waits for `a`, and
/// carries the span of the `dependsOn` entry that says so.
pub(super) type DependencyGraph = DiGraph<(), crate::span::Span>;

pub(super) fn check<'j>(
    job: &'j Job,
    options: Options<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> DependencyGraph {
    let key = |template: &'j Template| name_key(template, options.variables);
    // Room for every edge up front: growing the edge list of a big job would briefly hold it
    // one and a half times over.
    let edges = job.tasks.iter().map(|task| task.depends_on.len()).sum();
    let mut graph = DependencyGraph::with_capacity(job.tasks.len(), edges);
    let mut index: HashMap<Cow<'_, str>, usize> = HashMap::with_capacity(job.tasks.len());
    for (position, task) in job.tasks.iter().enumerate() {
        graph.add_node(());
        let name = key(&task.name);
        if let Some(&first) = index.get(&name) {
            let problem = Problem::DuplicateTask {
                task: name.into_owned(),
            };
            diagnostics.push(
                Diagnostic::new(problem)
                    .at(task.name.span, "defined again here")
                    .also(job.tasks[first].name.span, "first defined here"),
            );
        } else {
            index.insert(name, position);
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
            } else if let Some(&target) = index.get(&name) {
                graph.add_edge(
                    NodeIndex::new(target),
                    NodeIndex::new(position),
                    dependency.span,
                );
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
    graph
}

/// The name tasks are matched by: rendered when `--env` gave every value it needs, else the
/// normalized text, so `{{env}}` and `{{ env }}` are the same name.
pub(super) fn name_key<'t>(template: &'t Template, variables: Option<&Variables>) -> Cow<'t, str> {
    variables
        .and_then(|variables| template.render(variables).ok())
        .unwrap_or_else(|| template.normalized())
}
