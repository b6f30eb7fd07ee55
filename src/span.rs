//! Byte ranges into a source text, and values that remember where they were written.

use std::ops::Range;

/// A half-open byte range `start..end` into one source text.
///
/// Offsets are `u32` to keep the IR small; sources larger than 4 GiB are refused when read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// The span `start..end`.
    ///
    /// Callers guarantee `start <= end <= u32::MAX`, which holds for every offset into a
    /// [`Source`](crate::source::Source) because larger texts are refused.
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end, "span {start}..{end} is reversed");
        Self {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// The span of the single byte at `offset`.
    pub fn at(offset: usize) -> Self {
        Self::new(offset, offset + 1)
    }

    /// The range as `usize`, for slicing the source text.
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A value together with the span of the text it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Pairs `value` with `span`.
    pub fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }
}
