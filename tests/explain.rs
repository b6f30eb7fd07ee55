//! `factotum explain CODE`, and every example in its table run through the command it names.

use factotum::explain::{EXPLANATIONS, ExampleFile};

use crate::test::{Test, manifest_dir};

/// Every example gets its own code from the command it shows, in a folder holding only its
/// file.
#[test]
fn every_example_gets_its_code() {
    for explanation in EXPLANATIONS {
        let example = &explanation.example;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join(example.file_name);
        match example.file {
            ExampleFile::Bytes(bytes) => std::fs::write(&path, bytes).expect("the example file"),
            ExampleFile::Missing => {}
            ExampleFile::OverFourGibibytes => std::fs::File::create(&path)
                .and_then(|file| file.set_len(u64::from(u32::MAX) + 1))
                .expect("a sparse file over 4 GiB"),
        }
        let run = Test::in_dir(dir.path())
            .args(example.command)
            .arg("--no-colour")
            .run();
        let severity = if explanation.code.starts_with('W') {
            "warning"
        } else {
            "error"
        };
        let shown = format!("{severity}[{}]", explanation.code);
        assert!(
            run.stdout.contains(&shown) || run.stderr.contains(&shown),
            "the example of {} does not get it:\n{}",
            explanation.code,
            run.transcript()
        );
    }
}

/// The explanation has the code, its meaning, the example's command and file, and the fix.
#[test]
fn explain_prints_meaning_example_and_fix() {
    let run = Test::new().args(["explain", "e401"]).run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn an_unknown_code_lists_the_codes() {
    let run = Test::new().args(["explain", "E999"]).run();
    assert_eq!(run.status, 3, "{}", run.transcript());
    assert_eq!(run.stdout, "");
    let codes: Vec<&str> = EXPLANATIONS.iter().map(|e| e.code).collect();
    assert_eq!(
        run.stderr,
        format!(
            "error: `E999` is not a diagnostic code; the codes are {}\n",
            codes.join(", ")
        )
    );
}

/// The codes `diag.rs` gives problems, the table and the README's table of codes are the
/// same list.
#[test]
fn every_code_is_explained_and_listed_in_the_readme() {
    let diag = std::fs::read_to_string(manifest_dir().join("src/diag.rs")).expect("diag.rs");
    let mut given: Vec<&str> = diag
        .split("=> \"")
        .skip(1)
        .filter_map(|rest| rest.get(..4))
        .filter(|code| {
            code.starts_with(['E', 'W']) && code[1..].bytes().all(|b| b.is_ascii_digit())
        })
        .collect();
    given.sort_unstable();
    let mut explained: Vec<&str> = EXPLANATIONS.iter().map(|e| e.code).collect();
    explained.sort_unstable();
    assert_eq!(
        given, explained,
        "codes in diag.rs against the explanations"
    );
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).expect("README.md");
    for code in explained {
        assert!(
            readme.contains(&format!("| {code} |")),
            "the README's table of codes has no row for {code}"
        );
    }
}
