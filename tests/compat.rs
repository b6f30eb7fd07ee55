//! Every file Factotum 0.7 ships gets the verdict 0.7 gives, and the edge cases that made 0.7
//! panic (exit 101) now get diagnostics.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::test::{Test, data_0_7, files_with_extension, samples_0_7};

/// The diagnostic codes `check` reports for a file, in order.
fn codes(path: &std::path::Path) -> (i32, Vec<String>) {
    let run = Test::new()
        .args(["check", "--format", "json"])
        .arg(path)
        .run();
    let problems: Value = serde_json::from_str(&run.stdout).expect("JSON output");
    let codes = problems
        .as_array()
        .expect("an array")
        .iter()
        .map(|p| p["code"].as_str().expect("a code").to_owned())
        .collect();
    (run.status, codes)
}

#[test]
fn samples_and_example_ok_are_valid() {
    let mut files = files_with_extension(&samples_0_7(), "factfile");
    files.push(data_0_7().join("tests-resources/example_ok.factfile"));
    assert!(files.len() >= 14);
    for file in files {
        assert_eq!(codes(&file), (0, vec![]), "{}", file.display());
        let run = Test::new().arg("validate").arg(&file).run();
        assert_eq!(run.status, 0);
        assert_eq!(
            run.stdout,
            format!("'{}' is a valid Factfile!\n", file.display())
        );
    }
}

#[test]
fn invalid_test_resources_are_rejected_like_0_7() {
    for (file, expected) in [
        ("example_invalid_no_continue.factfile", "E404"),
        ("example_invalid_no_name.factfile", "E200"),
        ("example_invalid_terminate_continue_same.factfile", "E405"),
        ("example_wrong_type.factfile", "E203"),
        ("invalid_json.factfile", "E100"),
    ] {
        let path = data_0_7().join("tests-resources").join(file);
        assert_eq!(codes(&path), (1, vec![expected.to_owned()]), "{file}");
        assert_eq!(
            Test::new().arg("validate").arg(&path).run().status,
            1,
            "{file}"
        );
    }
}

#[test]
fn edge_cases_get_diagnostics_not_panics() {
    let expected: &[(&str, &[&str])] = &[
        ("bad_schema_uri", &["E206"]),
        ("big_code", &["E205"]),
        ("bigout", &[]),
        ("both_continue_term", &[]),
        ("dup", &["E400"]),
        ("dupdeps", &["W400", "W401"]),
        ("empty_tasks", &[]),
        ("env_os", &[]),
        ("exitcodes", &[]),
        ("extra_field", &["E201"]),
        ("forward_dep", &[]),
        ("killed", &[]),
        ("missing_args", &["E200"]),
        ("mustache_bad", &["E301"]),
        ("neg_code", &["E205"]),
        ("noargs", &[]),
        ("other_executor", &["W401"]),
        ("other_schema", &[]),
        ("quote_name", &[]),
        ("quoting", &[]),
        ("sections", &["E301"]),
        ("self_dep", &["E402"]),
        ("startmid", &[]),
        ("subtree_quirk", &[]),
        ("templ", &[]),
        ("tier", &[]),
        ("unknown_dep", &["E401"]),
    ];
    let on_disk: BTreeSet<String> = std::fs::read_dir(data_0_7().join("edge-cases"))
        .unwrap()
        .map(|entry| {
            entry
                .unwrap()
                .file_name()
                .to_string_lossy()
                .replace(".factfile", "")
        })
        .collect();
    let listed: BTreeSet<String> = expected
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    assert_eq!(on_disk, listed, "every edge case has an expected verdict");
    for (name, want) in expected {
        let path = data_0_7().join(format!("edge-cases/{name}.factfile"));
        let (status, found) = codes(&path);
        let found: BTreeSet<String> = found.into_iter().collect();
        let want: BTreeSet<String> = want.iter().map(|c| (*c).to_owned()).collect();
        assert_eq!(found, want, "{name}");
        let errors = want.iter().any(|c| c.starts_with('E'));
        assert_eq!(status, i32::from(errors), "{name}");
    }
}
