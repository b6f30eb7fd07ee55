//! Streaming a task's output live, line by line, each line prefixed with the task's name.
//!
//! Memory stays flat whatever a task prints: a stream is read through a fixed buffer, and a
//! line longer than the buffer is passed on in pieces, cut at a character boundary.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd as _, BorrowedFd};
use std::os::unix::fs::MetadataExt as _;
use std::sync::{Mutex, OnceLock};

use codespan_reporting::term::termcolor::Color;

use crate::render::{colour_codes, painted};

/// Bytes read at a time; also the longest piece of a line written at once (a piece is cut
/// short by up to three bytes so as not to split a character).
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
        write_whole(stream, line.as_bytes());
    }
}

/// Writes `bytes` to factotum's stdout or stderr in one piece, under the stream's lock, or
/// under both locks when the two are one file (`2>&1`, a terminal): a pipe write over 4 KiB
/// is not atomic, so two writers with separate locks would cut each other's lines. A failure
/// (a closed pipe, a full disk) is ignored: nothing written may stop the executor from
/// managing its tasks, and `print!` would panic instead.
pub(crate) fn write_whole(stream: Stream, bytes: &[u8]) {
    let _ = match (stream, one_file()) {
        (Stream::Stdout, false) => io::stdout().lock().write_all(bytes),
        (Stream::Stderr, false) => io::stderr().lock().write_all(bytes),
        (stream, true) => {
            // Always stdout's lock first, so two writers never wait on each other.
            let mut stdout = io::stdout().lock();
            let mut stderr = io::stderr().lock();
            match stream {
                Stream::Stdout => stdout.write_all(bytes),
                Stream::Stderr => stderr.write_all(bytes),
            }
        }
    };
}

/// Whether stdout and stderr are the same open file (same device and inode), looked up once.
fn one_file() -> bool {
    static ONE_FILE: OnceLock<bool> = OnceLock::new();
    *ONE_FILE.get_or_init(|| {
        let stdout = identity(io::stdout().as_fd());
        stdout.is_some() && stdout == identity(io::stderr().as_fd())
    })
}

/// The device and inode of an open file, through a duplicate of its descriptor.
fn identity(fd: BorrowedFd<'_>) -> Option<(u64, u64)> {
    let file = File::from(fd.try_clone_to_owned().ok()?);
    let meta = file.metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

/// The last characters of what a task printed on one stream, for webhooks: the lines joined
/// with `\n`, as Factotum 0.7 captured them, cut to a limit so memory stays bounded.
#[derive(Debug)]
pub(crate) struct Tail {
    text: String,
    limit: usize,
    lines: usize,
}

impl Tail {
    /// A tail that keeps at most `limit` characters.
    pub(crate) fn new(limit: usize) -> Self {
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
        if self.text.len() > self.limit.saturating_mul(8).saturating_add(CHUNK) {
            self.text = last_chars(&self.text, self.limit).to_owned();
        }
    }

    /// The captured text cut to the limit, or `None` when nothing was printed, which 0.7
    /// reported by leaving the key out.
    pub(crate) fn text(&self) -> Option<&str> {
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
        if let Some(tail) = tail
            && let Ok(mut tail) = tail.lock()
        {
            tail.push_line(text);
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
        if pending.len() >= CHUNK {
            // A full piece: passed on now, unless the line ends right here and is whole.
            if buffer[0] == b'\n' {
                reader.consume(1);
                emit(&text_of(strip_cr(&pending)));
                pending.clear();
            } else {
                let cut = char_boundary(&pending);
                emit(&text_of(&pending[..cut]));
                pending.drain(..cut);
            }
            continue;
        }
        // Never more than fills the piece, so no piece is longer than CHUNK.
        let window = &buffer[..buffer.len().min(CHUNK - pending.len())];
        if let Some(newline) = window.iter().position(|&b| b == b'\n') {
            pending.extend_from_slice(&window[..newline]);
            reader.consume(newline + 1);
            emit(&text_of(strip_cr(&pending)));
            pending.clear();
        } else {
            let used = window.len();
            pending.extend_from_slice(window);
            reader.consume(used);
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
