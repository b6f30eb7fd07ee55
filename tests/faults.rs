//! `factotum run` under faults: tasks that cannot start, signals of every kind, closed and
//! shared output pipes, dead webhook endpoints and out-of-range numbers on the command line.

use std::fs::File;
use std::io::{BufRead, BufReader, Read as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use rustix::process::{Pid, Signal, kill_process};

use crate::run::alive;
use crate::test::{T, Test, job};

/// How long anything here may take before the test gives up: far more than it ever needs.
const PATIENCE: Duration = Duration::from_secs(60);

/// Waits (boundedly) until `ready` holds.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !ready() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (boundedly) for a background factotum to end; kills it and fails if it does not.
fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("factotum did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, signal: Signal) {
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    kill_process(pid, signal).unwrap();
}

/// The processes the tasks of a test wrote to `pids`; any still alive when the test ends are
/// killed, so a failing test leaves nothing behind.
struct Pids(PathBuf);

impl Pids {
    fn in_dir(dir: &Path) -> Self {
        Self(dir.join("pids"))
    }

    fn all(&self) -> Vec<i32> {
        std::fs::read_to_string(&self.0)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect()
    }

    fn wait_for(&self, count: usize) {
        wait_until("the tasks to start", || self.all().len() >= count);
    }

    /// Asserts that every process the tasks started is gone (waiting boundedly for the
    /// kernel to finish killing them).
    fn assert_all_gone(&self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let survivors: Vec<i32> = self.all().into_iter().filter(|&pid| alive(pid)).collect();
            if survivors.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "orphaned task processes: {survivors:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pids {
    fn drop(&mut self) {
        for pid in self.all() {
            if let Some(pid) = Pid::from_raw(pid).filter(|_| alive(pid)) {
                let _ = kill_process(pid, Signal::KILL);
            }
        }
    }
}

/// A task that records its shell and a background child in `pids`, then waits for it.
const LONG: &str = "sleep 600 & echo $! >> pids; echo $$ >> pids; wait";

fn factotum(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_factotum"));
    command
        .arg("run")
        .args(args)
        .arg("--no-colour")
        .current_dir(dir)
        .env("XDG_STATE_HOME", dir)
        .stdin(Stdio::null());
    command
}

/// Output files of a background run.
fn to_files(command: &mut Command, dir: &Path) -> (PathBuf, PathBuf) {
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    command
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap());
    (out, err)
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

#[test]
fn a_task_that_cannot_start_fails_and_skips_its_descendants() {
    let dir = tempfile::tempdir().unwrap();
    let long_argument = "x".repeat(200 * 1024);
    let cases: [(&str, &str, Vec<&str>, Option<&str>); 3] = [
        ("no shell on PATH", "true", vec![], Some("/nonexistent")),
        ("a NUL byte", "echo hi\u{0}there", vec![], None),
        ("E2BIG", "true", vec![long_argument.as_str()], None),
    ];
    for (case, command, arguments, path) in cases {
        let file = job(
            dir.path(),
            "job.factfile",
            &[
                T("first", command, &arguments, &[]),
                T("second", "touch", &["second-ran"], &["first"]),
            ],
        );
        let mut test =
            Test::in_dir(dir.path()).args(["run", file.to_str().unwrap(), "--no-colour"]);
        if let Some(path) = path {
            test = test.env("PATH", path);
        }
        let run = test.run();
        assert_eq!(run.status, 2, "{case}: {}", run.transcript());
        assert!(
            run.stderr.contains("Task 'first': failed after ")
                && run.stderr.contains("Reason: the task could not be run: "),
            "{case}: {}",
            run.transcript()
        );
        assert!(
            run.stdout.contains(
                "Factotum job executed abnormally as a task ('first') failed - the following tasks were not run: 'second'!"
            ),
            "{case}: {}",
            run.transcript()
        );
        assert!(!dir.path().join("second-ran").exists(), "{case}");
    }
}

#[test]
fn an_interrupted_run_exits_2_even_when_its_tasks_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let pids = Pids::in_dir(dir.path());
    let trapping = "trap 'exit 0' TERM; echo $$ >> pids; while :; do sleep 1; done";
    let file = job(
        dir.path(),
        "job.factfile",
        &[T("trapping", trapping, &[], &[])],
    );
    let mut command = factotum(dir.path(), &[file.to_str().unwrap(), "--grace", "30"]);
    let (out, _) = to_files(&mut command, dir.path());
    let mut child = command.spawn().unwrap();
    pids.wait_for(1);
    signal(&child, Signal::TERM);
    let status = wait_exit(&mut child);
    let stdout = read(&out);
    assert_eq!(status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("Factotum job was interrupted by SIGTERM"),
        "{stdout}"
    );
    pids.assert_all_gone();
}

#[test]
fn sigterm_with_a_closed_stdout_still_stops_every_task() {
    let dir = tempfile::tempdir().unwrap();
    let pids = Pids::in_dir(dir.path());
    let file = job(
        dir.path(),
        "job.factfile",
        &[
            T("one", LONG, &[], &[]),
            T("two", LONG, &[], &[]),
            T("after", "touch", &["after-ran"], &["one"]),
        ],
    );
    let mut child = factotum(dir.path(), &[file.to_str().unwrap(), "--grace", "1"])
        .stdout(Stdio::piped())
        .stderr(File::create(dir.path().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    // As `factotum run job | true`: the reader is gone before factotum writes anything.
    drop(child.stdout.take());
    pids.wait_for(4);
    signal(&child, Signal::TERM);
    let status = wait_exit(&mut child);
    let stderr = read(&dir.path().join("stderr"));
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.path().join("after-ran").exists());
    pids.assert_all_gone();
}

#[test]
fn hangup_and_quit_stop_the_run_as_sigterm_does() {
    for (sent, name) in [(Signal::HUP, "SIGHUP"), (Signal::QUIT, "SIGQUIT")] {
        let dir = tempfile::tempdir().unwrap();
        let pids = Pids::in_dir(dir.path());
        let file = job(
            dir.path(),
            "job.factfile",
            &[
                T("long", LONG, &[], &[]),
                T("after", "touch", &["after-ran"], &["long"]),
            ],
        );
        let mut command = factotum(dir.path(), &[file.to_str().unwrap(), "--grace", "1"]);
        let (out, _) = to_files(&mut command, dir.path());
        let mut child = command.spawn().unwrap();
        pids.wait_for(2);
        signal(&child, sent);
        let status = wait_exit(&mut child);
        let stdout = read(&out);
        assert_eq!(status.code(), Some(2), "{name}: {status:?} {stdout}");
        assert!(
            stdout.contains(&format!(
                "Factotum job was interrupted by {name}, so no more tasks were started - the following tasks were not run: 'after'!"
            )),
            "{stdout}"
        );
        pids.assert_all_gone();
    }
}

/// A webhook endpoint that accepts connections and never answers.
fn silent_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        // Held open, never read or answered; a run makes a handful of connections at most.
        let held: Vec<_> = listener.incoming().take(64).collect();
        drop(held);
    });
    url
}

/// Starts `task` (a command and its arguments) as a job against a silent endpoint, with the
/// drain and timeouts at their maximum; returns factotum and the files of its stdout and stderr.
fn against_a_silent_endpoint(
    dir: &Path,
    task: (&str, &[&str]),
    grace: &str,
) -> (Child, PathBuf, PathBuf) {
    let file = job(dir, "job.factfile", &[T("task", task.0, task.1, &[])]);
    let url = silent_endpoint();
    let mut command = factotum(
        dir,
        &[
            file.to_str().unwrap(),
            "--webhook",
            &url,
            "--webhook-timeout",
            "86400",
            "--webhook-drain",
            "86400",
            "--grace",
            grace,
        ],
    );
    let (out, err) = to_files(&mut command, dir);
    let child = command
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .spawn()
        .unwrap();
    (child, out, err)
}

/// Runs a quick job against a silent endpoint, sends `signals` once factotum waits for the
/// webhook, and returns its exit and stdout.
fn interrupt_the_drain(grace: &str, signals: &[Signal]) -> (ExitStatus, String) {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, out, _) = against_a_silent_endpoint(dir.path(), ("true", &[]), grace);
    wait_until("the drain to begin", || {
        read(&out).contains("Waiting for webhook to finish sending events...")
    });
    for &sent in signals {
        signal(&child, sent);
    }
    let status = wait_exit(&mut child);
    (status, read(&out))
}

#[test]
fn a_signal_shortens_the_webhook_drain_to_the_grace_period() {
    let (status, stdout) = interrupt_the_drain("0", &[Signal::TERM]);
    assert_eq!(status.code(), Some(0), "{stdout}");
    assert!(
        stdout.ends_with(
            "Waiting for webhook to finish sending events... gave up: interrupted by SIGTERM\nWarning: some events failed to send\n"
        ),
        "{stdout}"
    );
}

/// A signal that stopped the run was the first: the drain after it gets only the grace period.
#[test]
fn a_run_stopped_by_a_signal_drains_its_webhook_for_the_grace_period_only() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, out, err) = against_a_silent_endpoint(dir.path(), ("sleep", &["600"]), "0");
    wait_until("the task to start", || read(&err).contains("was started"));
    signal(&child, Signal::TERM);
    let status = wait_exit(&mut child);
    let stdout = read(&out);
    assert_eq!(status.code(), Some(2), "{stdout}");
    assert!(
        stdout.ends_with(
            "Waiting for webhook to finish sending events... gave up: interrupted by SIGTERM\nWarning: some events failed to send\n"
        ),
        "{stdout}"
    );
}

#[test]
fn a_second_signal_abandons_the_webhook_drain() {
    // With a day of grace, only the second signal can end the wait. Two different signals,
    // since two of the same sent at once may arrive as one; either may be handled first.
    let (status, stdout) = interrupt_the_drain("86400", &[Signal::TERM, Signal::INT]);
    assert_eq!(status.code(), Some(0), "{stdout}");
    let said = ["SIGTERM", "SIGINT"].map(|name| {
        format!(
            "Waiting for webhook to finish sending events... gave up: interrupted by {name}\nWarning: some events failed to send\n"
        )
    });
    assert!(
        said.iter().any(|ending| stdout.ends_with(ending)),
        "{stdout}"
    );
}

#[test]
fn stdout_and_stderr_on_one_pipe_keep_their_lines_whole() {
    let dir = tempfile::tempdir().unwrap();
    let writer = |letter: char| {
        format!(
            "line=$(head -c 10000 /dev/zero | tr '\\0' {letter}); i=0; while [ $i -lt 1500 ]; do echo \"$line\"; echo \"$line\" >&2; i=$((i+1)); done"
        )
    };
    let (a, b) = (writer('a'), writer('b'));
    let file = job(
        dir.path(),
        "job.factfile",
        &[T("a", &a, &[], &[]), T("b", &b, &[], &[])],
    );
    let script = format!(
        "'{}' run '{}' --no-colour 2>&1",
        env!("CARGO_BIN_EXE_factotum"),
        file.display()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let (mut whole, mut broken) = (0usize, Vec::new());
    for line in reader.split(b'\n') {
        let line = line.unwrap();
        let body = line
            .strip_prefix(b"[a] ")
            .or_else(|| line.strip_prefix(b"[b] "));
        match body {
            Some(body) if body.len() == 10_000 && body.iter().all(|&c| c == body[0]) => {
                whole += 1;
            }
            _ if line.starts_with(b"Task '")
                || line.starts_with(b"Run ")
                || line.starts_with(b"2/2 tasks run in ") => {}
            _ => broken.push(String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned()),
        }
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(
        (whole, broken.len()),
        (6000, 0),
        "cut lines begin: {:?}",
        &broken[..broken.len().min(4)]
    );
}

#[test]
fn numbers_on_the_command_line_are_checked_or_taken_whole() {
    let dir = tempfile::tempdir().unwrap();
    let file = job(
        dir.path(),
        "job.factfile",
        &[T("echo", "echo", &["hi"], &[])],
    );
    let file = file.to_str().unwrap();
    let huge = u64::MAX.to_string();
    // A closed port, and no wait for its events at the end.
    let webhook = ["--webhook", "http://127.0.0.1:9/", "--webhook-drain", "0"];
    let run = |flag: &str, value: &str| {
        Test::in_dir(dir.path())
            .args(["run", file])
            .args(webhook)
            .arg(format!("{flag}={value}"))
            .run()
    };
    for (flag, value) in [
        ("--heartbeat-interval", huge.as_str()),
        ("--heartbeat-interval", "86401"),
        ("--heartbeat-interval", "0"),
        ("--grace", "1e300"),
        ("--webhook-timeout", "-1"),
        ("--webhook-timeout", "0"),
        ("--webhook-drain", "NaN"),
        ("--jobs", "0"),
    ] {
        let refused = run(flag, value);
        assert_eq!(
            refused.status,
            3,
            "{flag} {value}: {}",
            refused.transcript()
        );
        assert!(
            refused.stderr.contains(flag) && !refused.stderr.contains("panicked"),
            "{flag} {value}: {}",
            refused.transcript()
        );
        assert!(refused.stdout.is_empty(), "{flag} {value}: nothing ran");
    }
    for (flag, value) in [
        ("--heartbeat-interval", "86400"),
        ("--max-stdouterr-size", huge.as_str()),
        ("--jobs", huge.as_str()),
    ] {
        let taken = run(flag, value);
        assert_eq!(taken.status, 0, "{flag} {value}: {}", taken.transcript());
        assert!(
            taken.stdout.starts_with("[echo] hi\n1/1 tasks run in "),
            "{flag} {value}: {}",
            taken.transcript()
        );
    }
}

#[test]
fn a_line_with_no_end_comes_out_in_64_kib_pieces() {
    let dir = tempfile::tempdir().unwrap();
    // 300,000 bytes and no newline, then a line of exactly 64 KiB, which stays one line.
    let command =
        "head -c 300000 /dev/zero | tr '\\0' x; echo; head -c 65536 /dev/zero | tr '\\0' y; echo";
    let file = job(dir.path(), "job.factfile", &[T("long", command, &[], &[])]);
    let run = Test::in_dir(dir.path())
        .args(["run", file.to_str().unwrap(), "--no-colour"])
        .run();
    assert_eq!(run.status, 0, "{}", run.stderr);
    let pieces: Vec<usize> = run
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("[long] "))
        .map(str::len)
        .collect();
    assert_eq!(pieces, [65_536, 65_536, 65_536, 65_536, 37_856, 65_536]);
}

/// Where factotum's stdout goes in the property below.
#[derive(Clone, Debug)]
enum Sink {
    /// `/dev/full`: every write fails (ENOSPC).
    Full,
    /// A pipe whose reader goes away after this many bytes.
    ClosedAfter(u64),
}

/// A task of a generated job: how many lines it prints to stdout and to stderr, how long
/// they are, and its exit code.
#[derive(Clone, Debug)]
struct Printer {
    stdout_lines: u32,
    stderr_lines: u32,
    width: usize,
    code: u8,
}

impl Printer {
    fn command(&self) -> String {
        let Self {
            stdout_lines,
            stderr_lines,
            width,
            code,
        } = self;
        format!(
            "echo $$ >> pids; line=$(head -c {width} /dev/zero | tr '\\0' x); \
             i=0; while [ $i -lt {stdout_lines} ]; do echo \"$line\"; i=$((i+1)); done; \
             i=0; while [ $i -lt {stderr_lines} ]; do echo \"$line\" >&2; i=$((i+1)); done; \
             exit {code}"
        )
    }
}

fn printer() -> impl Strategy<Value = Printer> {
    (
        0u32..400,
        0u32..40,
        1usize..300,
        prop_oneof![3 => Just(0u8), 1 => Just(1u8)],
    )
        .prop_map(|(stdout_lines, stderr_lines, width, code)| Printer {
            stdout_lines,
            stderr_lines,
            width,
            code,
        })
}

fn sink() -> impl Strategy<Value = Sink> {
    prop_oneof![Just(Sink::Full), (0u64..60_000).prop_map(Sink::ClosedAfter)]
}

proptest! {
    // Each case runs the binary once: a dozen keep the suite quick.
    #![proptest_config(ProptestConfig {
        cases: 12,
        max_shrink_iters: 16,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Whatever happens to stdout, factotum neither panics nor leaves a task behind, says once
    /// that its output is lost, and keeps the job's exit code.
    #[test]
    fn an_unwritable_stdout_changes_nothing_but_the_output(
        printers in vec(printer(), 1..4),
        chained in any::<bool>(),
        sink in sink(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let pids = Pids::in_dir(dir.path());
        let names: Vec<String> = (0..printers.len()).map(|n| format!("t{n}")).collect();
        let commands: Vec<String> = printers.iter().map(Printer::command).collect();
        let before: Vec<Vec<&str>> = (0..printers.len())
            .map(|n| if chained && n > 0 { vec![names[n - 1].as_str()] } else { vec![] })
            .collect();
        let tasks: Vec<T<'_>> = (0..printers.len())
            .map(|n| T(&names[n], &commands[n], &[], &before[n]))
            .collect();
        let file = job(dir.path(), "job.factfile", &tasks);
        let mut command = factotum(dir.path(), &[file.to_str().unwrap()]);
        command.stderr(File::create(dir.path().join("stderr")).unwrap());
        let mut child = match &sink {
            Sink::Full => command.stdout(File::create("/dev/full").unwrap()).spawn().unwrap(),
            Sink::ClosedAfter(bytes) => {
                let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
                let pipe = child.stdout.take().unwrap();
                std::io::copy(&mut pipe.take(*bytes), &mut std::io::sink()).unwrap();
                child
            }
        };
        let status = wait_exit(&mut child);
        let stderr = read(&dir.path().join("stderr"));
        prop_assert!(!stderr.contains("panicked") && !stderr.contains("internal error"), "{}", stderr);
        // A failed task's 2 stands; otherwise a full device is 3, the one failure there was,
        // while a reader that stopped early (as `| head` does) is no failure of factotum's.
        let job_failed = printers.iter().any(|printer| printer.code != 0);
        let expected = match (&sink, job_failed) {
            (_, true) => 2,
            (Sink::Full, false) => 3,
            (Sink::ClosedAfter(_), false) => 0,
        };
        prop_assert_eq!(status.code(), Some(expected), "{}", stderr);
        let reported = stderr.matches("cannot write to standard output").count();
        prop_assert_eq!(reported, usize::from(matches!(sink, Sink::Full)), "{}", stderr);
        pids.assert_all_gone();
    }
}
