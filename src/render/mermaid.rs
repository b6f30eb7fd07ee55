//! Mermaid `flowchart TD` text of a task graph, for Markdown pages that render Mermaid (GitHub,
//! GitLab). Node ids are `t0`, `t1`, … by task position, so no name can break the syntax; names
//! are shown as quoted labels.

use std::fmt::{self, Write as _};
use std::iter;

use super::drawing::Drawing;

/// The flowchart, titled with the job's name: one node line per task in plan order, then one
/// line per edge, ending with a newline.
pub(crate) fn render(drawing: &Drawing<'_>) -> String {
    // A JSON string is a valid YAML double-quoted scalar, so any job name survives the front
    // matter; Mermaid shows the title as plain text.
    let title = serde_json::Value::from(drawing.title);
    let header = format!("---\ntitle: {title}\n---\nflowchart TD\n");
    let nodes = drawing
        .tasks
        .iter()
        .map(|&task| format!("    t{task}[\"{}\"]\n", Label(drawing.names[task])));
    let edges = drawing
        .edges
        .iter()
        .map(|&(from, to)| format!("    t{from} --> t{to}\n"));
    iter::once(header).chain(nodes).chain(edges).collect()
}

/// A name as the inside of a quoted Mermaid label, shown exactly as written.
///
/// Mermaid's entity codes (`#quot;`, `#35;`) replace what would end the label (`"`), what
/// Mermaid or the browser would interpret (`#…;` entity codes, HTML `<`, `>`, `&`, a leading
/// backtick that starts a Markdown string) and `:`, because Mermaid strips the last `;` of any
/// line matching `style…:…#…;` before parsing, which would break an entity code. A newline
/// becomes `<br>`; other control characters, and characters that are invisible or reorder the
/// text (bidirectional overrides, a byte order mark, U+2028), become numeric codes, as `fmt`
/// writes them. Everything else, brackets,
/// pipes and any Unicode included, is safe inside quotes. An empty name is written as a space:
/// Mermaid refuses `[""]`.
struct Label<'a>(&'a str);

impl fmt::Display for Label<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return out.write_char(' ');
        }
        for character in self.0.chars() {
            match character {
                '"' => out.write_str("#quot;")?,
                '&' => out.write_str("#amp;")?,
                '<' => out.write_str("#lt;")?,
                '>' => out.write_str("#gt;")?,
                '\n' => out.write_str("<br>")?,
                '#' | '`' | ':' => write!(out, "#{};", u32::from(character))?,
                hidden if hidden.is_control() || super::is_hidden_or_reordering(hidden) => {
                    write!(out, "#{};", u32::from(hidden))?;
                }
                other => out.write_char(other)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Label;

    fn label(name: &str) -> String {
        Label(name).to_string()
    }

    #[test]
    fn plain_and_unicode_names_are_unchanged() {
        assert_eq!(
            label("load [orders] | día ✓ {x}"),
            "load [orders] | día ✓ {x}"
        );
    }

    #[test]
    fn syntax_and_markup_become_entity_codes() {
        assert_eq!(label(r#"say "hi""#), "say #quot;hi#quot;");
        assert_eq!(
            label("`a` <b>&#35;</b>: c"),
            "#96;a#96; #lt;b#gt;#amp;#35;35;#lt;/b#gt;#58; c"
        );
        assert_eq!(label("two\nlines\ttab\0"), "two<br>lines#9;tab#0;");
    }

    #[test]
    fn hidden_and_reordering_characters_become_numeric_codes() {
        assert_eq!(
            label("a\u{202E}b\u{FEFF}c\u{2028}d\u{200B}e"),
            "a#8238;b#65279;c#8232;d#8203;e"
        );
    }

    #[test]
    fn an_empty_name_is_a_space() {
        assert_eq!(label(""), " ");
    }
}
