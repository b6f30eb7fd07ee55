//! The exact path for large files: pest sees only the pieces that need explaining.
//!
//! When the fast path gives up, the file is read again by `serde_json`, which finds the tasks
//! array and the values of unknown or repeated keys in the envelope and the job (values the
//! exact path never looks into) without building anything. pest then parses an outline of the
//! file with those values left out (a stand-in `[]` for the tasks array, `0` for the others),
//! so the envelope is checked exactly as the exact path checks it; when the lowering meets the
//! tasks' stand-in, each task is lowered by the fast path, and only the tasks it gives up on are
//! parsed by pest, each on its own. Positions are mapped back to the file, so the job and the
//! diagnostics, in their order, are the exact path's.
//!
//! A file that is not JSON gets one diagnostic, worded from where pest stops: pest is started
//! on a short piece before the error, behind a made-up prefix that opens the same brackets
//! (see [`error_region`](super::error_region)).
//!
//! Anything this module cannot do on pieces goes to the exact path on the whole file.

use pest::Parser as _;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::exact::{self, Lowered, Lowerer, Positions};
use super::fast::TaskReader;
use super::grammar::{JsonParser, Rule};
use super::{depth, error_region, schema, string};
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
    let mut holes = Vec::new();
    let walked = Walk {
        level: Level::Envelope,
        holes: &mut holes,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    match walked {
        Ok(()) if !holes.is_empty() => around(text, &holes),
        Err(error) if error.is_syntax() || error.is_eof() => {
            error_region::diagnostic(text, &error).map(Lowered::failed)
        }
        // With nothing to leave out, pest may as well see the whole file; a `serde_json` error
        // that is not about syntax is not expected, and the whole file is the safe answer to it.
        Ok(()) | Err(_) => None,
    }
}

/// A value pest does not see: the tasks array, or the value of a key the exact path skips.
struct Hole<'t> {
    value: &'t RawValue,
    is_tasks: bool,
}

impl Hole<'_> {
    /// What pest sees instead: for the tasks array, an empty array, so the exact path's checks
    /// of the tasks key (an array is expected) hold for it as for the real one.
    fn stand_in(&self) -> &'static str {
        if self.is_tasks { "[]" } else { "0" }
    }
}

/// The tasks array pest does not see, and where its stand-in is.
#[derive(Clone, Copy)]
pub(super) struct Elided<'t> {
    /// The whole file.
    text: &'t str,
    /// The tasks array, a slice of `text`.
    tasks: &'t RawValue,
    /// Where its stand-in starts in the text pest parsed.
    stand_in: usize,
}

impl Elided<'_> {
    /// Whether a value that starts at `start` in the text pest parsed is the stand-in.
    pub(super) fn stands_at(&self, start: usize) -> bool {
        start == self.stand_in
    }
}

/// Lowers the file with the values of `holes` (in file order) left out of what pest parses.
fn around<'t>(text: &'t str, holes: &[Hole<'t>]) -> Option<Lowered> {
    let left_out: usize = holes.iter().map(|hole| hole.value.get().len()).sum();
    let mut outline = String::with_capacity(text.len() - left_out + 2 * holes.len());
    let mut moves = Vec::with_capacity(holes.len());
    let mut moved_by = 0;
    let mut copied_to = 0;
    let mut elided = None;
    for hole in holes {
        let start = offset(text, hole.value);
        let end = start + hole.value.get().len();
        outline.push_str(&text[copied_to..start]);
        if hole.is_tasks {
            elided = Some(Elided {
                text,
                tasks: hole.value,
                stand_in: outline.len(),
            });
        }
        outline.push_str(hole.stand_in());
        moved_by += end - start - hole.stand_in().len();
        moves.push((outline.len(), moved_by));
        copied_to = end;
    }
    outline.push_str(&text[copied_to..]);
    let root = JsonParser::parse(Rule::document, &outline).ok()?.next()?;
    let mut lowerer = Lowerer::new(Positions::Outline(moves), elided);
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
    let mut reader = TaskReader::new(elided.text, lowerer.schema_uri());
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

/// The objects the walk descends into.
#[derive(Clone, Copy)]
enum Level {
    Envelope,
    Job,
}

/// Walks a factfile as the exact path does, collecting the [`Hole`]s: in an object, a key
/// counts when it decodes to one of the object's keys and is the first to; the values of the
/// other keys are never looked into. Every value is checked to be JSON.
struct Walk<'h, 't> {
    level: Level,
    holes: &'h mut Vec<Hole<'t>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let known: &[&str] = match self.level {
            Level::Envelope => schema::envelope_keys(),
            Level::Job => schema::job_keys(),
        };
        let mut seen: Vec<&str> = Vec::with_capacity(known.len());
        while let Some(key) = map.next_key::<&RawValue>()? {
            let counted = string::plain(key.get(), 0).ok().and_then(|name| {
                let known = known.iter().copied().find(|known| *known == name)?;
                (!seen.contains(&known)).then_some(known)
            });
            let Some(name) = counted else {
                let value = map.next_value::<&RawValue>()?;
                self.holes.push(Hole {
                    value,
                    is_tasks: false,
                });
                continue;
            };
            seen.push(name);
            match (self.level, name) {
                (Level::Envelope, "data") => map.next_value_seed(Walk {
                    level: Level::Job,
                    holes: &mut *self.holes,
                })?,
                (Level::Job, "tasks") => {
                    let value = map.next_value::<&RawValue>()?;
                    if value.get().starts_with('[') {
                        self.holes.push(Hole {
                            value,
                            is_tasks: true,
                        });
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}
