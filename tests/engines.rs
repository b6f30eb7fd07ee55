//! What the exports to Airflow and Slurm are held to: the scenarios each engine runs, and
//! factotum's own run of the same job, task by task, as the oracle.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

use crate::test::{Test, manifest_dir};

/// One job run one way: the same on factotum and on each engine.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scenario {
    /// The job file in `tests/fixtures/export`.
    pub(crate) file: &'static str,
    /// The template variables (`--env`), if the job has any.
    pub(crate) env: Option<&'static str>,
    /// Whether the variables are given when the engine runs the job (`export --defer-env`)
    /// rather than when it is exported.
    pub(crate) deferred: bool,
    /// `--start TASK`: only this task and what is below it.
    pub(crate) start: Option<&'static str>,
    /// Whether each run gets a new directory of its own as the variable `workdir`, for tasks
    /// that keep state between attempts.
    pub(crate) workdir: bool,
}

/// The `--env` values of one run of a scenario: its own, and with `workdir`, a new directory
/// for this run alone, removed with the values.
pub(crate) struct RunValues {
    pub(crate) env: Option<String>,
    _workdir: Option<tempfile::TempDir>,
}

/// The variables of `placeholders.factotum`: the phrase holds Jinja's own syntax, which must
/// reach the shell unchanged.
const PLACEHOLDER_ENV: &str = r#"{"word": "hello", "phrase": "it's {{ ds }} here"}"#;

/// The variables of `options.factotum`, besides `workdir`.
const OPTIONS_ENV: &str = r#"{"who": "world"}"#;

/// The scenario matrix: all succeed; continue on a non-zero code; early finish; failure with
/// an independent branch; a diamond; `--start`, also at a task that finishes early;
/// placeholders given at export and deferred; retries, timeouts, variables and working
/// directories.
pub(crate) fn scenarios() -> Vec<Scenario> {
    let plain = |file| Scenario {
        file,
        env: None,
        deferred: false,
        start: None,
        workdir: false,
    };
    vec![
        plain("all-succeed.factotum"),
        plain("continue-nonzero.factotum"),
        plain("early-finish.factotum"),
        plain("failure-independent.factotum"),
        plain("diamond.factotum"),
        Scenario {
            start: Some("transform"),
            ..plain("all-succeed.factotum")
        },
        Scenario {
            start: Some("nothing new"),
            ..plain("early-finish.factotum")
        },
        Scenario {
            env: Some(PLACEHOLDER_ENV),
            ..plain("placeholders.factotum")
        },
        Scenario {
            env: Some(PLACEHOLDER_ENV),
            deferred: true,
            ..plain("placeholders.factotum")
        },
        Scenario {
            env: Some(OPTIONS_ENV),
            workdir: true,
            ..plain("options.factotum")
        },
    ]
}

impl Scenario {
    /// The job file's path.
    pub(crate) fn path(&self) -> PathBuf {
        manifest_dir().join("tests/fixtures/export").join(self.file)
    }

    /// A short description for assertion messages.
    pub(crate) fn label(&self) -> String {
        let mut label = self.file.to_owned();
        if let Some(start) = self.start {
            write!(label, " --start {start:?}").expect("a String takes any text");
        }
        if self.env.is_some() {
            label.push_str(if self.deferred {
                " --defer-env"
            } else {
                " --env"
            });
        }
        label
    }

    /// The values of one run: a new `workdir` each time when the scenario has one.
    pub(crate) fn values(&self) -> RunValues {
        if !self.workdir {
            return RunValues {
                env: self.env.map(str::to_owned),
                _workdir: None,
            };
        }
        let workdir = tempfile::tempdir().expect("a directory for the run");
        let mut env: serde_json::Map<String, Value> = self
            .env
            .map(|env| serde_json::from_str(env).expect("the scenario's values are JSON"))
            .unwrap_or_default();
        env.insert(
            "workdir".to_owned(),
            Value::from(workdir.path().to_str().expect("a UTF-8 temporary path")),
        );
        RunValues {
            env: Some(Value::Object(env).to_string()),
            _workdir: Some(workdir),
        }
    }

    /// The arguments of `factotum export` for this scenario: those of `run`, and
    /// `--defer-env` when the variables are given when the engine runs the job.
    pub(crate) fn export_arguments(&self, values: &RunValues) -> Vec<String> {
        let mut arguments = self.run_arguments(values);
        if self.deferred {
            arguments.push("--defer-env".to_owned());
        }
        arguments
    }

    /// The `--env` and `--start` arguments of `factotum run` for this scenario.
    fn run_arguments(&self, values: &RunValues) -> Vec<String> {
        let mut arguments = Vec::new();
        if let Some(env) = &values.env {
            arguments.extend(["--env".to_owned(), env.clone()]);
        }
        if let Some(start) = self.start {
            arguments.extend(["--start".to_owned(), start.to_owned()]);
        }
        arguments
    }
}

/// How a run ended, in factotum's words: each task's final state (`succeeded`,
/// `finished early`, `failed`, `skipped`) by task name, and whether the run succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) succeeded: bool,
    pub(crate) tasks: BTreeMap<String, String>,
}

/// factotum's own run of the scenario: the oracle every engine is compared with. Tasks
/// outside `--start`'s sub-tree are not part of the outcome, as they are not exported.
pub(crate) fn factotum_outcome(scenario: &Scenario) -> Outcome {
    let store = tempfile::tempdir().expect("a temporary store directory");
    let store = format!("sqlite:{}", store.path().join("store.db").display());
    let values = scenario.values();
    let run = Test::new()
        .arg("run")
        .arg(scenario.path())
        .args(scenario.run_arguments(&values))
        .args(["--store", &store])
        .run();
    assert!(
        matches!(run.status, 0 | 2),
        "factotum run of {} ended with {}: {}",
        scenario.label(),
        run.status,
        run.stderr
    );
    let shown = Test::new()
        .args(["show", "last", "--format", "json", "--store", &store])
        .run();
    assert_eq!(shown.status, 0, "show: {}", shown.stderr);
    let shown: Value = serde_json::from_str(&shown.stdout).expect("show prints JSON");
    let tasks = shown["taskStates"]
        .as_array()
        .expect("show lists the tasks")
        .iter()
        .filter(|task| task["state"] != "not started")
        .map(|task| {
            let text = |key: &str| task[key].as_str().expect("a string").to_owned();
            (text("name"), text("state"))
        })
        .collect();
    Outcome {
        succeeded: run.status == 0,
        tasks,
    }
}
