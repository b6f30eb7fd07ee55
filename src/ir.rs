//! The typed job: the one contract between front ends (JSON and the DSL) and every backend.
//!
//! Front ends only produce a [`Job`]; the linter, printers and executor only consume it. Every
//! user-written string keeps its span so any later stage can point back at the source.

use crate::span::Spanned;
use crate::template::Template;

/// The iglu URI of the only factfile schema Factotum 0.7 knows.
pub const SCHEMA_1_0_0: &str = "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0";

/// The first schema with job-level `constraints`; Factotum 0.7 refuses it rather than
/// misreading it.
pub const SCHEMA_1_1_0: &str = "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-1-0";

/// A whole job: its name and tasks in the order they were written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The schema URI the file declared.
    pub schema: Spanned<String>,
    /// The job name; may contain placeholders.
    pub name: Template,
    /// The tasks, in file order.
    pub tasks: Vec<Task>,
    /// Where the job may run, each `type,value` as written (schema 1-1-0 and later).
    pub constraints: Vec<Spanned<String>>,
    /// Whether the file declares its constraints even when there are none: JSON's
    /// `"constraints": []`, the DSL's `constraint none`. Converting keeps the declaration.
    pub declares_constraints: bool,
}

/// One task: a shell command, what it waits for and what its exit codes mean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Unique name (after templating); may contain placeholders.
    pub name: Template,
    /// Declared executor. Every task runs through `sh -c` whatever this says, as in 0.7.
    pub executor: Spanned<String>,
    /// The shell command text.
    pub command: Template,
    /// Arguments appended to the command, each in double quotes.
    pub arguments: Vec<Template>,
    /// Names of the tasks that must succeed before this one starts.
    pub depends_on: Vec<Template>,
    /// What the exit code means.
    pub on_result: OnResult,
}

/// The classification of exit codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnResult {
    /// Codes that end this branch of the job successfully (descendants are skipped).
    pub terminate_job_with_success: Spanned<Vec<Spanned<u16>>>,
    /// Codes that count as success and let descendants run.
    pub continue_job: Spanned<Vec<Spanned<u16>>>,
}

impl Job {
    /// Every string of the job that is templated, in file order.
    pub fn templates(&self) -> impl Iterator<Item = &Template> {
        std::iter::once(&self.name).chain(self.tasks.iter().flat_map(Task::templates))
    }
}

impl Task {
    /// The templated strings of this task: name, command, arguments and dependencies.
    pub fn templates(&self) -> impl Iterator<Item = &Template> {
        std::iter::once(&self.name)
            .chain(std::iter::once(&self.command))
            .chain(&self.arguments)
            .chain(&self.depends_on)
    }
}
