//! The command line: exit codes, formats, colour, standard input, `--env`, `validate`.

use serde_json::Value;

use crate::test::{Test, manifest_dir};

const OK: &str = "tests/fixtures/check/ok-every-feature.factfile";
const CYCLE: &str = "tests/fixtures/check/E403-cycle.factfile";
const WARNING_ONLY: &str = "tests/fixtures/check/W401-non-shell-executor.factfile";

#[test]
fn help_and_version_exit_zero() {
    for flag in ["--help", "-h"] {
        let run = Test::new().arg(flag).run();
        assert_eq!(run.status, 0, "{flag}");
        assert!(run.stdout.contains("check"), "{flag}: {}", run.stdout);
    }
    for flag in ["--version", "-v", "-V"] {
        let run = Test::new().arg(flag).run();
        assert_eq!(run.status, 0, "{flag}");
        // 0.7's form (`Factotum version 0.7.0`), with a version above 0.7.
        assert_eq!(run.stdout, "Factotum version 0.8.0\n", "{flag}");
    }
}

#[test]
fn usage_errors_exit_three_not_two() {
    for args in [
        vec!["--frobnicate"],
        vec!["frobnicate"],
        vec![],
        vec!["check"],
        vec!["check", "--format", "xml", OK],
        vec!["validate"],
        vec!["validate", "--env", "{}", OK],
        vec!["dot"],
        vec!["dot", "--format", "png", OK],
        vec!["dot", "--env", "{}", OK],
    ] {
        let run = Test::new().args(&args).run();
        assert_eq!(run.status, 3, "{args:?}: {}", run.transcript());
    }
}

#[test]
fn check_exit_codes() {
    assert_eq!(Test::new().args(["check", OK]).run().status, 0);
    assert_eq!(Test::new().args(["check", CYCLE]).run().status, 1);
    assert_eq!(Test::new().args(["check", OK, CYCLE, OK]).run().status, 1);
    assert_eq!(Test::new().args(["check", WARNING_ONLY]).run().status, 0);
    let denied = Test::new()
        .args(["check", "--deny-warnings", WARNING_ONLY])
        .run();
    assert_eq!(denied.status, 1);
    // Exit 1 is a failure, and the tally says so.
    assert_eq!(
        denied.stderr,
        "failed with 0 errors, 1 warning in 1 file (--deny-warnings)\n",
        "{}",
        denied.transcript()
    );
}

/// `check --tag KEY,VALUE` gives `{{ tag:KEY }}` its value as `run --tag` does, and a tag with
/// no value is pointed to `--tag`, not to `--env`.
#[test]
fn check_takes_tags_as_run_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tagged.factotum"),
        "job \"j\"\ntask \"a\" { run \"echo\" with \"{{ tag:env }}\" }\n",
    )
    .unwrap();
    let tagged = Test::in_dir(dir.path())
        .args(["check", "--tag", "env,prod", "tagged.factotum"])
        .run();
    assert_eq!(tagged.status, 0, "{}", tagged.transcript());
    let untagged = Test::in_dir(dir.path())
        .args(["check", "--no-colour", "--env", "{}", "tagged.factotum"])
        .run();
    assert_eq!(untagged.status, 1, "{}", untagged.transcript());
    assert!(
        untagged
            .stdout
            .contains("= hint: give it a value with `--tag env,VALUE`\n"),
        "{}",
        untagged.transcript()
    );
}

#[test]
fn check_lints_command_line_constraints() {
    let ok = Test::new()
        .args([
            "check",
            "--constraint",
            "host,etl-1",
            "--constraint",
            "host,*",
            OK,
        ])
        .run();
    assert_eq!(ok.status, 0, "{}", ok.transcript());
    let bad = Test::new()
        .args(["check", "--constraint", "hots,x", OK])
        .run();
    assert_eq!(bad.status, 3);
    assert_eq!(
        bad.stderr,
        "error: `--constraint hots,x`: unknown constraint type `hots`: the only type is `host`\n"
    );
}

#[test]
fn check_clean_file_prints_nothing() {
    let run = Test::new().args(["check", OK]).run();
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
}

#[test]
fn many_files_are_reported_in_the_order_given() {
    let dir = manifest_dir().join("tests/fixtures/check");
    let files = [
        "W401-non-shell-executor.factfile",
        "E402-self-dependency.factfile",
        "missing.factfile",
        "E400-duplicate-task.factfile",
    ];
    let run = Test::in_dir(&dir)
        .args(["check", "--format", "short"])
        .args(files)
        .run();
    assert_eq!(run.status, 1);
    let files_in_output: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(files_in_output, files);
}

#[test]
fn short_format_is_one_line_per_problem() {
    let run = Test::new()
        .args([
            "check",
            "--format",
            "short",
            "tests/fixtures/check/many-problems.factfile",
        ])
        .run();
    assert_eq!(run.status, 1);
    assert_eq!(run.stderr, "");
    for line in run.stdout.lines() {
        let mut parts = line.splitn(4, ':');
        let (file, row, col) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert_eq!(file, "tests/fixtures/check/many-problems.factfile");
        assert!(
            row.parse::<u32>().is_ok() && col.parse::<u32>().is_ok(),
            "{line}"
        );
        let rest = parts.next().unwrap();
        assert!(
            rest.starts_with(" error[E") || rest.starts_with(" warning[W"),
            "{line}"
        );
    }
    assert_eq!(run.stdout.lines().count(), 5, "{}", run.stdout);
}

#[test]
fn json_format_describes_every_problem() {
    let run = Test::new()
        .args(["check", "--format", "json", CYCLE, "no/such.factfile"])
        .run();
    assert_eq!(run.status, 1);
    let problems: Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    let problems = problems.as_array().expect("an array");
    assert_eq!(problems.len(), 2);
    let cycle = &problems[0];
    assert_eq!(cycle["file"], CYCLE);
    assert_eq!(cycle["severity"], "error");
    assert_eq!(cycle["code"], "E403");
    assert_eq!(
        cycle["message"],
        "dependency cycle `red -> green -> blue -> red`"
    );
    assert_eq!(
        (cycle["line"].as_u64(), cycle["column"].as_u64()),
        (Some(47), Some(21))
    );
    assert_eq!(
        (cycle["end_line"].as_u64(), cycle["end_column"].as_u64()),
        (Some(47), Some(26))
    );
    let labels = cycle["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 3);
    assert_eq!(labels[0]["primary"], true);
    assert_eq!(labels[0]["message"], "`green` waits for `red`");
    assert!(cycle["notes"][0].as_str().unwrap().starts_with("hint:"));
    let missing = &problems[1];
    assert_eq!(missing["code"], "E001");
    assert_eq!(missing["line"], Value::Null);
}

#[test]
fn colour_only_when_asked_for_or_on_a_terminal() {
    let coloured = |run: &crate::test::Run| run.stdout.contains('\u{1b}');
    let forced = Test::new()
        .env("CLICOLOR_FORCE", "1")
        .args(["check", CYCLE])
        .run();
    assert!(coloured(&forced), "CLICOLOR_FORCE colours");
    for (key, value) in [("NO_COLOR", "1"), ("CLICOLOR", "0")] {
        let run = Test::new()
            .env("CLICOLOR_FORCE", "1")
            .env(key, value)
            .args(["check", CYCLE])
            .run();
        assert!(!coloured(&run), "{key}={value} wins over CLICOLOR_FORCE");
    }
    let flag = Test::new()
        .env("CLICOLOR_FORCE", "1")
        .args(["check", "--no-colour", CYCLE])
        .run();
    assert!(!coloured(&flag), "--no-colour");
    let before = Test::new()
        .env("CLICOLOR_FORCE", "1")
        .args(["--no-colour", "check", CYCLE])
        .run();
    assert!(!coloured(&before), "--no-colour before the sub-command");
    let piped = Test::new().args(["check", CYCLE]).run();
    assert!(!coloured(&piped), "a pipe is not a terminal");
}

#[test]
fn dash_reads_standard_input() {
    let text = std::fs::read(manifest_dir().join(CYCLE)).unwrap();
    let run = Test::new()
        .args(["check", "--format", "short", "-"])
        .stdin(text)
        .run();
    assert_eq!(run.status, 1);
    assert!(
        run.stdout.starts_with("<stdin>:47:21: error[E403]"),
        "{}",
        run.stdout
    );
}

#[test]
fn env_supplies_variables_and_bad_env_exits_three() {
    let vars = "tests/fixtures/check/E302-undefined-variable.factfile";
    let all = r#"{"message": "hi", "mesage": "typo", "env": "prod"}"#;
    assert_eq!(
        Test::new().args(["check", "--env", all, vars]).run().status,
        0
    );
    let bad = Test::new()
        .args(["check", "--env", "{\"message\": ", vars])
        .run();
    assert_eq!(bad.status, 3);
    assert_eq!(bad.stdout, "");
    assert!(
        bad.stderr.contains("`--env` is not valid JSON") && bad.stderr.contains("line 1 column 12"),
        "{}",
        bad.stderr
    );
    let array = Test::new().args(["check", "--env=[1]", vars]).run();
    assert_eq!(array.status, 3);
    assert!(
        array
            .stderr
            .contains("must be a JSON object, found an array"),
        "{}",
        array.stderr
    );
}

#[test]
fn env_renders_names_before_comparing_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("named.factfile");
    let text = std::fs::read_to_string(manifest_dir().join(OK))
        .unwrap()
        .replace("\"report\"", "\"load {{ other }}\"");
    std::fs::write(&path, text).unwrap();
    let distinct = Test::new()
        .args(["check", "--format", "short"])
        .arg(&path)
        .run();
    assert_eq!(distinct.status, 0, "{}", distinct.transcript());
    let same = Test::new()
        .args([
            "check",
            "--format",
            "short",
            "--env",
            r#"{"env": "x", "other": "x", "day": "1", "raw": "r"}"#,
        ])
        .arg(&path)
        .run();
    assert_eq!(same.status, 1);
    assert!(
        same.stdout
            .contains("error[E400]: task `load x` is defined more than once"),
        "{}",
        same.stdout
    );
}

#[test]
fn validate_keeps_the_0_7_contract() {
    let ok = Test::new().args(["validate", OK]).run();
    assert_eq!(ok.status, 0);
    assert_eq!(ok.stdout, format!("'{OK}' is a valid Factfile!\n"));
    let bad = Test::new().args(["validate", "--no-colour", CYCLE]).run();
    assert_eq!(bad.status, 1);
    assert!(bad.stdout.contains("error[E403]"));
    assert!(
        bad.stdout
            .ends_with(&format!("'{CYCLE}' is not a valid factotum factfile\n")),
        "{}",
        bad.stdout
    );
    let warned = Test::new().args(["validate", WARNING_ONLY]).run();
    assert_eq!(warned.status, 0);
    assert!(
        warned.stdout.contains("warning[W401]") && warned.stdout.contains("is a valid Factfile!")
    );
}

#[test]
fn unreadable_files_are_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let run = Test::in_dir(dir.path())
        .args(["check", "--format", "short", "missing.factfile", "."])
        .run();
    assert_eq!(run.status, 1);
    assert_eq!(
        run.stdout,
        "missing.factfile: error[E001]: cannot read the file: no such file or directory\n"
    );
    // A folder is searched for jobs (`commands::check_walks_a_directory…`).
    assert_eq!(
        run.stderr,
        "warning: no `*.factfile` or `*.factotum` file under `.`\n"
    );
    let folder = Test::in_dir(dir.path()).args(["validate", "."]).run();
    assert_eq!(folder.status, 1);
    assert!(
        folder
            .stdout
            .contains("cannot read the file: is a directory"),
        "{}",
        folder.transcript()
    );
}
