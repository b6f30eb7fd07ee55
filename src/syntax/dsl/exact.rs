//! The exact path: pest parses one item at a time and explains each syntax error in words. It
//! defines what the language accepts; the fast path must agree with it.
//!
//! After a syntax error it goes on at the next line that starts an item (`job`, `schema`,
//! `constraint` or `task`), so that an editor still sees the rest of the file: every syntax
//! error is reported, and the items that parse are lowered. The item that failed is left out,
//! so the job is marked incomplete; with an error among its diagnostics it is never run or
//! drawn.

use pest::Parser as _;

use super::grammar::{DslParser, Rule};
use super::lower::{Lowerer, Token};
use super::syntax_error;
use crate::span::Span;
use crate::syntax::Parsed;

/// Parses and lowers `text` with the pest grammar.
pub(super) fn parse(text: &str) -> Parsed {
    let mut lowerer = Lowerer::new(text);
    let mut tokens: Vec<Token> = Vec::new();
    let mut offset = 0;
    loop {
        let rest = &text[offset..];
        let mut pairs = match DslParser::parse(Rule::item, rest) {
            Ok(pairs) => pairs,
            Err(error) => {
                let diagnostic = syntax_error::diagnostic(&error, text, offset);
                let failed_at = diagnostic
                    .primary
                    .as_ref()
                    .map_or(offset, |label| label.span.start as usize);
                let Some(next) = next_item_line(text, offset, failed_at) else {
                    lowerer.syntax_error(diagnostic, text.len());
                    break;
                };
                lowerer.syntax_error(diagnostic, next);
                offset = next;
                continue;
            }
        };
        // `item` always yields exactly one pair: an item, or the end of the input.
        let Some(item) = pairs.next() else {
            break;
        };
        if item.as_rule() == Rule::EOI {
            break;
        }
        let end = offset + item.as_span().end();
        tokens.clear();
        // The item's leaves are its tokens; the rules around them (a statement's line) only
        // group them. Token rules are atomic, so a pair with no inner pairs is a token.
        tokens.extend(item.into_inner().flatten().filter_map(|pair| {
            let span = pair.as_span();
            let is_token = pair.clone().into_inner().next().is_none();
            is_token.then(|| Token {
                rule: pair.as_rule(),
                span: Span::new(offset + span.start(), offset + span.end()),
            })
        }));
        lowerer.item(&tokens);
        offset = end;
    }
    lowerer.finish()
}

/// Where parsing may go on after the item that follows `offset` failed at `failed_at`: the
/// first line, from the one `failed_at` is on, whose first word starts an item other than the
/// one that failed. A line never starts inside a string (strings end on their line), and a comment line
/// starts with `#`, so such a word is always a keyword.
fn next_item_line(text: &str, offset: usize, failed_at: usize) -> Option<usize> {
    let start = first_token(text, offset);
    let line_start = text[..failed_at].rfind('\n').map_or(0, |at| at + 1);
    let mut lines = text[line_start..].split_inclusive('\n');
    let mut at = line_start;
    lines.find_map(|line| {
        let line_at = at;
        at += line.len();
        let indent = line.len() - line.trim_start().len();
        let word_at = line_at + indent;
        let word = line[indent..]
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .next()
            .unwrap_or_default();
        let starts_item = matches!(word, "job" | "schema" | "constraint" | "task");
        (starts_item && word_at > start).then_some(word_at)
    })
}

/// Where the first token at or after `offset` starts: past spaces and comments.
fn first_token(text: &str, mut offset: usize) -> usize {
    loop {
        let rest = &text[offset..];
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        offset += rest.len() - trimmed.len();
        if !trimmed.starts_with('#') {
            return offset;
        }
        offset += trimmed.find('\n').unwrap_or(trimmed.len());
    }
}
