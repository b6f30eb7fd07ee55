//! `factotum export`: the golden files of both engines for every sample, and what it refuses.
//! That the exports run on the real engines as factotum runs the jobs is in `airflow.rs` and
//! `slurm.rs`.

use std::path::Path;

use crate::samples::{SAMPLE_TAG, SAMPLE_VALUES, samples_with_extension};
use crate::test::{Run, Test, manifest_dir};

/// `export` of the file at `path`, named relative to this crate's folder as a user would.
fn export(path: &Path, engine_arguments: &[&str]) -> Run {
    let relative = path
        .strip_prefix(manifest_dir())
        .expect("a file of this crate");
    Test::new()
        .arg("export")
        .arg(relative)
        .args(["--env", SAMPLE_VALUES, "--tag", SAMPLE_TAG])
        .args(engine_arguments)
        .run()
}

#[test]
fn every_sample_as_an_airflow_dag() {
    for path in samples_with_extension("factotum") {
        let exported = export(&path, &["--to", "airflow", "--defer-env"]);
        assert_eq!(
            exported.status,
            0,
            "{}: {}",
            path.display(),
            exported.stderr
        );
        let name = path.file_name().expect("a file name").to_string_lossy();
        insta::assert_snapshot!(format!("airflow@{name}"), exported.stdout);
    }
}

#[test]
fn every_sample_as_a_slurm_script_that_sh_reads() {
    for path in samples_with_extension("factotum") {
        let exported = export(&path, &["--to", "slurm"]);
        assert_eq!(
            exported.status,
            0,
            "{}: {}",
            path.display(),
            exported.stderr
        );
        let checked = std::process::Command::new("sh")
            .args(["-n", "-c", &exported.stdout])
            .output()
            .expect("sh runs");
        assert!(
            checked.status.success(),
            "{}: sh -n: {}",
            path.display(),
            String::from_utf8_lossy(&checked.stderr)
        );
        let name = path.file_name().expect("a file name").to_string_lossy();
        insta::assert_snapshot!(format!("slurm@{name}"), exported.stdout);
    }
}

/// The JSON twin of each sample exports to the same file but for the name in the header.
#[test]
fn json_twins_export_the_same() {
    for path in samples_with_extension("factotum") {
        let twin = path.with_extension("factfile");
        for engine in [&["--to", "airflow", "--defer-env"][..], &["--to", "slurm"]] {
            let from_dsl = export(&path, engine).stdout;
            let from_json = export(&twin, engine).stdout;
            let without_header = |text: &str| text.lines().skip(3).collect::<Vec<_>>().join("\n");
            assert_eq!(
                without_header(&from_dsl),
                without_header(&from_json),
                "{} {engine:?}",
                twin.display()
            );
        }
    }
}

/// Writes `text` as `name` in a new temporary folder.
fn job_file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("the job is written");
    (dir, path)
}

#[test]
fn a_job_with_errors_is_not_exported() {
    let (dir, _) = job_file(
        "broken.factotum",
        "job \"j\"\ntask \"a\" { after \"b\"  run \"true\" }\n",
    );
    let run = Test::in_dir(dir.path())
        .args([
            "export",
            "broken.factotum",
            "--to",
            "airflow",
            "--no-colour",
        ])
        .run();
    assert_eq!(run.status, 1, "{}", run.transcript());
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("error[E401]"), "{}", run.stderr);
}

#[test]
fn what_an_export_cannot_express_is_a_diagnostic_with_its_place() {
    let (dir, _) = job_file(
        "hosts.factotum",
        "job \"j\"\nconstraint \"host,alpha\"\nconstraint \"host,beta\"\ntask \"a\" { run \"true\" }\n",
    );
    let two_hosts = Test::in_dir(dir.path())
        .args(["export", "hosts.factotum", "--to", "slurm", "--no-colour"])
        .run();
    assert_eq!(two_hosts.status, 1, "{}", two_hosts.transcript());
    assert!(
        two_hosts.stderr.contains("error[E700]"),
        "{}",
        two_hosts.stderr
    );
    assert!(
        two_hosts.stderr.contains("hosts.factotum:2:"),
        "{}",
        two_hosts.stderr
    );

    let (dir, _) = job_file(
        "address.factotum",
        "job \"j\"\nconstraint \"host,10.0.0.7\"\ntask \"a\" { run \"true\" }\n",
    );
    let address = Test::in_dir(dir.path())
        .args(["export", "address.factotum", "--to", "slurm", "--no-colour"])
        .run();
    assert_eq!(address.status, 1, "{}", address.transcript());
    assert!(address.stderr.contains("error[E702]"), "{}", address.stderr);
    // Airflow takes any queue name, an address too.
    let queue = Test::in_dir(dir.path())
        .args(["export", "address.factotum", "--to", "airflow"])
        .run();
    assert_eq!(queue.status, 0, "{}", queue.transcript());
    assert!(
        queue.stdout.contains(r#"queue="10.0.0.7","#),
        "{}",
        queue.stdout
    );

    let (dir, _) = job_file(
        "names.factotum",
        "job \"j\"\ntask \"load {{ table }}\" { run \"load\" with \"{{ day }}\" }\n",
    );
    let deferred_name = Test::in_dir(dir.path())
        .args([
            "export",
            "names.factotum",
            "--to",
            "airflow",
            "--defer-env",
            "--no-colour",
        ])
        .run();
    assert_eq!(deferred_name.status, 1, "{}", deferred_name.transcript());
    assert!(
        deferred_name.stderr.contains("error[E701]"),
        "{}",
        deferred_name.stderr
    );
    assert!(
        deferred_name.stderr.contains("`table`"),
        "{}",
        deferred_name.stderr
    );
    // With the name's value given, only the command's variable is left to the run.
    let named = Test::in_dir(dir.path())
        .args(["export", "names.factotum", "--to", "airflow", "--defer-env"])
        .args(["--env", r#"{"table": "sales"}"#])
        .run();
    assert_eq!(named.status, 0, "{}", named.transcript());
    assert!(
        named.stdout.contains(r#"task_display_name="load sales","#),
        "{}",
        named.stdout
    );
    assert!(
        named.stdout.contains(r#""day": Param(type="string"),"#),
        "{}",
        named.stdout
    );

    let scheduled = Test::in_dir(dir.path())
        .args([
            "export",
            "names.factotum",
            "--to",
            "airflow",
            "--defer-env",
            "--no-colour",
        ])
        .args(["--env", r#"{"table": "sales"}"#, "--schedule", "0 3 * * *"])
        .run();
    assert_eq!(scheduled.status, 1, "{}", scheduled.transcript());
    assert!(
        scheduled.stderr.contains("error[E703]"),
        "{}",
        scheduled.stderr
    );
}

#[test]
fn options_for_the_other_engine_are_refused() {
    let sample = manifest_dir().join("tests/fixtures/export/all-succeed.factotum");
    for (option, value) in [
        ("--defer-env", None),
        ("--dag-id", Some("x")),
        ("--schedule", Some("@daily")),
    ] {
        let run = Test::new()
            .args(["export", "--to", "slurm", option])
            .args(value)
            .arg(&sample)
            .run();
        assert_eq!(run.status, 3, "{option}: {}", run.transcript());
        assert!(
            run.stderr.contains("applies to Airflow only"),
            "{}",
            run.stderr
        );
    }
    let bad_id = Test::new()
        .args(["export", "--to", "airflow", "--dag-id", "two words"])
        .arg(&sample)
        .run();
    assert_eq!(bad_id.status, 3, "{}", bad_id.transcript());
    assert!(
        bad_id.stderr.contains("cannot be in a DAG id"),
        "{}",
        bad_id.stderr
    );
}

#[test]
fn start_exports_only_the_sub_tree() {
    let sample = manifest_dir().join("tests/fixtures/export/all-succeed.factotum");
    let run = Test::new()
        .args(["export", "--to", "airflow", "--start", "transform"])
        .arg(&sample)
        .run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    let names: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("task_display_name="))
        .collect();
    assert_eq!(names, [r#""transform","#, r#""load","#]);
    // Its own dependency is taken as done: nothing waits for a task outside the export.
    assert!(
        !run.stdout.contains(r#"tasks["extract"]"#),
        "{}",
        run.stdout
    );

    let unknown = Test::new()
        .args(["export", "--to", "slurm", "--start", "nowhere"])
        .arg(&sample)
        .run();
    assert_eq!(unknown.status, 3, "{}", unknown.transcript());
    assert!(
        unknown.stderr.contains("no task has that name"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn an_existing_file_is_replaced_only_when_asked() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().join("dag.py");
    std::fs::write(&out, "kept\n").expect("a file");
    let sample = manifest_dir().join("tests/fixtures/export/all-succeed.factotum");
    let refused = Test::new()
        .args(["export", "--to", "airflow", "-o"])
        .arg(&out)
        .arg(&sample)
        .run();
    assert_eq!(refused.status, 3, "{}", refused.transcript());
    assert_eq!(std::fs::read_to_string(&out).expect("readable"), "kept\n");
    let replaced = Test::new()
        .args(["export", "--to", "airflow", "--overwrite", "-o"])
        .arg(&out)
        .arg(&sample)
        .run();
    assert_eq!(replaced.status, 0, "{}", replaced.transcript());
    let written = std::fs::read_to_string(&out).expect("readable");
    assert!(written.contains(r#"dag_id="all_succeed","#), "{written}");
}

/// The options of every task and of the job, in each engine's words: the golden files, with
/// the job file's directory (where relative working directories start) written as `[JOB DIR]`.
/// What an engine has no counterpart for is a warning (W700) naming the task and the option,
/// and the export is still written.
#[test]
fn every_option_in_each_engines_words() {
    let fixtures = manifest_dir().join("tests/fixtures/export");
    let job = fixtures.join("every-option.factotum");
    let values = ["--env", r#"{"day": "2026-12-02"}"#];
    let directory = fixtures.to_str().expect("a UTF-8 path");
    for (engine, warnings) in [
        (
            "airflow",
            &["warning[W700]: Airflow has no counterpart of task `extract`'s `retry on`"][..],
        ),
        (
            "slurm",
            &[
                "warning[W700]: Slurm has no counterpart of the job's `timeout`",
                "warning[W700]: Slurm has no counterpart of task `extract`'s `pool`",
                "warning[W700]: Slurm has no counterpart of task `load`'s `pool`",
            ],
        ),
    ] {
        let run = Test::new()
            .args(["export", "--to", engine, "--no-colour"])
            .args(values)
            .arg(&job)
            .run();
        assert_eq!(run.status, 0, "{engine}: {}", run.transcript());
        let found: Vec<&str> = run
            .stderr
            .lines()
            .filter(|line| line.starts_with("warning"))
            .collect();
        assert_eq!(found, warnings, "{engine}: {}", run.stderr);
        let golden = run.stdout.replace(directory, "[JOB DIR]");
        insta::assert_snapshot!(format!("{engine}@every-option.factotum"), golden);
    }
}
