//! A job as a JSON factfile that Factotum 0.7 reads: every task key, in 0.7's order, indented
//! by four spaces like 0.7's samples.

use serde::ser::SerializeMap as _;
use serde::{Serialize, Serializer as SerdeSerializer};
use serde_json::ser::{PrettyFormatter, Serializer};

use crate::ir::{Decimal, EnvVar, Job, OnResult, Pool, Retry, Task};
use crate::span::Spanned;
use crate::template::Template;

#[derive(Serialize)]
struct Envelope<'j> {
    schema: &'j str,
    data: JobData<'j>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobData<'j> {
    name: &'j str,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraints: Option<Vec<&'j str>>,
    tasks: Vec<TaskData<'j>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_seconds: Option<Number>,
    #[serde(skip_serializing_if = "Pools::is_empty")]
    pools: Pools<'j>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    retry: Option<RetryData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_seconds: Option<Number>,
    #[serde(skip_serializing_if = "Environment::is_empty")]
    env: Environment<'j>,
    #[serde(skip_serializing_if = "Option::is_none")]
    working_directory: Option<&'j str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pool: Option<&'j str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RetryData {
    attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay_seconds: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backoff: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_delay_seconds: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_codes: Option<Vec<u16>>,
}

/// A [`Decimal`] as a JSON number: an integer when it is whole (`2`, not `2.0`).
struct Number(Decimal);

impl Serialize for Number {
    fn serialize<S: SerdeSerializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let thousandths = self.0.thousandths();
        if thousandths.is_multiple_of(1000) {
            serializer.serialize_u64(thousandths / 1000)
        } else {
            // Below 2^53 thousandths, the shortest float that reads back as this value is the
            // decimal itself.
            serializer.serialize_f64(self.0.as_f64())
        }
    }
}

/// A task's variables as one JSON object, in file order.
struct Environment<'j>(&'j [EnvVar]);

impl Environment<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Environment<'_> {
    fn serialize<S: SerdeSerializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for variable in self.0 {
            map.serialize_entry(&variable.name.value, &*variable.value.text)?;
        }
        map.end()
    }
}

/// The job's pools as one JSON object, name to size, in file order.
struct Pools<'j>(&'j [Pool]);

impl Pools<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Pools<'_> {
    fn serialize<S: SerdeSerializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for pool in self.0 {
            map.serialize_entry(&pool.name.value, &pool.size.value)?;
        }
        map.end()
    }
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
            timeout_seconds: job.timeout.as_ref().map(|t| Number(t.value)),
            pools: Pools(&job.pools),
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
        retry,
        timeout,
        env,
        working_directory,
        pool,
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
        retry: retry.as_ref().map(retry_data),
        timeout_seconds: timeout.as_ref().map(|t| Number(t.value)),
        env: Environment(env),
        working_directory: working_directory.as_ref().map(|dir| &*dir.text),
        pool: pool.as_ref().map(|pool| pool.value.as_str()),
    }
}

fn retry_data(retry: &Retry) -> RetryData {
    let seconds = |value: &Option<Spanned<Decimal>>| value.as_ref().map(|v| Number(v.value));
    RetryData {
        attempts: retry.attempts.value,
        delay_seconds: seconds(&retry.delay),
        backoff: seconds(&retry.backoff),
        max_delay_seconds: seconds(&retry.max_delay),
        on_codes: retry.on_codes.as_ref().map(codes),
    }
}

fn texts(templates: &[Template]) -> Vec<&str> {
    templates.iter().map(|t| &*t.text).collect()
}

fn codes(codes: &Spanned<Vec<Spanned<u16>>>) -> Vec<u16> {
    codes.value.iter().map(|c| c.value).collect()
}
