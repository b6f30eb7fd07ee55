//! The run history: what `run` records, what `history` and `show` print, and what happens
//! when the store is missing, damaged, newer, unreachable or shared. Each check is written
//! once for any store URL and run against SQLite here (and PostgreSQL in `store_postgres`).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::test::{Run, Test, without_run_line};

/// An SQLite store in `dir`.
pub(crate) fn sqlite_store(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("store.db").display())
}

/// `factotum ARGS --store STORE` in `dir`.
pub(crate) fn factotum(dir: &Path, store: &str, args: &[&str]) -> Run {
    Test::in_dir(dir).args(args).args(["--store", store]).run()
}

/// The runs `history --format json` lists, newest first.
pub(crate) fn history(dir: &Path, store: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["history", "--format", "json"];
    args.extend_from_slice(extra);
    let run = factotum(dir, store, &args);
    assert_eq!(run.status, 0, "{}", run.transcript());
    match serde_json::from_str(&run.stdout) {
        Ok(Value::Array(runs)) => runs,
        _ => panic!("history --format json printed {}", run.stdout),
    }
}

/// `show RUN --format json`: the run, with `taskStates`.
pub(crate) fn show(dir: &Path, store: &str, run: &str) -> Value {
    let shown = factotum(dir, store, &["show", run, "--format", "json"]);
    assert_eq!(shown.status, 0, "{}", shown.transcript());
    serde_json::from_str(&shown.stdout).expect("show --format json prints JSON")
}

/// Each task's name and state in a shown run, in the order shown.
pub(crate) fn states(shown: &Value) -> Vec<(String, String)> {
    shown["taskStates"]
        .as_array()
        .expect("taskStates is a list")
        .iter()
        .map(|task| {
            (
                task["name"].as_str().unwrap_or_default().to_owned(),
                task["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// Writes a DSL job `name` into `dir`.
pub(crate) fn dsl_job(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A job of one task, `mark`, which creates the file `ran`.
const MARKER: &str = "job \"marker\"\n\ntask \"mark\" {\n  run \"touch\" with \"ran\"\n}\n";

/// Writes the [`MARKER`] job into `dir`.
pub(crate) fn marker_job(dir: &Path) -> PathBuf {
    dsl_job(dir, "marker.factotum", MARKER)
}

/// A job where `ok` succeeds, `broken` fails (`below` is skipped), `early` finishes its
/// branch early (`pruned` is skipped), and `tail` waits for `ok`.
const MIXED: &str = r#"job "mixed"

task "ok" {
  run "echo" with "fine"
}

task "broken" {
  run "sh" with "-c", "echo to stdout; echo why it broke >&2; exit 4"
}

task "below" {
  after "broken"
  run "true"
}

task "early" {
  run "sh" with "-c", "exit 3"
  finish on 3
}

task "pruned" {
  after "early"
  run "true"
}

task "tail" {
  after "ok"
  run "true"
}
"#;

pub(crate) fn outcomes_and_task_states_are_recorded(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dsl_job(dir.path(), "mixed.factotum", MIXED);
    let failed = factotum(dir.path(), store, &["run", path.to_str().unwrap()]);
    assert_eq!(failed.status, 2, "{}", failed.transcript());
    let id = failed.recorded_as.clone().expect("run prints its id");

    let runs = history(dir.path(), store, &[]);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["id"], id.as_str());
    assert_eq!(runs[0]["outcome"], "failed");
    assert_eq!(runs[0]["exitCode"], 2);
    assert_eq!(runs[0]["job"], "mixed");
    assert_eq!(
        runs[0]["tasks"],
        serde_json::json!({"total": 6, "succeeded": 3, "failed": 1, "skipped": 2})
    );
    let shown = show(dir.path(), store, &id[..12]);
    let mut recorded = states(&shown);
    recorded.sort();
    assert_eq!(
        recorded,
        pairs(&[
            ("below", "skipped"),
            ("broken", "failed"),
            ("early", "finished early"),
            ("ok", "succeeded"),
            ("pruned", "skipped"),
            ("tail", "succeeded"),
        ])
    );
    let broken = shown["taskStates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|task| task["name"] == "broken")
        .unwrap();
    assert_eq!(broken["exitCode"], 4);
    assert_eq!(broken["stderrTail"], "why it broke");
    assert_eq!(broken["stdoutTail"], "to stdout");

    // The table names the failed task and what it said.
    let table = factotum(dir.path(), store, &["show", "last"]);
    assert_eq!(table.status, 0, "{}", table.transcript());
    assert!(
        table.stdout.contains("Outcome: failed (exit 2)"),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains("    why it broke"),
        "{}",
        table.stdout
    );

    let fine = dsl_job(
        dir.path(),
        "fine.factotum",
        "job \"fine\"\n\ntask \"only\" {\n  run \"true\"\n}\n",
    );
    let early = dsl_job(
        dir.path(),
        "early.factotum",
        "job \"early\"\n\ntask \"stop\" {\n  run \"sh\" with \"-c\", \"exit 3\"\n  finish on 3\n}\n\ntask \"never\" {\n  after \"stop\"\n  run \"true\"\n}\n",
    );
    assert_eq!(
        factotum(dir.path(), store, &["run", fine.to_str().unwrap()]).status,
        0
    );
    assert_eq!(
        factotum(dir.path(), store, &["run", early.to_str().unwrap()]).status,
        0
    );
    let runs = history(dir.path(), store, &[]);
    let outcomes: Vec<&str> = runs
        .iter()
        .map(|run| run["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["finished early", "succeeded", "failed"]);
    // Only the runs of one job file.
    let of_fine = history(dir.path(), store, &[fine.to_str().unwrap()]);
    assert_eq!(of_fine.len(), 1);
    assert_eq!(of_fine[0]["job"], "fine");
    assert_eq!(history(dir.path(), store, &["--limit", "2"]).len(), 2);
}

#[test]
fn outcomes_and_task_states_are_recorded_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    outcomes_and_task_states_are_recorded(&sqlite_store(dir.path()));
}

/// Starts `factotum run JOB --store STORE` in the background.
pub(crate) fn start_run(dir: &Path, store: &str, job: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_factotum"))
        .args([
            "run",
            job.to_str().unwrap(),
            "--store",
            store,
            "--grace",
            "1",
        ])
        .current_dir(dir)
        .env("XDG_STATE_HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("factotum starts")
}

/// Waits (at most a minute) until `path` exists.
pub(crate) fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A job whose `first` succeeds, then `slow` writes `slow-started` and sleeps, and `last`
/// waits for it.
pub(crate) const SLOW: &str = r#"job "slow"

task "first" {
  run "true"
}

task "slow" {
  after "first"
  run "sh" with "-c", "echo $$ > starting; mv starting slow-started; sleep 60"
}

task "last" {
  after "slow"
  run "touch" with "last-ran"
}
"#;

pub(crate) fn a_run_stopped_by_sigterm_is_interrupted(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dsl_job(dir.path(), "slow.factotum", SLOW);
    let child = start_run(dir.path(), store, &path);
    wait_for_file(&dir.path().join("slow-started"));
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let runs = history(dir.path(), store, &[]);
    assert_eq!(runs[0]["outcome"], "interrupted");
    let shown = show(dir.path(), store, "last");
    assert_eq!(
        states(&shown),
        pairs(&[
            ("first", "succeeded"),
            ("slow", "interrupted"),
            ("last", "skipped")
        ])
    );
}

#[test]
fn a_run_stopped_by_sigterm_is_interrupted_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_run_stopped_by_sigterm_is_interrupted(&sqlite_store(dir.path()));
}

pub(crate) fn a_killed_run_is_lost(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dsl_job(dir.path(), "slow.factotum", SLOW);
    let mut child = start_run(dir.path(), store, &path);
    wait_for_file(&dir.path().join("slow-started"));
    child.kill().unwrap();
    child.wait().unwrap();
    let runs = history(dir.path(), store, &[]);
    assert_eq!(runs[0]["outcome"], "lost");
    let shown = show(dir.path(), store, "last");
    assert_eq!(
        states(&shown),
        pairs(&[
            ("first", "succeeded"),
            ("slow", "running"),
            ("last", "not started")
        ])
    );
    // Its task is left behind in its own process group; end it.
    let group = std::fs::read_to_string(dir.path().join("slow-started")).unwrap();
    let group = rustix::process::Pid::from_raw(group.trim().parse().unwrap()).unwrap();
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
}

#[test]
fn a_killed_run_is_lost_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_killed_run_is_lost(&sqlite_store(dir.path()));
}

pub(crate) fn two_runs_at_once_share_a_store(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let tasks: Vec<String> = (0..30)
        .map(|n| format!("task \"t{n}\" {{\n  run \"true\"\n}}\n"))
        .collect();
    let tasks = tasks.join("\n");
    let path = dsl_job(
        dir.path(),
        "wide.factotum",
        &format!("job \"wide\"\n\n{tasks}"),
    );
    let children: Vec<Child> = (0..2)
        .map(|_| start_run(dir.path(), store, &path))
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(!stderr.contains("Warn"), "{stderr}");
    }
    let runs = history(dir.path(), store, &[]);
    assert_eq!(runs.len(), 2);
    for run in runs {
        assert_eq!(run["outcome"], "succeeded");
        assert_eq!(run["tasks"]["succeeded"], 30);
    }
}

#[test]
fn two_runs_at_once_share_an_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    two_runs_at_once_share_a_store(&sqlite_store(dir.path()));
}

pub(crate) fn an_unreachable_named_store_stops_the_run_before_any_task(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = marker_job(dir.path());
    let run = factotum(dir.path(), store, &["run", path.to_str().unwrap()]);
    assert_eq!(run.status, 3, "{}", run.transcript());
    assert!(!dir.path().join("ran").exists());
    assert!(run.stderr.contains("error: store `"), "{}", run.stderr);
    assert!(!run.stderr.contains("secret"), "{}", run.stderr);
    let listed = factotum(dir.path(), store, &["history"]);
    assert_eq!(listed.status, 3, "{}", listed.transcript());
}

#[test]
fn an_unopenable_sqlite_store_stops_the_run_before_any_task() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "").unwrap();
    let inside_a_file = format!("sqlite:{}", dir.path().join("file/store.db").display());
    an_unreachable_named_store_stops_the_run_before_any_task(&inside_a_file);
}

#[test]
fn a_store_url_of_no_known_kind_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = factotum(dir.path(), "mysql://me:secret@127.0.0.1/x", &["history"]);
    assert_eq!(run.status, 3);
    assert!(
        run.stderr.contains("use `sqlite:PATH`, `postgres://"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("secret"), "{}", run.stderr);
}

#[test]
fn store_none_records_nothing_and_says_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = marker_job(dir.path());
    let run = factotum(dir.path(), "none", &["run", path.to_str().unwrap()]);
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert!(dir.path().join("ran").exists());
    assert_eq!(run.recorded_as, None);
    assert!(!run.stderr.contains("Warn"), "{}", run.stderr);
    assert!(!run.stdout.contains("history"), "{}", run.stdout);
    let listed = factotum(dir.path(), "none", &["history"]);
    assert_eq!(listed.status, 3);
    assert!(
        listed.stderr.contains("keeps no run history"),
        "{}",
        listed.stderr
    );
}

#[test]
fn the_default_store_is_created_under_xdg_state_home() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let path = marker_job(dir.path());
    let run = Test::in_dir(dir.path())
        .env("XDG_STATE_HOME", state.to_str().unwrap())
        .args(["run", path.to_str().unwrap()])
        .run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert!(run.recorded_as.is_some());
    let file = state.join("factotum/store.db");
    assert!(file.exists());
    // The history may hold task output: only its owner reads it.
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    let listed = Test::in_dir(dir.path())
        .env("XDG_STATE_HOME", state.to_str().unwrap())
        .args(["history"])
        .run();
    assert!(listed.stdout.contains("marker"), "{}", listed.stdout);
    // HOME stands in when XDG_STATE_HOME is unset.
    let home = dir.path().join("home");
    let run = Test::in_dir(dir.path())
        .env("XDG_STATE_HOME", "")
        .env("HOME", home.to_str().unwrap())
        .args(["run", path.to_str().unwrap()])
        .run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert!(home.join(".local/state/factotum/store.db").exists());
}

#[test]
fn an_unwritable_default_store_does_not_stop_the_job() {
    let dir = tempfile::tempdir().unwrap();
    // A state directory under a plain file cannot be made, even by root.
    std::fs::write(dir.path().join("file"), "").unwrap();
    let path = marker_job(dir.path());
    let run = Test::in_dir(dir.path())
        .env(
            "XDG_STATE_HOME",
            dir.path().join("file/state").to_str().unwrap(),
        )
        .args(["run", path.to_str().unwrap()])
        .run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert!(dir.path().join("ran").exists());
    assert_eq!(
        run.stderr
            .matches("Warn: the run history is not kept")
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("The run history of this run is incomplete"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_damaged_store_is_named_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("store.db");
    let garbage = b"this is not a database, and it must survive".repeat(200);
    std::fs::write(&file, &garbage).unwrap();
    let store = sqlite_store(dir.path());
    let listed = factotum(dir.path(), &store, &["history"]);
    assert_eq!(listed.status, 3, "{}", listed.transcript());
    assert!(
        listed
            .stderr
            .contains("is not a factotum store, or is damaged"),
        "{}",
        listed.stderr
    );
    assert!(listed.stderr.contains(&store), "{}", listed.stderr);
    let path = marker_job(dir.path());
    // Named: the run does not start. Default: it runs, unrecorded.
    let named = factotum(dir.path(), &store, &["run", path.to_str().unwrap()]);
    assert_eq!(named.status, 3, "{}", named.transcript());
    assert!(!dir.path().join("ran").exists());
    std::fs::create_dir_all(dir.path().join("state/factotum")).unwrap();
    std::fs::write(dir.path().join("state/factotum/store.db"), &garbage).unwrap();
    let default = Test::in_dir(dir.path())
        .env("XDG_STATE_HOME", dir.path().join("state").to_str().unwrap())
        .args(["run", path.to_str().unwrap()])
        .run();
    assert_eq!(default.status, 0, "{}", default.transcript());
    assert!(dir.path().join("ran").exists());
    assert_eq!(std::fs::read(&file).unwrap(), garbage);
    assert_eq!(
        std::fs::read(dir.path().join("state/factotum/store.db")).unwrap(),
        garbage
    );
}

#[test]
fn a_store_from_a_newer_factotum_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let path = marker_job(dir.path());
    assert_eq!(
        factotum(dir.path(), &store, &["run", path.to_str().unwrap()]).status,
        0
    );
    let connection = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    connection
        .execute(
            "UPDATE factotum_meta SET value = '999' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    drop(connection);
    let listed = factotum(dir.path(), &store, &["history"]);
    assert_eq!(listed.status, 3, "{}", listed.transcript());
    assert!(
        listed.stderr.contains("written by a newer factotum"),
        "{}",
        listed.stderr
    );
    let connection = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    let runs: i64 = connection
        .query_row("SELECT count(*) FROM factotum_runs", [], |row| row.get(0))
        .unwrap();
    assert_eq!(runs, 1);
}

#[test]
fn damaged_rows_are_left_out_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let path = marker_job(dir.path());
    for _ in 0..2 {
        assert_eq!(
            factotum(dir.path(), &store, &["run", path.to_str().unwrap()]).status,
            0
        );
    }
    let connection = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    connection
        .execute(
            "UPDATE factotum_runs SET outcome = 'exploded', tags = 'not json' \
             WHERE id = (SELECT min(id) FROM factotum_runs)",
            [],
        )
        .unwrap();
    drop(connection);
    let listed = factotum(dir.path(), &store, &["history", "--format", "json"]);
    assert_eq!(listed.status, 0, "{}", listed.transcript());
    let runs: Vec<Value> = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(runs.len(), 1);
    assert!(
        listed
            .stderr
            .contains("1 runs in the store could not be read"),
        "{}",
        listed.stderr
    );
}

#[test]
fn show_names_runs_by_prefix_and_says_when_none_or_several_match() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let path = marker_job(dir.path());
    let first = factotum(dir.path(), &store, &["run", path.to_str().unwrap()]);
    let second = factotum(dir.path(), &store, &["run", path.to_str().unwrap()]);
    let (first, second) = (first.recorded_as.unwrap(), second.recorded_as.unwrap());
    assert_eq!(show(dir.path(), &store, &first)["id"], first.as_str());
    assert_eq!(show(dir.path(), &store, "last")["id"], second.as_str());
    let ambiguous = factotum(dir.path(), &store, &["show", "2"]);
    assert_eq!(ambiguous.status, 3);
    assert!(
        ambiguous.stderr.contains("is the start of several runs"),
        "{}",
        ambiguous.stderr
    );
    let unknown = factotum(dir.path(), &store, &["show", "1999"]);
    assert_eq!(unknown.status, 3);
    assert!(
        unknown.stderr.contains("no run `1999` is recorded"),
        "{}",
        unknown.stderr
    );
    // `%` and `_` are no wildcards.
    let wildcard = factotum(dir.path(), &store, &["show", "%"]);
    assert_eq!(wildcard.status, 3);
}

#[test]
fn the_run_line_names_the_run_and_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let path = marker_job(dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_factotum"))
        .args(["run", path.to_str().unwrap(), "--store", &store])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let first = stderr.lines().next().unwrap();
    assert!(first.starts_with("Run 20"), "{first}");
    assert!(
        first.ends_with(&format!(" is recorded in {store}")),
        "{first}"
    );
    let (rest, id) = without_run_line(&stderr);
    assert!(rest.starts_with("Task 'mark' was started"), "{rest}");
    assert_eq!(id.unwrap().len(), "20261202T093939123Z-4f2a9c".len());
}

#[test]
fn a_store_that_fills_up_mid_run_loses_history_not_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let path = marker_job(dir.path());
    // The store exists and holds one run before the disk "fills up".
    assert_eq!(
        factotum(dir.path(), &store, &["run", path.to_str().unwrap()]).status,
        0
    );
    // 40 tasks, each printing 8 KB that the store keeps: more than the 256 KB the file
    // size limit lets the store's files grow by.
    let tasks: Vec<String> = (0..40)
        .map(|n| {
            format!(
                "task \"t{n}\" {{\n  run \"sh\" with \"-c\", \"head -c 8000 /dev/zero | tr '\\\\\\\\0' x; echo; echo t{n} >> ran.log\"\n}}\n"
            )
        })
        .collect();
    let big = dsl_job(
        dir.path(),
        "big.factotum",
        &format!("job \"big\"\n\n{}", tasks.join("\n")),
    );
    let script = format!(
        "ulimit -f 256; exec '{}' run '{}' --store '{store}' -j 1",
        env!("CARGO_BIN_EXE_factotum"),
        big.display()
    );
    let output = Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // Every task ran; one warning; the summary says the history is incomplete.
    let ran = std::fs::read_to_string(dir.path().join("ran.log")).unwrap();
    assert_eq!(ran.lines().count(), 40);
    assert_eq!(
        stderr
            .matches("Warn: the run history is incomplete")
            .count(),
        1,
        "{stderr}"
    );
    assert!(
        stdout.contains("The run history of this run is incomplete"),
        "{stdout}"
    );
    // The store still opens and still holds what it held, the first run whole.
    let runs = history(dir.path(), &store, &[]);
    assert!(
        runs.iter()
            .any(|run| run["job"] == "marker" && run["outcome"] == "succeeded")
    );
}

#[test]
fn a_run_on_another_host_is_lost_once_its_heartbeat_stops() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let path = marker_job(dir.path());
    assert_eq!(
        factotum(dir.path(), &store, &["run", path.to_str().unwrap()]).status,
        0
    );
    // Make the run look like one still going on another server, heard of `age_ms` ago.
    let pretend = |age_ms: i64| {
        let connection = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
        connection
            .execute(
                "UPDATE factotum_runs SET outcome = 'running', ended_at = NULL, \
                 host = 'another-host.invalid', \
                 heartbeat_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - ?1",
                [age_ms],
            )
            .unwrap();
    };
    pretend(1_000);
    assert_eq!(history(dir.path(), &store, &[])[0]["outcome"], "running");
    pretend(120_000);
    assert_eq!(history(dir.path(), &store, &[])[0]["outcome"], "lost");
}

/// In each of `rounds`, six processes open the new store `new_store(round)` gives at once:
/// every one succeeds.
pub(crate) fn processes_opening_a_new_store_at_once_all_succeed(
    rounds: usize,
    new_store: &dyn Fn(usize) -> String,
) {
    for round in 0..rounds {
        let store = new_store(round);
        let children: Vec<Child> = (0..6)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_factotum"))
                    .args(["history", "--store", &store])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

#[test]
fn many_processes_opening_a_new_sqlite_store_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    processes_opening_a_new_store_at_once_all_succeed(20, &|round| {
        format!(
            "sqlite:{}",
            dir.path().join(format!("{round}.db")).display()
        )
    });
}
