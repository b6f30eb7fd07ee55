//! What the graph writers draw: a job's tasks in plan order and the edges between them.

use crate::graph::TaskGraph;
use crate::ir::Job;

/// A job's task graph, ready to be written out. Names are the raw text of the file, never
/// templated, as Factotum 0.7 drew them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Drawing<'j> {
    /// The job's name.
    pub title: &'j str,
    /// Every task's name, by position in the job (drawn or not, so positions stay stable).
    pub names: Vec<&'j str>,
    /// The tasks to draw, in Factotum 0.7's plan order.
    pub tasks: Vec<usize>,
    /// `(dependency, dependent)` pairs: for each drawn task in plan order, its dependencies in
    /// the order they are written. Only edges between drawn tasks.
    pub edges: Vec<(usize, usize)>,
}

impl<'j> Drawing<'j> {
    /// The whole job, or only `start` and the tasks below it. A `start` must have passed
    /// [`TaskGraph::subtree`]: its own dependencies are then the only tasks outside it that anything
    /// drawn waits for, and their edges are left out (0.7 drew them, without their nodes).
    pub(crate) fn new(job: &'j Job, plan: &TaskGraph, start: Option<usize>) -> Self {
        let tasks: Vec<usize> = plan.tiers(start).into_iter().flatten().collect();
        let mut drawn = vec![false; plan.len()];
        for &task in &tasks {
            drawn[task] = true;
        }
        let edges = tasks
            .iter()
            .flat_map(|&task| {
                plan.dependencies[task]
                    .iter()
                    .filter(|&&dependency| drawn[dependency])
                    .map(move |&dependency| (dependency, task))
            })
            .collect();
        Self {
            title: &job.name.text,
            names: job.tasks.iter().map(|task| &*task.name.text).collect(),
            tasks,
            edges,
        }
    }
}
