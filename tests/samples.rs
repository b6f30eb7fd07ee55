//! The samples are documentation a newcomer runs first: every one must pass `check`.

use crate::test::{Test, manifest_dir};

#[test]
fn every_sample_passes_check_with_its_variables() {
    let samples: Vec<_> = std::fs::read_dir(manifest_dir().join("samples"))
        .expect("samples/ exists")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    assert!(!samples.is_empty());
    let run = Test::new()
        .args([
            "check",
            "--deny-warnings",
            "--env",
            r#"{"day": "2026-11-28"}"#,
        ])
        .args(&samples)
        .run();
    assert_eq!(run.transcript(), "exit: 0\n--- stdout\n--- stderr\n");
}
