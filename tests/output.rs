//! Standard output that cannot be written (a full device, a reader that has gone): reported
//! once on stderr, never a panic, and the command's own exit status kept (3 when only the
//! output failed). A reader that stopped early is no failure.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};

use crate::test::{T, job, manifest_dir};

/// Where the child's stdout goes.
enum Sink {
    /// `/dev/full`: every write fails with "no space left on device".
    Full,
    /// A pipe whose reader has exited: every write fails with a broken pipe.
    ClosedPipe,
}

/// The write end of a pipe whose read end is closed: `true` held it, and has exited.
fn closed_pipe() -> ChildStdin {
    let mut reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("`true` starts");
    let pipe = reader.stdin.take().expect("stdin is piped");
    reader.wait().expect("`true` ends");
    pipe
}

/// Runs factotum with `args` in `dir`, its stdout going to `sink`: exit status and stderr.
fn run(dir: &Path, args: &[&str], sink: &Sink) -> (i32, String) {
    let stdout = match sink {
        Sink::Full => Stdio::from(
            File::options()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full opens"),
        ),
        Sink::ClosedPipe => Stdio::from(closed_pipe()),
    };
    let output = Command::new(env!("CARGO_BIN_EXE_factotum"))
        .current_dir(dir)
        .env("XDG_STATE_HOME", dir)
        .args(args)
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("factotum runs");
    let stderr = String::from_utf8(output.stderr).expect("stderr is UTF-8");
    let status = output
        .status
        .code()
        .expect("factotum exits rather than being killed");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (status, stderr)
}

/// The jobs and files every case uses.
struct Files {
    dir: tempfile::TempDir,
    succeeds: PathBuf,
    fails: PathBuf,
    invalid: PathBuf,
    not_canonical: PathBuf,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let succeeds = job(
        dir.path(),
        "ok.factfile",
        &[T("a", "echo", &["hello"], &[]), T("b", "true", &[], &["a"])],
    );
    let fails = job(dir.path(), "fails.factfile", &[T("a", "false", &[], &[])]);
    let invalid = job(
        dir.path(),
        "invalid.factfile",
        &[T("a", "true", &[], &["nope"])],
    );
    let not_canonical = dir.path().join("messy.factotum");
    std::fs::write(
        &not_canonical,
        "job   \"j\"\ntask \"a\" {  run \"true\" }\n",
    )
    .unwrap();
    Files {
        dir,
        succeeds,
        fails,
        invalid,
        not_canonical,
    }
}

fn path(file: &Path) -> &str {
    file.to_str().unwrap()
}

#[test]
fn a_full_device_is_reported_once_and_keeps_the_exit_status() {
    let f = files();
    let no_space = "No space left on device";
    let cases: [(Vec<&str>, i32); 14] = [
        (vec!["run", path(&f.succeeds)], 3),
        (vec!["run", path(&f.fails)], 2),
        (vec!["run", path(&f.succeeds), "--dry-run"], 3),
        (vec!["check", path(&f.invalid)], 1),
        (vec!["validate", path(&f.invalid)], 1),
        (vec!["validate", path(&f.succeeds)], 3),
        (vec!["fmt", "--check", path(&f.not_canonical)], 1),
        (vec!["dot", path(&f.succeeds)], 3),
        (vec!["dot", path(&f.succeeds), "--format=mermaid"], 3),
        (vec!["tasks", path(&f.succeeds)], 3),
        (vec!["tasks", path(&f.succeeds), "--format=json"], 3),
        (vec!["man"], 3),
        (vec!["completions", "bash"], 3),
        (vec!["--version"], 3),
    ];
    for (args, expected) in cases {
        let (status, stderr) = run(f.dir.path(), &args, &Sink::Full);
        assert_eq!(status, expected, "{args:?}: {stderr}");
        assert_eq!(stderr.matches(no_space).count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn a_reader_that_has_gone_is_no_failure() {
    let f = files();
    let cases: [(Vec<&str>, i32); 11] = [
        (vec!["run", path(&f.succeeds)], 0),
        (vec!["run", path(&f.fails)], 2),
        (vec!["run", path(&f.succeeds), "--dry-run"], 0),
        (vec!["check", path(&f.invalid)], 1),
        (vec!["validate", path(&f.invalid)], 1),
        (vec!["validate", path(&f.succeeds)], 0),
        (vec!["fmt", "--check", path(&f.not_canonical)], 1),
        (vec!["dot", path(&f.succeeds)], 0),
        (vec!["tasks", path(&f.succeeds)], 0),
        (vec!["man"], 0),
        (vec!["--version"], 0),
    ];
    for (args, expected) in cases {
        let (status, stderr) = run(f.dir.path(), &args, &Sink::ClosedPipe);
        assert_eq!(status, expected, "{args:?}: {stderr}");
        assert!(!stderr.contains("cannot write"), "{args:?}: {stderr}");
    }
    // The tasks still ran, each line they printed lost without stopping them.
    let (_, stderr) = run(f.dir.path(), &["run", path(&f.succeeds)], &Sink::ClosedPipe);
    assert!(stderr.contains("Task 'b': succeeded"), "{stderr}");
}

#[test]
fn the_summary_says_when_every_other_task_ran() {
    let dir = tempfile::tempdir().unwrap();
    let leaf_fails = job(
        dir.path(),
        "leaf.factfile",
        &[T("a", "true", &[], &[]), T("b", "false", &[], &["a"])],
    );
    let run = crate::test::Test::in_dir(dir.path())
        .args(["run", path(&leaf_fails)])
        .run();
    assert_eq!(run.status, 2, "{}", run.transcript());
    assert!(
        run.stdout.ends_with(
            "Factotum job executed abnormally as a task ('b') failed - every other task was run!\n"
        ),
        "{}",
        run.stdout
    );
}

/// The README promises that only problems that change the job stop `fmt`: a constraint under
/// schema 1-0-0 (E207) keeps every word, so the file is formatted, and `check` reports it.
#[test]
fn fmt_formats_a_file_with_a_schema_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old-schema.factotum");
    let fixture = manifest_dir().join("tests/fixtures/dsl/E207-constraint-needs-1-1-0.factotum");
    std::fs::copy(&fixture, &file).unwrap();
    let check = crate::test::Test::in_dir(dir.path())
        .args(["check", "--format=short", path(&file)])
        .run();
    assert!(check.stdout.contains("[E207]"), "{}", check.transcript());
    let formatted = crate::test::Test::in_dir(dir.path())
        .args(["fmt", path(&file)])
        .run();
    assert_eq!(formatted.status, 0, "{}", formatted.transcript());
    let again = crate::test::Test::in_dir(dir.path())
        .args(["fmt", "--check", path(&file)])
        .run();
    assert_eq!(again.transcript(), "exit: 0\n--- stdout\n--- stderr\n");
}
