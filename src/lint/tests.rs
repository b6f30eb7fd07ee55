//! One table per lint: small jobs, each with every diagnostic it must get (code, then the text
//! under each label: the primary one first) and nothing else. Jobs go through
//! [`crate::compile`], as the commands do, so the tables hold whatever shape the linter's
//! internals take.

use crate::compile;
use crate::source::Source;
use crate::template::Variables;

/// One row: what it shows, the job (in the DSL unless it is JSON), the `--env` values if any,
/// and the expected diagnostics in the order `compile` sorts them.
struct Case {
    what: &'static str,
    job: &'static str,
    env: Option<&'static [(&'static str, &'static str)]>,
    expected: &'static [(&'static str, &'static [&'static str])],
}

/// A row without `--env`.
const fn case(
    what: &'static str,
    job: &'static str,
    expected: &'static [(&'static str, &'static [&'static str])],
) -> Case {
    Case {
        what,
        job,
        env: None,
        expected,
    }
}

/// Every diagnostic of `job` as its code and the text under each of its labels.
fn diagnostics(job: &str, variables: Option<&Variables>) -> Vec<(String, Vec<String>)> {
    // No extension: the format is told by the text, as for standard input.
    let source = Source::new("job", job);
    compile(&source, variables)
        .diagnostics
        .iter()
        .map(|diagnostic| {
            let under_labels = diagnostic
                .primary
                .iter()
                .chain(&diagnostic.secondary)
                .map(|label| {
                    let range = label.span.start as usize..label.span.end as usize;
                    job.get(range)
                        .unwrap_or("<span outside the job>")
                        .to_owned()
                })
                .collect();
            (diagnostic.problem.code().to_owned(), under_labels)
        })
        .collect()
}

fn assert_table(table: &[Case]) {
    for case in table {
        let variables: Option<Variables> = case.env.map(|pairs| {
            pairs
                .iter()
                .map(|&(name, value)| (name.to_owned(), value.to_owned()))
                .collect()
        });
        let found = diagnostics(case.job, variables.as_ref());
        let expected: Vec<(String, Vec<String>)> = case
            .expected
            .iter()
            .map(|&(code, texts)| {
                let texts = texts.iter().map(|&text| text.to_owned()).collect();
                (code.to_owned(), texts)
            })
            .collect();
        assert_eq!(found, expected, "{}:\n{}", case.what, case.job);
    }
}

/// `codes.rs`: exit-code lists and executors, task by task.
#[test]
fn exit_codes_and_executors() {
    assert_table(&[
        case(
            "the defaults are clean",
            "job \"j\"\ntask \"a\" { run \"true\" }\n",
            &[],
        ),
        case(
            "distinct continue and finish codes are clean",
            "job \"j\"\ntask \"a\" {\n    run \"true\"\n    continue on 0, 1\n    finish on 3\n}\n",
            &[],
        ),
        case(
            "no code continues",
            "job \"j\"\ntask \"a\" {\n    run \"true\"\n    continue never\n}\n",
            &[("E404", &["never"])],
        ),
        case(
            "a code both continues and finishes",
            "job \"j\"\ntask \"a\" {\n    run \"true\"\n    continue on 0, 3\n    finish on 3\n}\n",
            &[("E405", &["3", "3"])],
        ),
        case(
            "the default continue code conflicts too, shown at the task it belongs to",
            "job \"j\"\ntask \"a\" {\n    run \"true\"\n    finish on 0\n}\n",
            &[("E405", &["0", "\"a\""])],
        ),
        case(
            "a repeated finishing code is reported once",
            "job \"j\"\ntask \"a\" {\n    run \"true\"\n    continue on 3\n    finish on 3, 3\n}\n",
            &[("W402", &["3"]), ("E405", &["3", "3"])],
        ),
        case(
            "continue codes without 0 replace the default 0: a command that succeeds fails",
            "job \"j\"\ntask \"a\" {\n    run \"true\"\n    continue on 1, 2\n}\n",
            &[("W402", &["1, 2"])],
        ),
        case(
            "the same in a factfile",
            r#"{"schema": "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0", "data": {"name": "j", "tasks": [
  {"name": "a", "executor": "shell", "command": "true", "arguments": [], "dependsOn": [], "onResult": {"terminateJobWithSuccess": [], "continueJob": [1]}}]}}
"#,
            &[("W402", &["[1]"])],
        ),
        case(
            "0 may finish the job early instead",
            "job \"j\"\ntask \"a\" {\n    run \"true\"\n    continue on 1\n    finish on 0\n}\n",
            &[],
        ),
        case(
            "an executor other than shell",
            "job \"j\"\ntask \"a\" {\n    executor \"docker\"\n    run \"true\"\n}\n",
            &[("W401", &["\"docker\""])],
        ),
        case(
            "the shell executor spelt out is clean",
            "job \"j\"\ntask \"a\" {\n    executor \"shell\"\n    run \"true\"\n}\n",
            &[],
        ),
    ]);
}

/// `constraints.rs`: the syntax of the job's host constraints.
#[test]
fn host_constraints() {
    assert_table(&[
        case(
            "a host name, an address and any host are clean",
            "job \"j\"\nconstraint \"host,etl-1\"\nconstraint \"host,10.0.0.1\"\nconstraint \"host,*\"\ntask \"a\" { run \"true\" }\n",
            &[],
        ),
        case(
            "an unknown constraint type",
            "job \"j\"\nconstraint \"hots,etl-1\"\ntask \"a\" { run \"true\" }\n",
            &[("E500", &["\"hots,etl-1\""])],
        ),
        case(
            "each bad constraint on its own",
            "job \"j\"\nconstraint \"host,\"\nconstraint \"host,*\"\nconstraint \"host\"\ntask \"a\" { run \"true\" }\n",
            &[("E500", &["\"host,\""]), ("E500", &["\"host\""])],
        ),
    ]);
}

/// `cycles.rs`: tasks waiting for themselves through others. Each loop is reported once,
/// from its earliest task in running order: the first label is on the entry where the task
/// after the earliest one waits for it.
#[test]
fn dependency_cycles() {
    assert_table(&[
        case(
            "a diamond is clean",
            "job \"j\"\ntask \"a\" { run \"true\" }\ntask \"b\" { after \"a\" run \"true\" }\ntask \"c\" { after \"a\" run \"true\" }\ntask \"d\" { after \"b\", \"c\" run \"true\" }\n",
            &[],
        ),
        case(
            "two tasks waiting for each other",
            "job \"j\"\ntask \"a\" { after \"b\" run \"true\" }\ntask \"b\" { after \"a\" run \"true\" }\n",
            &[("E403", &["\"a\"", "\"b\""])],
        ),
        case(
            "a loop of three beside a clean task, each link labelled",
            "job \"j\"\ntask \"free\" { run \"true\" }\ntask \"red\" { after \"blue\" run \"true\" }\ntask \"green\" { after \"red\" run \"true\" }\ntask \"blue\" { after \"green\", \"free\" run \"true\" }\n",
            &[("E403", &["\"red\"", "\"green\"", "\"blue\""])],
        ),
        case(
            "two separate loops are two diagnostics",
            "job \"j\"\ntask \"a\" { after \"b\" run \"true\" }\ntask \"b\" { after \"a\" run \"true\" }\ntask \"c\" { after \"d\" run \"true\" }\ntask \"d\" { after \"c\" run \"true\" }\n",
            &[("E403", &["\"a\"", "\"b\""]), ("E403", &["\"c\"", "\"d\""])],
        ),
    ]);
}

/// `references.rs`: task names and the dependencies that name them.
#[test]
fn names_and_references() {
    assert_table(&[
        case(
            "known dependencies, in any order, are clean",
            "job \"j\"\ntask \"b\" { after \"a\" run \"true\" }\ntask \"a\" { run \"true\" }\n",
            &[],
        ),
        case(
            "a task defined twice",
            "job \"j\"\ntask \"a\" { run \"true\" }\ntask \"a\" { run \"false\" }\n",
            &[("E400", &["\"a\"", "\"a\""])],
        ),
        case(
            "names compare with placeholders normalised",
            "job \"j\"\ntask \"x {{env}}\" { run \"true\" }\ntask \"x {{ env }}\" { run \"true\" }\n",
            &[("E400", &["\"x {{ env }}\"", "\"x {{env}}\""])],
        ),
        case(
            "an unknown dependency",
            "job \"j\"\ntask \"a\" { run \"true\" }\ntask \"b\" { after \"c\" run \"true\" }\n",
            &[("E401", &["\"c\""])],
        ),
        case(
            "a task waiting for itself",
            "job \"j\"\ntask \"a\" { after \"a\" run \"true\" }\n",
            &[("E402", &["\"a\""])],
        ),
        case(
            "a task left out for its broken name may be the one referred to: no E401",
            r#"{"schema": "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0", "data": {"name": "j", "tasks": [
  {"name": 7, "executor": "shell", "command": "true", "arguments": [], "dependsOn": [], "onResult": {"terminateJobWithSuccess": [], "continueJob": [0]}},
  {"name": "b", "executor": "shell", "command": "true", "arguments": [], "dependsOn": ["a"], "onResult": {"terminateJobWithSuccess": [], "continueJob": [0]}}]}}
"#,
            &[("E203", &["7"])],
        ),
        case(
            "a dependency listed twice",
            "job \"j\"\ntask \"a\" { run \"true\" }\ntask \"b\" { after \"a\", \"a\" run \"true\" }\n",
            &[("W400", &["\"a\"", "\"a\""])],
        ),
    ]);
}

/// `references.rs` with `--env`: names are compared rendered.
#[test]
fn names_and_references_rendered() {
    assert_table(&[
        Case {
            what: "a dependency matches a name once both are rendered",
            job: "job \"j\"\ntask \"load {{ env }}\" { run \"true\" }\ntask \"b\" { after \"load prod\" run \"true\" }\n",
            env: Some(&[("env", "prod")]),
            expected: &[],
        },
        Case {
            what: "two names rendering alike are a duplicate",
            job: "job \"j\"\ntask \"load {{ env }}\" { run \"true\" }\ntask \"load prod\" { run \"true\" }\n",
            env: Some(&[("env", "prod")]),
            expected: &[("E400", &["\"load prod\"", "\"load {{ env }}\""])],
        },
    ]);
}

/// `variables.rs`: with `--env`, every placeholder needs a value.
#[test]
fn variables_need_values() {
    assert_table(&[
        Case {
            what: "every placeholder has a value",
            job: "job \"j {{ day }}\"\ntask \"a\" { run \"echo\" with \"{{ day }}\" }\n",
            env: Some(&[("day", "monday")]),
            expected: &[],
        },
        Case {
            what: "a misspelt placeholder",
            job: "job \"j {{ day }}\"\ntask \"a\" { run \"echo\" with \"--day={{ dya }}\" }\n",
            env: Some(&[("day", "monday")]),
            expected: &[("E302", &["{{ dya }}"])],
        },
        Case {
            what: "a variable used in several places is one diagnostic, labelled at each",
            job: "job \"j {{ day }}\"\ntask \"a\" { run \"echo\" with \"{{ day }}\", \"{{day}}\" }\n",
            env: Some(&[("dya", "monday")]),
            expected: &[("E302", &["{{ day }}", "{{ day }}", "{{day}}"])],
        },
        case(
            "without --env nothing is checked",
            "job \"j {{ day }}\"\ntask \"a\" { run \"echo\" with \"--day={{ dya }}\" }\n",
            &[],
        ),
    ]);
}

/// `options.rs`: pools, the codes a retry is limited to, and environment names.
#[test]
fn task_options() {
    assert_table(&[
        case(
            "every option, rightly used, is clean",
            "job \"j\"\npool \"db\" size 2\ntask \"a\" { run \"x\" retry attempts 3 on 1 timeout 1s env \"A\" = \"1\" dir \"d\" pool \"db\" }\n",
            &[],
        ),
        case(
            "an undeclared pool, suggested",
            "job \"j\"\npool \"db\" size 2\ntask \"a\" { run \"x\" pool \"bd\" }\n",
            &[("E406", &["\"bd\""])],
        ),
        case(
            "a pool declared twice, at the second",
            "job \"j\"\npool \"db\" size 2\npool \"db\" size 3\ntask \"a\" { run \"x\" }\n",
            &[("E209", &["\"db\"", "\"db\""])],
        ),
        case(
            "a retry code that continues, and one that finishes",
            "job \"j\"\ntask \"a\" { run \"x\" continue on 0, 1 finish on 3 retry attempts 2 on 1, 3, 4 }\n",
            &[("E408", &["1", "1"]), ("E408", &["3", "3"])],
        ),
        case(
            "a retry code above 255",
            "job \"j\"\ntask \"a\" { run \"x\" retry attempts 2 on 256 }\n",
            &[("W403", &["256"])],
        ),
        case(
            "a variable named with `=`, an empty name, and a name set twice",
            "job \"j\"\ntask \"a\" { run \"x\" env \"A=B\" = \"1\", \"\" = \"2\", \"C\" = \"3\", \"C\" = \"4\" }\n",
            &[
                ("E409", &["\"A=B\""]),
                ("E409", &["\"\""]),
                ("E209", &["\"C\"", "\"C\""]),
            ],
        ),
        case(
            "the same checks in a factfile",
            r#"{"schema": "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-1-0", "data": {"name": "j", "pools": {"db": 1}, "tasks": [{"name": "a", "executor": "shell", "command": "x", "arguments": [], "dependsOn": [], "onResult": {"terminateJobWithSuccess": [], "continueJob": [0]}, "retry": {"attempts": 2, "onCodes": [0]}, "pool": "dv"}]}}"#,
            &[("E408", &["0", "0"]), ("E406", &["\"dv\""])],
        ),
    ]);
}
