//! The JSON Schema of factfiles (`schemas/factfile.schema.json`, which editors validate
//! `*.factfile` with) agrees with `factotum check`: every sample is valid, and every JSON file
//! of the tests is valid or not as factotum's own diagnostics say.
//!
//! A schema sees a parsed JSON value, so the codes it can stand for are the schema-level ones,
//! E200 to E208, less E202: a parsed object has already lost its duplicate keys (and E209, a
//! name declared twice, is a DSL's: JSON says it with a duplicate key). A file that
//! factotum cannot read as JSON at all (E0xx, E1xx) is no question for a schema; one whose only
//! such code is E202 cannot be judged either. Every other file must be rejected when it has a
//! schema-level code and accepted when it has none (lint codes E3xx to E5xx and warnings are
//! about meaning, which no schema sees).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::samples::samples_with_extension;
use crate::test::{Test, data_0_7, files_with_extension, manifest_dir};

/// The codes that the schema stands for.
const SCHEMA_CODES: [&str; 8] = [
    "E200", "E201", "E203", "E204", "E205", "E206", "E207", "E208",
];

fn validator() -> jsonschema::Validator {
    let path = manifest_dir().join("schemas/factfile.schema.json");
    let text = std::fs::read_to_string(&path).expect("schemas/factfile.schema.json is readable");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::draft7::meta::validate(&schema).expect("the schema is a valid draft-07 schema");
    jsonschema::draft7::new(&schema).expect("the schema compiles")
}

/// The schema's complaints about `file`, one line each; empty when it is valid.
fn schema_errors(validator: &jsonschema::Validator, file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).expect("a readable file");
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", file.display()));
    validator
        .iter_errors(&value)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

/// The codes `factotum check` reports for `file`.
fn check_codes(file: &Path) -> Vec<String> {
    let run = Test::new()
        .args(["check", "--format", "json"])
        .arg(file)
        .run();
    let diagnostics: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", run.transcript()));
    diagnostics
        .as_array()
        .expect("a list of diagnostics")
        .iter()
        .map(|diagnostic| diagnostic["code"].as_str().expect("a code").to_owned())
        .collect()
}

/// Every JSON file the tests hold: the fixtures of `check` and 0.7's own test files.
fn test_factfiles() -> Vec<PathBuf> {
    let mut files = files_with_extension(&manifest_dir().join("tests/fixtures/check"), "factfile");
    files.extend(files_with_extension(
        &data_0_7().join("edge-cases"),
        "factfile",
    ));
    files.extend(files_with_extension(
        &data_0_7().join("tests-resources"),
        "factfile",
    ));
    files
}

#[test]
fn every_sample_is_valid() {
    let validator = validator();
    let samples = samples_with_extension("factfile");
    assert!(samples.len() > 10, "samples: {samples:?}");
    for sample in samples {
        let errors = schema_errors(&validator, &sample);
        assert!(errors.is_empty(), "{}: {errors:#?}", sample.display());
    }
}

#[test]
fn the_schema_rejects_exactly_the_files_with_schema_level_codes() {
    let validator = validator();
    let (mut rejected, mut accepted) = (Vec::new(), 0);
    for file in test_factfiles() {
        let codes = check_codes(&file);
        let unreadable = codes
            .iter()
            .any(|code| code.starts_with("E0") || code.starts_with("E1"));
        let schema_level: Vec<&String> = codes
            .iter()
            .filter(|code| SCHEMA_CODES.contains(&code.as_str()))
            .collect();
        if unreadable || (schema_level.is_empty() && codes.iter().any(|code| code == "E202")) {
            continue;
        }
        let errors = schema_errors(&validator, &file);
        let name = file.file_name().expect("a file name").to_string_lossy();
        if schema_level.is_empty() {
            assert!(errors.is_empty(), "{name} ({codes:?}): {errors:#?}");
            accepted += 1;
        } else {
            assert!(
                !errors.is_empty(),
                "{name} has {schema_level:?}, the schema accepts it"
            );
            rejected.push(name.into_owned());
        }
    }
    // Each schema-level code has its fixture, and the lint fixtures are schema-valid.
    for code in SCHEMA_CODES {
        assert!(
            rejected.iter().any(|name| name.starts_with(code)),
            "no fixture for {code} was rejected: {rejected:?}"
        );
    }
    assert!(accepted >= 20, "only {accepted} files were accepted");
}

/// Where factotum draws the line for `constraints` (E207), the schema draws it too.
#[test]
fn constraints_need_schema_1_1_0_or_later_in_both() {
    let validator = validator();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let vendor = "iglu:com.snowplowanalytics.factotum/factfile/jsonschema";
    let versions = [
        "1-0-0", "1-0-9", "0-9-0", "01-00-5", "1-1-0", "1-1-7", "1-12-0", "2-0-0", "10-0-0",
        "01-01-0",
    ];
    for version in versions {
        let job = serde_json::json!({
            "schema": format!("{vendor}/{version}"),
            "data": {"name": "j", "constraints": [], "tasks": []}
        });
        let file = dir.path().join(format!("{version}.factfile"));
        std::fs::write(&file, job.to_string()).expect("a writable temporary file");
        let factotum_allows = !check_codes(&file).iter().any(|code| code == "E207");
        assert_eq!(
            validator.is_valid(&job),
            factotum_allows,
            "constraints with schema {version}: factotum allows them: {factotum_allows}"
        );
    }
}

/// Each key of the options needs schema 1-1-0 in factotum (E207) and in the schema alike: a
/// 1-0-0 file with it is refused by both, a 1-1-0 file accepted by both.
#[test]
fn options_need_schema_1_1_0_or_later_in_both() {
    let validator = validator();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let vendor = "iglu:com.snowplowanalytics.factotum/factfile/jsonschema";
    let task = |options: Value| {
        let mut task = serde_json::json!({
            "name": "a", "executor": "shell", "command": "true", "arguments": [],
            "dependsOn": [], "onResult": {"terminateJobWithSuccess": [], "continueJob": [0]}
        });
        for (key, value) in options.as_object().expect("options are an object") {
            task[key] = value.clone();
        }
        task
    };
    let plain = task(serde_json::json!({}));
    let pools = serde_json::json!({"warehouse": 2});
    let jobs = [
        (
            "the job's timeoutSeconds",
            serde_json::json!({"name": "j", "timeoutSeconds": 7200, "tasks": [plain]}),
        ),
        (
            "pools",
            serde_json::json!({"name": "j", "pools": pools, "tasks": [plain]}),
        ),
        (
            "retry",
            serde_json::json!({"name": "j", "tasks": [plain, task(serde_json::json!({
                "retry": {"attempts": 3, "delaySeconds": 1.5, "backoff": 2,
                          "maxDelaySeconds": 60, "onCodes": [1, 75]}
            }))]}),
        ),
        (
            "a task's timeoutSeconds",
            serde_json::json!({"name": "j", "tasks": [task(serde_json::json!({"timeoutSeconds": 30}))]}),
        ),
        (
            "env",
            serde_json::json!({"name": "j", "tasks": [task(serde_json::json!({"env": {"DAY": "{{ day }}"}}))]}),
        ),
        (
            "workingDirectory",
            serde_json::json!({"name": "j", "tasks": [task(serde_json::json!({"workingDirectory": "data"}))]}),
        ),
        (
            "pool",
            serde_json::json!({"name": "j", "pools": pools, "tasks": [task(serde_json::json!({"pool": "warehouse"}))]}),
        ),
    ];
    for version in ["1-0-0", "1-1-0"] {
        for (what, data) in &jobs {
            let job = serde_json::json!({"schema": format!("{vendor}/{version}"), "data": data});
            let file = dir.path().join("job.factfile");
            std::fs::write(&file, job.to_string()).expect("a writable temporary file");
            let codes = check_codes(&file);
            let schema_level: Vec<&String> = codes
                .iter()
                .filter(|code| SCHEMA_CODES.contains(&code.as_str()))
                .collect();
            // A 1-0-0 file gets E207 at each key of 1-1-0, and nothing else.
            assert_eq!(
                (
                    schema_level.is_empty(),
                    schema_level.iter().all(|code| *code == "E207")
                ),
                (version == "1-1-0", true),
                "{what} with schema {version}: {schema_level:?}"
            );
            assert_eq!(
                validator.is_valid(&job),
                version == "1-1-0",
                "{what} with schema {version}: {:#?}",
                validator
                    .iter_errors(&job)
                    .map(|error| error.to_string())
                    .collect::<Vec<_>>()
            );
        }
    }
}

/// The bounds of the options' numbers, each value just inside and just outside: the schema
/// accepts exactly those factotum accepts (E208 otherwise).
#[test]
fn option_bounds_are_the_same_in_both() {
    let validator = validator();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let task = |options: Value| {
        let mut task = serde_json::json!({
            "name": "a", "executor": "shell", "command": "true", "arguments": [],
            "dependsOn": [], "onResult": {"terminateJobWithSuccess": [], "continueJob": [0]},
            "pool": "p"
        });
        for (key, value) in options.as_object().expect("options are an object") {
            task[key] = value.clone();
        }
        task
    };
    let job = |job_timeout: Value, pool_size: Value, options: Value| {
        serde_json::json!({
            "schema": "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-1-0",
            "data": {"name": "j", "timeoutSeconds": job_timeout, "pools": {"p": pool_size},
                     "tasks": [task(options)]}
        })
    };
    let retry = |key: &str, value: Value| {
        let mut retry = serde_json::json!({"attempts": 2});
        retry[key] = value;
        serde_json::json!({ "retry": retry })
    };
    let defaults = || {
        (
            serde_json::json!(60),
            serde_json::json!(2),
            serde_json::json!({}),
        )
    };
    let mut cases = Vec::new();
    for value in [0.0, 0.001, 31_536_000.0, 31_536_000.5] {
        let (_, size, options) = defaults();
        cases.push((
            format!("job timeoutSeconds {value}"),
            job(value.into(), size, options),
        ));
        let (timeout, size, _) = defaults();
        let options = serde_json::json!({ "timeoutSeconds": value });
        cases.push((
            format!("task timeoutSeconds {value}"),
            job(timeout, size, options),
        ));
    }
    for value in [0, 1, 10_000, 10_001] {
        let (timeout, _, options) = defaults();
        cases.push((
            format!("pool size {value}"),
            job(timeout, value.into(), options),
        ));
    }
    for value in [0, 1, 100, 101] {
        let (timeout, size, _) = defaults();
        let options = serde_json::json!({"retry": {"attempts": value}});
        cases.push((format!("attempts {value}"), job(timeout, size, options)));
    }
    for key in ["delaySeconds", "maxDelaySeconds"] {
        for value in [-0.5, 0.0, 86_400.0, 86_400.5] {
            let (timeout, size, _) = defaults();
            let options = retry(key, value.into());
            cases.push((format!("{key} {value}"), job(timeout, size, options)));
        }
    }
    for value in [0.5, 1.0, 100.0, 100.5] {
        let (timeout, size, _) = defaults();
        let options = retry("backoff", value.into());
        cases.push((format!("backoff {value}"), job(timeout, size, options)));
    }
    let (timeout, size, _) = defaults();
    cases.push((
        "no onCodes".to_owned(),
        job(timeout, size, retry("onCodes", serde_json::json!([]))),
    ));
    let mut refused = 0;
    for (what, job) in cases {
        let file = dir.path().join("job.factfile");
        std::fs::write(&file, job.to_string()).expect("a writable temporary file");
        let codes = check_codes(&file);
        let factotum_allows = !codes
            .iter()
            .any(|code| SCHEMA_CODES.contains(&code.as_str()));
        assert_eq!(
            validator.is_valid(&job),
            factotum_allows,
            "{what}: {codes:?}"
        );
        refused += usize::from(!factotum_allows);
    }
    assert_eq!(
        refused, 15,
        "each bound is crossed once, and an empty `onCodes`"
    );
}
