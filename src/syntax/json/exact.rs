//! The exact path: the pest grammar gives every key and value a span, and lowering checks each
//! rule of schema 1-0-0 at the value that breaks it, collecting every problem in one pass.

use pest::Parser as _;
use pest::iterators::Pair;

use super::grammar::{JsonParser, Rule};
use super::region::{self, Elided};
use super::{depth, schema, string, syntax_error};
use crate::diag::{Diagnostic, Problem};
use crate::ir::{Decimal, EnvVar, Job, OnResult, Pool, Retry, Task};
use crate::span::{Span, Spanned};
use crate::suggest;
use crate::syntax::rules::{self, Bounds};
use crate::template::Template;

/// What the exact path learnt: the job as far as it could be built, and every problem.
pub(crate) struct Lowered {
    /// `None` when the envelope or the job object is unusable.
    pub(crate) job: Option<Job>,
    /// Every problem found, unsorted.
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// False when some task had to be left out, so references to it cannot be judged.
    pub(crate) complete: bool,
}

impl Lowered {
    /// A file that yields nothing but `diagnostic`, such as a syntax error.
    pub(super) fn failed(diagnostic: Diagnostic) -> Self {
        Self {
            job: None,
            diagnostics: vec![diagnostic],
            complete: false,
        }
    }
}

/// Parses and lowers `text`, reporting every problem.
pub(crate) fn parse(text: &str) -> Lowered {
    if let Err(diagnostic) = depth::check(text) {
        return Lowered::failed(diagnostic);
    }
    pest::set_error_detail(true);
    let root = match JsonParser::parse(Rule::document, text) {
        Ok(mut pairs) => pairs.next(),
        Err(error) => return Lowered::failed(syntax_error::diagnostic(&error, text)),
    };
    let mut lowerer = Lowerer::new(Positions::SAME, None);
    let job = root.and_then(|root| lowerer.envelope(root));
    lowerer.lowered(job)
}

/// How positions in the text pest parsed map to positions in the file. pest may see the file,
/// a piece of it, or an outline of it with some values left out.
pub(super) enum Positions {
    /// pest parsed the piece of the file that starts here (0 for the whole file).
    Piece(usize),
    /// pest parsed an outline: each pair says that positions from the first on move by the
    /// second, in increasing order.
    Outline(Vec<(usize, usize)>),
}

impl Positions {
    /// pest parsed the file itself.
    const SAME: Self = Self::Piece(0);

    fn map(&self, position: usize) -> usize {
        match self {
            Self::Piece(start) => start + position,
            Self::Outline(moves) => {
                let passed = moves.partition_point(|&(from, _)| from <= position);
                position + passed.checked_sub(1).map_or(0, |last| moves[last].1)
            }
        }
    }
}

/// The keys of one object that are known, each with its key span and value.
struct Fields<'i> {
    open_brace: Span,
    object: &'static str,
    found: Vec<(&'static str, Span, Pair<'i, Rule>)>,
}

impl<'i> Fields<'i> {
    /// Removes a key, returning its span and value.
    fn take(&mut self, key: &str) -> Option<(Span, Pair<'i, Rule>)> {
        let index = self.found.iter().position(|(k, ..)| *k == key)?;
        let (_, span, value) = self.found.swap_remove(index);
        Some((span, value))
    }
}

/// Lowers pest's pairs, checking every rule of the schema.
pub(super) struct Lowerer<'t> {
    diagnostics: Vec<Diagnostic>,
    complete: bool,
    positions: Positions,
    /// The tasks array pest did not see, to be lowered task by task when its stand-in is met.
    elided: Option<Elided<'t>>,
    /// Set when a piece of the file could not be lowered on its own; the result is then void.
    abandoned: bool,
    /// The schema URI the file declares, once read: the task options need 1-1-0.
    schema_uri: String,
}

impl<'t> Lowerer<'t> {
    pub(super) fn new(positions: Positions, elided: Option<Elided<'t>>) -> Self {
        Self {
            diagnostics: Vec::new(),
            complete: true,
            positions,
            elided,
            abandoned: false,
            schema_uri: String::new(),
        }
    }

    /// The schema URI the file declares, or an empty string before it is read.
    pub(super) fn schema_uri(&self) -> &str {
        &self.schema_uri
    }

    fn lowered(self, job: Option<Job>) -> Lowered {
        Lowered {
            job,
            diagnostics: self.diagnostics,
            complete: self.complete,
        }
    }

    /// What was lowered, unless some piece could not be, or the elided tasks array was never
    /// met (so the exact path would have found another one).
    pub(super) fn finish(self, job: Option<Job>) -> Option<Lowered> {
        let whole = !self.abandoned && self.elided.is_none();
        whole.then(|| self.lowered(job))
    }

    /// Lowers one task that pest parses on its own: `task` is the text of the task, which
    /// starts at `start` in the file.
    pub(super) fn task_piece(&mut self, task: &str, start: usize) -> Option<Task> {
        let Some(pair) = JsonParser::parse(Rule::document, task)
            .ok()
            .and_then(|mut pairs| pairs.next())
        else {
            // `serde_json` took this text as JSON and pest does not: only the whole file can
            // be explained the exact path's way.
            self.abandon();
            return None;
        };
        let outer = std::mem::replace(&mut self.positions, Positions::Piece(start));
        let task = self.task(pair);
        self.positions = outer;
        task
    }

    /// Voids the result: a piece of the file cannot be lowered on its own.
    pub(super) fn abandon(&mut self) {
        self.abandoned = true;
    }

    /// Adds problems found outside pest's pairs, in the order found.
    pub(super) fn report_all(&mut self, diagnostics: &mut Vec<Diagnostic>) {
        self.diagnostics.append(diagnostics);
    }

    pub(super) fn envelope(&mut self, root: Pair<'_, Rule>) -> Option<Job> {
        let mut fields = self.object(
            root,
            "a factfile object",
            "the factfile",
            schema::envelope_keys(),
        )?;
        let schema = self
            .required(&mut fields, "schema")
            .and_then(|pair| self.schema(&pair));
        if let Some(schema) = &schema {
            self.schema_uri.clone_from(&schema.value);
        }
        let data = self.required(&mut fields, "data")?;
        let mut fields = self.object(data, "an object", "the job", schema::job_keys())?;
        let name = self
            .required(&mut fields, "name")
            .and_then(|pair| self.template(&pair));
        let tasks = self
            .required(&mut fields, "tasks")
            .map(|pair| self.tasks(pair));
        let schema = schema?;
        let constraints = fields
            .take("constraints")
            .map(|(key, pair)| self.constraints(&schema.value, key, pair));
        let timeout = self
            .option(&mut fields, "timeoutSeconds")
            .and_then(|pair| self.number(&pair, rules::TIMEOUT, "timeoutSeconds"));
        let pools = self
            .option(&mut fields, "pools")
            .map(|pair| self.pools(pair))
            .unwrap_or_default();
        Some(Job {
            schema,
            name: name?,
            tasks: tasks?,
            declares_constraints: constraints.is_some(),
            constraints: constraints.unwrap_or_default(),
            timeout,
            pools,
        })
    }

    /// Job-level constraints, which schema 1-0-0 does not have.
    fn constraints(
        &mut self,
        schema_uri: &str,
        key: Span,
        pair: Pair<'_, Rule>,
    ) -> Vec<Spanned<String>> {
        let since = rules::CONSTRAINTS_SINCE;
        if !rules::schema_allows(schema_uri, since) {
            let problem = Problem::NeedsNewerSchema {
                key: "constraints",
                version: since.name(),
            };
            let hint = format!("hint: declare `\"schema\": \"{}\"`", since.uri());
            self.report(
                Diagnostic::new(problem)
                    .at(key, "not in schema 1-0-0")
                    .note(hint),
            );
        }
        let Some(items) = self.array(pair, "an array of strings") else {
            return Vec::new();
        };
        let constraints: Vec<Spanned<String>> =
            items.filter_map(|item| self.plain(&item)).collect();
        constraints
    }

    fn schema(&mut self, pair: &Pair<'_, Rule>) -> Option<Spanned<String>> {
        let uri = self.plain(pair)?;
        if !rules::is_iglu_uri(&uri.value) {
            let problem = Problem::SchemaUri {
                uri: uri.value.clone(),
            };
            self.report(
                Diagnostic::new(problem)
                    .at(uri.span, "not `iglu:vendor/name/format/1-0-0`")
                    .note(format!("hint: factfiles use `{}`", crate::ir::SCHEMA_1_0_0)),
            );
        }
        Some(uri)
    }

    fn tasks(&mut self, pair: Pair<'_, Rule>) -> Vec<Task> {
        let start = pair.as_span().start();
        let is_array = pair.as_rule() == Rule::array;
        if let Some(elided) = self
            .elided
            .take_if(|elided| is_array && elided.stands_at(start))
        {
            return region::tasks(self, elided);
        }
        let Some(items) = self.array(pair, "an array of tasks") else {
            return Vec::new();
        };
        let tasks: Vec<Task> = items.filter_map(|item| self.task(item)).collect();
        tasks
    }

    /// Lowers one task; a task whose name is unusable is left out (and the job marked
    /// incomplete), while other broken fields are reported and replaced by empty values.
    fn task(&mut self, pair: Pair<'_, Rule>) -> Option<Task> {
        let span = self.span(&pair);
        let Some(mut fields) = self.object(pair, "a task object", "the task", schema::task_keys())
        else {
            self.complete = false;
            return None;
        };
        let open = fields.open_brace;
        let name = self
            .required(&mut fields, "name")
            .and_then(|p| self.template(&p));
        let executor = self
            .required(&mut fields, "executor")
            .and_then(|p| self.plain(&p));
        let command = self
            .required(&mut fields, "command")
            .and_then(|p| self.template(&p));
        let arguments = self
            .required(&mut fields, "arguments")
            .map(|p| self.templates(p));
        let depends_on = self
            .required(&mut fields, "dependsOn")
            .map(|p| self.templates(p));
        let on_result = self
            .required(&mut fields, "onResult")
            .and_then(|p| self.on_result(p));
        let retry = self
            .option(&mut fields, "retry")
            .and_then(|p| self.retry(p));
        let timeout = self
            .option(&mut fields, "timeoutSeconds")
            .and_then(|p| self.number(&p, rules::TIMEOUT, "timeoutSeconds"));
        let env = self
            .option(&mut fields, "env")
            .map(|p| self.env(p))
            .unwrap_or_default();
        let working_directory = self
            .option(&mut fields, "workingDirectory")
            .and_then(|p| self.template(&p));
        let pool = self
            .option(&mut fields, "pool")
            .and_then(|p| self.plain(&p));
        let Some(name) = name else {
            self.complete = false;
            return None;
        };
        let empty_codes = || Spanned::new(Vec::new(), span);
        Some(Task {
            name,
            executor: executor
                .unwrap_or_else(|| Spanned::new(rules::DEFAULT_EXECUTOR.to_owned(), open)),
            command: command.unwrap_or_else(|| Template::literal(String::new(), open)),
            arguments: arguments.unwrap_or_default(),
            depends_on: depends_on.unwrap_or_default(),
            on_result: on_result.unwrap_or_else(|| OnResult {
                terminate_job_with_success: empty_codes(),
                continue_job: Spanned::new(
                    rules::DEFAULT_CONTINUE_CODES
                        .map(|code| Spanned::new(code, open))
                        .to_vec(),
                    open,
                ),
            }),
            retry,
            timeout,
            env,
            working_directory,
            pool,
        })
    }

    /// Takes an optional key of schema 1-1-0, reporting it when the schema is older.
    fn option<'i>(&mut self, fields: &mut Fields<'i>, key: &'static str) -> Option<Pair<'i, Rule>> {
        let (key_span, value) = fields.take(key)?;
        let since = rules::OPTIONS_SINCE;
        if !rules::schema_allows(&self.schema_uri, since) {
            let problem = Problem::NeedsNewerSchema {
                key,
                version: since.name(),
            };
            let hint = format!("hint: declare `\"schema\": \"{}\"`", since.uri());
            self.report(
                Diagnostic::new(problem)
                    .at(key_span, "not in schema 1-0-0")
                    .note(hint),
            );
        }
        Some(value)
    }

    fn retry(&mut self, pair: Pair<'_, Rule>) -> Option<Retry> {
        let span = self.span(&pair);
        let mut fields = self.object(pair, "an object", "`retry`", schema::retry_keys())?;
        let attempts = self.required(&mut fields, "attempts");
        let attempts = attempts.and_then(|p| self.count(&p, rules::ATTEMPTS, "attempts"));
        let mut number = |lowerer: &mut Self, key, bounds| {
            let (_, value) = fields.take(key)?;
            lowerer.number(&value, bounds, key)
        };
        let delay = number(self, "delaySeconds", rules::DELAY);
        let backoff = number(self, "backoff", rules::BACKOFF);
        let max_delay = number(self, "maxDelaySeconds", rules::DELAY);
        let on_codes = match fields.take("onCodes") {
            Some((_, value)) => {
                let codes = self.codes(value)?;
                if codes.value.is_empty() {
                    let problem = Problem::OptionValue {
                        option: "onCodes",
                        found: "[]".to_owned(),
                        expected: "at least one exit code",
                    };
                    let diagnostic = Diagnostic::new(problem)
                        .at(codes.span, "no code")
                        .note("hint: leave `onCodes` out to retry on every failure");
                    self.report(diagnostic);
                    return None;
                }
                Some(codes)
            }
            None => None,
        };
        Some(Retry {
            span,
            attempts: attempts?,
            delay,
            backoff,
            max_delay,
            on_codes,
        })
    }

    /// `"env": {"NAME": "value"}`, in file order.
    fn env(&mut self, pair: Pair<'_, Rule>) -> Vec<EnvVar> {
        let members = self.members(pair, "an object of variables");
        let mut env = Vec::with_capacity(members.len());
        for (name, value) in members {
            if let Some(value) = self.template(&value) {
                env.push(EnvVar { name, value });
            }
        }
        env
    }

    /// `"pools": {"name": size}`, in file order.
    fn pools(&mut self, pair: Pair<'_, Rule>) -> Vec<Pool> {
        let members = self.members(pair, "an object of pool sizes");
        let mut pools = Vec::with_capacity(members.len());
        for (name, size) in members {
            match self.count(&size, rules::POOL_SIZE, "pools") {
                Some(size) => pools.push(Pool { name, size }),
                // A task naming this pool cannot be judged.
                None => self.complete = false,
            }
        }
        pools
    }

    /// The members of an object whose keys are the user's names, each key decoded once; a
    /// repeated key is reported and left out.
    fn members<'i>(
        &mut self,
        pair: Pair<'i, Rule>,
        expected: &'static str,
    ) -> Vec<(Spanned<String>, Pair<'i, Rule>)> {
        if pair.as_rule() != Rule::object {
            self.wrong_type(&pair, expected);
            return Vec::new();
        }
        let mut members: Vec<(Spanned<String>, Pair<'i, Rule>)> = Vec::new();
        let mut pairs = pair.into_inner();
        while let (Some(key), Some(value)) = (pairs.next(), pairs.next()) {
            let Some(name) = self.plain(&key) else {
                continue;
            };
            if let Some((first, _)) = members.iter().find(|(seen, _)| seen.value == name.value) {
                let problem = Problem::DuplicateKey { key: name.value };
                let first = first.span;
                self.report(
                    Diagnostic::new(problem)
                        .at(name.span, "duplicate key")
                        .also(first, "first used here"),
                );
                continue;
            }
            members.push((name, value));
        }
        members
    }

    /// A number of seconds or a factor within `bounds`.
    fn number(
        &mut self,
        pair: &Pair<'_, Rule>,
        bounds: Bounds,
        option: &'static str,
    ) -> Option<Spanned<Decimal>> {
        if pair.as_rule() != Rule::number {
            self.wrong_type(pair, "a number");
            return None;
        }
        let span = self.span(pair);
        let text = pair.as_str();
        rules::option_number(text, 1, bounds, option, text)
            .map(|number| Spanned::new(number, span))
            .map_err(|problem| self.report(Diagnostic::new(problem).at(span, "this value")))
            .ok()
    }

    /// A whole number within `bounds`.
    fn count(
        &mut self,
        pair: &Pair<'_, Rule>,
        bounds: Bounds,
        option: &'static str,
    ) -> Option<Spanned<u32>> {
        if pair.as_rule() != Rule::number {
            self.wrong_type(pair, "a whole number");
            return None;
        }
        let span = self.span(pair);
        rules::option_count(pair.as_str(), bounds, option)
            .map(|count| Spanned::new(count, span))
            .map_err(|problem| self.report(Diagnostic::new(problem).at(span, "this value")))
            .ok()
    }

    fn on_result(&mut self, pair: Pair<'_, Rule>) -> Option<OnResult> {
        let mut fields = self.object(pair, "an object", "`onResult`", schema::on_result_keys())?;
        let terminate = self.required(&mut fields, "terminateJobWithSuccess");
        let terminate = terminate.and_then(|p| self.codes(p));
        let continue_job = self.required(&mut fields, "continueJob");
        let continue_job = continue_job.and_then(|p| self.codes(p));
        Some(OnResult {
            terminate_job_with_success: terminate?,
            continue_job: continue_job?,
        })
    }

    fn codes(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<Vec<Spanned<u16>>>> {
        let span = self.span(&pair);
        let items = self.array(pair, "an array of exit codes")?;
        let mut codes = Vec::new();
        let mut all_valid = true;
        for item in items {
            let item_span = self.span(&item);
            if item.as_rule() != Rule::number {
                self.wrong_type(&item, "an integer exit code");
                all_valid = false;
                continue;
            }
            match rules::exit_code(item.as_str()) {
                Ok(code) => codes.push(Spanned::new(code, item_span)),
                Err(problem) => {
                    self.report(Diagnostic::new(problem).at(item_span, "this code"));
                    all_valid = false;
                }
            }
        }
        // A list with a bad code is not empty, and must not be linted as if it were.
        all_valid.then(|| Spanned::new(codes, span))
    }

    fn templates(&mut self, pair: Pair<'_, Rule>) -> Vec<Template> {
        let Some(items) = self.array(pair, "an array of strings") else {
            return Vec::new();
        };
        let templates: Vec<Template> = items.filter_map(|item| self.template(&item)).collect();
        templates
    }

    fn template(&mut self, pair: &Pair<'_, Rule>) -> Option<Template> {
        let raw = self.string(pair)?;
        let start = self.start(pair);
        string::template(raw, start, &mut self.diagnostics)
            .map_err(|diagnostic| self.report(diagnostic))
            .ok()
    }

    fn plain(&mut self, pair: &Pair<'_, Rule>) -> Option<Spanned<String>> {
        let raw = self.string(pair)?;
        let span = self.span(pair);
        string::plain(raw, self.start(pair))
            .map(|value| Spanned::new(value, span))
            .map_err(|diagnostic| self.report(diagnostic))
            .ok()
    }

    /// The raw literal of a string value, or a wrong-type diagnostic.
    fn string<'i>(&mut self, pair: &Pair<'i, Rule>) -> Option<&'i str> {
        if pair.as_rule() == Rule::string {
            Some(pair.as_str())
        } else {
            self.wrong_type(pair, "a string");
            None
        }
    }

    fn array<'i>(
        &mut self,
        pair: Pair<'i, Rule>,
        expected: &'static str,
    ) -> Option<pest::iterators::Pairs<'i, Rule>> {
        if pair.as_rule() == Rule::array {
            Some(pair.into_inner())
        } else {
            self.wrong_type(&pair, expected);
            None
        }
    }

    /// Reads an object's members, reporting unknown and duplicate keys.
    fn object<'i>(
        &mut self,
        pair: Pair<'i, Rule>,
        expected: &'static str,
        object: &'static str,
        known: &[&'static str],
    ) -> Option<Fields<'i>> {
        if pair.as_rule() != Rule::object {
            self.wrong_type(&pair, expected);
            return None;
        }
        let open_brace = Span::at(self.start(&pair));
        let mut fields = Fields {
            open_brace,
            object,
            found: Vec::with_capacity(known.len()),
        };
        let mut members = pair.into_inner();
        while let (Some(key), Some(value)) = (members.next(), members.next()) {
            let key_span = self.span(&key);
            let name = match string::plain(key.as_str(), self.start(&key)) {
                Ok(name) => name,
                Err(diagnostic) => {
                    self.report(diagnostic);
                    continue;
                }
            };
            let Some(&known_key) = known.iter().find(|k| **k == name) else {
                let suggestion = suggest::closest(&name, known.iter().copied());
                let problem = Problem::UnknownKey { key: name, object };
                let label = format!("not a key of {object}");
                self.report(
                    Diagnostic::new(problem)
                        .at(key_span, label)
                        .suggest(suggestion)
                        .note(format!("{object} has the keys {}", backticked(known))),
                );
                continue;
            };
            if let Some((_, first, _)) = fields.found.iter().find(|(k, ..)| *k == known_key) {
                let problem = Problem::DuplicateKey { key: name };
                let first = *first;
                self.report(
                    Diagnostic::new(problem)
                        .at(key_span, "duplicate key")
                        .also(first, "first used here"),
                );
                continue;
            }
            fields.found.push((known_key, key_span, value));
        }
        Some(fields)
    }

    /// Takes a required key's value, or reports it missing at the object's opening brace.
    fn required<'i>(
        &mut self,
        fields: &mut Fields<'i>,
        key: &'static str,
    ) -> Option<Pair<'i, Rule>> {
        if let Some((_, value)) = fields.take(key) {
            return Some(value);
        }
        let problem = Problem::MissingKey {
            key,
            object: fields.object,
        };
        let label = format!("`{key}` is missing from this object");
        self.report(Diagnostic::new(problem).at(fields.open_brace, label));
        None
    }

    fn wrong_type(&mut self, pair: &Pair<'_, Rule>, expected: &'static str) {
        let found = match pair.as_rule() {
            Rule::object => "an object",
            Rule::array => "an array",
            Rule::string => "a string",
            Rule::number => "a number",
            _ if pair.as_str() == "null" => "`null`",
            _ => "a boolean",
        };
        let problem = Problem::WrongType { expected, found };
        let span = self.span(pair);
        self.report(Diagnostic::new(problem).at(span, format!("expected {expected}")));
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Where `pair` starts in the file.
    fn start(&self, pair: &Pair<'_, Rule>) -> usize {
        self.positions.map(pair.as_span().start())
    }

    /// Where `pair` is in the file.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = pair.as_span();
        Span::new(
            self.positions.map(span.start()),
            self.positions.map(span.end()),
        )
    }
}

fn backticked(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    quoted.join(", ")
}
