//! The DSL front end: `.factotum` files into the IR, with their comments beside it.
//!
//! Two paths produce the same IR, as for JSON. Most files are right, so a hand-written reader
//! ([`fast`]) takes them first; at the first syntax error it gives up, and pest ([`exact`])
//! parses the file again and says what is wrong. Both hand each top-level item to the same
//! lowering ([`lower`]) as a list of tokens named by the grammar's rules.
//!
//! pest parses one item at a time (`item` in `grammar/dsl.pest`), starting where the last one
//! ended: its pairs cost about twelve times their text in memory, and held for one task at a
//! time they cost nothing. After a syntax error it goes on at the next line that starts an
//! item, so the rest of the file still yields tasks and diagnostics.

mod comments;
mod exact;
mod fast;
mod lower;
mod string;
mod syntax_error;

#[cfg(test)]
mod tests;

use super::Parsed;

/// The pest parser of `grammar/dsl.pest`.
#[allow(unreachable_pub, missing_docs)]
mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/dsl.pest"]
    pub(super) struct DslParser;
}

/// Parses and lowers a DSL file: the job, every problem (syntax errors included), and the
/// comments.
pub(crate) fn parse(text: &str) -> Parsed {
    fast::parse(text).unwrap_or_else(|| exact::parse(text))
}
