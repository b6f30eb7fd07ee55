//! Property and differential tests of the JSON front end: hostile input never panics and only
//! points inside the text, the fast and the exact path agree, and 0.7's files keep their verdict.

use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;

use super::{depth, exact, fast, region};
use crate::diag::{self, Diagnostic, Problem, Severity};
use crate::ir::SCHEMA_1_0_0;
use crate::source::Source;
use crate::span::Span;
use crate::syntax::testing::{config, diagnostics_point_into, job_points_into};

// --- shared helpers ---

/// The folders of Factotum 0.7's factfiles, each under the name the fixtures carry: its samples
/// (shipped in `samples/`) and its test data (kept in `tests/`).
const FIXTURE_DIRS: [(&str, &str); 3] = [
    (
        "samples",
        concat!(env!("CARGO_MANIFEST_DIR"), "/samples/factotum-0.7"),
    ),
    (
        "tests-resources",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/factotum-0.7/tests-resources"
        ),
    ),
    (
        "edge-cases",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/factotum-0.7/edge-cases"
        ),
    ),
];

/// One factfile of 0.7, named `folder/file`.
struct Fixture {
    name: String,
    text: String,
}

/// Every fixture, read once and sorted by name so generated cases are reproducible.
fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let mut fixtures = Vec::new();
        for (folder, dir) in FIXTURE_DIRS {
            let dir = Path::new(dir);
            let entries = std::fs::read_dir(dir)
                .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
            let mut found: Vec<Fixture> = entries
                .map(|entry| entry.expect("a readable directory entry").path())
                .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "factfile"))
                .map(|path| {
                    let text = std::fs::read_to_string(&path)
                        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
                    let file = path.file_name().expect("a file name").to_string_lossy();
                    Fixture {
                        name: format!("{folder}/{file}"),
                        text,
                    }
                })
                .collect();
            assert!(!found.is_empty(), "no factfiles in {}", dir.display());
            found.sort_by(|a, b| a.name.cmp(&b.name));
            fixtures.extend(found);
        }
        fixtures
    })
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
    diagnostics.iter().map(|d| d.problem.code()).collect()
}

fn errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .count()
}

/// Syntax and schema problems (`E0xx`, `E1xx`, `E2xx`), the ones the fast path gives up on.
fn is_syntax_or_schema(diagnostic: &Diagnostic) -> bool {
    matches!(
        diagnostic.problem.code().as_bytes(),
        [b'E', b'0' | b'1' | b'2', ..]
    )
}

/// The whole checker on `text`: it must return, and point only into the text.
fn check_survives(text: &str) -> Result<(), TestCaseError> {
    let diagnostics = crate::check(&Source::new("f.factfile", text), None);
    diagnostics_point_into(text, &diagnostics)
}

/// When the fast path takes `text`, the exact path must build the same, complete job and report
/// the same diagnostics.
fn paths_agree(text: &str) -> Result<(), TestCaseError> {
    let Some((job, mut fast_diagnostics)) = fast::parse(text) else {
        // Only the exact path reads this text; what it built must still point into it.
        if let Some(job) = exact::parse(text).job {
            job_points_into(text, &job)?;
        }
        return Ok(());
    };
    job_points_into(text, &job)?;
    let exact = exact::parse(text);
    prop_assert!(exact.complete, "exact left a task out of {text:?}");
    prop_assert_eq!(
        exact.job.as_ref(),
        Some(&job),
        "the jobs differ for {:?}",
        text
    );
    let mut exact_diagnostics = exact.diagnostics;
    diag::sort(&mut fast_diagnostics);
    diag::sort(&mut exact_diagnostics);
    prop_assert_eq!(
        fast_diagnostics,
        exact_diagnostics,
        "the diagnostics differ for {:?}",
        text
    );
    Ok(())
}

/// When the exact path finds no syntax or schema problem, the fast path must take the file;
/// otherwise valid files would silently go the slow way.
fn fast_takes_what_exact_accepts(text: &str) -> Result<(), TestCaseError> {
    let exact = exact::parse(text);
    if let Some(job) = &exact.job {
        job_points_into(text, job)?;
    }
    if !exact.diagnostics.iter().any(is_syntax_or_schema) {
        prop_assert!(
            fast::parse(text).is_some(),
            "exact found only {:?} but fast gave up on {text:?}",
            codes(&exact.diagnostics)
        );
    }
    Ok(())
}

// --- mutations of real files ---

/// Pieces of JSON, templates and encodings that make interesting damage when dropped anywhere.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\\\",
    "\\u",
    "\\uD800",
    "\\uDC00",
    "\\ud83d\\ude00",
    "\\u00e9",
    "\\n",
    "\\x",
    "0",
    "7",
    "-1",
    "40000",
    "1.5",
    "1e2",
    "1e999999",
    "-",
    "null",
    "true",
    "{{",
    "}}",
    "{{{",
    "}}}",
    "{{#x}}",
    "{{ x }}",
    "{{& y}}",
    "{{!",
    "\n",
    "\r\n",
    "\t",
    " ",
    "\u{1}",
    "\u{7f}",
    "\u{feff}",
    "é",
    "€",
    "😀",
    "\"name\"",
    "\"tasks\"",
    "\"dependsOn\"",
    "\"continueJob\": [0]",
    "[]",
    "{}",
];

/// One edit of a text. Positions are chosen relative to the text's length when applied, and
/// every cut is moved back to a character boundary.
#[derive(Clone, Debug)]
enum Mutation {
    /// Cuts about `len` bytes.
    Delete { at: Index, len: usize },
    /// Inserts one of [`TOKENS`].
    Insert { at: Index, token: &'static str },
    /// Inserts `piece` inside a string literal (anywhere, when there is none).
    InString { at: Index, piece: &'static str },
    /// Inserts any character.
    InsertChar { at: Index, c: char },
    /// Copies about `len` bytes from one place to another.
    Duplicate { from: Index, len: usize, to: Index },
    /// Exchanges two ranges (the later one is cut back where they overlap).
    Swap {
        a: Index,
        a_len: usize,
        b: Index,
        b_len: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let len = || prop_oneof![4 => 0usize..16, 1 => 0usize..4096];
    let piece = prop_oneof![4 => select(CLEAN_PIECES), 1 => select(BROKEN_PIECES)];
    prop_oneof![
        2 => (any::<Index>(), len()).prop_map(|(at, len)| Mutation::Delete { at, len }),
        3 => (any::<Index>(), select(TOKENS))
            .prop_map(|(at, token)| Mutation::Insert { at, token }),
        3 => (any::<Index>(), piece).prop_map(|(at, piece)| Mutation::InString { at, piece }),
        1 => (any::<Index>(), any::<char>()).prop_map(|(at, c)| Mutation::InsertChar { at, c }),
        1 => (any::<Index>(), len(), any::<Index>())
            .prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
        1 => (any::<Index>(), len(), any::<Index>(), len())
            .prop_map(|(a, a_len, b, b_len)| Mutation::Swap { a, a_len, b, b_len }),
    ]
}

/// The offsets inside string values (not keys, not the schema URI) where text can go without
/// touching an escape: from just after the opening quote to the closing quote, except right
/// after a backslash.
fn string_positions(text: &str) -> Vec<usize> {
    let mut positions = Vec::new();
    // The opening quote of the literal being read, and its positions so far.
    let mut literal: Option<(usize, Vec<usize>)> = None;
    let mut escaped = false;
    for (offset, c) in text.char_indices() {
        let Some((open, inside)) = &mut literal else {
            if c == '"' {
                literal = Some((offset, Vec::new()));
            }
            continue;
        };
        if escaped {
            escaped = false;
            continue;
        }
        inside.push(offset);
        match c {
            '\\' => escaped = true,
            '"' => {
                let is_key = text[offset + 1..].trim_start().starts_with(':');
                let is_schema = text[*open + 1..].starts_with("iglu:");
                if !is_key && !is_schema {
                    positions.append(inside);
                }
                literal = None;
            }
            _ => {}
        }
    }
    positions
}

/// The last character boundary at or before `at` (clamped to the text).
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A position in `text` picked by `at`, on a character boundary.
fn position(text: &str, at: Index) -> usize {
    floor_boundary(text, at.index(text.len() + 1))
}

/// A range of about `len` bytes starting at the position `at` picks, on character boundaries.
fn range(text: &str, at: Index, len: usize) -> Range<usize> {
    let start = position(text, at);
    start..floor_boundary(text, start.saturating_add(len))
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    match *mutation {
        Mutation::Delete { at, len } => {
            let cut = range(text, at, len);
            out.push_str(&text[..cut.start]);
            out.push_str(&text[cut.end..]);
        }
        Mutation::Insert { at, token } => {
            let at = position(text, at);
            out.push_str(&text[..at]);
            out.push_str(token);
            out.push_str(&text[at..]);
        }
        Mutation::InString { at, piece } => {
            let positions = string_positions(text);
            let at = if positions.is_empty() {
                position(text, at)
            } else {
                positions[at.index(positions.len())]
            };
            out.push_str(&text[..at]);
            out.push_str(piece);
            out.push_str(&text[at..]);
        }
        Mutation::InsertChar { at, c } => {
            let at = position(text, at);
            out.push_str(&text[..at]);
            out.push(c);
            out.push_str(&text[at..]);
        }
        Mutation::Duplicate { from, len, to } => {
            let copied = range(text, from, len);
            let to = position(text, to);
            out.push_str(&text[..to]);
            out.push_str(&text[copied]);
            out.push_str(&text[to..]);
        }
        Mutation::Swap { a, a_len, b, b_len } => {
            let (first, second) = {
                let a = range(text, a, a_len);
                let b = range(text, b, b_len);
                if a.start <= b.start { (a, b) } else { (b, a) }
            };
            // Overlapping ranges: keep only the part of the second after the first.
            let second = first.end.max(second.start)..first.end.max(second.end);
            out.push_str(&text[..first.start]);
            out.push_str(&text[second.clone()]);
            out.push_str(&text[first.end..second.start]);
            out.push_str(&text[first]);
            out.push_str(&text[second.end..]);
        }
    }
    out
}

/// A fixture after some edits: any edits, or only insertions into strings, which mostly leave
/// a file the fast path still takes and so test the two paths' spans on real files.
fn mutated_fixture() -> impl Strategy<Value = String> {
    let in_string = (
        any::<Index>(),
        prop_oneof![8 => select(CLEAN_PIECES), 1 => select(BROKEN_PIECES)],
    )
        .prop_map(|(at, piece)| Mutation::InString { at, piece });
    let mutations = prop_oneof![
        2 => vec(mutation(), 1..5),
        1 => vec(in_string, 1..4),
    ];
    (0..fixtures().len(), mutations).prop_map(|(fixture, mutations)| {
        mutations
            .iter()
            .fold(fixtures()[fixture].text.clone(), |text, m| apply(&text, m))
    })
}

// --- random factfiles ---

/// How an object is written.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// As modelled.
    Plain,
    /// Keys in another (still valid) order.
    Rotated(Index),
    /// One key spelled with a `\u` escape (still valid).
    EscapedKey(Index),
    /// One key left out.
    Missing(Index),
    /// An unknown key added.
    Extra(Index, &'static str),
    /// One key written twice.
    Duplicate(Index),
    /// The values alone, in an array.
    AsArray,
}

fn shape(chaos: bool) -> BoxedStrategy<Shape> {
    let valid = prop_oneof![
        12 => Just(Shape::Plain),
        1 => any::<Index>().prop_map(Shape::Rotated),
        1 => any::<Index>().prop_map(Shape::EscapedKey),
    ];
    if !chaos {
        return valid.boxed();
    }
    let unknown = select(&["retries", "dependson", "Name", "tasks", "onresult", ""][..]);
    prop_oneof![
        14 => valid,
        1 => any::<Index>().prop_map(Shape::Missing),
        1 => (any::<Index>(), unknown).prop_map(|(at, key)| Shape::Extra(at, key)),
        1 => any::<Index>().prop_map(Shape::Duplicate),
        1 => Just(Shape::AsArray),
    ]
    .boxed()
}

/// Pieces of string literals that decode cleanly; some hold template mistakes, which are not
/// syntax or schema problems.
const CLEAN_PIECES: &[&str] = &[
    "a",
    "b",
    "echo ",
    " ",
    "é",
    "😀",
    "\u{7f}",
    "\\\"",
    "\\\\",
    "\\/",
    "\\n",
    "\\t",
    "\\b",
    "\\u00e9",
    "\\u0041",
    "\\ud83d\\ude00",
    "\\u007b\\u007b y }}",
    "{{ a }}",
    "{{{b}}}",
    "{{& c}}",
    "{{tag:env}}",
    "{{a.b}}",
    "{{! note }}",
    "{{x",
    "{{#s}}",
    "{{/s}}",
    "{{>p}}",
    "{{}}",
    "{{a..b}}",
    "}}",
    "{",
];

/// Pieces that break a string literal.
const BROKEN_PIECES: &[&str] = &[
    "\\uD800",
    "\\udc00",
    "\\ud83d\\u0041",
    "\\u12",
    "\\x",
    "\\",
    "\"",
    "\u{1}",
    "\n",
];

fn string_literal(chaos: bool) -> BoxedStrategy<String> {
    let piece = if chaos {
        prop_oneof![12 => select(CLEAN_PIECES), 1 => select(BROKEN_PIECES)].boxed()
    } else {
        select(CLEAN_PIECES).boxed()
    };
    vec(piece, 0..5)
        .prop_map(|pieces| format!("\"{}\"", pieces.concat()))
        .boxed()
}

/// Values that are the wrong type for most fields.
const WRONG_VALUES: &[&str] = &["null", "5", "true", "[]", "{}", "[\"a\"]", "\"x\""];

/// A string value; with `chaos`, sometimes a broken one or not a string at all.
fn string_value(chaos: bool) -> BoxedStrategy<String> {
    if chaos {
        prop_oneof![
            10 => string_literal(true),
            1 => select(WRONG_VALUES).prop_map(str::to_owned),
        ]
        .boxed()
    } else {
        string_literal(false)
    }
}

/// A task name, mostly from a small pool so duplicates, unknown and self dependencies and
/// cycles happen. `"\u0061"` is `a` spelled otherwise; `{{ a }}` and `{{a}}` normalise alike.
fn task_name(chaos: bool) -> BoxedStrategy<String> {
    let pool = &[
        "\"a\"",
        "\"b\"",
        "\"c\"",
        "\"d\"",
        "\"\\u0061\"",
        "\"{{ a }}\"",
        "\"{{a}}\"",
        "\"a \"",
        "\"\"",
    ][..];
    prop_oneof![8 => select(pool).prop_map(str::to_owned), 1 => string_value(chaos)].boxed()
}

fn exit_code(chaos: bool) -> BoxedStrategy<String> {
    let valid = prop_oneof![
        6 => (0u16..4).prop_map(|code| code.to_string()),
        2 => (0u16..=32767).prop_map(|code| code.to_string()),
    ];
    if !chaos {
        return valid.boxed();
    }
    let odd = &[
        "1.5", "1e2", "\"3\"", "-0", "1e999999", "0.0", "null", "true", "32768", "-1",
    ][..];
    prop_oneof![
        10 => valid,
        2 => (-2i32..40000).prop_map(|code| code.to_string()),
        1 => select(odd).prop_map(str::to_owned),
    ]
    .boxed()
}

/// An array field's value: an array of `item`s, or (with `chaos`) something else.
fn array_of(item: BoxedStrategy<String>, chaos: bool) -> BoxedStrategy<Node> {
    let array = vec(item, 0..4)
        .prop_map(|items| Node::Array(items.into_iter().map(Node::Token).collect()))
        .boxed();
    if chaos {
        prop_oneof![
            12 => array,
            1 => select(WRONG_VALUES).prop_map(|value| Node::Token(value.to_owned())),
        ]
        .boxed()
    } else {
        array
    }
}

/// A JSON document before whitespace is chosen: tokens already spelled.
#[derive(Clone, Debug)]
enum Node {
    Token(String),
    Array(Vec<Node>),
    Object(Shape, Vec<(&'static str, Node)>),
}

fn task(chaos: bool) -> impl Strategy<Value = Node> {
    let on_result = (
        shape(chaos),
        array_of(exit_code(chaos), chaos),
        array_of(exit_code(chaos), chaos),
    )
        .prop_map(|(shape, terminate, continue_job)| {
            Node::Object(
                shape,
                vec![
                    ("terminateJobWithSuccess", terminate),
                    ("continueJob", continue_job),
                ],
            )
        });
    let executors = select(&["\"shell\"", "\"docker\"", "\"\""][..]).prop_map(str::to_owned);
    let executor = if chaos {
        prop_oneof![4 => executors, 1 => string_value(true)].boxed()
    } else {
        executors.boxed()
    };
    (
        shape(chaos),
        task_name(chaos),
        executor,
        string_value(chaos),
        array_of(string_value(chaos), chaos),
        array_of(task_name(chaos), chaos),
        on_result,
        task_options(chaos),
    )
        .prop_map(
            |(shape, name, executor, command, arguments, depends_on, on_result, options)| {
                let mut members = vec![
                    ("name", Node::Token(name)),
                    ("executor", Node::Token(executor)),
                    ("command", Node::Token(command)),
                    ("arguments", arguments),
                    ("dependsOn", depends_on),
                    ("onResult", on_result),
                ];
                members.extend(options);
                Node::Object(shape, members)
            },
        )
}

/// A number for an option: in range, out of it, or not a number at all.
fn option_number(chaos: bool) -> BoxedStrategy<Node> {
    let valid = &["1", "2", "0.5", "3", "1.25", "60", "2.000"][..];
    let invalid = &[
        "0",
        "-1",
        "0.0001",
        "1e3",
        "101",
        "99999999999",
        "\"2\"",
        "null",
    ][..];
    let number = if chaos {
        prop_oneof![4 => select(valid), 1 => select(invalid)].boxed()
    } else {
        select(valid).boxed()
    };
    number.prop_map(|text| Node::Token(text.to_owned())).boxed()
}

/// An object whose keys are the user's names (environment variables, pools), each value made
/// by `value`.
fn named_members(value: BoxedStrategy<Node>) -> BoxedStrategy<Node> {
    let names = &["PGHOST", "DAY", "db", "A=B", "", "DAY"][..];
    vec((select(names), value), 0..3)
        .prop_map(|members| Node::Object(Shape::Plain, members))
        .boxed()
}

/// The options of schema 1-1-0 a task may have, each present or not.
fn task_options(chaos: bool) -> BoxedStrategy<Vec<(&'static str, Node)>> {
    let retry = (
        option_number(chaos),
        prop::option::of(option_number(chaos)),
        prop::option::of(option_number(chaos)),
        prop::option::of(option_number(chaos)),
        prop::option::of(array_of(exit_code(chaos), chaos)),
    )
        .prop_map(|(attempts, delay, backoff, max_delay, on_codes)| {
            let mut members = vec![("attempts", attempts)];
            members.extend(delay.map(|value| ("delaySeconds", value)));
            members.extend(backoff.map(|value| ("backoff", value)));
            members.extend(max_delay.map(|value| ("maxDelaySeconds", value)));
            members.extend(on_codes.map(|value| ("onCodes", value)));
            Node::Object(Shape::Plain, members)
        });
    (
        prop::option::weighted(0.2, retry),
        prop::option::weighted(0.2, option_number(chaos)),
        prop::option::weighted(
            0.2,
            named_members(string_value(chaos).prop_map(Node::Token).boxed()),
        ),
        prop::option::weighted(0.2, string_value(chaos)),
        prop::option::weighted(0.2, select(&["\"db\"", "\"web\"", "\"\""][..])),
    )
        .prop_map(|(retry, timeout, env, directory, pool)| {
            let mut members = Vec::new();
            members.extend(retry.map(|value| ("retry", value)));
            members.extend(timeout.map(|value| ("timeoutSeconds", value)));
            members.extend(env.map(|value| ("env", value)));
            members.extend(directory.map(|value| ("workingDirectory", Node::Token(value))));
            members.extend(pool.map(|value| ("pool", Node::Token(value.to_owned()))));
            members
        })
        .boxed()
}

fn factfile_node(chaos: bool) -> impl Strategy<Value = Node> {
    let schema = {
        let valid = &[
            "\"iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0\"",
            "\"iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-1-0\"",
            "\"iglu:com.acme/whatever/jsonschema/9-9-9\"",
            "\"iglu:com.snowplowanalytics.factotum\\/factfile\\/jsonschema\\/1-0-0\"",
        ][..];
        let invalid = &[
            "\"http://example.com/schema\"",
            "\"iglu:a/b/c/1-0\"",
            "\"iglu:a b/c/d/1-0-0\"",
            "\"\"",
            "5",
        ][..];
        if chaos {
            prop_oneof![4 => select(valid), 1 => select(invalid)].boxed()
        } else {
            select(valid).boxed()
        }
    };
    let tasks = vec(task(chaos), 0..=8).prop_map(Node::Array);
    let tasks = if chaos {
        prop_oneof![
            12 => tasks,
            1 => select(WRONG_VALUES).prop_map(|value| Node::Token(value.to_owned())),
        ]
        .boxed()
    } else {
        tasks.boxed()
    };
    (
        shape(chaos),
        schema,
        shape(chaos),
        string_value(chaos),
        tasks,
        prop::option::weighted(0.3, constraints(chaos)),
        prop::option::weighted(0.2, option_number(chaos)),
        prop::option::weighted(0.2, named_members(option_number(chaos))),
    )
        .prop_map(
            |(envelope, schema, data, name, tasks, constraints, timeout, pools)| {
                let mut members = vec![("name", Node::Token(name)), ("tasks", tasks)];
                members.extend(constraints.map(|constraints| ("constraints", constraints)));
                members.extend(timeout.map(|timeout| ("timeoutSeconds", timeout)));
                members.extend(pools.map(|pools| ("pools", pools)));
                let data = Node::Object(data, members);
                Node::Object(
                    envelope,
                    vec![("schema", Node::Token(schema.to_owned())), ("data", data)],
                )
            },
        )
}

/// Job-level constraints (schema 1-1-0): `type,value` strings, some of them unusable, which
/// is a lint problem, not a schema one.
fn constraints(chaos: bool) -> BoxedStrategy<Node> {
    let known = &[
        "\"host,*\"",
        "\"host,db1\"",
        "\"host,10.0.0.1\"",
        "\"host\"",
        "\"disk,ssd\"",
    ][..];
    let constraint = prop_oneof![
        4 => select(known).prop_map(str::to_owned),
        1 => string_literal(chaos),
    ];
    let array = vec(constraint, 0..3)
        .prop_map(|items| Node::Array(items.into_iter().map(Node::Token).collect()));
    if !chaos {
        return array.boxed();
    }
    let wrong = &["5", "true", "{}", "\"host,*\"", "[[]]"][..];
    prop_oneof![
        12 => array,
        1 => select(wrong).prop_map(|value| Node::Token(value.to_owned())),
        2 => Just(Node::Token("null".to_owned())),
    ]
    .boxed()
}

/// Whitespace to put before a token, picked in turn from a generated list.
const SPACES: &[&str] = &["", "", "", " ", " ", "\n", "\t", "  ", "\r\n", "\n    "];

/// Writes a [`Node`] with generated whitespace between tokens.
struct Writer {
    out: String,
    spaces: Vec<usize>,
    next: usize,
}

impl Writer {
    fn token(&mut self, token: &str) {
        if !self.spaces.is_empty() {
            let choice = self.spaces[self.next % self.spaces.len()];
            self.next += 1;
            self.out.push_str(SPACES[choice % SPACES.len()]);
        }
        self.out.push_str(token);
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::Token(token) => self.token(token),
            Node::Array(items) => self.array(items.iter()),
            Node::Object(shape, members) => self.object(*shape, members),
        }
    }

    fn array<'n>(&mut self, items: impl Iterator<Item = &'n Node>) {
        self.token("[");
        for (i, item) in items.enumerate() {
            if i > 0 {
                self.token(",");
            }
            self.node(item);
        }
        self.token("]");
    }

    fn object(&mut self, shape: Shape, members: &[(&'static str, Node)]) {
        let extra = Node::Token("3".to_owned());
        let mut members: Vec<(String, &Node)> = members
            .iter()
            .map(|(key, value)| (format!("\"{key}\""), value))
            .collect();
        let len = members.len();
        match shape {
            Shape::Plain => {}
            Shape::Rotated(at) => members.rotate_left(at.index(len)),
            Shape::EscapedKey(at) => {
                let key = &mut members[at.index(len)].0;
                let first = key[1..].chars().next().expect("keys are not empty");
                *key = format!("\"\\u{:04x}{}", u32::from(first), &key[2..]);
            }
            Shape::Missing(at) => {
                members.remove(at.index(len));
            }
            Shape::Extra(at, key) => {
                members.insert(at.index(len + 1), (format!("\"{key}\""), &extra));
            }
            Shape::Duplicate(at) => {
                let copy = members[at.index(len)].clone();
                members.push(copy);
            }
            Shape::AsArray => return self.array(members.into_iter().map(|(_, value)| value)),
        }
        self.token("{");
        for (i, (key, value)) in members.into_iter().enumerate() {
            if i > 0 {
                self.token(",");
            }
            self.token(&key);
            self.token(":");
            self.node(value);
        }
        self.token("}");
    }
}

/// A random factfile: half of them schema-valid (template mistakes aside), half with some
/// syntax or schema damage.
fn factfile() -> impl Strategy<Value = String> {
    any::<bool>()
        .prop_flat_map(|chaos| (factfile_node(chaos), vec(0..SPACES.len(), 0..24)))
        .prop_map(|(node, spaces)| {
            let mut writer = Writer {
                out: String::new(),
                spaces,
                next: 0,
            };
            writer.node(&node);
            writer.token("");
            writer.out
        })
}

// --- properties ---

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_text_survives(chars in vec(any::<char>(), 0..200)) {
        let text: String = chars.into_iter().collect();
        check_survives(&text)?;
        paths_agree(&text)?;
    }

    #[test]
    fn token_soup_survives(tokens in vec(select(TOKENS), 0..60)) {
        let text = tokens.concat();
        check_survives(&text)?;
        paths_agree(&text)?;
        fast_takes_what_exact_accepts(&text)?;
    }

    #[test]
    fn arbitrary_bytes_survive(
        bytes in vec(prop_oneof![
            3 => select(&b"{}[],:\"\\ \nu0123456789aeE+-.nulltrue"[..]),
            1 => any::<u8>(),
        ], 0..200)
    ) {
        let (source, problem) = Source::from_bytes("f.factfile".to_owned(), bytes);
        if let Some(problem) = problem {
            prop_assert!(
                matches!(problem.problem, Problem::NotUtf8 { .. }),
                "{:?}",
                problem
            );
            diagnostics_point_into(&source.text, &[problem])?;
        } else {
            let diagnostics = crate::check(&source, None);
            diagnostics_point_into(&source.text, &diagnostics)?;
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn mutated_fixtures_survive_and_paths_agree(text in mutated_fixture()) {
        check_survives(&text)?;
        paths_agree(&text)?;
        fast_takes_what_exact_accepts(&text)?;
    }
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn random_factfiles_survive_and_paths_agree(text in factfile()) {
        check_survives(&text)?;
        paths_agree(&text)?;
        fast_takes_what_exact_accepts(&text)?;
    }
}

// --- 0.7's own files ---

#[test]
fn fixtures_agree_and_keep_their_verdicts() {
    let expect_errors = [
        "tests-resources/example_invalid_no_continue.factfile",
        "tests-resources/example_invalid_no_name.factfile",
        "tests-resources/example_invalid_terminate_continue_same.factfile",
        "tests-resources/example_wrong_type.factfile",
        "tests-resources/invalid_json.factfile",
    ];
    let mut clean = 0;
    let mut broken = 0;
    for fixture in fixtures() {
        let text = &fixture.text;
        let name = &fixture.name;
        paths_agree(text).unwrap_or_else(|error| panic!("{name}: {error}"));
        fast_takes_what_exact_accepts(text).unwrap_or_else(|error| panic!("{name}: {error}"));
        let diagnostics = crate::check(&Source::new(name.as_str(), text.as_str()), None);
        diagnostics_point_into(text, &diagnostics)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        if name.starts_with("samples/") || name == "tests-resources/example_ok.factfile" {
            assert_eq!(errors(&diagnostics), 0, "{name}: {diagnostics:#?}");
            clean += 1;
        } else if expect_errors.contains(&name.as_str()) {
            assert!(errors(&diagnostics) > 0, "{name} passed the check");
            broken += 1;
        }
    }
    assert!(
        clean > 1,
        "only {clean} fixtures expected to pass were found"
    );
    assert_eq!(
        broken,
        expect_errors.len(),
        "some fixtures expected to fail are missing"
    );
}

// --- the grammar and the decoder, one case at a time ---

/// A one-task factfile whose `arguments` array and `continueJob` codes are `arguments` and
/// `codes`, spelled as JSON.
fn one_task(task_name: &str, arguments: &str, codes: &str) -> String {
    format!(
        r#"{{"schema": "{SCHEMA_1_0_0}", "data": {{"name": "j", "tasks": [{{"name": {task_name}, "executor": "shell", "command": "echo", "arguments": {arguments}, "dependsOn": [], "onResult": {{"terminateJobWithSuccess": [], "continueJob": {codes}}}}}]}}}}"#
    )
}

/// The span of the only occurrence of `needle` in `text`.
fn span_of(text: &str, needle: &str) -> Span {
    let start = text.find(needle).expect("the needle is in the text");
    assert_eq!(
        text.matches(needle).count(),
        1,
        "{needle:?} occurs more than once"
    );
    Span::new(start, start + needle.len())
}

#[test]
fn one_task_builds_a_valid_file() {
    // The helper itself must build a file both paths take.
    let text = one_task("\"t\"", "[]", "[0]");
    let (job, diagnostics) = fast::parse(&text).expect("the fast path takes a valid file");
    assert!(diagnostics.is_empty());
    assert_eq!(job.tasks.len(), 1);
    paths_agree(&text).unwrap();
}

#[test]
fn deep_nesting_is_refused_before_pest() {
    let text = "[".repeat(200_000);
    let diagnostics = crate::check(&Source::new("deep.factfile", text.as_str()), None);
    assert_eq!(codes(&diagnostics), ["E102"]);
    // Level `MAX_DEPTH + 1` opens at offset `MAX_DEPTH`.
    assert_eq!(diagnostics[0].span(), Some(Span::at(depth::MAX_DEPTH)));

    let text = "{\"a\":".repeat(200_000);
    let diagnostics = crate::check(&Source::new("deep.factfile", text.as_str()), None);
    assert_eq!(codes(&diagnostics), ["E102"]);
    assert_eq!(diagnostics[0].span(), Some(Span::at(5 * depth::MAX_DEPTH)));

    // Exactly at the limit is still parsed; the array is then the wrong kind of document.
    let text = format!(
        "{}{}",
        "[".repeat(depth::MAX_DEPTH),
        "]".repeat(depth::MAX_DEPTH)
    );
    let diagnostics = crate::check(&Source::new("deep.factfile", text.as_str()), None);
    assert_eq!(codes(&diagnostics), ["E203"]);
}

#[test]
fn huge_exponent_is_not_an_integer_code() {
    let text = one_task("\"t\"", "[]", "[1e999999]");
    assert!(fast::parse(&text).is_none());
    let exact = exact::parse(&text);
    assert_eq!(codes(&exact.diagnostics), ["E204"]);
    let diagnostic = &exact.diagnostics[0];
    assert_eq!(
        diagnostic.problem,
        Problem::CodeNotInteger {
            found: "1e999999".to_owned()
        }
    );
    assert_eq!(diagnostic.span(), Some(span_of(&text, "1e999999")));
    let checked = crate::check(&Source::new("f.factfile", text.as_str()), None);
    assert_eq!(codes(&checked), ["E204"]);
}

#[test]
fn lone_surrogates_point_at_their_escape() {
    // (the name literal, the escape that is reported)
    let cases = [
        (r#""x\uD800y""#, r"\uD800"),
        (r#""\udc00""#, r"\udc00"),
        (r#""é\uD83D\u0041""#, r"\uD83D"),
        (r#""\uD800""#, r"\uD800"),
    ];
    for (name, escape) in cases {
        let text = one_task(name, "[]", "[0]");
        assert!(fast::parse(&text).is_none(), "{text}");
        let exact = exact::parse(&text);
        assert_eq!(codes(&exact.diagnostics), ["E103"], "{text}");
        let diagnostic = &exact.diagnostics[0];
        let Problem::BadEscape { detail } = &diagnostic.problem else {
            panic!("{diagnostic:?}")
        };
        assert!(detail.starts_with("lone surrogate"), "{detail}");
        assert_eq!(diagnostic.span(), Some(span_of(&text, escape)), "{text}");
        // The task is left out, so the job is incomplete and references are not judged.
        assert!(!exact.complete);
        let checked = crate::check(&Source::new("f.factfile", text.as_str()), None);
        assert_eq!(codes(&checked), ["E103"], "{text}");
    }
}

#[test]
fn placeholders_after_escapes_keep_their_source_span() {
    // (the argument literal, its decoded text, the tag in the decoded text, the tag as written)
    let cases = [
        (r#""a\nb {{ x }}""#, "a\nb {{ x }}", "{{ x }}", "{{ x }}"),
        (
            r#""\u00e9\ud83d\ude00 {{ x }}""#,
            "é😀 {{ x }}",
            "{{ x }}",
            "{{ x }}",
        ),
        (
            r#""\"{{{ x }}}\"""#,
            "\"{{{ x }}}\"",
            "{{{ x }}}",
            "{{{ x }}}",
        ),
        (r#""é\\{{& x}}\t""#, "é\\{{& x}}\t", "{{& x}}", "{{& x}}"),
        (
            r#""\u007b\u007b x }}""#,
            "{{ x }}",
            "{{ x }}",
            r"\u007b\u007b x }}",
        ),
        (
            r#""\t{{ x \u007d}""#,
            "\t{{ x }}",
            "{{ x }}",
            r"{{ x \u007d}",
        ),
    ];
    for (literal, decoded, tag, written) in cases {
        let text = one_task("\"t\"", &format!("[{literal}]"), "[0]");
        let (job, diagnostics) = fast::parse(&text).expect("a valid file");
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        paths_agree(&text).unwrap();
        let argument = &job.tasks[0].arguments[0];
        assert_eq!(&*argument.text, decoded);
        assert_eq!(argument.span, span_of(&text, literal));
        let [placeholder] = &argument.placeholders[..] else {
            panic!("{:?}", argument.placeholders)
        };
        assert_eq!(placeholder.name, "x");
        assert_eq!(&argument.text[placeholder.range.clone()], tag);
        assert_eq!(placeholder.span, span_of(&text, written), "{literal}");
    }
}

#[test]
fn malformed_placeholder_after_escapes_points_into_the_source() {
    let text = one_task("\"t\"", r#"["\u00e9\n{{x"]"#, "[0]");
    let (_, diagnostics) = fast::parse(&text).expect("template problems do not stop the fast path");
    paths_agree(&text).unwrap();
    assert_eq!(codes(&diagnostics), ["E300"]);
    // An unclosed tag runs to the end of the string, before the closing quote.
    assert_eq!(diagnostics[0].span(), Some(span_of(&text, "{{x")));
}

#[test]
fn empty_input_is_a_syntax_error_at_its_end() {
    let diagnostics = crate::check(&Source::new("empty.factfile", ""), None);
    assert_eq!(codes(&diagnostics), ["E100"]);
    assert_eq!(diagnostics[0].span(), Some(Span::new(0, 0)));
    assert_eq!(
        diagnostics[0].problem,
        Problem::JsonSyntax {
            expected: "a value".to_owned(),
            found: "end of file".to_owned()
        }
    );
}

// --- regressions: bugs the properties above found ---

/// serde reads a struct from a JSON array of its fields in order, so the fast path once took an
/// array wherever the schema wants an object (the envelope, `data`, a task, `onResult`).
#[test]
fn array_in_place_of_an_object_is_refused() {
    let on_result = r#"{"terminateJobWithSuccess": [], "continueJob": [0]}"#;
    let cases = [
        (
            r#"["iglu:a/b/c/1-0-0",["j",[]]]"#.to_owned(),
            r#"["iglu:a/b/c/1-0-0",["j",[]]]"#,
        ),
        (
            one_task("\"t\"", "[]", "[0]").replace(on_result, "[[], [0]]"),
            "[[], [0]]",
        ),
    ];
    for (text, array) in cases {
        assert!(fast::parse(&text).is_none(), "the fast path took {text}");
        let diagnostics = crate::check(&Source::new("f.factfile", text.as_str()), None);
        assert_eq!(codes(&diagnostics), ["E203"], "{text}");
        assert_eq!(diagnostics[0].span(), Some(span_of(&text, array)), "{text}");
    }
}

/// serde reads `null` as `None` for an `Option`, so the fast path once took
/// `"constraints": null` as no constraints (even under schema 1-0-0, which has none).
#[test]
fn null_constraints_are_refused() {
    for (schema, expected) in [
        (crate::ir::SCHEMA_1_1_0, &["E203"][..]),
        (SCHEMA_1_0_0, &["E207", "E203"][..]),
    ] {
        let text = one_task("\"t\"", "[]", "[0]")
            .replace(SCHEMA_1_0_0, schema)
            .replace(r#""name": "j","#, r#""name": "j", "constraints": null,"#);
        assert!(fast::parse(&text).is_none(), "the fast path took {text}");
        let diagnostics = crate::check(&Source::new("f.factfile", text.as_str()), None);
        assert_eq!(codes(&diagnostics), expected, "{text}");
        let null = text.find("null").expect("the null is in the text");
        assert_eq!(
            diagnostics.last().and_then(Diagnostic::span),
            Some(Span::new(null, null + 4))
        );
    }
}

// --- pest on pieces against pest on the whole file ---

/// The region path must give what the exact path gives on the whole file: the same job, the
/// same diagnostics in the same order, the same verdict on completeness.
fn regions_agree(text: &str) -> Result<(), TestCaseError> {
    let whole = exact::parse(text);
    let Some(pieces) = region::in_pieces(text) else {
        // The region path falls back on the whole file, which agrees by construction.
        return Ok(());
    };
    prop_assert_eq!(pieces.job, whole.job, "the jobs differ for {:?}", text);
    prop_assert_eq!(
        pieces.diagnostics,
        whole.diagnostics,
        "the diagnostics differ for {:?}",
        text
    );
    prop_assert_eq!(
        pieces.complete,
        whole.complete,
        "completeness differs for {:?}",
        text
    );
    Ok(())
}

/// A factfile of up to a dozen tasks, mostly valid: some tasks broken (bad codes, wrong types,
/// missing, unknown or duplicate keys), sometimes an unknown or missing key in the envelope or
/// the job.
fn mostly_valid_factfile() -> impl Strategy<Value = String> {
    let tasks = vec(prop_oneof![6 => task(false), 1 => task(true)], 0..12).prop_map(Node::Array);
    let schema = select(
        &[
            "\"iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0\"",
            "\"iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-1-0\"",
        ][..],
    );
    let shape = || prop_oneof![8 => shape(false), 1 => shape(true)];
    (
        (shape(), schema, shape(), string_value(false)),
        tasks,
        prop::option::weighted(0.2, constraints(false)),
        vec(0..SPACES.len(), 0..24),
    )
        .prop_map(
            |((envelope, schema, data, name), tasks, constraints, spaces)| {
                let mut members = vec![("name", Node::Token(name)), ("tasks", tasks)];
                members.extend(constraints.map(|constraints| ("constraints", constraints)));
                let root = Node::Object(
                    envelope,
                    vec![
                        ("schema", Node::Token(schema.to_owned())),
                        ("data", Node::Object(data, members)),
                    ],
                );
                let mut writer = Writer {
                    out: String::new(),
                    spaces,
                    next: 0,
                };
                writer.node(&root);
                writer.token("");
                writer.out
            },
        )
}

/// What is done to a file after it is written.
#[derive(Clone, Debug)]
enum Damage {
    /// Nothing: the file's own broken tasks or keys are the test.
    None,
    /// The file ends early, as a copy cut short does.
    Truncate(Index),
    /// One edit anywhere, mostly a syntax error somewhere in the middle.
    Edit(Mutation),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        2 => Just(Damage::None),
        1 => any::<Index>().prop_map(Damage::Truncate),
        3 => mutation().prop_map(Damage::Edit),
    ]
}

fn damaged(text: &str, damage: &Damage) -> String {
    match damage {
        Damage::None => text.to_owned(),
        Damage::Truncate(at) => text[..position(text, *at)].to_owned(),
        Damage::Edit(mutation) => apply(text, mutation),
    }
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn region_path_agrees_with_the_whole_file(
        text in mostly_valid_factfile(),
        damage in damage(),
    ) {
        regions_agree(&damaged(&text, &damage))?;
    }

    #[test]
    fn region_path_agrees_on_mutated_fixtures(text in mutated_fixture()) {
        regions_agree(&text)?;
    }

    #[test]
    fn region_path_agrees_on_random_factfiles(text in factfile()) {
        regions_agree(&text)?;
    }
}

/// A valid job of `tasks` one-line tasks, each depending on the one before.
fn long_job(tasks: usize) -> String {
    let task = |i: usize| {
        let depends = if i == 0 {
            String::new()
        } else {
            format!("\"t{}\"", i - 1)
        };
        format!(
            r#"{{"name": "t{i}", "executor": "shell", "command": "echo {i}", "arguments": [], "dependsOn": [{depends}], "onResult": {{"terminateJobWithSuccess": [3], "continueJob": [0]}}}}"#
        )
    };
    let tasks: Vec<String> = (0..tasks).map(task).collect();
    format!(
        "{{\"schema\": \"{SCHEMA_1_0_0}\", \"data\": {{\"name\": \"long\", \"tasks\": [\n{}\n]}}}}\n",
        tasks.join(",\n")
    )
}

/// The damage the benchmarks time, and its neighbours, on a job long enough that pest on the
/// whole file and pest on pieces differ: each keeps the whole file's wording and spans.
#[test]
fn errors_at_the_end_of_a_long_job_are_worded_as_on_the_whole_file() {
    let valid = long_job(300);
    assert!(fast::parse(&valid).is_some());
    let last = valid.rfind(r#""continueJob": [0]"#).expect("a last task");
    let edits = [
        // An unknown key in the last task, and in the job after the tasks.
        valid.replacen(r#"{"name": "t299""#, r#"{"retries": 1, "name": "t299""#, 1),
        valid.replacen("]}}\n", r#"], "retries": 1}}"#, 1),
        // The tasks key misspelled, and the data key: pest must not see the tasks either way.
        valid.replacen(r#""tasks":"#, r#""Tasks":"#, 1),
        valid.replacen(r#""data":"#, r#""Data":"#, 1),
        // A bad exit code in the last task.
        format!("{}[70000]{}", &valid[..last + 15], &valid[last + 18..]),
        // Syntax errors: a missing comma, a trailing comma, a truncated file, garbage after it.
        valid.replacen("},\n{\"name\": \"t299\"", "}\n{\"name\": \"t299\"", 1),
        valid.replacen("}\n]}}", "},\n]}}", 1),
        valid[..valid.len() - 3].to_owned(),
        valid[..last + 17].to_owned(),
        format!("{valid}x"),
        // A string that never ends, and one with a bad escape followed by more text.
        format!("{}\"t299", &valid[..valid.rfind("\"t299\"").expect("t299")]),
        valid.replacen("echo 299", "echo \\q 299", 1),
    ];
    for text in &edits {
        assert_ne!(text, &valid, "an edit changed nothing");
        assert!(fast::parse(text).is_none(), "the fast path took {text}");
        assert!(
            region::in_pieces(text).is_some(),
            "pest needed the whole file for {text}"
        );
        regions_agree(text).unwrap();
        let whole = exact::parse(text);
        assert!(!whole.diagnostics.is_empty(), "no diagnostic for {text}");
    }
}
