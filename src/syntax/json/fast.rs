//! The fast path: `serde_json` reads a valid factfile straight into the IR.
//!
//! Every value is borrowed as a `RawValue`, whose position in the text gives its span, so the
//! IR is the same as the exact path would build. Anything unexpected (a syntax error, a wrong
//! type, an unknown or duplicate key, a bad code) makes it give up and return `None`; the exact
//! path then runs and explains. A differential test keeps both paths in agreement.

use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::string;
use crate::diag::Diagnostic;
use crate::ir::{Decimal, EnvVar, Job, OnResult, Pool, Retry, Task};
use crate::span::{Span, Spanned};
use crate::syntax::rules::{self, Bounds};
use crate::template::Template;

/// A struct read only from a JSON object: serde's derive also accepts an array of the fields in
/// order, which the schema does not.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

/// An optional key whose value, `null` included, is kept raw: `null` is not "absent".
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Envelope<'a> {
    #[serde(borrow)]
    schema: &'a RawValue,
    #[serde(borrow)]
    data: Object<JobData<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JobData<'a> {
    #[serde(borrow)]
    name: &'a RawValue,
    #[serde(borrow)]
    tasks: &'a RawValue,
    #[serde(borrow, default, deserialize_with = "present")]
    constraints: Option<&'a RawValue>,
    #[serde(
        borrow,
        default,
        deserialize_with = "present",
        rename = "timeoutSeconds"
    )]
    timeout_seconds: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pools: Option<Members<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct TaskData<'a> {
    #[serde(borrow)]
    name: &'a RawValue,
    #[serde(borrow)]
    executor: &'a RawValue,
    #[serde(borrow)]
    command: &'a RawValue,
    #[serde(borrow)]
    arguments: &'a RawValue,
    #[serde(borrow)]
    depends_on: &'a RawValue,
    #[serde(borrow)]
    on_result: Object<OnResultData<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    retry: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    timeout_seconds: Option<&'a RawValue>,
    #[serde(borrow, default)]
    env: Option<Members<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    working_directory: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    pool: Option<&'a RawValue>,
}

impl TaskData<'_> {
    /// Whether the task uses a key of schema 1-1-0.
    fn has_options(&self) -> bool {
        self.retry.is_some()
            || self.timeout_seconds.is_some()
            || self.env.is_some()
            || self.working_directory.is_some()
            || self.pool.is_some()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RetryData<'a> {
    #[serde(borrow)]
    attempts: &'a RawValue,
    #[serde(borrow, default, deserialize_with = "present")]
    delay_seconds: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    backoff: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    max_delay_seconds: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    on_codes: Option<&'a RawValue>,
}

/// The members of a JSON object whose keys are the user's (environment variables, pools), in
/// file order. Each key is borrowed from the text, so its position gives its span; a key with
/// an escape cannot be borrowed, and a repeated key is refused: the exact path reports both.
pub(super) struct Members<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for MembersVisitor<'a> {
            type Value = Members<'a>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut members: Vec<(&'a str, &'a RawValue)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<&'a str, &'a RawValue>()? {
                    if members.iter().any(|(seen, _)| *seen == key) {
                        return Err(serde::de::Error::custom("a key is repeated"));
                    }
                    members.push((key, value));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor(PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct OnResultData<'a> {
    #[serde(borrow)]
    terminate_job_with_success: &'a RawValue,
    #[serde(borrow)]
    continue_job: &'a RawValue,
}

/// Lowers `text` when it is a schema-valid factfile; template problems are still reported.
pub(super) fn parse(text: &str) -> Option<(Job, Vec<Diagnostic>)> {
    let Object(envelope): Object<Envelope<'_>> = serde_json::from_str(text).ok()?;
    let data = envelope.data.0;
    let mut reader = Reader {
        text,
        diagnostics: Vec::new(),
        items: Vec::new(),
        options_allowed: false,
    };
    let schema = reader.plain(envelope.schema)?;
    if !rules::is_iglu_uri(&schema.value) {
        return None;
    }
    let name = reader.template(data.name)?;
    reader.options_allowed = rules::schema_allows(&schema.value, rules::OPTIONS_SINCE);
    let tasks = reader.each(data.tasks, Reader::raw_task)?;
    let constraints = match data.constraints {
        None => Vec::new(),
        Some(_) if !rules::schema_allows(&schema.value, rules::CONSTRAINTS_SINCE) => return None,
        Some(raw) => reader.each(raw, |reader, item| reader.plain(item))?,
    };
    let has_job_options = data.timeout_seconds.is_some() || data.pools.is_some();
    if has_job_options && !rules::schema_allows(&schema.value, rules::OPTIONS_SINCE) {
        return None;
    }
    let timeout = match data.timeout_seconds {
        Some(raw) => Some(reader.number(raw, rules::TIMEOUT)?),
        None => None,
    };
    let pools = match &data.pools {
        Some(members) => reader.pools(members)?,
        None => Vec::new(),
    };
    let job = Job {
        schema,
        name,
        tasks,
        constraints,
        declares_constraints: data.constraints.is_some(),
        timeout,
        pools,
    };
    Some((job, reader.diagnostics))
}

/// Turns borrowed raw values into IR pieces, collecting template diagnostics.
struct Reader<'t> {
    text: &'t str,
    diagnostics: Vec<Diagnostic>,
    /// The raw items of the list being lowered: one buffer for every list of the job.
    items: Vec<&'t RawValue>,
    /// Whether the schema has the task options (1-1-0 and later).
    options_allowed: bool,
}

/// Lowers the tasks of a file one by one, for a caller that takes another path for the tasks
/// this one gives up on.
pub(super) struct TaskReader<'t>(Reader<'t>);

impl<'t> TaskReader<'t> {
    /// A reader of tasks borrowed from `text`, whose schema is `schema_uri`.
    pub(super) fn new(text: &'t str, schema_uri: &str) -> Self {
        Self(Reader {
            text,
            diagnostics: Vec::new(),
            items: Vec::new(),
            options_allowed: rules::schema_allows(schema_uri, rules::OPTIONS_SINCE),
        })
    }

    /// The items of the JSON array `raw`, unparsed, or `None` if it is not one.
    pub(super) fn items(raw: &'t RawValue) -> Option<Vec<&'t RawValue>> {
        let mut items = Vec::new();
        let mut deserializer = serde_json::Deserializer::from_str(raw.get());
        AppendItems(&mut items)
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
            .ok()?;
        Some(items)
    }

    /// The task `raw` (a slice of the text), its template diagnostics appended to
    /// `diagnostics`; or `None`, with nothing appended, when it is not a schema-valid task.
    pub(super) fn task(
        &mut self,
        raw: &'t RawValue,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Task> {
        let task = self.0.raw_task(raw);
        if task.is_some() {
            diagnostics.append(&mut self.0.diagnostics);
        } else {
            self.0.diagnostics.clear();
        }
        task
    }
}

impl<'t> Reader<'t> {
    fn raw_task(&mut self, raw: &'t RawValue) -> Option<Task> {
        let Object(task) = serde_json::from_str::<Object<TaskData<'_>>>(raw.get()).ok()?;
        self.task(&task)
    }

    fn task(&mut self, task: &TaskData<'t>) -> Option<Task> {
        if task.has_options() && !self.options_allowed {
            return None;
        }
        Some(Task {
            name: self.template(task.name)?,
            executor: self.plain(task.executor)?,
            command: self.template(task.command)?,
            arguments: self.templates(task.arguments)?,
            depends_on: self.templates(task.depends_on)?,
            on_result: OnResult {
                terminate_job_with_success: self
                    .codes(task.on_result.0.terminate_job_with_success)?,
                continue_job: self.codes(task.on_result.0.continue_job)?,
            },
            retry: match task.retry {
                Some(raw) => Some(self.retry(raw)?),
                None => None,
            },
            timeout: self
                .optional_number(task.timeout_seconds, rules::TIMEOUT)
                .ok()?,
            env: match &task.env {
                Some(members) => self.env(members)?,
                None => Vec::new(),
            },
            working_directory: match task.working_directory {
                Some(raw) => Some(self.template(raw)?),
                None => None,
            },
            pool: match task.pool {
                Some(raw) => Some(self.plain(raw)?),
                None => None,
            },
        })
    }

    fn retry(&mut self, raw: &'t RawValue) -> Option<Retry> {
        // Read from the object's own text, which is a slice of the file: the values it
        // borrows keep their positions.
        let Object(retry) = serde_json::from_str::<Object<RetryData<'t>>>(raw.get()).ok()?;
        let attempts = self.count(retry.attempts, rules::ATTEMPTS)?;
        let on_codes = match retry.on_codes {
            Some(raw) => Some(self.codes(raw).filter(|codes| !codes.value.is_empty())?),
            None => None,
        };
        Some(Retry {
            span: self.span(raw),
            attempts,
            delay: self
                .optional_number(retry.delay_seconds, rules::DELAY)
                .ok()?,
            backoff: self.optional_number(retry.backoff, rules::BACKOFF).ok()?,
            max_delay: self
                .optional_number(retry.max_delay_seconds, rules::DELAY)
                .ok()?,
            on_codes,
        })
    }

    fn env(&mut self, members: &Members<'t>) -> Option<Vec<EnvVar>> {
        let mut env = Vec::with_capacity(members.0.len());
        for &(name, value) in &members.0 {
            env.push(EnvVar {
                name: Spanned::new(name.to_owned(), self.key_span(name)),
                value: self.template(value)?,
            });
        }
        Some(env)
    }

    fn pools(&self, members: &Members<'t>) -> Option<Vec<Pool>> {
        let mut pools = Vec::with_capacity(members.0.len());
        for &(name, size) in &members.0 {
            pools.push(Pool {
                name: Spanned::new(name.to_owned(), self.key_span(name)),
                size: self.count(size, rules::POOL_SIZE)?,
            });
        }
        Some(pools)
    }

    /// The span of an object key, quotes included, from the borrowed text between them.
    fn key_span(&self, key: &str) -> Span {
        let start = key.as_ptr() as usize - self.text.as_ptr() as usize - 1;
        Span::new(start, start + key.len() + 2)
    }

    fn number(&self, raw: &RawValue, bounds: Bounds) -> Option<Spanned<Decimal>> {
        // The option's name only words a problem, and this path gives up on any.
        let number = rules::option_number(raw.get(), 1, bounds, "", raw.get()).ok()?;
        Some(Spanned::new(number, self.span(raw)))
    }

    /// `Ok(None)` for an absent key, `Err` for a value this path gives up on.
    fn optional_number(
        &self,
        raw: Option<&RawValue>,
        bounds: Bounds,
    ) -> Result<Option<Spanned<Decimal>>, GaveUp> {
        match raw {
            Some(raw) => self.number(raw, bounds).map(Some).ok_or(GaveUp),
            None => Ok(None),
        }
    }

    fn count(&self, raw: &RawValue, bounds: Bounds) -> Option<Spanned<u32>> {
        let count = rules::option_count(raw.get(), bounds, "").ok()?;
        Some(Spanned::new(count, self.span(raw)))
    }

    /// Where `raw` sits in the text. `RawValue` borrows from the text, so this is the distance
    /// between the two pointers.
    fn offset(&self, raw: &RawValue) -> usize {
        raw.get().as_ptr() as usize - self.text.as_ptr() as usize
    }

    fn span(&self, raw: &RawValue) -> Span {
        let start = self.offset(raw);
        Span::new(start, start + raw.get().len())
    }

    fn template(&mut self, raw: &RawValue) -> Option<Template> {
        let start = self.offset(raw);
        string::template(raw.get(), start, &mut self.diagnostics).ok()
    }

    fn plain(&self, raw: &RawValue) -> Option<Spanned<String>> {
        let value = string::plain(raw.get(), self.offset(raw)).ok()?;
        Some(Spanned::new(value, self.span(raw)))
    }

    fn templates(&mut self, raw: &'t RawValue) -> Option<Vec<Template>> {
        self.each(raw, Self::template)
    }

    fn codes(&mut self, raw: &'t RawValue) -> Option<Spanned<Vec<Spanned<u16>>>> {
        let codes = self.each(raw, |reader, item| {
            let code = rules::exit_code(item.get()).ok()?;
            Some(Spanned::new(code, reader.span(item)))
        })?;
        Some(Spanned::new(codes, self.span(raw)))
    }

    /// Lowers each item of the JSON array `raw`, or gives up at the first that cannot be.
    ///
    /// The result is exactly as long as the list: a big job holds hundreds of thousands of
    /// short lists, and collecting into an `Option<Vec<_>>` would give each room for four
    /// (measured: a third of the IR's memory). The raw items are read into the one buffer kept
    /// in `items` rather than a new vector per list, which spared 1.2 million allocations on a
    /// 100,000-task job.
    fn each<T>(
        &mut self,
        raw: &'t RawValue,
        mut lower: impl FnMut(&mut Self, &'t RawValue) -> Option<T>,
    ) -> Option<Vec<T>> {
        // Taken out while the items are lowered: a task's own lists use the buffer meanwhile.
        let mut items = std::mem::take(&mut self.items);
        items.clear();
        let mut deserializer = serde_json::Deserializer::from_str(raw.get());
        let read = AppendItems(&mut items)
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end());
        let lowered = read.ok().and_then(|()| {
            let mut lowered = Vec::with_capacity(items.len());
            for &item in &items {
                lowered.push(lower(self, item)?);
            }
            Some(lowered)
        });
        self.items = items;
        lowered
    }
}

/// A value the fast path does not lower: the exact path will explain it.
struct GaveUp;

/// Appends the items of a JSON array, unparsed, to a vector.
struct AppendItems<'v, 'de>(&'v mut Vec<&'de RawValue>);

impl<'de> DeserializeSeed<'de> for AppendItems<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for AppendItems<'_, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element()? {
            self.0.push(item);
        }
        Ok(())
    }
}
