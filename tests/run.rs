//! `factotum run` with real processes: scheduling, failures, templating, `--start`, dry runs,
//! host constraints, signals and large output.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::test::{Run, T, Test, data_0_7, job, samples_0_7, without_durations};

fn run_in(dir: &Path, args: &[&str]) -> Run {
    Test::in_dir(dir).arg("run").args(args).run()
}

fn sample(name: &str) -> String {
    samples_0_7().join(name).display().to_string()
}

fn edge(name: &str) -> String {
    data_0_7()
        .join("edge-cases")
        .join(name)
        .display()
        .to_string()
}

/// The stderr lines without their timestamps and durations, which change every run.
fn task_lines(stderr: &str) -> Vec<String> {
    without_durations(stderr)
        .lines()
        .map(|line| match line.find("' was started at ") {
            Some(at) => format!("{}' was started", &line[..at]),
            None => line.to_owned(),
        })
        .collect()
}

#[test]
fn the_echo_sample_prints_as_0_7_did() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &[&sample("echo.factfile"), "--no-colour"]);
    assert_eq!(run.status, 0);
    assert_eq!(
        without_durations(&run.stdout),
        "[echo alpha] alpha\n[echo beta] beta\n[echo omega] and omega!\n3/3 tasks run in <duration>\n"
    );
    assert_eq!(
        task_lines(&run.stderr),
        [
            "Task 'echo alpha' was started",
            "Task 'echo alpha': succeeded after <duration>",
            "Task 'echo beta' was started",
            "Task 'echo beta': succeeded after <duration>",
            "Task 'echo omega' was started",
            "Task 'echo omega': succeeded after <duration>",
        ]
    );
    let started = run.stderr.lines().next().unwrap();
    let stamp = started.trim_start_matches("Task 'echo alpha' was started at ");
    assert_eq!(
        stamp.len(),
        "2026-11-28 06:25:32.710470457 UTC".len(),
        "{stamp}"
    );
    assert!(
        stamp.ends_with(" UTC") && stamp.as_bytes()[19] == b'.',
        "{stamp}"
    );
}

#[test]
fn a_failure_skips_only_its_descendants() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &[&edge("exitcodes.factfile")]);
    assert_eq!(run.status, 2, "{}", run.transcript());
    assert_eq!(
        without_durations(&run.stdout),
        "[after_ok] z\n4/6 tasks run in <duration>\nFactotum job executed abnormally as a task ('fail') failed - the following tasks were not run: 'after_fail', 'after_term'!\n"
    );
    assert!(without_durations(&run.stderr).contains("Task 'fail': failed after <duration>. Reason: the task exited with a value not specified in continue_job - 4 (task expects one of the following return codes to continue [0])"));
    assert!(
        !run.stderr.contains("Task 'term':"),
        "an early finish prints no line of its own"
    );
}

/// A DSL job's failure names its `continue on`; a factfile's keeps 0.7's words (above).
#[test]
fn a_dsl_failure_names_continue_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compare.factotum"),
        "job \"j\"\ntask \"compare\" {\n    run \"true\"\n    continue on 1, 2\n}\n",
    )
    .unwrap();
    let run = run_in(dir.path(), &["compare.factotum", "--no-colour"]);
    assert_eq!(run.status, 2, "{}", run.transcript());
    // Checked first, it is warned about.
    assert!(
        run.stdout
            .contains("warning[W402]: task `compare` fails when its command exits 0"),
        "{}",
        run.transcript()
    );
    assert!(
        without_durations(&run.stderr).contains("Task 'compare': failed after <duration>. Reason: the task exited with 0, not one of the codes its `continue on` lists: 1, 2\n"),
        "{}",
        run.transcript()
    );
}

#[test]
fn an_early_finish_is_a_success() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &[&sample("noop.factfile")]);
    assert_eq!(run.status, 0);
    assert!(run.stdout.ends_with("Factotum job finished early as a task ('exit') requested an early finish. The following tasks were not run: 'this will never run!'.\n"), "{}", run.stdout);
}

#[test]
fn forward_references_run_in_dependency_order() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &[&edge("forward_dep.factfile")]);
    assert_eq!(run.status, 0);
    assert_eq!(
        without_durations(&run.stdout),
        "[a] a\n[b] b\n2/2 tasks run in <duration>\n"
    );
}

#[test]
fn tasks_start_as_soon_as_their_own_dependencies_are_done() {
    let dir = tempfile::tempdir().unwrap();
    // `c` waits only for `b`; 0.7's tiers made it wait for the slow `a` too. Here `a` cannot end
    // before `c` has started (it fails after a minute if `c` never starts), so the order below
    // never depends on how fast the machine is.
    let slow = "i=0; until [ -e c-started ]; do i=$((i+1)); [ $i -le 600 ] || exit 1; sleep 0.1; done; echo a done";
    let path = job(
        dir.path(),
        "tier.factfile",
        &[
            T("a", slow, &[], &[]),
            T("b", "echo b done", &[], &[]),
            T("c", "touch c-started; echo c starts", &[], &["b"]),
        ],
    );
    let run = run_in(dir.path(), &[path.to_str().unwrap()]);
    assert_eq!(run.status, 0, "{}", run.transcript());
    let lines = task_lines(&run.stderr);
    let position = |wanted: &str| {
        lines
            .iter()
            .position(|line| line.starts_with(wanted))
            .unwrap()
    };
    assert!(
        position("Task 'c' was started") < position("Task 'a': succeeded"),
        "{lines:?}"
    );
    assert!(run.stdout.contains("[c] c starts\n"));
}

#[test]
fn jobs_limits_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let check = "n=$(ls running | wc -l); echo $n >> peaks; sleep 0.2; rm running/$$";
    let script = format!("mkdir -p running; touch running/$$; {check}");
    let tasks: Vec<T<'_>> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|name| T(name, &script, &[], &[]))
        .collect();
    let path = job(dir.path(), "wide.factfile", &tasks);
    let run = run_in(dir.path(), &[path.to_str().unwrap(), "-j", "2"]);
    assert_eq!(run.status, 0, "{}", run.transcript());
    let peaks = std::fs::read_to_string(dir.path().join("peaks")).unwrap();
    assert!(
        peaks.lines().all(|n| n.trim().parse::<u32>().unwrap() <= 2),
        "{peaks}"
    );
    assert_eq!(
        run_in(dir.path(), &[path.to_str().unwrap(), "-j", "0"]).status,
        3
    );
}

#[test]
fn start_runs_a_self_contained_sub_tree() {
    let dir = tempfile::tempdir().unwrap();
    let mid = run_in(dir.path(), &[&edge("startmid.factfile"), "--start", "mid"]);
    assert_eq!(mid.status, 0);
    assert_eq!(
        without_durations(&mid.stdout),
        "[mid] m\n[leaf] l\n2/2 tasks run in <duration>\n"
    );
    // 0.7 refused this start point although its sub-tree is self-contained.
    let quirk = run_in(
        dir.path(),
        &[&edge("subtree_quirk.factfile"), "--start", "s"],
    );
    assert_eq!(quirk.status, 0, "{}", quirk.transcript());
    assert!(quirk.stdout.contains("5/5 tasks run"));
    let refused = run_in(
        dir.path(),
        &[
            &sample("complex-diamond-dag.factfile"),
            "--start",
            "process-part-a",
        ],
    );
    assert_eq!(refused.status, 3);
    assert_eq!(
        refused.stdout,
        "The job cannot be started from 'process-part-a' because the job cannot be started here without triggering prior tasks\n"
    );
    let unknown = run_in(dir.path(), &[&sample("echo.factfile"), "--start", "nope"]);
    assert_eq!(unknown.status, 3);
    assert_eq!(
        unknown.stdout,
        "The job cannot be started from 'nope' because the task specified could not be found\n"
    );
}

#[test]
fn templates_take_env_and_tags_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let env = r#"{"name": "N", "cmdword": "X", "greeting": "a&b <c>", "raw": "R", "missing": "M"}"#;
    let run = run_in(dir.path(), &[&edge("templ.factfile"), "--env", env]);
    assert_eq!(run.status, 0, "{}", run.transcript());
    // The command is templated too (0.7 ran `echo {{cmdword}}`), and nothing is HTML-escaped.
    assert_eq!(
        without_durations(&run.stdout),
        "[task N] X a&b <c> R [M]\n1/1 tasks run in <duration>\n"
    );
    let tagged = run_in(
        dir.path(),
        &[
            &sample("echo-with-dynamic-name-from-tag.factfile"),
            "--tag",
            "env,prod",
        ],
    );
    assert_eq!(tagged.status, 0);
    assert!(
        tagged.stdout.starts_with("[echo alpha prod] alpha prod\n"),
        "{}",
        tagged.stdout
    );
    let missing = run_in(dir.path(), &[&sample("variables.factfile")]);
    assert_eq!(missing.status, 1);
    assert!(
        missing
            .stdout
            .contains("error[E302]: variable `message` has no value"),
        "{}",
        missing.stdout
    );
    assert!(missing.stderr.is_empty(), "nothing ran: {}", missing.stderr);
    let bad_env = run_in(
        dir.path(),
        &[&sample("variables.factfile"), "--env", "{\"message\": "],
    );
    assert_eq!(bad_env.status, 3);
    assert!(
        bad_env.stderr.contains("line 1 column 12"),
        "{}",
        bad_env.stderr
    );
}

#[test]
fn dry_run_prints_the_plan_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = job(
        dir.path(),
        "dry.factfile",
        &[
            T("second", "touch", &["ran-second"], &["first"]),
            T("first", "touch", &["ran first's file"], &[]),
        ],
    );
    let run = run_in(dir.path(), &[path.to_str().unwrap(), "--dry-run"]);
    assert_eq!(run.status, 0);
    assert_eq!(
        run.stdout,
        "Task 'first' would run: sh -c 'touch \"ran first'\\''s file\"'\n\
         Task 'second' would run: sh -c 'touch \"ran-second\"'\n\
         2/2 tasks would run; this was a dry run, nothing was started\n"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the factfile exists"
    );
}

/// A root defined after a child of another root starts with the first wave, before that
/// child: the dry run prints the order the real run starts tasks in.
#[test]
fn dry_run_prints_the_start_order_of_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = job(
        dir.path(),
        "waves.factfile",
        &[
            T("A", "true", &[], &[]),
            T("C", "true", &[], &["A"]),
            T("B", "true", &[], &[]),
        ],
    );
    let path = path.to_str().unwrap();
    let dry = run_in(dir.path(), &[path, "--dry-run"]);
    assert_eq!(dry.status, 0, "{}", dry.transcript());
    assert_eq!(
        dry.stdout,
        "Task 'A' would run: sh -c 'true '\n\
         Task 'B' would run: sh -c 'true '\n\
         Task 'C' would run: sh -c 'true '\n\
         3/3 tasks would run; this was a dry run, nothing was started\n"
    );
    let real = run_in(dir.path(), &[path]);
    assert_eq!(real.status, 0, "{}", real.transcript());
    let started: Vec<&str> = real
        .stderr
        .lines()
        .filter(|line| line.contains("was started"))
        .map(|line| &line["Task '".len().."Task 'X".len()])
        .collect();
    assert_eq!(started, ["A", "B", "C"], "{}", real.stderr);
}

#[test]
fn host_constraints() {
    let dir = tempfile::tempdir().unwrap();
    let path = job(
        dir.path(),
        "c.factfile",
        &[T("mark", "touch", &["ran"], &[])],
    );
    let path = path.to_str().unwrap();
    let ran = || dir.path().join("ran").exists();
    let hostname = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap();
    let address = if_addrs::get_if_addrs()
        .unwrap()
        .into_iter()
        .find(|interface| !interface.is_loopback())
        .expect("a non-loopback interface")
        .ip()
        .to_string();
    for matching in [
        "host,*".to_owned(),
        format!("host,{}", hostname.trim()),
        format!("host,{address}"),
    ] {
        let run = run_in(dir.path(), &[path, "--constraint", &matching]);
        assert_eq!(run.status, 0, "{matching}: {}", run.transcript());
        assert!(ran(), "{matching}");
        std::fs::remove_file(dir.path().join("ran")).unwrap();
    }
    for other in ["127.0.0.1", "localhost", "no-such-host.invalid"] {
        let run = run_in(
            dir.path(),
            &[path, "--constraint", &format!("host,{other}")],
        );
        assert_eq!(run.status, 0, "not this server is not an error");
        let warning = format!(
            "Warn: the specifed host constraint \"{other}\" did not match, no tasks have been executed. Reason: "
        );
        assert!(run.stdout.starts_with(&warning), "{}", run.stdout);
        assert!(!ran(), "{other}");
    }
    let missing_file = run_in(
        dir.path(),
        &["absent.factfile", "--constraint", "host,127.0.0.1"],
    );
    assert_eq!(
        missing_file.status, 0,
        "decided before the file is read, as in 0.7"
    );
    for malformed in ["hots,x", "host", "host,bad name"] {
        let run = run_in(dir.path(), &[path, "--constraint", malformed]);
        assert_eq!(run.status, 3, "{malformed}");
        assert!(!ran());
    }
}

#[test]
fn constraints_in_the_file_need_schema_1_1_0() {
    let dir = tempfile::tempdir().unwrap();
    let path = job(
        dir.path(),
        "c.factfile",
        &[T("mark", "touch", &["ran"], &[])],
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let old = text.replace(
        "\"name\": \"test job\"",
        "\"name\": \"test job\", \"constraints\": [\"host,127.0.0.1\"]",
    );
    std::fs::write(&path, &old).unwrap();
    let refused = run_in(dir.path(), &[path.to_str().unwrap()]);
    assert_eq!(refused.status, 1);
    assert!(
        refused
            .stdout
            .contains("error[E207]: `constraints` needs schema version 1-1-0 or later"),
        "{}",
        refused.stdout
    );
    let new = old.replace("1-0-0", "1-1-0");
    std::fs::write(&path, &new).unwrap();
    let skipped = run_in(dir.path(), &[path.to_str().unwrap()]);
    assert_eq!(skipped.status, 0);
    assert!(
        skipped
            .stdout
            .starts_with("Warn: the specifed host constraint \"127.0.0.1\" did not match"),
        "{}",
        skipped.stdout
    );
    assert!(!dir.path().join("ran").exists());
    std::fs::write(&path, new.replace("host,127.0.0.1", "host,*")).unwrap();
    assert_eq!(run_in(dir.path(), &[path.to_str().unwrap()]).status, 0);
    assert!(dir.path().join("ran").exists());
    std::fs::write(&path, new.replace("host,127.0.0.1", "hots,x")).unwrap();
    let bad = Test::in_dir(dir.path())
        .args(["check", "--format", "short"])
        .arg(&path)
        .run();
    assert_eq!(bad.status, 1);
    assert!(
        bad.stdout
            .contains("error[E500]: invalid constraint: unknown constraint type `hots`"),
        "{}",
        bad.stdout
    );
}

/// Whether a process exists (a zombie counts as gone).
pub(crate) fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

fn wait_for(path: &Path, lines: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(path).map_or(0, |text| text.lines().count()) < lines {
        assert!(Instant::now() < deadline, "tasks did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_stops_every_task_and_its_children_but_not_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let forks = "sleep 600 & echo $! >> pids; sleep 600 & echo $! >> pids; echo $$ >> pids; wait";
    let stubborn = "trap '' TERM; sleep 600 & echo $! >> pids; echo $$ >> pids; wait";
    let path = job(
        dir.path(),
        "long.factfile",
        &[
            T("forks", forks, &[], &[]),
            T("stubborn", stubborn, &[], &[]),
            T("after", "touch", &["after-ran"], &["forks"]),
        ],
    );
    // A calling shell in the same process group as factotum, as cron or a wrapper script is.
    // `stubborn` ignores SIGTERM and is killed when the grace period ends; 5 s of grace leave
    // `forks` ample time to die of its SIGTERM first, even on a loaded machine.
    let wrapper = format!(
        "'{}' run '{}' --grace 5 & echo $! > factotum.pid; wait $!; echo \"caller survived, factotum exited $?\"",
        env!("CARGO_BIN_EXE_factotum"),
        path.display()
    );
    let caller = Command::new("sh")
        .arg("-c")
        .arg(&wrapper)
        .current_dir(dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&dir.path().join("pids"), 5);
    let factotum: i32 = std::fs::read_to_string(dir.path().join("factotum.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(factotum).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let output = caller.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        output.status.success(),
        "the caller was not signalled: {stdout}{stderr}"
    );
    assert!(
        stdout.ends_with("caller survived, factotum exited 2\n"),
        "{stdout}"
    );
    assert!(stdout.contains("Received shutdown signal, terminating gracefully...\nTerminating 2 child process(es) gracefully...\n"), "{stdout}");
    assert!(
        stdout.contains("Force-killing 1 remaining process(es)..."),
        "the stubborn task needed SIGKILL: {stdout}"
    );
    assert!(
        stdout.contains("Factotum job was interrupted by SIGTERM"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the following tasks were not run: 'after'!"),
        "{stdout}"
    );
    assert!(!dir.path().join("after-ran").exists());
    let pids = std::fs::read_to_string(dir.path().join("pids")).unwrap();
    let survivors: Vec<&str> = pids
        .lines()
        .filter(|pid| alive(pid.parse().unwrap()))
        .collect();
    assert!(survivors.is_empty(), "survivors: {survivors:?}");
}

#[test]
fn huge_output_streams_through_whole() {
    let dir = tempfile::tempdir().unwrap();
    // 300 MB in 3,000,000 lines, then 5 MB on one line with no newline at all.
    let command = "yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456 | head -n 3000000; head -c 5000000 /dev/zero | tr '\\0' x";
    let path = job(dir.path(), "big.factfile", &[T("big", command, &[], &[])]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_factotum"))
        .args(["run", path.to_str().unwrap()])
        .current_dir(dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let (mut lines, mut bytes, mut long_pieces, mut long_bytes) = (0usize, 0usize, 0usize, 0usize);
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line).unwrap() > 0 {
        let Some(text) = line.strip_prefix(b"[big] ") else {
            assert!(
                line.starts_with(b"1/1 tasks run in "),
                "only the summary is factotum's own"
            );
            line.clear();
            continue;
        };
        if text.starts_with(b"x") {
            long_pieces += 1;
            long_bytes += text.len() - 1;
        } else if text.starts_with(b"0") {
            assert_eq!(text.len(), 98, "lines arrive whole");
            lines += 1;
            bytes += text.len();
        }
        line.clear();
    }
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!((lines, bytes), (3_000_000, 294_000_000));
    assert_eq!(
        long_bytes, 5_000_000,
        "the unterminated line is passed on whole, in pieces"
    );
    assert!(long_pieces > 1);
}
