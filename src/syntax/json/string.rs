//! Decoding JSON string literals into templates, shared by the fast and the exact path.
//!
//! One decoder for both paths means both agree on every escape, surrogate and control
//! character, and placeholders get source spans even when the string spells escapes.

use crate::diag::{Diagnostic, Problem};
use crate::span::Span;
use crate::syntax::decoded::Decoded;
use crate::template::Template;

/// Decodes the literal `raw` (quotes included) found at byte `start` of the source, and parses
/// its placeholders. Escape errors are returned; placeholder errors go to `diagnostics`.
pub(super) fn template(
    raw: &str,
    start: usize,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Template, Diagnostic> {
    let span = Span::new(start, start + raw.len());
    Ok(decode(raw, start)?.into_template(span, start + 1, diagnostics))
}

/// Decodes the literal `raw` (quotes included) without looking for placeholders.
pub(super) fn plain(raw: &str, start: usize) -> Result<String, Diagnostic> {
    decode(raw, start).map(Decoded::into_text)
}

fn decode(raw: &str, start: usize) -> Result<Decoded<'_>, Diagnostic> {
    let body = raw
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .ok_or_else(|| {
            let problem = Problem::BadEscape {
                detail: "the string is not closed".to_owned(),
            };
            Diagnostic::new(problem).at(Span::new(start, start + raw.len()), "this string")
        })?;
    let body_start = start + 1;
    if let Some((offset, c)) = body.char_indices().find(|&(_, c)| c < ' ') {
        let at = body_start + offset;
        let detail = format!(
            "control character U+{:04X} must be written as an escape",
            c as u32
        );
        // An empty span: the character itself may be a line break, which would not show.
        let span = Span::new(at, at);
        return Err(Diagnostic::new(Problem::BadEscape { detail }).at(span, "here"));
    }
    if !body.contains('\\') {
        return Ok(Decoded::verbatim(body));
    }
    let mut decoded = Decoded::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        let at = body_start + offset;
        if c != '\\' {
            decoded.push(c, at);
            continue;
        }
        let (value, len) = match chars.peek().map(|&(_, escaped)| escaped) {
            Some('u') => unicode_escape(body, offset, at)?,
            Some(escaped) => (
                simple_escape(escaped).ok_or_else(|| {
                    let detail = format!("`\\{escaped}` is not a JSON escape");
                    Diagnostic::new(Problem::BadEscape { detail })
                        .at(Span::new(at, at + 1 + escaped.len_utf8()), "unknown escape")
                })?,
                2,
            ),
            None => {
                let detail = "a backslash ends the string".to_owned();
                return Err(Diagnostic::new(Problem::BadEscape { detail }).at(Span::at(at), "here"));
            }
        };
        // Escapes are ASCII, so their length in bytes is their length in characters.
        for _ in 1..len {
            chars.next();
        }
        decoded.push(value, at);
    }
    Ok(decoded.end_at(body_start + body.len()))
}

/// The character a one-letter escape such as `\\n` stands for.
fn simple_escape(letter: char) -> Option<char> {
    Some(match letter {
        '"' => '"',
        '\\' => '\\',
        '/' => '/',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        _ => return None,
    })
}

/// Reads `\uXXXX` (and its low surrogate partner) at `offset` of `body`; returns the character
/// and the length of the escape text.
fn unicode_escape(body: &str, offset: usize, at: usize) -> Result<(char, usize), Diagnostic> {
    let unit = |from: usize| -> Option<u32> {
        let digits = body.get(from + 2..from + 6)?;
        (body.get(from..from + 2) == Some("\\u") && digits.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(digits, 16).ok())
            .flatten()
    };
    let bad = |detail: String, len: usize| {
        Diagnostic::new(Problem::BadEscape { detail }).at(Span::new(at, at + len), "here")
    };
    let Some(first) = unit(offset) else {
        return Err(bad("`\\u` needs four hexadecimal digits".to_owned(), 2));
    };
    match first {
        0xD800..=0xDBFF => match unit(offset + 6) {
            Some(second @ 0xDC00..=0xDFFF) => {
                let value = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                char::from_u32(value)
                    .map(|c| (c, 12))
                    .ok_or_else(|| bad(format!("`\\u{first:04X}` is not a character"), 12))
            }
            _ => Err(bad(
                format!(
                    "lone surrogate `\\u{first:04X}` (a high surrogate must be followed by a low one)"
                ),
                6,
            )),
        },
        0xDC00..=0xDFFF => Err(bad(
            format!("lone surrogate `\\u{first:04X}` (a low surrogate must follow a high one)"),
            6,
        )),
        _ => char::from_u32(first)
            .map(|c| (c, 6))
            .ok_or_else(|| bad(format!("`\\u{first:04X}` is not a character"), 6)),
    }
}
