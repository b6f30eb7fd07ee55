//! `factotum run` under faults: tasks that cannot start, signals of every kind, closed and
//! shared output pipes, dead webhook endpoints and out-of-range numbers on the command line.

use crate::test::{T, Test, job};

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
