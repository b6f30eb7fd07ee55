//! Preparing a run: every template of a valid job rendered once, giving the tasks as the
//! executor runs them (with their `sh -c` line) and the job as webhooks report it.

use std::borrow::Cow;

use super::PreparedTask;
use crate::ir::Job;
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
}

/// Renders `job`, written in `format`, with `variables`; the compact factfile is built only
/// `for_webhook`.
pub(crate) fn prepare(
    job: &Job,
    format: Format,
    variables: &Variables,
    for_webhook: bool,
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
