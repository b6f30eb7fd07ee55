//! Lowering parsed DSL items into the IR: defaults filled in, each statement checked for
//! repeats, strings decoded, and every token shown to the comment collector.
//!
//! Both parsers hand over each item as its tokens in order, named by the grammar's rules, so
//! the IR does not depend on which parser read the file. The parsers guarantee the shape.

use super::comments::Collector;
use super::grammar::Rule;
use super::string;
use crate::comment::{Anchor, Statement};
use crate::diag::{Diagnostic, Problem};
use crate::ir::{self, Job, OnResult, Task};
use crate::span::{Span, Spanned};
use crate::syntax::{Parsed, rules};
use crate::template::Template;

/// One token of an item: the grammar rule that matched it, and where it is in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Token {
    pub(super) rule: Rule,
    pub(super) span: Span,
}

/// A list of exit codes with the span of the whole list.
type Codes = Spanned<Vec<Spanned<u16>>>;

/// The job as far as it has been read.
pub(super) struct Lowerer<'t> {
    text: &'t str,
    diagnostics: Vec<Diagnostic>,
    /// False once a task had to be left out.
    complete: bool,
    /// The `job` keyword and the name, when it could be decoded.
    job: Option<(Span, Option<Template>)>,
    /// The `schema` keyword and the URI, when it could be decoded.
    schema: Option<(Span, Option<Spanned<String>>)>,
    constraints: Vec<Spanned<String>>,
    /// Constraint lines seen, including any whose text could not be decoded.
    constraint_count: usize,
    tasks: Vec<Task>,
    /// Tasks seen, including any left out.
    task_count: usize,
    comments: Collector<'t>,
}

/// What one task's statements said, each statement at most once.
#[derive(Default)]
struct Body {
    /// The keyword of each statement written, indexed in [`Statement::ALL`] order.
    seen: [Option<Span>; Statement::ALL.len()],
    depends_on: Vec<Template>,
    executor: Option<Spanned<String>>,
    command: Option<Template>,
    arguments: Vec<Template>,
    continue_job: Option<Codes>,
    terminate: Option<Codes>,
}

impl<'t> Lowerer<'t> {
    pub(super) fn new(text: &'t str) -> Self {
        Self {
            text,
            diagnostics: Vec::new(),
            complete: true,
            job: None,
            schema: None,
            constraints: Vec::new(),
            constraint_count: 0,
            tasks: Vec::new(),
            task_count: 0,
            comments: Collector::new(text),
        }
    }

    /// Lowers the tokens of one top-level item.
    pub(super) fn item(&mut self, tokens: &[Token]) {
        match tokens.first().map(|token| token.rule) {
            Some(Rule::kw_job) => self.job_line(tokens),
            Some(Rule::kw_schema) => self.schema_line(tokens),
            Some(Rule::kw_constraint) => self.constraint_line(tokens),
            Some(Rule::kw_task) => self.task(tokens),
            rule => unreachable!("{rule:?} does not start an item"),
        }
    }

    /// The job, once every item has been lowered.
    pub(super) fn finish(mut self) -> Parsed {
        let name = if let Some((keyword, name)) = self.job.take() {
            name.unwrap_or_else(|| Template::literal(String::new(), keyword))
        } else {
            let problem = Problem::MissingStatement {
                keyword: "job",
                task: None,
            };
            let start = Span::new(0, 0);
            self.diagnostics.push(
                Diagnostic::new(problem)
                    .at(start, "the file starts here")
                    .note("hint: name the job on its first line: `job \"nightly load\"`"),
            );
            Template::literal(String::new(), start)
        };
        let schema = match self.schema.take() {
            Some((keyword, uri)) => {
                let uri = uri.unwrap_or_else(|| Spanned::new(ir::SCHEMA_1_0_0.to_owned(), keyword));
                self.check_constraints_allowed(&uri);
                uri
            }
            None => Spanned::new(ir::lowest_schema(&self.constraints).to_owned(), name.span),
        };
        let job = Job {
            schema,
            name,
            tasks: self.tasks,
            constraints: self.constraints,
        };
        Parsed {
            job: Some(job),
            diagnostics: self.diagnostics,
            complete: self.complete,
            comments: self.comments.finish(),
        }
    }

    fn job_line(&mut self, tokens: &[Token]) {
        let mut keyword = Span::default();
        let mut name = None;
        for &token in tokens {
            let span = self.token(token, Anchor::Job);
            match token.rule {
                Rule::kw_job => keyword = span,
                Rule::job_name => name = self.template(span),
                rule => unreachable!("{rule:?} in a job line"),
            }
        }
        if let Some((first, _)) = &self.job {
            let repeated = repeated("job", None, keyword, *first);
            self.diagnostics.push(repeated);
        } else {
            self.job = Some((keyword, name));
        }
    }

    fn schema_line(&mut self, tokens: &[Token]) {
        let mut keyword = Span::default();
        let mut uri = None;
        for &token in tokens {
            let span = self.token(token, Anchor::Schema);
            match token.rule {
                Rule::kw_schema => keyword = span,
                Rule::schema_uri => uri = self.plain(span),
                rule => unreachable!("{rule:?} in a schema line"),
            }
        }
        if let Some((first, _)) = &self.schema {
            let repeated = repeated("schema", None, keyword, *first);
            self.diagnostics.push(repeated);
            return;
        }
        if let Some(uri) = &uri {
            if !rules::is_iglu_uri(&uri.value) {
                let problem = Problem::SchemaUri {
                    uri: uri.value.clone(),
                };
                self.diagnostics.push(
                    Diagnostic::new(problem)
                        .at(uri.span, "not `iglu:vendor/name/format/1-0-0`")
                        .note("hint: leave the `schema` line out to use the default"),
                );
            }
        }
        self.schema = Some((keyword, uri));
    }

    fn constraint_line(&mut self, tokens: &[Token]) {
        let anchor = Anchor::Constraint(self.constraint_count);
        self.constraint_count += 1;
        for &token in tokens {
            let span = self.token(token, anchor);
            match token.rule {
                Rule::kw_constraint => {}
                Rule::constraint_text => {
                    if let Some(text) = self.plain(span) {
                        self.constraints.push(text);
                    }
                }
                rule => unreachable!("{rule:?} in a constraint line"),
            }
        }
    }

    /// An explicit schema too old for the job's constraints.
    fn check_constraints_allowed(&mut self, schema: &Spanned<String>) {
        let Some(first) = self.constraints.first() else {
            return;
        };
        if rules::allows_constraints(&schema.value) {
            return;
        }
        let problem = Problem::NeedsNewerSchema {
            key: "constraint",
            version: "1-1-0",
        };
        self.diagnostics.push(
            Diagnostic::new(problem)
                .at(first.span, "needs schema 1-1-0")
                .also(schema.span, "the schema is older")
                .note("hint: leave the `schema` line out: a job with constraints gets 1-1-0"),
        );
    }

    fn task(&mut self, tokens: &[Token]) {
        let index = self.task_count;
        self.task_count += 1;
        let mut name: Option<Template> = None;
        let mut name_span = Span::default();
        let mut body = Body::default();
        let mut position = 0;
        while let Some(&token) = tokens.get(position) {
            position += 1;
            match token.rule {
                Rule::kw_task | Rule::open_brace => {
                    self.token(token, Anchor::Task(index));
                }
                Rule::task_name => {
                    name_span = self.token(token, Anchor::Task(index));
                    name = self.template(name_span);
                }
                Rule::close_brace => {
                    self.token(token, Anchor::TaskEnd(index));
                }
                _ => {
                    // A statement runs up to the next statement's keyword or the `}`.
                    let end = tokens[position..]
                        .iter()
                        .position(|t| starts_statement(t.rule) || t.rule == Rule::close_brace)
                        .map_or(tokens.len(), |len| position + len);
                    // Messages name the task as written when its name could not be decoded.
                    let task = name.as_ref().map_or_else(
                        || self.text[name_span.range()].to_owned(),
                        |name| name.text.to_string(),
                    );
                    self.statement(&tokens[position - 1..end], index, &task, &mut body);
                    position = end;
                }
            }
        }
        let Some(name) = name else {
            self.complete = false;
            return;
        };
        if body.seen[Statement::Run as usize].is_none() {
            let problem = Problem::MissingStatement {
                keyword: "run",
                task: Some(name.text.to_string()),
            };
            self.diagnostics.push(
                Diagnostic::new(problem)
                    .at(name_span, "this task runs nothing")
                    .note("hint: say what it runs: `run \"command\"`"),
            );
        }
        // Defaults point at the task's name: that is where a reader looks for them.
        let task = Task {
            executor: body
                .executor
                .unwrap_or_else(|| Spanned::new("shell".to_owned(), name_span)),
            command: body
                .command
                .unwrap_or_else(|| Template::literal(String::new(), name_span)),
            arguments: body.arguments,
            depends_on: body.depends_on,
            on_result: OnResult {
                terminate_job_with_success: body
                    .terminate
                    .unwrap_or_else(|| Spanned::new(Vec::new(), name_span)),
                continue_job: body
                    .continue_job
                    .unwrap_or_else(|| Spanned::new(vec![Spanned::new(0, name_span)], name_span)),
            },
            name,
        };
        self.tasks.push(task);
    }

    /// Lowers one statement of task number `index`, called `task`, into `body`.
    fn statement(&mut self, tokens: &[Token], index: usize, task: &str, body: &mut Body) {
        let statement = match tokens.first().map(|token| token.rule) {
            Some(Rule::kw_after) => Statement::After,
            Some(Rule::kw_executor) => Statement::Executor,
            Some(Rule::kw_run) => Statement::Run,
            Some(Rule::kw_continue) => Statement::Continue,
            Some(Rule::kw_finish) => Statement::Finish,
            rule => unreachable!("{rule:?} does not start a statement"),
        };
        let anchor = Anchor::Statement(index, statement);
        let mut keyword = None;
        // Lists are allocated at their final size: a big job holds hundreds of thousands of
        // them, and a vector grown by pushing keeps room for at least four items.
        let count = |rules: &[Rule]| tokens.iter().filter(|t| rules.contains(&t.rule)).count();
        let mut command = None;
        let mut strings = Vec::with_capacity(count(&[Rule::dependency, Rule::argument]));
        let mut executor = None;
        let mut codes = Vec::with_capacity(count(&[Rule::exit_code]));
        let mut codes_span: Option<Span> = None;
        let mut codes_valid = true;
        for &token in tokens {
            let span = self.token(token, anchor);
            match token.rule {
                Rule::kw_after
                | Rule::kw_executor
                | Rule::kw_run
                | Rule::kw_continue
                | Rule::kw_finish => keyword = Some(span),
                Rule::kw_with | Rule::kw_on | Rule::comma => {}
                Rule::kw_never => codes_span = Some(span),
                Rule::command => command = self.template(span),
                Rule::dependency | Rule::argument => strings.extend(self.template(span)),
                Rule::executor_name => executor = self.plain(span),
                Rule::exit_code => {
                    codes_span = Some(codes_span.map_or(span, |first| Span {
                        start: first.start,
                        end: span.end,
                    }));
                    match rules::exit_code(&self.text[span.range()]) {
                        Ok(code) => codes.push(Spanned::new(code, span)),
                        Err(problem) => {
                            codes_valid = false;
                            self.diagnostics
                                .push(Diagnostic::new(problem).at(span, "this code"));
                        }
                    }
                }
                rule => unreachable!("{rule:?} in a statement"),
            }
        }
        let keyword = keyword.unwrap_or_default();
        let slot = &mut body.seen[statement as usize];
        if let Some(first) = *slot {
            let keyword_text = statement.keyword();
            let diagnostic = repeated(keyword_text, Some(task), keyword, first);
            self.diagnostics.push(diagnostic);
            return;
        }
        *slot = Some(keyword);
        // A list with a bad code is not empty, and must not be linted as if it were.
        let codes = codes_valid.then(|| Spanned::new(codes, codes_span.unwrap_or(keyword)));
        match statement {
            Statement::After => body.depends_on = strings,
            Statement::Run => {
                body.command = command;
                body.arguments = strings;
            }
            Statement::Continue => body.continue_job = codes,
            Statement::Finish => body.terminate = codes,
            Statement::Executor => body.executor = executor,
        }
    }

    /// Shows a token to the comment collector and returns its span.
    fn token(&mut self, token: Token, anchor: Anchor) -> Span {
        self.comments.token(token.span, anchor);
        token.span
    }

    /// Decodes the string token at `span` and parses its placeholders.
    fn template(&mut self, span: Span) -> Option<Template> {
        let start = span.start as usize;
        match string::decode(&self.text[span.range()], start) {
            Ok(decoded) => Some(decoded.into_template(span, start + 1, &mut self.diagnostics)),
            Err(diagnostic) => {
                self.diagnostics.push(diagnostic);
                None
            }
        }
    }

    /// Decodes the string token at `span`, which has no placeholders.
    fn plain(&mut self, span: Span) -> Option<Spanned<String>> {
        match string::decode(&self.text[span.range()], span.start as usize) {
            Ok(decoded) => Some(Spanned::new(decoded.into_text(), span)),
            Err(diagnostic) => {
                self.diagnostics.push(diagnostic);
                None
            }
        }
    }
}

/// Whether a token of rule `rule` starts a task's statement.
fn starts_statement(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_after | Rule::kw_executor | Rule::kw_run | Rule::kw_continue | Rule::kw_finish
    )
}

/// A statement written twice: the second is ignored.
fn repeated(keyword: &'static str, task: Option<&str>, again: Span, first: Span) -> Diagnostic {
    let problem = Problem::RepeatedStatement {
        keyword,
        task: task.map(str::to_owned),
    };
    let hint = match keyword {
        "after" | "continue" | "finish" => {
            format!("hint: list everything in one `{keyword}`, separated by commas")
        }
        _ => "hint: keep one of them".to_owned(),
    };
    Diagnostic::new(problem)
        .at(again, "said again here")
        .also(first, "first said here")
        .note(hint)
}
