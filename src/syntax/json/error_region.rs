//! Words a syntax error the way pest does on the whole file, from a short piece of it.
//!
//! pest parses JSON without looking back: where it stops and what it tries there depend only
//! on the text from the start of the value it is in and on the brackets open around that value.
//! Its error location (the start of the farthest rule that failed) is also within that value,
//! since parsing any value fails some rule at or after its start. So pest is started on the
//! text from the last value that begins before the error, behind a made-up prefix that opens
//! the same brackets (`{"":` for an object, `[` for an array, `[0,` when the value is not the
//! first item), and the positions it reports are moved back into the file.
//!
//! `serde_json` finds the error first: JSON has one grammar, so both stop at the first byte
//! that cannot continue the text, and a value starting before it is a value pest reads too.

use pest::Parser as _;

use super::depth::OutsideStrings;
use super::grammar::{JsonParser, Rule};
use super::syntax_error::{self, Failure};
use crate::diag::Diagnostic;

/// How far past the position `serde_json` reports pest is given text: no token pest tries is
/// longer, so pest stops before the piece ends.
const LOOKAHEAD: usize = 16;

/// The syntax error of `text`, which `serde_json` reported as `error`, worded from a piece of
/// the text; `None` when the piece would be most of the file or cannot be trusted.
pub(super) fn diagnostic(text: &str, error: &serde_json::Error) -> Option<Diagnostic> {
    let stop = position(text, error)?;
    // The value must start before the byte `serde_json` stopped at, which may be one past the
    // byte at fault.
    let (start, prefix) = last_value_start(text, stop.saturating_sub(1))?;
    let mut end = (stop + LOOKAHEAD).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut piece = prefix;
    let moved_by = piece.len();
    piece.push_str(&text[start..end]);
    pest::set_error_detail(true);
    let Err(error) = JsonParser::parse(Rule::document, &piece) else {
        return None;
    };
    let failure = Failure::of(&error)
        .moved(|position| position.checked_sub(moved_by).map(|offset| start + offset))?;
    // Stopping where the piece was cut off says nothing about the file.
    if end < text.len() && failure.position() + LOOKAHEAD / 2 >= end {
        return None;
    }
    Some(syntax_error::explain(&failure, text))
}

/// The byte offset `serde_json` reports `error` at: one past the byte it stopped on, or the
/// end of the text.
fn position(text: &str, error: &serde_json::Error) -> Option<usize> {
    let line_start = match error.line() {
        0 => return None,
        1 => 0,
        line => text.match_indices('\n').nth(line - 2)?.0 + 1,
    };
    Some((line_start + error.column()).min(text.len()))
}

/// What comes right before a value: the brackets and separators pest has just read.
#[derive(Clone, Copy)]
enum After {
    /// The `[` of an array: the value is its first item.
    Open,
    /// The `,` between two items of an array.
    Comma,
    /// The `:` of an object's member.
    Colon,
}

/// The last value of `text` that starts before `before` (the whole text, the root, excepted)
/// and the prefix that opens the brackets open at its start; the text up to `before` is
/// assumed to be JSON.
fn last_value_start(text: &str, before: usize) -> Option<(usize, String)> {
    let mut open: Vec<u8> = Vec::new();
    let mut strings = OutsideStrings::default();
    let mut pending: Option<After> = None;
    let mut last: Option<(usize, After)> = None;
    let mut open_at_last: Vec<u8> = Vec::new();
    for (offset, &byte) in text.as_bytes()[..before].iter().enumerate() {
        if !strings.outside(byte) {
            continue;
        }
        if let Some(after) = pending
            && !matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
        {
            pending = None;
            last = Some((offset, after));
            open_at_last.clone_from(&open);
        }
        match byte {
            b'[' => {
                open.push(byte);
                pending = Some(After::Open);
            }
            b'{' => open.push(byte),
            b']' | b'}' => {
                open.pop();
            }
            b',' if open.last() == Some(&b'[') => pending = Some(After::Comma),
            b':' if open.last() == Some(&b'{') => pending = Some(After::Colon),
            _ => {}
        }
    }
    let (start, after) = last?;
    let mut prefix = String::with_capacity(open_at_last.len() * 4 + 2);
    for &bracket in &open_at_last {
        prefix.push_str(if bracket == b'{' { "{\"\":" } else { "[" });
    }
    if matches!(after, After::Comma) {
        prefix.push_str("0,");
    }
    Some((start, prefix))
}
