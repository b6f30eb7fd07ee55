//! Reading job files: the text and the name a user gave for it.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd as _;
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
        // Standard input as a file of its own, so that a redirected regular file is measured
        // like a named one.
        match std::io::stdin().as_fd().try_clone_to_owned() {
            Ok(stdin) => Self::from_file(name, File::from(stdin)),
            Err(error) => (Self::new(name, String::new()), Some(unreadable(&error))),
        }
    }

    /// Reads `path`. Every failure is a diagnostic, returned beside the text that could be
    /// shown: empty when the file could not be read or is too large, decoded lossily when it
    /// is not UTF-8.
    pub fn read(path: &Path) -> (Self, Option<Diagnostic>) {
        let name = path.display().to_string();
        match File::open(path) {
            Ok(file) => Self::from_file(name, file),
            Err(error) => (Self::new(name, String::new()), Some(unreadable(&error))),
        }
    }

    /// Reads an open file. A regular file says its size: one too large is refused before a
    /// byte is read. Pipes and devices do not, so their reading is bounded instead.
    fn from_file(name: String, file: File) -> (Self, Option<Diagnostic>) {
        let size = file
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|metadata| metadata.len());
        if let Some(bytes) = size.filter(|&bytes| bytes > MAX_SOURCE_BYTES as u64) {
            return too_large(name, Some(bytes));
        }
        Self::from_reader(name, file)
    }

    /// Reads `reader` to its end, stopping as soon as it gives more than the most a source may
    /// hold, so an endless stream (`/dev/zero`, a pipe) ends in a diagnostic, not in running out
    /// of memory.
    fn from_reader(name: String, reader: impl Read) -> (Self, Option<Diagnostic>) {
        match read_at_most(reader, MAX_SOURCE_BYTES) {
            Ok(Some(bytes)) => Self::from_bytes(name, bytes),
            Ok(None) => too_large(name, None),
            Err(error) => (Self::new(name, String::new()), Some(unreadable(&error))),
        }
    }

    /// Checks the size and encoding of bytes read from a file or standard input.
    pub fn from_bytes(name: String, bytes: Vec<u8>) -> (Self, Option<Diagnostic>) {
        if bytes.len() > MAX_SOURCE_BYTES {
            return too_large(name, Some(bytes.len() as u64));
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

/// An empty source named `name` and the diagnostic saying it is too large: `bytes` long when
/// its size is known, longer than the limit when reading stopped there.
fn too_large(name: String, bytes: Option<u64>) -> (Source, Option<Diagnostic>) {
    let problem = Problem::TooLarge { bytes };
    (
        Source::new(name, String::new()),
        Some(Diagnostic::new(problem)),
    )
}

/// All of `reader`, or `None` as soon as it has given more than `limit` bytes. At most `limit`
/// bytes are ever held: past them, one byte read aside says whether the input goes on.
fn read_at_most(mut reader: impl Read, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    let within = u64::try_from(limit).unwrap_or(u64::MAX);
    (&mut reader).take(within).read_to_end(&mut bytes)?;
    if bytes.len() < limit {
        return Ok(Some(bytes));
    }
    let mut probe = [0_u8; 1];
    loop {
        match reader.read(&mut probe) {
            Ok(0) => return Ok(Some(bytes)),
            Ok(_) => return Ok(None),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::read_at_most;

    /// A reader that fails after giving `before` bytes.
    struct FailingAfter {
        before: usize,
    }

    impl Read for FailingAfter {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            if self.before == 0 {
                return Err(std::io::Error::other("the device went away"));
            }
            let given = buffer.len().min(self.before);
            buffer[..given].fill(b'x');
            self.before -= given;
            Ok(given)
        }
    }

    #[test]
    fn an_endless_stream_stops_just_past_the_limit() {
        assert_eq!(read_at_most(std::io::repeat(0), 1000).unwrap(), None);
        // Taking more than one byte past the limit from the stream would be a bug too.
        let mut stream = std::io::repeat(b'x').take(5000);
        assert_eq!(read_at_most(&mut stream, 1000).unwrap(), None);
        assert_eq!(stream.limit(), 5000 - 1001);
    }

    #[test]
    fn the_limit_itself_is_allowed() {
        let exactly = read_at_most(std::io::repeat(b'x').take(1000), 1000).unwrap();
        assert_eq!(exactly.map(|bytes| bytes.len()), Some(1000));
        let one_more = read_at_most(std::io::repeat(b'x').take(1001), 1000).unwrap();
        assert_eq!(one_more, None);
        assert_eq!(
            read_at_most(std::io::empty(), 1000).unwrap(),
            Some(Vec::new())
        );
    }

    #[test]
    fn a_failing_read_is_an_error() {
        let error = read_at_most(FailingAfter { before: 10 }, 1000).unwrap_err();
        assert_eq!(error.to_string(), "the device went away");
    }
}
