//! The exact path: pest parses one item at a time and explains the first syntax error in
//! words. It defines what the language accepts; the fast path must agree with it.

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
                return Parsed {
                    job: None,
                    diagnostics: vec![syntax_error::diagnostic(&error, text, offset)],
                    complete: false,
                    comments: Vec::new(),
                };
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
