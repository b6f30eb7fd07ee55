//! Finding comments and anchoring each to the construct it describes.
//!
//! The lowering reports every token of the file in order, with its construct. The text between
//! two tokens is only spaces and comments (the grammar allows nothing else there), so no second
//! lexer is needed: a `#` in such a gap always starts a comment.

use crate::comment::{Anchor, Comment, Place};
use crate::span::Span;

/// Collects the comments between the tokens it is shown.
pub(super) struct Collector<'t> {
    text: &'t str,
    /// The end of the last token shown.
    cursor: usize,
    /// The construct of the last token shown; `None` before the first.
    previous: Option<Anchor>,
    comments: Vec<Comment>,
}

impl<'t> Collector<'t> {
    pub(super) fn new(text: &'t str) -> Self {
        Self {
            text,
            cursor: 0,
            previous: None,
            comments: Vec::new(),
        }
    }

    /// Takes note of the next token, which belongs to `anchor`.
    pub(super) fn token(&mut self, span: Span, anchor: Anchor) {
        self.gap(span.start as usize, anchor);
        self.cursor = span.end as usize;
        self.previous = Some(anchor);
    }

    /// Skips the text up to `at` (text that did not parse, where a `#` may be inside a
    /// string): no comment is looked for there.
    pub(super) fn skip_to(&mut self, at: usize) {
        self.cursor = self.cursor.max(at);
        self.previous = None;
    }

    /// The comments found, in file order, once the last token has been shown.
    pub(super) fn finish(mut self) -> Vec<Comment> {
        self.gap(self.text.len(), Anchor::End);
        self.comments
    }

    /// Anchors the comments between the last token and `end`, where a token of `next` starts.
    ///
    /// A comment on a line of its own describes what follows it. A comment after code describes
    /// that code, unless the code goes on after it (a list broken over lines): then it moves to
    /// its own line before the construct, so it never ends up inside one.
    fn gap(&mut self, end: usize, next: Anchor) {
        let mut from = self.cursor;
        while let Some(found) = self.text[from..end].find('#') {
            let start = from + found;
            let line_end = self.text[start..end]
                .find('\n')
                .map_or(end, |len| start + len);
            let line_start = self.text[..start].rfind('\n').map_or(0, |at| at + 1);
            let own_line = self.text[line_start..start].trim().is_empty();
            let (place, anchor) = match self.previous {
                Some(previous) if !own_line && previous != next => (Place::After, previous),
                _ => (Place::Before, next),
            };
            self.comments.push(Comment {
                text: self.text[start + 1..line_end].trim_end().to_owned(),
                span: Span::new(start, line_end),
                place,
                anchor,
            });
            from = line_end;
        }
    }
}
