//! Snapshots of what `check` prints for each fixture under `tests/fixtures/check` (JSON) and
//! `tests/fixtures/dsl` (the DSL): every diagnostic code has one, in both the human and the
//! short format.
//!
//! A fixture `NAME.factfile` or `NAME.factotum` may have `NAME.args` beside it: extra
//! arguments, one per line. To add a case, add the file and run `cargo insta test --review`
//! (or `cargo test` and then `cargo insta review`).

use std::path::Path;

use crate::test::Test;

/// The extra arguments in `NAME.args` beside the fixture `NAME.factfile`, one per line.
pub(crate) fn fixture_args(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path.with_extension("args"))
        .map(|text| text.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// What `check` prints for the fixture at `path`, in the human and the short format.
fn human_and_short(path: &Path) -> String {
    let dir = path.parent().expect("a folder");
    let name = path.file_name().expect("a file name");
    let extra = fixture_args(path);
    let human = Test::in_dir(dir)
        .args(["check", "--no-colour"])
        .args(&extra)
        .arg(name)
        .run();
    let short = Test::in_dir(dir)
        .args(["check", "--format", "short"])
        .args(&extra)
        .arg(name)
        .run();
    format!("{}\n=== short\n{}", human.transcript(), short.transcript())
}

#[test]
fn every_fixture_human_and_short() {
    insta::glob!("fixtures/check/*.factfile", |path| {
        insta::assert_snapshot!(human_and_short(path));
    });
}

#[test]
fn every_dsl_fixture_human_and_short() {
    insta::glob!("fixtures/dsl/*.factotum", |path| {
        insta::assert_snapshot!(human_and_short(path));
    });
}

/// E001 has no fixture file: the problem is that there is none.
#[test]
fn unreadable_files() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir(dir.path().join("a-folder.factfile")).expect("a folder");
    let human = Test::in_dir(dir.path())
        .args([
            "check",
            "--no-colour",
            "missing.factfile",
            "a-folder.factfile",
        ])
        .run();
    let short = Test::in_dir(dir.path())
        .args([
            "check",
            "--format",
            "short",
            "missing.factfile",
            "a-folder.factfile",
        ])
        .run();
    insta::assert_snapshot!(format!(
        "{}\n=== short\n{}",
        human.transcript(),
        short.transcript()
    ));
}
