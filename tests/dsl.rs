//! The DSL through the real binary: `fmt`, `convert`, and `run`, `check` and `validate` on
//! `.factotum` files. Outputs a human reads are snapshots.

use std::path::Path;

use crate::test::{
    Test, data_0_7, files_with_extension, manifest_dir, samples_0_7, without_durations,
};

const OK: &str = "tests/fixtures/dsl/ok-every-feature.factotum";
const SYNTAX_ERROR: &str = "tests/fixtures/dsl/E600-task-name-expected.factotum";
const UNFORMATTED: &str = "tests/fixtures/fmt/out-of-order.factotum";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("a readable file")
}

#[test]
fn fmt_snapshots() {
    insta::glob!("fixtures/fmt/*.factotum", |path| {
        let run = Test::new().args(["fmt", "-"]).stdin(read(path)).run();
        assert_eq!(run.status, 0, "{}", run.transcript());
        let again = Test::new()
            .args(["fmt", "-"])
            .stdin(run.stdout.clone())
            .run();
        assert_eq!(again.stdout, run.stdout, "fmt is not idempotent");
        insta::assert_snapshot!(run.transcript());
    });
}

#[test]
fn convert_snapshots() {
    for (name, file, to) in [
        (
            "json-to-dsl",
            "tests/fixtures/check/ok-every-feature.factfile",
            "dsl",
        ),
        (
            "json-with-constraints-to-dsl",
            "tests/fixtures/check/ok-constraints.factfile",
            "dsl",
        ),
        ("dsl-to-json", OK, "json"),
        (
            "dsl-options-to-json",
            "tests/fixtures/dsl/ok-options.factotum",
            "json",
        ),
        (
            "json-options-to-dsl",
            "tests/fixtures/check/ok-options.factfile",
            "dsl",
        ),
        (
            "dsl-comments-to-json",
            "tests/fixtures/fmt/comments.factotum",
            "json",
        ),
    ] {
        let run = Test::new().args(["convert", file, "--to", to]).run();
        insta::assert_snapshot!(name, run.transcript());
    }
}

/// docs/dsl.md: `fmt` writes invisible characters and those that reorder text as `\u{…}`, the
/// same set a Mermaid label shows by number (zero-width ones, the byte order mark, the line
/// separator and the bidirectional controls).
#[test]
fn fmt_shows_invisible_characters_by_number() {
    let hidden = ["200B", "200E", "2028", "202E", "2060", "2067", "FEFF"];
    let name = hidden.map(|code| format!("x\\u{{{code}}}")).concat();
    let source = format!("job \"j\"\n\ntask \"{name}\" {{ run \"true\" }}\n");
    let run = Test::new().args(["fmt", "-"]).stdin(source.clone()).run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert_eq!(run.stdout, source);
}

#[test]
fn fmt_check_lists_what_differs_and_changes_nothing() {
    let before = read(&manifest_dir().join(UNFORMATTED));
    let run = Test::new().args(["fmt", "--check", OK, UNFORMATTED]).run();
    assert_eq!(run.status, 1, "{}", run.transcript());
    assert_eq!(run.stdout, format!("{UNFORMATTED}\n"));
    assert_eq!(read(&manifest_dir().join(UNFORMATTED)), before);
    let clean = Test::new().args(["fmt", "--check", OK]).run();
    assert_eq!(clean.transcript(), "exit: 0\n--- stdout\n--- stderr\n");
    let stdin = Test::new()
        .args(["fmt", "--check", "-"])
        .stdin(before)
        .run();
    assert_eq!((stdin.status, stdin.stdout.as_str()), (1, "<stdin>\n"));
}

#[test]
fn fmt_rewrites_files_in_place() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("job.factotum");
    std::fs::copy(manifest_dir().join(UNFORMATTED), &path).expect("a copy");
    let run = Test::in_dir(dir.path()).args(["fmt", "job.factotum"]).run();
    assert_eq!(run.transcript(), "exit: 0\n--- stdout\n--- stderr\n");
    let formatted = read(&path);
    let expected = Test::new()
        .args(["fmt"])
        .stdin(read(&manifest_dir().join(UNFORMATTED)))
        .run();
    assert_eq!(formatted, expected.stdout, "no FILES reads standard input");
    let check = Test::in_dir(dir.path())
        .args(["fmt", "--check", "job.factotum"])
        .run();
    assert_eq!(check.status, 0);
}

#[test]
fn fmt_refuses_json_and_broken_files() {
    let json = Test::new()
        .args(["fmt", "tests/fixtures/check/ok-every-feature.factfile"])
        .run();
    assert_eq!(json.status, 1);
    assert_eq!(
        json.stderr,
        "error: `tests/fixtures/check/ok-every-feature.factfile` is a JSON factfile; `fmt` formats DSL files (`factotum convert tests/fixtures/check/ok-every-feature.factfile --to dsl` writes one)\n"
    );
    let broken = Test::new().args(["fmt", "--no-colour", SYNTAX_ERROR]).run();
    assert_eq!(broken.status, 1);
    assert!(broken.stdout.is_empty(), "{}", broken.transcript());
    assert!(
        broken
            .stderr
            .starts_with("error[E600]: expected a task name in quotes, found `{`"),
        "{}",
        broken.stderr
    );
    // Problems that leave every word of the job in place do not stop fmt.
    let cycle = Test::new()
        .args(["fmt", "--check", "tests/fixtures/dsl/E403-cycle.factotum"])
        .run();
    assert_eq!(cycle.transcript(), "exit: 0\n--- stdout\n--- stderr\n");
}

/// `--list` names each file rewritten, and only those; `--skip-invalid` leaves a file with a
/// syntax error alone without a word (for when `check` reports it), but still refuses JSON.
#[test]
fn fmt_lists_what_it_rewrote_and_can_leave_broken_files_to_check() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (name, from) in [
        ("messy.factotum", UNFORMATTED),
        ("tidy.factotum", OK),
        ("broken.factotum", SYNTAX_ERROR),
    ] {
        std::fs::copy(manifest_dir().join(from), dir.path().join(name)).expect("a copy");
    }
    let broken_before = read(&dir.path().join("broken.factotum"));
    let run = Test::in_dir(dir.path())
        .args([
            "fmt",
            "--list",
            "--skip-invalid",
            "tidy.factotum",
            "broken.factotum",
            "messy.factotum",
        ])
        .run();
    assert_eq!(
        run.transcript(),
        "exit: 0\n--- stdout\nmessy.factotum\n--- stderr\n"
    );
    assert_eq!(read(&dir.path().join("broken.factotum")), broken_before);
    let again = Test::in_dir(dir.path())
        .args(["fmt", "-l", "messy.factotum", "tidy.factotum"])
        .run();
    assert_eq!(
        again.transcript(),
        "exit: 0\n--- stdout\n--- stderr\n",
        "nothing left to rewrite"
    );
    let without_skip = Test::in_dir(dir.path())
        .args(["fmt", "--list", "--no-colour", "broken.factotum"])
        .run();
    assert_eq!(without_skip.status, 1);
    assert!(
        without_skip.stderr.starts_with("error[E600]"),
        "{}",
        without_skip.transcript()
    );
    let json = Test::new()
        .args([
            "fmt",
            "--skip-invalid",
            "tests/fixtures/check/ok-every-feature.factfile",
        ])
        .run();
    assert_eq!(json.status, 1, "a JSON factfile is not a syntax error");
}

#[test]
fn convert_writes_files_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().join("job.factfile");
    let ok = manifest_dir().join(OK);
    let run = Test::new()
        .arg("convert")
        .arg(&ok)
        .args(["--to", "json", "-o"])
        .arg(&out)
        .run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert!(run.stdout.is_empty());
    assert_eq!(
        run.stderr,
        format!(
            "warning: JSON has no comments: 2 comments of `{}` were left out\n",
            ok.display()
        )
    );
    let again = Test::new()
        .arg("convert")
        .arg(&ok)
        .args(["--to", "json", "-o"])
        .arg(&out)
        .run();
    assert_eq!(again.status, 3);
    assert!(
        again
            .stderr
            .ends_with("already exists; add `--overwrite` to replace it\n")
    );
    let forced = Test::new()
        .arg("convert")
        .arg(&ok)
        .args(["--to", "json", "--overwrite", "-o"])
        .arg(&out)
        .run();
    assert_eq!(forced.status, 0, "{}", forced.transcript());
    assert!(read(&out).starts_with("{\n    \"schema\": \"iglu:com.acme/"));
    let broken = Test::new()
        .args(["convert", SYNTAX_ERROR, "--to", "json"])
        .run();
    assert_eq!(broken.status, 1);
    assert!(broken.stdout.is_empty());
}

#[test]
fn convert_reads_standard_input_of_either_format() {
    let dsl = "job \"j\"\n\ntask \"t\" { run \"echo\" }\n";
    let json = Test::new()
        .args(["convert", "-", "--to", "json"])
        .stdin(dsl)
        .run();
    assert_eq!(json.status, 0, "{}", json.transcript());
    let back = Test::new()
        .args(["convert", "-", "--to", "dsl"])
        .stdin(json.stdout)
        .run();
    assert_eq!(back.stdout, dsl);
}

#[test]
fn run_check_and_validate_take_dsl_files() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let job = dir.path().join("job.factotum");
    std::fs::write(
        &job,
        "job \"hello\"\ntask \"greet\" { run \"echo\" with \"hello {{ who }}\" }\ntask \"after\" {\n    after \"greet\"\n    run \"echo\" with \"done\"\n}\n",
    )
    .expect("a job file");
    let run = Test::in_dir(dir.path())
        .args([
            "run",
            "job.factotum",
            "--env",
            r#"{"who": "world"}"#,
            "--no-colour",
        ])
        .run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert_eq!(
        without_durations(&run.stdout),
        "[greet] hello world\n[after] done\n2/2 tasks run in <duration>\n"
    );
    let validate = Test::in_dir(dir.path())
        .args(["validate", "job.factotum"])
        .run();
    assert_eq!(validate.stdout, "'job.factotum' is a valid Factfile!\n");
    let check = Test::new()
        .args(["check", "--format", "short", SYNTAX_ERROR])
        .run();
    assert_eq!(
        check.stdout,
        format!("{SYNTAX_ERROR}:3:6: error[E600]: expected a task name in quotes, found `{{`\n")
    );
}

#[test]
fn files_without_a_known_extension_are_judged_by_their_first_character() {
    let json = Test::new()
        .args(["check", "-"])
        .stdin(read(
            &manifest_dir().join("tests/fixtures/check/ok-every-feature.factfile"),
        ))
        .run();
    assert_eq!(json.status, 0, "{}", json.transcript());
    let dsl = Test::new()
        .args(["check", "-"])
        .stdin(read(&manifest_dir().join(OK)))
        .run();
    assert_eq!(dsl.status, 0, "{}", dsl.transcript());
}

/// Factotum 0.7's own files convert to the DSL and back to the same JSON value.
#[test]
fn factotum_0_7_files_convert_both_ways() {
    let mut files = files_with_extension(&samples_0_7(), "factfile");
    files.push(data_0_7().join("tests-resources/example_ok.factfile"));
    files.sort();
    assert!(files.len() >= 14);
    for file in files {
        crate::samples::assert_lossless_json(&file);
    }
}

/// The task options and the job's time limit and pools survive conversion both ways, and a
/// job that uses none of them stays 1-0-0, which Factotum 0.7 runs.
#[test]
fn options_convert_both_ways_and_need_schema_1_1_0() {
    crate::samples::assert_lossless_json(
        &manifest_dir().join("tests/fixtures/check/ok-options.factfile"),
    );
    crate::samples::assert_lossless_dsl(
        &manifest_dir().join("tests/fixtures/dsl/ok-options.factotum"),
    );
    for (text, schema) in [
        ("job \"j\"\ntask \"t\" { run \"x\" }\n", "1-0-0"),
        ("job \"j\"\ntask \"t\" { run \"x\" timeout 1s }\n", "1-1-0"),
        ("job \"j\"\ntimeout 1h\ntask \"t\" { run \"x\" }\n", "1-1-0"),
        (
            "job \"j\"\npool \"p\" size 1\ntask \"t\" { run \"x\" }\n",
            "1-1-0",
        ),
    ] {
        let run = Test::new()
            .args(["convert", "-", "--to", "json"])
            .stdin(text)
            .run();
        assert_eq!(run.status, 0, "{}", run.transcript());
        assert!(
            run.stdout.contains(&format!("jsonschema/{schema}\"")),
            "{text} gave {}",
            run.stdout
        );
    }
}

/// The names in `dir`, sorted: a leftover temporary file shows here.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a readable folder")
        .map(|entry| {
            let entry = entry.expect("a directory entry");
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    names
}

/// `fmt` replaces a file whole or not at all: a file-size limit hit mid-write leaves the file
/// as it was (it used to keep the first 4 KiB), and a rewrite keeps the file's permissions.
#[test]
fn fmt_replaces_a_file_whole_or_not_at_all() {
    use std::fmt::Write as _;
    use std::os::unix::fs::PermissionsExt as _;

    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut messy = String::from("job \"big\"\n");
    for i in 0..200 {
        writeln!(
            messy,
            "task \"t{i}\" {{ run \"echo\" with \"task number {i}\" }}"
        )
        .expect("a String takes text");
    }
    assert!(messy.len() > 9000, "{}", messy.len());
    let path = dir.path().join("big.factotum");
    std::fs::write(&path, &messy).expect("a job file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("permissions");

    let limited = std::process::Command::new("sh")
        .args(["-c", "ulimit -f 4; exec \"$0\" fmt big.factotum"])
        .arg(env!("CARGO_BIN_EXE_factotum"))
        .current_dir(dir.path())
        .output()
        .expect("sh starts");
    let stderr = String::from_utf8_lossy(&limited.stderr);
    assert_eq!(limited.status.code(), Some(3), "{stderr}");
    assert_eq!(
        stderr,
        "error: cannot write `big.factotum`: File too large (os error 27)\n"
    );
    assert_eq!(std::fs::read_to_string(&path).expect("the job"), messy);
    assert_eq!(names_in(dir.path()), ["big.factotum"], "no leftover");

    let run = Test::in_dir(dir.path()).args(["fmt", "big.factotum"]).run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    let formatted = std::fs::read_to_string(&path).expect("the job");
    assert!(formatted.len() > messy.len(), "rewritten in the long form");
    let check = Test::in_dir(dir.path())
        .args(["fmt", "--check", "big.factotum"])
        .run();
    assert_eq!(check.status, 0, "{}", check.transcript());
    let mode = std::fs::metadata(&path)
        .expect("the job")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640, "permissions kept");

    let refused = Test::in_dir(dir.path())
        .args([
            "convert",
            "big.factotum",
            "--to",
            "json",
            "-o",
            "big.factotum",
        ])
        .run();
    assert_eq!(refused.status, 3, "{}", refused.transcript());
    assert_eq!(
        refused.stderr,
        "error: `big.factotum` already exists; add `--overwrite` to replace it\n"
    );
    assert_eq!(std::fs::read_to_string(&path).expect("the job"), formatted);
    assert_eq!(names_in(dir.path()), ["big.factotum"], "no leftover");
}

/// After a syntax error the rest of the file is still read: every syntax error is reported, with
/// the problems of the tasks that parsed, and such a job is never run.
#[test]
fn every_syntax_error_is_reported_and_the_job_never_runs() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let job = "job \"j\"\n\
               task \"first\" { run \"touch ran\" }\n\
               task { run \"touch ran\" }\n\
               task \"second\" { run \"touch ran\" continue on 70000 }\n\
               task \"third\" { run \"touch ran\" finish 3 }\n";
    std::fs::write(dir.path().join("job.factotum"), job).expect("a writable folder");
    let check = Test::in_dir(dir.path())
        .args(["check", "--format", "short", "job.factotum"])
        .run();
    assert_eq!(check.status, 1, "{}", check.transcript());
    assert_eq!(
        check.stdout,
        "job.factotum:3:6: error[E600]: expected a task name in quotes, found `{`\n\
         job.factotum:4:45: error[E205]: exit code `70000` is out of range: codes are 0 to 32767\n\
         job.factotum:5:39: error[E600]: expected `on`, found `3`\n"
    );
    let run = Test::in_dir(dir.path()).args(["run", "job.factotum"]).run();
    assert_eq!(run.status, 1, "{}", run.transcript());
    assert!(!dir.path().join("ran").exists(), "{}", run.transcript());
}

/// A 1-1-0 factfile keeps its `constraints` key as it was (empty, absent or not empty) through
/// `convert` to either format; an empty one is the DSL's `constraint none`.
#[test]
fn an_empty_constraints_list_survives_convert() {
    let convert = |text: &str, to: &str| {
        let run = Test::new()
            .args(["convert", "-", "--to", to])
            .stdin(text)
            .run();
        assert_eq!(run.status, 0, "{}", run.transcript());
        run.stdout
    };
    let value = |text: &str| -> serde_json::Value {
        serde_json::from_str(text).expect("convert writes JSON")
    };
    let task = r#"{"name": "t", "executor": "shell", "command": "true", "arguments": [], "dependsOn": [], "onResult": {"terminateJobWithSuccess": [], "continueJob": [0]}}"#;
    for constraints in [
        r#""constraints": [], "#,
        "",
        r#""constraints": ["host,*"], "#,
    ] {
        let original = format!(
            r#"{{"schema": "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-1-0", "data": {{"name": "j", {constraints}"tasks": [{task}]}}}}"#
        );
        let dsl = convert(&original, "dsl");
        assert_eq!(
            dsl.contains("constraint none"),
            constraints.contains("[]"),
            "{dsl}"
        );
        assert_eq!(value(&convert(&dsl, "json")), value(&original), "{dsl}");
        assert_eq!(value(&convert(&original, "json")), value(&original));
    }
}
