//! Placeholders in commands: values go into `sh -c` verbatim, or as one quoted word with the
//! `shell` filter.

use crate::test::Test;

/// A value full of shell syntax reaches the command as data with `| shell`, and as shell code
/// without it.
#[test]
fn the_shell_filter_keeps_a_value_from_becoming_shell_code() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("quote.factotum");
    std::fs::write(
        &job,
        "job \"quoting\"\n\
         task \"quoted\" { run \"printf '<%s>\\\\n' {{ value | shell }}\" }\n\
         task \"verbatim\" { after \"quoted\" run \"printf '<%s>\\\\n' {{ value }}\" }\n",
    )
    .unwrap();
    let value = r#"{"value": "a b; echo injected 'x'"}"#;
    let run = Test::in_dir(dir.path())
        .args(["run", "quote.factotum", "--no-colour", "--env", value])
        .run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    let printed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| line.starts_with('['))
        .collect();
    assert_eq!(
        printed,
        [
            "[quoted] <a b; echo injected 'x'>",
            "[verbatim] <a>",
            "[verbatim] <b>",
            "[verbatim] injected x",
        ]
    );
    // The dry run shows the line `sh -c` gets, quoted once more for pasting into a shell.
    let dry = Test::in_dir(dir.path())
        .args(["run", "quote.factotum", "--dry-run", "--env", value])
        .run();
    assert_eq!(
        dry.stdout.lines().next(),
        Some(
            r"Task 'quoted' would run: sh -c 'printf '\''<%s>\n'\'' '\''a b; echo injected '\''\'\'''\''x'\''\'\'''\'''\'' '"
        ),
        "{}",
        dry.transcript()
    );
}

/// An unknown filter is a check error at the tag, before anything runs.
#[test]
fn an_unknown_filter_is_reported_where_it_is_written() {
    let run = Test::new()
        .args(["check", "--format", "short", "-"])
        .stdin("job \"j\"\ntask \"t\" { run \"echo {{ day | upper }}\" }\n")
        .run();
    assert_eq!(run.status, 1);
    assert_eq!(
        run.stdout,
        "<stdin>:2:22: error[E300]: malformed placeholder: `upper` is not a filter (the one filter is `shell`, as in `{{ name | shell }}`)\n"
    );
}
