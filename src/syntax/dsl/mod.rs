//! The DSL front end: `.factotum` files into the IR, with their comments beside it.
//!
//! pest parses one top-level item at a time (`item` in `grammar/dsl.pest`), starting where the
//! last one ended, and each item is lowered before the next is parsed. pest's pairs cost about
//! twelve times their text in memory; held for one task at a time they cost nothing, and a job
//! of 100,000 tasks needs no more memory than its IR. The first syntax error ends the parse;
//! everything after it is unknown.

mod comments;
mod lower;
mod string;
mod syntax_error;

#[cfg(test)]
mod tests;

use pest::Parser as _;

use self::grammar::{DslParser, Rule};
use self::lower::Lowerer;
use super::Parsed;

/// The pest parser of `grammar/dsl.pest`.
#[allow(unreachable_pub, missing_docs)]
mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/dsl.pest"]
    pub(super) struct DslParser;
}

/// Parses and lowers a DSL file, reporting every problem after the first syntax error too,
/// when there is none.
pub(crate) fn parse(text: &str) -> Parsed {
    let mut lowerer = Lowerer::new(text);
    let mut offset = 0;
    loop {
        let rest = &text[offset..];
        let mut pairs = match DslParser::parse(Rule::item, rest) {
            Ok(pairs) => pairs,
            Err(error) => {
                let diagnostic = syntax_error::diagnostic(&error, text, offset);
                return Parsed {
                    job: None,
                    diagnostics: vec![diagnostic],
                    complete: false,
                    comments: Vec::new(),
                };
            }
        };
        // `item` always yields exactly one pair: an item, or the end of the input.
        let Some(pair) = pairs.next() else {
            break;
        };
        if pair.as_rule() == Rule::EOI {
            break;
        }
        let end = offset + pair.as_span().end();
        lowerer.item(pair, offset);
        offset = end;
    }
    lowerer.finish()
}
