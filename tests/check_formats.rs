//! `check --format github` and `--format sarif`, for CI: GitHub's workflow commands, escaped
//! as GitHub's toolkit escapes them, and a SARIF log valid against the official schema.

use serde_json::Value;

use factotum::explain::EXPLANATIONS;

use crate::test::{Test, manifest_dir};

/// A DSL job whose problems sit after non-ASCII text, in a file whose name and task names need
/// escaping: an unknown dependency (E401, with a hint), a repeated one (W400, two labels).
const JOB: &str = "job \"nightly\"\n\ntask \"café\" { run \"true\" }\n\ntask \"日本\" { after \"café\", \"café\", \"50%\\ndone\" run \"true\" }\n";
const NAME: &str = "a,b:c%.factotum";

fn check(format: &str) -> crate::test::Run {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(dir.path().join(NAME), JOB).expect("the job");
    Test::in_dir(dir.path())
        .args(["check", "--format", format, NAME, "missing.factotum"])
        .run()
}

#[test]
fn github_annotations_escape_and_count_characters() {
    let run = check("github");
    assert_eq!(run.status, 1, "{}", run.transcript());
    assert_eq!(run.stderr, "");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            // Columns count characters: `日本` are two (six bytes) and `é` one (two bytes), so
            // the second `"café"` is at column 27 (byte 32).
            "::warning file=a%2Cb%3Ac%25.factotum,line=5,col=27,endLine=5,endColumn=33,title=W400::task `日本` lists dependency `café` more than once",
            "::error file=a%2Cb%3Ac%25.factotum,line=5,col=35,endLine=5,endColumn=46,title=E401::task `日本` depends on unknown task `50%25%0Adone`",
            "::error file=missing.factotum,title=E001::cannot read the file: no such file or directory",
        ],
        "{}",
        run.transcript()
    );
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let run = check("sarif");
    assert_eq!(run.status, 1, "{}", run.transcript());
    let log: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let schema_path = manifest_dir().join("tests/data/sarif/sarif-schema-2.1.0.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("the schema"))
            .expect("the schema is JSON");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{}", run.stdout);

    assert_eq!(log["version"], "2.1.0");
    assert_eq!(
        log["$schema"], schema["id"],
        "the log names the schema it is valid against"
    );
    let sarif_run = &log["runs"][0];
    assert_eq!(log["runs"].as_array().map(Vec::len), Some(1));
    assert_eq!(sarif_run["columnKind"], "unicodeCodePoints");
    let driver = &sarif_run["tool"]["driver"];
    assert_eq!(driver["name"], "factotum");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    let codes: Vec<&str> = EXPLANATIONS.iter().map(|e| e.code).collect();
    assert_eq!(ids, codes);
    let w400 = &rules[codes.iter().position(|c| *c == "W400").expect("W400")];
    assert_eq!(w400["defaultConfiguration"]["level"], "warning");
    assert!(
        w400["help"]["text"]
            .as_str()
            .is_some_and(|help| help.contains("factotum explain W400")),
        "{w400}"
    );

    let results = sarif_run["results"].as_array().expect("results");
    let summary: Vec<(&str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap_or(""),
                r["level"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("W400", "warning"), ("E401", "error"), ("E001", "error")]
    );
    let w400 = &results[0];
    assert_eq!(
        w400["locations"][0]["physicalLocation"],
        serde_json::json!({
            "artifactLocation": { "uri": "a%2Cb%3Ac%25.factotum" },
            "region": { "startLine": 5, "startColumn": 27, "endLine": 5, "endColumn": 33 },
        })
    );
    let related = &w400["relatedLocations"][0];
    assert_eq!(related["message"]["text"], "first listed here");
    assert_eq!(related["physicalLocation"]["region"]["startColumn"], 19);
    assert_eq!(
        results[1]["message"]["text"],
        "task `日本` depends on unknown task `50%\ndone`"
    );
    assert_eq!(
        results[2]["locations"][0]["physicalLocation"],
        serde_json::json!({ "artifactLocation": { "uri": "missing.factotum" } })
    );
}
