//! Comments of a DSL file and where they belong, kept beside the IR (which has no comments).
//!
//! The DSL front end anchors each comment to the construct it describes; the DSL printer puts it
//! back there, so `fmt` keeps every comment with its task or statement even when it reorders
//! statements or joins and splits lines.

use crate::span::Span;

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
    /// A task's header, `task "name" {`.
    Task(usize),
    /// One statement of a task.
    Statement(usize, Statement),
    /// A task's closing `}`.
    TaskEnd(usize),
    /// The end of the file.
    End,
}

/// The statements of a task, in the order the canonical form writes them (`as usize` gives
/// each its position in [`Statement::ALL`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Statement {
    /// `after "a", "b"`
    After,
    /// `executor "docker"`
    Executor,
    /// `run "command" with "arg"`
    Run,
    /// `continue on 0, 1`
    Continue,
    /// `finish on 3`
    Finish,
}

impl Statement {
    /// Every statement, in canonical order.
    pub const ALL: [Self; 5] = [
        Self::After,
        Self::Executor,
        Self::Run,
        Self::Continue,
        Self::Finish,
    ];

    /// The keyword that starts it.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::After => "after",
            Self::Executor => "executor",
            Self::Run => "run",
            Self::Continue => "continue",
            Self::Finish => "finish",
        }
    }
}
