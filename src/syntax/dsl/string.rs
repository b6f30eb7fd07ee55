//! Decoding DSL string literals: `\"`, `\\`, `\n`, `\r`, `\t` and `\u{…}` are the escapes;
//! control characters must be escaped. Everything else, any Unicode, stands for itself.

use crate::diag::{Diagnostic, Problem};
use crate::span::Span;
use crate::syntax::decoded::Decoded;

/// The escapes, as a hint for whoever wrote an unknown one.
const ESCAPES_HINT: &str =
    "hint: the escapes are `\\\"`, `\\\\`, `\\n`, `\\r`, `\\t` and `\\u{…}` (1 to 6 hex digits)";

/// Decodes the literal `raw` (quotes included; the grammar guarantees both) found at byte
/// `start` of the source. The first problem is returned as a diagnostic.
pub(super) fn decode(raw: &str, start: usize) -> Result<Decoded<'_>, Diagnostic> {
    let body = &raw[1..raw.len() - 1];
    let body_start = start + 1;
    if !body.contains(['\\']) && !body.contains(char::is_control) {
        return Ok(Decoded::verbatim(body));
    }
    let mut decoded = Decoded::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((offset, c)) = chars.next() {
        let at = body_start + offset;
        if c.is_control() {
            return Err(control_character(c, at));
        }
        if c != '\\' {
            decoded.push(c, at);
            continue;
        }
        // The grammar pairs every backslash with the character after it.
        let (_, letter) = chars.next().unwrap_or((offset + 1, '\\'));
        let value = match letter {
            '"' => '"',
            '\\' => '\\',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let (value, len) = unicode_escape(&body[offset..], at)?;
                for _ in 2..len {
                    chars.next();
                }
                value
            }
            other => {
                let detail = format!("`\\{other}` is not an escape");
                let span = Span::new(at, at + 1 + other.len_utf8());
                return Err(Diagnostic::new(Problem::DslString { detail })
                    .at(span, "unknown escape")
                    .note(ESCAPES_HINT));
            }
        };
        decoded.push(value, at);
    }
    Ok(decoded.end_at(body_start + body.len()))
}

/// A raw control character, which would be invisible or break the line.
fn control_character(c: char, at: usize) -> Diagnostic {
    let escape = match c {
        '\t' => "`\\t`".to_owned(),
        '\r' => "`\\r`".to_owned(),
        _ => format!("`\\u{{{:X}}}`", c as u32),
    };
    let detail = format!(
        "control character U+{:04X} must be written as {escape}",
        c as u32
    );
    // An empty span: the character itself may not show.
    Diagnostic::new(Problem::DslString { detail }).at(Span::new(at, at), "here")
}

/// Reads `\u{XXXX}` at the start of `text` (written at source offset `at`); returns the
/// character and the length of the escape.
fn unicode_escape(text: &str, at: usize) -> Result<(char, usize), Diagnostic> {
    let digits_len = text
        .strip_prefix("\\u{")
        .and_then(|rest| rest.find('}'))
        .filter(|&len| (1..=6).contains(&len));
    let Some(len) = digits_len else {
        let detail = "`\\u` needs 1 to 6 hexadecimal digits in braces, as in `\\u{1F600}`";
        return Err(Diagnostic::new(Problem::DslString {
            detail: detail.to_owned(),
        })
        .at(Span::new(at, at + 2), "here"));
    };
    let escape_len = 3 + len + 1;
    let digits = &text[3..3 + len];
    let bad = |detail: String| {
        Diagnostic::new(Problem::DslString { detail }).at(Span::new(at, at + escape_len), "here")
    };
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(format!("`{digits}` is not a hexadecimal number")));
    }
    u32::from_str_radix(digits, 16)
        .ok()
        .and_then(char::from_u32)
        .map(|c| (c, escape_len))
        .ok_or_else(|| bad(format!("`\\u{{{digits}}}` is not a Unicode character")))
}
