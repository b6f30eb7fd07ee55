//! Streaming a task's output live, line by line, each line prefixed with the task's name.
//!
//! Memory stays flat whatever a task prints: a stream is read through a fixed buffer, and a
//! line longer than the buffer is passed on in pieces, cut at a character boundary.

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::Mutex;

use codespan_reporting::term::termcolor::Color;

use crate::render::{colour_codes, painted};

/// Bytes read at a time; also the longest piece of a line written at once.
const CHUNK: usize = 64 * 1024;

/// Where a line goes, and how it looks there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    /// A task's stdout, to factotum's stdout.
    Stdout,
    /// A task's stderr, to factotum's stderr (the text in red when coloured).
    Stderr,
}

/// The `[name] ` prefix of a task's lines, built once.
#[derive(Clone, Debug)]
pub(crate) struct Prefix {
    plain: String,
    /// The codes around a stderr line's text, when coloured.
    stderr_colour: Option<(String, String)>,
}

impl Prefix {
    pub(crate) fn new(task: &str, coloured: bool) -> Self {
        let plain = format!("[{}] ", painted(task, Color::Cyan, coloured));
        let stderr_colour = coloured.then(|| colour_codes(Color::Red));
        Self {
            plain,
            stderr_colour,
        }
    }

    /// Writes one whole line under the stream's lock, so lines of parallel tasks never mix.
    fn write_line(&self, stream: Stream, text: &str) {
        let mut line = String::with_capacity(self.plain.len() + text.len() + 12);
        line.push_str(&self.plain);
        match &self.stderr_colour {
            Some((start, reset)) if stream == Stream::Stderr => {
                line.push_str(start);
                line.push_str(text);
                line.push_str(reset);
            }
            _ => line.push_str(text),
        }
        line.push('\n');
        // A closed stdout (`factotum run … | head`) must not stop the task: keep draining.
        let _ = match stream {
            Stream::Stdout => io::stdout().lock().write_all(line.as_bytes()),
            Stream::Stderr => io::stderr().lock().write_all(line.as_bytes()),
        };
    }
}

/// The last characters of what a task printed on one stream, for webhooks: the lines joined
/// with `\n`, as Factotum 0.7 captured them, cut to a limit so memory stays bounded.
#[derive(Debug)]
pub struct Tail {
    text: String,
    limit: usize,
    lines: usize,
}

impl Tail {
    /// A tail that keeps at most `limit` characters.
    pub fn new(limit: usize) -> Self {
        Self {
            text: String::new(),
            limit,
            lines: 0,
        }
    }

    fn push_line(&mut self, line: &str) {
        if self.lines > 0 {
            self.text.push('\n');
        }
        self.text.push_str(line);
        self.lines += 1;
        // Cut back now and then rather than per line; a character is at most four bytes.
        if self.text.len() > 8 * self.limit + CHUNK {
            self.text = last_chars(&self.text, self.limit).to_owned();
        }
    }

    /// The captured text cut to the limit, or `None` when nothing was printed, which 0.7
    /// reported by leaving the key out.
    pub fn text(&self) -> Option<&str> {
        (!self.text.is_empty()).then(|| last_chars(&self.text, self.limit))
    }
}

/// The last `count` characters of `text`.
fn last_chars(text: &str, count: usize) -> &str {
    if count == 0 {
        return "";
    }
    match text.char_indices().rev().nth(count - 1) {
        Some((start, _)) => &text[start..],
        None => text,
    }
}

/// Copies `source` to `stream` line by line until end of file, keeping a tail when asked.
pub(crate) fn pump(source: impl Read, stream: Stream, prefix: &Prefix, tail: Option<&Mutex<Tail>>) {
    let emit = |text: &str| {
        prefix.write_line(stream, text);
        if let Some(tail) = tail {
            if let Ok(mut tail) = tail.lock() {
                tail.push_line(text);
            }
        }
    };
    let mut reader = BufReader::with_capacity(CHUNK, source);
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let buffer = match reader.fill_buf() {
            Ok([]) => break,
            Ok(buffer) => buffer,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let (used, line_end) = match buffer.iter().position(|&b| b == b'\n') {
            Some(newline) => (newline + 1, Some(newline)),
            None => (buffer.len(), None),
        };
        pending.extend_from_slice(&buffer[..line_end.unwrap_or(used)]);
        reader.consume(used);
        if line_end.is_some() {
            emit(&text_of(strip_cr(&pending)));
            pending.clear();
        } else if pending.len() >= CHUNK {
            let cut = char_boundary(&pending);
            emit(&text_of(&pending[..cut]));
            pending.drain(..cut);
        }
    }
    if !pending.is_empty() {
        emit(&text_of(&pending));
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Text that is not UTF-8 is shown with replacement characters rather than dropped.
fn text_of(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Where to cut a long piece so a multi-byte character is not split (the whole piece when it
/// ends cleanly or is not UTF-8 anyway).
fn char_boundary(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Err(error) if error.error_len().is_none() && error.valid_up_to() > 0 => error.valid_up_to(),
        _ => bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::{CHUNK, Tail, char_boundary};

    #[test]
    fn tails_keep_the_last_characters_of_the_joined_lines() {
        let mut tail = Tail::new(20);
        assert_eq!(tail.text(), None);
        for number in 1..=5000 {
            tail.push_line(&number.to_string());
        }
        assert_eq!(tail.text(), Some("\n4997\n4998\n4999\n5000"));
        let mut none = Tail::new(0);
        none.push_line("x");
        assert_eq!(none.text(), Some(""));
        let mut unicode = Tail::new(2);
        unicode.push_line("añé");
        assert_eq!(unicode.text(), Some("ñé"));
    }

    #[test]
    fn cuts_between_characters() {
        let mut bytes = vec![b'a'; CHUNK - 1];
        bytes.extend_from_slice("é".as_bytes());
        assert_eq!(char_boundary(&bytes[..CHUNK]), CHUNK - 1);
        assert_eq!(char_boundary(&bytes), CHUNK + 1);
        assert_eq!(char_boundary(b"\xff\xfe"), 2);
    }
}
