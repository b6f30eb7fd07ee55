//! `factotum dot`: Factotum 0.7's reference drawings byte for byte, snapshots of both formats,
//! every sample drawn by the real Graphviz and its edges checked against the job, `--start`,
//! `--output` and failures.
//!
//! Fixtures are `tests/fixtures/dot/NAME.factfile`, with optional `NAME.args` (one extra
//! argument per line), as for `check`. The Graphviz test needs `dot` on the `PATH` (Debian:
//! `apt-get install graphviz`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::snapshots::fixture_args;
use crate::test::{Test, data_0_7, manifest_dir, samples_0_7};

fn fixture(name: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures/dot").join(name)
}

/// `factotum dot` with a fixture's own arguments and `extra`.
fn draw(path: &Path, extra: &[&str]) -> crate::test::Run {
    Test::new()
        .arg("dot")
        .arg(path)
        .args(fixture_args(path))
        .args(extra)
        .run()
}

/// The three files of 0.7's `tests/resources/dot`, from the jobs 0.7's own tests built.
/// `example_reduced` starts at `turnip`, which has no dependencies: 0.7 drew the edges into the
/// start task from outside the sub-tree, factotum does not, and here there are none, so the
/// fix changes nothing and the file is reproduced as is (`start-with-parents` shows the fix).
#[test]
fn reproduces_0_7_reference_drawings_byte_for_byte() {
    for name in ["example_apples", "example_apples_poly", "example_reduced"] {
        let run = draw(&fixture(&format!("{name}.factfile")), &[]);
        let expected =
            std::fs::read_to_string(data_0_7().join(format!("tests-resources/dot/{name}.dot")))
                .expect("0.7's reference drawing is in tests/data/");
        assert_eq!(run.status, 0, "{name}: {}", run.transcript());
        assert_eq!(run.stdout, expected, "{name}");
        assert_eq!(run.stderr, "", "{name}");
    }
}

#[test]
fn every_fixture_in_both_formats() {
    insta::glob!("fixtures/dot/*.factfile", |path| {
        let dot = draw(path, &[]);
        let mermaid = draw(path, &["--format", "mermaid"]);
        insta::assert_snapshot!(format!(
            "{}\n=== mermaid\n{}",
            dot.transcript(),
            mermaid.transcript()
        ));
    });
}

/// A name as Graphviz draws it: control characters other than tab and newline are shown as
/// their Unicode control pictures, lines as separate text lines (joined here with `\n`).
fn label_of(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c < ' ' && c != '\t' && c != '\n' {
                char::from_u32(0x2400 + u32::from(c)).unwrap()
            } else {
                c
            }
        })
        .collect()
}

/// The node labels and the edges (as label pairs) the job's file declares.
fn declared_graph(path: &Path) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let text = std::fs::read_to_string(path).unwrap();
    let job: Value = serde_json::from_str(&text).unwrap();
    let tasks = job["data"]["tasks"].as_array().unwrap();
    let mut nodes = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for task in tasks {
        let name = task["name"].as_str().unwrap();
        nodes.insert(label_of(name));
        for dependency in task["dependsOn"].as_array().unwrap() {
            let dependency = dependency.as_str().unwrap();
            edges.insert((label_of(dependency), label_of(name)));
        }
    }
    (nodes, edges)
}

/// Runs Graphviz on `dot_text`, insisting on no error and no warning.
fn graphviz_svg(dot_text: &str, what: &str) -> String {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Graphviz's `dot` is on the PATH (Debian: apt-get install graphviz)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot_text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.is_empty(),
        "{what}: Graphviz refused the drawing: {stderr}"
    );
    String::from_utf8(output.stdout).expect("Graphviz writes UTF-8 SVG")
}

/// Decodes the XML escapes Graphviz writes in SVG text.
fn xml_text(escaped: &str) -> String {
    let mut text = String::new();
    let mut rest = escaped;
    while let Some(at) = rest.find('&') {
        text.push_str(&rest[..at]);
        let end = at + rest[at..].find(';').expect("an entity ends with `;`");
        let entity = &rest[at + 1..end];
        let decoded = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let number = entity.strip_prefix('#').expect("a numeric entity");
                let code = match number.strip_prefix('x') {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => number.parse(),
                };
                char::from_u32(code.unwrap()).unwrap()
            }
        };
        text.push(decoded);
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    text
}

/// The text of every `<tag …>…</tag>` element in `xml`, in order.
fn elements<'x>(xml: &'x str, tag: &str) -> Vec<&'x str> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let body = &rest[start..];
        let content = body.find('>').unwrap() + 1;
        let end = body.find(&close).unwrap();
        found.push(&body[content..end]);
        rest = &body[end..];
    }
    found
}

/// The node labels and edges of a Graphviz SVG. Nodes are `<g class="node">` groups whose
/// `<title>` is the node's id and whose `<text>` lines are its label; edges are
/// `<g class="edge">` groups titled `tail->head` with ids as in node titles.
fn drawn_graph(svg: &str) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let groups: Vec<&str> = svg.split("<g id=\"").skip(1).collect();
    let mut label_by_id = BTreeMap::new();
    let mut edge_titles = Vec::new();
    for group in &groups {
        let title = xml_text(elements(group, "title")[0]);
        if group.contains("class=\"node\"") {
            let lines: Vec<String> = elements(group, "text").into_iter().map(xml_text).collect();
            assert!(
                label_by_id.insert(title, lines.join("\n")).is_none(),
                "two nodes with one id"
            );
        } else if group.contains("class=\"edge\"") {
            edge_titles.push(title);
        }
    }
    let edges = edge_titles
        .iter()
        .map(|title| {
            let ends: Vec<(&String, &String)> = title
                .match_indices("->")
                .filter_map(|(at, _)| {
                    let tail = label_by_id.get(&title[..at])?;
                    let head = label_by_id.get(&title[at + 2..])?;
                    Some((tail, head))
                })
                .collect();
            assert_eq!(
                ends.len(),
                1,
                "edge `{title}` joins exactly two drawn nodes"
            );
            (ends[0].0.clone(), ends[0].1.clone())
        })
        .collect();
    (label_by_id.into_values().collect(), edges)
}

/// A job whose one task name is longer than Graphviz's 16 KiB limit for a quoted string.
fn job_with_a_huge_name(dir: &Path) -> PathBuf {
    let name = format!("huge \"{}\"", "x\\".repeat(12_000));
    let task = |name: &str, dependencies: &[&str]| {
        serde_json::json!({
            "name": name, "executor": "shell", "command": "true", "arguments": [],
            "dependsOn": dependencies,
            "onResult": {"terminateJobWithSuccess": [], "continueJob": [0]}
        })
    };
    let job = serde_json::json!({
        "schema": "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0",
        "data": {"name": name, "tasks": [task(&name, &[]), task("after", &[&name])]}
    });
    let path = dir.join("huge-name.factfile");
    std::fs::write(&path, job.to_string()).unwrap();
    path
}

#[test]
fn graphviz_draws_every_sample_with_the_jobs_edges() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = [
        samples_0_7(),
        manifest_dir().join("samples"),
        manifest_dir().join("tests/fixtures/dot"),
    ]
    .iter()
    .flat_map(|folder| std::fs::read_dir(folder).expect("the samples are there"))
    .map(|entry| entry.unwrap().path())
    .filter(|path| path.extension().is_some_and(|ext| ext == "factfile"))
    .collect();
    assert!(files.len() >= 19, "{files:?}");
    files.push(job_with_a_huge_name(dir.path()));
    for file in files {
        let what = file.display().to_string();
        let run = Test::new().arg("dot").arg(&file).run();
        assert_eq!(run.status, 0, "{what}: {}", run.transcript());
        let svg = graphviz_svg(&run.stdout, &what);
        assert_eq!(drawn_graph(&svg), declared_graph(&file), "{what}");
    }
}

#[test]
fn names_are_drawn_untemplated() {
    let file = samples_0_7().join("echo-with-dynamic-name.factfile");
    let run = Test::new().arg("dot").arg(file).run();
    assert_eq!(run.status, 0);
    assert!(
        run.stdout
            .starts_with("digraph \"echo order demo {{ env }}\" {\n")
            && run
                .stdout
                .contains("    \"echo alpha {{ env }}\" -> \"echo beta\"\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn start_draws_only_the_sub_tree() {
    let start_mid = Test::new()
        .arg("dot")
        .arg(data_0_7().join("edge-cases/startmid.factfile"))
        .args(["--start", "mid"])
        .run();
    // 0.7 also drew `"root" -> "mid"`, an edge from a task it did not draw.
    assert_eq!(
        start_mid.transcript(),
        "exit: 0\n--- stdout\ndigraph \"edge\" {\n    \"mid\"\n    \"leaf\"\n    \"mid\" -> \"leaf\"\n\
         }--- stderr\n"
    );
    // 0.7 refused this start: `a` waits for `d`, reached from `s` only by a longer path.
    let quirk = Test::new()
        .arg("dot")
        .arg(data_0_7().join("edge-cases/subtree_quirk.factfile"))
        .args(["--start=s", "--format=mermaid"])
        .run();
    assert_eq!(quirk.status, 0, "{}", quirk.transcript());
    assert_eq!(quirk.stdout.matches(" --> ").count(), 5);
}

#[test]
fn start_errors_use_0_7_wording_and_exit_three() {
    let diamond = samples_0_7().join("complex-diamond-dag.factfile");
    for (start, message) in [
        ("nope", "Error: the task specified could not be found\n"),
        ("process-part-a", "Error: the job cannot be started here.\n"),
    ] {
        let run = Test::new()
            .arg("dot")
            .arg(&diamond)
            .args(["--start", start])
            .run();
        assert_eq!(
            run.transcript(),
            format!("exit: 3\n--- stdout\n--- stderr\n{message}")
        );
    }
}

#[test]
fn output_refuses_an_existing_file_without_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.dot");
    let job = fixture("example_apples.factfile");
    let written = Test::new()
        .arg("dot")
        .arg(&job)
        .arg("--output")
        .arg(&out)
        .run();
    assert_eq!(
        written.transcript(),
        "exit: 0\n--- stdout\nFile written successfully\n--- stderr\n"
    );
    let on_stdout = Test::new().arg("dot").arg(&job).run().stdout;
    assert_eq!(std::fs::read_to_string(&out).unwrap(), on_stdout);

    let refused = Test::new()
        .arg("dot")
        .arg(fixture("hostile-names.factfile"))
        .arg(format!("--output={}", out.display()))
        .run();
    assert_eq!(
        refused.transcript(),
        format!(
            "exit: 3\n--- stdout\n--- stderr\nError: couldn't create file '{}' (File exists (os \
             error 17))\n",
            out.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), on_stdout);

    let replaced = Test::new()
        .arg("dot")
        .arg(&job)
        .args(["--format", "mermaid", "--overwrite", "--output"])
        .arg(&out)
        .run();
    assert_eq!(replaced.status, 0, "{}", replaced.transcript());
    let mermaid = std::fs::read_to_string(&out).unwrap();
    assert!(mermaid.contains("flowchart TD\n"), "{mermaid}");

    let missing = dir.path().join("no/such/dir.dot");
    let unwritable = Test::new()
        .arg("dot")
        .arg(&job)
        .arg("--output")
        .arg(&missing)
        .run();
    assert_eq!(unwritable.status, 3);
    assert_eq!(
        unwritable.stderr,
        format!(
            "Error: couldn't create file '{}' (No such file or directory (os error 2))\n",
            missing.display()
        )
    );
}

#[test]
fn invalid_jobs_print_diagnostics_and_exit_three() {
    let dir = manifest_dir().join("tests/fixtures/check");
    for (file, code) in [
        ("E401-unknown-dependency.factfile", "error[E401]"),
        ("E100-missing-comma.factfile", "error[E100]"),
        ("missing.factfile", "error[E001]"),
    ] {
        let run = Test::in_dir(&dir).args(["dot", file]).run();
        assert_eq!(run.status, 3, "{file}: {}", run.transcript());
        assert_eq!(run.stdout, "", "{file}");
        assert!(run.stderr.starts_with(code), "{file}: {}", run.stderr);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.dot");
    let run = Test::in_dir(&manifest_dir().join("tests/fixtures/check"))
        .args(["dot", "E403-cycle.factfile", "--output"])
        .arg(&out)
        .run();
    assert_eq!(run.status, 3);
    assert!(!out.exists(), "no file is created for an invalid job");
}

#[test]
fn warnings_do_not_stop_the_drawing() {
    let run = Test::new()
        .args([
            "dot",
            "tests/fixtures/check/W400-duplicate-dependency.factfile",
        ])
        .run();
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert_eq!(run.stderr, "");
}

#[test]
fn dash_reads_the_job_from_standard_input() {
    let job = std::fs::read(fixture("example_apples.factfile")).unwrap();
    let run = Test::new().args(["dot", "-"]).stdin(job).run();
    let expected =
        std::fs::read_to_string(data_0_7().join("tests-resources/dot/example_apples.dot")).unwrap();
    assert_eq!(run.stdout, expected);
}

#[test]
fn errors_are_red_only_when_colour_is_wanted() {
    let job = fixture("example_apples.factfile");
    let coloured = |extra: &[&str]| {
        let run = Test::new()
            .env("CLICOLOR_FORCE", "1")
            .arg("dot")
            .arg(&job)
            .args(["--start", "nope"])
            .args(extra)
            .run();
        assert_eq!(run.status, 3);
        run.stderr
            .contains("\u{1b}[31mError: the task specified could not be found")
    };
    assert!(coloured(&[]), "CLICOLOR_FORCE colours stderr");
    assert!(!coloured(&["--no-colour"]), "--no-colour wins");
}
