//! The fast path: a hand-written reader of the same grammar, for files without syntax errors.
//!
//! pest spends most of its time on bookkeeping for each rule it tries (stack and call limits,
//! backtracking, error tracking), which made checking a DSL job two and a half times slower
//! than checking the same job in JSON. This reader looks at each byte once and knows from the
//! first letters of a word which statement comes. It hands the lowering exactly the tokens pest
//! would, so the job, the diagnostics and the comments are the same; at the first thing it does
//! not expect it gives up, and the exact path parses the file again and explains. A
//! differential test keeps the two in agreement.

use super::grammar::Rule;
use super::lower::{Lowerer, Token, keyword_rule};
use crate::span::Span;
use crate::syntax::Parsed;
use crate::syntax::statement::Statement;

/// Parses and lowers `text`, or `None` at the first syntax error.
pub(super) fn parse(text: &str) -> Option<Parsed> {
    let mut lowerer = Lowerer::new(text);
    let mut reader = Reader {
        text: text.as_bytes(),
        at: 0,
        tokens: Vec::new(),
    };
    loop {
        reader.skip_trivia();
        if reader.at == text.len() {
            return Some(lowerer.finish());
        }
        reader.tokens.clear();
        reader.item()?;
        lowerer.item(&reader.tokens);
    }
}

/// A cursor over the text and the tokens of the item being read.
struct Reader<'t> {
    text: &'t [u8],
    at: usize,
    tokens: Vec<Token>,
}

impl Reader<'_> {
    /// `job`, `schema`, `constraint` or `task`, with what follows each.
    fn item(&mut self) -> Option<()> {
        match self.word() {
            b"job" => {
                self.keyword(Rule::kw_job);
                self.string(Rule::job_name)
            }
            b"schema" => {
                self.keyword(Rule::kw_schema);
                self.string(Rule::schema_uri)
            }
            b"constraint" => {
                self.keyword(Rule::kw_constraint);
                if self.word() == b"none" {
                    self.keyword(Rule::kw_none);
                    return Some(());
                }
                self.string(Rule::constraint_text)
            }
            b"timeout" => {
                self.keyword(Rule::kw_timeout);
                self.number(Rule::duration)
            }
            b"pool" => {
                self.keyword(Rule::kw_pool);
                self.string(Rule::pool_name)?;
                self.expect_keyword(b"size", Rule::kw_size)?;
                self.number(Rule::count)
            }
            b"task" => self.task(),
            _ => None,
        }
    }

    fn task(&mut self) -> Option<()> {
        self.keyword(Rule::kw_task);
        self.string(Rule::task_name)?;
        self.punctuation(b'{', Rule::open_brace)?;
        loop {
            self.skip_trivia();
            if self.punctuation(b'}', Rule::close_brace).is_some() {
                return Some(());
            }
            self.statement()?;
        }
    }

    fn statement(&mut self) -> Option<()> {
        let statement = Statement::from_keyword(self.word())?;
        self.keyword(keyword_rule(statement));
        match statement {
            Statement::After => self.list(|reader| reader.string(Rule::dependency)),
            Statement::Executor => self.string(Rule::executor_name),
            Statement::Run => {
                self.string(Rule::command)?;
                self.skip_trivia();
                if self.word() == b"with" {
                    self.keyword(Rule::kw_with);
                    self.list(|reader| reader.string(Rule::argument))?;
                }
                Some(())
            }
            Statement::Continue => {
                self.skip_trivia();
                if self.word() == b"never" {
                    self.keyword(Rule::kw_never);
                    return Some(());
                }
                self.codes()
            }
            Statement::Finish => self.codes(),
            Statement::Retry => {
                self.expect_keyword(b"attempts", Rule::kw_attempts)?;
                self.number(Rule::count)?;
                if self.word() == b"delay" {
                    self.keyword(Rule::kw_delay);
                    self.number(Rule::duration)?;
                }
                if self.word() == b"backoff" {
                    self.keyword(Rule::kw_backoff);
                    self.number(Rule::factor)?;
                }
                if self.word() == b"max" {
                    self.keyword(Rule::kw_max);
                    self.number(Rule::duration)?;
                }
                if self.word() == b"on" {
                    return self.codes();
                }
                Some(())
            }
            Statement::Timeout => self.number(Rule::duration),
            Statement::Env => self.list(|reader| {
                reader.string(Rule::env_name)?;
                reader.punctuation(b'=', Rule::equals)?;
                reader.string(Rule::env_value)
            }),
            Statement::Dir => self.string(Rule::directory),
            Statement::Pool => self.string(Rule::pool_name),
        }
    }

    /// The keyword `word`, which must come next.
    fn expect_keyword(&mut self, word: &[u8], rule: Rule) -> Option<()> {
        if self.word() != word {
            return None;
        }
        self.keyword(rule);
        Some(())
    }

    /// `on 0, 1`.
    fn codes(&mut self) -> Option<()> {
        self.skip_trivia();
        if self.word() != b"on" {
            return None;
        }
        self.keyword(Rule::kw_on);
        self.list(Reader::exit_code)
    }

    /// One or more items read by `item`, separated by commas.
    fn list(&mut self, item: impl Fn(&mut Self) -> Option<()>) -> Option<()> {
        item(self)?;
        loop {
            self.skip_trivia();
            if self.punctuation(b',', Rule::comma).is_none() {
                return Some(());
            }
            item(self)?;
        }
    }

    /// The word at the cursor (after spaces and comments), without moving past it.
    fn word(&mut self) -> &[u8] {
        self.skip_trivia();
        let len = self.text[self.at..]
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
            .unwrap_or(self.text.len() - self.at);
        &self.text[self.at..self.at + len]
    }

    /// Takes the word at the cursor, which the caller has read, as a keyword.
    fn keyword(&mut self, rule: Rule) {
        let len = self.word().len();
        self.push(rule, len);
    }

    /// A string literal on one line: the grammar's `quoted`.
    fn string(&mut self, rule: Rule) -> Option<()> {
        self.skip_trivia();
        if self.text.get(self.at) != Some(&b'"') {
            return None;
        }
        let mut escaped = false;
        for (offset, &byte) in self.text[self.at + 1..].iter().enumerate() {
            match byte {
                b'\n' => return None,
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    self.push(rule, offset + 2);
                    return Some(());
                }
                _ => {}
            }
        }
        None
    }

    /// An exit code: the grammar's `exit_code`.
    fn exit_code(&mut self) -> Option<()> {
        self.number(Rule::exit_code)
    }

    /// `-`? digits (`.` digits)?, then for a `duration` its unit: the grammar's `exit_code`,
    /// `count`, `factor` and `duration`.
    fn number(&mut self, rule: Rule) -> Option<()> {
        self.skip_trivia();
        let rest = &self.text[self.at..];
        let sign = usize::from(rest.first() == Some(&b'-'));
        let digits = |from: usize| {
            rest[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let whole = digits(sign);
        if whole == 0 {
            return None;
        }
        let mut len = sign + whole;
        if rest.get(len) == Some(&b'.') {
            let fraction = digits(len + 1);
            if fraction > 0 {
                len += 1 + fraction;
            }
        }
        if rule == Rule::duration {
            if !matches!(rest.get(len), Some(b's' | b'm' | b'h')) {
                return None;
            }
            len += 1;
            let word_goes_on = rest
                .get(len)
                .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if word_goes_on {
                return None;
            }
        }
        self.push(rule, len);
        Some(())
    }

    /// One punctuation character, if it is next.
    fn punctuation(&mut self, byte: u8, rule: Rule) -> Option<()> {
        self.skip_trivia();
        (self.text.get(self.at) == Some(&byte)).then(|| self.push(rule, 1))
    }

    /// Records a token of `len` bytes at the cursor and moves past it.
    fn push(&mut self, rule: Rule, len: usize) {
        let span = Span::new(self.at, self.at + len);
        self.tokens.push(Token { rule, span });
        self.at += len;
    }

    /// Spaces, tabs, line breaks and comments: the grammar's `WHITESPACE` and `COMMENT`.
    fn skip_trivia(&mut self) {
        while let Some(&byte) = self.text.get(self.at) {
            match byte {
                b' ' | b'\t' | b'\r' | b'\n' => self.at += 1,
                b'#' => {
                    self.at += self.text[self.at..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .unwrap_or(self.text.len() - self.at);
                }
                _ => return,
            }
        }
    }
}
