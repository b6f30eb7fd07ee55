//! The samples are documentation a newcomer runs first: every one must pass `check`, the DSL
//! ones must be in `fmt` form, every one converts both ways without loss, and the quick ones
//! run as `samples/factotum-0.7/README.md` says.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::test::{Run, Test, files_with_extension, manifest_dir};

/// The files of `dir` (relative to the crate) whose extension is `extension`, sorted.
fn files(dir: &str, extension: &str) -> Vec<PathBuf> {
    files_with_extension(&manifest_dir().join(dir), extension)
}

/// Every sample of `extension`, in `samples/` and `samples/factotum-0.7/`.
pub(crate) fn samples_with_extension(extension: &str) -> Vec<PathBuf> {
    let mut samples = files("samples", extension);
    samples.extend(files("samples/factotum-0.7", extension));
    samples
}

/// Every sample: the factfiles, then the DSL files.
pub(crate) fn samples() -> Vec<PathBuf> {
    let mut all = samples_with_extension("factfile");
    all.extend(samples_with_extension("factotum"));
    all
}

/// A value for every variable any sample uses (`--env`), with [`SAMPLE_TAG`] for the one that
/// takes its value from a tag.
pub(crate) const SAMPLE_VALUES: &str =
    r#"{"day": "d", "message": "m", "nested": {"message": "n"}, "blank": "", "env": "e"}"#;

/// The tag (`--tag`) of the sample that names its tasks after one.
pub(crate) const SAMPLE_TAG: &str = "env,t";

fn convert(from: &str, to: &str) -> Run {
    let run = Test::new()
        .args(["convert", "-", "--to", to])
        .stdin(from)
        .run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    run
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

/// JSON → DSL → JSON gives the same JSON value, and the DSL in between is in `fmt` form and
/// is shorter.
pub(crate) fn assert_lossless_json(file: &Path) {
    let original = std::fs::read_to_string(file).expect("a readable file");
    let dsl = convert(&original, "dsl").stdout;
    let back = convert(&dsl, "json").stdout;
    assert_eq!(json(&back), json(&original), "{}", file.display());
    let fmt = Test::new()
        .args(["fmt", "--check", "-"])
        .stdin(dsl.as_str())
        .run();
    assert_eq!(fmt.status, 0, "{}: {dsl}", file.display());
    assert!(dsl.len() < original.len(), "{}", file.display());
}

/// DSL → JSON → DSL gives the `fmt` form without the comments, which JSON cannot carry.
pub(crate) fn assert_lossless_dsl(file: &Path) {
    let original = std::fs::read_to_string(file).expect("a readable file");
    let to_json = convert(&original, "json");
    let back = convert(&to_json.stdout, "dsl").stdout;
    let source = factotum::source::Source::new(file.display().to_string(), original.as_str());
    let parsed = factotum::syntax::parse(&source);
    let job = parsed.job.expect("a job");
    assert_eq!(
        back,
        factotum::render::dsl::print(&job, &[]),
        "{}",
        file.display()
    );
    if !parsed.comments.is_empty() {
        assert!(to_json.stderr.starts_with("warning: JSON has no comments"));
    }
}

#[test]
fn every_sample_converts_both_ways_without_loss() {
    let dsl = samples_with_extension("factotum");
    let factfiles = samples_with_extension("factfile");
    assert!(dsl.len() >= 14 && dsl.len() == factfiles.len());
    for file in &factfiles {
        assert_lossless_json(file);
    }
    for file in &dsl {
        assert_lossless_dsl(file);
        // Each DSL sample says exactly what its JSON twin says.
        let twin = file.with_extension("factfile");
        let from_dsl = Test::new()
            .arg("convert")
            .arg(file)
            .args(["--to", "json"])
            .run();
        let expected = std::fs::read_to_string(&twin).expect("a JSON twin");
        assert_eq!(
            json(&from_dsl.stdout),
            json(&expected),
            "{}",
            file.display()
        );
    }
}

#[test]
fn dsl_samples_are_in_fmt_form() {
    let run = Test::new()
        .args(["fmt", "--check"])
        .args(samples_with_extension("factotum"))
        .run();
    assert_eq!(run.transcript(), "exit: 0\n--- stdout\n--- stderr\n");
}

#[test]
fn every_sample_passes_check() {
    let all = samples();
    assert!(all.len() >= 28);
    let run = Test::new()
        .args(["check", "--deny-warnings"])
        .args(&all)
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
            "samples/nightly-warehouse.factotum",
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

/// Each DSL sample plans exactly the commands of its JSON twin, and draws the same graph.
#[test]
fn dsl_samples_run_and_draw_like_their_json_twins() {
    let dsl = samples_with_extension("factotum");
    assert!(dsl.len() >= 14, "{dsl:?}");
    for dsl in dsl {
        let json = dsl.with_extension("factfile");
        let outputs: Vec<(String, String)> = [&dsl, &json]
            .iter()
            .map(|file| {
                let plan = Test::new()
                    .arg("run")
                    .arg(file)
                    .args(["--dry-run", "--env", SAMPLE_VALUES, "--tag", SAMPLE_TAG])
                    .run();
                assert_eq!(plan.status, 0, "{}", plan.transcript());
                let drawing = Test::new().arg("dot").arg(file).run();
                assert_eq!(drawing.status, 0, "{}", drawing.transcript());
                (plan.stdout, drawing.stdout)
            })
            .collect();
        assert!(outputs[0].0.contains("sh -c"), "{}", outputs[0].0);
        assert_eq!(outputs[0], outputs[1], "{}", dsl.display());
    }
}
