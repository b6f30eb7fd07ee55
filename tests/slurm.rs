//! `factotum export --to slurm` against a real Slurm: a throw-away cluster (munged, slurmctld
//! and two slurmd, nodes `alpha` and `beta`, all on localhost), started once per test process
//! on first use; the exported scripts run on it, and how their jobs end is compared with
//! factotum's own run of the same job (`engines.rs`). Everything the cluster needs (munge key,
//! sockets, slurm.conf, state, spool, logs) lives in one temporary directory: no system-wide
//! configuration is read or written, and every Slurm command is given the test's `SLURM_CONF`.
//! A test process runs no code when it exits, so, as in `postgres.rs`, a watchdog shell stops
//! the daemons and removes the directory once the process is gone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{File, Permissions};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::engines::{Outcome, Scenario, factotum_outcome, scenarios};
use crate::samples::{SAMPLE_TAG, SAMPLE_VALUES, samples};
use crate::test::{Run, Test, manifest_dir};

/// The cluster's nodes, named as the hosts of `host,NAME` constraints name them.
const NODES: [&str; 2] = ["alpha", "beta"];

/// How long the cluster may take to come up (both nodes idle).
const START_PATIENCE: Duration = Duration::from_secs(60);

/// How long a script's jobs may take to end: Slurm starts a job's dependants some seconds after
/// it ends, and the tests of a process share the nodes.
const JOBS_PATIENCE: Duration = Duration::from_secs(300);

/// How long an exported script may take to submit, wire and release its jobs, for `timeout`.
const SUBMIT_PATIENCE_SECONDS: &str = "120";

/// Between two looks at the cluster.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// The job states Slurm never leaves.
const FINAL_STATES: [&str; 9] = [
    "COMPLETED",
    "FAILED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "CANCELLED",
    "BOOT_FAIL",
    "DEADLINE",
    "PREEMPTED",
];

/// How the batch script of a task that finished early marks its job (its `Comment`).
const FINISHED_EARLY_COMMENT: &str = "factotum: finished early";

/// The programs the cluster, the tests and the exported scripts use, from Debian's `slurm-wlm`
/// and `munge` packages.
const PROGRAMS: [&str; 9] = [
    "mungekey",
    "munged",
    "munge",
    "slurmctld",
    "slurmd",
    "sinfo",
    "sbatch",
    "scontrol",
    "scancel",
];

/// A running cluster, found through its configuration file.
struct Cluster {
    conf: PathBuf,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(Cluster::start)
}

impl Cluster {
    fn start() -> Self {
        for program in PROGRAMS {
            installed(program);
        }
        let dir = tempfile::Builder::new()
            .prefix("factotum-slurm-")
            .tempdir()
            .expect("a temporary directory for the test cluster")
            .keep();
        // munged refuses a socket in a directory that not everyone may search.
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755))
            .expect("the cluster's directory is made searchable");
        for part in ["munge", "pids", "logs", "state", "spool"] {
            std::fs::create_dir(dir.join(part)).expect("a directory of the cluster");
        }
        // Once the test process has gone: every daemon named in `pids` stopped (TERM, then
        // KILL what is left after two seconds), then the folder removed.
        let cleanup = r#"dir=$1
for file in "$dir"/pids/*; do kill "$(cat "$file")" 2>/dev/null; done
sleep 2
for file in "$dir"/pids/*; do kill -KILL "$(cat "$file")" 2>/dev/null; done
rm -rf "$dir""#;
        crate::test::start_watchdog("the test cluster's watchdog", cleanup, [&dir]);
        let mut daemons = Daemons {
            dir: dir.clone(),
            running: Vec::new(),
        };

        let key = dir.join("munge/munge.key");
        succeed(
            Command::new("mungekey")
                .arg("--create")
                .arg("--keyfile")
                .arg(&key),
            "mungekey",
        );
        std::fs::set_permissions(&key, Permissions::from_mode(0o400))
            .expect("the munge key is made readable by its owner only");
        let socket = dir.join("munge/munge.socket");
        let munge_file = |name: &str| dir.join("munge").join(name).display().to_string();
        daemons.spawn(
            "munged",
            Command::new("munged")
                .arg("--foreground")
                .arg(format!("--key-file={}", key.display()))
                .arg(format!("--socket={}", socket.display()))
                .arg(format!("--pid-file={}", munge_file("munged.pid")))
                .arg(format!("--log-file={}", munge_file("munged.log")))
                .arg(format!("--seed-file={}", munge_file("munged.seed"))),
        );
        daemons.wait_until("munged answering on its socket", || {
            Command::new("munge")
                .arg("--no-input")
                .arg("--socket")
                .arg(&socket)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        });

        let cluster = Self {
            conf: write_slurm_conf(&dir, &socket),
        };
        daemons.spawn("slurmctld", cluster.command("slurmctld").arg("-D"));
        for node in NODES {
            daemons.spawn(
                &format!("slurmd-{node}"),
                cluster.command("slurmd").args(["-D", "-N", node]),
            );
        }
        daemons.wait_until("both nodes idle", || cluster.nodes_idle());
        cluster
    }

    /// `program` with the cluster's configuration.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SLURM_CONF", &self.conf).stdin(Stdio::null());
        command
    }

    fn nodes_idle(&self) -> bool {
        let states = self
            .command("sinfo")
            .args(["--noheader", "--Node", "--format=%N %t"])
            .output()
            .expect("sinfo runs");
        let mut lines: Vec<String> = String::from_utf8_lossy(&states.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines == NODES.map(|node| format!("{node} idle"))
    }

    /// Every job the controller remembers, by id.
    fn jobs(&self) -> BTreeMap<String, Job> {
        let shown = self
            .command("scontrol")
            .args(["show", "job", "--oneliner"])
            .output()
            .expect("scontrol runs");
        assert!(
            shown.status.success(),
            "scontrol show job failed: {}",
            String::from_utf8_lossy(&shown.stderr)
        );
        String::from_utf8_lossy(&shown.stdout)
            .lines()
            .filter_map(Job::parse)
            .collect()
    }

    /// The jobs `ids` once every one of them is in a final state.
    fn wait_for_jobs(&self, ids: &[&str], patience: Duration) -> BTreeMap<String, Job> {
        let deadline = Instant::now() + patience;
        loop {
            let mut jobs = self.jobs();
            jobs.retain(|id, _| ids.contains(&id.as_str()));
            if jobs.len() == ids.len() && jobs.values().all(Job::is_final) {
                return jobs;
            }
            assert!(
                Instant::now() < deadline,
                "jobs {ids:?} did not all end within {patience:?}; the controller says: {jobs:#?}"
            );
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Runs `sh SCRIPT` as a user would, in the script's directory, with `wrappers` (when
    /// given) ahead of `PATH`.
    fn submit(&self, exported: &Exported, wrappers: Option<&Path>) -> Submission {
        let mut command = self.command("timeout");
        command
            .args([SUBMIT_PATIENCE_SECONDS, "sh"])
            .arg(&exported.script)
            .current_dir(exported.dir.path());
        if let Some(wrappers) = wrappers {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![wrappers.to_owned()];
            dirs.extend(std::env::split_paths(&path));
            command.env("PATH", std::env::join_paths(dirs).expect("a PATH"));
        }
        let Output {
            status,
            stdout,
            stderr,
        } = command.output().expect("sh runs the exported script");
        let status = status
            .code()
            .expect("the script exits rather than being killed");
        assert_ne!(
            status, 124,
            "the script did not end within {SUBMIT_PATIENCE_SECONDS}s"
        );
        Submission {
            status,
            stdout: String::from_utf8(stdout).expect("the script's stdout is UTF-8"),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Submits the script, which must succeed, and waits until its jobs end: how each task's job
    /// ended, by task name.
    fn run_to_the_end(&self, exported: &Exported) -> BTreeMap<String, Job> {
        let submission = self.submit(exported, None);
        assert_eq!(
            submission.status, 0,
            "the script failed:\n{}{}",
            submission.stdout, submission.stderr
        );
        let tasks = submission.jobs();
        let ids: Vec<&str> = tasks.iter().map(|(id, _)| id.as_str()).collect();
        let mut jobs = self.wait_for_jobs(&ids, JOBS_PATIENCE);
        tasks
            .iter()
            .map(|(id, task)| (task.clone(), jobs.remove(id).expect("a waited-for job")))
            .collect()
    }
}

/// The daemons started so far, for the failure message when the cluster does not come up.
struct Daemons {
    dir: PathBuf,
    running: Vec<(String, Child)>,
}

impl Daemons {
    /// Starts `command` in the background, its output in `logs/NAME`, its pid in `pids/NAME`
    /// for the watchdog.
    fn spawn(&mut self, name: &str, command: &mut Command) {
        let log = File::create(self.dir.join("logs").join(name)).expect("a log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file, twice"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("{name} starts: {error}"));
        std::fs::write(self.dir.join("pids").join(name), child.id().to_string())
            .expect("the pid file for the watchdog");
        self.running.push((name.to_owned(), child));
    }

    /// Waits until `ready` holds; fails with the daemons' logs when one of them exits first or
    /// when [`START_PATIENCE`] runs out.
    fn wait_until(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + START_PATIENCE;
        while !ready() {
            let ended = self.running.iter_mut().find_map(|(name, child)| {
                let status = child.try_wait().expect("a daemon's status")?;
                Some(format!("{name} ended ({status})"))
            });
            if let Some(ended) = ended {
                panic!("{ended} before {what}:\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {START_PATIENCE:?}:\n{}",
                self.logs()
            );
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn logs(&self) -> String {
        let mut logs = String::new();
        for (name, _) in &self.running {
            let log = std::fs::read_to_string(self.dir.join("logs").join(name));
            writeln!(logs, "--- {name}\n{}", log.unwrap_or_default())
                .expect("a String takes any text");
        }
        logs
    }
}

/// Writes the cluster's slurm.conf into `dir`: the daemons run as whoever runs the tests (the
/// jobs are theirs too, so slurmd needs no root), the controller and each node's slurmd on
/// ports of their own (the slurmds bound to 127.0.0.1 by `NoInAddrAny`; slurmctld listens on
/// every address whatever it is told, but answers only holders of the test's munge key),
/// munge through the test's socket, plugins that need neither cgroups nor a
/// database, finished jobs kept an hour so that `scontrol show job` still shows them, and a
/// scheduler that looks at waiting jobs every second, so that a job's dependants start soon
/// after it ends (a chain of four jobs took 8 to 12 s with the defaults, 4 to 5 s with this).
fn write_slurm_conf(dir: &Path, munge_socket: &Path) -> PathBuf {
    let at = |part: &str| dir.join(part).display().to_string();
    // An empty SPANK stack, so that no plugin configured system-wide is loaded.
    std::fs::write(dir.join("plugstack.conf"), "").expect("plugstack.conf is written");
    let [controller_port, node_ports @ ..] = crate::test::free_ports::<{ NODES.len() + 1 }>();
    let mut nodes = String::new();
    for (node, port) in NODES.iter().zip(node_ports) {
        writeln!(
            nodes,
            "NodeName={node} NodeHostname=localhost NodeAddr=127.0.0.1 Port={port} CPUs=4"
        )
        .expect("a String takes any text");
    }
    let user = String::from_utf8(
        Command::new("id")
            .arg("-un")
            .output()
            .expect("id runs")
            .stdout,
    )
    .expect("a user name");
    let user = user.trim();
    let conf = format!(
        "ClusterName=factotum-test
SlurmUser={user}
SlurmdUser={user}
SlurmctldHost=localhost
SlurmctldPort={controller_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket}
StateSaveLocation={state}
SlurmdSpoolDir={spool}/%n
SlurmctldPidFile={pids}/slurmctld.pid
SlurmdPidFile={pids}/slurmd-%n.pid
PlugStackConfig={plugstack}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=3600
CommunicationParameters=NoInAddrAny
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,sched_interval=1
{nodes}PartitionName=test Nodes={all_nodes} Default=YES MaxTime=INFINITE State=UP
",
        socket = munge_socket.display(),
        state = at("state"),
        spool = at("spool"),
        pids = at("pids"),
        plugstack = at("plugstack.conf"),
        all_nodes = NODES.join(","),
    );
    let path = dir.join("slurm.conf");
    std::fs::write(&path, conf).expect("slurm.conf is written");
    path
}

/// Where `program` is on `PATH`; fails naming `.ci/run` when it is missing.
fn installed(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{program} is not on PATH: the Slurm tests need Debian's slurm-wlm and munge \
                 packages (.ci/run installs them)"
            )
        })
}

/// Runs `command` and panics with its output unless it succeeds.
fn succeed(command: &mut Command, what: &str) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One job as `scontrol show job --oneliner` shows it.
#[derive(Debug)]
struct Job {
    state: String,
    nodes: String,
    finished_early: bool,
}

impl Job {
    /// The id and job of one line; `None` for a line that shows no job.
    fn parse(line: &str) -> Option<(String, Self)> {
        let field = |key: &str| {
            line.split(' ')
                .find_map(|word| word.strip_prefix(key))
                .unwrap_or_default()
                .to_owned()
        };
        let id = line.strip_prefix("JobId=")?.split(' ').next()?.to_owned();
        // The comment runs to the next field, spaces and all.
        let finished_early = line
            .split_once(" Comment=")
            .is_some_and(|(_, rest)| rest.starts_with(FINISHED_EARLY_COMMENT));
        let job = Self {
            state: field("JobState="),
            nodes: field("NodeList="),
            finished_early,
        };
        Some((id, job))
    }

    fn is_final(&self) -> bool {
        FINAL_STATES.contains(&self.state.as_str())
    }

    /// The task's final state in factotum's words.
    fn factotum_state(&self) -> &'static str {
        match self.state.as_str() {
            "COMPLETED" if self.finished_early => "finished early",
            "COMPLETED" => "succeeded",
            "FAILED" | "TIMEOUT" | "OUT_OF_MEMORY" | "NODE_FAIL" => "failed",
            "CANCELLED" => "skipped",
            other => panic!("a job ended {other}, which has no counterpart in factotum"),
        }
    }
}

/// How a run on Slurm ended, in factotum's words: it succeeded when no task failed.
fn outcome(tasks: &BTreeMap<String, Job>) -> Outcome {
    let tasks: BTreeMap<String, String> = tasks
        .iter()
        .map(|(task, job)| (task.clone(), job.factotum_state().to_owned()))
        .collect();
    Outcome {
        succeeded: tasks.values().all(|state| state != "failed"),
        tasks,
    }
}

/// An exported script, in a directory of its own where it runs (its jobs' output lands there).
struct Exported {
    dir: TempDir,
    script: PathBuf,
}

/// `factotum export FILE --to slurm ARGUMENTS`, which must succeed.
fn export(file: &Path, arguments: &[String]) -> Exported {
    let run = export_run(file, arguments);
    assert_eq!(
        run.status,
        0,
        "export of {} {arguments:?}: {}",
        file.display(),
        run.transcript()
    );
    let dir = tempfile::tempdir().expect("a directory for the exported script");
    let script = dir.path().join("job.sh");
    std::fs::write(&script, &run.stdout).expect("the exported script is written");
    Exported { dir, script }
}

fn export_run(file: &Path, arguments: &[String]) -> Run {
    Test::new()
        .arg("export")
        .arg(file)
        .args(["--to", "slurm"])
        .args(arguments)
        .run()
}

fn fixture(name: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures/export").join(name)
}

/// What running an exported script printed and how it ended.
struct Submission {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Submission {
    /// The `JOBID<TAB>TASK NAME` lines, in order, as (id, task) pairs.
    fn jobs(&self) -> Vec<(String, String)> {
        let jobs: Vec<(String, String)> = self
            .stdout
            .lines()
            .map(|line| {
                let (id, task) = line
                    .split_once('\t')
                    .filter(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                    .unwrap_or_else(|| panic!("not a `JOBID<TAB>TASK` line: {line:?}"));
                (id.to_owned(), task.to_owned())
            })
            .collect();
        assert!(!jobs.is_empty(), "the script printed no job");
        jobs
    }
}

/// One scenario of the matrix on the cluster, held to factotum's own run of it.
fn assert_slurm_agrees_with_factotum(cluster: &Cluster, scenario: &Scenario) {
    let values = scenario.values();
    let arguments = scenario.export_arguments(&values);
    if scenario.deferred {
        let refused = export_run(&scenario.path(), &arguments);
        assert_eq!(
            refused.status,
            3,
            "{}: Slurm takes no deferred variables: {}",
            scenario.label(),
            refused.transcript()
        );
        return;
    }
    let exported = export(&scenario.path(), &arguments);
    let on_slurm = outcome(&cluster.run_to_the_end(&exported));
    assert_eq!(on_slurm, factotum_outcome(scenario), "{}", scenario.label());
}

#[test]
fn every_sample_exports_to_a_script_sh_reads() {
    let samples = samples();
    assert!(samples.len() >= 28, "{samples:?}");
    for sample in samples {
        let exported = export(
            &sample,
            &[
                "--env".to_owned(),
                SAMPLE_VALUES.to_owned(),
                "--tag".to_owned(),
                SAMPLE_TAG.to_owned(),
            ],
        );
        succeed(
            Command::new("sh").arg("-n").arg(&exported.script),
            &format!("sh -n on the export of {}", sample.display()),
        );
    }
}

#[test]
fn every_scenario_ends_on_slurm_as_on_factotum() {
    let cluster = cluster();
    // The scenarios share the cluster's nodes and run side by side: each waits mostly for
    // Slurm's scheduler.
    std::thread::scope(|scope| {
        for scenario in scenarios() {
            scope.spawn(move || assert_slurm_agrees_with_factotum(cluster, &scenario));
        }
    });
}

#[test]
fn a_job_constrained_to_a_host_runs_every_task_on_that_node_where_the_script_ran() {
    let cluster = cluster();
    let exported = export(&fixture("on-beta.factotum"), &[]);
    let tasks = cluster.run_to_the_end(&exported);
    assert!(
        exported.dir.path().join("first.ran").is_file(),
        "the first task ran elsewhere than the script's directory"
    );
    assert_eq!(tasks.len(), 3, "{tasks:#?}");
    for (task, job) in &tasks {
        assert_eq!(
            (job.factotum_state(), job.nodes.as_str()),
            ("succeeded", "beta"),
            "{task}"
        );
    }
}

/// A submission that fails halfway: the third `sbatch` refuses, as a controller that is down
/// or a queue limit makes it refuse. The wrapper is fault injection, not a mock: every other
/// call reaches the real `sbatch` and the real cluster, and the test then asks the real
/// controller what became of the jobs; only the failure itself, which no cluster can be made
/// to produce on a chosen call, is staged.
#[test]
fn a_failed_submission_ends_the_script_and_cancels_what_it_submitted() {
    let cluster = cluster();
    let exported = export(&fixture("all-succeed.factotum"), &[]);
    let wrappers = tempfile::tempdir().expect("a directory for the sbatch wrapper");
    let calls = wrappers.path().join("calls");
    let submitted = wrappers.path().join("submitted");
    let wrapper = wrappers.path().join("sbatch");
    std::fs::write(
        &wrapper,
        format!(
            r#"#!/bin/sh
echo call >> '{calls}'
if [ "$(wc -l < '{calls}')" -eq 3 ]; then
    echo 'sbatch: error: Batch job submission failed: refused by the test' >&2
    exit 1
fi
out=$('{sbatch}' "$@") || exit
printf '%s\n' "$out" >> '{submitted}'
printf '%s\n' "$out"
"#,
            calls = calls.display(),
            submitted = submitted.display(),
            sbatch = installed("sbatch").display(),
        ),
    )
    .expect("the sbatch wrapper is written");
    std::fs::set_permissions(&wrapper, Permissions::from_mode(0o755))
        .expect("the sbatch wrapper is made executable");

    let submission = cluster.submit(&exported, Some(wrappers.path()));
    assert_ne!(submission.status, 0, "{}", submission.stdout);
    assert!(
        !submission.stderr.trim().is_empty(),
        "the script says nothing about the failed submission"
    );
    let submitted = std::fs::read_to_string(&submitted).expect("two jobs were submitted");
    // `sbatch --parsable` prints `ID` or `ID;CLUSTER`.
    let ids: Vec<&str> = submitted
        .lines()
        .map(|line| line.split(';').next().unwrap_or(line))
        .collect();
    assert_eq!(ids.len(), 2, "{submitted}");
    let jobs = cluster.wait_for_jobs(&ids, Duration::from_secs(30));
    for (id, job) in &jobs {
        assert_eq!(
            job.state, "CANCELLED",
            "job {id}: {job:?}\n{}",
            submission.stderr
        );
    }
}
