//! Dependency cycles, each reported once with exactly the tasks that form it, in order.
//!
//! petgraph's recursive algorithms overflow the stack on a 100,000-task chain, so this uses only
//! the iterative ones: `toposort` proves the common acyclic case, and on failure `kosaraju_scc`
//! finds the strongly connected components; inside each, a breadth-first search from its
//! earliest task finds one shortest loop to print.

use std::collections::VecDeque;

use petgraph::Direction;
use petgraph::algo::{kosaraju_scc, toposort};
use petgraph::graph::NodeIndex;

use super::references::DependencyGraph;
use crate::diag::{Diagnostic, Problem};
use crate::ir::Job;

pub(super) fn check(job: &Job, graph: &DependencyGraph, diagnostics: &mut Vec<Diagnostic>) {
    if toposort(graph, None).is_ok() {
        return;
    }
    let mut components: Vec<Vec<NodeIndex>> = kosaraju_scc(graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .collect();
    for component in &mut components {
        component.sort_unstable();
    }
    components.sort_unstable();
    for component in &components {
        let path = shortest_loop(graph, component);
        diagnostics.push(cycle_diagnostic(job, graph, &path));
    }
}

/// The shortest loop through the component's earliest task, as tasks in running order (each
/// waits for the one before it), starting with that task.
fn shortest_loop(graph: &DependencyGraph, component: &[NodeIndex]) -> Vec<NodeIndex> {
    let start = component[0];
    let mut came_from = vec![None; graph.node_count()];
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = graph
            .neighbors_directed(node, Direction::Outgoing)
            .filter(|n| component.binary_search(n).is_ok())
            .collect();
        next.sort_unstable();
        for neighbour in next {
            if neighbour == start {
                let mut path = vec![node];
                while let Some(previous) = came_from[path[path.len() - 1].index()] {
                    path.push(previous);
                }
                path.reverse();
                return path;
            }
            if came_from[neighbour.index()].is_none() {
                came_from[neighbour.index()] = Some(node);
                queue.push_back(neighbour);
            }
        }
    }
    unreachable!("a strongly connected component of two or more tasks has a loop through each")
}

/// Names the loop and labels each `dependsOn` entry that closes a link of it.
fn cycle_diagnostic(job: &Job, graph: &DependencyGraph, path: &[NodeIndex]) -> Diagnostic {
    let name = |node: NodeIndex| job.tasks[node.index()].name.normalized().into_owned();
    let problem = Problem::DependencyCycle {
        path: path.iter().map(|&node| name(node)).collect(),
    };
    let mut diagnostic = Diagnostic::new(problem);
    for (i, &from) in path.iter().enumerate() {
        let to = path[(i + 1) % path.len()];
        let Some(edge) = graph.find_edge(from, to) else {
            continue;
        };
        let label = format!("`{}` waits for `{}`", name(to), name(from));
        diagnostic = if i == 0 {
            diagnostic.at(graph[edge], label)
        } else {
            diagnostic.also(graph[edge], label)
        };
    }
    diagnostic
        .note("hint: a task cannot wait for itself, even through other tasks; remove one of these dependencies")
}
