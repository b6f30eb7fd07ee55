//! Front ends: source text in, IR and diagnostics out. JSON factfiles and DSL files lower to
//! the same IR, so every later stage works on both.

mod decoded;
mod dsl;
mod json;
pub(crate) mod rules;
pub mod statement;
#[cfg(test)]
mod testing;

use std::path::Path;

use crate::comment::Comment;
use crate::diag::Diagnostic;
use crate::ir::Job;
use crate::source::Source;

/// What a front end made of a source.
#[derive(Debug)]
pub struct Parsed {
    /// The job, when the file was usable enough to build one (it may still have errors).
    pub job: Option<Job>,
    /// Problems found while parsing and lowering, in no particular order.
    pub diagnostics: Vec<Diagnostic>,
    /// False when a task had to be left out of `job`, so references cannot be judged.
    pub complete: bool,
    /// The comments of a DSL file, in file order; JSON has none.
    pub comments: Vec<Comment>,
}

/// The two ways to write a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A JSON factfile, as Factotum 0.7 reads it.
    Json,
    /// The `.factotum` language.
    Dsl,
}

impl Format {
    /// The format of `source`: `.factfile` and `.json` files are JSON, `.factotum` files are
    /// DSL; any other file (standard input included) is JSON when its first character that is
    /// not a space is `{`.
    pub fn of(source: &Source) -> Self {
        let extension = Path::new(&source.name)
            .extension()
            .and_then(|extension| extension.to_str());
        match extension {
            Some("factfile" | "json") => Self::Json,
            Some("factotum") => Self::Dsl,
            _ if source.text.trim_start().starts_with('{') => Self::Json,
            _ => Self::Dsl,
        }
    }
}

/// Parses a job file in whichever format it is written.
pub fn parse(source: &Source) -> Parsed {
    match Format::of(source) {
        Format::Json => {
            let lowered = json::parse(&source.text);
            let mut diagnostics = lowered.diagnostics;
            if !diagnostics.is_empty() {
                suggest_dsl_name(source, &mut diagnostics);
            }
            Parsed {
                job: lowered.job,
                diagnostics,
                complete: lowered.complete,
                comments: Vec::new(),
            }
        }
        Format::Dsl => dsl::parse(&source.text),
    }
}

/// A file named as JSON whose text is a correct DSL job was most likely saved under the wrong
/// name: the first problem says which name it needs.
fn suggest_dsl_name(source: &Source, diagnostics: &mut [Diagnostic]) {
    if source.text.trim_start().starts_with('{') || !dsl::parse(&source.text).diagnostics.is_empty()
    {
        return;
    }
    let renamed = Path::new(&source.name).with_extension("factotum");
    let renamed = renamed
        .file_name()
        .map_or_else(|| "NAME.factotum".into(), |name| name.to_string_lossy());
    if let Some(first) = diagnostics.iter_mut().min_by_key(|d| d.span()) {
        first.notes.push(format!(
            "hint: the file is written in the DSL, which is read from `.factotum` files: rename it to `{renamed}`"
        ));
    }
}
