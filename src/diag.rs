//! Diagnostics as plain data: a problem with a stable code, where it is, and what helps.
//!
//! Every message is worded in [`Problem::message`], one `match`, so the wording rules stay
//! uniform: lower-case, no final period, user-written names in backticks, "expected …, found …".
//! Rendering lives in `render::diagnostics`; nothing here knows about terminals.

use std::fmt::Write as _;

use crate::span::Span;

/// How bad a problem is: errors fail `check`, warnings fail it only with `--deny-warnings`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The job is usable, but probably not as meant.
    Warning,
    /// The job cannot be run.
    Error,
}

/// Everything factotum can find wrong with a job file, with the facts each message needs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // The fields are named by what they hold; `message` says how they read.
pub enum Problem {
    // --- reading ---
    Unreadable {
        reason: String,
    },
    NotUtf8 {
        offset: usize,
    },
    /// `bytes` is `None` when reading stopped at the limit, without the whole size known.
    TooLarge {
        bytes: Option<u64>,
    },

    // --- JSON syntax ---
    JsonSyntax {
        expected: String,
        found: String,
    },
    TrailingComma,
    NestingTooDeep {
        limit: usize,
    },
    BadEscape {
        detail: String,
    },

    // --- DSL syntax ---
    DslSyntax {
        expected: String,
        found: String,
    },
    DslString {
        detail: String,
    },
    RepeatedStatement {
        keyword: &'static str,
        task: Option<String>,
    },
    MissingStatement {
        keyword: &'static str,
        task: Option<String>,
    },

    // --- factfile schema ---
    MissingKey {
        key: &'static str,
        object: &'static str,
    },
    UnknownKey {
        key: String,
        object: &'static str,
    },
    DuplicateKey {
        key: String,
    },
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
    CodeNotInteger {
        found: String,
    },
    CodeOutOfRange {
        code: String,
    },
    SchemaUri {
        uri: String,
    },
    NeedsNewerSchema {
        key: &'static str,
        version: &'static str,
    },
    OptionValue {
        option: &'static str,
        found: String,
        expected: &'static str,
    },

    // --- templates ---
    MalformedPlaceholder {
        detail: String,
    },
    UnsupportedTemplate {
        construct: &'static str,
    },
    UndefinedVariable {
        name: String,
    },

    // --- constraints ---
    BadConstraint {
        detail: String,
    },

    // --- the task graph ---
    DuplicateTask {
        task: String,
    },
    UnknownDependency {
        task: String,
        dependency: String,
    },
    SelfDependency {
        task: String,
    },
    DependencyCycle {
        path: Vec<String>,
    },
    NoWayToContinue {
        task: String,
    },
    ConflictingCode {
        task: String,
        code: u16,
    },
    DuplicateDependency {
        task: String,
        dependency: String,
    },
    NonShellExecutor {
        task: String,
        executor: String,
    },
    ContinueWithoutZero {
        task: String,
    },

    // --- task options ---
    UnknownPool {
        task: String,
        pool: String,
    },
    DuplicateName {
        kind: &'static str,
        name: String,
    },
    RetryCodeMeansSuccess {
        task: String,
        code: u16,
    },
    BadEnvironmentName {
        task: String,
        name: String,
    },
    RetryCodeNeverHappens {
        task: String,
        code: u16,
    },

    // --- export to another engine ---
    SeveralHosts,
    DeferredName {
        name: String,
    },
    HostAddressForSlurm {
        address: String,
    },
    RequiredParameter {
        name: String,
    },
    /// `task` is `None` for an option of the job as a whole.
    UnmappedOption {
        engine: &'static str,
        option: &'static str,
        task: Option<String>,
    },
}

impl Problem {
    /// The stable code printed with the message; listed in the README. Never reuse one.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreadable { .. } => "E001",
            Self::NotUtf8 { .. } => "E002",
            Self::TooLarge { .. } => "E003",
            Self::JsonSyntax { .. } => "E100",
            Self::TrailingComma => "E101",
            Self::NestingTooDeep { .. } => "E102",
            Self::BadEscape { .. } => "E103",
            Self::DslSyntax { .. } => "E600",
            Self::DslString { .. } => "E601",
            Self::RepeatedStatement { .. } => "E602",
            Self::MissingStatement { .. } => "E603",
            Self::MissingKey { .. } => "E200",
            Self::UnknownKey { .. } => "E201",
            Self::DuplicateKey { .. } => "E202",
            Self::WrongType { .. } => "E203",
            Self::CodeNotInteger { .. } => "E204",
            Self::CodeOutOfRange { .. } => "E205",
            Self::SchemaUri { .. } => "E206",
            Self::NeedsNewerSchema { .. } => "E207",
            Self::OptionValue { .. } => "E208",
            Self::DuplicateName { .. } => "E209",
            Self::MalformedPlaceholder { .. } => "E300",
            Self::UnsupportedTemplate { .. } => "E301",
            Self::UndefinedVariable { .. } => "E302",
            Self::BadConstraint { .. } => "E500",
            Self::DuplicateTask { .. } => "E400",
            Self::UnknownDependency { .. } => "E401",
            Self::SelfDependency { .. } => "E402",
            Self::DependencyCycle { .. } => "E403",
            Self::NoWayToContinue { .. } => "E404",
            Self::ConflictingCode { .. } => "E405",
            Self::DuplicateDependency { .. } => "W400",
            Self::NonShellExecutor { .. } => "W401",
            Self::ContinueWithoutZero { .. } => "W402",
            Self::UnknownPool { .. } => "E406",
            Self::RetryCodeMeansSuccess { .. } => "E408",
            Self::BadEnvironmentName { .. } => "E409",
            Self::RetryCodeNeverHappens { .. } => "W403",
            Self::SeveralHosts => "E700",
            Self::DeferredName { .. } => "E701",
            Self::HostAddressForSlurm { .. } => "E702",
            Self::RequiredParameter { .. } => "E703",
            Self::UnmappedOption { .. } => "W700",
        }
    }

    /// Problems with reading, syntax or schema (codes `E0xx`, `E1xx`, `E2xx`, `E6xx`), after
    /// which the parsed job may not say exactly what the file says: `fmt` and `convert` refuse
    /// to rewrite such a file. Template, constraint and task-graph problems leave every word of
    /// the file in the job.
    pub fn is_structural(&self) -> bool {
        matches!(
            self.code().as_bytes(),
            [b'E', b'0' | b'1' | b'2' | b'6', ..]
        )
    }

    /// Errors make a job unusable; warnings (the codes `Wxxx`) do not.
    pub fn severity(&self) -> Severity {
        severity_of(self.code())
    }

    /// The one-line message.
    #[allow(clippy::too_many_lines)] // One arm per problem: the wording is kept in one place.
    pub fn message(&self) -> String {
        match self {
            Self::Unreadable { reason } => format!("cannot read the file: {reason}"),
            Self::NotUtf8 { offset } => {
                format!("the file is not valid UTF-8 (first bad byte at offset {offset})")
            }
            Self::TooLarge { bytes: Some(bytes) } => {
                format!("the file is too large ({bytes} bytes; at most 4 GiB can be checked)")
            }
            Self::TooLarge { bytes: None } => {
                "the file is too large (it goes on past 4 GiB, the most that can be checked)"
                    .to_owned()
            }
            Self::JsonSyntax { expected, found } | Self::DslSyntax { expected, found } => {
                format!("expected {expected}, found {found}")
            }
            Self::TrailingComma => "trailing comma is not allowed in JSON".to_owned(),
            Self::NestingTooDeep { limit } => {
                format!("JSON is nested too deeply (more than {limit} levels)")
            }
            Self::BadEscape { detail } | Self::DslString { detail } => {
                format!("invalid string: {detail}")
            }
            Self::RepeatedStatement { keyword, task } => match task {
                Some(task) => format!("task `{task}` says `{keyword}` more than once"),
                None => format!("the file says `{keyword}` more than once"),
            },
            Self::MissingStatement { keyword, task } => match task {
                Some(task) => format!("task `{task}` has no `{keyword}` statement"),
                None => format!("the file has no `{keyword}` line"),
            },
            Self::MissingKey { key, object } => format!("{object} is missing the key `{key}`"),
            Self::UnknownKey { key, object } => format!("unknown key `{key}` in {object}"),
            Self::DuplicateKey { key } => format!("duplicate key `{key}`"),
            Self::WrongType { expected, found } => format!("expected {expected}, found {found}"),
            Self::CodeNotInteger { found } => {
                format!("expected an integer exit code, found `{found}`")
            }
            Self::CodeOutOfRange { code } => {
                format!("exit code `{code}` is out of range: codes are 0 to 32767")
            }
            Self::SchemaUri { uri } => format!("`{uri}` is not an Iglu schema URI"),
            Self::NeedsNewerSchema { key, version } => {
                format!("`{key}` needs schema version {version} or later")
            }
            Self::OptionValue {
                option,
                found,
                expected,
            } => format!("`{option}` expects {expected}, found `{found}`"),
            Self::MalformedPlaceholder { detail } => format!("malformed placeholder: {detail}"),
            Self::UnsupportedTemplate { construct } => {
                format!("{construct} are not supported in templates")
            }
            Self::UndefinedVariable { name } => format!("variable `{name}` has no value"),
            Self::BadConstraint { detail } => format!("invalid constraint: {detail}"),
            Self::DuplicateTask { task } => format!("task `{task}` is defined more than once"),
            Self::UnknownDependency { task, dependency } => {
                format!("task `{task}` depends on unknown task `{dependency}`")
            }
            Self::SelfDependency { task } => format!("task `{task}` depends on itself"),
            Self::DependencyCycle { path } => {
                let mut text = String::from("dependency cycle `");
                for name in path {
                    let _ = write!(text, "{name} -> ");
                }
                text.push_str(path.first().map_or("", String::as_str));
                text.push('`');
                text
            }
            Self::NoWayToContinue { task } => {
                format!("task `{task}` can never succeed: no exit code continues the job")
            }
            Self::ConflictingCode { task, code } => format!(
                "task `{task}` lists exit code {code} both to finish the job and to continue it"
            ),
            Self::DuplicateDependency { task, dependency } => {
                format!("task `{task}` lists dependency `{dependency}` more than once")
            }
            Self::NonShellExecutor { task, executor } => {
                format!("task `{task}` names executor `{executor}`, but every task runs in a shell")
            }
            Self::ContinueWithoutZero { task } => format!(
                "task `{task}` fails when its command exits 0: 0 neither continues nor finishes the job"
            ),
            Self::UnknownPool { task, pool } => {
                format!("task `{task}` names pool `{pool}`, which the job does not declare")
            }
            Self::DuplicateName { kind, name } => format!("{kind} `{name}` is declared twice"),
            Self::RetryCodeMeansSuccess { task, code } => {
                format!("task `{task}` retries on exit code {code}, which already means success")
            }
            Self::BadEnvironmentName { task, name } => format!(
                "task `{task}` sets environment variable `{name}`, which is not a variable name"
            ),
            Self::RetryCodeNeverHappens { task, code } => format!(
                "task `{task}` retries on exit code {code}, which no command exits with (0 to 255)"
            ),
            Self::SeveralHosts => {
                "the job names more than one host, and an exported job runs on one".to_owned()
            }
            Self::DeferredName { name } => {
                format!("variable `{name}` is in a name, which an export fixes: it needs a value")
            }
            Self::HostAddressForSlurm { address } => {
                format!("Slurm picks nodes by name, and `{address}` is an address")
            }
            Self::RequiredParameter { name } => format!(
                "variable `{name}` has no default, and a scheduled run has nobody to give it"
            ),
            Self::UnmappedOption {
                engine,
                option,
                task,
            } => match task {
                Some(task) => format!("{engine} has no counterpart of task `{task}`'s `{option}`"),
                None => format!("{engine} has no counterpart of the job's `{option}`"),
            },
        }
    }
}

/// The severity every problem with `code` has: `W` codes are warnings, the rest errors.
pub fn severity_of(code: &str) -> Severity {
    if code.starts_with('W') {
        Severity::Warning
    } else {
        Severity::Error
    }
}

/// A span with a short noun phrase saying what is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What, e.g. "first defined here".
    pub message: String,
}

/// One problem found in one source, with where it is and what helps fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong.
    pub problem: Problem,
    /// The primary location; `None` for problems with the file as a whole.
    pub primary: Option<Label>,
    /// Related locations, e.g. the first definition of a duplicate.
    pub secondary: Vec<Label>,
    /// Full sentences that help; hints start with `hint:`.
    pub notes: Vec<String>,
    /// The name meant instead of the one at the primary span, when one is close enough: the
    /// "did you mean" of the notes, kept as data for an editor's quick fix.
    pub suggestion: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with no location yet.
    pub fn new(problem: Problem) -> Self {
        Self {
            problem,
            primary: None,
            secondary: Vec::new(),
            notes: Vec::new(),
            suggestion: None,
        }
    }

    /// Sets the primary location and its label.
    #[must_use]
    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.primary = Some(Label {
            span,
            message: label.into(),
        });
        self
    }

    /// Adds a related location.
    #[must_use]
    pub fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: label.into(),
        });
        self
    }

    /// Adds a note.
    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Adds `hint: did you mean `x`?` when there is a suggestion, and keeps the suggestion.
    #[must_use]
    pub fn suggest(self, suggestion: Option<&str>) -> Self {
        match suggestion {
            Some(name) => {
                let mut diagnostic = self.note(format!("hint: did you mean `{name}`?"));
                diagnostic.suggestion = Some(name.to_owned());
                diagnostic
            }
            None => self,
        }
    }

    /// The problem's severity.
    pub fn severity(&self) -> Severity {
        self.problem.severity()
    }

    /// The primary span, if any.
    pub fn span(&self) -> Option<Span> {
        self.primary.as_ref().map(|label| label.span)
    }
}

/// Sorts diagnostics by position (file-level ones first), then by code, so output is stable.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| (a.span(), a.problem.code()).cmp(&(b.span(), b.problem.code())));
}
