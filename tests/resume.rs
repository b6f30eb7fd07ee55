//! `run --resume`: only what did not succeed runs again, proven by each task appending its
//! name to a log. Each check is written once for any store URL and run against SQLite here
//! (and PostgreSQL in `store_postgres`).

use std::path::Path;
use std::process::Command;

use crate::history::{dsl_job, factotum, show, sqlite_store, start_run, states, wait_for_file};

/// The task names in `ran.log`, in the order they ran.
fn ran(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("ran.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

/// A task that logs its name, then fails unless the file `NAME.ok` exists.
fn gated(name: &str, after: &[&str]) -> String {
    let after = if after.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = after.iter().map(|a| format!("\"{a}\"")).collect();
        format!("  after {}\n", quoted.join(", "))
    };
    format!(
        "task \"{name}\" {{\n{after}  run \"sh\" with \"-c\", \"echo {name} >> ran.log; test -f {name}.ok\"\n}}\n"
    )
}

/// Two branches, `a → b` and `c → d`, where `b` and `d` fail until their `.ok` file exists;
/// `e` stands alone; `f` waits for both branches.
fn two_branches() -> String {
    let tasks = [
        gated("a", &[]),
        gated("b", &["a"]),
        gated("c", &[]),
        gated("d", &["c"]),
        gated("e", &[]),
        gated("f", &["b", "d"]),
    ];
    format!("job \"branches\"\n\n{}", tasks.join("\n"))
}

fn allow(dir: &Path, names: &[&str]) {
    for name in names {
        std::fs::write(dir.join(format!("{name}.ok")), "").unwrap();
    }
}

pub(crate) fn resume_reruns_only_the_failed_branches(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    allow(dir.path(), &["a", "c", "e", "f"]);
    let path = dsl_job(dir.path(), "branches.factotum", &two_branches());
    let job = path.to_str().unwrap();
    let first = factotum(dir.path(), store, &["run", job]);
    assert_eq!(first.status, 2, "{}", first.transcript());
    assert_eq!(sorted(ran(dir.path())), names(&["a", "b", "c", "d", "e"]));

    // The plan first, which runs nothing.
    let plan = factotum(dir.path(), store, &["run", job, "--resume", "--dry-run"]);
    assert_eq!(plan.status, 0, "{}", plan.transcript());
    assert!(
        plan.stdout
            .contains("3 of 6 tasks to run; 3 kept from earlier runs"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("Task 'b' will run: it failed in run"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Task 'a' is kept: it succeeded in run"),
        "{}",
        plan.stdout
    );
    assert_eq!(ran(dir.path()).len(), 5);

    // `d` is fixed, `b` is not: only b, d run; f stays skipped.
    allow(dir.path(), &["d"]);
    std::fs::remove_file(dir.path().join("ran.log")).unwrap();
    let second = factotum(dir.path(), store, &["run", job, "--resume"]);
    assert_eq!(second.status, 2, "{}", second.transcript());
    assert_eq!(sorted(ran(dir.path())), names(&["b", "d"]));
    let shown = show(dir.path(), store, "last");
    assert_eq!(
        shown["resumes"],
        first.recorded_as.clone().unwrap().as_str()
    );

    // Now `b` too: the resume of the resume runs b and f, nothing else.
    allow(dir.path(), &["b"]);
    std::fs::remove_file(dir.path().join("ran.log")).unwrap();
    let third = factotum(dir.path(), store, &["run", job, "--resume"]);
    assert_eq!(third.status, 0, "{}", third.transcript());
    assert_eq!(ran(dir.path()), names(&["b", "f"]));
    let shown = show(dir.path(), store, "last");
    let carried: Vec<(String, String)> = shown["taskStates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|task| task["name"] == "a" || task["name"] == "d")
        .map(|task| {
            (
                task["name"].as_str().unwrap().to_owned(),
                task["carriedFrom"]
                    .as_str()
                    .unwrap_or("not carried")
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        carried,
        [
            ("a".to_owned(), first.recorded_as.clone().unwrap()),
            ("d".to_owned(), second.recorded_as.clone().unwrap()),
        ]
    );

    // Nothing is left to resume.
    std::fs::remove_file(dir.path().join("ran.log")).unwrap();
    let nothing = factotum(dir.path(), store, &["run", job, "--resume"]);
    assert_eq!(nothing.status, 0, "{}", nothing.transcript());
    assert!(
        nothing.stdout.starts_with("Nothing to resume: run "),
        "{}",
        nothing.stdout
    );
    assert!(ran(dir.path()).is_empty());
}

#[test]
fn resume_reruns_only_the_failed_branches_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    resume_reruns_only_the_failed_branches(&sqlite_store(dir.path()));
}

/// `first`, then `slow` (which sleeps until killed unless `slow.ok` exists), then `last`.
const KILLABLE: &str = r#"job "killable"

task "first" {
  run "sh" with "-c", "echo first >> ran.log"
}

task "slow" {
  after "first"
  run "sh" with "-c", "echo slow >> ran.log; test -f slow.ok && exit 0; echo $$ > starting; mv starting slow-started; sleep 60"
}

task "last" {
  after "slow"
  run "sh" with "-c", "echo last >> ran.log"
}
"#;

pub(crate) fn resume_after_sigkill_reruns_the_task_that_was_running(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dsl_job(dir.path(), "killable.factotum", KILLABLE);
    let mut child = start_run(dir.path(), store, &path);
    wait_for_file(&dir.path().join("slow-started"));
    child.kill().unwrap();
    child.wait().unwrap();
    // The task outlives factotum in its own process group; end it as an operator would.
    let group = std::fs::read_to_string(dir.path().join("slow-started")).unwrap();
    let group = rustix::process::Pid::from_raw(group.trim().parse().unwrap()).unwrap();
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    assert_eq!(
        states(&show(dir.path(), store, "last")),
        [
            ("first".to_owned(), "succeeded".to_owned()),
            ("slow".to_owned(), "running".to_owned()),
            ("last".to_owned(), "not started".to_owned()),
        ]
    );
    std::fs::write(dir.path().join("slow.ok"), "").unwrap();
    std::fs::remove_file(dir.path().join("ran.log")).unwrap();
    let resumed = factotum(
        dir.path(),
        store,
        &["run", path.to_str().unwrap(), "--resume"],
    );
    assert_eq!(resumed.status, 0, "{}", resumed.transcript());
    assert_eq!(ran(dir.path()), names(&["slow", "last"]));
}

#[test]
fn resume_after_sigkill_reruns_the_task_that_was_running_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    resume_after_sigkill_reruns_the_task_that_was_running(&sqlite_store(dir.path()));
}

pub(crate) fn resume_after_the_job_changed_reruns_what_changed_and_below(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    allow(dir.path(), &["a", "c", "d", "e", "f"]);
    let path = dsl_job(dir.path(), "branches.factotum", &two_branches());
    let job = path.to_str().unwrap();
    assert_eq!(factotum(dir.path(), store, &["run", job]).status, 2);
    // `c` (which succeeded) now runs something else: c and d below it run again with b.
    let changed = two_branches().replace("echo c >> ran.log", "echo c >> ran.log; true");
    std::fs::write(&path, changed).unwrap();
    allow(dir.path(), &["b"]);
    let plan = factotum(dir.path(), store, &["run", job, "--resume", "--dry-run"]);
    assert!(
        plan.stdout
            .contains("Task 'c' will run: its definition changed since run"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Task 'd' will run: it depends on 'c', which changed since run"),
        "{}",
        plan.stdout
    );
    std::fs::remove_file(dir.path().join("ran.log")).unwrap();
    let resumed = factotum(dir.path(), store, &["run", job, "--resume"]);
    assert_eq!(resumed.status, 0, "{}", resumed.transcript());
    assert_eq!(sorted(ran(dir.path())), names(&["b", "c", "d", "f"]));
}

#[test]
fn resume_after_the_job_changed_reruns_what_changed_and_below_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    resume_after_the_job_changed_reruns_what_changed_and_below(&sqlite_store(dir.path()));
}

#[test]
fn resume_takes_the_resumed_runs_env_and_refuses_what_cannot_be_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let path = dsl_job(
        dir.path(),
        "day.factotum",
        "job \"day {{ day }}\"\n\ntask \"write {{ day }}\" {\n  run \"sh\" with \"-c\", \"echo {{ day }} >> ran.log; test -f go\"\n}\n",
    );
    let job = path.to_str().unwrap();
    let first = factotum(
        dir.path(),
        &store,
        &["run", job, "--env", r#"{"day": "monday"}"#],
    );
    assert_eq!(first.status, 2, "{}", first.transcript());
    std::fs::write(dir.path().join("go"), "").unwrap();
    let resumed = factotum(dir.path(), &store, &["run", job, "--resume"]);
    assert_eq!(resumed.status, 0, "{}", resumed.transcript());
    assert_eq!(ran(dir.path()), names(&["monday", "monday"]));
    // A run that is not there, and no run of a job at all.
    let unknown = factotum(dir.path(), &store, &["run", job, "--resume", "1999"]);
    assert_eq!(unknown.status, 3, "{}", unknown.transcript());
    let other = dsl_job(
        dir.path(),
        "other.factotum",
        "job \"other\"\n\ntask \"t\" {\n  run \"true\"\n}\n",
    );
    let never = factotum(
        dir.path(),
        &store,
        &["run", other.to_str().unwrap(), "--resume"],
    );
    assert_eq!(never.status, 3, "{}", never.transcript());
    assert!(
        never.stderr.contains("nothing to resume: no run of"),
        "{}",
        never.stderr
    );
    // --resume with --start makes no sense.
    let both = factotum(
        dir.path(),
        &store,
        &["run", job, "--resume", "--start", "x"],
    );
    assert_eq!(both.status, 3, "{}", both.transcript());
}

#[test]
fn dot_colours_a_job_by_a_recorded_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    allow(dir.path(), &["a", "c", "e", "f"]);
    let path = dsl_job(dir.path(), "branches.factotum", &two_branches());
    let job = path.to_str().unwrap();
    assert_eq!(factotum(dir.path(), &store, &["run", job]).status, 2);
    let drawn = factotum(dir.path(), &store, &["dot", job, "--run", "last"]);
    assert_eq!(drawn.status, 0, "{}", drawn.transcript());
    assert!(
        drawn
            .stdout
            .contains(r##""b" [style=filled, fillcolor="#f07e7e"]"##),
        "{}",
        drawn.stdout
    );
    assert!(drawn.stdout.contains(">skipped</td>"), "{}", drawn.stdout);
    let svg = dir.path().join("run.svg");
    let dot_file = dir.path().join("run.dot");
    std::fs::write(&dot_file, &drawn.stdout).unwrap();
    let rendered = Command::new("dot")
        .args(["-Tsvg", "-o"])
        .arg(&svg)
        .arg(&dot_file)
        .output()
        .expect("Graphviz is installed");
    assert!(rendered.status.success(), "{rendered:?}");
    assert!(rendered.stderr.is_empty(), "{rendered:?}");
    let mermaid = factotum(
        dir.path(),
        &store,
        &["dot", job, "--run", "last", "--format", "mermaid"],
    );
    assert!(
        mermaid.stdout.contains("classDef failed"),
        "{}",
        mermaid.stdout
    );
    let unknown = factotum(dir.path(), &store, &["dot", job, "--run", "1999"]);
    assert_eq!(unknown.status, 3, "{}", unknown.transcript());
}
