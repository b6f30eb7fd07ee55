//! Byte offsets into a document and LSP positions (a line, and a column counted in the units of
//! the negotiated encoding), both ways.
//!
//! Lines end at `\n`, `\r\n` or a lone `\r`, as the protocol says. A column past the end of its
//! line means the end of the line, and a line past the end of the text the end of the text, so
//! that no position a client sends can make an offset outside the text.

use lsp_types::{Position, PositionEncodingKind, Range};

use crate::span::Span;

/// What a column counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Bytes of UTF-8.
    Utf8,
    /// UTF-16 code units: the protocol's default.
    Utf16,
    /// Unicode scalar values.
    Utf32,
}

impl Encoding {
    /// The encoding to use, from the client's `general.positionEncodings` in order of its
    /// preference: UTF-8 or UTF-32 when it offers them before UTF-16 (no conversion for the
    /// first, one unit per character for the second), UTF-16 otherwise.
    pub(crate) fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Self {
        offered
            .unwrap_or_default()
            .iter()
            .find_map(|kind| match kind.as_str() {
                "utf-8" => Some(Self::Utf8),
                "utf-16" => Some(Self::Utf16),
                "utf-32" => Some(Self::Utf32),
                _ => None,
            })
            .unwrap_or(Self::Utf16)
    }

    /// The protocol's name for it.
    pub(crate) fn kind(self) -> PositionEncodingKind {
        match self {
            Self::Utf8 => PositionEncodingKind::UTF8,
            Self::Utf16 => PositionEncodingKind::UTF16,
            Self::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    /// How many units `c` takes.
    fn units(self, c: char) -> usize {
        match self {
            Self::Utf8 => c.len_utf8(),
            Self::Utf16 => c.len_utf16(),
            Self::Utf32 => 1,
        }
    }
}

/// Where each line of a text starts, so a position is found without reading the lines before.
#[derive(Debug)]
pub(crate) struct LineIndex {
    /// The byte offset of each line's first byte; the first is 0.
    starts: Vec<usize>,
    /// Whether each line is all ASCII, where every encoding counts bytes.
    ascii: Vec<bool>,
    encoding: Encoding,
}

impl LineIndex {
    /// Indexes `text` for columns in `encoding`.
    pub(crate) fn new(text: &str, encoding: Encoding) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut ascii = Vec::new();
        let mut line_ascii = true;
        for (at, &byte) in bytes.iter().enumerate() {
            let ends_line = byte == b'\n' || (byte == b'\r' && bytes.get(at + 1) != Some(&b'\n'));
            line_ascii &= byte.is_ascii();
            if ends_line {
                starts.push(at + 1);
                ascii.push(line_ascii);
                line_ascii = true;
            }
        }
        ascii.push(line_ascii);
        Self {
            starts,
            ascii,
            encoding,
        }
    }

    /// The position of byte `offset` (clamped to the text, and moved back to the start of the
    /// character it falls inside).
    pub(crate) fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&start| start <= offset) - 1;
        let start = self.starts[line];
        let column = if self.ascii[line] {
            offset - start
        } else {
            text[start..offset]
                .chars()
                .map(|c| self.encoding.units(c))
                .sum()
        };
        Position::new(saturate(line), saturate(column))
    }

    /// The range of `span`.
    pub(crate) fn range(&self, text: &str, span: Span) -> Range {
        Range::new(
            self.position(text, span.start as usize),
            self.position(text, span.end as usize),
        )
    }

    /// The byte offset of `position`.
    pub(crate) fn offset(&self, text: &str, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return text.len();
        };
        let end = self.line_end(text, position.line as usize);
        let wanted = position.character as usize;
        if self.ascii[position.line as usize] {
            return (start + wanted).min(end);
        }
        let mut counted = 0;
        for (at, c) in text[start..end].char_indices() {
            if counted >= wanted {
                return start + at;
            }
            counted += self.encoding.units(c);
        }
        end
    }

    /// The byte offset just before the line break that ends `line` (or the end of the text).
    fn line_end(&self, text: &str, line: usize) -> usize {
        let Some(&next) = self.starts.get(line + 1) else {
            return text.len();
        };
        let content = &text[self.starts[line]..next];
        let without_break = content
            .strip_suffix("\r\n")
            .or_else(|| content.strip_suffix('\n'))
            .or_else(|| content.strip_suffix('\r'))
            .unwrap_or(content);
        self.starts[line] + without_break.len()
    }
}

/// `value` as the protocol's `u32`, the largest one for a value it cannot hold.
fn saturate(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use lsp_types::{Position, PositionEncodingKind};

    use super::{Encoding, LineIndex};

    /// Every character boundary of `text` (but the middle of a `\r\n`, which no position
    /// names) goes to a position and back to itself.
    fn round_trips(text: &str, encoding: Encoding) {
        let index = LineIndex::new(text, encoding);
        let boundaries = text.char_indices().chain([(text.len(), ' ')]);
        for (offset, _) in boundaries
            .filter(|&(at, _)| !text[..at].ends_with('\r') || !text[at..].starts_with('\n'))
        {
            let position = index.position(text, offset);
            assert_eq!(
                index.offset(text, position),
                offset,
                "{text:?} at {offset} ({position:?}) in {encoding:?}"
            );
        }
    }

    #[test]
    fn columns_count_the_units_of_the_encoding() {
        // é is 2 bytes, 1 UTF-16 unit; 😀 is 4 bytes, 2 units; 漢 is 3 bytes, 1 unit.
        let text = "task \"é😀漢\" x";
        let x = text.len() - 1;
        let expect = [
            (Encoding::Utf8, 17),
            (Encoding::Utf16, 12),
            (Encoding::Utf32, 11),
        ];
        for (encoding, column) in expect {
            let index = LineIndex::new(text, encoding);
            assert_eq!(
                index.position(text, x),
                Position::new(0, column),
                "{encoding:?}"
            );
            assert_eq!(index.offset(text, Position::new(0, column)), x);
            round_trips(text, encoding);
        }
    }

    #[test]
    fn lines_end_at_lf_crlf_and_a_lone_cr() {
        let text = "a\r\nbé\rc\n😀d\r\n";
        let index = LineIndex::new(text, Encoding::Utf16);
        assert_eq!(
            index.position(text, text.find('b').unwrap()),
            Position::new(1, 0)
        );
        assert_eq!(
            index.position(text, text.find('c').unwrap()),
            Position::new(2, 0)
        );
        assert_eq!(
            index.position(text, text.find('d').unwrap()),
            Position::new(3, 2)
        );
        assert_eq!(index.position(text, text.len()), Position::new(4, 0));
        for encoding in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            round_trips(text, encoding);
        }
    }

    #[test]
    fn positions_outside_the_text_are_clamped() {
        let text = "ab\r\ncd";
        let index = LineIndex::new(text, Encoding::Utf16);
        // Past the end of line 0: before its `\r\n`.
        assert_eq!(index.offset(text, Position::new(0, 99)), 2);
        assert_eq!(index.offset(text, Position::new(7, 0)), text.len());
        assert_eq!(index.position(text, 99), Position::new(1, 2));
        // Inside 😀's two UTF-16 units: the character's start.
        let text = "😀";
        let index = LineIndex::new(text, Encoding::Utf16);
        assert_eq!(index.offset(text, Position::new(0, 1)), 4);
        assert_eq!(index.position(text, 2), Position::new(0, 0));
    }

    #[test]
    fn the_client_s_first_known_encoding_wins() {
        let offered = |kinds: &[&str]| {
            let kinds: Vec<PositionEncodingKind> = kinds
                .iter()
                .map(|kind| PositionEncodingKind::from((*kind).to_owned()))
                .collect();
            Encoding::negotiate(Some(&kinds))
        };
        assert_eq!(Encoding::negotiate(None), Encoding::Utf16);
        assert_eq!(offered(&["utf-8", "utf-16"]), Encoding::Utf8);
        assert_eq!(offered(&["utf-32"]), Encoding::Utf32);
        assert_eq!(offered(&["x-unknown", "utf-16", "utf-8"]), Encoding::Utf16);
    }
}
