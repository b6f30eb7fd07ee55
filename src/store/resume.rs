//! What `run --resume` runs again: a pure function of the current job and the tasks of the run
//! it resumes, and the words that explain it.
//!
//! Tasks are matched to the resumed run's BY NAME, not position: editing the file may move
//! them. A task runs again when it did not end well (failed, interrupted, skipped, not started,
//! or running when its run was lost) or when it, or a task above it, changed since that run.
//! Everything else is carried over: the new run stores the old record, naming the run it was
//! really run in, so a chain of resumes always points at the original.

use std::collections::HashMap;

use super::{TaskRecord, TaskState};
use crate::exec::early_finish_reason;
use crate::graph::{Schedule, TaskGraph};

/// What a resumed run does with each task of the current job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResumePlan {
    /// The run this one resumes.
    pub resumes: String,
    /// The tasks to run, by ascending position: the members of the run's [`Schedule`].
    pub members: Vec<usize>,
    /// One record per task not run, by ascending position: what this run stores for it, with
    /// the current job's position, name and definition.
    pub carried: Vec<TaskRecord>,
    /// Why each task of the current job runs or not, by position.
    pub reasons: Vec<Reason>,
}

/// Why a task runs again or is carried over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Runs: the resumed run had no task of this name.
    New,
    /// Runs: its definition differs from the resumed run's.
    Changed,
    /// Runs: it depends, directly or not, on the task at this position, which is new or
    /// changed.
    BelowChange(usize),
    /// Runs: it ended so in the resumed run.
    Unfinished(TaskState),
    /// Carried over: it succeeded or finished early in `run`.
    Kept { state: TaskState, run: String },
    /// Carried over as skipped: the task at position `by`, kept as finished early in `run`,
    /// pruned the sub-tree it is in.
    StaysPruned { by: usize, run: String },
}

impl Reason {
    /// Whether the task runs in the resumed run.
    fn runs(&self) -> bool {
        !matches!(self, Self::Kept { .. } | Self::StaysPruned { .. })
    }
}

/// The plan for resuming `previous_run`, whose task records are `previous`, with the current
/// job: `graph`, and each task's rendered name (`names`) and definition hash (`definitions`)
/// by position, all three the same length.
///
/// The rules:
/// - a task whose name the resumed run does not have, or whose definition changed, runs, with
///   every task below it in the current graph, even those that succeeded;
/// - otherwise a task that succeeded or finished early is kept, and every other state runs
///   again;
/// - a task below one kept as finished early is not run, whatever else holds: it is carried as
///   skipped, because that early finish pruned its sub-tree. A task that finished early but
///   runs again (because something above it changed) prunes nothing.
///
/// Records of tasks the job no longer has are ignored.
pub(crate) fn plan(
    graph: &TaskGraph,
    names: &[String],
    definitions: &[String],
    previous: &[TaskRecord],
    previous_run: &str,
) -> ResumePlan {
    debug_assert!(names.len() == graph.len() && definitions.len() == graph.len());
    let mut by_name: HashMap<&str, &TaskRecord> = HashMap::with_capacity(previous.len());
    for record in previous {
        // A damaged store may repeat a name: the first row wins, as any would.
        by_name.entry(&record.name).or_insert(record);
    }
    let earlier: Vec<Option<&TaskRecord>> = names
        .iter()
        .map(|name| by_name.get(name.as_str()).copied())
        .collect();
    let origin = |record: &TaskRecord| {
        record
            .carried_from
            .clone()
            .unwrap_or_else(|| previous_run.to_owned())
    };

    let mut reasons: Vec<Option<Reason>> = earlier
        .iter()
        .zip(definitions)
        .map(|(record, definition)| match record {
            None => Some(Reason::New),
            Some(record) if record.definition != *definition => Some(Reason::Changed),
            Some(_) => None,
        })
        .collect();
    mark_below_changes(graph, &mut reasons);

    let kept_finished_early: Vec<bool> = (0..graph.len())
        .map(|task| {
            reasons[task].is_none()
                && earlier[task].is_some_and(|record| record.state == TaskState::FinishedEarly)
        })
        .collect();
    for (task, pruner) in pruners(graph, &kept_finished_early).into_iter().enumerate() {
        if let Some(by) = pruner
            && let Some(record) = earlier[by]
        {
            reasons[task] = Some(Reason::StaysPruned {
                by,
                run: origin(record),
            });
        }
    }

    let reasons: Vec<Reason> = reasons
        .into_iter()
        .zip(&earlier)
        .map(|(reason, record)| match (reason, record) {
            (Some(reason), _) => reason,
            (None, Some(record)) => match record.state {
                TaskState::Succeeded | TaskState::FinishedEarly => Reason::Kept {
                    state: record.state,
                    run: origin(record),
                },
                unfinished => Reason::Unfinished(unfinished),
            },
            // Every task without a record was marked new above.
            (None, None) => Reason::New,
        })
        .collect();

    let members = (0..reasons.len())
        .filter(|&task| reasons[task].runs())
        .collect();
    let carried = reasons
        .iter()
        .enumerate()
        .filter_map(|(task, reason)| {
            let (name, definition) = (names[task].clone(), definitions[task].clone());
            match reason {
                Reason::Kept { run, .. } => earlier[task].map(|record| TaskRecord {
                    position: task,
                    name,
                    definition,
                    carried_from: Some(run.clone()),
                    ..record.clone()
                }),
                Reason::StaysPruned { by, run } => Some(TaskRecord {
                    state: TaskState::Skipped,
                    reason: Some(early_finish_reason(&names[*by])),
                    carried_from: Some(run.clone()),
                    // The caller places every row in the plan order.
                    ..TaskRecord::not_started(task, 0, name, definition)
                }),
                _ => None,
            }
        })
        .collect();
    ResumePlan {
        resumes: previous_run.to_owned(),
        members,
        carried,
        reasons,
    }
}

/// Marks every task below a new or changed one, that is not itself new or changed, with the
/// first of them that reaches it, walking out from all of them at once in file order.
fn mark_below_changes(graph: &TaskGraph, reasons: &mut [Option<Reason>]) {
    let mut frontier: Vec<(usize, usize)> = (0..graph.len())
        .filter(|&task| reasons[task].is_some())
        .map(|task| (task, task))
        .collect();
    let mut next = Vec::new();
    while !frontier.is_empty() {
        for &(task, changed) in &frontier {
            for &dependent in &graph.dependents[task] {
                if reasons[dependent].is_none() {
                    reasons[dependent] = Some(Reason::BelowChange(changed));
                    next.push((dependent, changed));
                }
            }
        }
        frontier = std::mem::take(&mut next);
    }
}

/// For each task, the task kept as finished early whose early finish prunes it, if any. The
/// first of its dependencies (in the order it names them) that is pruned or kept as finished
/// early decides: what prunes that dependency, or else the dependency itself. So a whole
/// sub-tree names one task, the highest, even below an early finish that is itself pruned.
fn pruners(graph: &TaskGraph, kept_finished_early: &[bool]) -> Vec<Option<usize>> {
    let everything: Vec<usize> = (0..graph.len()).collect();
    // Every task comes after all it depends on.
    let dependencies_first = Schedule::new(graph, &everything).start_order();
    let mut pruner: Vec<Option<usize>> = vec![None; graph.len()];
    for task in dependencies_first {
        pruner[task] = graph.dependencies[task].iter().find_map(|&dependency| {
            pruner[dependency].or_else(|| kept_finished_early[dependency].then_some(dependency))
        });
    }
    pruner
}

impl ResumePlan {
    /// The plan in words, for `run --dry-run --resume` and the start of a resumed run: a
    /// summary line, then one line per task in file order. `names` are the current job's
    /// rendered task names, by position.
    pub(crate) fn describe(&self, names: &[String]) -> Vec<String> {
        let total = self.reasons.len();
        let summary = format!(
            "Resuming run {}: {} of {total} {} to run; {} kept from earlier runs",
            self.resumes,
            self.members.len(),
            if total == 1 { "task" } else { "tasks" },
            self.carried.len(),
        );
        let resumes = &self.resumes;
        let tasks = self.reasons.iter().zip(names).map(|(reason, name)| {
            let name_of = |task: usize| names.get(task).map_or("", String::as_str);
            match reason {
                Reason::New => format!("Task '{name}' will run: it is new since run {resumes}"),
                Reason::Changed => {
                    format!("Task '{name}' will run: its definition changed since run {resumes}")
                }
                Reason::BelowChange(above) => format!(
                    "Task '{name}' will run: it depends on '{}', which {} since run {resumes}",
                    name_of(*above),
                    if self.reasons.get(*above) == Some(&Reason::New) {
                        "is new"
                    } else {
                        "changed"
                    }
                ),
                Reason::Unfinished(state) => {
                    format!("Task '{name}' will run: {}", unfinished(*state, resumes))
                }
                Reason::Kept { state, run } => {
                    format!("Task '{name}' is kept: it {} in run {run}", state.as_str())
                }
                Reason::StaysPruned { by, run } => format!(
                    "Task '{name}' stays skipped: '{}' finished early in run {run}",
                    name_of(*by)
                ),
            }
        });
        std::iter::once(summary).chain(tasks).collect()
    }
}

/// How a task that runs again ended in the resumed run `run`.
fn unfinished(state: TaskState, run: &str) -> String {
    match state {
        TaskState::Failed => format!("it failed in run {run}"),
        TaskState::Interrupted => format!("it was interrupted in run {run}"),
        TaskState::Skipped => format!("it was skipped in run {run}"),
        TaskState::NotStarted => format!("it did not start in run {run}"),
        TaskState::Running => format!("it was still running when run {run} was lost"),
        // Never run again: these are kept.
        TaskState::Succeeded | TaskState::FinishedEarly => {
            format!("it {} in run {run}", state.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Reason, ResumePlan, plan};
    use crate::graph::{TaskGraph, graph_of};
    use crate::store::{TaskRecord, TaskState};

    const RESUMED: &str = "20261202T093939123Z-4f2a9c";

    /// A job of `tasks`, each a name and the names it waits for: its graph, names and
    /// definitions (`def NAME`).
    fn job(tasks: &[(&str, &[&str])]) -> (TaskGraph, Vec<String>, Vec<String>) {
        let (graph, names) = graph_of(tasks);
        let definitions = names.iter().map(|name| format!("def {name}")).collect();
        (graph, names, definitions)
    }

    /// The resumed run's record of task `name` (definition `def NAME`), which ended in `state`.
    fn was(position: usize, name: &str, state: TaskState) -> TaskRecord {
        TaskRecord {
            state,
            ..TaskRecord::not_started(position, 0, name.to_owned(), format!("def {name}"))
        }
    }

    fn plan_of(
        (graph, names, definitions): &(TaskGraph, Vec<String>, Vec<String>),
        previous: &[TaskRecord],
    ) -> ResumePlan {
        plan(graph, names, definitions, previous, RESUMED)
    }

    /// The names of `tasks`.
    fn named(names: &[String], tasks: &[usize]) -> Vec<String> {
        tasks.iter().map(|&task| names[task].clone()).collect()
    }

    fn carried_names(plan: &ResumePlan) -> Vec<&str> {
        plan.carried.iter().map(|record| &*record.name).collect()
    }

    fn kept(state: TaskState) -> Reason {
        Reason::Kept {
            state,
            run: RESUMED.to_owned(),
        }
    }

    #[test]
    fn unfinished_tasks_run_again_and_finished_ones_are_kept() {
        use TaskState::*;
        let current = job(&[
            ("ok", &[]),
            ("failed", &["ok"]),
            ("skipped", &["failed"]),
            ("interrupted", &[]),
            ("not started", &[]),
            ("running", &[]),
            ("early", &[]),
        ]);
        let states = [
            Succeeded,
            Failed,
            Skipped,
            Interrupted,
            NotStarted,
            Running,
            FinishedEarly,
        ];
        let previous: Vec<TaskRecord> = current
            .1
            .iter()
            .zip(states)
            .enumerate()
            .map(|(position, (name, state))| was(position, name, state))
            .collect();
        let plan = plan_of(&current, &previous);
        assert_eq!(plan.members, [1, 2, 3, 4, 5]);
        assert_eq!(
            plan.reasons,
            [
                kept(Succeeded),
                Reason::Unfinished(Failed),
                Reason::Unfinished(Skipped),
                Reason::Unfinished(Interrupted),
                Reason::Unfinished(NotStarted),
                Reason::Unfinished(Running),
                kept(FinishedEarly),
            ]
        );
        assert_eq!(carried_names(&plan), ["ok", "early"]);
        for record in &plan.carried {
            assert_eq!(record.carried_from.as_deref(), Some(RESUMED));
        }
        assert_eq!(plan.resumes, RESUMED);
    }

    #[test]
    fn kept_records_keep_what_the_task_did_at_their_new_position() {
        let current = job(&[("new", &[]), ("ok", &[])]);
        let ran = TaskRecord {
            started_at: Some(5),
            ended_at: Some(9),
            exit_code: Some(0),
            stdout_tail: Some("done\n".to_owned()),
            ..was(0, "ok", TaskState::Succeeded)
        };
        let plan = plan_of(&current, std::slice::from_ref(&ran));
        assert_eq!(
            plan.carried,
            [TaskRecord {
                position: 1,
                carried_from: Some(RESUMED.to_owned()),
                ..ran
            }]
        );
        assert_eq!(plan.members, [0]);
        assert_eq!(plan.reasons[0], Reason::New);
    }

    #[test]
    fn an_early_finish_keeps_its_sub_tree_pruned() {
        let current = job(&[
            ("early", &[]),
            ("below", &["early"]),
            ("deeper", &["below"]),
        ]);
        let plan = plan_of(
            &current,
            &[
                was(0, "early", TaskState::FinishedEarly),
                was(1, "below", TaskState::Skipped),
                was(2, "deeper", TaskState::Skipped),
            ],
        );
        assert_eq!(plan.members, [] as [usize; 0]);
        let pruned = Reason::StaysPruned {
            by: 0,
            run: RESUMED.to_owned(),
        };
        assert_eq!(plan.reasons[1..], [pruned.clone(), pruned]);
        let below = &plan.carried[1];
        assert_eq!(
            (
                below.state,
                below.reason.as_deref(),
                below.carried_from.as_deref()
            ),
            (
                TaskState::Skipped,
                Some("the task 'early' requested early termination"),
                Some(RESUMED)
            )
        );
    }

    #[test]
    fn a_task_below_a_failure_and_an_early_finish_stays_pruned() {
        let current = job(&[
            ("failed", &[]),
            ("early", &[]),
            ("both", &["failed", "early"]),
        ]);
        let plan = plan_of(
            &current,
            &[
                was(0, "failed", TaskState::Failed),
                was(1, "early", TaskState::FinishedEarly),
                was(2, "both", TaskState::Skipped),
            ],
        );
        assert_eq!(plan.members, [0]);
        assert_eq!(carried_names(&plan), ["early", "both"]);
        assert_eq!(
            plan.reasons[2],
            Reason::StaysPruned {
                by: 1,
                run: RESUMED.to_owned()
            }
        );
    }

    #[test]
    fn a_change_reruns_everything_below_it_even_what_succeeded() {
        let (graph, names, mut definitions) = job(&[
            ("other", &[]),
            ("top", &[]),
            ("middle", &["top"]),
            ("bottom", &["middle", "other"]),
        ]);
        definitions[1] = "def top, edited".to_owned();
        let previous: Vec<TaskRecord> = names
            .iter()
            .enumerate()
            .map(|(position, name)| was(position, name, TaskState::Succeeded))
            .collect();
        let plan = plan(&graph, &names, &definitions, &previous, RESUMED);
        assert_eq!(named(&names, &plan.members), ["top", "middle", "bottom"]);
        assert_eq!(
            plan.reasons,
            [
                kept(TaskState::Succeeded),
                Reason::Changed,
                Reason::BelowChange(1),
                Reason::BelowChange(1),
            ]
        );
        assert_eq!(carried_names(&plan), ["other"]);
    }

    #[test]
    fn a_new_task_runs_with_everything_below_it() {
        let current = job(&[("old", &[]), ("added", &["old"]), ("after", &["added"])]);
        let plan = plan_of(
            &current,
            &[
                was(0, "old", TaskState::Succeeded),
                was(1, "after", TaskState::Succeeded),
            ],
        );
        assert_eq!(plan.members, [1, 2]);
        assert_eq!(plan.reasons[1..], [Reason::New, Reason::BelowChange(1)]);
    }

    #[test]
    fn an_early_finish_that_runs_again_prunes_nothing() {
        let (graph, names, mut definitions) =
            job(&[("top", &[]), ("early", &["top"]), ("pruned", &["early"])]);
        definitions[0] = "def top, edited".to_owned();
        let previous = [
            was(0, "top", TaskState::Succeeded),
            was(1, "early", TaskState::FinishedEarly),
            was(2, "pruned", TaskState::Skipped),
        ];
        let plan = plan(&graph, &names, &definitions, &previous, RESUMED);
        assert_eq!(plan.members, [0, 1, 2]);
        assert_eq!(plan.carried, []);
        assert_eq!(
            plan.reasons,
            [
                Reason::Changed,
                Reason::BelowChange(0),
                Reason::BelowChange(0)
            ]
        );
    }

    #[test]
    fn a_change_below_a_kept_early_finish_stays_pruned() {
        let (graph, names, mut definitions) = job(&[("early", &[]), ("edited", &["early"])]);
        definitions[1] = "def edited, edited".to_owned();
        let previous = [
            was(0, "early", TaskState::FinishedEarly),
            was(1, "edited", TaskState::Skipped),
        ];
        let plan = plan(&graph, &names, &definitions, &previous, RESUMED);
        assert_eq!(plan.members, [] as [usize; 0]);
        assert_eq!(plan.carried[1].definition, "def edited, edited");
        assert_eq!(plan.carried[1].state, TaskState::Skipped);
    }

    #[test]
    fn tasks_are_matched_by_name_and_deleted_ones_ignored() {
        let current = job(&[("b", &[]), ("a", &[])]);
        let plan = plan_of(
            &current,
            &[
                was(0, "a", TaskState::Succeeded),
                was(1, "deleted", TaskState::Failed),
                was(2, "b", TaskState::Failed),
            ],
        );
        assert_eq!(plan.members, [0]);
        assert_eq!(plan.reasons[0], Reason::Unfinished(TaskState::Failed));
        assert_eq!((plan.carried[0].position, &*plan.carried[0].name), (1, "a"));
        assert_eq!(plan.carried.len(), 1);
    }

    #[test]
    fn an_empty_job_has_nothing_to_run() {
        let plan = plan_of(&job(&[]), &[was(0, "deleted", TaskState::Failed)]);
        assert_eq!(plan.members, [] as [usize; 0]);
        assert_eq!(plan.carried, []);
        assert_eq!(
            plan.describe(&[]),
            [format!(
                "Resuming run {RESUMED}: 0 of 0 tasks to run; 0 kept from earlier runs"
            )]
        );
    }

    #[test]
    fn a_chain_of_resumes_names_the_run_that_ran_the_task() {
        let first = first_run();
        let current = job(&[("ok", &[]), ("early", &[]), ("pruned", &["early"])]);
        let carried_from_first = |position, name, state| TaskRecord {
            carried_from: Some(first.clone()),
            ..was(position, name, state)
        };
        let plan = plan_of(
            &current,
            &[
                carried_from_first(0, "ok", TaskState::Succeeded),
                carried_from_first(1, "early", TaskState::FinishedEarly),
                carried_from_first(2, "pruned", TaskState::Skipped),
            ],
        );
        assert_eq!(plan.carried.len(), 3);
        for record in &plan.carried {
            assert_eq!(
                record.carried_from.as_ref(),
                Some(&first),
                "{}",
                record.name
            );
        }
        assert_eq!(
            plan.reasons[2],
            Reason::StaysPruned {
                by: 1,
                run: first.clone()
            }
        );
    }

    #[test]
    fn a_damaged_history_never_panics() {
        // The same name twice (the first row counts), and an early finish below another one,
        // which a consistent history never holds: both are pruned by the upper one.
        let current = job(&[("upper", &[]), ("lower", &["upper"]), ("leaf", &["lower"])]);
        let plan = plan_of(
            &current,
            &[
                was(0, "upper", TaskState::FinishedEarly),
                was(0, "upper", TaskState::Failed),
                was(1, "lower", TaskState::FinishedEarly),
                was(2, "leaf", TaskState::Skipped),
            ],
        );
        let by_upper = Reason::StaysPruned {
            by: 0,
            run: RESUMED.to_owned(),
        };
        assert_eq!(
            plan.reasons,
            [kept(TaskState::FinishedEarly), by_upper.clone(), by_upper]
        );
    }

    #[test]
    fn the_plan_in_words() {
        let (graph, names, mut definitions) = job(&[
            ("extract", &[]),
            ("transform", &["extract"]),
            ("load", &["transform"]),
            ("check", &[]),
            ("archive", &["check"]),
            ("notify", &["load"]),
            ("lost", &[]),
            ("added", &[]),
            ("after added", &["added"]),
        ]);
        definitions[1] = "def transform, edited".to_owned();
        let earlier = first_run();
        let previous = [
            was(0, "extract", TaskState::Succeeded),
            was(1, "transform", TaskState::Succeeded),
            was(2, "load", TaskState::Failed),
            TaskRecord {
                carried_from: Some(earlier.clone()),
                ..was(3, "check", TaskState::FinishedEarly)
            },
            was(4, "archive", TaskState::Skipped),
            was(5, "notify", TaskState::NotStarted),
            was(6, "lost", TaskState::Running),
            was(7, "after added", TaskState::Succeeded),
        ];
        let plan = plan(&graph, &names, &definitions, &previous, RESUMED);
        assert_eq!(
            plan.describe(&names),
            [
                format!("Resuming run {RESUMED}: 6 of 9 tasks to run; 3 kept from earlier runs"),
                format!("Task 'extract' is kept: it succeeded in run {RESUMED}"),
                format!("Task 'transform' will run: its definition changed since run {RESUMED}"),
                format!(
                    "Task 'load' will run: it depends on 'transform', which changed since run \
                     {RESUMED}"
                ),
                format!("Task 'check' is kept: it finished early in run {earlier}"),
                format!("Task 'archive' stays skipped: 'check' finished early in run {earlier}"),
                format!(
                    "Task 'notify' will run: it depends on 'transform', which changed since run \
                     {RESUMED}"
                ),
                format!("Task 'lost' will run: it was still running when run {RESUMED} was lost"),
                format!("Task 'added' will run: it is new since run {RESUMED}"),
                format!(
                    "Task 'after added' will run: it depends on 'added', which is new since run \
                     {RESUMED}"
                ),
            ]
        );
        let one = job(&[("only", &[])]);
        let plan = plan_of(&one, &[was(0, "only", TaskState::Interrupted)]);
        assert_eq!(
            plan.describe(&one.1),
            [
                format!("Resuming run {RESUMED}: 1 of 1 task to run; 0 kept from earlier runs"),
                format!("Task 'only' will run: it was interrupted in run {RESUMED}"),
            ]
        );
    }

    fn first_run() -> String {
        "20261201T000000000Z-000001".to_owned()
    }
}
