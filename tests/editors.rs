//! The editor support stays in step with the language: both editors claim `.factotum` files
//! and treat `.factfile`s as JSON, VS Code validates factfiles with the repository's schema,
//! and the annotated copy of a sample is still that sample. That both name exactly the
//! language's keywords is checked against the table of statements, in
//! `src/syntax/statement.rs`. The highlighting itself is tested by `.ci/run`
//! (vscode-tmgrammar-test, and Vim headless), and so is the VS Code extension's code (Node's
//! test runner on `editors/vscode/tests/extension.test.js`, and on the packaged .vsix).

use serde_json::Value;

use crate::test::manifest_dir;

fn read(path: &str) -> String {
    std::fs::read_to_string(manifest_dir().join(path)).expect("a readable file")
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
fn both_editors_treat_factfiles_as_json() {
    let package: Value =
        serde_json::from_str(&read("editors/vscode/package.json")).expect("package.json is JSON");
    assert_eq!(
        package["contributes"]["languages"][1],
        serde_json::json!({"id": "json", "extensions": [".factfile"]})
    );
    assert!(read("editors/vim/ftdetect/factotum.vim").contains("*.factfile setfiletype json"));
}

/// The extension's schema and licence are links to the repository's own files, so that the
/// packaged extension cannot drift from them (`.ci/run` checks that the .vsix holds both).
#[test]
fn vscode_validates_factfiles_with_the_repositorys_schema() {
    let package: Value =
        serde_json::from_str(&read("editors/vscode/package.json")).expect("package.json is JSON");
    assert_eq!(
        package["contributes"]["jsonValidation"],
        serde_json::json!([
            {"fileMatch": "*.factfile", "url": "./schemas/factfile.schema.json"},
            {"fileMatch": "*.factfile.json", "url": "./schemas/factfile.schema.json"},
        ])
    );
    for (in_extension, in_repository) in [
        (
            "editors/vscode/schemas/factfile.schema.json",
            "schemas/factfile.schema.json",
        ),
        ("editors/vscode/LICENSE", "LICENSE"),
    ] {
        let resolved = |path: &str| {
            manifest_dir()
                .join(path)
                .canonicalize()
                .unwrap_or_else(|error| panic!("{path}: {error}"))
        };
        assert_eq!(resolved(in_extension), resolved(in_repository));
    }
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

/// The extension's language client and build tools are the versions package-lock.json holds,
/// named exactly in package.json too, so that `npm install` cannot move them either.
#[test]
fn vscode_dependencies_are_pinned_exactly() {
    let package: Value =
        serde_json::from_str(&read("editors/vscode/package.json")).expect("package.json is JSON");
    let lock: Value = serde_json::from_str(&read("editors/vscode/package-lock.json"))
        .expect("package-lock.json is JSON");
    assert!(package["dependencies"]["vscode-languageclient"].is_string());
    for kind in ["dependencies", "devDependencies"] {
        let named = package[kind].as_object().expect("a map of packages");
        for (name, version) in named {
            let version = version.as_str().expect("a version");
            assert!(
                version.split('.').all(|part| part.parse::<u32>().is_ok()),
                "{kind}: {name} {version} is not one exact version"
            );
            assert_eq!(
                lock["packages"][format!("node_modules/{name}")]["version"],
                version,
                "package-lock.json holds {name} {version}"
            );
            assert_eq!(lock["packages"][""][kind][name], version);
        }
    }
}
