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
use crate::ir::{Job, OnResult, Task};
use crate::span::{Span, Spanned};
use crate::syntax::rules;
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
    };
    let schema = reader.plain(envelope.schema)?;
    if !rules::is_iglu_uri(&schema.value) {
        return None;
    }
    let name = reader.template(data.name)?;
    let tasks = reader.each(data.tasks, Reader::raw_task)?;
    let constraints = match data.constraints {
        None => Vec::new(),
        Some(_) if !rules::schema_allows(&schema.value, rules::CONSTRAINTS_SINCE) => return None,
        Some(raw) => reader.each(raw, |reader, item| reader.plain(item))?,
    };
    let job = Job {
        schema,
        name,
        tasks,
        constraints,
        declares_constraints: data.constraints.is_some(),
        timeout: None,
        pools: Vec::new(),
    };
    Some((job, reader.diagnostics))
}

/// Turns borrowed raw values into IR pieces, collecting template diagnostics.
struct Reader<'t> {
    text: &'t str,
    diagnostics: Vec<Diagnostic>,
    /// The raw items of the list being lowered: one buffer for every list of the job.
    items: Vec<&'t RawValue>,
}

/// Lowers the tasks of a file one by one, for a caller that takes another path for the tasks
/// this one gives up on.
pub(super) struct TaskReader<'t>(Reader<'t>);

impl<'t> TaskReader<'t> {
    /// A reader of tasks borrowed from `text`.
    pub(super) fn new(text: &'t str) -> Self {
        Self(Reader {
            text,
            diagnostics: Vec::new(),
            items: Vec::new(),
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
            retry: None,
            timeout: None,
            env: Vec::new(),
            working_directory: None,
            pool: None,
        })
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
