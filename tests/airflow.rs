//! `factotum export --to airflow` held to a real Apache Airflow: the exported files import
//! without errors, and every scenario of the matrix ends on Airflow as it ends on factotum.
//!
//! Airflow is the version `.ci/airflow-requirements.txt` pins, from the venv `.ci/run` makes
//! (`FACTOTUM_AIRFLOW_VENV`, else `target/ci/airflow`). `tests/engines/airflow_run.py` loads a
//! folder of DAG files and runs some of them, all in one Python process per test, because
//! importing Airflow takes seconds.

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};
use serde_json::Value;

use crate::engines::{Outcome, factotum_outcome, scenarios};
use crate::samples::samples;
use crate::test::{Run, Test, manifest_dir};

/// How long one Python process may take: the matrix took about 30 s on a two-core machine;
/// the margin is for a CI machine busy with the other tests. A hanging task or DAG run would
/// otherwise hold the test forever, as `dag.test()` waits without a limit.
const DEADLINE: Duration = Duration::from_secs(300);

const SCHEDULE: &str = "0 3 * * *";

/// The venv holding Airflow, as `.ci/run` makes it.
pub(crate) fn venv() -> PathBuf {
    let venv = std::env::var_os("FACTOTUM_AIRFLOW_VENV")
        .map_or_else(|| manifest_dir().join("target/ci/airflow"), PathBuf::from);
    assert!(
        venv.join("bin/python").is_file(),
        "no Airflow venv at {} (FACTOTUM_AIRFLOW_VENV, else target/ci/airflow): .ci/run makes \
         it, with the packages of .ci/airflow-requirements.txt",
        venv.display()
    );
    venv
}

/// The Airflow version `.ci/airflow-requirements.txt` pins.
fn pinned_version() -> String {
    let requirements = manifest_dir().join(".ci/airflow-requirements.txt");
    let text = std::fs::read_to_string(&requirements)
        .unwrap_or_else(|error| panic!("{}: {error}", requirements.display()));
    text.lines()
        .find_map(|line| line.strip_prefix("apache-airflow=="))
        .expect("the requirements pin apache-airflow")
        .to_owned()
}

/// A folder of exported DAG files, the temporary directory the driver works in, and the
/// Python of the Airflow venv.
struct DagsFolder {
    dir: tempfile::TempDir,
    python: PathBuf,
}

impl DagsFolder {
    /// An empty folder; fails at once when the Airflow venv is missing.
    fn new() -> Self {
        let python = venv().join("bin/python");
        let dir = tempfile::Builder::new()
            .prefix("factotum-airflow-test-")
            .tempdir()
            .expect("a temporary directory");
        std::fs::create_dir(dir.path().join("dags")).expect("the DAGs folder");
        Self { dir, python }
    }

    fn folder(&self) -> PathBuf {
        self.dir.path().join("dags")
    }

    /// `factotum export JOB --to airflow ARGUMENTS... -o dags/FILE`.
    fn try_export(&self, job: &Path, arguments: &[&str], file: &str) -> Run {
        Test::new()
            .arg("export")
            .arg(job)
            .args(["--to", "airflow"])
            .args(arguments)
            .arg("-o")
            .arg(self.folder().join(file))
            .run()
    }

    /// [`Self::try_export`], which must succeed.
    fn export(&self, job: &Path, arguments: &[&str], file: &str) {
        let run = self.try_export(job, arguments, file);
        assert_eq!(
            run.status,
            0,
            "export of {} {arguments:?}:\n{}",
            job.display(),
            run.transcript()
        );
    }

    /// The driver's report on this folder after running each `(DAG ID, conf)` of `runs`
    /// (see `tests/engines/airflow_run.py`); fails with the driver's output unless it
    /// succeeds within the deadline on the pinned Airflow.
    fn load_and_run(&self, runs: &[(String, Option<&str>)]) -> Value {
        let stdout_path = self.dir.path().join("driver.stdout");
        let stderr_path = self.dir.path().join("driver.stderr");
        let output = |path: &Path| File::create(path).expect("a driver output file");
        let mut command = Command::new(&self.python);
        command
            .arg(manifest_dir().join("tests/engines/airflow_run.py"))
            .arg(self.folder());
        for (dag_id, conf) in runs {
            command.args([dag_id.as_str(), conf.unwrap_or("null")]);
        }
        // The driver's AIRFLOW_HOME is made under TMPDIR: in this test's directory, removed
        // with it even when the driver is killed.
        let mut child = command
            .env("TMPDIR", self.dir.path())
            .stdin(Stdio::null())
            .stdout(output(&stdout_path))
            .stderr(output(&stderr_path))
            .process_group(0)
            .spawn()
            .expect("the Airflow venv's Python starts");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("the driver can be waited for") {
                break Some(status);
            }
            if started.elapsed() > DEADLINE {
                // The whole group: the driver and the tasks it runs.
                let group = Pid::from_child(&child);
                kill_process_group(group, Signal::KILL).expect("the driver is killed");
                child.wait().expect("the killed driver is reaped");
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let read = |path: &Path| std::fs::read_to_string(path).expect("the driver's output");
        let (stdout, stderr) = (read(&stdout_path), read(&stderr_path));
        match status {
            Some(status) if status.success() => {}
            Some(status) => panic!("the Airflow driver failed ({status}):\n{stderr}\n{stdout}"),
            None => panic!("the Airflow driver took longer than {DEADLINE:?}:\n{stderr}\n{stdout}"),
        }
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|error| panic!("the driver prints JSON ({error}):\n{stdout}"));
        assert_eq!(
            report["airflow_version"],
            pinned_version().as_str(),
            "the venv holds the Airflow .ci/airflow-requirements.txt pins"
        );
        report
    }
}

/// The DAGs Airflow loaded, by DAG id, once it is sure every file imported.
fn imported(report: &Value) -> &serde_json::Map<String, Value> {
    assert_eq!(
        report["import_errors"],
        serde_json::json!({}),
        "Airflow's import errors, by file"
    );
    report["dags"].as_object().expect("the report lists DAGs")
}

/// The values the samples' README gives for the variables in their names.
const NAME_VALUES: [&str; 4] = ["--env", r#"{"env": "dev"}"#, "--tag", "env,dev"];

/// Every sample job, its variables left to the run, imports into Airflow as one DAG. Task
/// names are fixed at export, so a variable in one needs its value then (E701): a sample
/// refused for that alone is exported with the README's values.
#[test]
fn every_sample_imports() {
    let folder = DagsFolder::new();
    let jobs = samples();
    for job in &jobs {
        // Each sample has a twin in the other format with the same job name, so the file's
        // own name is the DAG id.
        let relative = job.strip_prefix(manifest_dir().join("samples")).unwrap();
        let dag_id = relative.to_str().unwrap().replace('/', ".");
        let file = format!("{dag_id}.py");
        let arguments = ["--defer-env", "--dag-id", &dag_id];
        let without_values = folder.try_export(job, &arguments, &file);
        if without_values.status != 0 {
            let errors: Vec<&str> = without_values
                .stderr
                .lines()
                .filter(|line| line.starts_with("error"))
                .collect();
            assert!(
                without_values.status == 1
                    && !errors.is_empty()
                    && errors.iter().all(|line| line.starts_with("error[E701]")),
                "export of {} {arguments:?}:\n{}",
                job.display(),
                without_values.transcript()
            );
            folder.export(job, &[&arguments[..], &NAME_VALUES].concat(), &file);
        }
    }
    let report = folder.load_and_run(&[]);
    let loaded = imported(&report);
    let mut files: Vec<&str> = loaded
        .values()
        .map(|dag| dag["file"].as_str().expect("a file name"))
        .collect();
    files.sort_unstable();
    files.dedup();
    assert_eq!(
        (loaded.len(), files.len()),
        (jobs.len(), jobs.len()),
        "one DAG from each file: {loaded:#?}"
    );
}

/// Every scenario of the matrix ends on Airflow, task by task, as factotum's own run ends.
#[test]
fn every_scenario_ends_as_on_factotum() {
    let folder = DagsFolder::new();
    let scenarios = scenarios();
    let mut runs = Vec::new();
    // Kept until the runs end: some scenarios' tasks work in a directory of the run's own.
    let mut all_values = Vec::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        let values = scenario.values();
        // Some scenarios export the same job: each gets its own DAG id.
        let dag_id = format!("scenario_{index}");
        let mut arguments = vec!["--dag-id", &dag_id];
        // Deferred variables get no defaults at export: their values can only come from
        // the run's conf, so a conf that did not reach the tasks could not pass unseen.
        match (&values.env, scenario.deferred) {
            (Some(_), true) => arguments.push("--defer-env"),
            (Some(env), false) => arguments.extend(["--env", env.as_str()]),
            (None, _) => {}
        }
        if let Some(start) = scenario.start {
            arguments.extend(["--start", start]);
        }
        folder.export(&scenario.path(), &arguments, &format!("{dag_id}.py"));
        runs.push((dag_id, scenario.env.filter(|_| scenario.deferred)));
        all_values.push(values);
    }
    let report = folder.load_and_run(&runs);
    imported(&report);
    let ran = report["runs"].as_array().expect("the report lists runs");
    assert_eq!(ran.len(), scenarios.len(), "one run per scenario");
    for (scenario, run) in scenarios.iter().zip(ran) {
        let on_airflow = Outcome {
            succeeded: match run["state"].as_str() {
                Some("succeeded") => true,
                Some("failed") => false,
                other => panic!("{}: the DAG run ended {other:?}", scenario.label()),
            },
            tasks: run["tasks"]
                .as_object()
                .expect("the run lists its tasks")
                .iter()
                .map(|(name, state)| (name.clone(), state.as_str().unwrap().to_owned()))
                .collect(),
        };
        assert_eq!(
            on_airflow,
            factotum_outcome(scenario),
            "{} on Airflow (left) and on factotum (right)",
            scenario.label()
        );
    }
}

/// A job's host constraint becomes the Airflow queue of each of its tasks: the workers on
/// that host are the ones that listen to it.
#[test]
fn host_constraint_is_the_queue_of_every_task() {
    let folder = DagsFolder::new();
    let job = folder.dir.path().join("pinned.factotum");
    std::fs::write(
        &job,
        "job \"pinned\"\nconstraint \"host,alpha\"\n\n\
         task \"first\" { run \"true\" }\n\
         task \"second\" { after \"first\"  run \"true\" }\n",
    )
    .expect("the job is written");
    folder.export(&job, &[], "pinned.py");
    let report = folder.load_and_run(&[]);
    let loaded = imported(&report);
    let tasks = loaded
        .get("pinned")
        .and_then(|dag| dag["tasks"].as_object())
        .unwrap_or_else(|| panic!("a DAG `pinned`: {loaded:#?}"));
    let queues: Vec<(&str, &Value)> = tasks
        .iter()
        .map(|(name, task)| (name.as_str(), &task["queue"]))
        .collect();
    assert_eq!(
        queues,
        [
            ("first", &Value::from("alpha")),
            ("second", &Value::from("alpha"))
        ]
    );
}

/// `--schedule` reaches Airflow as the DAG's schedule, also with variables left to the run
/// when each has a default (Airflow refuses a scheduled DAG with a parameter it cannot fill);
/// the DAG id comes from the job's name.
#[test]
fn schedule_is_the_dags_schedule() {
    let folder = DagsFolder::new();
    let fixtures = manifest_dir().join("tests/fixtures/export");
    folder.export(
        &fixtures.join("failure-independent.factotum"),
        &["--schedule", SCHEDULE],
        "failure.py",
    );
    folder.export(
        &fixtures.join("placeholders.factotum"),
        &[
            "--schedule",
            SCHEDULE,
            "--defer-env",
            "--env",
            r#"{"word": "hello", "phrase": "a default"}"#,
        ],
        "placeholders.py",
    );
    let report = folder.load_and_run(&[]);
    let schedules: Vec<(&str, &Value)> = imported(&report)
        .iter()
        .map(|(dag_id, dag)| (dag_id.as_str(), &dag["schedule"]))
        .collect();
    assert_eq!(
        schedules,
        [
            ("failure_with_an_independent_branch", &Value::from(SCHEDULE)),
            ("placeholders", &Value::from(SCHEDULE)),
        ]
    );
}

/// A scheduled run has no conf to fill a variable left to the run, so a variable without a
/// default is refused at export (E703) rather than by Airflow when it loads the file.
#[test]
fn schedule_refuses_a_deferred_variable_without_default() {
    let run = Test::new()
        .arg("export")
        .arg(manifest_dir().join("tests/fixtures/export/placeholders.factotum"))
        .args(["--to", "airflow", "--defer-env", "--schedule", SCHEDULE])
        .run();
    assert_eq!(run.status, 1, "{}", run.transcript());
    assert!(run.stderr.contains("E703"), "{}", run.transcript());
    assert_eq!(run.stdout, "", "nothing is exported");
}
