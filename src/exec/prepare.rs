//! Preparing a run: every template of a valid job rendered once, giving the tasks as the
//! executor runs them (with their `sh -c` line) and the job as webhooks report it.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::{PreparedTask, RetryPolicy};
use crate::ir::{Decimal, Job, Retry, Task};
use crate::span::Spanned;
use crate::syntax::Format;
use crate::template::{Template, Variables};
use crate::webhook::{CompactFactfile, CompactJob, CompactOnResult, CompactTask};

/// A job ready to run.
pub(crate) struct PreparedRun {
    /// The job's name, rendered.
    pub name: String,
    /// The tasks in file order, as the executor runs them.
    pub tasks: Vec<PreparedTask>,
    /// The job as 0.7 re-encoded it for webhooks, when asked for.
    pub factfile: Option<CompactFactfile>,
    /// The longest the whole run may take, and how the file wrote it in seconds.
    pub timeout: Option<(std::time::Duration, String)>,
    /// Each pool's name and how many of its tasks may run at once, in file order.
    pub pools: Vec<(String, usize)>,
}

/// Renders `job`, written in `format`, with `variables`; the compact factfile is built only
/// `for_webhook`. Relative working directories are taken from `job_directory` (the job
/// file's directory; empty for the current one).
pub(crate) fn prepare(
    job: &Job,
    format: Format,
    variables: &Variables,
    for_webhook: bool,
    job_directory: &Path,
) -> PreparedRun {
    let rendered: Vec<RenderedTask<'_>> = job
        .tasks
        .iter()
        .map(|task| {
            let codes = |list: &Spanned<Vec<Spanned<u16>>>| {
                list.value.iter().map(|code| code.value).collect()
            };
            let all = |templates: &[Template]| {
                templates
                    .iter()
                    .map(|template| render(template, variables))
                    .collect()
            };
            RenderedTask {
                name: render(&task.name, variables),
                executor: &task.executor.value,
                command: render(&task.command, variables),
                arguments: all(&task.arguments),
                depends_on: if for_webhook {
                    all(&task.depends_on)
                } else {
                    Vec::new()
                },
                continue_codes: codes(&task.on_result.continue_job),
                terminate_codes: codes(&task.on_result.terminate_job_with_success),
                options: TaskOptions::of(task, variables, job_directory),
            }
        })
        .collect();
    PreparedRun {
        name: render(&job.name, variables),
        tasks: rendered
            .iter()
            .map(|task| task.to_prepared(format))
            .collect(),
        factfile: for_webhook.then(|| compact_factfile(job, variables, rendered)),
        timeout: job.timeout.as_ref().map(time_limit),
        pools: job
            .pools
            .iter()
            .map(|pool| {
                let size = usize::try_from(pool.size.value).unwrap_or(usize::MAX);
                (pool.name.value.clone(), size)
            })
            .collect(),
    }
}

/// A time limit as the executor takes it, and as its messages say it (`1.5`, in seconds).
fn time_limit(seconds: &Spanned<Decimal>) -> (std::time::Duration, String) {
    (seconds.value.as_duration(), seconds.value.to_string())
}

/// A task's options with their templates rendered: what the executor needs beyond the line.
#[derive(Clone, Debug, Default)]
pub(crate) struct TaskOptions {
    /// How a failed attempt is tried again; `None` for a single attempt.
    pub retry: Option<RetryPolicy>,
    /// The longest one attempt may take, and how the file wrote it (`1.5`), for messages.
    pub timeout: Option<(std::time::Duration, String)>,
    /// Variables added to the command's environment, in file order.
    pub env: Vec<(String, String)>,
    /// Where the command runs.
    pub working_directory: Option<PathBuf>,
    /// The pool the task counts against.
    pub pool: Option<String>,
}

impl TaskOptions {
    fn of(task: &Task, variables: &Variables, job_directory: &Path) -> Self {
        Self {
            retry: task.retry.as_ref().map(RetryPolicy::of),
            timeout: task.timeout.as_ref().map(time_limit),
            env: task
                .env
                .iter()
                .map(|variable| {
                    (
                        variable.name.value.clone(),
                        render(&variable.value, variables),
                    )
                })
                .collect(),
            working_directory: task
                .working_directory
                .as_ref()
                .map(|directory| job_directory.join(render(directory, variables))),
            pool: task.pool.as_ref().map(|pool| pool.value.clone()),
        }
    }
}

impl RetryPolicy {
    /// The policy `retry` says, its defaults filled in: no wait, a factor of 1, no limit.
    pub(crate) fn of(retry: &Retry) -> Self {
        let seconds = |value: &Option<Spanned<Decimal>>| {
            value.as_ref().map(|seconds| seconds.value.as_duration())
        };
        Self {
            attempts: retry.attempts.value,
            delay: seconds(&retry.delay).unwrap_or_default(),
            backoff: retry
                .backoff
                .as_ref()
                .map_or(1.0, |factor| factor.value.as_f64()),
            max_delay: seconds(&retry.max_delay),
            on_codes: retry
                .on_codes
                .as_ref()
                .map(|codes| codes.value.iter().map(|code| code.value).collect()),
        }
    }
}

/// A task with its templates rendered.
struct RenderedTask<'j> {
    name: String,
    executor: &'j str,
    command: String,
    arguments: Vec<String>,
    depends_on: Vec<String>,
    continue_codes: Vec<u16>,
    terminate_codes: Vec<u16>,
    options: TaskOptions,
}

impl RenderedTask<'_> {
    /// The task as the executor runs it: `sh -c` gets the command, a space, then each argument
    /// in double quotes, unescaped, as Factotum 0.7 built the line.
    fn to_prepared(&self, format: Format) -> PreparedTask {
        let arguments = self.arguments.iter().map(|a| vec![a.as_str()]).collect();
        PreparedTask {
            name: self.name.clone(),
            command_line: command_line(vec![self.command.as_str()], arguments, |text| text)
                .concat(),
            continue_codes: self.continue_codes.clone(),
            terminate_codes: self.terminate_codes.clone(),
            written_in: format,
            options: self.options.clone(),
        }
    }
}

/// Factotum 0.7's command line in pieces: the command's, a space, then each argument's in
/// double quotes, unescaped, separated by spaces (the space after the command is there even
/// without arguments). `text` makes a piece of fixed text; an export builds the line from
/// pieces some of which are values given only when its engine runs the task.
pub(crate) fn command_line<P>(
    command: Vec<P>,
    arguments: Vec<Vec<P>>,
    text: impl Fn(&'static str) -> P,
) -> Vec<P> {
    let mut line = command;
    line.push(text(" "));
    for (index, argument) in arguments.into_iter().enumerate() {
        if index > 0 {
            line.push(text(" "));
        }
        line.push(text("\""));
        line.extend(argument);
        line.push(text("\""));
    }
    line
}

/// Renders a template; the linter has made sure every variable has a value.
fn render(template: &Template, variables: &Variables) -> String {
    template
        .render(variables)
        .map_or_else(|_| template.text.to_string(), Cow::into_owned)
}

/// The job as 0.7 re-encoded it for webhooks: compact, in its key order, templates rendered.
fn compact_factfile(
    job: &Job,
    variables: &Variables,
    rendered: Vec<RenderedTask<'_>>,
) -> CompactFactfile {
    let tasks = rendered
        .into_iter()
        .map(|task| CompactTask {
            name: task.name,
            executor: task.executor.to_owned(),
            command: task.command,
            arguments: task.arguments,
            depends_on: task.depends_on,
            on_result: CompactOnResult {
                terminate_job_with_success: task.terminate_codes,
                continue_job: task.continue_codes,
            },
        })
        .collect();
    CompactFactfile {
        schema: job.schema.value.clone(),
        data: CompactJob {
            name: render(&job.name, variables),
            tasks,
            constraints: job.constraints.iter().map(|c| c.value.clone()).collect(),
        },
    }
}
