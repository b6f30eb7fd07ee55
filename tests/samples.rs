//! The samples are documentation a newcomer runs first: every one must pass `check`, and the
//! quick ones run as `samples/factotum-0.7/README.md` says.

use std::path::PathBuf;

use crate::test::{Test, manifest_dir};

fn factfiles(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(manifest_dir().join(dir))
        .expect("the samples folder exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "factfile"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_sample_passes_check() {
    let mut samples = factfiles("samples");
    samples.extend(factfiles("samples/factotum-0.7"));
    assert!(samples.len() >= 14);
    let run = Test::new()
        .args(["check", "--deny-warnings"])
        .args(&samples)
        .run();
    assert_eq!(run.transcript(), "exit: 0\n--- stdout\n--- stderr\n");
}

#[test]
fn samples_run_with_the_values_their_readme_gives() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "samples/nightly-warehouse.factfile",
            &["--env", r#"{"day": "2026-11-28"}"#],
            "[notify] done: 2026-11-28\n",
        ),
        (
            "samples/factotum-0.7/variables.factfile",
            &["--env", r#"{"message": "hello"}"#],
            "[Say something] hello\n",
        ),
        (
            "samples/factotum-0.7/echo-with-variables.factfile",
            &[
                "--env",
                r#"{"message": "hi", "nested": {"message": "hello"}, "blank": ""}"#,
            ],
            "hello",
        ),
        (
            "samples/factotum-0.7/echo-with-dynamic-name.factfile",
            &["--env", r#"{"env": "dev"}"#],
            "[echo alpha dev] alpha dev\n",
        ),
        (
            "samples/factotum-0.7/echo-with-dynamic-name-from-tag.factfile",
            &["--tag", "env,dev"],
            "[echo alpha dev] alpha dev\n",
        ),
    ];
    for (file, args, expected) in cases {
        let run = Test::new().arg("run").arg(file).args(*args).run();
        assert_eq!(run.status, 0, "{file}: {}", run.transcript());
        assert!(run.stdout.contains(expected), "{file}: {}", run.stdout);
    }
    let failing = Test::new()
        .args(["run", "samples/factotum-0.7/multi-failure-cascade.factfile"])
        .run();
    assert_eq!(failing.status, 2);
    assert!(
        failing.stdout.ends_with(
            "Factotum job executed abnormally as a task ('delayed-fail', 'quick-fail') failed - the following tasks were not run: 'depends-on-delayed-fail', 'depends-on-quick-fail', 'final-task'!\n"
        ),
        "{}",
        failing.stdout
    );
}
