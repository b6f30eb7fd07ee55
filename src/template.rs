//! Mustache-style placeholders inside job strings, parsed at check time.
//!
//! Factotum 0.7 rendered with rust-mustache. We accept the part of mustache that makes sense for
//! flat variables: `{{ name }}`, `{{{ name }}}`, `{{& name }}` (all inserted verbatim), and
//! `{{! comments }}`. Names may be dotted (`a.b`) and may contain a colon (`tag:env`). Sections,
//! partials and delimiter changes are reported as unsupported.
//!
//! Commands run through `sh -c`, so a value inserted verbatim is shell code. `{{ name | shell }}`
//! (our addition; 0.7 had no filters) inserts the value as one single-quoted shell word instead.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use compact_str::CompactString;

use crate::diag::{Diagnostic, Problem};
use crate::span::Span;

/// A string as written in the job, with the placeholders found in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The decoded text, placeholders included. Up to 24 bytes are kept inline: most names,
    /// dependencies and arguments need no allocation of their own, which is a quarter of the
    /// memory of a big job.
    pub text: CompactString,
    /// The whole string literal in the source.
    pub span: Span,
    /// Placeholders in text order; empty for plain strings. Boxed rather than a vector, which
    /// would be 8 bytes larger: a big job holds hundreds of thousands of templates.
    pub placeholders: Box<[Placeholder]>,
}

/// One `{{ … }}` tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder {
    /// The tag's bytes within [`Template::text`], braces included.
    pub range: Range<usize>,
    /// The variable name, trimmed; empty for a comment.
    pub name: String,
    /// How the value is written into the text.
    pub filter: Filter,
    /// The tag in the source.
    pub span: Span,
}

/// How a placeholder's value is inserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// As it is, as mustache (and so Factotum 0.7) does: `{{ name }}`.
    Verbatim,
    /// Quoted as one shell word, so that it is never read as shell code: `{{ name | shell }}`.
    Shell,
}

/// Writes `text` into `out` as one single-quoted shell word: `it's` becomes `'it'\''s'`.
pub fn push_shell_quoted(out: &mut String, text: &str) {
    out.push('\'');
    out.push_str(&text.replace('\'', r"'\''"));
    out.push('\'');
}

impl Placeholder {
    /// Comments render as nothing and need no variable.
    pub fn is_comment(&self) -> bool {
        self.name.is_empty()
    }
}

/// Variable values for rendering, keyed by full (dotted) name.
pub type Variables = HashMap<String, String>;

impl Template {
    /// Parses the placeholders of `text`. `locate` maps a byte offset in `text` to one in the
    /// source; it differs from a plain shift only when the source spelled escapes.
    pub fn parse(
        text: impl Into<CompactString>,
        span: Span,
        locate: &dyn Fn(usize) -> usize,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Self {
        let text = text.into();
        let mut placeholders = Vec::new();
        let mut cursor = 0;
        while let Some(found) = text[cursor..].find("{{") {
            let open = cursor + found;
            let tag_span = |end: usize| Span::new(locate(open), locate(end));
            match parse_tag(&text, open) {
                Ok(tag) => {
                    cursor = tag.end;
                    placeholders.push(Placeholder {
                        range: open..tag.end,
                        name: tag.name,
                        filter: tag.filter,
                        span: tag_span(tag.end),
                    });
                }
                Err((problem, end, label)) => {
                    diagnostics.push(Diagnostic::new(problem).at(tag_span(end), label));
                    cursor = end.max(open + 2);
                }
            }
        }
        Self {
            text,
            span,
            placeholders: placeholders.into_boxed_slice(),
        }
    }

    /// A string with no placeholders.
    pub fn literal(text: impl Into<CompactString>, span: Span) -> Self {
        Self {
            text: text.into(),
            span,
            placeholders: Box::default(),
        }
    }

    /// The text with every placeholder replaced by its variable's value, as its filter says.
    ///
    /// Returns the first placeholder without a value as the error.
    pub fn render(&self, variables: &Variables) -> Result<Cow<'_, str>, &Placeholder> {
        self.substitute(|placeholder, out| {
            if !placeholder.is_comment() {
                let value = variables.get(&placeholder.name).ok_or(placeholder)?;
                match placeholder.filter {
                    Filter::Verbatim => out.push_str(value),
                    Filter::Shell => push_shell_quoted(out, value),
                }
            }
            Ok(())
        })
    }

    /// The text with every placeholder spelled the same way (`{{name}}` or `{{name|shell}}`,
    /// comments dropped), so two strings that differ only in spacing or brace style compare
    /// equal before rendering.
    pub fn normalized(&self) -> Cow<'_, str> {
        let result: Result<_, std::convert::Infallible> = self.substitute(|placeholder, out| {
            if !placeholder.is_comment() {
                out.push_str("{{");
                out.push_str(&placeholder.name);
                if placeholder.filter == Filter::Shell {
                    out.push_str("|shell");
                }
                out.push_str("}}");
            }
            Ok(())
        });
        match result {
            Ok(text) => text,
        }
    }

    /// The text with each placeholder replaced by what `replace` writes for it.
    fn substitute<'t, E>(
        &'t self,
        mut replace: impl FnMut(&'t Placeholder, &mut String) -> Result<(), E>,
    ) -> Result<Cow<'t, str>, E> {
        if self.placeholders.is_empty() {
            return Ok(Cow::Borrowed(&self.text));
        }
        let mut out = String::with_capacity(self.text.len());
        for segment in self.segments() {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Placeholder(placeholder) => replace(placeholder, &mut out)?,
            }
        }
        Ok(Cow::Owned(out))
    }

    /// The text in order as literal pieces and placeholders; empty pieces are left out.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'_>> {
        let mut cursor = 0;
        self.placeholders
            .iter()
            .flat_map(move |placeholder| {
                let before = &self.text[cursor..placeholder.range.start];
                cursor = placeholder.range.end;
                [Segment::Text(before), Segment::Placeholder(placeholder)]
            })
            .chain(std::iter::once_with(move || {
                let end = self.placeholders.last().map_or(0, |p| p.range.end);
                Segment::Text(&self.text[end..])
            }))
            .filter(|segment| !matches!(segment, Segment::Text("")))
    }
}

/// A piece of a template's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'t> {
    /// Literal text, written as it is.
    Text(&'t str),
    /// A `{{ … }}` tag.
    Placeholder(&'t Placeholder),
}

/// A well-formed tag: its variable (empty for a comment), its filter and the offset just past it.
struct Tag {
    name: String,
    filter: Filter,
    end: usize,
}

/// A malformed tag: the problem, where its span ends, and the label.
type TagError = (Problem, usize, &'static str);

/// Parses the tag that starts with `{{` at `open`.
fn parse_tag(text: &str, open: usize) -> Result<Tag, TagError> {
    let after_open = open + 2;
    let (body_start, closer) = if text[after_open..].starts_with('{') {
        (after_open + 1, "}}}")
    } else {
        (after_open, "}}")
    };
    let Some(body_len) = text[body_start..].find(closer) else {
        let detail = format!("`{{{{` is never closed by `{closer}`");
        return Err((
            Problem::MalformedPlaceholder { detail },
            text.len(),
            "unclosed placeholder",
        ));
    };
    let end = body_start + body_len + closer.len();
    let body = text[body_start..body_start + body_len].trim();
    let (sigil, rest) = match body.chars().next() {
        Some(c @ ('#' | '^' | '/' | '>' | '=' | '!' | '&')) if closer == "}}" => {
            (Some(c), body[1..].trim())
        }
        _ => (None, body),
    };
    let unsupported = |construct| Err((Problem::UnsupportedTemplate { construct }, end, "here"));
    match sigil {
        Some('#' | '^' | '/') => unsupported("sections"),
        Some('>') => unsupported("partials"),
        Some('=') => unsupported("delimiter changes"),
        Some('!') => Ok(Tag {
            name: String::new(),
            filter: Filter::Verbatim,
            end,
        }),
        _ => match split_filter(rest).and_then(|(name, filter)| Ok((check_name(name)?, filter))) {
            Ok((name, filter)) => Ok(Tag {
                name: name.to_owned(),
                filter,
                end,
            }),
            Err(detail) => Err((
                Problem::MalformedPlaceholder { detail },
                end,
                "in this placeholder",
            )),
        },
    }
}

/// Splits `name | filter` into the name and its filter.
fn split_filter(body: &str) -> Result<(&str, Filter), String> {
    let Some((name, filter)) = body.split_once('|') else {
        return Ok((body, Filter::Verbatim));
    };
    match filter.trim() {
        "shell" => Ok((name.trim(), Filter::Shell)),
        other => Err(format!(
            "`{other}` is not a filter (the one filter is `shell`, as in `{{{{ name | shell }}}}`)"
        )),
    }
}

/// A variable name is one word, optionally dotted into non-empty parts.
fn check_name(name: &str) -> Result<&str, String> {
    if name.is_empty() {
        return Err("the variable name is missing".to_owned());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '{' | '}'))
    {
        return Err(format!(
            "`{name}` is not a variable name (it contains {bad:?})"
        ));
    }
    if name.split('.').any(str::is_empty) {
        return Err(format!("`{name}` has an empty part between dots"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::{Filter, Segment, Template, Variables};
    use crate::span::Span;

    fn template(text: &str) -> (Template, Vec<String>) {
        let mut diagnostics = Vec::new();
        let span = Span::new(0, text.len());
        let template = Template::parse(text, span, &|offset| offset, &mut diagnostics);
        let messages = diagnostics.iter().map(|d| d.problem.message()).collect();
        (template, messages)
    }

    #[test]
    fn the_shell_filter_quotes_a_value_as_one_word() {
        let variables: Variables = [("x".to_owned(), "it's $(rm -rf ~); `id`".to_owned())].into();
        let cases = [
            ("echo {{ x | shell }}", r"echo 'it'\''s $(rm -rf ~); `id`'"),
            ("echo {{x|shell}}", r"echo 'it'\''s $(rm -rf ~); `id`'"),
            (
                "echo {{{ x | shell }}}",
                r"echo 'it'\''s $(rm -rf ~); `id`'",
            ),
            ("echo {{ x }}", "echo it's $(rm -rf ~); `id`"),
        ];
        for (text, rendered) in cases {
            let (parsed, problems) = template(text);
            assert!(problems.is_empty(), "{text}: {problems:?}");
            assert_eq!(parsed.render(&variables).as_deref(), Ok(rendered), "{text}");
        }
    }

    #[test]
    fn segments_are_the_text_in_order_without_empty_pieces() {
        let names = |text: &str| -> Vec<String> {
            let (parsed, _) = template(text);
            parsed
                .segments()
                .map(|segment| match segment {
                    Segment::Text(text) => format!("text {text}"),
                    Segment::Placeholder(placeholder) => format!("tag {}", placeholder.name),
                })
                .collect()
        };
        assert_eq!(names("plain"), ["text plain"]);
        assert_eq!(names(""), Vec::<String>::new());
        assert_eq!(names("{{a}}{{b}}"), ["tag a", "tag b"]);
        assert_eq!(
            names("x {{ a }} y {{! note }}"),
            ["text x ", "tag a", "text  y ", "tag "]
        );
    }

    #[test]
    fn filters_take_part_in_the_normalized_spelling() {
        let (plain, _) = template("{{ x }}");
        let (quoted, _) = template("{{ x |shell }}");
        assert_eq!(plain.normalized(), "{{x}}");
        assert_eq!(quoted.normalized(), "{{x|shell}}");
        assert_eq!(quoted.placeholders[0].filter, Filter::Shell);
        assert_eq!(quoted.placeholders[0].name, "x");
    }

    #[test]
    fn unknown_filters_and_missing_names_are_malformed() {
        for (text, message) in [
            (
                "{{ x | upper }}",
                "malformed placeholder: `upper` is not a filter (the one filter is `shell`, as in `{{ name | shell }}`)",
            ),
            (
                "{{ | shell }}",
                "malformed placeholder: the variable name is missing",
            ),
            (
                "{{ x | shell | shell }}",
                "malformed placeholder: `shell | shell` is not a filter (the one filter is `shell`, as in `{{ name | shell }}`)",
            ),
        ] {
            let (_, problems) = template(text);
            assert_eq!(problems, [message], "{text}");
        }
    }
}
