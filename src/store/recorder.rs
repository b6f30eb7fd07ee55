//! Recording a run as it happens: an [`Observer`] of the executor that writes each task's
//! state to the store before any task waiting for it starts, and a thread that tells the
//! store the run is alive.
//!
//! The store never stops a job that could run: once a write fails, the recorder warns once,
//! stops writing, and the summary says the history is incomplete.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::SystemTime;

use sha2::{Digest as _, Sha256};

use super::{
    Backend, HEARTBEAT_EVERY, Outcome, RunRecord, StoreError, TaskRecord, TaskState, millis,
};
use crate::exec::{Observer, PreparedTask, State, View};
use crate::graph::TaskGraph;

/// Records one run in a store.
pub(crate) struct Recorder {
    /// `None` once a write failed: the rest of the run is not recorded.
    backend: Option<Box<dyn Backend>>,
    run: String,
    tasks: Vec<TaskRecord>,
    /// A stop signal arrived: tasks that fail from now on were interrupted.
    stopping: bool,
    /// Why the history of this run is incomplete, once it is.
    problem: Option<StoreError>,
    heartbeat: Option<(Sender<()>, JoinHandle<()>)>,
}

impl Recorder {
    /// Records the start of `run` with `tasks` (every task of the job: those that will not
    /// run carry their state from an earlier run) and starts telling the store it is alive.
    pub(crate) fn begin(
        mut backend: Box<dyn Backend>,
        run: &RunRecord,
        tasks: Vec<TaskRecord>,
    ) -> Result<Self, StoreError> {
        backend.insert_run(run, &tasks)?;
        // A failed second connection only costs the heartbeat: on this host the run's
        // process still tells whether it is alive.
        let heartbeat = backend
            .connect_again()
            .ok()
            .and_then(|second| beat(second, run.id.clone()));
        Ok(Self {
            backend: Some(backend),
            run: run.id.clone(),
            tasks,
            stopping: false,
            problem: None,
            heartbeat,
        })
    }

    /// Records how the run ended; what went wrong with the store along the way, if anything.
    pub(crate) fn finish(mut self, outcome: Outcome, exit_code: i32) -> Option<StoreError> {
        if let Some((stop, thread)) = self.heartbeat.take() {
            drop(stop);
            let _ = thread.join();
        }
        let ended = millis(SystemTime::now());
        self.write(|backend, run| backend.finish_run(run, outcome, exit_code, ended));
        self.problem
    }

    /// Writes through the store unless it already failed; the first failure is reported
    /// at once, on standard error, and kept for the summary.
    fn write(&mut self, work: impl FnOnce(&mut dyn Backend, &str) -> Result<(), StoreError>) {
        let Some(backend) = self.backend.as_deref_mut() else {
            return;
        };
        if let Err(error) = work(backend, &self.run) {
            crate::cmd::error_line(format_args!(
                "Warn: the run history is incomplete from here on, the job goes on: {error}"
            ));
            self.problem = Some(error);
            self.backend = None;
        }
    }

    /// Copies `task`'s state and record from the executor.
    fn take_state(&mut self, task: usize, view: &View<'_>) {
        let record = &view.records[task];
        let row = &mut self.tasks[task];
        row.started_at = record.started_at.map(millis);
        row.ended_at = record
            .started_at
            .zip(record.duration)
            .map(|(start, duration)| millis(start + duration));
        row.signal = record.signal;
        row.attempts = Some(record.attempts).filter(|&attempts| attempts > 0);
        row.exit_code = record.return_code.filter(|_| record.signal.is_none());
        if let Some(output) = &record.output {
            let text = |tail: &std::sync::Mutex<crate::exec::Tail>| {
                tail.lock()
                    .ok()
                    .and_then(|tail| tail.text().map(str::to_owned))
            };
            row.stdout_tail = text(&output.stdout);
            row.stderr_tail = text(&output.stderr);
        }
        let (state, reason) = match &view.states[task] {
            State::Waiting => (TaskState::NotStarted, None),
            State::Running => (TaskState::Running, None),
            State::Succeeded => (TaskState::Succeeded, None),
            State::FinishedEarly => (TaskState::FinishedEarly, None),
            State::Failed(reason) if self.stopping => {
                (TaskState::Interrupted, Some(reason.clone()))
            }
            State::Failed(reason) => (TaskState::Failed, Some(reason.clone())),
            State::Skipped(reasons) => (TaskState::Skipped, Some(reasons.join("; "))),
        };
        row.state = state;
        row.reason = reason;
    }

    fn record(&mut self, changed: &[usize]) {
        let rows: Vec<TaskRecord> = changed.iter().map(|&t| self.tasks[t].clone()).collect();
        self.write(|backend, run| backend.update_tasks(run, &rows.iter().collect::<Vec<_>>()));
    }
}

impl Observer for Recorder {
    fn tasks_started(&mut self, started: &[usize], _first: bool, view: &View<'_>) {
        for &task in started {
            self.take_state(task, view);
        }
        if !started.is_empty() {
            self.record(started);
        }
    }

    fn task_finished(&mut self, task: usize, skipped: &[(usize, bool)], view: &View<'_>) {
        let mut changed = Vec::with_capacity(1 + skipped.len());
        changed.push(task);
        changed.extend(skipped.iter().map(|&(dependent, _)| dependent));
        for &changed_task in &changed {
            self.take_state(changed_task, view);
        }
        self.record(&changed);
    }

    fn stopping(&mut self, _signal: i32) {
        self.stopping = true;
    }
}

/// Renews the run's heartbeat every [`HEARTBEAT_EVERY`] on a connection of its own, until
/// the sender it returns is dropped.
fn beat(mut backend: Box<dyn Backend>, run: String) -> Option<(Sender<()>, JoinHandle<()>)> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("store heartbeat".to_owned())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(HEARTBEAT_EVERY) {
                // A missed heartbeat is harmless while the process lives; a store that stays
                // unreachable is reported by the run's own writes.
                let _ = backend.heartbeat(&run);
            }
        })
        .ok()?;
    Some((stop, thread))
}

/// Each task's definition hash: what it runs (its environment and working directory too,
/// when it sets them), which exit codes mean what, and which tasks it waits for; a resumed
/// run compares them to find the tasks that changed. Retries, timeouts and pools change how
/// a task is run, not what it does: they are left out.
pub(crate) fn definitions(tasks: &[PreparedTask], graph: &TaskGraph) -> Vec<String> {
    tasks
        .iter()
        .enumerate()
        .map(|(position, task)| {
            let mut hash = Sha256::new();
            let mut field = |bytes: &[u8]| {
                hash.update((bytes.len() as u64).to_le_bytes());
                hash.update(bytes);
            };
            field(task.name.as_bytes());
            field(task.command_line.as_bytes());
            // Only when set, so that a task without them hashes as before they existed.
            for (name, value) in &task.options.env {
                field(b"env");
                field(name.as_bytes());
                field(value.as_bytes());
            }
            if let Some(directory) = &task.options.working_directory {
                field(b"dir");
                field(directory.as_os_str().as_encoded_bytes());
            }
            for codes in [&task.continue_codes, &task.terminate_codes] {
                let text: Vec<String> = codes.iter().map(u16::to_string).collect();
                field(text.join(",").as_bytes());
            }
            let mut dependencies: Vec<&str> = graph.dependencies[position]
                .iter()
                .map(|&d| tasks[d].name.as_str())
                .collect();
            dependencies.sort_unstable();
            for dependency in dependencies {
                field(dependency.as_bytes());
            }
            hex(&hash.finalize()[..16])
        })
        .collect()
}

/// The hash of a whole job: its name and its tasks' definitions in file order.
pub(crate) fn job_hash(name: &str, definitions: &[String]) -> String {
    let mut hash = Sha256::new();
    hash.update(name.as_bytes());
    for definition in definitions {
        hash.update(b"\n");
        hash.update(definition.as_bytes());
    }
    hex(&hash.finalize()[..16])
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}
