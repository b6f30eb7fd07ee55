//! Excerpts of very long lines, so a diagnostic in a minified factfile shows a window around its
//! labels instead of a line of megabytes.
//!
//! [`Clipped`] is a codespan-reporting file made of just the labelled lines, each cut to windows
//! around its labels and joined by `…`, while line and column numbers stay those of the
//! original file.

use std::collections::BTreeSet;
use std::ops::Range;

use codespan_reporting::files::{Error, Files, SimpleFile};

/// Lines longer than this many bytes are clipped.
const MAX_LINE: usize = 160;
/// Bytes kept on each side of a label in a clipped line.
const CONTEXT: usize = 40;
/// A multi-line label shows at most this many lines.
const MAX_LABEL_LINES: usize = 8;
const ELLIPSIS: &str = "…";

/// The labelled lines of a file, long ones clipped.
pub(super) struct Clipped<'a> {
    name: &'a str,
    original: &'a str,
    text: String,
    lines: Vec<Line>,
}

/// One line of the clipped text and where it came from.
struct Line {
    /// Offset of the line in the clipped text.
    start: usize,
    /// 0-based line index in the original file.
    original_index: usize,
    /// Offset of the line in the original file.
    original_start: usize,
    /// Stretches of the original line kept, with their offset in the clipped text.
    pieces: Vec<(Range<usize>, usize)>,
}

impl<'a> Clipped<'a> {
    /// A clipped view for labels at `ranges`, or `None` when no labelled line is long.
    pub(super) fn new(
        file: &SimpleFile<&'a str, &'a str>,
        ranges: &[Range<usize>],
    ) -> Option<Self> {
        let original: &str = file.source();
        let mut line_indexes = BTreeSet::new();
        for range in ranges {
            let first = file.line_index((), range.start).ok()?;
            let last = file.line_index((), range.end).ok()?;
            line_indexes.extend(first..=last.min(first + MAX_LABEL_LINES));
        }
        let content = |index: usize| -> Option<Range<usize>> {
            let range = file.line_range((), index).ok()?;
            let line = &original[range.clone()];
            let trimmed = line.trim_end_matches(['\n', '\r']);
            Some(range.start..range.start + trimmed.len())
        };
        if line_indexes
            .iter()
            .all(|&i| content(i).is_some_and(|r| r.len() <= MAX_LINE))
        {
            return None;
        }
        let mut clipped = Self {
            name: file.name(),
            original,
            text: String::new(),
            lines: Vec::with_capacity(line_indexes.len()),
        };
        for index in line_indexes {
            let line = content(index)?;
            clipped.push_line(original, index, line, ranges);
        }
        Some(clipped)
    }

    fn push_line(
        &mut self,
        original: &str,
        index: usize,
        line: Range<usize>,
        ranges: &[Range<usize>],
    ) {
        let windows = if line.len() <= MAX_LINE {
            vec![line.clone()]
        } else {
            windows(original, &line, ranges)
        };
        let start = self.text.len();
        let mut pieces = Vec::with_capacity(windows.len());
        let mut previous_end = line.start;
        for window in windows {
            if window.start > previous_end {
                self.text.push_str(ELLIPSIS);
            }
            pieces.push((window.clone(), self.text.len()));
            self.text.push_str(&original[window.clone()]);
            previous_end = window.end;
        }
        if previous_end < line.end {
            self.text.push_str(ELLIPSIS);
        }
        self.text.push('\n');
        self.lines.push(Line {
            start,
            original_index: index,
            original_start: line.start,
            pieces,
        });
    }

    /// Where an original byte range lies in the clipped text.
    pub(super) fn map(&self, range: &Range<usize>) -> Range<usize> {
        let start = self.to_clipped(range.start);
        start..self.to_clipped(range.end).max(start)
    }

    fn to_clipped(&self, offset: usize) -> usize {
        let pieces = self.lines.iter().flat_map(|line| &line.pieces);
        let mut nearest = 0;
        for (piece, clipped_start) in pieces {
            if piece.contains(&offset) || piece.end == offset {
                return clipped_start + (offset - piece.start);
            }
            if piece.start <= offset {
                nearest = clipped_start + piece.len();
            }
        }
        nearest
    }

    fn line(&self, index: usize) -> Result<&Line, Error> {
        self.lines.get(index).ok_or(Error::LineTooLarge {
            given: index,
            max: self.lines.len().saturating_sub(1),
        })
    }
}

impl Line {
    /// The original offset of a byte of the clipped text (the nearest kept one for `…`).
    fn to_original(&self, offset: usize) -> usize {
        let mut original = self.original_start;
        for (piece, clipped_start) in &self.pieces {
            if offset >= *clipped_start {
                original = piece.start + (offset - clipped_start).min(piece.len());
            }
        }
        original
    }
}

/// Windows of `CONTEXT` bytes around each label on a long line, merged where they overlap and
/// snapped to character boundaries.
fn windows(original: &str, line: &Range<usize>, ranges: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut windows: Vec<Range<usize>> = ranges
        .iter()
        .filter(|range| range.start <= line.end && range.end >= line.start)
        .map(|range| {
            let mut start = range
                .start
                .max(line.start)
                .saturating_sub(CONTEXT)
                .max(line.start);
            let mut end = (range.end.min(line.end) + CONTEXT).min(line.end);
            while !original.is_char_boundary(start) {
                start -= 1;
            }
            while !original.is_char_boundary(end) {
                end += 1;
            }
            start..end
        })
        .collect();
    windows.sort_by_key(|window| window.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(windows.len());
    for window in windows {
        match merged.last_mut() {
            Some(last) if window.start <= last.end => last.end = last.end.max(window.end),
            _ => merged.push(window),
        }
    }
    merged
}

impl<'a> Files<'a> for Clipped<'_> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, (): ()) -> Result<&'a str, Error> {
        Ok(self.name)
    }

    fn source(&'a self, (): ()) -> Result<&'a str, Error> {
        Ok(&self.text)
    }

    fn line_index(&'a self, (): (), byte_index: usize) -> Result<usize, Error> {
        Ok(self
            .lines
            .partition_point(|line| line.start <= byte_index)
            .saturating_sub(1))
    }

    fn line_range(&'a self, (): (), line_index: usize) -> Result<Range<usize>, Error> {
        let start = self.line(line_index)?.start;
        let end = self
            .lines
            .get(line_index + 1)
            .map_or(self.text.len(), |next| next.start);
        Ok(start..end)
    }

    fn line_number(&'a self, (): (), line_index: usize) -> Result<usize, Error> {
        Ok(self.line(line_index)?.original_index + 1)
    }

    fn column_number(
        &'a self,
        (): (),
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, Error> {
        let line = self.line(line_index)?;
        let original = line.to_original(byte_index);
        Ok(self.original[line.original_start..original].chars().count() + 1)
    }
}
