//! The run-history, resume and claim checks of `history.rs`, `resume.rs` and `locks.rs`
//! against PostgreSQL stores (each a new database of the throw-away cluster of
//! `postgres.rs`), and what only a PostgreSQL store meets: a server that does not answer, a
//! URL that asks for TLS, tables another factotum made or damaged, runs racing in one
//! transaction.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::history::{
    a_killed_run_is_lost, a_run_stopped_by_sigterm_is_interrupted,
    an_unreachable_named_store_stops_the_run_before_any_task, dsl_job, factotum, history,
    marker_job, outcomes_and_task_states_are_recorded,
    processes_opening_a_new_store_at_once_all_succeed, show, start_run,
    two_runs_at_once_share_a_store,
};
use crate::postgres::fresh_store;
use crate::resume::{
    resume_after_sigkill_reruns_the_task_that_was_running,
    resume_after_the_job_changed_reruns_what_changed_and_below,
    resume_reruns_only_the_failed_branches,
};
use crate::test::Run;

/// A job whose one task leaves a file `ran` behind.
/// Runs the marker job in `dir` with `store` named.
fn run_marker(dir: &Path, store: &str) -> Run {
    let path = marker_job(dir);
    factotum(dir, store, &["run", path.to_str().unwrap()])
}

/// A connection to the store's database, as the tests' own client.
fn connect(store: &str) -> postgres::Client {
    postgres::Client::connect(store, postgres::NoTls)
        .unwrap_or_else(|error| panic!("{store} accepts connections: {error:?}"))
}

/// Whether the store's database has a table `name`.
fn has_table(store: &str, name: &str) -> bool {
    connect(store)
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .and_then(|row| row.try_get(0))
        .expect("to_regclass answers")
}

#[test]
fn outcomes_and_task_states_are_recorded_in_postgres() {
    outcomes_and_task_states_are_recorded(&fresh_store());
}

#[test]
fn a_run_stopped_by_sigterm_is_interrupted_in_postgres() {
    a_run_stopped_by_sigterm_is_interrupted(&fresh_store());
}

#[test]
fn a_killed_run_is_lost_in_postgres() {
    a_killed_run_is_lost(&fresh_store());
}

/// Six processes open one empty database at once, in each of five: the tables are made once,
/// and every process finds them.
#[test]
fn many_processes_opening_a_new_postgres_store_at_once_all_succeed() {
    processes_opening_a_new_store_at_once_all_succeed(5, &|_| fresh_store());
}

/// Both runs also open the empty database at once: the tables are made once.
#[test]
fn two_runs_at_once_share_a_postgres_store() {
    two_runs_at_once_share_a_store(&fresh_store());
}

#[test]
fn resume_reruns_only_the_failed_branches_in_postgres() {
    resume_reruns_only_the_failed_branches(&fresh_store());
}

#[test]
fn resume_after_sigkill_reruns_the_task_that_was_running_in_postgres() {
    resume_after_sigkill_reruns_the_task_that_was_running(&fresh_store());
}

#[test]
fn resume_after_the_job_changed_reruns_what_changed_and_below_in_postgres() {
    resume_after_the_job_changed_reruns_what_changed_and_below(&fresh_store());
}

#[test]
fn an_unreachable_postgres_store_stops_the_run_before_any_task() {
    // A port nothing listens on: bound a moment ago, then closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    for (store, shown) in [
        (
            format!("postgres://factotum:secret@127.0.0.1:{port}/runs"),
            format!("postgres://factotum:***@127.0.0.1:{port}/runs"),
        ),
        (
            format!("postgres://factotum@127.0.0.1:{port}/runs?password=secret"),
            format!("postgres://factotum@127.0.0.1:{port}/runs?password=***"),
        ),
    ] {
        an_unreachable_named_store_stops_the_run_before_any_task(&store);
        let dir = tempfile::tempdir().unwrap();
        let run = run_marker(dir.path(), &store);
        assert!(
            run.stderr.contains(&format!(
                "error: store `{shown}`: error connecting to server"
            )),
            "{}",
            run.stderr
        );
    }
}

/// A server that takes the connection and then says nothing (a listening socket nobody
/// accepts from: the system completes the connection) stops the run within the connect
/// timeout, not only a server that refuses it.
#[test]
fn a_server_that_never_answers_stops_the_run_within_the_connect_timeout() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let path = marker_job(dir.path());
    let store = format!("postgres://factotum@127.0.0.1:{port}/runs?connect_timeout=1");
    let mut child = start_run(dir.path(), &store, &path);
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            child.kill().unwrap();
            panic!("factotum waited for a silent store for two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(!dir.path().join("ran").exists());
    assert!(
        stderr.contains("the server did not complete the connection within 1 s"),
        "{stderr}"
    );
    drop(silent);
}

#[test]
fn a_postgres_store_from_a_newer_factotum_is_refused_and_kept() {
    let store = fresh_store();
    connect(&store)
        .batch_execute(
            "CREATE TABLE factotum_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO factotum_meta (key, value) VALUES ('schema_version', '999');",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = run_marker(dir.path(), &store);
    assert_eq!(run.status, 3, "{}", run.transcript());
    assert!(!dir.path().join("ran").exists());
    assert!(
        run.stderr
            .contains("the store was written by a newer factotum (store schema 999; "),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let listed = factotum(dir.path(), &store, &["history"]);
    assert_eq!(listed.status, 3, "{}", listed.transcript());
    assert!(!has_table(&store, "factotum_runs"));
}

#[test]
fn a_url_asking_for_tls_is_refused_in_words() {
    let store = fresh_store();
    for mode in ["require", "verify-ca", "verify-full"] {
        let dir = tempfile::tempdir().unwrap();
        let run = run_marker(dir.path(), &format!("{store}?sslmode={mode}"));
        assert_eq!(run.status, 3, "{}", run.transcript());
        assert!(!dir.path().join("ran").exists());
        assert!(
            run.stderr.contains(&format!(
                "the URL asks for TLS (sslmode={mode}), which factotum's PostgreSQL store does not support yet"
            )),
            "{}",
            run.stderr
        );
    }
    // Without TLS the same database is fine.
    let dir = tempfile::tempdir().unwrap();
    let run = run_marker(dir.path(), &format!("{store}?sslmode=disable"));
    assert_eq!(run.status, 0, "{}", run.transcript());
}

#[test]
fn damaged_rows_in_postgres_are_left_out_and_counted() {
    let store = fresh_store();
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        assert_eq!(run_marker(dir.path(), &store).status, 0);
    }
    // A run whose outcome and tags cannot be read, and a task of the other whose exit code
    // does not fit the 32 bits exit codes have.
    connect(&store)
        .batch_execute(
            "UPDATE factotum_runs SET outcome = 'exploded', tags = 'not json'
                 WHERE id = (SELECT min(id) FROM factotum_runs);
             UPDATE factotum_tasks SET exit_code = 1099511627776
                 WHERE run_id = (SELECT max(id) FROM factotum_runs);",
        )
        .unwrap();
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
    let shown = factotum(dir.path(), &store, &["show", "last", "--format", "json"]);
    assert_eq!(shown.status, 0, "{}", shown.transcript());
    assert!(
        shown
            .stderr
            .contains("1 task rows of this run in the store could not be read"),
        "{}",
        shown.stderr
    );
}

#[test]
fn run_ids_are_found_by_prefix_without_wildcards_in_postgres() {
    let store = fresh_store();
    let dir = tempfile::tempdir().unwrap();
    let id = run_marker(dir.path(), &store)
        .recorded_as
        .expect("run prints its id");
    assert_eq!(show(dir.path(), &store, &id[..10])["id"], id.as_str());
    // Each would match the run as a LIKE pattern.
    for pattern in ["%", &format!("{}_", &id[..9]), &format!("_{}", &id[1..10])] {
        let shown = factotum(dir.path(), &store, &["show", pattern]);
        assert_eq!(shown.status, 3, "{pattern}: {}", shown.transcript());
        assert!(
            shown
                .stderr
                .contains(&format!("no run `{pattern}` is recorded")),
            "{pattern}: {}",
            shown.stderr
        );
    }
}

/// `factotum run JOB ARGS --store STORE` started in `dir`, in the background.
fn spawn_run(dir: &Path, store: &str, job: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_factotum"))
        .arg("run")
        .arg(job)
        .args(args)
        .args(["--store", store])
        .current_dir(dir)
        .env("XDG_STATE_HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("factotum starts")
}

/// Waits (at most two minutes) until at most `left` of `children` still run.
fn wait_until_running(children: &mut [Child], left: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let running = children
            .iter_mut()
            .map(|child| child.try_wait().unwrap())
            .filter(Option::is_none)
            .count();
        if running <= left {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{running} runs still going after two minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A job whose one task notes in `ran.log` that it ran, then holds on until a file `release`
/// appears (a minute at most), through the script [`HOLD`].
const HOLDING: &str = "job \"holding\"\n\ntask \"hold\" {\n  run \"sh\" with \"hold.sh\"\n}\n";

/// The script [`HOLDING`] runs (a file, as factotum hands a task's arguments to a shell).
const HOLD: &str = "echo ran >> ran.log
i=0
while [ ! -e release ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
";

/// Four runs ask for one lock at the same moment: the test holds back every write to the
/// claims table until all four are inside their claim transactions, so that each has read the
/// table before any has written it, and only the store's locking can keep them apart.
#[test]
fn one_lock_asked_for_by_many_runs_at_once_is_held_by_one() {
    let store = fresh_store();
    let dir = tempfile::tempdir().unwrap();
    // The tables exist before the test locks one.
    assert_eq!(run_marker(dir.path(), &store).status, 0);
    let job = dsl_job(dir.path(), "holding.factotum", HOLDING);
    std::fs::write(dir.path().join("hold.sh"), HOLD).unwrap();
    let mut holding_back = connect(&store);
    let mut holding_back = holding_back.transaction().unwrap();
    holding_back
        .batch_execute("LOCK TABLE factotum_claims IN SHARE MODE")
        .unwrap();
    let mut children: Vec<Child> = (0..4)
        .map(|_| spawn_run(dir.path(), &store, &job, &["--lock", "nightly"]))
        .collect();
    let mut watching = connect(&store);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let waiting: i64 = watching
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .and_then(|row| row.try_get(0))
            .unwrap();
        if waiting == 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} of 4 runs waited for the claims table"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    holding_back.rollback().unwrap();
    // The holder cannot end before `release` exists: every other run must have been refused.
    wait_until_running(&mut children, 1);
    std::fs::write(dir.path().join("release"), "").unwrap();
    wait_until_running(&mut children, 0);
    let mut refused = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(0) => {}
            Some(3) => {
                refused += 1;
                assert!(
                    stderr.contains("the lock 'nightly' is held by run"),
                    "{stderr}"
                );
            }
            other => panic!("exit {other:?}: {stderr}"),
        }
    }
    assert_eq!(refused, 3);
    let ran = std::fs::read_to_string(dir.path().join("ran.log")).unwrap();
    assert_eq!(ran.lines().count(), 1);
}

/// A store of schema version 1 (no claims table, no attempts column) gets steps 2 and 3
/// when it is next opened, and keeps its runs.
#[test]
fn a_postgres_store_of_the_first_layout_is_migrated() {
    let store = fresh_store();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run_marker(dir.path(), &store).status, 0);
    connect(&store)
        .batch_execute(
            "DROP TABLE factotum_claims;
             ALTER TABLE factotum_tasks DROP COLUMN attempts;
             UPDATE factotum_meta SET value = '1' WHERE key = 'schema_version';",
        )
        .unwrap();
    let job = marker_job(dir.path());
    let locked = factotum(
        dir.path(),
        &store,
        &["run", job.to_str().unwrap(), "--lock", "nightly"],
    );
    assert_eq!(locked.status, 0, "{}", locked.transcript());
    assert_eq!(history(dir.path(), &store, &[]).len(), 2);
    let version: String = connect(&store)
        .query_one(
            "SELECT value FROM factotum_meta WHERE key = 'schema_version'",
            &[],
        )
        .and_then(|row| row.try_get(0))
        .unwrap();
    assert_eq!(version, "3");
}

/// A run that says it is still going on another server is judged by how long ago, by the
/// database server's clock, it last renewed its heartbeat.
#[test]
fn a_run_on_another_host_is_lost_once_its_heartbeat_stops_in_postgres() {
    let store = fresh_store();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run_marker(dir.path(), &store).status, 0);
    let pretend = |age_ms: i64| {
        connect(&store)
            .execute(
                "UPDATE factotum_runs SET outcome = 'running', ended_at = NULL, \
                 host = 'another-host.invalid', \
                 heartbeat_at = CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT) - $1",
                &[&age_ms],
            )
            .unwrap();
    };
    pretend(1_000);
    assert_eq!(history(dir.path(), &store, &[])[0]["outcome"], "running");
    pretend(120_000);
    assert_eq!(history(dir.path(), &store, &[])[0]["outcome"], "lost");
}
