//! The task graph of a valid job, for the backends: who waits for whom, Factotum 0.7's plan
//! order, and which `--start` points are allowed.
//!
//! Built from the linter's resolved names ([`crate::lint::Resolved::graph`]), only for jobs the
//! linter accepted, so every dependency names exactly one task and there are no cycles.

use std::collections::BTreeSet;

/// Tasks by their position in the job; edges both ways, each list in file order, deduplicated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskGraph {
    /// For each task, the tasks it waits for.
    pub dependencies: Vec<Vec<usize>>,
    /// For each task, the tasks that wait for it.
    pub dependents: Vec<Vec<usize>>,
}

/// Why a run or drawing cannot start at a task; the wording is Factotum 0.7's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartError {
    /// No task has that name.
    NotFound,
    /// Some task below it also waits for a task outside its sub-tree.
    NotSelfContained,
}

impl TaskGraph {
    /// The graph of `tasks` tasks with the edges `(dependency, dependent)`, which must be
    /// distinct, never from a task to itself, and in the order of the dependents' `dependsOn`
    /// entries in the file, as the linter lists them.
    pub(crate) fn from_edges(tasks: usize, edges: impl Iterator<Item = (usize, usize)>) -> Self {
        let mut graph = Self {
            dependencies: vec![Vec::new(); tasks],
            dependents: vec![Vec::new(); tasks],
        };
        for (dependency, dependent) in edges {
            graph.dependencies[dependent].push(dependency);
            graph.dependents[dependency].push(dependent);
        }
        graph
    }

    /// The number of tasks.
    pub fn len(&self) -> usize {
        self.dependencies.len()
    }

    /// Whether the job has no tasks.
    pub fn is_empty(&self) -> bool {
        self.dependencies.is_empty()
    }

    /// The tasks a run from `start` covers: `start` and everything below it, in file order.
    ///
    /// Allowed exactly when that sub-tree is self-contained: every task in it, except `start`
    /// itself, waits only for tasks inside it. (0.7 checked this one level at a time and so
    /// refused some valid start points.)
    pub fn subtree(&self, start: usize) -> Result<Vec<usize>, StartError> {
        let mut inside = vec![false; self.len()];
        inside[start] = true;
        let mut stack = vec![start];
        while let Some(task) = stack.pop() {
            for &dependent in &self.dependents[task] {
                if !inside[dependent] {
                    inside[dependent] = true;
                    stack.push(dependent);
                }
            }
        }
        let members: Vec<usize> = (0..self.len()).filter(|&task| inside[task]).collect();
        let closed = members
            .iter()
            .filter(|&&task| task != start)
            .all(|&task| self.dependencies[task].iter().all(|&d| inside[d]));
        if closed {
            Ok(members)
        } else {
            Err(StartError::NotSelfContained)
        }
    }

    /// Factotum 0.7's plan order (used for `dot` node lines): tasks by tier, where a task's
    /// tier is its longest distance from the roots (or from `start`), and within a tier in
    /// the order 0.7's breadth-first walk meets them, children latest-defined first.
    ///
    /// 0.7 walked every path; walking each tier's distinct tasks once gives the same order,
    /// because a repeated entry only repeats children already met.
    pub fn tiers(&self, start: Option<usize>) -> Vec<Vec<usize>> {
        let children_latest_first = |task: usize| self.dependents[task].iter().rev().copied();
        let mut frontier: Vec<usize> = match start {
            Some(start) => vec![start],
            None => (0..self.len())
                .rev()
                .filter(|&t| self.dependencies[t].is_empty())
                .collect(),
        };
        let mut tier_of: Vec<Option<usize>> = vec![None; self.len()];
        let mut tiers: Vec<Vec<usize>> = Vec::new();
        let mut seen_at = vec![usize::MAX; self.len()];
        while !frontier.is_empty() {
            let level = tiers.len();
            let mut tier = Vec::with_capacity(frontier.len());
            for &task in &frontier {
                if let Some(earlier) = tier_of[task].filter(|&t| t != level) {
                    tiers[earlier].retain(|&t| t != task);
                }
                if tier_of[task] != Some(level) {
                    tier_of[task] = Some(level);
                    tier.push(task);
                }
            }
            tiers.push(tier);
            let mut next = Vec::new();
            for &task in &frontier {
                for child in children_latest_first(task) {
                    if seen_at[child] != level + 1 {
                        seen_at[child] = level + 1;
                        next.push(child);
                    }
                }
            }
            frontier = next;
        }
        tiers
    }
}

/// Which tasks of a run may start: those whose dependencies inside the run have all succeeded
/// (the start task's own dependencies count as done). The executor and `--dry-run` both
/// follow it, so the dry run prints the order a run starts tasks in.
#[derive(Clone, Debug)]
pub(crate) struct Schedule<'g> {
    graph: &'g TaskGraph,
    /// Whether each task of the job takes part in the run.
    taking_part: Vec<bool>,
    /// Dependencies (inside the run) not yet succeeded, per task.
    waiting_for: Vec<usize>,
    /// Tasks free to start and not yet taken.
    ready: BTreeSet<usize>,
}

impl<'g> Schedule<'g> {
    /// The schedule of a run of `members` (positions in the job, in file order).
    pub(crate) fn new(graph: &'g TaskGraph, members: &[usize]) -> Self {
        let mut taking_part = vec![false; graph.len()];
        for &task in members {
            taking_part[task] = true;
        }
        let waiting_for: Vec<usize> = graph
            .dependencies
            .iter()
            .map(|dependencies| dependencies.iter().filter(|&&d| taking_part[d]).count())
            .collect();
        let ready = members
            .iter()
            .copied()
            .filter(|&task| waiting_for[task] == 0)
            .collect();
        Self {
            graph,
            taking_part,
            waiting_for,
            ready,
        }
    }

    /// Whether `task` takes part in the run.
    pub(crate) fn takes_part(&self, task: usize) -> bool {
        self.taking_part[task]
    }

    /// Takes the ready task earliest in the file that `may_start` allows, if any.
    pub(crate) fn next_ready_where(&mut self, may_start: impl Fn(usize) -> bool) -> Option<usize> {
        let task = self.ready.iter().copied().find(|&task| may_start(task))?;
        self.ready.remove(&task);
        Some(task)
    }

    /// Records that `task` succeeded: its dependents in the run that now wait for nothing
    /// become ready.
    pub(crate) fn succeeded(&mut self, task: usize) {
        for &dependent in &self.graph.dependents[task] {
            if self.taking_part[dependent] {
                self.waiting_for[dependent] -= 1;
                if self.waiting_for[dependent] == 0 {
                    self.ready.insert(dependent);
                }
            }
        }
    }

    /// The order a run starts the tasks in when every task succeeds and takes the same time,
    /// with no limit on how many run at once: in waves, each wave every task that the previous
    /// wave's success made ready, in file order.
    pub(crate) fn start_order(self) -> Vec<usize> {
        self.start_order_in_pools(|_| None, &[])
    }

    /// [`Self::start_order`] when each task may belong to a pool (`pool_of`, an index into
    /// `sizes`) of which at most its size run at once: a wave starts, in file order, the ready
    /// tasks whose pool has room left in it; the others wait for the next. `--dry-run`
    /// prints this.
    pub(crate) fn start_order_in_pools(
        mut self,
        pool_of: impl Fn(usize) -> Option<usize>,
        sizes: &[usize],
    ) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.graph.len());
        while !self.ready.is_empty() {
            let mut in_use = vec![0; sizes.len()];
            let mut wave = Vec::new();
            for &task in &self.ready {
                let room = match pool_of(task) {
                    Some(pool) if in_use[pool] >= sizes[pool] => false,
                    Some(pool) => {
                        in_use[pool] += 1;
                        true
                    }
                    None => true,
                };
                if room {
                    wave.push(task);
                }
            }
            if wave.is_empty() {
                // Only a pool of size 0, which the linter refuses, holds every task back.
                wave.extend(self.ready.iter().copied());
            }
            for &task in &wave {
                self.ready.remove(&task);
                self.succeeded(task);
            }
            order.extend(wave);
        }
        order
    }
}

/// For tests: the graph of `tasks`, each a name and the names it waits for, and the names.
#[cfg(test)]
pub(crate) fn graph_of(tasks: &[(&str, &[&str])]) -> (TaskGraph, Vec<String>) {
    let position = |name: &str| {
        tasks
            .iter()
            .position(|(task, _)| *task == name)
            .expect("a dependency names a task of the test")
    };
    let edges = tasks
        .iter()
        .enumerate()
        .flat_map(|(task, (_, dependencies))| {
            dependencies.iter().map(move |&name| (position(name), task))
        });
    let graph = TaskGraph::from_edges(tasks.len(), edges);
    (
        graph,
        tasks.iter().map(|(name, _)| (*name).to_owned()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::{Schedule, StartError, TaskGraph, graph_of as plan};

    fn tier_names<'n>(
        plan: &TaskGraph,
        names: &'n [String],
        start: Option<usize>,
    ) -> Vec<Vec<&'n str>> {
        plan.tiers(start)
            .iter()
            .map(|tier| tier.iter().map(|&t| names[t].as_str()).collect())
            .collect()
    }

    /// The examples from Factotum 0.7's own tests.
    #[test]
    fn tiers_follow_0_7() {
        let (apples, names) = plan(&[
            ("apple", &[]),
            ("turnip", &[]),
            ("orange", &["apple"]),
            ("egg", &["apple"]),
            ("potato", &["apple", "egg"]),
            ("chicken", &["potato", "orange"]),
        ]);
        assert_eq!(
            tier_names(&apples, &names, None),
            [
                vec!["turnip", "apple"],
                vec!["egg", "orange"],
                vec!["potato"],
                vec!["chicken"]
            ]
        );
        let (abc, names) = plan(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c", &["a"]),
            ("banana", &["b", "a"]),
        ]);
        assert_eq!(
            tier_names(&abc, &names, None),
            [vec!["a"], vec!["c", "b"], vec!["banana"]]
        );
        let (hello, names) = plan(&[
            ("hello", &[]),
            ("hello_world", &["hello"]),
            ("say_hello", &["hello"]),
            ("say_goodbye", &["say_hello", "hello_world"]),
        ]);
        assert_eq!(
            tier_names(&hello, &names, None),
            [
                vec!["hello"],
                vec!["say_hello", "hello_world"],
                vec!["say_goodbye"]
            ]
        );
    }

    #[test]
    fn start_points() {
        let (diamond, _) = plan(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b", "c"])]);
        assert_eq!(diamond.subtree(2), Err(StartError::NotSelfContained));
        assert_eq!(diamond.subtree(0), Ok(vec![0, 1, 2, 3]));
        // 0.7 refused this one: `a` waits for `d`, reached from `s` only by a longer path.
        let (quirk, _) = plan(&[
            ("s", &[]),
            ("b", &["s"]),
            ("c", &["b"]),
            ("d", &["c"]),
            ("a", &["s", "d"]),
        ]);
        assert_eq!(quirk.subtree(0), Ok(vec![0, 1, 2, 3, 4]));
        let (mid, _) = plan(&[
            ("root", &[]),
            ("other", &[]),
            ("mid", &["root"]),
            ("leaf", &["mid"]),
        ]);
        assert_eq!(mid.subtree(2), Ok(vec![2, 3]));
    }

    #[test]
    fn the_start_order_goes_in_waves() {
        // `c` becomes ready when `a` succeeds, but `b` was ready from the start.
        let (graph, _) = plan(&[("a", &[]), ("c", &["a"]), ("b", &[])]);
        assert_eq!(Schedule::new(&graph, &[0, 1, 2]).start_order(), [0, 2, 1]);
        let (diamond, _) = plan(&[("a", &[]), ("d", &["b", "c"]), ("b", &["a"]), ("c", &["a"])]);
        assert_eq!(
            Schedule::new(&diamond, &[0, 1, 2, 3]).start_order(),
            [0, 2, 3, 1]
        );
        // From `b`: its dependency `a` is not in the run and counts as done.
        assert_eq!(Schedule::new(&diamond, &[1, 2]).start_order(), [2, 1]);
    }

    #[test]
    fn a_full_pool_holds_its_tasks_for_a_later_wave() {
        let (graph, _) = plan(&[("a", &[]), ("b", &[]), ("c", &[]), ("free", &[])]);
        let pool_of = |task: usize| (task < 3).then_some(0);
        let every = [0, 1, 2, 3];
        assert_eq!(Schedule::new(&graph, &every).start_order(), [0, 1, 2, 3]);
        // `c` waits for a slot in the pool of 2; `free`, in none, does not.
        let order = Schedule::new(&graph, &every).start_order_in_pools(pool_of, &[2]);
        assert_eq!(order, [0, 1, 3, 2]);
        // One at a time: `late`, made ready by `a`, starts beside `b`, before `c`.
        let (chain, _) = plan(&[("a", &[]), ("b", &[]), ("c", &[]), ("late", &["a"])]);
        let order = Schedule::new(&chain, &every).start_order_in_pools(pool_of, &[1]);
        assert_eq!(order, [0, 1, 3, 2]);
    }

    #[test]
    fn a_ready_task_that_may_not_start_stays_ready() {
        let (graph, _) = plan(&[("a", &[]), ("b", &[]), ("c", &[])]);
        let mut schedule = Schedule::new(&graph, &[0, 1, 2]);
        assert_eq!(schedule.next_ready_where(|task| task != 0), Some(1));
        assert_eq!(schedule.next_ready_where(|task| task != 0), Some(2));
        assert_eq!(schedule.next_ready_where(|task| task != 0), None);
        assert_eq!(schedule.next_ready_where(|_| true), Some(0));
    }
}
