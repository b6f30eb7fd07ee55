//! Lowering parsed DSL items into the IR: defaults filled in, each statement checked for
//! repeats, strings decoded, and every token shown to the comment collector.
//!
//! Both parsers hand over each item as its tokens in order, named by the grammar's rules, so
//! the IR does not depend on which parser read the file. The parsers guarantee the shape; a
//! token in a place they never put one is shown to the comment collector and otherwise
//! ignored, never a panic.

use super::comments::Collector;
use super::grammar::Rule;
use super::string;
use crate::comment::Anchor;
use crate::diag::{Diagnostic, Problem};
use crate::ir::{self, Decimal, EnvVar, Job, OnResult, Pool, Retry, Task};
use crate::span::{Span, Spanned};
use crate::syntax::Parsed;
use crate::syntax::rules::{self, Bounds, SchemaVersion};
use crate::syntax::statement::Statement;
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
    /// False once a task had to be left out, or text was skipped after a syntax error.
    complete: bool,
    /// Whether a syntax error made the parser skip text, which may have held any item.
    skipped_text: bool,
    /// The `job` keyword and the name, when it could be decoded.
    job: Option<(Span, Option<Template>)>,
    /// The `schema` keyword and the URI, when it could be decoded.
    schema: Option<(Span, Option<Spanned<String>>)>,
    constraints: Vec<Spanned<String>>,
    /// Constraint lines seen, including any whose text could not be decoded (but not
    /// `constraint none`).
    constraint_count: usize,
    /// Whether a `constraint` line was seen, `constraint none` included.
    declares_constraints: bool,
    /// The `none` of the first `constraint none`.
    constraint_none: Option<Span>,
    /// The job's `timeout` keyword and the duration, when it could be read.
    timeout: Option<(Span, Option<Spanned<Decimal>>)>,
    pools: Vec<Pool>,
    /// `pool` lines seen, including any whose name or size could not be read.
    pool_count: usize,
    /// The keyword of the first `pool` line.
    first_pool: Option<Span>,
    tasks: Vec<Task>,
    /// Tasks seen, including any left out.
    task_count: usize,
    /// The keyword of the first use of each statement in the file, indexed in
    /// [`Statement::ALL`] order: the schema must be recent enough for it.
    first_use: [Option<Span>; Statement::ALL.len()],
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
    retry: Option<Retry>,
    timeout: Option<Spanned<Decimal>>,
    env: Vec<EnvVar>,
    working_directory: Option<Template>,
    pool: Option<Spanned<String>>,
}

impl<'t> Lowerer<'t> {
    pub(super) fn new(text: &'t str) -> Self {
        Self {
            text,
            diagnostics: Vec::new(),
            complete: true,
            skipped_text: false,
            job: None,
            schema: None,
            constraints: Vec::new(),
            constraint_count: 0,
            declares_constraints: false,
            constraint_none: None,
            timeout: None,
            pools: Vec::new(),
            pool_count: 0,
            first_pool: None,
            tasks: Vec::new(),
            task_count: 0,
            first_use: [None; Statement::ALL.len()],
            comments: Collector::new(text),
        }
    }

    /// Lowers the tokens of one top-level item.
    pub(super) fn item(&mut self, tokens: &[Token]) {
        match tokens.first().map(|token| token.rule) {
            Some(Rule::kw_job) => self.job_line(tokens),
            Some(Rule::kw_schema) => self.schema_line(tokens),
            Some(Rule::kw_constraint) => self.constraint_line(tokens),
            Some(Rule::kw_timeout) => self.job_timeout(tokens),
            Some(Rule::kw_pool) => self.pool_declaration(tokens),
            Some(Rule::kw_task) => self.task(tokens),
            // The parsers start every item with one of these keywords.
            _ => {}
        }
    }

    /// Records a syntax error, after which the parser skipped the text up to `resume_at`:
    /// whatever that text held is unknown, so the job is incomplete, and its comments are not
    /// collected (a `#` there may be inside a string).
    pub(super) fn syntax_error(&mut self, diagnostic: Diagnostic, resume_at: usize) {
        self.diagnostics.push(diagnostic);
        self.complete = false;
        self.skipped_text = true;
        self.comments.skip_to(resume_at);
    }

    /// The job, once every item has been lowered.
    pub(super) fn finish(mut self) -> Parsed {
        let name = if let Some((keyword, name)) = self.job.take() {
            name.unwrap_or_else(|| Template::literal(String::new(), keyword))
        } else if self.skipped_text {
            // The `job` line may be in the text a syntax error skipped.
            Template::literal(String::new(), Span::new(0, 0))
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
        let name_span = name.span;
        let mut job = Job {
            schema: Spanned::new(String::new(), name_span),
            name,
            tasks: std::mem::take(&mut self.tasks),
            constraints: std::mem::take(&mut self.constraints),
            declares_constraints: self.declares_constraints,
            timeout: self
                .timeout
                .as_ref()
                .and_then(|(_, timeout)| timeout.clone()),
            pools: std::mem::take(&mut self.pools),
        };
        job.schema = match self.schema.take() {
            Some((keyword, uri)) => {
                let uri = uri.unwrap_or_else(|| Spanned::new(ir::SCHEMA_1_0_0.to_owned(), keyword));
                self.check_schema_is_recent_enough(&job, &uri);
                uri
            }
            None => Spanned::new(rules::lowest_schema(&job).uri().to_owned(), name_span),
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
                _ => {}
            }
        }
        if let Some((first, _)) = &self.job {
            let repeated = repeated("job", None, keyword, *first, KEEP_ONE);
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
                _ => {}
            }
        }
        if let Some((first, _)) = &self.schema {
            let repeated = repeated("schema", None, keyword, *first, KEEP_ONE);
            self.diagnostics.push(repeated);
            return;
        }
        if let Some(uri) = &uri
            && !rules::is_iglu_uri(&uri.value)
        {
            let problem = Problem::SchemaUri {
                uri: uri.value.clone(),
            };
            self.diagnostics.push(
                Diagnostic::new(problem)
                    .at(uri.span, "not `iglu:vendor/name/format/1-0-0`")
                    .note("hint: leave the `schema` line out to use the default"),
            );
        }
        self.schema = Some((keyword, uri));
    }

    fn constraint_line(&mut self, tokens: &[Token]) {
        self.declares_constraints = true;
        if let Some(none) = tokens.iter().find(|t| t.rule == Rule::kw_none) {
            self.constraint_none.get_or_insert(none.span);
            for &token in tokens {
                self.token(token, Anchor::NoConstraint);
            }
            return;
        }
        let anchor = Anchor::Constraint(self.constraint_count);
        self.constraint_count += 1;
        for &token in tokens {
            let span = self.token(token, anchor);
            if token.rule == Rule::constraint_text
                && let Some(text) = self.plain(span)
            {
                self.constraints.push(text);
            }
        }
    }

    /// `timeout 2h`: the job's time limit.
    fn job_timeout(&mut self, tokens: &[Token]) {
        let mut keyword = Span::default();
        let mut timeout = None;
        for &token in tokens {
            let span = self.token(token, Anchor::JobTimeout);
            match token.rule {
                Rule::kw_timeout => keyword = span,
                Rule::duration => timeout = self.duration(span, rules::TIMEOUT, "timeout"),
                _ => {}
            }
        }
        if let Some((first, _)) = &self.timeout {
            let repeated = repeated("timeout", None, keyword, *first, KEEP_ONE);
            self.diagnostics.push(repeated);
        } else {
            self.timeout = Some((keyword, timeout));
        }
    }

    /// `pool "name" size 2`.
    fn pool_declaration(&mut self, tokens: &[Token]) {
        let anchor = Anchor::Pool(self.pool_count);
        self.pool_count += 1;
        let mut name = None;
        let mut size = None;
        for &token in tokens {
            let span = self.token(token, anchor);
            match token.rule {
                Rule::kw_pool => {
                    self.first_pool.get_or_insert(span);
                }
                Rule::pool_name => name = self.plain(span),
                Rule::count => {
                    size = self
                        .count(span, rules::POOL_SIZE, "size")
                        .map(|count| Spanned::new(count, span));
                }
                _ => {}
            }
        }
        if let (Some(name), Some(size)) = (name, size) {
            self.pools.push(Pool { name, size });
        } else {
            // A task naming this pool cannot be judged: the pool is there, unreadable.
            self.complete = false;
        }
    }

    /// An explicit schema too old for what the job says: its constraints, its time limit or
    /// pools, or a statement of a later schema.
    fn check_schema_is_recent_enough(&mut self, job: &Job, schema: &Spanned<String>) {
        let first_constraint = job.constraints.first().map(|c| c.span);
        if let Some(first) = first_constraint.or(self.constraint_none) {
            let feature = ("constraint", "constraints", first);
            self.needs_newer_schema(feature, rules::CONSTRAINTS_SINCE, schema);
        }
        if let Some((first, _)) = self.timeout {
            let feature = ("timeout", "a time limit", first);
            self.needs_newer_schema(feature, rules::OPTIONS_SINCE, schema);
        }
        if let Some(first) = self.first_pool {
            let feature = ("pool", "pools", first);
            self.needs_newer_schema(feature, rules::OPTIONS_SINCE, schema);
        }
        // Every schema has what 1-0-0 has, even one whose URI is malformed (E206).
        let newer = Statement::ALL
            .into_iter()
            .filter(|s| s.since() > rules::V1_0_0);
        for statement in newer {
            if let Some(first) = self.first_use[statement as usize] {
                let keyword = statement.keyword();
                self.needs_newer_schema((keyword, keyword, first), statement.since(), schema);
            }
        }
    }

    /// Reports `feature` (its keyword, what a hint calls it, and its first use) unless
    /// `schema` is version `since` or later.
    fn needs_newer_schema(
        &mut self,
        (keyword, feature, first): (&'static str, &str, Span),
        since: SchemaVersion,
        schema: &Spanned<String>,
    ) {
        if rules::schema_allows(&schema.value, since) {
            return;
        }
        let version = since.name();
        let problem = Problem::NeedsNewerSchema {
            key: keyword,
            version,
        };
        self.diagnostics.push(
            Diagnostic::new(problem)
                .at(first, format!("needs schema {version}"))
                .also(schema.span, "the schema is older")
                .note(format!(
                    "hint: leave the `schema` line out: a job with {feature} gets {version}"
                )),
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
                rule => {
                    // The parsers put nothing else in a task but statements.
                    let Some(statement) = statement_started_by(rule) else {
                        self.token(token, Anchor::Task(index));
                        continue;
                    };
                    // A statement runs up to the next statement's keyword or the `}`.
                    let end = tokens[position..]
                        .iter()
                        .position(|t| {
                            statement_started_by(t.rule).is_some() || t.rule == Rule::close_brace
                        })
                        .map_or(tokens.len(), |len| position + len);
                    // Messages name the task as written when its name could not be decoded.
                    let task = name.as_ref().map_or_else(
                        || self.text[name_span.range()].to_owned(),
                        |name| name.text.to_string(),
                    );
                    let statement_tokens = &tokens[position - 1..end];
                    self.statement(statement, statement_tokens, index, &task, &mut body);
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
                .unwrap_or_else(|| Spanned::new(rules::DEFAULT_EXECUTOR.to_owned(), name_span)),
            command: body
                .command
                .unwrap_or_else(|| Template::literal(String::new(), name_span)),
            arguments: body.arguments,
            depends_on: body.depends_on,
            on_result: OnResult {
                terminate_job_with_success: body
                    .terminate
                    .unwrap_or_else(|| Spanned::new(Vec::new(), name_span)),
                continue_job: body.continue_job.unwrap_or_else(|| {
                    let codes = rules::DEFAULT_CONTINUE_CODES.map(|c| Spanned::new(c, name_span));
                    Spanned::new(codes.to_vec(), name_span)
                }),
            },
            retry: body.retry,
            timeout: body.timeout,
            env: body.env,
            working_directory: body.working_directory,
            pool: body.pool,
            name,
        };
        self.tasks.push(task);
    }

    /// Lowers `statement`, whose tokens are `tokens` (its keyword first), of task number
    /// `index`, called `task`, into `body`.
    fn statement(
        &mut self,
        statement: Statement,
        tokens: &[Token],
        index: usize,
        task: &str,
        body: &mut Body,
    ) {
        let anchor = Anchor::Statement(index, statement);
        for &token in tokens {
            self.token(token, anchor);
        }
        let keyword = tokens
            .first()
            .map_or_else(Span::default, |token| token.span);
        // Strings and codes are decoded, and their problems reported, even in a statement said
        // twice.
        let value = match statement {
            Statement::After => Value::After(self.templates(tokens, Rule::dependency)),
            Statement::Executor => Value::Executor(self.plain_of(tokens, Rule::executor_name)),
            Statement::Run => {
                let command = tokens.iter().find(|t| t.rule == Rule::command);
                let command = command.and_then(|token| self.template(token.span));
                Value::Run(command, self.templates(tokens, Rule::argument))
            }
            Statement::Continue => Value::Continue(self.codes(tokens, keyword)),
            Statement::Finish => Value::Finish(self.codes(tokens, keyword)),
            Statement::Retry => Value::Retry(self.retry(tokens)),
            Statement::Timeout => Value::Timeout(
                tokens
                    .iter()
                    .find(|t| t.rule == Rule::duration)
                    .and_then(|t| self.duration(t.span, rules::TIMEOUT, "timeout")),
            ),
            Statement::Env => Value::Env(self.env(tokens)),
            Statement::Dir => Value::Dir(
                tokens
                    .iter()
                    .find(|t| t.rule == Rule::directory)
                    .and_then(|t| self.template(t.span)),
            ),
            Statement::Pool => Value::Pool(self.plain_of(tokens, Rule::pool_name)),
        };
        let slot = &mut body.seen[statement as usize];
        if let Some(first) = *slot {
            let hint = match statement {
                Statement::After | Statement::Continue | Statement::Finish | Statement::Env => {
                    LIST_IN_ONE
                }
                Statement::Executor
                | Statement::Run
                | Statement::Retry
                | Statement::Timeout
                | Statement::Dir
                | Statement::Pool => KEEP_ONE,
            };
            let diagnostic = repeated(statement.keyword(), Some(task), keyword, first, hint);
            self.diagnostics.push(diagnostic);
            return;
        }
        *slot = Some(keyword);
        self.first_use[statement as usize].get_or_insert(keyword);
        match value {
            Value::After(dependencies) => body.depends_on = dependencies,
            Value::Executor(executor) => body.executor = executor,
            Value::Run(command, arguments) => {
                body.command = command;
                body.arguments = arguments;
            }
            Value::Continue(codes) => body.continue_job = codes,
            Value::Finish(codes) => body.terminate = codes,
            Value::Retry(retry) => body.retry = retry,
            Value::Timeout(timeout) => body.timeout = timeout,
            Value::Env(env) => body.env = env,
            Value::Dir(directory) => body.working_directory = directory,
            Value::Pool(pool) => body.pool = pool,
        }
    }

    /// `retry attempts N [delay D] [backoff F] [max D] [on CODES]`: `None` when the number of
    /// attempts cannot be read (its problem is reported).
    fn retry(&mut self, tokens: &[Token]) -> Option<Retry> {
        let first = tokens.first()?.span;
        let last = tokens.last()?.span;
        let mut attempts = None;
        let mut delay = None;
        let mut backoff = None;
        let mut max_delay = None;
        let mut on_codes = None;
        for (position, token) in tokens.iter().enumerate() {
            let span = token.span;
            match token.rule {
                Rule::count => {
                    attempts = self
                        .count(span, rules::ATTEMPTS, "attempts")
                        .map(|count| Spanned::new(count, span));
                }
                Rule::factor => backoff = self.decimal(span, 1, rules::BACKOFF, "backoff"),
                Rule::duration => {
                    let after_max = position
                        .checked_sub(1)
                        .is_some_and(|before| tokens[before].rule == Rule::kw_max);
                    if after_max {
                        max_delay = self.duration(span, rules::DELAY, "max");
                    } else {
                        delay = self.duration(span, rules::DELAY, "delay");
                    }
                }
                Rule::kw_on => on_codes = self.codes(&tokens[position..], span),
                _ => {}
            }
        }
        Some(Retry {
            span: Span::new(first.start as usize, last.end as usize),
            attempts: attempts?,
            delay,
            backoff,
            max_delay,
            on_codes,
        })
    }

    /// `env "NAME" = "value", …`: the pairs whose name and value could both be decoded.
    fn env(&mut self, tokens: &[Token]) -> Vec<EnvVar> {
        let mut env = Vec::new();
        let mut name = None;
        for token in tokens {
            match token.rule {
                Rule::env_name => name = Some(self.plain(token.span)),
                Rule::env_value => {
                    let value = self.template(token.span);
                    if let (Some(Some(name)), Some(value)) = (name.take(), value) {
                        env.push(EnvVar { name, value });
                    }
                }
                _ => {}
            }
        }
        env
    }

    /// A duration token, `1.5m`: its number times its unit, in seconds, within `bounds`.
    fn duration(
        &mut self,
        span: Span,
        bounds: Bounds,
        option: &'static str,
    ) -> Option<Spanned<Decimal>> {
        let text = &self.text[span.range()];
        let (number, unit) = text.split_at(text.len().saturating_sub(1));
        let seconds_per_unit = match unit {
            "h" => 3600,
            "m" => 60,
            _ => 1,
        };
        self.number_or_report(
            rules::option_number(number, seconds_per_unit, bounds, option, text),
            span,
        )
    }

    /// A number token without a unit (a backoff factor), within `bounds`.
    fn decimal(
        &mut self,
        span: Span,
        unit: u64,
        bounds: Bounds,
        option: &'static str,
    ) -> Option<Spanned<Decimal>> {
        let text = &self.text[span.range()];
        self.number_or_report(rules::option_number(text, unit, bounds, option, text), span)
    }

    /// A whole-number token within `bounds`.
    fn count(&mut self, span: Span, bounds: Bounds, option: &'static str) -> Option<u32> {
        let text = &self.text[span.range()];
        match rules::option_count(text, bounds, option) {
            Ok(count) => Some(count),
            Err(problem) => {
                self.diagnostics
                    .push(Diagnostic::new(problem).at(span, "this value"));
                None
            }
        }
    }

    fn number_or_report(
        &mut self,
        number: Result<Decimal, Problem>,
        span: Span,
    ) -> Option<Spanned<Decimal>> {
        match number {
            Ok(value) => Some(Spanned::new(value, span)),
            Err(problem) => {
                self.diagnostics
                    .push(Diagnostic::new(problem).at(span, "this value"));
                None
            }
        }
    }

    /// The decoded strings of the tokens of rule `rule`, allocated at their final size: a big
    /// job holds hundreds of thousands of lists, and a vector grown by pushing keeps room for at
    /// least four items.
    fn templates(&mut self, tokens: &[Token], rule: Rule) -> Vec<Template> {
        let count = tokens.iter().filter(|t| t.rule == rule).count();
        let mut templates = Vec::with_capacity(count);
        for token in tokens.iter().filter(|t| t.rule == rule) {
            templates.extend(self.template(token.span));
        }
        templates
    }

    /// The decoded string of the first token of rule `rule`.
    fn plain_of(&mut self, tokens: &[Token], rule: Rule) -> Option<Spanned<String>> {
        let token = tokens.iter().find(|t| t.rule == rule)?;
        self.plain(token.span)
    }

    /// The exit codes of `continue on …`, `continue never` or `finish on …`: `None` when one
    /// of them is not a valid code, since a list with a bad code is not empty and must not be
    /// linted as if it were. The list's span runs from its first code to its last (or is
    /// `never`, or the keyword).
    fn codes(&mut self, tokens: &[Token], keyword: Span) -> Option<Codes> {
        let count = tokens.iter().filter(|t| t.rule == Rule::exit_code).count();
        let mut codes = Vec::with_capacity(count);
        let mut codes_span: Option<Span> = None;
        let mut valid = true;
        for token in tokens {
            let span = token.span;
            match token.rule {
                Rule::kw_never => codes_span = Some(span),
                Rule::exit_code => {
                    codes_span = Some(codes_span.map_or(span, |first| Span {
                        start: first.start,
                        end: span.end,
                    }));
                    match rules::exit_code(&self.text[span.range()]) {
                        Ok(code) => codes.push(Spanned::new(code, span)),
                        Err(problem) => {
                            valid = false;
                            self.diagnostics
                                .push(Diagnostic::new(problem).at(span, "this code"));
                        }
                    }
                }
                _ => {}
            }
        }
        valid.then(|| Spanned::new(codes, codes_span.unwrap_or(keyword)))
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

/// What a statement says, before it is put in its place in the task: one variant per
/// [`Statement`]. A value that could not be decoded is `None` (its problem is reported).
enum Value {
    After(Vec<Template>),
    Executor(Option<Spanned<String>>),
    Run(Option<Template>, Vec<Template>),
    Continue(Option<Codes>),
    Finish(Option<Codes>),
    Retry(Option<Retry>),
    Timeout(Option<Spanned<Decimal>>),
    Env(Vec<EnvVar>),
    Dir(Option<Template>),
    Pool(Option<Spanned<String>>),
}

/// The grammar's rule for the keyword that starts `statement`.
pub(super) fn keyword_rule(statement: Statement) -> Rule {
    match statement {
        Statement::After => Rule::kw_after,
        Statement::Executor => Rule::kw_executor,
        Statement::Run => Rule::kw_run,
        Statement::Continue => Rule::kw_continue,
        Statement::Finish => Rule::kw_finish,
        Statement::Retry => Rule::kw_retry,
        Statement::Timeout => Rule::kw_timeout,
        Statement::Env => Rule::kw_env,
        Statement::Dir => Rule::kw_dir,
        Statement::Pool => Rule::kw_pool,
    }
}

/// The statement that a token of rule `rule` starts, if it is a statement's keyword.
fn statement_started_by(rule: Rule) -> Option<Statement> {
    Statement::ALL
        .into_iter()
        .find(|&statement| keyword_rule(statement) == rule)
}

/// The hint for a repeated line that takes one value.
const KEEP_ONE: &str = "hint: keep one of them";

/// The hint for a repeated statement that takes a list (`{keyword}` is filled in).
const LIST_IN_ONE: &str = "hint: list everything in one `{keyword}`, separated by commas";

/// A statement written twice: the second is ignored.
fn repeated(
    keyword: &'static str,
    task: Option<&str>,
    again: Span,
    first: Span,
    hint: &str,
) -> Diagnostic {
    let problem = Problem::RepeatedStatement {
        keyword,
        task: task.map(str::to_owned),
    };
    let hint = hint.replace("{keyword}", keyword);
    Diagnostic::new(problem)
        .at(again, "said again here")
        .also(first, "first said here")
        .note(hint)
}
