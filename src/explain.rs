//! `factotum explain CODE`: for every diagnostic code, what it means, a job that gets it, and
//! the fix. The one table of codes: `check --format sarif` takes its rules from it, and a test
//! runs every example to see that it really gets its code.

use crate::diag::{Severity, severity_of};

/// What one diagnostic code means.
#[derive(Debug)]
pub struct Explanation {
    /// The code, e.g. `E401`.
    pub code: &'static str,
    /// One line: what is wrong (SARIF's short description of the rule).
    pub summary: &'static str,
    /// Why it matters, in a few sentences.
    pub meaning: &'static str,
    /// A job that gets the code, and the command that shows it.
    pub example: Example,
    /// How to fix it.
    pub fix: &'static str,
}

/// A command line that shows a code, and the file it reads.
#[derive(Debug)]
pub struct Example {
    /// The arguments after `factotum`; the file's name is among them.
    pub command: &'static [&'static str],
    /// The file's name, as the command names it.
    pub file_name: &'static str,
    /// The file's contents.
    pub file: ExampleFile,
}

/// What the file of an example holds.
#[derive(Debug)]
pub enum ExampleFile {
    /// These bytes.
    Bytes(&'static [u8]),
    /// Nothing: there is no such file.
    Missing,
    /// More than 4 GiB, too much to write here (a sparse file shows it).
    OverFourGibibytes,
}

impl Explanation {
    /// Errors fail `check`; warnings fail it only with `--deny-warnings`.
    pub fn severity(&self) -> Severity {
        severity_of(self.code)
    }
}

/// The explanation of `code` (any letter case), if it is a code.
pub fn find(code: &str) -> Option<&'static Explanation> {
    EXPLANATIONS
        .iter()
        .find(|explanation| explanation.code.eq_ignore_ascii_case(code))
}

/// A factfile's opening, up to its tasks.
macro_rules! factfile {
    ($tasks:literal) => {
        concat!(
            r#"{"schema": "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0","#,
            "\n",
            r#" "data": {"name": "nightly", "tasks": ["#,
            "\n",
            $tasks,
            "\n]}}\n"
        )
        .as_bytes()
    };
}

/// Every code, in the order of the README's table.
pub static EXPLANATIONS: &[Explanation] = &[
    Explanation {
        code: "E001",
        summary: "the file cannot be read",
        meaning: "The file does not exist, is a directory, or this user may not read it. Nothing else is checked.",
        example: Example {
            command: &["check", "missing.factotum"],
            file_name: "missing.factotum",
            file: ExampleFile::Missing,
        },
        fix: "Check the path and the file's permissions; `-` reads the job from standard input.",
    },
    Explanation {
        code: "E002",
        summary: "the file is not valid UTF-8",
        meaning: "Job files are UTF-8 text. A file saved in another encoding (Latin-1, UTF-16) or a binary file is refused; the message gives the offset of the first byte that is not UTF-8.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes(b"job \"caf\xe9\"\n\ntask \"extract\" { run \"extract\" }\n"),
        },
        fix: "Save the file as UTF-8, e.g. with `iconv -f LATIN1 -t UTF-8`.",
    },
    Explanation {
        code: "E003",
        summary: "the file is larger than 4 GiB",
        meaning: "At most 4 GiB are read. A larger file, or a device that never ends, is refused without being read whole.",
        example: Example {
            command: &["check", "huge.factfile"],
            file_name: "huge.factfile",
            file: ExampleFile::OverFourGibibytes,
        },
        fix: "A job file is a few kilobytes: check that the path names the job, not a data file or a device.",
    },
    Explanation {
        code: "E100",
        summary: "the factfile is not JSON",
        meaning: "A factfile is JSON: a missing comma, an unclosed bracket, single quotes or a comment make it unreadable. The message says what was expected and what was found there.",
        example: Example {
            command: &["check", "job.factfile"],
            file_name: "job.factfile",
            file: ExampleFile::Bytes(factfile!("  {\"name\": \"extract\", \"executor\": \"shell\" \"command\": \"extract\", \"arguments\": [], \"dependsOn\": [],\n   \"onResult\": {\"terminateJobWithSuccess\": [], \"continueJob\": [0]}}")),
        },
        fix: "Correct the JSON at the place shown. A job written in the DSL belongs in a `.factotum` file.",
    },
    Explanation {
        code: "E101",
        summary: "a trailing comma in JSON",
        meaning: "JSON allows no comma after the last item of an array or object, though many editors and languages do.",
        example: Example {
            command: &["check", "job.factfile"],
            file_name: "job.factfile",
            file: ExampleFile::Bytes(factfile!("  {\"name\": \"extract\", \"executor\": \"shell\", \"command\": \"extract\", \"arguments\": [\"--full\",], \"dependsOn\": [],\n   \"onResult\": {\"terminateJobWithSuccess\": [], \"continueJob\": [0]}}")),
        },
        fix: "Remove the comma after the last item.",
    },
    Explanation {
        code: "E102",
        summary: "JSON nested too deeply",
        meaning: "Arrays and objects more than 128 levels deep. A factfile needs five; the limit keeps a hostile file from exhausting the stack.",
        example: Example {
            command: &["check", "job.factfile"],
            file_name: "job.factfile",
            file: ExampleFile::Bytes("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n".as_bytes()),
        },
        fix: "Check that the file is a factfile.",
    },
    Explanation {
        code: "E103",
        summary: "an invalid JSON string",
        meaning: "A JSON string holds an escape JSON does not have (such as `\\d`), a raw control character (a tab or a line break typed into the string) or half of a UTF-16 surrogate pair.",
        example: Example {
            command: &["check", "job.factfile"],
            file_name: "job.factfile",
            file: ExampleFile::Bytes(factfile!("  {\"name\": \"extract\", \"executor\": \"shell\", \"command\": \"grep \\d+ orders.csv\", \"arguments\": [], \"dependsOn\": [],\n   \"onResult\": {\"terminateJobWithSuccess\": [], \"continueJob\": [0]}}")),
        },
        fix: "Write `\\\\` for a backslash, `\\n` for a line break and `\\t` for a tab.",
    },
    Explanation {
        code: "E200",
        summary: "a required factfile key is missing",
        meaning: "Factotum 0.7's schema requires every key of a task: `name`, `executor`, `command`, `arguments`, `dependsOn` and `onResult` with `terminateJobWithSuccess` and `continueJob`; and `name` and `tasks` in `data`.",
        example: Example {
            command: &["check", "job.factfile"],
            file_name: "job.factfile",
            file: ExampleFile::Bytes(factfile!("  {\"name\": \"extract\", \"executor\": \"shell\", \"command\": \"extract\", \"dependsOn\": [],\n   \"onResult\": {\"terminateJobWithSuccess\": [], \"continueJob\": [0]}}")),
        },
        fix: "Add the key, with an empty list if there is nothing to say (`\"arguments\": []`).",
    },
    Explanation {
        code: "E201",
        summary: "an unknown factfile key",
        meaning: "The schema allows no keys besides its own, so a misspelt key is not silently ignored.",
        example: Example {
            command: &["check", "job.factfile"],
            file_name: "job.factfile",
            file: ExampleFile::Bytes(factfile!("  {\"name\": \"extract\", \"executor\": \"shell\", \"command\": \"extract\", \"arguments\": [], \"dependsOn\": [],\n   \"retries\": 3, \"onResult\": {\"terminateJobWithSuccess\": [], \"continueJob\": [0]}}")),
        },
        fix: "Correct the key's spelling, or remove it.",
    },
    Explanation {
        code: "E202",
        summary: "a key given twice in one object",
        meaning: "JSON readers disagree on which of two equal keys counts, so a factfile may not have any.",
        example: Example {
            command: &["check", "job.factfile"],
            file_name: "job.factfile",
            file: ExampleFile::Bytes(factfile!("  {\"name\": \"extract\", \"executor\": \"shell\", \"command\": \"extract\", \"command\": \"load\", \"arguments\": [],\n   \"dependsOn\": [], \"onResult\": {\"terminateJobWithSuccess\": [], \"continueJob\": [0]}}")),
        },
        fix: "Keep one of them.",
    },
    Explanation {
        code: "E203",
        summary: "a factfile value of the wrong type",
        meaning: "Each key takes one type: names and commands are strings, `arguments` and `dependsOn` lists of strings, exit codes lists of integers.",
        example: Example {
            command: &["check", "job.factfile"],
            file_name: "job.factfile",
            file: ExampleFile::Bytes(factfile!("  {\"name\": \"extract\", \"executor\": \"shell\", \"command\": \"extract\", \"arguments\": \"--full\", \"dependsOn\": [],\n   \"onResult\": {\"terminateJobWithSuccess\": [], \"continueJob\": [0]}}")),
        },
        fix: "Give the value the type the key takes, e.g. `\"arguments\": [\"--full\"]`.",
    },
    Explanation {
        code: "E204",
        summary: "an exit code that is not a whole number",
        meaning: "Exit codes are whole numbers; `1.5`, `-1` or `\"0\"` can never be what a command exits with.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" {\n    run \"extract\"\n    continue on 0, 1.5\n}\n".as_bytes()),
        },
        fix: "Write the exit code as a whole number.",
    },
    Explanation {
        code: "E205",
        summary: "an exit code out of range",
        meaning: "Exit codes go from 0 to 32767 here (a shell reports 0 to 255); a larger number can never match.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" {\n    run \"extract\"\n    finish on 40000\n}\n".as_bytes()),
        },
        fix: "Use the code the command really exits with.",
    },
    Explanation {
        code: "E206",
        summary: "a schema that is not an Iglu URI",
        meaning: "The `schema` names the factfile's schema as an Iglu URI, `iglu:VENDOR/NAME/jsonschema/MODEL-REVISION-ADDITION`; its version decides which keys the file may use.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\nschema \"https://example.com/factfile.json\"\n\ntask \"extract\" { run \"extract\" }\n".as_bytes()),
        },
        fix: "Write `iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-1-0` (or leave the `schema` line out of a DSL file).",
    },
    Explanation {
        code: "E207",
        summary: "a key that needs a newer schema version",
        meaning: "Host constraints, the job's time limit and pools, and the task options (retry, timeout, env, working directory, pool) came with version 1-1-0 of the factfile schema, so a file that declares 1-0-0 may not have them. Factotum 0.7 refuses 1-1-0 rather than run a job without them.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\nschema \"iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0\"\nconstraint \"host,etl-1\"\n\ntask \"extract\" { run \"extract\" }\n".as_bytes()),
        },
        fix: "Declare schema version 1-1-0, or remove the constraint.",
    },
    Explanation {
        code: "E208",
        summary: "an option value out of range",
        meaning: "Retries, timeouts and pools take numbers within bounds: at least one attempt and at most 100, waits from 0 to a day, a backoff factor from 1 to 100, a time limit above 0 and up to a year, a pool of 1 to 10000 tasks; seconds go to the millisecond. An empty `onCodes` would never retry.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" {\n    run \"extract\"\n    retry attempts 0\n}\n".as_bytes()),
        },
        fix: "Give a value within the bounds the message names; leave an option out for its default.",
    },
    Explanation {
        code: "E209",
        summary: "a pool or environment variable declared twice",
        meaning: "Each pool is declared once, and each task sets each environment variable once: which of two values should win is not something to leave to the order of lines. A factfile could not even say it: JSON objects have each key once.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"load\" {\n    run \"load\"\n    env \"PGHOST\" = \"db1\", \"PGHOST\" = \"db2\"\n}\n".as_bytes()),
        },
        fix: "Keep one of them.",
    },
    Explanation {
        code: "E300",
        summary: "a malformed placeholder",
        meaning: "A `{{` opens a placeholder that must name a variable and close with `}}` (`}}}` for `{{{`).",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" { run \"extract\" with \"--day={{ day }\" }\n".as_bytes()),
        },
        fix: "Close the placeholder, or write the braces some other way if they are meant literally.",
    },
    Explanation {
        code: "E301",
        summary: "a template construct that is not supported",
        meaning: "Templates fill in `{{ name }}` (and the unescaped `{{{ name }}}` and `{{& name }}`); Mustache's sections, inverted sections and partials are not supported.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" { run \"extract\" with \"{{# full }}--full{{/ full }}\" }\n".as_bytes()),
        },
        fix: "Compute the text before the run and give it as a variable with `--env`.",
    },
    Explanation {
        code: "E302",
        summary: "a variable with no value",
        meaning: "With `--env` (or `--tag`), every placeholder must have a value; without them `check` does not know the values and does not look. `run` always does. One diagnostic names every place the variable is used.",
        example: Example {
            command: &["check", "--env", "{\"day\": \"2026-12-01\"}", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly {{ day }}\"\n\ntask \"extract\" { run \"extract\" with \"--day={{ dya }}\" }\n".as_bytes()),
        },
        fix: "Give it a value with `--env '{\"NAME\": \"VALUE\"}'` (a `tag:KEY` variable with `--tag KEY,VALUE`), or correct its name.",
    },
    Explanation {
        code: "E400",
        summary: "two tasks with the same name",
        meaning: "Task names are what `after` (`dependsOn`) refers to, so each must be unique, compared after templating.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" { run \"extract\" with \"--table=orders\" }\ntask \"extract\" { run \"extract\" with \"--table=customers\" }\n".as_bytes()),
        },
        fix: "Rename one of them.",
    },
    Explanation {
        code: "E401",
        summary: "a dependency on a task that does not exist",
        meaning: "A task waits for a task the job does not have, so it could never start.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract orders\" { run \"extract\" }\n\ntask \"load\" {\n    after \"extract order\"\n    run \"load\"\n}\n".as_bytes()),
        },
        fix: "Correct the name in `after` (`dependsOn`; the hint suggests the closest), or add the missing task.",
    },
    Explanation {
        code: "E402",
        summary: "a task that depends on itself",
        meaning: "A task cannot wait for its own end: it would never start.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"load\" {\n    after \"load\"\n    run \"load\"\n}\n".as_bytes()),
        },
        fix: "Remove the task's own name from its `after`.",
    },
    Explanation {
        code: "E403",
        summary: "a dependency cycle",
        meaning: "Tasks that wait for each other, round a loop, can never start. The message names the loop; each link is labelled.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"red\" { after \"blue\" run \"echo red\" }\ntask \"green\" { after \"red\" run \"echo green\" }\ntask \"blue\" { after \"green\" run \"echo blue\" }\n".as_bytes()),
        },
        fix: "Remove one dependency of the loop.",
    },
    Explanation {
        code: "E404",
        summary: "a task that can never succeed",
        meaning: "No exit code continues the job, so the task fails whatever its command does.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" {\n    run \"extract\"\n    continue never\n}\n".as_bytes()),
        },
        fix: "List the exit codes that mean success: `continue on 0` (the default when the line is left out).",
    },
    Explanation {
        code: "E405",
        summary: "an exit code that both finishes and continues the job",
        meaning: "A code cannot both end the job early and let the tasks after this one run. The default `continue on 0` counts too.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" {\n    run \"extract\"\n    continue on 0, 3\n    finish on 3\n}\n".as_bytes()),
        },
        fix: "Keep the code in one of the two lists.",
    },
    Explanation {
        code: "E406",
        summary: "a task names a pool the job does not declare",
        meaning: "A task's `pool` must be declared by the job with its size (`pool \"db\" size 2`, JSON `\"pools\": {\"db\": 2}`): the size is what limits its tasks.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\npool \"warehouse\" size 2\n\ntask \"load\" {\n    run \"load\"\n    pool \"warehuose\"\n}\n".as_bytes()),
        },
        fix: "Fix the name (the message suggests the closest declared pool), or declare the pool.",
    },
    Explanation {
        code: "E408",
        summary: "a retry code that already means success",
        meaning: "A retry is for failures. A code that `continue on`/`continueJob` or `finish on`/`terminateJobWithSuccess` lists is a success and is never retried, so listing it in `retry … on`/`onCodes` contradicts them.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" {\n    run \"extract\"\n    continue on 0, 1\n    retry attempts 3 on 1\n}\n".as_bytes()),
        },
        fix: "Take the code out of one of the two lists.",
    },
    Explanation {
        code: "E409",
        summary: "an environment variable name that cannot be set",
        meaning: "A variable's name may not be empty or contain `=` or a NUL character: the environment could not hold it.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" {\n    run \"extract\"\n    env \"DAY=1\" = \"2026-11-28\"\n}\n".as_bytes()),
        },
        fix: "Write the name alone, and the value after `=` (JSON: as the key's value).",
    },
    Explanation {
        code: "E500",
        summary: "an invalid host constraint",
        meaning: "A constraint is `host,NAME`: the job runs only on a host of that name or address (`host,*` on any). There is no other type.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\nconstraint \"hots,etl-1\"\n\ntask \"extract\" { run \"extract\" }\n".as_bytes()),
        },
        fix: "Write `host,NAME`.",
    },
    Explanation {
        code: "E600",
        summary: "a DSL syntax error",
        meaning: "The `.factotum` file does not follow the language's grammar: a misspelt keyword, a missing quote or brace. The message says what was expected there; checking goes on at the next task.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" {\n    run \"extract\"\n    finsh on 3\n}\n".as_bytes()),
        },
        fix: "Correct the file at the place shown; `docs/dsl.md` has every statement.",
    },
    Explanation {
        code: "E601",
        summary: "an invalid DSL string",
        meaning: "A DSL string has an escape the language does not know (it has `\\\\`, `\\\"`, `\\n` and `\\t`) or a raw control character.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" { run \"grep \\d+ orders.csv\" }\n".as_bytes()),
        },
        fix: "Write `\\\\` for a backslash.",
    },
    Explanation {
        code: "E602",
        summary: "a statement given twice",
        meaning: "Each statement appears once in a task (and `job` once in a file): a second one would silently replace the first.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"a\" { run \"a\" }\ntask \"b\" { run \"b\" }\n\ntask \"load\" {\n    after \"a\"\n    after \"b\"\n    run \"load\"\n}\n".as_bytes()),
        },
        fix: "Merge them into one: `after \"a\", \"b\"`.",
    },
    Explanation {
        code: "E603",
        summary: "a required statement is missing",
        meaning: "A file needs a `job` line, and every task a `run` statement.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" {\n    finish on 3\n}\n".as_bytes()),
        },
        fix: "Add the statement.",
    },
    Explanation {
        code: "E700",
        summary: "an exported job names more than one host",
        meaning: "Airflow and Slurm run an exported job on one queue or node, so a job constrained to several hosts cannot be exported as it is.",
        example: Example {
            command: &["export", "job.factotum", "--to", "slurm"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\nconstraint \"host,alpha\"\nconstraint \"host,beta\"\n\ntask \"extract\" { run \"extract\" }\n".as_bytes()),
        },
        fix: "Keep one `host` constraint in the exported job.",
    },
    Explanation {
        code: "E701",
        summary: "a variable in a name that an export must fix",
        meaning: "With `--defer-env`, variables get their values when the exported job runs; but task names (and the dependencies that name them) become the other engine's identifiers when the job is exported, so a variable in them needs its value then.",
        example: Example {
            command: &["export", "job.factotum", "--to", "airflow", "--defer-env"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"load {{ table }}\" { run \"load\" }\n".as_bytes()),
        },
        fix: "Give the variable's value at export with `--env` (a `tag:KEY` variable with `--tag`), or take it out of the name.",
    },
    Explanation {
        code: "E702",
        summary: "an address where Slurm needs a node name",
        meaning: "A `host` constraint becomes the Slurm node the job runs on, and Slurm names nodes, not addresses.",
        example: Example {
            command: &["export", "job.factotum", "--to", "slurm"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\nconstraint \"host,10.0.0.7\"\n\ntask \"extract\" { run \"extract\" }\n".as_bytes()),
        },
        fix: "Use the node's name in the constraint.",
    },
    Explanation {
        code: "E703",
        summary: "a scheduled export with a variable that has no default",
        meaning: "A DAG run by its schedule has no one to give a value, so each deferred variable needs a default from `--env`.",
        example: Example {
            command: &["export", "job.factotum", "--to", "airflow", "--defer-env", "--schedule", "0 3 * * *"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"load\" { run \"load\" with \"{{ day }}\" }\n".as_bytes()),
        },
        fix: "Give a default with `--env`, or export without `--schedule` and trigger runs with a conf.",
    },
    Explanation {
        code: "W400",
        summary: "a dependency listed twice",
        meaning: "Waiting for a task twice is the same as waiting once; the repetition is likely a slip for another name.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" { run \"extract\" }\n\ntask \"load\" {\n    after \"extract\", \"extract\"\n    run \"load\"\n}\n".as_bytes()),
        },
        fix: "Remove the repetition, or name the task that was meant.",
    },
    Explanation {
        code: "W401",
        summary: "an executor other than shell",
        meaning: "Every task runs with `sh -c`, as in Factotum 0.7, whatever its executor says.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" {\n    executor \"docker\"\n    run \"extract\"\n}\n".as_bytes()),
        },
        fix: "Remove the `executor` line (`\"executor\": \"shell\"` in a factfile), and run the container from the command.",
    },
    Explanation {
        code: "W402",
        summary: "a task whose continue codes leave out 0",
        meaning: "The codes that continue the job replace the default 0 rather than adding to it: with `continue on 1`, a command that succeeds (exits 0) fails the job, unless 0 finishes it early.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"compare\" {\n    run \"diff old.csv new.csv\"\n    continue on 1\n}\n".as_bytes()),
        },
        fix: "List 0 too: `continue on 0, 1`. If 0 really is a failure, leave it as it is: this is a warning.",
    },
    Explanation {
        code: "W403",
        summary: "a retry code no command exits with",
        meaning: "A process's exit status is its low 8 bits, 0 to 255: `exit 256` is seen as 0. A retry limited to a code above 255 never happens for it.",
        example: Example {
            command: &["check", "job.factotum"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\n\ntask \"extract\" {\n    run \"extract\"\n    retry attempts 3 on 1, 300\n}\n".as_bytes()),
        },
        fix: "Use the code the command really exits with (for a signal, leave `on` out: every failure is then retried).",
    },
    Explanation {
        code: "W700",
        summary: "an option the engine an export is for cannot express",
        meaning: "Retries, timeouts, variables, working directories and pools become the engine's own settings, but not all of them have a counterpart: Airflow retries a task after any failure (no `retry … on` codes); Slurm limits the time of each job, not of a whole job set (no job `timeout`), and has no pools. The export goes on without that limit, so the job may run differently there than under `run`: read the warning before deploying.",
        example: Example {
            command: &["export", "job.factotum", "--to", "slurm"],
            file_name: "job.factotum",
            file: ExampleFile::Bytes("job \"nightly\"\npool \"warehouse\" size 1\n\ntask \"load\" {\n    run \"load\"\n    pool \"warehouse\"\n}\n".as_bytes()),
        },
        fix: "Accept the difference (it is a warning: the export is written), or export a job without that option; on Slurm, a license the cluster's administrator configures can play a pool's part.",
    },
];
