//! An export as one Python file defining one Apache Airflow 3 DAG.
//!
//! Each task is a `FactotumTask`, a `BashOperator` defined in the file, that runs the task's
//! command line with `sh -c` and turns its exit code into Airflow's words: a continue code
//! succeeds; a finish code exits 99, which `skip_on_exit_code` makes "skipped", and Airflow's
//! default trigger rule then skips exactly what is below it; anything else fails.
//!
//! The command line is a templated field, so it is written for Jinja: literal text with Jinja's
//! own openers escaped, deferred variables as `params`, which a run's `conf` overrides.

use std::fmt::Write as _;

use super::{Export, ExportedTask, Piece, one_line};
use crate::diag::{Diagnostic, Problem};
use crate::ir::Decimal;
use crate::template::Filter;

/// The longest identifier Airflow takes for a DAG or a task.
const MAX_ID: usize = 250;

/// What the user chose beyond the job.
pub(crate) struct Options<'a> {
    /// `--dag-id`, already checked with [`check_id`].
    pub(crate) dag_id: Option<&'a str>,
    /// `--schedule`: a cron expression or preset; none means runs are only triggered.
    pub(crate) schedule: Option<&'a str>,
}

/// The DAG id of an export: `--dag-id`, or one derived from the job's name.
pub(crate) fn dag_id(export: &Export, options: &Options<'_>) -> String {
    options
        .dag_id
        .map_or_else(|| identifier(&export.stem, "factotum_job"), str::to_owned)
}

/// Why `id` cannot be a DAG id, if it cannot: Airflow takes letters, digits, `-`, `.`
/// and `_`, at most 250 of them.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID {
        return Err(format!("a DAG id has 1 to {MAX_ID} characters"));
    }
    match id
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        Some(c) => Err(format!(
            "`{c}` cannot be in a DAG id: use letters, digits, `-`, `.` and `_`"
        )),
        None => Ok(()),
    }
}

/// `text` as an Airflow identifier: lower-case ASCII letters and digits, `-`, `.` and `_`
/// kept, every other run of characters one `_`, none at either end; `fallback` if nothing is
/// left.
pub(crate) fn identifier(text: &str, fallback: &str) -> String {
    let mut id = String::with_capacity(text.len());
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
            id.push(c);
        } else if !id.ends_with('_') {
            id.push('_');
        }
    }
    let trimmed = id.trim_matches('_');
    let mut end = trimmed.len().min(MAX_ID);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    match &trimmed[..end] {
        "" => fallback.to_owned(),
        id => id.to_owned(),
    }
}

/// Problems only Airflow has with `export`: a scheduled run has nobody to give a variable
/// without a default (E703); Airflow retries every failure, so retries limited to some exit
/// codes become retries of every failure (W700).
pub(crate) fn check(export: &Export, options: &Options<'_>) -> Vec<Diagnostic> {
    let mut problems: Vec<Diagnostic> = export
        .parameters
        .iter()
        .filter(|parameter| options.schedule.is_some() && parameter.default.is_none())
        .map(|parameter| {
            Diagnostic::new(Problem::RequiredParameter {
                name: parameter.name.clone(),
            })
            .at(parameter.span, "no default for this")
            .note(format!(
                "hint: give its default with `--env '{{\"{}\": \"...\"}}'`; a triggered run can still change it",
                parameter.name
            ))
        })
        .collect();
    for task in &export.tasks {
        let Some(codes) = task
            .retry
            .as_ref()
            .and_then(|retry| retry.on_codes.as_ref())
        else {
            continue;
        };
        problems.push(
            Diagnostic::new(Problem::UnmappedOption {
                engine: "Airflow",
                option: "retry on",
                task: Some(task.name.clone()),
            })
            .at(codes.span, "retried only after these exit codes")
            .note("Airflow retries a task after any failure: the exported task is retried whatever its exit code, and after a signal or a timeout too"),
        );
    }
    problems
}

/// The task ids: each name as an identifier, made unique with `_2`, `_3`, … in plan order.
fn task_ids(export: &Export) -> Vec<String> {
    let mut ids: Vec<String> = Vec::with_capacity(export.tasks.len());
    for task in &export.tasks {
        let base = identifier(&task.name, "task");
        let mut id = base.clone();
        let mut counter = 2;
        while ids.contains(&id) {
            id = format!("{base}_{counter}");
            counter += 1;
        }
        ids.push(id);
    }
    ids
}

/// The Python file.
pub(crate) fn print(export: &Export, options: &Options<'_>) -> String {
    let dag_id = dag_id(export, options);
    let mut out = String::new();
    header(&mut out, export, &dag_id);
    out.push_str("\"\"\"A factotum job as an Airflow DAG.\"\"\"\n\n");
    if uses_durations(export) {
        out.push_str("from datetime import timedelta\n\n");
    }
    out.push_str("from airflow.providers.standard.operators.bash import BashOperator\n");
    out.push_str(if export.parameters.is_empty() {
        "from airflow.sdk import DAG\n"
    } else {
        "from airflow.sdk import DAG, Param\n"
    });
    out.push_str(OPERATOR);
    let shell_filter = export
        .tasks
        .iter()
        .flat_map(|task| &task.line)
        .any(|piece| {
            matches!(
                piece,
                Piece::Parameter {
                    filter: Filter::Shell,
                    ..
                }
            )
        });
    if shell_filter {
        out.push_str(SHELL_FILTER);
    }
    dag_arguments(&mut out, export, options, &dag_id, shell_filter);
    out.push_str(") as dag:\n    tasks = {}\n");
    tasks(&mut out, export);
    out
}

/// `with DAG(` and its arguments.
fn dag_arguments(
    out: &mut String,
    export: &Export,
    options: &Options<'_>,
    dag_id: &str,
    shell_filter: bool,
) {
    out.push_str("\n\nwith DAG(\n");
    let _ = writeln!(out, "    dag_id={},", python_string(dag_id));
    let _ = writeln!(out, "    description={},", python_string(&export.title));
    match options.schedule {
        Some(schedule) => {
            let _ = writeln!(out, "    schedule={},", python_string(schedule));
        }
        None => out.push_str("    schedule=None,\n"),
    }
    out.push_str("    catchup=False,\n");
    if !export.tags.is_empty() {
        let tags: Vec<String> = export
            .tags
            .iter()
            .map(|(key, value)| python_string(&format!("{key}:{value}")))
            .collect();
        let _ = writeln!(out, "    tags=[{}],", tags.join(", "));
    }
    if !export.parameters.is_empty() {
        out.push_str("    params={\n");
        for parameter in &export.parameters {
            let default = parameter
                .default
                .as_deref()
                .map(|value| format!("{}, ", python_string(value)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "        {}: Param({default}type=\"string\"),",
                python_string(&parameter.name)
            );
        }
        out.push_str("    },\n");
    }
    if shell_filter {
        out.push_str("    user_defined_filters={\"factotum_shell\": shell_word},\n");
    }
    if let Some(timeout) = &export.timeout {
        let _ = writeln!(out, "    dagrun_timeout={},", timedelta(timeout.value));
    }
}

/// Whether the file needs `timedelta`: for retries and timeouts.
fn uses_durations(export: &Export) -> bool {
    export.timeout.is_some()
        || export
            .tasks
            .iter()
            .any(|task| task.retry.is_some() || task.timeout.is_some())
}

/// Seconds as a Python `timedelta`.
fn timedelta(seconds: Decimal) -> String {
    format!("timedelta(seconds={seconds})")
}

/// The arguments of a task's options: retries, timeout, environment, working directory and
/// pool, in Airflow's words.
fn task_options(out: &mut String, task: &ExportedTask, job_directory: &str) {
    if let Some(retry) = &task.retry {
        let _ = writeln!(
            out,
            "        retries={},",
            retry.attempts.value.saturating_sub(1)
        );
        // Airflow waits 300 seconds unless told; factotum's default is no wait.
        let delay = retry
            .delay
            .as_ref()
            .map(|delay| delay.value)
            .unwrap_or_default();
        let _ = writeln!(out, "        retry_delay={},", timedelta(delay));
        if let Some(backoff) = retry
            .backoff
            .as_ref()
            .filter(|backoff| backoff.value != ONE)
        {
            let _ = writeln!(out, "        retry_exponential_backoff={},", backoff.value);
        }
        if let Some(max) = &retry.max_delay {
            let _ = writeln!(out, "        max_retry_delay={},", timedelta(max.value));
        }
    }
    if let Some(timeout) = &task.timeout {
        let _ = writeln!(
            out,
            "        execution_timeout={},",
            timedelta(timeout.value)
        );
    }
    if !task.env.is_empty() {
        out.push_str("        env={\n");
        for (name, value) in &task.env {
            let _ = writeln!(
                out,
                "            {}: {},",
                python_string(name),
                python_string(&jinja_line(value))
            );
        }
        out.push_str("        },\n");
    }
    if let Some(directory) = &task.directory {
        let _ = writeln!(
            out,
            "        cwd={},",
            python_string(&jinja_directory(directory, job_directory))
        );
    }
    if let Some(pool) = &task.pool {
        let _ = writeln!(out, "        pool={},", python_string(&pool.value));
    }
}

/// The backoff factor that leaves the delay as it is.
const ONE: Decimal = Decimal::from_thousandths(1000);

/// A working directory as Jinja text. One that starts with a deferred variable is relative
/// to the job file's directory when the variable's value is a relative path: Jinja decides
/// when the task runs.
fn jinja_directory(directory: &[Piece], job_directory: &str) -> String {
    let text = jinja_line(directory);
    if !matches!(directory.first(), Some(Piece::Parameter { .. })) {
        return text;
    }
    // Inside an expression a string is Jinja's, not text to escape.
    format!(
        "{{% set directory %}}{text}{{% endset %}}\
         {{{{ directory if directory.startswith('/') else {} ~ directory }}}}",
        python_string(&format!("{job_directory}/"))
    )
}

/// One `FactotumTask` per task, each followed by what it waits for.
fn tasks(out: &mut String, export: &Export) {
    let ids = task_ids(export);
    for (task, id) in export.tasks.iter().zip(&ids) {
        let key = python_string(id);
        let _ = writeln!(out, "\n    tasks[{key}] = FactotumTask(");
        let _ = writeln!(out, "        task_id={key},");
        let _ = writeln!(
            out,
            "        task_display_name={},",
            python_string(&task.name)
        );
        let _ = writeln!(
            out,
            "        command_line={},",
            python_string(&jinja_line(&task.line))
        );
        let _ = writeln!(
            out,
            "        continue_on={},",
            python_list(&task.continue_codes)
        );
        let _ = writeln!(
            out,
            "        finish_on={},",
            python_list(&task.finish_codes)
        );
        if let Some(host) = &export.host {
            let _ = writeln!(out, "        queue={},", python_string(&host.name));
        }
        task_options(out, task, &export.job_directory);
        out.push_str("    )\n");
        match task.after.as_slice() {
            [] => {}
            [one] => {
                let _ = writeln!(
                    out,
                    "    tasks[{}] >> tasks[{key}]",
                    python_string(&ids[*one])
                );
            }
            many => {
                let upstream: Vec<String> = many
                    .iter()
                    .map(|&at| format!("tasks[{}]", python_string(&ids[at])))
                    .collect();
                let _ = writeln!(out, "    [{}] >> tasks[{key}]", upstream.join(", "));
            }
        }
    }
}

/// The comment that opens the file: where it came from and what does not carry over.
fn header(out: &mut String, export: &Export, dag_id: &str) {
    let _ = writeln!(
        out,
        "# Exported by factotum {} from {}.",
        env!("CARGO_PKG_VERSION"),
        one_line(&export.source)
    );
    out.push_str("# Change the job and export it again rather than editing this file.\n#\n");
    let _ = writeln!(
        out,
        "# The job {} ({} tasks) as the DAG `{dag_id}`.",
        one_line(&format!("\"{}\"", export.title)),
        export.tasks.len()
    );
    out.push_str(
        "# Each task runs its command line with `sh -c`, as `factotum run --dry-run` prints it.\n",
    );
    if let Some(host) = &export.host {
        let _ = writeln!(
            out,
            "# The job's host constraint is the Celery queue of every task: start a worker on that\n\
             # host with `airflow celery worker --queues {}`.",
            one_line(&host.name)
        );
    }
    if !export.parameters.is_empty() {
        out.push_str(
            "# The job's variables are the DAG's params: a triggered run's conf sets them.\n",
        );
    }
    out.push_str(
        "# Webhooks (`run --webhook`) do not apply inside Airflow: its callbacks and listeners\n\
         # report runs instead. Tasks start in a temporary directory, as BashOperator's do.\n",
    );
    options_header(out, export);
}

/// What the header says of the job's options, when it has them.
fn options_header(out: &mut String, export: &Export) {
    let any = |has: fn(&ExportedTask) -> bool| export.tasks.iter().any(has);
    if any(|task| task.retry.is_some()) {
        out.push_str(
            "# Retries are Airflow's: the waits are retry_delay, times retry_exponential_backoff at\n\
             # each retry, up to max_retry_delay; with a backoff Airflow waits up to twice that\n\
             # (its jitter), in whole seconds, where `run` waits within 10% of it.\n",
        );
    }
    if any(|task| task.timeout.is_some()) {
        out.push_str("# A task's timeout is its execution_timeout.\n");
    }
    if export.timeout.is_some() {
        out.push_str(
            "# The job's timeout is the DAG run's dagrun_timeout: a run that takes longer fails.\n",
        );
    }
    if any(|task| task.directory.is_some()) {
        let _ = writeln!(
            out,
            "# A task's `dir` is its cwd, where it starts instead; a relative one is taken from\n\
             # the job file's directory, {}: it must exist where the tasks run.",
            one_line(&export.job_directory)
        );
    }
    if !export.pools.is_empty() {
        out.push_str(
            "# Airflow never schedules a task of a pool it does not have: `factotum submit`\n\
             # creates the job's pools it lacks, or create them before the first run:\n",
        );
        for (name, size) in &export.pools {
            let _ = writeln!(
                out,
                "#     airflow pools set {} {size} {}",
                shell_word(name),
                shell_word(&format!("factotum job {}", export.title))
            );
        }
    }
}

/// The operator every task is: fixed text, the same in every export.
const OPERATOR: &str = r#"
# Exit status that tells BashOperator the task finished its branch early.
FINISHED_EARLY = 99

# Runs the command line as `factotum run` does, then gives its exit code Airflow's meaning.
RUN_AND_CLASSIFY = """\
sh -c "$FACTOTUM_COMMAND_LINE"
code=$?
for continue_code in $FACTOTUM_CONTINUE_ON; do
    if [ "$code" -eq "$continue_code" ]; then exit 0; fi
done
for finish_code in $FACTOTUM_FINISH_ON; do
    if [ "$code" -eq "$finish_code" ]; then
        echo "factotum: exit code $code finishes this branch early: the tasks below are skipped" >&2
        exit 99
    fi
done
echo "factotum: exit code $code fails the task (continue on: $FACTOTUM_CONTINUE_ON)" >&2
if [ "$code" -eq 0 ] || [ "$code" -eq 99 ]; then exit 1; fi
exit "$code"
"""


class FactotumTask(BashOperator):
    """A factotum task: its command line, and what its exit codes mean.

    A code in `continue_on` succeeds; a code in `finish_on` marks the task skipped, and with
    it everything below it, while the run still succeeds; any other code, or a signal, fails
    the task, and what waits for it does not run. `command_line`, the values of `env` and `cwd`
    are rendered by Jinja, as every templated field is: a literal `{{`, `{%` or `{#` is written
    with its `{` as `{{ '{' }}`. A task runs once unless `retries` says otherwise.
    """

    # A command line ending in `.sh` is a command, not the name of a template file.
    template_ext = ()

    def __init__(self, *, command_line, continue_on, finish_on, env=None, retries=0, **kwargs):
        super().__init__(
            bash_command=RUN_AND_CLASSIFY,
            # The task's own variables are added to the worker's environment, as `run` adds them.
            env={
                **(env or {}),
                "FACTOTUM_COMMAND_LINE": command_line,
                "FACTOTUM_CONTINUE_ON": " ".join(str(code) for code in continue_on),
                "FACTOTUM_FINISH_ON": " ".join(str(code) for code in finish_on),
            },
            append_env=True,
            skip_on_exit_code=FINISHED_EARLY,
            retries=retries,
            **kwargs,
        )
"#;

/// The filter `{{ name | shell }}` becomes, for deferred values.
const SHELL_FILTER: &str = r#"

def shell_word(value):
    """factotum's `{{ name | shell }}`: the value as one single-quoted shell word."""
    return "'" + str(value).replace("'", "'\\''") + "'"
"#;

/// The command line as Jinja text: literal text reaches the shell unchanged, deferred values
/// come from the run's params.
fn jinja_line(line: &[Piece]) -> String {
    let mut out = String::new();
    let mut after_parameter = false;
    for (index, piece) in line.iter().enumerate() {
        match piece {
            Piece::Text(text) => {
                let parameter_next = matches!(line.get(index + 1), Some(Piece::Parameter { .. }));
                push_jinja_literal(&mut out, text, after_parameter, parameter_next);
                after_parameter = false;
            }
            Piece::Parameter { name, filter } => {
                let _ = write!(out, "{{{{ params[{}]", python_string(name));
                if *filter == Filter::Shell {
                    out.push_str(" | factotum_shell");
                }
                out.push_str(" }}");
                after_parameter = true;
            }
        }
    }
    out
}

/// Jinja opens a tag at `{{`, `{%` and `{#`: such a `{` is written as an expression that
/// prints it. A `}` right after a parameter's `}}` is written the same way, so that it does
/// not run into the tag's end; a `{` right before a parameter's `{{` too.
fn push_jinja_literal(out: &mut String, text: &str, after_parameter: bool, parameter_next: bool) {
    let mut chars = text.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let opens = c == '{'
            && match next {
                Some(next) => matches!(next, '{' | '%' | '#'),
                None => parameter_next,
            };
        if opens {
            out.push_str("{{ '{' }}");
        } else if c == '}' && first && after_parameter {
            out.push_str("{{ '}' }}");
        } else {
            out.push(c);
        }
        first = false;
    }
}

/// `text` as one single-quoted shell word, on one comment line.
fn shell_word(text: &str) -> String {
    let mut word = String::new();
    crate::template::push_shell_quoted(&mut word, &one_line(text));
    word
}

/// A Python string literal with the same characters: JSON's string syntax is a subset of
/// Python's, and a file is UTF-8 by default.
fn python_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// A Python list of exit codes.
fn python_list(codes: &[u16]) -> String {
    let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
    format!("[{}]", codes.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_keep_what_airflow_takes() {
        assert_eq!(
            identifier("Stock report 2026-11-28", "x"),
            "stock_report_2026-11-28"
        );
        assert_eq!(identifier("  read: sales / feed!", "x"), "read_sales_feed");
        assert_eq!(identifier("été", "x"), "t");
        assert_eq!(identifier("***", "fallback"), "fallback");
        assert_eq!(identifier(&"a".repeat(300), "x").len(), MAX_ID);
    }

    #[test]
    fn jinja_openers_are_escaped_and_nothing_else() {
        let line = |text: &str| jinja_line(&[Piece::Text(text.to_owned())]);
        assert_eq!(line("echo ${HOME} {a}"), "echo ${HOME} {a}");
        assert_eq!(line("a{{b"), "a{{ '{' }}{b");
        assert_eq!(line("{%x%} {#y#}"), "{{ '{' }}%x%} {{ '{' }}#y#}");
        let around = jinja_line(&[
            Piece::Text("{".to_owned()),
            Piece::Parameter {
                name: "day".to_owned(),
                filter: Filter::Shell,
            },
            Piece::Text("}".to_owned()),
        ]);
        assert_eq!(
            around,
            "{{ '{' }}{{ params[\"day\"] | factotum_shell }}{{ '}' }}"
        );
    }

    #[test]
    fn dag_ids_are_checked() {
        assert!(check_id("nightly_warehouse-1.2").is_ok());
        assert!(check_id("").is_err());
        assert!(check_id("with space").is_err());
        assert!(check_id(&"a".repeat(251)).is_err());
    }
}

#[cfg(test)]
mod option_tests {
    use super::*;
    use crate::export::tests::{at, exported, retry, seconds, template};
    use crate::ir::{EnvVar, Pool};

    const OPTIONS: Options<'static> = Options {
        dag_id: None,
        schedule: None,
    };

    #[test]
    fn options_are_operator_arguments() {
        let export = exported("job \"j\"\ntask \"t\" { run \"true\" }\n", &[], |job| {
            job.timeout = Some(seconds(7_200_000));
            job.pools = vec![Pool {
                name: at("ware house".to_owned()),
                size: at(2),
            }];
            let task = &mut job.tasks[0];
            task.retry = Some(retry(3, 1500, 2000, Some(60_000)));
            task.timeout = Some(seconds(30_000));
            task.env = vec![EnvVar {
                name: at("GREETING".to_owned()),
                value: template("100{%"),
            }];
            task.working_directory = Some(template("data"));
            task.pool = Some(at("ware house".to_owned()));
        });
        let dag = print(&export, &OPTIONS);
        for expected in [
            "from datetime import timedelta\n",
            "    dagrun_timeout=timedelta(seconds=7200),\n",
            "        retries=2,\n",
            "        retry_delay=timedelta(seconds=1.5),\n",
            "        retry_exponential_backoff=2,\n",
            "        max_retry_delay=timedelta(seconds=60),\n",
            "        execution_timeout=timedelta(seconds=30),\n",
            "            \"GREETING\": \"100{{ '{' }}%\",\n",
            "        cwd=\"/jobs/data\",\n",
            "        pool=\"ware house\",\n",
            "#     airflow pools set 'ware house' 2 'factotum job j'\n",
        ] {
            assert!(dag.contains(expected), "{expected:?} in:\n{dag}");
        }
        assert!(check(&export, &OPTIONS).is_empty());
    }

    #[test]
    fn a_backoff_of_one_and_no_delay_are_written_as_airflow_needs() {
        let export = exported("job \"j\"\ntask \"t\" { run \"true\" }\n", &[], |job| {
            job.tasks[0].retry = Some(retry(2, 0, 1000, None));
        });
        let dag = print(&export, &OPTIONS);
        // Airflow's own default delay is five minutes.
        assert!(
            dag.contains("        retry_delay=timedelta(seconds=0),\n"),
            "{dag}"
        );
        assert!(!dag.contains("retry_exponential_backoff="), "{dag}");
    }

    #[test]
    fn retries_limited_to_codes_are_a_warning() {
        let export = exported("job \"j\"\ntask \"t\" { run \"true\" }\n", &[], |job| {
            let mut only_75 = retry(2, 0, 1000, None);
            only_75.on_codes = Some(at(vec![at(75)]));
            job.tasks[0].retry = Some(only_75);
        });
        let problems = check(&export, &OPTIONS);
        let codes: Vec<&str> = problems
            .iter()
            .map(|problem| problem.problem.code())
            .collect();
        assert_eq!(codes, ["W700"]);
        assert_eq!(
            problems[0].problem.message(),
            "Airflow has no counterpart of task `t`'s `retry on`"
        );
    }

    #[test]
    fn a_directory_starting_with_a_deferred_variable_is_resolved_by_jinja() {
        let directory = [
            Piece::Parameter {
                name: "root".to_owned(),
                filter: Filter::Verbatim,
            },
            Piece::Text("/x".to_owned()),
        ];
        assert_eq!(
            jinja_directory(&directory, "/jobs"),
            "{% set directory %}{{ params[\"root\"] }}/x{% endset %}\
             {{ directory if directory.startswith('/') else \"/jobs/\" ~ directory }}"
        );
    }
}
