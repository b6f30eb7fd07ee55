//! What the graph writers draw: a job's tasks in plan order and the edges between them, and,
//! when asked, where each task got to in one recorded run.

use crate::graph::TaskGraph;
use crate::ir::Job;
use crate::store::TaskState;

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
    /// The run to colour the tasks by, if any; without one, the drawing is Factotum 0.7's.
    pub run: Option<RunStates>,
}

/// Where each task of a job got to in one recorded run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunStates {
    /// The run's id, shown in the legend.
    pub run: String,
    /// Each task's state in the run, by position in the job; `None` for a task the run did not
    /// have (one added to the file since).
    pub states: Vec<Option<TaskState>>,
}

/// How a drawing coloured by a run shows a task: by its state in the run, or as absent from
/// it (`None`). Both writers take their colours and words from here, so they agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Look(Option<TaskState>);

impl Look {
    /// Every look, in the order legends list them: how far a task got, best first.
    const LEGEND_ORDER: [Self; 8] = [
        Self(Some(TaskState::Succeeded)),
        Self(Some(TaskState::FinishedEarly)),
        Self(Some(TaskState::Running)),
        Self(Some(TaskState::Failed)),
        Self(Some(TaskState::Interrupted)),
        Self(Some(TaskState::Skipped)),
        Self(Some(TaskState::NotStarted)),
        Self(None),
    ];

    /// What the legend calls it.
    pub(crate) fn words(self) -> &'static str {
        self.0.map_or("not in the run", TaskState::as_str)
    }

    /// The fill colour, `#rrggbb`, light enough for black text; none for a task the run did
    /// not have, which is drawn dashed instead.
    pub(crate) fn fill(self) -> Option<&'static str> {
        self.0.map(|state| match state {
            TaskState::Succeeded => "#8fd694",
            TaskState::FinishedEarly => "#9fe2d8",
            TaskState::Running => "#fde47f",
            TaskState::Failed => "#f07e7e",
            TaskState::Interrupted => "#f9b467",
            TaskState::Skipped => "#cfcfcf",
            TaskState::NotStarted => "#ffffff",
        })
    }

    /// Its words as an identifier (`finished_early`), for Mermaid class names and node ids.
    pub(crate) fn identifier(self) -> String {
        self.words().replace(' ', "_")
    }
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
            run: None,
        }
    }

    /// The same drawing, each task coloured by where it got to in `run`.
    pub(crate) fn coloured_by(self, run: RunStates) -> Self {
        Self {
            run: Some(run),
            ..self
        }
    }

    /// How `task` is shown, when the drawing is coloured by a run.
    pub(crate) fn look(&self, task: usize) -> Option<Look> {
        let run = self.run.as_ref()?;
        Some(Look(run.states.get(task).copied().flatten()))
    }

    /// The looks of the drawn tasks, each once, in legend order: what the legend lists. Empty
    /// when the drawing is not coloured.
    pub(crate) fn legend(&self) -> Vec<Look> {
        let present: Vec<Look> = self
            .tasks
            .iter()
            .filter_map(|&task| self.look(task))
            .collect();
        Look::LEGEND_ORDER
            .into_iter()
            .filter(|look| present.contains(look))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{Drawing, Look, RunStates};
    use crate::store::TaskState;

    /// `extract` → `transform` → `load`, and `check` and `added` on their own, coloured by a
    /// run where they succeeded, finished early, were skipped and failed, and which had no
    /// `added`. Plan order puts the roots first, latest-defined first.
    pub(crate) fn coloured_sample() -> Drawing<'static> {
        Drawing {
            title: "nightly",
            names: vec!["extract", "transform", "load", "check", "added"],
            tasks: vec![4, 3, 0, 1, 2],
            edges: vec![(0, 1), (1, 2)],
            run: Some(RunStates {
                run: "20261202T093939123Z-4f2a9c".to_owned(),
                states: vec![
                    Some(TaskState::Succeeded),
                    Some(TaskState::FinishedEarly),
                    Some(TaskState::Skipped),
                    Some(TaskState::Failed),
                ],
            }),
        }
    }

    #[test]
    fn the_legend_lists_the_looks_drawn_once_in_order() {
        let drawing = coloured_sample();
        let words: Vec<&str> = drawing.legend().iter().map(|look| look.words()).collect();
        assert_eq!(
            words,
            [
                "succeeded",
                "finished early",
                "failed",
                "skipped",
                "not in the run"
            ]
        );
        // A state list shorter than the job leaves the rest out of the run.
        assert_eq!(drawing.look(4), Some(Look(None)));
        assert_eq!(Look(None).identifier(), "not_in_the_run");
        let only_the_load = Drawing {
            tasks: vec![2],
            edges: vec![],
            ..coloured_sample()
        };
        assert_eq!(only_the_load.legend(), [Look(Some(TaskState::Skipped))]);
        let plain = Drawing {
            run: None,
            ..coloured_sample()
        };
        assert_eq!(plain.legend(), []);
        assert_eq!(plain.look(0), None);
    }

    #[test]
    fn every_look_has_its_own_colour_and_words() {
        let looks = Look::LEGEND_ORDER;
        for (index, look) in looks.iter().enumerate() {
            for other in &looks[index + 1..] {
                assert_ne!(look.words(), other.words());
                assert_ne!(look.fill(), other.fill(), "{}", look.words());
            }
        }
    }
}
