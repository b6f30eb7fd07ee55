//! Property tests of the DSL front end and of `fmt`: hostile input never panics and only points
//! inside the text; the fast and the exact path agree; the canonical form re-parses to the same
//! job with the same comments, and is reached in one step; JSON and the DSL convert into each
//! other without loss.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;

use super::{exact, fast, parse};
use crate::comment::{Anchor, Place};
use crate::diag::Diagnostic;
use crate::ir::{SCHEMA_1_0_0, SCHEMA_1_1_0};
use crate::render;
use crate::span::Span;
use crate::syntax::Parsed;
use crate::syntax::testing::{config, diagnostics_point_into, job_points_into};

// --- shared checks ---

fn codes(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
    diagnostics.iter().map(|d| d.problem.code()).collect()
}

/// Whether `fmt` and `convert` would take the parsed file.
fn rewritable(parsed: &Parsed) -> bool {
    parsed.job.is_some() && !parsed.diagnostics.iter().any(|d| d.problem.is_structural())
}

/// The job as canonical JSON: everything the IR says but spans, so two parses of the same job
/// in different spellings compare equal.
fn meaning(parsed: &Parsed) -> Option<String> {
    parsed.job.as_ref().map(render::json::print)
}

/// The comment texts, sorted: `fmt` may move a comment with its statement, never drop one.
fn comment_texts(parsed: &Parsed) -> Vec<String> {
    let mut texts: Vec<String> = parsed.comments.iter().map(|c| c.text.clone()).collect();
    texts.sort();
    texts
}

/// When the fast path takes `text`, the exact path builds the same job, diagnostics and
/// comments; when the exact path finds no syntax error, the fast path takes the file.
fn paths_agree(text: &str) -> Result<(), TestCaseError> {
    let exact = exact::parse(text);
    let Some(fast) = fast::parse(text) else {
        prop_assert!(
            exact.diagnostics.iter().any(|d| d.problem.code() == "E600"),
            "the fast path refused a file without syntax errors: {text:?}"
        );
        return Ok(());
    };
    prop_assert_eq!(&fast.job, &exact.job, "the jobs differ for {:?}", text);
    prop_assert_eq!(&fast.diagnostics, &exact.diagnostics, "for {:?}", text);
    prop_assert_eq!(&fast.comments, &exact.comments, "for {:?}", text);
    prop_assert_eq!(fast.complete, exact.complete, "for {:?}", text);
    Ok(())
}

/// Whatever `text` is, parsing returns, both paths agree, and every span points into it.
fn parse_survives(text: &str) -> Result<Parsed, TestCaseError> {
    paths_agree(text)?;
    let parsed = parse(text);
    diagnostics_point_into(text, &parsed.diagnostics)?;
    if let Some(job) = &parsed.job {
        job_points_into(text, job)?;
    }
    for comment in &parsed.comments {
        let range = comment.span.range();
        prop_assert!(
            text.get(range.clone()).is_some_and(|s| s.starts_with('#')),
            "comment span {range:?} is not a comment of {text:?}"
        );
    }
    Ok(parsed)
}

/// When `fmt` takes `text`: its output parses to the same job with the same comments, `fmt`
/// leaves it as it is, and the job survives a trip through JSON.
fn fmt_keeps_meaning(text: &str) -> Result<(), TestCaseError> {
    let parsed = parse_survives(text)?;
    if !rewritable(&parsed) {
        return Ok(());
    }
    let Some(job) = &parsed.job else {
        return Ok(());
    };
    let formatted = render::dsl::print(job, &parsed.comments);
    let reparsed = parse(&formatted);
    prop_assert!(
        rewritable(&reparsed),
        "fmt wrote what it cannot read: {:?}\nfrom {text:?}\nas {formatted:?}",
        codes(&reparsed.diagnostics)
    );
    prop_assert_eq!(
        meaning(&reparsed),
        meaning(&parsed),
        "fmt changed the job of {:?}",
        text
    );
    prop_assert_eq!(
        comment_texts(&reparsed),
        comment_texts(&parsed),
        "fmt changed the comments of {:?}",
        text
    );
    let Some(reparsed_job) = &reparsed.job else {
        return Ok(());
    };
    let twice = render::dsl::print(reparsed_job, &reparsed.comments);
    prop_assert_eq!(&twice, &formatted, "fmt is not idempotent on {:?}", text);
    round_trips_through_json(job)?;
    Ok(())
}

/// DSL → JSON → DSL gives the canonical form without comments, and JSON → DSL → JSON gives
/// the same JSON.
fn round_trips_through_json(job: &crate::ir::Job) -> Result<(), TestCaseError> {
    let json = render::json::print(job);
    let from_json = crate::syntax::json::parse(&json);
    prop_assert!(
        from_json
            .diagnostics
            .iter()
            .all(|d| !d.problem.is_structural()),
        "the JSON written is refused: {:?}\n{json}",
        codes(&from_json.diagnostics)
    );
    let Some(json_job) = &from_json.job else {
        return Err(TestCaseError::fail(format!("no job from {json}")));
    };
    let dsl = render::dsl::print(json_job, &[]);
    prop_assert_eq!(&dsl, &render::dsl::print(job, &[]));
    let back = parse(&dsl);
    prop_assert_eq!(meaning(&back), Some(json));
    Ok(())
}

// --- hostile input ---

/// Pieces of the language and of its mistakes, for token soup.
const TOKENS: &[&str] = &[
    "job",
    "schema",
    "constraint",
    "task",
    "after",
    "executor",
    "run",
    "with",
    "continue",
    "finish",
    "on",
    "never",
    "retry",
    "attempts",
    "delay",
    "backoff",
    "max",
    "timeout",
    "env",
    "dir",
    "pool",
    "size",
    "=",
    "2s",
    "1.5m",
    "-3h",
    "0s",
    "{",
    "}",
    ",",
    "\"",
    "\"a\"",
    "\"b\"",
    "\"{{ x }}\"",
    "\"\\\"\"",
    "\"\\u{1F600}\"",
    "\"\\q\"",
    "\"\\u{D800}\"",
    "\"\t\"",
    "0",
    "1",
    "-1",
    "1.5",
    "99999",
    " ",
    "\n",
    "\r\n",
    "# note\n",
    "#",
    "tasks",
    "'a'",
    "\u{feff}",
    "\u{202e}",
    "é",
    "\\",
];

/// A small valid job, the seed for mutations.
const SEED: &str = r#"# Nightly load
job "nightly {{ day }}"
constraint "host,*"

task "extract" { run "extract" with "--day={{ day }}" }  # first

task "load" {
    after "extract"  # waits
    run "load \"all\"" with "a\\b", "c\nd"
    continue on 0, 1
    finish on 3
}
"#;

/// Deletes, duplicates or replaces a slice of `text`, keeping it valid UTF-8.
fn mutated(text: &str, at: Index, len: usize, with: &str) -> String {
    let boundaries: Vec<usize> = (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .collect();
    let start = boundaries[at.index(boundaries.len())];
    let end = boundaries
        .iter()
        .copied()
        .find(|&b| b >= start + len)
        .unwrap_or(text.len());
    format!("{}{with}{}", &text[..start], &text[end..])
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_text_survives(chars in vec(any::<char>(), 0..200)) {
        let text: String = chars.into_iter().collect();
        fmt_keeps_meaning(&text)?;
    }

    #[test]
    fn token_soup_survives(tokens in vec(select(TOKENS), 0..60)) {
        fmt_keeps_meaning(&tokens.join(" "))?;
        fmt_keeps_meaning(&tokens.concat())?;
    }

    #[test]
    fn mutated_seed_survives(
        edits in vec((any::<Index>(), 0..6usize, select(TOKENS)), 1..4)
    ) {
        let mut text = SEED.to_owned();
        for (at, len, with) in edits {
            text = mutated(&text, at, len, with);
        }
        fmt_keeps_meaning(&text)?;
    }
}

// --- random valid jobs, with comments and blank space anywhere ---

/// A string's characters, each with the ways it may be spelled in a literal.
fn spelled_char() -> impl Strategy<Value = (char, String)> {
    let plain = prop_oneof![
        8 => select(&['a', 'b', 'z', ' ', '-', '=', '#', '{', '}', ',', 'é', '日', '😀'][..]),
        1 => select(&['"', '\\', '\n', '\r', '\t', '\u{1}', '\u{7f}', '\u{85}', '\u{202e}'][..]),
    ];
    (plain, any::<bool>()).prop_map(|(c, as_unicode_escape)| {
        let spelled = match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            '\n' => "\\n".to_owned(),
            '\r' => "\\r".to_owned(),
            '\t' => "\\t".to_owned(),
            c if c.is_control() || as_unicode_escape => format!("\\u{{{:x}}}", c as u32),
            c => c.to_string(),
        };
        (c, spelled)
    })
}

/// A string literal and the text it stands for, sometimes with a placeholder.
fn string() -> impl Strategy<Value = (String, String)> {
    let pieces = vec(
        prop_oneof![
            6 => spelled_char(),
            1 => select(&["{{ day }}", "{{env}}", "{{{ raw }}}", "{{! note }}"][..])
                .prop_map(|p| (' ', p.to_owned())),
        ],
        0..12,
    );
    pieces.prop_map(|pieces| {
        let mut literal = String::from("\"");
        let mut text = String::new();
        for (c, spelled) in pieces {
            literal.push_str(&spelled);
            if spelled.starts_with("{{") {
                text.push_str(&spelled);
            } else {
                text.push(c);
            }
        }
        literal.push('"');
        (literal, text)
    })
}

fn literal() -> impl Strategy<Value = String> {
    string().prop_map(|(literal, _)| literal)
}

fn code() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(&["0", "1", "3", "0", "32767", "007"][..]).prop_map(str::to_owned),
        1 => (0u16..=32767).prop_map(|code| code.to_string()),
    ]
}

/// A list of `item`s, written `a, b, c`, and how many there are.
fn list(item: BoxedStrategy<String>, max: usize) -> impl Strategy<Value = Vec<String>> {
    vec(item, 1..max)
}

/// One statement's words, split into tokens so separators can go between any two.
fn statement(names: &'static [&'static str]) -> impl Strategy<Value = (usize, Vec<String>)> {
    let tokens = |head: &[&str], items: Vec<String>| {
        let mut tokens: Vec<String> = head.iter().map(|&t| t.to_owned()).collect();
        for (position, item) in items.into_iter().enumerate() {
            if position > 0 {
                tokens.push(",".to_owned());
            }
            tokens.push(item);
        }
        tokens
    };
    let name = select(names).prop_map(|n| format!("\"{n}\"")).boxed();
    prop_oneof![
        list(name, 4).prop_map(move |names| (0, tokens(&["after"], names))),
        select(&["\"shell\"", "\"docker\""][..])
            .prop_map(move |e| (1, tokens(&["executor"], vec![e.to_owned()]))),
        (literal(), vec(literal(), 0..10)).prop_map(move |(command, arguments)| {
            let mut run = tokens(&["run"], vec![command]);
            if !arguments.is_empty() {
                run.extend(tokens(&["with"], arguments));
            }
            (2, run)
        }),
        prop_oneof![
            1 => Just(tokens(&["continue", "never"], Vec::new())),
            4 => list(code().boxed(), 30).prop_map(move |codes| tokens(&["continue", "on"], codes)),
        ]
        .prop_map(|t| (3, t)),
        list(code().boxed(), 5).prop_map(move |codes| (4, tokens(&["finish", "on"], codes))),
        retry().prop_map(|words| (5, words)),
        duration().prop_map(|d| (6, vec!["timeout".to_owned(), d])),
        environment().prop_map(move |pairs| (7, tokens(&["env"], pairs))),
        literal().prop_map(|directory| (8, vec!["dir".to_owned(), directory])),
        select(&["\"db\"", "\"web\""][..])
            .prop_map(|pool| (9, vec!["pool".to_owned(), pool.to_owned()])),
    ]
}

/// The keywords that start the statements of schema 1-1-0.
const OPTION_KEYWORDS: [&str; 5] = ["retry", "timeout", "env", "dir", "pool"];

/// A duration in any unit, with or without a fraction.
fn duration() -> impl Strategy<Value = String> {
    (
        0u32..20,
        select(&["", ".5", ".125", ".0"][..]),
        select(&["s", "m", "h"][..]),
    )
        .prop_map(|(whole, fraction, unit)| format!("{}{fraction}{unit}", whole + 1))
}

/// `retry attempts N` and any of its optional parts, in their order.
fn retry() -> impl Strategy<Value = Vec<String>> {
    (
        1u32..=100,
        prop::option::of(duration()),
        prop::option::of(select(&["1", "2", "1.5", "10"][..])),
        prop::option::of(duration()),
        prop::option::of(list(
            select(&["1", "75", "2"][..])
                .prop_map(str::to_owned)
                .boxed(),
            3,
        )),
    )
        .prop_map(|(attempts, delay, backoff, max, on)| {
            let mut words = vec![
                "retry".to_owned(),
                "attempts".to_owned(),
                attempts.to_string(),
            ];
            if let Some(delay) = delay {
                words.extend(["delay".to_owned(), delay]);
            }
            if let Some(backoff) = backoff {
                words.extend(["backoff".to_owned(), backoff.to_owned()]);
            }
            if let Some(max) = max {
                words.extend(["max".to_owned(), max]);
            }
            if let Some(codes) = on {
                words.push("on".to_owned());
                for (position, code) in codes.into_iter().enumerate() {
                    if position > 0 {
                        words.push(",".to_owned());
                    }
                    words.push(code);
                }
            }
            words
        })
}

/// `"NAME" = "value"` pairs, each name once, as the tokens of a list.
fn environment() -> impl Strategy<Value = Vec<String>> {
    let names = prop::sample::subsequence(&["\"PGHOST\"", "\"DAY\"", "\"é\""][..], 1..=3);
    (names, vec(literal(), 3)).prop_map(|(names, values)| {
        names
            .into_iter()
            .zip(values)
            .map(|(name, value)| format!("{name} = {value}"))
            .collect()
    })
}

/// A task: its statements (each kind at most once, `run` always) in any order.
fn task(names: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    let statements = vec(statement(names), 1..8);
    (select(names), statements).prop_map(|(name, statements)| {
        let mut seen = [false; 10];
        let mut tokens = vec!["task".to_owned(), format!("\"{name}\""), "{".to_owned()];
        let mut has_run = false;
        for (kind, words) in statements {
            if !std::mem::replace(&mut seen[kind], true) {
                has_run |= kind == 2;
                tokens.extend(words);
            }
        }
        if !has_run {
            tokens.extend(["run".to_owned(), "\"true\"".to_owned()]);
        }
        tokens.push("}".to_owned());
        tokens
    })
}

/// What goes between two tokens: always some space, sometimes a comment.
fn separator() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just(" ".to_owned()),
        3 => Just("\n".to_owned()),
        2 => Just("\n    ".to_owned()),
        1 => Just("\r\n\t".to_owned()),
        1 => "[ -~é]{0,12}".prop_map(|text| format!("  #{text}\n")),
        1 => "[ -~]{0,12}".prop_map(|text| format!("\n# {text}\n\n")),
    ]
}

/// A whole valid DSL file: items in any order, separators and comments anywhere.
fn dsl_file() -> impl Strategy<Value = String> {
    const NAMES: &[&str] = &[
        "extract",
        "load",
        "notify \u{1F514}",
        "a \\\" b",
        "{{ env }}",
    ];
    let constraints = vec(
        select(&["\"host,*\"", "\"host,etl-1\"", "\"hots,x\""][..]),
        0..3,
    );
    let schema = prop_oneof![
        3 => Just(None),
        1 => Just(Some(SCHEMA_1_1_0)),
        1 => Just(Some("iglu:com.acme/job/jsonschema/2-0-0")),
        1 => Just(Some(SCHEMA_1_0_0)),
    ];
    let job_options = (
        prop::option::weighted(0.3, duration()),
        prop::sample::subsequence(&["\"db\"", "\"web\"", "\"é\""][..], 0..=3),
    );
    let items = (
        literal(),
        schema,
        constraints,
        vec(task(NAMES), 0..5),
        job_options,
    );
    (items, any::<Index>(), vec(separator(), 400)).prop_map(
        |((name, schema, constraints, tasks, (timeout, pools)), shuffle, separators)| {
            let has_options = timeout.is_some()
                || !pools.is_empty()
                || tasks
                    .iter()
                    .flatten()
                    .any(|word| OPTION_KEYWORDS.contains(&word.as_str()));
            // Schema 1-0-0 cannot have constraints or options: that is an error, not a job to
            // format.
            let schema =
                schema.filter(|s| (constraints.is_empty() && !has_options) || *s != SCHEMA_1_0_0);
            let mut items = vec![vec!["job".to_owned(), name]];
            if let Some(schema) = schema {
                items.push(vec!["schema".to_owned(), format!("\"{schema}\"")]);
            }
            for constraint in constraints {
                items.push(vec!["constraint".to_owned(), constraint.to_owned()]);
            }
            if let Some(timeout) = timeout {
                items.push(vec!["timeout".to_owned(), timeout]);
            }
            for (size, pool) in pools.into_iter().enumerate() {
                let size = (size + 1).to_string();
                items.push(vec![
                    "pool".to_owned(),
                    pool.to_owned(),
                    "size".to_owned(),
                    size,
                ]);
            }
            items.extend(tasks);
            let rotate = shuffle.index(items.len());
            items.rotate_left(rotate);
            let mut text = String::new();
            let mut separators = separators.into_iter().cycle();
            for token in items.into_iter().flatten() {
                text.push_str(&token);
                text.push_str(&separators.next().unwrap_or_default());
            }
            text
        },
    )
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn random_files_are_valid_and_fmt_keeps_them(text in dsl_file()) {
        let parsed = parse_survives(&text)?;
        prop_assert!(
            rewritable(&parsed),
            "{:?} in {text}",
            parsed.diagnostics.iter().map(|d| d.problem.message()).collect::<Vec<_>>()
        );
        fmt_keeps_meaning(&text)?;
    }
}

// --- examples ---

/// The source text a diagnostic's primary label covers.
fn labelled<'t>(text: &'t str, diagnostic: &Diagnostic) -> &'t str {
    let span = diagnostic.span().unwrap_or_default();
    &text[span.range()]
}

fn only_problem(text: &str) -> (String, Diagnostic) {
    let parsed = parse(text);
    assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
    let diagnostic = parsed
        .diagnostics
        .into_iter()
        .next()
        .expect("one diagnostic");
    (diagnostic.problem.message(), diagnostic)
}

fn formatted(text: &str) -> String {
    let parsed = parse(text);
    assert!(rewritable(&parsed), "{:?}", parsed.diagnostics);
    let job = parsed.job.as_ref().expect("a job");
    render::dsl::print(job, &parsed.comments)
}

#[test]
fn defaults_fill_what_a_task_leaves_out() {
    let parsed = parse("job \"j\"\ntask \"t\" { run \"echo\" }\n");
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let job = parsed.job.expect("a job");
    assert_eq!(job.schema.value, SCHEMA_1_0_0);
    let task = &job.tasks[0];
    assert_eq!(task.executor.value, "shell");
    assert_eq!(&*task.command.text, "echo");
    assert!(task.arguments.is_empty() && task.depends_on.is_empty());
    let continue_job: Vec<u16> = task
        .on_result
        .continue_job
        .value
        .iter()
        .map(|c| c.value)
        .collect();
    assert_eq!(continue_job, [0]);
    assert!(task.on_result.terminate_job_with_success.value.is_empty());
}

#[test]
fn a_job_with_constraints_defaults_to_schema_1_1_0() {
    let parsed = parse("job \"j\" constraint \"host,*\"");
    assert_eq!(
        parsed.job.map(|job| job.schema.value),
        Some(SCHEMA_1_1_0.to_owned())
    );
}

#[test]
fn escapes_decode_and_placeholders_keep_their_source_span() {
    let text = r#"job "a\"b\\c\n\t\u{1F600} {{ day }}""#;
    let parsed = parse(text);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let name = parsed.job.expect("a job").name;
    assert_eq!(&*name.text, "a\"b\\c\n\t😀 {{ day }}");
    let placeholder = &name.placeholders[0];
    assert_eq!(&text[placeholder.span.range()], "{{ day }}");
}

#[test]
fn string_problems_point_at_the_escape() {
    for (text, message, label) in [
        (
            r#"job "a\qb""#,
            "invalid string: `\\q` is not an escape",
            r"\q",
        ),
        (
            r#"job "\u{D800}""#,
            "invalid string: `\\u{D800}` is not a Unicode character",
            r"\u{D800}",
        ),
        (
            r#"job "\u{}""#,
            "invalid string: `\\u` needs 1 to 6 hexadecimal digits in braces, as in `\\u{1F600}`",
            r"\u",
        ),
        (
            r#"job "\u{12345678}""#,
            "invalid string: `\\u` needs 1 to 6 hexadecimal digits in braces, as in `\\u{1F600}`",
            r"\u",
        ),
        (
            "job \"a\tb\"",
            "invalid string: control character U+0009 must be written as `\\t`",
            "",
        ),
    ] {
        let (found, diagnostic) = only_problem(text);
        assert_eq!(found, message, "{text}");
        assert_eq!(labelled(text, &diagnostic), label, "{text}");
        assert_eq!(diagnostic.problem.code(), "E601");
    }
}

#[test]
fn syntax_errors_say_what_was_expected_in_words() {
    for (text, message, label) in [
        (
            "job \"j\"\ntask {",
            "expected a task name in quotes, found `{`",
            "{",
        ),
        (
            "job \"j\"\ntaks \"t\"",
            "expected `job`, `schema`, `constraint`, `task`, `timeout`, `pool` or end of file, found `taks`",
            "taks",
        ),
        (
            "job \"j\" task \"t\" { run \"a\" \"b\" }",
            "expected `with`, `after`, `executor`, `run`, `continue`, `finish`, `retry`, `timeout`, `env`, `dir`, `pool` or `}`, found `\"b\"`",
            "\"b\"",
        ),
        (
            "job \"j\" task \"t\" { after \"a\", }",
            "expected a task name in quotes, found `}`",
            "}",
        ),
        (
            "job \"j\" task \"t\" { finish 3 }",
            "expected `on`, found `3`",
            "3",
        ),
        (
            "job \"j\" task \"t\" { continue on }",
            "expected an exit code, found `}`",
            "}",
        ),
        (
            "job 'j'",
            "expected the job's name in quotes, found `'`",
            "'",
        ),
        (
            "job \"j\" task \"t\" { run \"a\" ",
            "expected `with`, `after`, `executor`, `run`, `continue`, `finish`, `retry`, `timeout`, `env`, `dir`, `pool` or `}`, found end of file",
            "",
        ),
        (
            "job \"j\nb\"",
            "expected `\"` to close the string, found end of line",
            "",
        ),
        (
            "\u{feff}job \"j\"",
            "expected `job`, `schema`, `constraint`, `task`, `timeout`, `pool` or end of file, found a byte order mark (U+FEFF)",
            "\u{feff}",
        ),
    ] {
        let (found, diagnostic) = only_problem(text);
        assert_eq!(found, message, "{text:?}");
        assert_eq!(labelled(text, &diagnostic), label, "{text:?}");
        assert_eq!(diagnostic.problem.code(), "E600");
    }
}

#[test]
fn keywords_are_whole_words() {
    let (message, _) = only_problem("job \"j\" tasks \"t\" { run \"x\" }");
    assert_eq!(
        message,
        "expected `job`, `schema`, `constraint`, `task`, `timeout`, `pool` or end of file, found `tasks`"
    );
    let (message, diagnostic) = only_problem("job \"j\" task \"t\" { rn \"x\" }");
    assert!(message.ends_with("found `rn`"), "{message}");
    assert_eq!(diagnostic.notes, ["hint: did you mean `run`?"]);
}

#[test]
fn repeated_and_missing_statements_are_reported() {
    let text = "task \"t\" { run \"a\" run \"b\" }\ntask \"u\" { after \"t\" }";
    let parsed = parse(text);
    let found: Vec<(&str, String)> = parsed
        .diagnostics
        .iter()
        .map(|d| (d.problem.code(), d.problem.message()))
        .collect();
    assert_eq!(
        found,
        [
            ("E602", "task `t` says `run` more than once".to_owned()),
            ("E603", "task `u` has no `run` statement".to_owned()),
            ("E603", "the file has no `job` line".to_owned()),
        ]
    );
}

#[test]
fn comments_anchor_to_what_they_describe() {
    let text = "# top\njob \"j\"  # name\n\ntask \"t\" {  # header\n    # before run\n    run \"a\" with\n        \"b\",  # inside\n        \"c\"  # after run\n    # end of block\n}  # after task\n# tail\n";
    let parsed = parse(text);
    let found: Vec<(Place, Anchor, &str)> = parsed
        .comments
        .iter()
        .map(|c| (c.place, c.anchor, c.text.as_str()))
        .collect();
    let run = Anchor::Statement(0, crate::syntax::statement::Statement::Run);
    assert_eq!(
        found,
        [
            (Place::Before, Anchor::Job, " top"),
            (Place::After, Anchor::Job, " name"),
            (Place::After, Anchor::Task(0), " header"),
            (Place::Before, run, " before run"),
            (Place::Before, run, " inside"),
            (Place::After, run, " after run"),
            (Place::Before, Anchor::TaskEnd(0), " end of block"),
            (Place::After, Anchor::TaskEnd(0), " after task"),
            (Place::Before, Anchor::End, " tail"),
        ]
    );
    assert_eq!(parsed.comments[0].span, Span::new(0, 5));
}

#[test]
fn fmt_writes_the_canonical_form() {
    let text = "task \"b\" {finish on 3 continue on 0 run \"x\" after \"a\"}\njob \"j\"\ntask \"a\"{run \"y\" with \"1\",\"2\"}task \"c\" { run \"z\" }";
    assert_eq!(
        formatted(text),
        "job \"j\"\n\ntask \"b\" {\n    after \"a\"\n    run \"x\"\n    finish on 3\n}\n\ntask \"a\" { run \"y\" with \"1\", \"2\" }\ntask \"c\" { run \"z\" }\n"
    );
}

#[test]
fn fmt_breaks_long_lists_one_item_to_a_line() {
    let long = "x".repeat(60);
    let text = format!("job \"j\" task \"t\" {{ run \"cmd\" with \"{long}\", \"{long}\" }}");
    assert_eq!(
        formatted(&text),
        format!(
            "job \"j\"\n\ntask \"t\" {{\n    run \"cmd\" with\n        \"{long}\",\n        \"{long}\"\n}}\n"
        )
    );
}

#[test]
fn fmt_keeps_comments_of_left_out_defaults() {
    let text = "job \"j\"\nschema \"iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0\"  # the default\ntask \"t\" {\n    run \"a\"\n    continue on 0  # also the default\n}\n";
    assert_eq!(
        formatted(text),
        "job \"j\"\n\n# the default\ntask \"t\" {\n    run \"a\"\n    # also the default\n}\n"
    );
}

#[test]
fn fmt_escapes_what_cannot_be_seen() {
    let text = "job \"a\u{202e}b\\u{7}\\u{41}\"";
    assert_eq!(formatted(text), "job \"a\\u{202E}b\\u{7}A\"\n");
}

#[test]
fn after_a_syntax_error_the_next_item_is_read() {
    let text = "job \"j\"\n\
                # a comment before the first error is kept\n\
                task \"ok\" { run \"v\" }\n\
                task \"a\" { run \"x\" oops }\n\
                task \"b\" {\n    run \"y\"\n    continue on 40000\n\
                task \"c\" { run 'z' }\n\
                # one in text skipped after an error is not looked for\n\
                task \"d\" { run \"w\" }\n";
    let parsed = parse(text);
    let found: Vec<(&str, &str)> = parsed
        .diagnostics
        .iter()
        .map(|d| (d.problem.code(), labelled(text, d)))
        .collect();
    // `a` fails at `oops`; `b` lacks its `}`, found at `task "c"`, which fails at `'`; the
    // exit code of `b` is never read, since `b` is left out.
    assert_eq!(
        found,
        [("E600", "oops"), ("E600", "task"), ("E600", "'")],
        "{:?}",
        parsed.diagnostics
    );
    assert!(!parsed.complete);
    let job = parsed.job.expect("the tasks that parsed");
    let names: Vec<&str> = job.tasks.iter().map(|t| &*t.name.text).collect();
    assert_eq!(names, ["ok", "d"]);
    let comments: Vec<&str> = parsed.comments.iter().map(|c| &*c.text).collect();
    assert_eq!(comments, [" a comment before the first error is kept"]);
}

#[test]
fn a_damaged_job_line_is_not_also_reported_missing() {
    let parsed =
        parse("job nightly\ntask \"a\" { run \"x\" }\ntask \"b\" { run \"y\" finish on 3.5 }");
    let found: Vec<&str> = parsed
        .diagnostics
        .iter()
        .map(|d| d.problem.code())
        .collect();
    assert_eq!(found, ["E600", "E204"], "{:?}", parsed.diagnostics);
    assert_eq!(parsed.job.map(|job| job.tasks.len()), Some(2));
}

#[test]
fn constraint_none_declares_an_empty_list_of_schema_1_1_0() {
    let text = "job \"j\"\nconstraint none  # none at all\n\ntask \"t\" { run \"x\" }\n";
    let parsed = parse(text);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let job = parsed.job.as_ref().expect("a job");
    assert!(job.declares_constraints && job.constraints.is_empty());
    assert_eq!(job.schema.value, SCHEMA_1_1_0);
    assert_eq!(formatted(text), text);
    let old = format!("schema \"{SCHEMA_1_0_0}\"\n{text}");
    let (message, diagnostic) = only_problem(&old);
    assert_eq!(message, "`constraint` needs schema version 1-1-0 or later");
    assert_eq!(labelled(&old, &diagnostic), "none");
}
