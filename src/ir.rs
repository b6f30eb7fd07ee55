//! The typed job: the one contract between front ends (JSON and the DSL) and every backend.
//!
//! Front ends only produce a [`Job`]; the linter, printers and executor only consume it. Every
//! user-written string keeps its span so any later stage can point back at the source.

use std::fmt;
use std::time::Duration;

use crate::span::{Span, Spanned};
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
    /// The longest the whole run may take, in seconds (schema 1-1-0).
    pub timeout: Option<Spanned<Decimal>>,
    /// The pools tasks may name, each with how many of its tasks may run at once (schema
    /// 1-1-0), in file order.
    pub pools: Vec<Pool>,
}

/// A named limit on how many tasks run at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    /// The name tasks refer to it by.
    pub name: Spanned<String>,
    /// How many of its tasks may run at once.
    pub size: Spanned<u32>,
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
    /// Whether and how a failed run of the command is tried again (schema 1-1-0).
    pub retry: Option<Retry>,
    /// The longest one attempt may take, in seconds (schema 1-1-0).
    pub timeout: Option<Spanned<Decimal>>,
    /// Variables added to the command's environment, in file order (schema 1-1-0).
    pub env: Vec<EnvVar>,
    /// Where the command runs, relative to the job file's directory (schema 1-1-0).
    pub working_directory: Option<Template>,
    /// The pool the task counts against (schema 1-1-0).
    pub pool: Option<Spanned<String>>,
}

/// How a task that fails is tried again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    /// The whole `retry` statement or object.
    pub span: Span,
    /// How many attempts in all, the first included.
    pub attempts: Spanned<u32>,
    /// Seconds to wait before the second attempt (default 0).
    pub delay: Option<Spanned<Decimal>>,
    /// What each wait is multiplied by for the next (default 1).
    pub backoff: Option<Spanned<Decimal>>,
    /// The longest wait, in seconds (default: no limit).
    pub max_delay: Option<Spanned<Decimal>>,
    /// The exit codes that are retried; `None` retries every failure, signals and timeouts
    /// included.
    pub on_codes: Option<Spanned<Vec<Spanned<u16>>>>,
}

/// One variable of a task's environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    /// The variable's name, as written (not templated).
    pub name: Spanned<String>,
    /// Its value.
    pub value: Template,
}

/// A non-negative number to the thousandth, held exactly: seconds (to the millisecond) and
/// backoff factors. Job files are compared, printed and converted without a float's rounding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decimal {
    thousandths: u64,
}

impl Decimal {
    /// The number `thousandths / 1000`.
    pub const fn from_thousandths(thousandths: u64) -> Self {
        Self { thousandths }
    }

    /// The number times 1000.
    pub const fn thousandths(self) -> u64 {
        self.thousandths
    }

    /// The number as seconds.
    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.thousandths)
    }

    /// The number as a float, for arithmetic on factors.
    #[allow(clippy::cast_precision_loss)] // Below 2^53 thousandths: exact.
    pub fn as_f64(self) -> f64 {
        self.thousandths as f64 / 1000.0
    }
}

impl fmt::Display for Decimal {
    /// `2`, `0.5`, `1.25`: no trailing zeros, no exponent.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.thousandths / 1000;
        let fraction = self.thousandths % 1000;
        if fraction == 0 {
            return write!(formatter, "{whole}");
        }
        let digits = format!("{fraction:03}");
        write!(formatter, "{whole}.{}", digits.trim_end_matches('0'))
    }
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
    /// The templated strings of this task: name, command, arguments, dependencies, the
    /// environment's values and the working directory.
    pub fn templates(&self) -> impl Iterator<Item = &Template> {
        std::iter::once(&self.name)
            .chain(std::iter::once(&self.command))
            .chain(&self.arguments)
            .chain(&self.depends_on)
            .chain(self.env.iter().map(|variable| &variable.value))
            .chain(&self.working_directory)
    }
}
