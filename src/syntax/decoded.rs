//! A string literal after its escapes are decoded, with the way back to the source: every
//! front end decodes its own escapes, and all of them hand placeholders source spans this way.

use std::borrow::Cow;

use crate::diag::Diagnostic;
use crate::span::Span;
use crate::template::Template;

/// Decoded text and, when the literal spelled escapes, the source offset of each decoded byte
/// (plus one entry for the end), so positions inside it can be mapped back.
pub(super) struct Decoded<'a> {
    text: Cow<'a, str>,
    offsets: Option<Vec<usize>>,
}

impl<'a> Decoded<'a> {
    /// A literal without escapes: the text is the source.
    pub(super) fn verbatim(text: &'a str) -> Self {
        Self {
            text: Cow::Borrowed(text),
            offsets: None,
        }
    }

    /// An empty text to build with [`Decoded::push`], with room for `capacity` bytes.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            text: Cow::Owned(String::with_capacity(capacity)),
            offsets: Some(Vec::with_capacity(capacity + 1)),
        }
    }

    /// Appends `c`, written at source offset `at` (an escape's backslash for an escape).
    pub(super) fn push(&mut self, c: char, at: usize) {
        self.text.to_mut().push(c);
        if let Some(offsets) = &mut self.offsets {
            offsets.extend(std::iter::repeat_n(at, c.len_utf8()));
        }
    }

    /// Records where the literal's body ends, after the last [`Decoded::push`].
    pub(super) fn end_at(mut self, at: usize) -> Self {
        if let Some(offsets) = &mut self.offsets {
            offsets.push(at);
        }
        self
    }

    /// The decoded text.
    pub(super) fn into_text(self) -> String {
        self.text.into_owned()
    }

    /// Parses the placeholders of the text; `span` is the whole literal and `body_start` the
    /// source offset of its first character after the opening quote.
    pub(super) fn into_template(
        self,
        span: Span,
        body_start: usize,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Template {
        let text = self.text;
        match self.offsets {
            None => Template::parse(text, span, &|offset| body_start + offset, diagnostics),
            Some(offsets) => Template::parse(text, span, &|offset| offsets[offset], diagnostics),
        }
    }
}
