//! The canonical DSL form of a job: what `fmt` writes and `convert --to dsl` produces.
//!
//! The form is a function of the IR and the comments alone, so a job has exactly one:
//! - `job`, then `schema` (only when not the default), then each `constraint` (or
//!   `constraint none` for a job that declares it has none), then `timeout` and each `pool`
//!   line, then the tasks in file order, after one blank line;
//! - a task's statements in the order of [`Statement::ALL`] (`after`, `executor`, `run`,
//!   `continue`, `finish`, `retry`, `timeout`, `env`, `dir`, `pool`), one per line, indented by
//!   four spaces; defaults (`executor "shell"`, `continue on 0`, no dependencies, no finish
//!   codes, no options) are left out;
//! - durations in the largest of `h`, `m` and `s` that makes them whole (`90s`, `2m`, `1.5s`);
//! - a task that only says `run` goes on one line when it fits in [`MAX_WIDTH`] columns and has
//!   no comment inside; consecutive one-line tasks are not separated by blank lines, every
//!   other task is;
//! - a statement longer than [`MAX_WIDTH`] puts its list on the lines after it, indented once
//!   more: one string to a line, or as many exit codes as fit;
//! - strings escape `"`, `\`, line breaks, tabs, control and bidirectional-override characters
//!   and nothing else; exit codes are written in decimal without leading zeros.
//!
//! A comment goes back to its construct: on its own line just before it, or at the end of its
//! last line. Comments of a construct the form leaves out (an explicit default) go on lines of
//! their own before whatever is written next, which is where parsing the output puts them:
//! that keeps `fmt` idempotent.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::comment::{Anchor, Comment, Place};
use crate::ir::{Decimal, Job, Retry, Task};
use crate::span::Spanned;
use crate::syntax::rules;
use crate::syntax::statement::Statement;
use crate::template::Template;

/// Lines longer than this are broken, where they can be.
pub const MAX_WIDTH: usize = 100;

/// The indentation of statements inside a task, and of list items inside a statement.
const INDENT: &str = "    ";

/// The job in canonical form, with `comments` back in their places.
pub fn print(job: &Job, comments: &[Comment]) -> String {
    let mut by_anchor: HashMap<Anchor, Vec<&Comment>> = HashMap::new();
    for comment in comments {
        by_anchor.entry(comment.anchor).or_default().push(comment);
    }
    let mut printer = Printer {
        out: String::new(),
        by_anchor,
        carried: Vec::new(),
    };
    printer.header(job);
    let mut previous_one_line = None;
    for (index, task) in job.tasks.iter().enumerate() {
        let one_line = printer.one_line_task(index, task);
        let glued = previous_one_line == Some(true)
            && one_line.is_some()
            && printer.carried.is_empty()
            && !printer.has_comments(Place::Before, Anchor::Task(index));
        if !glued {
            printer.out.push('\n');
        }
        printer.task(index, task, one_line.as_deref());
        previous_one_line = Some(one_line.is_some());
    }
    if !printer.carried.is_empty() || printer.by_anchor.contains_key(&Anchor::End) {
        printer.out.push('\n');
        printer.comment_lines(Anchor::End, "");
    }
    printer.out
}

/// `text` as a DSL string literal.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Invisible characters, and those that make text display in another order than it
            // is read (as in "Trojan Source" attacks), are shown by their number.
            c if c.is_control() || super::is_hidden_or_reordering(c) => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Printer<'c> {
    out: String,
    /// The comments of each construct, in file order: looked up for each construct written
    /// rather than searched for, so a job with a comment on every line prints in linear time.
    by_anchor: HashMap<Anchor, Vec<&'c Comment>>,
    /// Comments of left-out constructs, waiting for the next construct written.
    carried: Vec<&'c Comment>,
}

impl<'c> Printer<'c> {
    fn header(&mut self, job: &Job) {
        self.line(Anchor::Job, "", &format!("job {}", quote(&job.name.text)));
        if job.schema.value == rules::lowest_schema(job).uri() {
            self.left_out(Anchor::Schema);
        } else {
            self.line(
                Anchor::Schema,
                "",
                &format!("schema {}", quote(&job.schema.value)),
            );
        }
        for (index, constraint) in job.constraints.iter().enumerate() {
            let text = format!("constraint {}", quote(&constraint.value));
            self.line(Anchor::Constraint(index), "", &text);
        }
        if job.declares_constraints && job.constraints.is_empty() {
            self.line(Anchor::NoConstraint, "", "constraint none");
        } else {
            self.left_out(Anchor::NoConstraint);
        }
        match &job.timeout {
            Some(timeout) => {
                let text = format!("timeout {}", duration(timeout.value));
                self.line(Anchor::JobTimeout, "", &text);
            }
            None => self.left_out(Anchor::JobTimeout),
        }
        for (index, pool) in job.pools.iter().enumerate() {
            let text = format!("pool {} size {}", quote(&pool.name.value), pool.size.value);
            self.line(Anchor::Pool(index), "", &text);
        }
    }

    /// The task on one line, if it may be written so.
    fn one_line_task(&self, index: usize, task: &Task) -> Option<String> {
        let statements = statements(task);
        let [(Statement::Run, run)] = statements.as_slice() else {
            return None;
        };
        let inside = self.has_comments(Place::After, Anchor::Task(index))
            || self.has_comments(Place::Before, Anchor::TaskEnd(index))
            || Statement::ALL.into_iter().any(|statement| {
                self.by_anchor
                    .contains_key(&Anchor::Statement(index, statement))
            });
        let line = format!("task {} {{ {} }}", quote(&task.name.text), run.one_line());
        (!inside && width(&line) <= MAX_WIDTH).then_some(line)
    }

    fn task(&mut self, index: usize, task: &Task, one_line: Option<&str>) {
        if let Some(line) = one_line {
            self.comment_lines(Anchor::Task(index), "");
            self.out.push_str(line);
            self.trailing(Anchor::TaskEnd(index));
            return;
        }
        let header = format!("task {} {{", quote(&task.name.text));
        self.line(Anchor::Task(index), "", &header);
        let written = statements(task);
        for statement in Statement::ALL {
            let anchor = Anchor::Statement(index, statement);
            match written.iter().find(|(s, _)| *s == statement) {
                Some((_, text)) => self.statement(anchor, text),
                None => self.left_out(anchor),
            }
        }
        self.comment_lines(Anchor::TaskEnd(index), INDENT);
        self.out.push('}');
        self.trailing(Anchor::TaskEnd(index));
    }

    /// A statement inside a task, broken into one item per line when it is too long.
    fn statement(&mut self, anchor: Anchor, text: &StatementText) {
        let line = text.one_line();
        if text.items.is_empty() || width(INDENT) + width(&line) <= MAX_WIDTH {
            self.line(anchor, INDENT, &line);
            return;
        }
        self.comment_lines(anchor, INDENT);
        let _ = writeln!(self.out, "{INDENT}{}", text.head);
        let lines = text.wrapped_items();
        let last = lines.len() - 1;
        for (position, line) in lines.iter().enumerate() {
            let _ = write!(self.out, "{INDENT}{INDENT}{line}");
            if position == last {
                self.trailing(anchor);
            } else {
                self.out.push('\n');
            }
        }
    }

    /// One line of code for `anchor`, with its comments.
    fn line(&mut self, anchor: Anchor, indent: &str, code: &str) {
        self.comment_lines(anchor, indent);
        self.out.push_str(indent);
        self.out.push_str(code);
        self.trailing(anchor);
    }

    /// Keeps the comments of a construct that is not written (it said the default) for the
    /// next construct that is.
    fn left_out(&mut self, anchor: Anchor) {
        if let Some(comments) = self.by_anchor.get(&anchor) {
            self.carried.extend(comments);
        }
    }

    /// The comments that go on their own lines before `anchor`, after any carried to it.
    fn comment_lines(&mut self, anchor: Anchor, indent: &str) {
        let carried = std::mem::take(&mut self.carried);
        for comment in carried
            .into_iter()
            .chain(self.anchored(Place::Before, anchor))
        {
            let _ = writeln!(self.out, "{indent}#{}", comment.text);
        }
    }

    /// Ends the current line with the comment that follows `anchor`, if any; any further one
    /// (which only a hand-built comment list can have) goes on the lines after.
    fn trailing(&mut self, anchor: Anchor) {
        let mut after = self.anchored(Place::After, anchor);
        if let Some(comment) = after.next() {
            let _ = write!(self.out, "  #{}", comment.text);
        }
        self.out.push('\n');
        for comment in after {
            let _ = writeln!(self.out, "#{}", comment.text);
        }
    }

    fn anchored(
        &self,
        place: Place,
        anchor: Anchor,
    ) -> impl Iterator<Item = &'c Comment> + use<'c> {
        let comments: Vec<&'c Comment> = self.by_anchor.get(&anchor).map_or_else(Vec::new, |all| {
            all.iter().copied().filter(|c| c.place == place).collect()
        });
        comments.into_iter()
    }

    fn has_comments(&self, place: Place, anchor: Anchor) -> bool {
        self.anchored(place, anchor).next().is_some()
    }
}

/// A statement as words: the part that stays on the first line, and its list.
struct StatementText {
    head: String,
    items: Vec<String>,
    /// Whether a broken list packs as many items to a line as fit (short exit codes) rather
    /// than one (strings, which a reader scans down).
    packed: bool,
}

impl StatementText {
    /// The list's lines when it goes under the head, each item but the last followed by a
    /// comma.
    fn wrapped_items(&self) -> Vec<String> {
        let room = MAX_WIDTH - 2 * width(INDENT);
        let mut lines: Vec<String> = Vec::new();
        let last = self.items.len().saturating_sub(1);
        for (position, item) in self.items.iter().enumerate() {
            let comma = if position == last { "" } else { "," };
            let piece = format!("{item}{comma}");
            match lines.last_mut() {
                Some(line) if self.packed && width(line) + 1 + width(&piece) <= room => {
                    line.push(' ');
                    line.push_str(&piece);
                }
                _ => lines.push(piece),
            }
        }
        lines
    }

    fn one_line(&self) -> String {
        if self.items.is_empty() {
            self.head.clone()
        } else {
            format!("{} {}", self.head, self.items.join(", "))
        }
    }
}

/// The statements a task writes, defaults left out, in canonical order.
fn statements(task: &Task) -> Vec<(Statement, StatementText)> {
    Statement::ALL
        .into_iter()
        .filter(|statement| statement.is_written(task))
        .map(|statement| (statement, statement_text(statement, task)))
        .collect()
}

/// How `task` says `statement`.
fn statement_text(statement: Statement, task: &Task) -> StatementText {
    let strings = |templates: &[Template]| -> Vec<String> {
        templates.iter().map(|t| quote(&t.text)).collect()
    };
    let codes = |codes: &Spanned<Vec<Spanned<u16>>>| -> Vec<String> {
        codes.value.iter().map(|c| c.value.to_string()).collect()
    };
    let keyword = statement.keyword();
    let (head, items, packed) = match statement {
        Statement::After => (keyword.to_owned(), strings(&task.depends_on), false),
        Statement::Executor => {
            let head = format!("{keyword} {}", quote(&task.executor.value));
            (head, Vec::new(), false)
        }
        Statement::Run => {
            let with = if task.arguments.is_empty() {
                ""
            } else {
                " with"
            };
            let head = format!("{keyword} {}{with}", quote(&task.command.text));
            (head, strings(&task.arguments), false)
        }
        Statement::Continue => {
            let continue_codes = codes(&task.on_result.continue_job);
            if continue_codes.is_empty() {
                (format!("{keyword} never"), continue_codes, false)
            } else {
                (format!("{keyword} on"), continue_codes, true)
            }
        }
        Statement::Finish => {
            let finish_codes = codes(&task.on_result.terminate_job_with_success);
            (format!("{keyword} on"), finish_codes, true)
        }
        Statement::Retry => match &task.retry {
            Some(retry) => {
                let head = retry_head(retry);
                match &retry.on_codes {
                    Some(on_codes) => (format!("{head} on"), codes(on_codes), true),
                    None => (head, Vec::new(), false),
                }
            }
            None => (keyword.to_owned(), Vec::new(), false),
        },
        Statement::Timeout => {
            let timeout = task
                .timeout
                .as_ref()
                .map_or_else(String::new, |t| duration(t.value));
            (format!("{keyword} {timeout}"), Vec::new(), false)
        }
        Statement::Env => {
            let pairs = task
                .env
                .iter()
                .map(|variable| {
                    let name = quote(&variable.name.value);
                    format!("{name} = {}", quote(&variable.value.text))
                })
                .collect();
            (keyword.to_owned(), pairs, false)
        }
        Statement::Dir => {
            let directory = task
                .working_directory
                .as_ref()
                .map_or_else(String::new, |dir| quote(&dir.text));
            (format!("{keyword} {directory}"), Vec::new(), false)
        }
        Statement::Pool => {
            let pool = task
                .pool
                .as_ref()
                .map_or_else(String::new, |p| quote(&p.value));
            (format!("{keyword} {pool}"), Vec::new(), false)
        }
    };
    StatementText {
        head,
        items,
        packed,
    }
}

/// `retry attempts 3 delay 2s backoff 2 max 1m`: everything but the codes.
fn retry_head(retry: &Retry) -> String {
    let mut head = format!("retry attempts {}", retry.attempts.value);
    if let Some(delay) = &retry.delay {
        let _ = write!(head, " delay {}", duration(delay.value));
    }
    if let Some(backoff) = &retry.backoff {
        let _ = write!(head, " backoff {}", backoff.value);
    }
    if let Some(max_delay) = &retry.max_delay {
        let _ = write!(head, " max {}", duration(max_delay.value));
    }
    head
}

/// `seconds` as a DSL duration, in the largest unit that makes it whole: `2h`, `90s`, `1.5s`.
pub(crate) fn duration(seconds: Decimal) -> String {
    const MINUTE: u64 = 60_000;
    const HOUR: u64 = 60 * MINUTE;
    let thousandths = seconds.thousandths();
    match thousandths {
        0 => "0s".to_owned(),
        _ if thousandths.is_multiple_of(HOUR) => format!("{}h", thousandths / HOUR),
        _ if thousandths.is_multiple_of(MINUTE) => format!("{}m", thousandths / MINUTE),
        _ => format!("{seconds}s"),
    }
}

/// The width of `text` in columns, counting each character as one.
fn width(text: &str) -> usize {
    text.chars().count()
}
