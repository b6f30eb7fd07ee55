//! Graphviz `dot` text in Factotum 0.7's layout, with names quoted so Graphviz accepts and shows
//! any of them exactly.

use std::fmt::{self, Write as _};
use std::iter;

use super::drawing::Drawing;

/// The digraph: one line per task in plan order, then one per edge, and no newline after the
/// closing brace, byte for byte as Factotum 0.7 wrote it (for names that needed no escaping).
pub(crate) fn render(drawing: &Drawing<'_>) -> String {
    let name = |task: usize| Quoted(drawing.names[task]);
    let header = format!("digraph {} {{\n", Quoted(drawing.title));
    let nodes = drawing
        .tasks
        .iter()
        .map(|&task| format!("    {}\n", name(task)));
    let edges = drawing
        .edges
        .iter()
        .map(|&(from, to)| format!("    {} -> {}\n", name(from), name(to)));
    iter::once(header)
        .chain(nodes)
        .chain(edges)
        .chain(iter::once("}".to_owned()))
        .collect()
}

/// Graphviz 2.43 rejects a quoted string longer than 16 KiB; longer names are written as pieces
/// joined with dot's `+`, each well under the limit.
const MAX_PIECE_BYTES: usize = 8 * 1024;

/// A name as a dot quoted string, escaped so that distinct names stay distinct nodes and the
/// label Graphviz draws is the name itself:
/// - `"` and `\` are backslash-escaped (0.7 wrote them raw, which broke the file);
/// - a newline becomes `\n`, which Graphviz draws as a line break;
/// - `&` becomes `&amp;` where Graphviz would otherwise read an entity (`&lt;`, `&#35;`);
/// - other control characters but tab, which Graphviz rejects (NUL) or copies into SVG where
///   they are not allowed, become their Unicode "control picture" (`␀`) as an entity.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut piece = String::with_capacity(self.0.len().min(MAX_PIECE_BYTES) + 8);
        out.write_char('"')?;
        for (index, character) in self.0.char_indices() {
            if piece.len() >= MAX_PIECE_BYTES {
                out.write_str(&piece)?;
                out.write_str("\" + \"")?;
                piece.clear();
            }
            match character {
                '"' => piece.push_str("\\\""),
                '\\' => piece.push_str("\\\\"),
                '\n' => piece.push_str("\\n"),
                '&' if starts_entity(&self.0[index..]) => piece.push_str("&amp;"),
                control if control < ' ' && control != '\t' => {
                    write!(piece, "&#{};", 0x2400 + u32::from(control))?;
                }
                other => piece.push(other),
            }
        }
        out.write_str(&piece)?;
        out.write_char('"')
    }
}

/// Whether `text`, which starts with `&`, continues like an HTML entity (`&name;`, `&#123;`,
/// `&#x1F;`), which Graphviz would decode in labels instead of showing.
fn starts_entity(text: &str) -> bool {
    let body = &text[1..];
    let length = body
        .find(|c: char| c != '#' && !c.is_ascii_alphanumeric())
        .unwrap_or(body.len());
    length > 0 && body[length..].starts_with(';')
}

#[cfg(test)]
mod tests {
    use super::{MAX_PIECE_BYTES, Quoted};

    fn quoted(name: &str) -> String {
        Quoted(name).to_string()
    }

    #[test]
    fn plain_names_are_written_as_0_7_did() {
        assert_eq!(
            quoted("extract & load (día 1) #2"),
            "\"extract & load (día 1) #2\""
        );
    }

    #[test]
    fn quotes_backslashes_and_newlines_are_escaped() {
        assert_eq!(quoted(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(quoted(r"C:\temp\"), r#""C:\\temp\\""#);
        assert_eq!(quoted("two\nlines"), r#""two\nlines""#);
        assert_eq!(quoted(r"x\N"), r#""x\\N""#);
    }

    #[test]
    fn entities_and_control_characters_are_shown_not_decoded() {
        assert_eq!(
            quoted("a &lt; b &#35; c&;"),
            "\"a &amp;lt; b &amp;#35; c&;\""
        );
        assert_eq!(
            quoted("nul\0 bell\u{7}\ttab"),
            "\"nul&#9216; bell&#9223;\ttab\""
        );
    }

    #[test]
    fn long_names_are_split_into_pieces() {
        let name = "é".repeat(MAX_PIECE_BYTES);
        let written = quoted(&name);
        let pieces: Vec<&str> = written.split("\" + \"").collect();
        assert_eq!(pieces.len(), 2);
        assert!(
            pieces
                .iter()
                .all(|piece| piece.len() <= MAX_PIECE_BYTES + 1)
        );
        assert_eq!(written.replace("\" + \"", ""), format!("\"{name}\""));
    }
}
