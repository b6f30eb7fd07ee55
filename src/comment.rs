//! Comments of a DSL file and where they belong, kept beside the IR (which has no comments).
//!
//! The DSL front end anchors each comment to the construct it describes; the DSL printer puts it
//! back there, so `fmt` keeps every comment with its task or statement even when it reorders
//! statements or joins and splits lines.

use crate::span::Span;
use crate::syntax::statement::Statement;

/// One `# …` comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// The text after `#`, trailing spaces removed.
    pub text: String,
    /// Where it was written, `#` included.
    pub span: Span,
    /// Whether it goes on its own line before its construct or at the end of its last line.
    pub place: Place,
    /// The construct it belongs to.
    pub anchor: Anchor,
}

/// Where a comment goes relative to its construct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// On its own line, just before the construct.
    Before,
    /// At the end of the construct's last line.
    After,
}

/// A construct of a DSL file that comments attach to. Task and constraint numbers count from
/// zero in file order, as the IR lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Anchor {
    /// The `job` line.
    Job,
    /// The `schema` line.
    Schema,
    /// A `constraint` line.
    Constraint(usize),
    /// A `constraint none` line.
    NoConstraint,
    /// The job's `timeout` line.
    JobTimeout,
    /// A `pool … size` line.
    Pool(usize),
    /// A task's header, `task "name" {`.
    Task(usize),
    /// One statement of a task.
    Statement(usize, Statement),
    /// A task's closing `}`.
    TaskEnd(usize),
    /// The end of the file.
    End,
}
