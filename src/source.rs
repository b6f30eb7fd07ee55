//! Reading job files: the text and the name a user gave for it.

use std::io::Read as _;
use std::path::Path;

use crate::diag::{Diagnostic, Problem};
use crate::span::Span;

/// One input text and the name used for it in diagnostics (the path as typed, or `<stdin>`).
#[derive(Clone, Debug)]
pub struct Source {
    /// The path as given on the command line.
    pub name: String,
    /// The whole text; always valid UTF-8.
    pub text: String,
}

/// The largest text whose offsets fit a [`Span`](crate::span::Span).
const MAX_SOURCE_BYTES: usize = u32::MAX as usize;

impl Source {
    /// A source from text already in memory.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    /// Reads a file named on the command line, where `-` means standard input (named
    /// `<stdin>`). Failures are reported as by [`Source::read`].
    pub fn read_argument(path: &Path) -> (Self, Option<Diagnostic>) {
        if path != Path::new("-") {
            return Self::read(path);
        }
        let name = "<stdin>".to_owned();
        let mut bytes = Vec::new();
        match std::io::stdin().read_to_end(&mut bytes) {
            Ok(_) => Self::from_bytes(name, bytes),
            Err(error) => (Self::new(name, String::new()), Some(unreadable(&error))),
        }
    }

    /// Reads `path`. Every failure is a diagnostic, returned beside the text that could be
    /// shown: empty when the file could not be read, decoded lossily when it is not UTF-8.
    pub fn read(path: &Path) -> (Self, Option<Diagnostic>) {
        let name = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => Self::from_bytes(name, bytes),
            Err(error) => (Self::new(name, String::new()), Some(unreadable(&error))),
        }
    }

    /// Checks the size and encoding of bytes read from a file or standard input.
    pub fn from_bytes(name: String, bytes: Vec<u8>) -> (Self, Option<Diagnostic>) {
        if bytes.len() > MAX_SOURCE_BYTES {
            let problem = Problem::TooLarge { bytes: bytes.len() };
            return (
                Self::new(name, String::new()),
                Some(Diagnostic::new(problem)),
            );
        }
        match String::from_utf8(bytes) {
            Ok(text) => (Self { name, text }, None),
            Err(error) => {
                let bytes = error.as_bytes();
                let offset = error.utf8_error().valid_up_to();
                // The valid prefix is unchanged by lossy decoding, so `offset` still points
                // at the first bad byte (now a replacement character) in the shown text.
                let text = String::from_utf8_lossy(bytes).into_owned();
                let bad = text[offset..].chars().next().map_or(0, char::len_utf8);
                let diagnostic = Diagnostic::new(Problem::NotUtf8 { offset })
                    .at(Span::new(offset, offset + bad), "this byte is not UTF-8");
                (Self { name, text }, Some(diagnostic))
            }
        }
    }
}

/// The diagnostic for input that could not be read.
fn unreadable(error: &std::io::Error) -> Diagnostic {
    Diagnostic::new(Problem::Unreadable {
        reason: io_reason(error),
    })
}

/// The operating system's reason without Rust's `(os error N)` suffix, lower-cased like our
/// other messages.
fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = text
        .split(" (os error")
        .next()
        .unwrap_or(text.as_str())
        .to_owned();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}
