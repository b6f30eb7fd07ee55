//! Discovery commands and conveniences: `tasks`, `check DIR`, `man`, short flags, `--color`,
//! `FACTOTUM_*` variables, `-j 0`, `fmt` on a terminal, several `--constraint`s.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::test::{T, Test, job, manifest_dir};

const NIGHTLY: &str = "samples/nightly-warehouse.factotum";
const DAY: &str = r#"{"day": "2026-11-28"}"#;
const E401: &str = "tests/fixtures/check/E401-unknown-dependency.factfile";

#[test]
fn tasks_lists_the_dry_run_order_with_waits_commands_and_exit_codes() {
    let table = Test::new().args(["tasks", NIGHTLY, "--env", DAY]).run();
    assert_eq!(table.status, 0, "{}", table.transcript());
    assert_eq!(
        table.stdout,
        "\
TASK                AFTER                              EXIT CODES                  COMMAND
extract orders      -                                  continue on 0               sh -c 'echo extracting orders for \"2026-11-28\"'
extract customers   -                                  continue on 0               sh -c 'echo extracting customers for \"2026-11-28\"'
check for new data  extract orders, extract customers  continue on 0; finish on 1  sh -c 'test -n \"2026-11-28\"'
transform           check for new data                 continue on 0               sh -c 'echo transforming \"orders\" \"customers\"'
load                transform                          continue on 0               sh -c 'echo loading into \"warehouse.2026-11-28\"'
notify              load                               continue on 0               sh -c 'echo done: \"2026-11-28\"'
"
    );
    // The same order and command lines as a dry run.
    let dry = Test::new()
        .args(["run", NIGHTLY, "--env", DAY, "--dry-run", "--store", "none"])
        .run();
    let dry_lines: Vec<String> = dry
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("Task '"))
        .map(|line| line.replacen("' would run: ", " ", 1))
        .collect();
    let table_lines: Vec<String> = table
        .stdout
        .lines()
        .skip(1)
        .map(|line| {
            let (name, rest) = line.split_once("  ").unwrap();
            format!("{name} {}", &rest[rest.find("sh -c").unwrap()..])
        })
        .collect();
    assert_eq!(table_lines, dry_lines, "{}", dry.stdout);
}

#[test]
fn tasks_json_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let path = job(
        dir.path(),
        "j.factfile",
        &[
            T(
                "late {{ tag:env }}",
                "echo",
                &["{{ word }}"],
                &["first", "second"],
            ),
            T("second", "true", &[], &[]),
            T("first", "true", &[], &[]),
        ],
    );
    let run = Test::in_dir(dir.path())
        .arg("tasks")
        .arg(&path)
        .args(["--env", r#"{"word": "hi"}"#, "--tag", "env,prod"])
        .args(["--format", "json"])
        .run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    let listed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        listed,
        json!({
            "job": "test job",
            "tasks": [
                {"name": "second", "after": [], "commandLine": "true ",
                 "continueOn": [0], "finishOn": []},
                {"name": "first", "after": [], "commandLine": "true ",
                 "continueOn": [0], "finishOn": []},
                {"name": "late prod", "after": ["second", "first"],
                 "commandLine": "echo \"hi\"", "continueOn": [0], "finishOn": []},
            ]
        })
    );
}

#[test]
fn tasks_refuses_what_run_refuses() {
    let missing = Test::new().args(["tasks", NIGHTLY]).run();
    assert_eq!(missing.status, 1);
    assert_eq!(missing.stdout, "");
    assert!(missing.stderr.contains("day"), "{}", missing.stderr);
    let invalid = Test::new().args(["tasks", E401]).run();
    assert_eq!(invalid.status, 1);
    assert!(invalid.stderr.contains("error[E401]"), "{}", invalid.stderr);
    let bad_env = Test::new().args(["tasks", NIGHTLY, "--env", "[1]"]).run();
    assert_eq!(bad_env.status, 3, "{}", bad_env.transcript());
}

#[test]
fn check_walks_a_directory_skipping_what_gitignore_ignores() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let copy = |from: &str, to: &str| {
        let target = root.join(to);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(manifest_dir().join(from), target).unwrap();
    };
    copy(E401, "jobs/b/broken.factfile");
    copy(NIGHTLY, "jobs/a/nightly.factotum");
    copy(E401, "jobs/.github/ci.factfile");
    copy(E401, "jobs/generated/skipped.factfile");
    copy(E401, "jobs/notes.json");
    std::fs::write(root.join("jobs/.gitignore"), "generated/\n").unwrap();
    let run = Test::in_dir(root)
        .args(["check", "jobs", "--format", "short"])
        .run();
    assert_eq!(run.status, 1, "{}", run.transcript());
    let files: Vec<&str> = run
        .stdout
        .lines()
        .map(|line| line.split(':').next().unwrap())
        .collect();
    let mut distinct = files.clone();
    distinct.dedup();
    assert_eq!(
        distinct,
        ["jobs/.github/ci.factfile", "jobs/b/broken.factfile"],
        "{}",
        run.stdout
    );
    let tally = Test::in_dir(root).args(["check", "jobs"]).run();
    assert_eq!(
        tally.stderr, "failed with 4 errors, 0 warnings in 3 files\n",
        "the DSL job is checked too"
    );
    std::fs::create_dir(root.join("empty")).unwrap();
    let empty = Test::in_dir(root).args(["check", "empty"]).run();
    assert_eq!(empty.status, 0);
    assert_eq!(
        empty.stderr,
        "warning: no `*.factfile` or `*.factotum` file under `empty`\n"
    );
}

/// Renders a page as a reader would see it: with `man -l`, or `groff -man` where there is no
/// `man`.
fn rendered(page: &str) -> String {
    let (program, args): (&str, &[&str]) = if Path::new("/usr/bin/man").exists() {
        ("man", &["-l", "-"])
    } else {
        ("groff", &["-man", "-Tutf8", "-ww"])
    };
    let mut child = Command::new(program)
        .args(args)
        .env("MANWIDTH", "200")
        .env("MAN_KEEP_FORMATTING", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("`{program}` is needed to render the man page (`.ci/run` installs it): {error}")
        });
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), page.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && errors.is_empty(),
        "{program}: {errors}"
    );
    // Bold and underlined letters are overstruck with backspaces when not on a terminal.
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut plain = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn man_pages_render() {
    let program = Test::new().arg("man").run();
    assert_eq!(program.status, 0, "{}", program.transcript());
    assert!(program.stdout.starts_with(".ie"), "{}", program.stdout);
    let shown = rendered(&program.stdout);
    for wanted in [
        "NAME",
        "factotum - Compile, check, draw and run job DAGs",
        "SYNOPSIS",
        "--color",
        "SUBCOMMANDS",
        "factotum-run(1)",
        "factotum-tasks(1)",
        "VERSION",
        "v0.8.0",
    ] {
        assert!(shown.contains(wanted), "{wanted}:\n{shown}");
    }
    let run = Test::new().args(["man", "run"]).run();
    assert_eq!(run.status, 0);
    let shown = rendered(&run.stdout);
    for wanted in [
        "factotum-run - Run a job",
        "[-n|--dry-run]",
        "-n, --dry-run",
        "FACTOTUM_WEBHOOK",
        "FACTOTUM_GRACE",
    ] {
        assert!(shown.contains(wanted), "{wanted}:\n{shown}");
    }
    let unknown = Test::new().args(["man", "runn"]).run();
    assert_eq!(unknown.status, 3);
    assert!(
        unknown
            .stderr
            .starts_with("error: `runn` is not a sub-command; the pages are: check, "),
        "{}",
        unknown.stderr
    );
}

#[test]
fn dash_n_is_dry_run() {
    let long = Test::new()
        .args(["run", NIGHTLY, "--env", DAY, "--dry-run", "--store", "none"])
        .run();
    let short = Test::new()
        .args(["run", NIGHTLY, "--env", DAY, "-n", "--store", "none"])
        .run();
    assert_eq!(short.status, 0, "{}", short.transcript());
    assert!(short.stdout.contains("would run"), "{}", short.stdout);
    assert_eq!(short.stdout, long.stdout);
}

#[test]
fn color_flag_beside_no_colour() {
    let coloured = |run: &crate::test::Run| run.stdout.contains('\u{1b}');
    assert!(!coloured(&Test::new().args(["check", E401]).run()));
    let always = Test::new().args(["--color", "always", "check", E401]).run();
    assert!(coloured(&always), "{}", always.stdout);
    let explicit = Test::new()
        .args(["check", E401, "--color", "always"])
        .env("NO_COLOR", "1")
        .run();
    assert!(coloured(&explicit), "the flag outranks NO_COLOR");
    let never = Test::new()
        .args(["check", E401, "--color", "never"])
        .env("CLICOLOR_FORCE", "1")
        .run();
    assert!(!coloured(&never));
    let forced = Test::new()
        .args(["check", E401, "--color", "auto"])
        .env("CLICOLOR_FORCE", "1")
        .run();
    assert!(coloured(&forced), "auto keeps today's rules");
    let both = Test::new()
        .args(["check", E401, "--color", "always", "--no-colour"])
        .run();
    assert!(!coloured(&both), "--no-colour wins");
    assert_eq!(
        Test::new()
            .args(["check", E401, "--color", "sometimes"])
            .run()
            .status,
        3
    );
}

#[test]
fn environment_variables_for_what_a_crontab_repeats() {
    let help = Test::new().args(["run", "--help"]).run();
    for name in [
        "FACTOTUM_WEBHOOK",
        "FACTOTUM_GRACE",
        "FACTOTUM_STORE",
        "FACTOTUM_HEARTBEAT_INTERVAL",
        "FACTOTUM_WEBHOOK_TIMEOUT",
        "FACTOTUM_WEBHOOK_DRAIN",
        "FACTOTUM_LEASE",
    ] {
        assert!(
            help.stdout.contains(&format!("[env: {name}=]")),
            "{name}: {}",
            help.stdout
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = job(dir.path(), "j.factfile", &[T("a", "true", &[], &[])]);
    let path = path.to_str().unwrap();
    let bad_webhook = Test::in_dir(dir.path())
        .args(["run", path, "--store", "none"])
        .env("FACTOTUM_WEBHOOK", "ftp://example.com/")
        .run();
    assert_eq!(bad_webhook.status, 3, "{}", bad_webhook.transcript());
    assert!(
        bad_webhook
            .stdout
            .starts_with("Error: the specifed webhook URL \"ftp://example.com/\" is invalid."),
        "{}",
        bad_webhook.stdout
    );
    let dry = Test::in_dir(dir.path())
        .args(["run", path, "-n", "--store", "none"])
        .env("FACTOTUM_WEBHOOK", "http://127.0.0.1:9/")
        .run();
    assert_eq!(dry.status, 0, "a dry run ignores the crontab's webhook");
    let typed = Test::in_dir(dir.path())
        .args(["run", path, "-n", "--webhook", "http://127.0.0.1:8/"])
        .env("FACTOTUM_WEBHOOK", "http://127.0.0.1:9/")
        .run();
    assert_eq!(
        typed.status, 3,
        "a typed --webhook with --dry-run is 0.7's error"
    );
    let bad_grace = Test::in_dir(dir.path())
        .args(["run", path, "--store", "none"])
        .env("FACTOTUM_GRACE", "soon")
        .run();
    assert_eq!(bad_grace.status, 3);
    assert!(
        bad_grace
            .stderr
            .contains("`soon` is not a number of seconds"),
        "{}",
        bad_grace.stderr
    );
}

#[test]
fn zero_jobs_is_explained() {
    let run = Test::new().args(["run", NIGHTLY, "-j", "0"]).run();
    assert_eq!(run.status, 3);
    assert!(
        run.stderr.contains(
            "0 tasks at once would never start one; give 1 or more, or leave `-j` out for no limit"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("non-zero"), "{}", run.stderr);
}

#[test]
fn fmt_says_it_reads_a_terminal() {
    const NOTICE: &str = "fmt: reading a job from standard input";
    let job = "job \"j\"\n\ntask \"a\" { run \"true\" }\n";
    let piped = Test::new().arg("fmt").stdin(job).run();
    assert_eq!(piped.status, 0, "{}", piped.transcript());
    assert_eq!(piped.stdout, job);
    assert!(!piped.stderr.contains(NOTICE), "not on a pipe");
    // `script` gives factotum a pseudo-terminal for stdin; its own stdin (empty) ends it.
    let binary = env!("CARGO_BIN_EXE_factotum");
    let mut child = Command::new("script")
        .args(["-qec", &format!("'{binary}' fmt"), "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) is needed for this test; `.ci/run` installs it");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("`factotum fmt` on a terminal did not end at end of input");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let seen = String::from_utf8_lossy(&output.stdout);
    assert!(seen.contains(NOTICE), "{seen}");
}

#[test]
fn any_of_several_constraints_lets_the_job_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = job(
        dir.path(),
        "c.factfile",
        &[T("mark", "touch", &["ran"], &[])],
    );
    let path = path.to_str().unwrap();
    let run = |constraints: &[&str]| {
        let mut test = Test::in_dir(dir.path()).args(["run", path, "--store", "none"]);
        for constraint in constraints {
            test = test.args(["--constraint", constraint]);
        }
        test.run()
    };
    let one_matches = run(&["host,no-such-host.invalid", "host,*"]);
    assert_eq!(one_matches.status, 0, "{}", one_matches.transcript());
    assert!(
        dir.path().join("ran").exists(),
        "any one that holds is enough"
    );
    std::fs::remove_file(dir.path().join("ran")).unwrap();
    let none_matches = run(&["host,no-such-host.invalid", "host,127.0.0.1"]);
    assert_eq!(none_matches.status, 0);
    assert!(!dir.path().join("ran").exists());
    assert!(
        none_matches.stdout.starts_with(
            "Warn: the specifed host constraints \"no-such-host.invalid\", \"127.0.0.1\" did not match, no tasks have been executed. Reasons: \"no-such-host.invalid\": "
        ),
        "{}",
        none_matches.stdout
    );
    assert!(
        none_matches.stdout.contains("; \"127.0.0.1\": "),
        "{}",
        none_matches.stdout
    );
    let check = Test::new()
        .args([
            "check",
            "--constraint",
            "host,a",
            "--constraint",
            "host,b",
            NIGHTLY,
        ])
        .run();
    assert_eq!(check.status, 0, "{}", check.transcript());
}

/// What bash offers for the command line `words` (the last one being completed), through the
/// script `factotum completions bash` prints, with factotum found on the `PATH` as a user's
/// shell finds it.
fn bash_offers(script: &Path, dir: &Path, words: &str) -> Vec<String> {
    let binary = Path::new(env!("CARGO_BIN_EXE_factotum"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let program = format!(
        "source '{}'; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMP_TYPE=9; \
         _clap_complete_factotum factotum \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD - 1]}}\"; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let output = Command::new("bash")
        .args(["-c", &program])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("COMPLETE")
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let run = Test::new().args(["completions", shell]).run();
        assert_eq!(run.status, 0, "{shell}: {}", run.stderr);
        assert!(
            run.stdout.contains(&format!("COMPLETE=\"{shell}\""))
                || run.stdout.contains(&format!("COMPLETE={shell}")),
            "{shell}: the script asks factotum at each TAB:\n{}",
            run.stdout
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("factotum.bash");
    std::fs::write(
        &script,
        Test::new().args(["completions", "bash"]).run().stdout,
    )
    .unwrap();
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    std::fs::copy(
        manifest_dir().join(NIGHTLY),
        dir.path().join("nightly.factotum"),
    )
    .unwrap();
    let offers = |words: &str| bash_offers(&script, dir.path(), words);
    // Sub-commands, values and, for `--start`, the task names of the job on the line.
    assert_eq!(offers("factotum d"), ["dot"]);
    assert_eq!(offers("factotum dot job --format ''"), ["dot", "mermaid"]);
    assert_eq!(
        offers("factotum run nightly.factotum --env '{}' --start ''"),
        [
            "extract\\ orders",
            "extract\\ customers",
            "check\\ for\\ new\\ data",
            "transform",
            "load",
            "notify"
        ]
    );
    assert_eq!(
        offers("factotum dot --start ext night"),
        ["nightly.factotum"],
        "the job file completes as a path"
    );
    assert_eq!(
        offers("factotum export nightly.factotum --to airflow --start ext"),
        ["extract\\ orders", "extract\\ customers"]
    );
    assert_eq!(
        offers("factotum run missing.factotum --start ''"),
        Vec::<String>::new(),
        "no job, no names"
    );
}
