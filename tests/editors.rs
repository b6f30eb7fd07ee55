//! The editor support stays in step with the language: both editors name exactly the keywords
//! of `grammar/dsl.pest`, and the annotated copy of a sample is still that sample. The
//! highlighting itself is tested by `.ci/run` (vscode-tmgrammar-test, and Vim headless).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::test::manifest_dir;

fn read(path: &str) -> String {
    std::fs::read_to_string(manifest_dir().join(path)).expect("a readable file")
}

/// The words of the grammar's keyword rules, `kw_x = @{ "x" ~ !word_char }`.
fn grammar_keywords() -> BTreeSet<String> {
    read("grammar/dsl.pest")
        .lines()
        .filter(|line| line.starts_with("kw_"))
        .filter_map(|line| line.split('"').nth(1).map(str::to_owned))
        .collect()
}

/// The words of a match pattern of the VS Code grammar (words between `\b`s).
fn alternatives(pattern: &str) -> impl Iterator<Item = String> + '_ {
    pattern
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty() && *word != "b")
        .map(str::to_owned)
}

#[test]
fn both_editors_know_every_keyword() {
    let keywords = grammar_keywords();
    assert_eq!(keywords.len(), 12, "{keywords:?}");

    let grammar: Value =
        serde_json::from_str(&read("editors/vscode/syntaxes/factotum.tmLanguage.json"))
            .expect("the TextMate grammar is JSON");
    let vscode: BTreeSet<String> = ["declaration", "keyword"]
        .iter()
        .flat_map(|rule| {
            let pattern = grammar["repository"][rule]["match"]
                .as_str()
                .expect("a match");
            alternatives(pattern).collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(vscode, keywords, "the TextMate grammar");

    let vim: BTreeSet<String> = read("editors/vim/syntax/factotum.vim")
        .lines()
        .filter_map(|line| line.strip_prefix("syntax keyword "))
        .flat_map(|rest| rest.split_whitespace().skip(1))
        .filter(|word| *word != "contained" && !word.chars().all(|c| c.is_ascii_uppercase()))
        .map(str::to_owned)
        .collect();
    assert_eq!(vim, keywords, "the Vim syntax");
}

#[test]
fn both_editors_claim_factotum_files() {
    let package: Value =
        serde_json::from_str(&read("editors/vscode/package.json")).expect("package.json is JSON");
    assert_eq!(
        package["contributes"]["languages"][0]["extensions"],
        serde_json::json!([".factotum"])
    );
    assert!(read("editors/vim/ftdetect/factotum.vim").contains("*.factotum setfiletype factotum"));
}

#[test]
fn the_annotated_sample_is_still_the_sample() {
    let annotated = read("editors/vscode/tests/nightly-warehouse.factotum");
    let is_assertion = |line: &&str| {
        let rest = line.trim_start_matches('#').trim_start();
        line.starts_with('#') && (rest.starts_with('^') || rest.starts_with("<-"))
    };
    let code: Vec<&str> = annotated
        .lines()
        .skip(1)
        .filter(|line| !is_assertion(line))
        .collect();
    let sample = read("samples/nightly-warehouse.factotum");
    assert_eq!(code, sample.lines().collect::<Vec<_>>());
}
