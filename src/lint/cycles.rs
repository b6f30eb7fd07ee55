//! Dependency cycles, each reported once with exactly the tasks that form it, in order.
//!
//! Kahn's algorithm over flat arrays proves the common acyclic case. Only when it fails is a
//! petgraph graph built: `kosaraju_scc` (iterative: petgraph's recursive algorithms overflow
//! the stack on a 100,000-task chain) finds the strongly connected components, and inside each
//! a breadth-first search from its earliest task finds one shortest loop to print.

use std::collections::VecDeque;

use petgraph::Direction;
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::references::Dependency;
use crate::diag::{Diagnostic, Problem};
use crate::ir::Job;
use crate::span::Span;

/// Tasks as nodes (index = position in the file); an edge `a → b` means `b` waits for `a`, and
/// carries the span of the `dependsOn` entry that says so.
type DependencyGraph = DiGraph<(), Span>;

pub(super) fn check(job: &Job, dependencies: &[Dependency], diagnostics: &mut Vec<Diagnostic>) {
    if is_acyclic(job.tasks.len(), dependencies) {
        return;
    }
    let mut graph = DependencyGraph::with_capacity(job.tasks.len(), dependencies.len());
    for _ in &job.tasks {
        graph.add_node(());
    }
    for dependency in dependencies {
        let from = NodeIndex::new(dependency.from);
        graph.add_edge(from, NodeIndex::new(dependency.to), dependency.span);
    }
    let graph = &graph;
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

/// Kahn's algorithm: takes, again and again, a task that waits for nothing not yet taken;
/// every task is taken exactly when there is no cycle. It reads flat arrays, where petgraph's
/// `toposort` follows linked lists of edges: that was 7% of checking a 100,000-task job.
fn is_acyclic(task_count: usize, dependencies: &[Dependency]) -> bool {
    // The tasks waiting for each task, grouped by task: those of task `t` are
    // `dependents[starts[t]..starts[t + 1]]`.
    let mut starts = vec![0; task_count + 1];
    for dependency in dependencies {
        starts[dependency.from + 1] += 1;
    }
    for task in 0..task_count {
        starts[task + 1] += starts[task];
    }
    let mut next_slot = starts.clone();
    let mut dependents = vec![0; dependencies.len()];
    let mut waiting_for = vec![0_usize; task_count];
    for dependency in dependencies {
        dependents[next_slot[dependency.from]] = dependency.to;
        next_slot[dependency.from] += 1;
        waiting_for[dependency.to] += 1;
    }
    let mut ready: Vec<usize> = (0..task_count)
        .filter(|&task| waiting_for[task] == 0)
        .collect();
    let mut taken = 0;
    while let Some(task) = ready.pop() {
        taken += 1;
        for &dependent in &dependents[starts[task]..starts[task + 1]] {
            waiting_for[dependent] -= 1;
            if waiting_for[dependent] == 0 {
                ready.push(dependent);
            }
        }
    }
    taken == task_count
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
