//! The events' JSON, field for field as Factotum 0.7 sent them (`compat.md` §6.3–6.5).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Instant, SystemTime};

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::exec::clock;
use crate::exec::{State, View};

const JOB_UPDATE: &str = "iglu:com.snowplowanalytics.factotum/job_update/jsonschema/1-0-0";
const TASK_UPDATE: &str = "iglu:com.snowplowanalytics.factotum/task_update/jsonschema/1-0-0";

/// The parts of every event that do not change during a run.
pub(super) struct Context {
    job_name: String,
    job_reference: String,
    run_reference: String,
    factfile: String,
    tags: BTreeMap<String, String>,
    start_time: SystemTime,
    started: Instant,
    /// Task names by position in the job.
    names: Vec<String>,
    /// The run's tasks in 0.7's plan order.
    order: Vec<usize>,
    /// Each task's place in `order` (`usize::MAX` for tasks outside the run), built once so
    /// that sorting the many tasks one failure skips costs no search per comparison.
    place_in_order: Vec<usize>,
    /// Whether running tasks' output goes in every event (with heartbeats on).
    live_output: bool,
}

/// One task's transition: task, previous state, new state.
pub(super) type Transition = (usize, &'static str, &'static str);

/// What an event reports besides the task states.
pub(super) enum Change {
    /// The job went from one state (`None` at first) to another.
    Job(Option<&'static str>, &'static str),
    /// Tasks changed state.
    Tasks(Vec<Transition>),
}

/// The job as 0.7 re-encoded it (compact, in its key order), with templates rendered.
#[derive(Serialize)]
pub(crate) struct CompactFactfile {
    /// The schema URI.
    pub schema: String,
    /// The job.
    pub data: CompactJob,
}

/// `data` of [`CompactFactfile`].
#[derive(Serialize)]
pub(crate) struct CompactJob {
    /// The rendered job name.
    pub name: String,
    /// The tasks in file order.
    pub tasks: Vec<CompactTask>,
    /// Job-level constraints (schema 1-1-0), left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
}

/// One task of [`CompactJob`], templates rendered.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompactTask {
    /// Its name.
    pub name: String,
    /// Its executor, as written.
    pub executor: String,
    /// Its command.
    pub command: String,
    /// Its arguments.
    pub arguments: Vec<String>,
    /// The tasks it waits for.
    pub depends_on: Vec<String>,
    /// Its exit codes.
    pub on_result: CompactOnResult,
}

/// `onResult` of [`CompactTask`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompactOnResult {
    /// Codes that finish the branch early.
    pub terminate_job_with_success: Vec<u16>,
    /// Codes that continue.
    pub continue_job: Vec<u16>,
}

/// What [`Context::new`] needs to know about the run.
pub(super) struct Facts<'a> {
    pub(super) factfile: &'a CompactFactfile,
    pub(super) tags: BTreeMap<String, String>,
    pub(super) names: Vec<String>,
    pub(super) order: Vec<usize>,
    pub(super) live_output: bool,
}

impl Context {
    pub(super) fn new(facts: Facts<'_>) -> Self {
        let compact = serde_json::to_string(facts.factfile).unwrap_or_default();
        let mut hashed = compact.clone();
        for (key, value) in &facts.tags {
            hashed.push_str(key);
            hashed.push_str(value);
        }
        let mut place_in_order = vec![usize::MAX; facts.names.len()];
        for (place, &task) in facts.order.iter().enumerate() {
            place_in_order[task] = place;
        }
        Self {
            place_in_order,
            job_name: facts.factfile.data.name.clone(),
            job_reference: sha256_hex(&hashed),
            run_reference: sha256_hex(&random_uuid()),
            factfile: base64::engine::general_purpose::STANDARD.encode(compact),
            tags: facts.tags,
            start_time: SystemTime::now(),
            started: Instant::now(),
            names: facts.names,
            order: facts.order,
            live_output: facts.live_output,
        }
    }

    /// The JSON body of one event.
    pub(super) fn event(&self, run_state: &str, change: &Change, view: &View<'_>) -> String {
        let name = |task: usize| self.names[task].as_str();
        let mut data = json!({
            "applicationContext": {"name": "factotum", "version": env!("CARGO_PKG_VERSION")},
            "factfile": self.factfile,
            "jobName": self.job_name,
            "jobReference": self.job_reference,
            "runDuration": clock::iso_duration(self.started.elapsed()),
            "runReference": self.run_reference,
            "runState": run_state,
            "startTime": clock::iso_timestamp(self.start_time),
            "tags": self.tags,
            "taskStates": self.order.iter().map(|&task| self.task_state(task, view)).collect::<Vec<_>>(),
        });
        let schema = match change {
            Change::Job(previous, current) => {
                data["jobTransition"] = json!({"previousState": previous, "currentState": current});
                JOB_UPDATE
            }
            Change::Tasks(transitions) => {
                let transitions: Vec<Value> = transitions
                    .iter()
                    .map(|&(task, previous, current)| {
                        json!({"taskName": name(task), "previousState": previous, "currentState": current})
                    })
                    .collect();
                data["taskTransitions"] = Value::Array(transitions);
                TASK_UPDATE
            }
        };
        json!({"schema": schema, "data": data}).to_string()
    }

    fn task_state(&self, task: usize, view: &View<'_>) -> Value {
        let state = &view.states[task];
        let record = &view.records[task];
        let mut entry = json!({"taskName": self.names[task], "state": state_name(state)});
        if let Some(started) = record.started_at {
            entry["started"] = json!(clock::iso_timestamp(started));
        }
        if let Some(duration) = record.duration {
            entry["duration"] = json!(clock::iso_duration(duration));
        }
        if let Some(code) = record.return_code {
            entry["returnCode"] = json!(code);
        }
        match state {
            State::Failed(reason) => entry["errorMessage"] = json!(reason),
            State::Skipped(reasons) => entry["errorMessage"] = json!(reasons.join(", ")),
            _ => {}
        }
        let show_output = *state != State::Running || self.live_output;
        if let Some(output) = record.output.as_ref().filter(|_| show_output) {
            for (key, tail) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
                if let Some(text) = tail
                    .lock()
                    .ok()
                    .and_then(|tail| tail.text().map(str::to_owned))
                {
                    entry[key] = json!(text);
                }
            }
        }
        entry
    }

    /// Where `task` comes in the run's plan order, for ordering transitions.
    pub(super) fn plan_position(&self, task: usize) -> usize {
        self.place_in_order[task]
    }
}

/// The webhook name of a state.
pub(super) fn state_name(state: &State) -> &'static str {
    match state {
        State::Waiting => "WAITING",
        State::Running => "RUNNING",
        State::Succeeded => "SUCCEEDED",
        State::FinishedEarly => "SUCCEEDED_NO_OP",
        State::Failed(_) => "FAILED",
        State::Skipped(_) => "SKIPPED",
    }
}

fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Lower-case hexadecimal.
pub(super) fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// A random version-4 UUID (it only needs to differ between runs).
pub(super) fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    crate::exec::random_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
