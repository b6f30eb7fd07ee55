//! Task options through `factotum run`: retries, timeouts (of an attempt and of the whole
//! job), environment, working directory and pools, with real processes. Nothing here
//! measures time itself: the tasks write timestamps and pids, and the tests read them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::history::{show, sqlite_store};
use crate::test::{Run, Test};

/// The schema the options need.
const SCHEMA_1_1_0: &str = "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-1-0";

/// A task running the script `script` (written beside the job as `NAME.sh`, so that no
/// quoting stands between the test and the shell), after `after`, with the option keys of
/// `options` (an object) added.
pub(crate) fn task(dir: &Path, name: &str, script: &str, after: &[&str], options: Value) -> Value {
    let path = dir.join(format!("{name}.sh"));
    std::fs::write(&path, script).unwrap();
    let mut task = json!({
        "name": name, "executor": "shell", "command": format!("sh {}", path.display()),
        "arguments": [], "dependsOn": after,
        "onResult": {"terminateJobWithSuccess": [], "continueJob": [0]},
    });
    let (Value::Object(task_keys), Value::Object(option_keys)) = (&mut task, options) else {
        panic!("options are an object");
    };
    task_keys.extend(option_keys);
    task
}

/// Writes a 1-1-0 factfile `file` of `tasks` into `dir`, with the job keys of `job` (an
/// object: `timeoutSeconds`, `pools`) added.
pub(crate) fn options_job(dir: &Path, file: &str, tasks: &[Value], job: Value) -> PathBuf {
    let mut data = json!({"name": "options", "tasks": tasks});
    let (Value::Object(data_keys), Value::Object(job_keys)) = (&mut data, job) else {
        panic!("job keys are an object");
    };
    data_keys.extend(job_keys);
    let path = dir.join(file);
    let text = json!({"schema": SCHEMA_1_1_0, "data": data});
    std::fs::write(&path, serde_json::to_string_pretty(&text).unwrap()).unwrap();
    path
}

/// A script that appends the time (seconds since the epoch, with nanoseconds) to `file`,
/// then fails until it has run `succeed_on` times (never, for 0) with `code`.
pub(crate) fn flaky(file: &str, succeed_on: usize, code: i32) -> String {
    format!(
        "date +%s.%N >> {file}\n\
         [ {succeed_on} -gt 0 ] && [ \"$(wc -l < {file})\" -ge {succeed_on} ] && exit 0\n\
         exit {code}\n"
    )
}

fn run(dir: &Path, args: &[&str]) -> Run {
    Test::in_dir(dir)
        .arg("run")
        .args(args)
        .args(["--no-colour", "--grace", "1"])
        .run()
}

/// The timestamps, in seconds, a task appended to `file`.
fn stamps(file: &Path) -> Vec<f64> {
    std::fs::read_to_string(file)
        .unwrap_or_else(|error| panic!("{}: {error}", file.display()))
        .lines()
        .map(|line| line.parse().expect("a timestamp"))
        .collect()
}

/// The delays the `Task 'NAME' failed (…), attempt K of N; retrying in D.Ds` lines of
/// `stderr` announce, in seconds.
fn announced_delays(stderr: &str, name: &str) -> Vec<f64> {
    let prefix = format!("Task '{name}' failed (");
    stderr
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .map(|line| {
            let (_, delay) = line.rsplit_once("; retrying in ").expect("a retry line");
            delay.trim_end_matches('s').parse().expect("a delay")
        })
        .collect()
}

#[test]
fn a_task_failing_twice_then_succeeding_takes_three_attempts_with_growing_delays() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let retry = json!({"retry": {"attempts": 3, "delaySeconds": 0.5, "backoff": 2}});
    let tasks = vec![task(dir.path(), "flaky", &flaky("times", 3, 1), &[], retry)];
    let path = options_job(dir.path(), "retry.factfile", &tasks, json!({}));
    let run = run(dir.path(), &[path.to_str().unwrap(), "--store", &store]);
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("Task 'flaky' failed (exit 1), attempt 1 of 3; retrying in "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Task 'flaky' failed (exit 1), attempt 2 of 3; retrying in "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Task 'flaky' was started at ")
            && run.stderr.contains("Task 'flaky': succeeded after ")
            && run.stderr.contains("s (attempt 3 of 3)\n"),
        "{}",
        run.stderr
    );
    // The delays announced: 0.5s then 1s, each with jitter in [0.9, 1.1), to one decimal.
    let announced = announced_delays(&run.stderr, "flaky");
    assert_eq!(announced.len(), 2, "{}", run.stderr);
    assert!((0.4..=0.6).contains(&announced[0]), "{announced:?}");
    assert!((0.9..=1.1).contains(&announced[1]), "{announced:?}");
    // The task's own clock: each attempt started at least 0.9 of its delay after the last.
    let times = stamps(&dir.path().join("times"));
    assert_eq!(times.len(), 3);
    assert!(times[1] - times[0] >= 0.9 * 0.5, "{times:?}");
    assert!(times[2] - times[1] >= 0.9 * 1.0, "{times:?}");
    assert!(
        run.stdout.contains("1/1 tasks run in ") && run.stdout.contains("(2 retries, 0 timeouts)"),
        "{}",
        run.stdout
    );
    let id = run.recorded_as.expect("the run is recorded");
    let shown = show(dir.path(), &store, &id);
    assert_eq!(shown["taskStates"][0]["attempts"], 3, "{shown}");
    let table = Test::in_dir(dir.path())
        .args(["show", &id, "--store", &store])
        .run();
    let row = table
        .stdout
        .lines()
        .find(|line| line.starts_with("flaky "))
        .unwrap_or_else(|| panic!("{}", table.stdout));
    assert!(
        table.stdout.contains("ATTEMPTS") && row.trim_end().ends_with(" 3"),
        "{}",
        table.stdout
    );
}

#[test]
fn a_task_that_exhausts_its_attempts_fails_the_run_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let retry = json!({"retry": {"attempts": 2}});
    let tasks = vec![
        task(dir.path(), "doomed", &flaky("times", 0, 1), &[], retry),
        task(
            dir.path(),
            "after",
            "touch after-ran",
            &["doomed"],
            json!({}),
        ),
    ];
    let path = options_job(dir.path(), "exhausted.factfile", &tasks, json!({}));
    let run = run(dir.path(), &[path.to_str().unwrap()]);
    assert_eq!(run.status, 2, "{}", run.transcript());
    assert_eq!(stamps(&dir.path().join("times")).len(), 2);
    assert!(
        run.stderr
            .contains("Task 'doomed' failed (exit 1), attempt 1 of 2; retrying in 0.0s\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "Reason: the task exited with a value not specified in continue_job - 1 (task expects one of the following return codes to continue [0]) (attempt 2 of 2)\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("after-ran").exists());
    assert!(
        run.stdout.contains("(1 retry, 0 timeouts)")
            && run.stdout.contains("as a task ('doomed') failed"),
        "{}",
        run.stdout
    );
}

#[test]
fn on_codes_retries_only_the_codes_it_lists() {
    let dir = tempfile::tempdir().unwrap();
    let retry = json!({"retry": {"attempts": 3, "onCodes": [75]}});
    let tasks = vec![
        task(
            dir.path(),
            "busy",
            &flaky("busy-times", 2, 75),
            &[],
            retry.clone(),
        ),
        task(
            dir.path(),
            "broken",
            &flaky("broken-times", 0, 3),
            &[],
            retry,
        ),
    ];
    let path = options_job(dir.path(), "codes.factfile", &tasks, json!({}));
    let run = run(dir.path(), &[path.to_str().unwrap()]);
    assert_eq!(run.status, 2, "{}", run.transcript());
    assert_eq!(stamps(&dir.path().join("busy-times")).len(), 2);
    assert_eq!(stamps(&dir.path().join("broken-times")).len(), 1);
    assert!(
        run.stderr
            .contains("Task 'busy' failed (exit 75), attempt 1 of 3; retrying in"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("Task 'broken' failed ("),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(attempt 1 of 3)") && run.stdout.contains("('broken') failed"),
        "{}",
        run.transcript()
    );
}

/// Whether the process `pid` has ended (a zombie has: only its parent's wait is missing).
fn ended(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

/// Waits (at most 30 seconds: the processes were sent SIGKILL before the run ended, only the
/// reaping of orphans is left) until every pid written in `files` has ended.
fn assert_ended(dir: &Path, files: &[&str]) {
    let pids: Vec<i32> = files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(dir.join(file))
                .unwrap_or_else(|error| panic!("{file}: {error}"));
            text.trim().parse().expect("a pid")
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !pids.iter().all(|&pid| ended(pid)) {
        assert!(Instant::now() < deadline, "still alive among {pids:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A script that starts a background `sleep 60`, writes its pid and its own pid (to
/// `NAME.child` and `NAME.pid`), then sleeps; with `ignore_term`, it ignores SIGTERM.
fn sleeper(name: &str, ignore_term: bool) -> String {
    let trap = if ignore_term { "trap '' TERM\n" } else { "" };
    format!(
        "{trap}sleep 60 &\necho $! > {name}.child.tmp && mv {name}.child.tmp {name}.child\n\
         echo $$ > {name}.pid.tmp && mv {name}.pid.tmp {name}.pid\nsleep 60\n"
    )
}

#[test]
fn an_attempt_past_its_timeout_is_stopped_with_its_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let timeout = json!({"timeoutSeconds": 1});
    let tasks = vec![
        task(
            dir.path(),
            "polite",
            &sleeper("polite", false),
            &[],
            timeout.clone(),
        ),
        task(
            dir.path(),
            "stubborn",
            &sleeper("stubborn", true),
            &[],
            timeout,
        ),
    ];
    let path = options_job(dir.path(), "timeout.factfile", &tasks, json!({}));
    let run = run(dir.path(), &[path.to_str().unwrap()]);
    assert_eq!(run.status, 2, "{}", run.transcript());
    for name in ["polite", "stubborn"] {
        let line = format!("Task '{name}': failed after ");
        let reason = run
            .stderr
            .lines()
            .find(|l| l.starts_with(&line))
            .unwrap_or_else(|| panic!("{}", run.stderr));
        assert!(reason.ends_with(". Reason: timed out after 1s"), "{reason}");
    }
    assert!(
        run.stdout.contains("(0 retries, 2 timeouts)"),
        "{}",
        run.stdout
    );
    assert_ended(
        dir.path(),
        &[
            "polite.pid",
            "polite.child",
            "stubborn.pid",
            "stubborn.child",
        ],
    );
}

#[test]
fn a_timed_out_attempt_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    // The first attempt hangs; the second finds its mark and succeeds.
    let script = "if [ -e hung ]; then exit 0; fi\ntouch hung\nsleep 60\n";
    let options = json!({"timeoutSeconds": 0.5, "retry": {"attempts": 2}});
    let tasks = vec![task(dir.path(), "hangs", script, &[], options)];
    let path = options_job(dir.path(), "hang.factfile", &tasks, json!({}));
    let run = run(dir.path(), &[path.to_str().unwrap()]);
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert!(
        run.stderr.contains(
            "Task 'hangs' failed (timed out after 0.5s), attempt 1 of 2; retrying in 0.0s"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("(1 retry, 1 timeout)"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_job_timeout_stops_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = vec![
        task(dir.path(), "slow", &sleeper("slow", false), &[], json!({})),
        task(dir.path(), "next", "touch next-ran", &["slow"], json!({})),
    ];
    let path = options_job(
        dir.path(),
        "job-timeout.factfile",
        &tasks,
        json!({"timeoutSeconds": 1}),
    );
    let run = run(dir.path(), &[path.to_str().unwrap()]);
    assert_eq!(run.status, 2, "{}", run.transcript());
    assert!(
        run.stdout.contains("the job timed out after 1s, terminating gracefully")
            && run.stdout.contains(
                "Factotum job was stopped: the job timed out after 1s, so no more tasks were started - the following tasks were not run: 'next'!"
            ),
        "{}",
        run.stdout
    );
    assert!(!dir.path().join("next-ran").exists());
    assert_ended(dir.path(), &["slow.pid", "slow.child"]);
}

#[test]
fn env_and_dir_are_rendered_and_dir_is_taken_from_the_job_file() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs");
    std::fs::create_dir_all(jobs.join("work/2026-12-02")).unwrap();
    let options = json!({
        "env": {"DAY": "{{ day }}", "SPACED": "a b"},
        "workingDirectory": "work/{{ day }}",
    });
    let script = "printf '%s|%s|%s\\n' \"$DAY\" \"$SPACED\" \"$(pwd)\" > seen\n";
    let tasks = vec![task(&jobs, "where", script, &[], options)];
    let path = options_job(&jobs, "env.factfile", &tasks, json!({}));
    let env = r#"{"day": "2026-12-02"}"#;
    // Run from elsewhere: the directory is the job file's, not the current one.
    let run = run(dir.path(), &[path.to_str().unwrap(), "--env", env]);
    assert_eq!(run.status, 0, "{}", run.transcript());
    let work = jobs.join("work/2026-12-02");
    let seen = std::fs::read_to_string(work.join("seen")).unwrap();
    let real = work.canonicalize().unwrap();
    assert_eq!(seen, format!("2026-12-02|a b|{}\n", real.display()));
    let dry = Test::in_dir(dir.path())
        .args(["run", path.to_str().unwrap(), "--env", env, "--dry-run"])
        .run();
    assert_eq!(dry.status, 0, "{}", dry.transcript());
    assert_eq!(
        dry.stdout,
        format!(
            "Task 'where' would run: sh -c 'sh {} '\n    env: DAY='2026-12-02'\n    env: SPACED='a b'\n    dir: {}\n1/1 tasks would run; this was a dry run, nothing was started\n",
            jobs.join("where.sh").display(),
            work.display()
        )
    );
}

#[test]
fn a_missing_working_directory_fails_the_task_before_it_runs_and_is_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let options = json!({"workingDirectory": "{{ day }}", "retry": {"attempts": 3}});
    let tasks = vec![task(dir.path(), "nowhere", "touch ran", &[], options)];
    let path = options_job(dir.path(), "missing.factfile", &tasks, json!({}));
    let run = run(
        dir.path(),
        &[path.to_str().unwrap(), "--env", r#"{"day": "gone"}"#],
    );
    assert_eq!(run.status, 2, "{}", run.transcript());
    let missing = dir.path().join("gone");
    assert!(
        run.stderr.contains(&format!(
            "Reason: the task could not be run: its working directory {} does not exist (attempt 1 of 3)",
            missing.display()
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("retrying"), "{}", run.stderr);
    assert!(!dir.path().join("ran").exists());
}

#[test]
fn a_pool_of_two_never_runs_more_than_two_of_its_tasks_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["p1", "p2", "p3", "p4", "p5", "p6"];
    let tasks: Vec<Value> = names
        .iter()
        .map(|name| {
            let script = format!(
                "echo \"start $(date +%s.%N)\" >> {name}.log\nsleep 0.3\necho \"end $(date +%s.%N)\" >> {name}.log\n"
            );
            task(dir.path(), name, &script, &[], json!({"pool": "warehouse"}))
        })
        .collect();
    let path = options_job(
        dir.path(),
        "pool.factfile",
        &tasks,
        json!({"pools": {"warehouse": 2}}),
    );
    let run = run(dir.path(), &[path.to_str().unwrap()]);
    assert_eq!(run.status, 0, "{}", run.transcript());
    // Each task's span by its own clock; a process runs at least that long, so two spans
    // that overlap are two tasks that ran at once.
    let spans: Vec<(f64, f64)> = names
        .iter()
        .map(|name| {
            let log = std::fs::read_to_string(dir.path().join(format!("{name}.log"))).unwrap();
            let time = |word: &str| -> f64 {
                log.lines()
                    .find_map(|line| line.strip_prefix(word))
                    .expect("a start and an end")
                    .trim()
                    .parse()
                    .unwrap()
            };
            (time("start "), time("end "))
        })
        .collect();
    for &(start, _) in &spans {
        let at_once = spans
            .iter()
            .filter(|&&(other_start, other_end)| other_start <= start && start < other_end)
            .count();
        assert!(at_once <= 2, "{at_once} at once: {spans:?}");
    }
}

/// Starts `factotum run` in the background, its stderr read line by line into the channel.
fn start(dir: &Path, args: &[&str]) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_factotum"))
        .arg("run")
        .args(args)
        .args(["--no-colour", "--store", "none"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("factotum starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (child, received)
}

#[test]
fn a_signal_during_a_retry_delay_stops_the_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let retry = json!({"retry": {"attempts": 3, "delaySeconds": 600}});
    let tasks = vec![task(dir.path(), "waits", &flaky("times", 0, 1), &[], retry)];
    let path = options_job(dir.path(), "delay.factfile", &tasks, json!({}));
    let (mut child, lines) = start(dir.path(), &[path.to_str().unwrap()]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|line: &String| line.contains("; retrying in "))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Ok(line) = lines.recv_timeout(left) {
            seen.push(line);
        } else {
            let _ = child.kill();
            panic!("no retry was announced: {seen:?}");
        }
    }
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    // A run that waited out the delay would take ten minutes: give up long before.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not stop during its retry delay");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(2));
    seen.extend(lines.iter());
    assert_eq!(stamps(&dir.path().join("times")).len(), 1, "{seen:?}");
    assert!(
        seen.iter()
            .any(|line| line.ends_with("(attempt 1 of 3); not tried again: the run was stopped")),
        "{seen:?}"
    );
}

#[test]
fn a_resumed_run_tries_a_failed_task_again_from_its_first_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let script = "date +%s.%N >> times\n[ -e fixed ]\n";
    let retry = json!({"retry": {"attempts": 2}});
    let tasks = vec![task(dir.path(), "needs-fix", script, &[], retry)];
    let path = options_job(dir.path(), "resume.factfile", &tasks, json!({}));
    let job = path.to_str().unwrap();
    let failed = run(dir.path(), &[job, "--store", &store]);
    assert_eq!(failed.status, 2, "{}", failed.transcript());
    let first = failed.recorded_as.expect("the run is recorded");
    assert_eq!(
        show(dir.path(), &store, &first)["taskStates"][0]["attempts"],
        2
    );
    std::fs::write(dir.path().join("fixed"), "").unwrap();
    let resumed = run(dir.path(), &[job, "--store", &store, "--resume"]);
    assert_eq!(resumed.status, 0, "{}", resumed.transcript());
    let second = resumed.recorded_as.expect("the run is recorded");
    let shown = show(dir.path(), &store, &second);
    assert_eq!(shown["taskStates"][0]["attempts"], 1, "{shown}");
    assert!(
        resumed.stderr.contains("(attempt 1 of 2)"),
        "{}",
        resumed.stderr
    );
    assert_eq!(stamps(&dir.path().join("times")).len(), 3);
}

#[test]
fn a_store_of_the_second_layout_gains_attempts_and_keeps_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let tasks = vec![task(dir.path(), "once", "true", &[], json!({}))];
    let path = options_job(dir.path(), "plain.factfile", &tasks, json!({}));
    let job = path.to_str().unwrap();
    let old = run(dir.path(), &[job, "--store", &store]);
    assert_eq!(old.status, 0, "{}", old.transcript());
    let connection = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    connection
        .execute_batch(
            "ALTER TABLE factotum_tasks DROP COLUMN attempts;
             UPDATE factotum_meta SET value = '2' WHERE key = 'schema_version';",
        )
        .unwrap();
    drop(connection);
    let new = run(dir.path(), &[job, "--store", &store]);
    assert_eq!(new.status, 0, "{}", new.transcript());
    let old_run = show(dir.path(), &store, &old.recorded_as.unwrap());
    assert_eq!(old_run["taskStates"][0]["attempts"], Value::Null);
    let new_run = show(dir.path(), &store, &new.recorded_as.unwrap());
    assert_eq!(new_run["taskStates"][0]["attempts"], 1);
    let connection = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    let version: String = connection
        .query_row(
            "SELECT value FROM factotum_meta WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(version, "3");
}

#[test]
fn an_attempt_whose_output_a_stray_process_holds_is_given_up_on_after_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // `setsid` takes the stray out of the task's process group, out of reach of its signals,
    // with the task's output still open.
    let script = "setsid sh -c 'echo $$ > stray.pid.tmp; mv stray.pid.tmp stray.pid; exec sleep 600' &\n\
                  while [ ! -e stray.pid ]; do sleep 0.05; done\nsleep 600\n";
    let tasks = vec![task(
        dir.path(),
        "leaky",
        script,
        &[],
        json!({"timeoutSeconds": 1}),
    )];
    let path = options_job(dir.path(), "leaky.factfile", &tasks, json!({}));
    let (mut child, lines) = start(dir.path(), &[path.to_str().unwrap(), "--grace", "1"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stray = std::fs::read_to_string(dir.path().join("stray.pid"))
        .ok()
        .and_then(|pid| pid.trim().parse::<i32>().ok())
        .and_then(rustix::process::Pid::from_raw);
    if let Some(stray) = stray {
        let _ = rustix::process::kill_process(stray, rustix::process::Signal::KILL);
    }
    let status = status.expect("the run waited for the stray process's output");
    assert_eq!(status.code(), Some(2));
    let seen: Vec<String> = lines.iter().collect();
    assert!(
        seen.iter()
            .any(|line| line.starts_with("Task 'leaky': failed after ")
                && line.ends_with("Reason: timed out after 1s")),
        "{seen:?}"
    );
}

/// The DSL's statements reach the run as the JSON keys do.
#[test]
fn the_dsl_options_run_as_the_json_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    std::fs::write(dir.path().join("flaky.sh"), flaky("../times", 2, 1)).unwrap();
    let text = format!(
        "job \"dsl options\"\ntimeout 1h\npool \"one\" size 1\n\n\
         task \"flaky\" {{\n    run \"sh {}\"\n    retry attempts 2 delay 0.2s on 1\n    timeout 30s\n    \
         env \"WHO\" = \"{{{{ who }}}}\"\n    dir \"out\"\n    pool \"one\"\n}}\n\n\
         task \"after\" {{\n    after \"flaky\"\n    run \"sh\" with \"-c\", \"echo $WHO > seen\"\n    \
         env \"WHO\" = \"{{{{ who }}}}\"\n    dir \"out\"\n    pool \"one\"\n}}\n",
        dir.path().join("flaky.sh").display()
    );
    let path = dir.path().join("options.factotum");
    std::fs::write(&path, text).unwrap();
    let run = run(
        dir.path(),
        &[path.to_str().unwrap(), "--env", r#"{"who": "dsl"}"#],
    );
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("Task 'flaky' failed (exit 1), attempt 1 of 2; retrying in "),
        "{}",
        run.stderr
    );
    let announced = announced_delays(&run.stderr, "flaky");
    assert!(
        announced.len() == 1 && (0.1..=0.3).contains(&announced[0]),
        "{announced:?}"
    );
    let times = stamps(&dir.path().join("times"));
    assert!(
        times.len() == 2 && times[1] - times[0] >= 0.9 * 0.2,
        "{times:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/seen")).unwrap(),
        "dsl\n"
    );
    assert!(
        run.stdout.contains("(1 retry, 0 timeouts)"),
        "{}",
        run.stdout
    );
}
