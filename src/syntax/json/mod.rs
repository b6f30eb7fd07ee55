//! The JSON front end: factfiles (schema 1-0-0) into the IR.
//!
//! Two paths produce the same IR. Most files are valid, so `serde_json` reads them first
//! ([`fast`]); when it gives up, the pest grammar ([`exact`]) gives a span to every key and
//! value and explains every problem. pest's pairs cost about twelve times the input in memory
//! and run at a tenth of `serde_json`'s speed, so pest only sees the pieces of the file that
//! need explaining ([`region`]): the envelope without its tasks, the tasks the fast path gives
//! up on, or the few bytes before a syntax error ([`error_region`]).

mod depth;
mod error_region;
mod exact;
mod fast;
mod region;
mod schema;
mod string;
mod syntax_error;

#[cfg(test)]
mod tests;

pub(crate) use exact::Lowered;

/// The pest parser of `grammar/json.pest`.
#[allow(unreachable_pub, missing_docs)]
mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/json.pest"]
    pub(super) struct JsonParser;
}

/// Lowers factfile JSON, taking the fast path when it can.
pub(crate) fn parse(text: &str) -> Lowered {
    match fast::parse(text) {
        Some((job, diagnostics)) => Lowered {
            job: Some(job),
            diagnostics,
            complete: true,
        },
        None => region::parse(text),
    }
}
