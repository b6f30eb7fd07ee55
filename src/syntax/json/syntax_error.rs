//! Turns a pest failure into a diagnostic in words: "expected `,` or `}`, found `]`".
//!
//! Rule names never reach the user. The expected tokens come from pest's parse attempts at the
//! farthest position it reached, summarised ("a value" instead of ten possible first tokens).

use pest::error::{Error, InputLocation};

use super::grammar::Rule;
use super::string;
use crate::diag::{Diagnostic, Problem};
use crate::span::Span;

/// Where pest gave up and what it would have accepted there.
pub(super) struct Failure {
    /// Where the farthest rule that failed began.
    location: usize,
    /// The farthest position pest reached and the tokens it tried there, when pest was asked
    /// for that detail.
    farthest: Option<(usize, Vec<String>)>,
}

impl Failure {
    /// The failure `error` describes, in positions of the text pest parsed.
    pub(super) fn of(error: &Error<Rule>) -> Self {
        let location = match error.location {
            InputLocation::Pos(position) | InputLocation::Span((position, _)) => position,
        };
        let farthest = error.parse_attempts().map(|attempts| {
            let tokens = attempts
                .expected_tokens()
                .iter()
                .map(ToString::to_string)
                .collect();
            (attempts.max_position, tokens)
        });
        Self { location, farthest }
    }

    /// The same failure with every position moved by `map`, or `None` if one cannot be.
    pub(super) fn moved(self, map: impl Fn(usize) -> Option<usize>) -> Option<Self> {
        let farthest = match self.farthest {
            Some((position, tokens)) => Some((map(position)?, tokens)),
            None => None,
        };
        Some(Self {
            location: map(self.location)?,
            farthest,
        })
    }

    /// Where the diagnostic points, unless the failure is in a string literal: pest may place
    /// the error at the start of the last token that matched, while its parse attempts know
    /// the farthest position reached, which is where the expected tokens belong.
    pub(super) fn position(&self) -> usize {
        self.location
            .max(self.farthest.as_ref().map_or(0, |(position, _)| *position))
    }
}

/// The diagnostic for `error`, raised while parsing `text`.
pub(super) fn diagnostic(error: &Error<Rule>, text: &str) -> Diagnostic {
    explain(&Failure::of(error), text)
}

/// The diagnostic for `failure`, whose positions are in `text`.
pub(super) fn explain(failure: &Failure, text: &str) -> Diagnostic {
    let location = failure.location;
    // A string token that fails leaves pest at its opening quote; the decoder says why.
    if text[location..].starts_with('"')
        && let Some(diagnostic) = string_diagnostic(text, location)
    {
        return diagnostic;
    }
    let position = failure.position();
    let found = text[position..].chars().next();
    let before = text[..position].trim_end_matches([' ', '\t', '\n', '\r']);
    if matches!(found, Some(']' | '}')) && before.ends_with(',') {
        let comma = before.len() - 1;
        return Diagnostic::new(Problem::TrailingComma)
            .at(Span::at(comma), "remove this comma")
            .also(Span::at(position), "the list ends here");
    }
    let expected = failure.farthest.as_ref().map_or_else(
        || "valid JSON".to_owned(),
        |(_, tokens)| describe_expected(tokens),
    );
    let span = found.map_or(Span::new(position, position), |c| {
        Span::new(position, position + c.len_utf8())
    });
    let mut diagnostic = Diagnostic::new(Problem::JsonSyntax {
        expected,
        found: describe_found(found),
    })
    .at(span, "unexpected here");
    if found.is_some_and(|c| c.is_ascii_digit()) && before.ends_with('0') {
        diagnostic = diagnostic.note("hint: JSON numbers cannot have leading zeros");
    } else if found == Some('\'') {
        diagnostic = diagnostic.note("hint: JSON strings use double quotes");
    } else if let Some(c) = found.filter(|c| c.is_control())
        && before.rfind('"').is_some()
        && c != '\u{7f}'
    {
        diagnostic = diagnostic
            .note("hint: inside a string, write control characters as escapes such as `\\n`");
    }
    diagnostic
}

/// Explains why the string literal starting at `start` is not a token: it is never closed, or
/// it holds something the decoder refuses (a raw control character, a bad escape).
fn string_diagnostic(text: &str, start: usize) -> Option<Diagnostic> {
    let body = &text[start + 1..];
    let mut escaped = false;
    let close = body.char_indices().find_map(|(offset, c)| {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(offset),
            _ => {}
        }
        None
    });
    let Some(close) = close else {
        let problem = Problem::JsonSyntax {
            expected: "`\"` to close the string".to_owned(),
            found: "end of file".to_owned(),
        };
        return Some(
            Diagnostic::new(problem)
                .at(Span::new(text.len(), text.len()), "the file ends here")
                .also(Span::at(start), "the string starts here"),
        );
    };
    let raw = &text[start..=start + 1 + close];
    string::plain(raw, start).err()
}

/// Names what pest would have accepted, collapsing the start of any value to "a value".
/// pest spells literal tokens as themselves and character ranges as `a..z`.
fn describe_expected(tokens: &[String]) -> String {
    let has = |wanted: &str| tokens.iter().any(|token| token == wanted);
    let starts_value = has("{") && has("[") && has("\"");
    let mut words: Vec<String> = Vec::new();
    if starts_value {
        words.push("a value".to_owned());
    }
    for token in tokens {
        let word = match token.as_str() {
            // Whitespace may always come next; saying so helps nobody.
            "" | " " | "\t" | "\n" | "\r" => continue,
            "{" | "[" | "\"" | "-" | "0" | "true" | "false" | "null" if starts_value => continue,
            "\"" => "a string".to_owned(),
            "\\" => "an escape".to_owned(),
            range if range.contains("..") => {
                if starts_value {
                    continue;
                }
                "a digit".to_owned()
            }
            "0" => "a digit".to_owned(),
            // `e` and `E` both start an exponent; naming one is enough.
            "E" => continue,
            other => format!("`{other}`"),
        };
        if !words.contains(&word) {
            words.push(word);
        }
    }
    match words.as_slice() {
        // Only the end of input (pest's `EOI`, which has no token) could come next.
        [] => "end of file".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Names the character found, or the end of the file.
fn describe_found(found: Option<char>) -> String {
    match found {
        None => "end of file".to_owned(),
        Some('\u{feff}') => "a byte order mark (U+FEFF)".to_owned(),
        Some(c) if c.is_control() || c.is_whitespace() => format!("U+{:04X}", c as u32),
        Some('`') => "a backtick".to_owned(),
        Some(c) => format!("`{c}`"),
    }
}
