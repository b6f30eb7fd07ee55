//! The exact path for large files: pest sees only the pieces that need explaining.
//!
//! When the fast path gives up, the file is read again by `serde_json`, which finds the tasks
//! array without building anything. pest then parses the file with that array left out (a
//! stand-in `[]` in its place), so the envelope is checked exactly as the exact path checks it;
//! when the lowering meets the stand-in, each task is lowered by the fast path, and only the
//! tasks it gives up on are parsed by pest, each on its own. Positions are mapped back to the
//! file, so the job and the diagnostics, in their order, are the exact path's.
//!
//! A file that is not JSON gets one diagnostic, worded from where pest stops: pest is started
//! on a short piece before the error, behind a made-up prefix that opens the same brackets
//! (see [`error_region`](super::error_region)).
//!
//! Anything this module cannot do on pieces goes to the exact path on the whole file.

use pest::Parser as _;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::exact::{self, Lowered, Lowerer, Positions};
use super::fast::TaskReader;
use super::grammar::{JsonParser, Rule};
use super::{depth, error_region, string};
use crate::ir::Task;

/// Lowers `text`, which the fast path gave up on, as the exact path would.
pub(super) fn parse(text: &str) -> Lowered {
    in_pieces(text).unwrap_or_else(|| exact::parse(text))
}

/// Lowers `text` as the exact path would with pest on pieces of it, or `None` when only the
/// whole file will do.
pub(super) fn in_pieces(text: &str) -> Option<Lowered> {
    if let Err(diagnostic) = depth::check(text) {
        return Some(Lowered::failed(diagnostic));
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let found = Find {
        path: &["data", "tasks"],
    }
    .deserialize(&mut deserializer)
    .and_then(|tasks| deserializer.end().map(|()| tasks));
    match found {
        Ok(Some(tasks)) => around(text, tasks),
        Err(error) if error.is_syntax() || error.is_eof() => {
            error_region::diagnostic(text, &error).map(Lowered::failed)
        }
        // Without a tasks array there is nothing large to leave out; a `serde_json` error that
        // is not about syntax is not expected, and the whole file is the safe answer to it.
        Ok(None) | Err(_) => None,
    }
}

/// The tasks array pest does not see, and where its stand-in is.
#[derive(Clone, Copy)]
pub(super) struct Elided<'t> {
    /// The whole file.
    text: &'t str,
    /// The tasks array, a slice of `text`.
    tasks: &'t RawValue,
    /// Where the array starts in the file, and its stand-in in the text pest parsed.
    start: usize,
}

impl Elided<'_> {
    /// Whether a value that starts at `start` in the text pest parsed is the stand-in.
    pub(super) fn stands_at(&self, start: usize) -> bool {
        start == self.start
    }
}

/// The text of the stand-in of the tasks array: an empty array, so the exact path's checks of
/// the tasks key (an array is expected) hold for it as for the real one.
const STAND_IN: &str = "[]";

/// Lowers the file with the tasks array `tasks` left out of what pest parses.
fn around<'t>(text: &'t str, tasks: &'t RawValue) -> Option<Lowered> {
    let start = offset(text, tasks);
    let end = start + tasks.get().len();
    let mut outline = String::with_capacity(text.len() - (end - start) + STAND_IN.len());
    outline.push_str(&text[..start]);
    outline.push_str(STAND_IN);
    outline.push_str(&text[end..]);
    let root = JsonParser::parse(Rule::document, &outline).ok()?.next()?;
    let positions = Positions::replaced(start, end, STAND_IN.len());
    let elided = Elided { text, tasks, start };
    let mut lowerer = Lowerer::new(positions, Some(elided));
    let job = lowerer.envelope(root);
    lowerer.finish(job)
}

/// Lowers the elided tasks array in order: each task by the fast path if it can, otherwise by
/// pest on the task's own text.
pub(super) fn tasks(lowerer: &mut Lowerer<'_>, elided: Elided<'_>) -> Vec<Task> {
    let Some(items) = TaskReader::items(elided.tasks) else {
        lowerer.abandon();
        return Vec::new();
    };
    let mut reader = TaskReader::new(elided.text);
    let mut diagnostics = Vec::new();
    let mut tasks = Vec::with_capacity(items.len());
    for item in items {
        let task = reader.task(item, &mut diagnostics);
        lowerer.report_all(&mut diagnostics);
        match task {
            Some(task) => tasks.push(task),
            None => tasks.extend(lowerer.task_piece(item.get(), offset(elided.text, item))),
        }
    }
    tasks
}

/// Where `raw`, a slice of `text`, starts in it.
fn offset(text: &str, raw: &RawValue) -> usize {
    raw.get().as_ptr() as usize - text.as_ptr() as usize
}

/// Follows `path` through objects, as the exact path does: at each level the first key that
/// decodes to the name counts, later ones are duplicates. Yields the array at the end of the
/// path, or `None` when there is none; every other value is only checked to be JSON.
struct Find<'p> {
    path: &'p [&'static str],
}

impl<'de> DeserializeSeed<'de> for Find<'_> {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        if self.path.is_empty() {
            let raw = <&RawValue>::deserialize(deserializer)?;
            Ok(raw.get().starts_with('[').then_some(raw))
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Find<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let (name, rest) = match self.path.split_first() {
            Some((&name, rest)) => (Some(name), rest),
            None => (None, self.path),
        };
        let mut found = None;
        let mut met = false;
        while let Some(key) = map.next_key::<&RawValue>()? {
            if !met
                && name.is_some_and(|name| string::plain(key.get(), 0).is_ok_and(|key| key == name))
            {
                met = true;
                found = map.next_value_seed(Find { path: rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}
