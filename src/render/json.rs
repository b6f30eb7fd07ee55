//! A job as a JSON factfile that Factotum 0.7 reads: every task key, in 0.7's order, indented
//! by four spaces like 0.7's samples.

use serde::Serialize;
use serde_json::ser::{PrettyFormatter, Serializer};

use crate::ir::{Job, OnResult, Task};
use crate::span::Spanned;
use crate::template::Template;

#[derive(Serialize)]
struct Envelope<'j> {
    schema: &'j str,
    data: JobData<'j>,
}

#[derive(Serialize)]
struct JobData<'j> {
    name: &'j str,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraints: Option<Vec<&'j str>>,
    tasks: Vec<TaskData<'j>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskData<'j> {
    name: &'j str,
    executor: &'j str,
    command: &'j str,
    arguments: Vec<&'j str>,
    depends_on: Vec<&'j str>,
    on_result: OnResultData,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OnResultData {
    terminate_job_with_success: Vec<u16>,
    continue_job: Vec<u16>,
}

/// The job as a factfile, ending with a line break. The schema is the job's own: the DSL gives
/// a job 1-0-0 unless it has constraints, so the file runs on 0.7 whenever it can.
pub fn print(job: &Job) -> String {
    let envelope = Envelope {
        schema: &job.schema.value,
        data: JobData {
            name: &job.name.text,
            constraints: (job.declares_constraints || !job.constraints.is_empty())
                .then(|| job.constraints.iter().map(|c| c.value.as_str()).collect()),
            tasks: job.tasks.iter().map(task).collect(),
        },
    };
    let mut out = Vec::new();
    let mut serializer =
        Serializer::with_formatter(&mut out, PrettyFormatter::with_indent(b"    "));
    // Strings and integers always serialize, and a `Vec` never fails to grow.
    let _ = envelope.serialize(&mut serializer);
    out.push(b'\n');
    // serde_json writes only UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

fn task(task: &Task) -> TaskData<'_> {
    // Taken apart whole, so that a field added to the IR is a compile error here until the
    // factfile says it too.
    let Task {
        name,
        executor,
        command,
        arguments,
        depends_on,
        on_result:
            OnResult {
                terminate_job_with_success,
                continue_job,
            },
    } = task;
    TaskData {
        name: &name.text,
        executor: &executor.value,
        command: &command.text,
        arguments: texts(arguments),
        depends_on: texts(depends_on),
        on_result: OnResultData {
            terminate_job_with_success: codes(terminate_job_with_success),
            continue_job: codes(continue_job),
        },
    }
}

fn texts(templates: &[Template]) -> Vec<&str> {
    templates.iter().map(|t| &*t.text).collect()
}

fn codes(codes: &Spanned<Vec<Spanned<u16>>>) -> Vec<u16> {
    codes.value.iter().map(|c| c.value).collect()
}
