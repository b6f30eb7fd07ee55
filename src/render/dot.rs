//! Graphviz `dot` text in Factotum 0.7's layout, with names quoted so Graphviz accepts and shows
//! any of them exactly.

use std::fmt::{self, Write as _};
use std::iter;

use super::drawing::{Drawing, Look};

/// The digraph: one line per task in plan order, then one per edge, and no newline after the
/// closing brace, byte for byte as Factotum 0.7 wrote it (for names that needed no escaping).
///
/// Coloured by a run, each task line also gets its look's attributes, and a legend of the
/// looks drawn, headed by the run's id, is the graph's label, below the drawing.
pub(crate) fn render(drawing: &Drawing<'_>) -> String {
    let name = |task: usize| Quoted(drawing.names[task]);
    let header = format!("digraph {} {{\n", Quoted(drawing.title));
    let nodes = drawing.tasks.iter().map(|&task| match drawing.look(task) {
        None => format!("    {}\n", name(task)),
        Some(look) => format!("    {} [{}]\n", name(task), NodeStyle(look)),
    });
    let edges = drawing
        .edges
        .iter()
        .map(|&(from, to)| format!("    {} -> {}\n", name(from), name(to)));
    iter::once(header)
        .chain(nodes)
        .chain(edges)
        .chain(legend(drawing))
        .chain(iter::once("}".to_owned()))
        .collect()
}

/// A look as node attributes: filled with its colour, or dashed for a task not in the run.
struct NodeStyle(Look);

impl fmt::Display for NodeStyle {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.fill() {
            Some(fill) => write!(out, "style=filled, fillcolor=\"{fill}\""),
            None => out.write_str("style=dashed"),
        }
    }
}

/// The legend line: the graph's label, an HTML-like table of one cell per look drawn, each
/// styled as its nodes are. A label, not a cluster of legend nodes: any node id could also be
/// a task's name, and Graphviz would merge the two.
fn legend(drawing: &Drawing<'_>) -> Option<String> {
    let run = drawing.run.as_ref()?;
    let looks = drawing.legend();
    if looks.is_empty() {
        return None;
    }
    let cells: String = looks
        .iter()
        .map(|look| match look.fill() {
            Some(fill) => format!("<td border=\"1\" bgcolor=\"{fill}\">{}</td>", look.words()),
            None => format!("<td border=\"1\" style=\"dashed\">{}</td>", look.words()),
        })
        .collect();
    Some(format!(
        "    graph [labelloc=\"b\", label=<<table border=\"0\" cellspacing=\"4\" cellpadding=\"4\"><tr><td \
         colspan=\"{}\">run {}</td></tr><tr>{cells}</tr></table>>]\n",
        looks.len(),
        HtmlText(&run.run)
    ))
}

/// Text inside an HTML-like label: markup characters as entities, and control characters,
/// which XML forbids, as their Unicode "control picture" (`␀`).
struct HtmlText<'a>(&'a str);

impl fmt::Display for HtmlText<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        for character in self.0.chars() {
            match character {
                '&' => out.write_str("&amp;")?,
                '<' => out.write_str("&lt;")?,
                '>' => out.write_str("&gt;")?,
                '"' => out.write_str("&quot;")?,
                control if control < ' ' => write!(out, "&#{};", 0x2400 + u32::from(control))?,
                other => out.write_char(other)?,
            }
        }
        Ok(())
    }
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
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    use super::{HtmlText, MAX_PIECE_BYTES, Quoted, render};
    use crate::render::drawing::tests::coloured_sample;
    use crate::render::drawing::{Drawing, RunStates};
    use crate::store::TaskState;

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

    #[test]
    fn a_drawing_coloured_by_a_run_fills_each_task_and_has_a_legend() {
        assert_eq!(
            render(&coloured_sample()),
            "digraph \"nightly\" {\n    \
             \"added\" [style=dashed]\n    \
             \"check\" [style=filled, fillcolor=\"#f07e7e\"]\n    \
             \"extract\" [style=filled, fillcolor=\"#8fd694\"]\n    \
             \"transform\" [style=filled, fillcolor=\"#9fe2d8\"]\n    \
             \"load\" [style=filled, fillcolor=\"#cfcfcf\"]\n    \
             \"extract\" -> \"transform\"\n    \
             \"transform\" -> \"load\"\n    \
             graph [labelloc=\"b\", label=<<table border=\"0\" cellspacing=\"4\" cellpadding=\"4\">\
             <tr><td colspan=\"5\">run 20261202T093939123Z-4f2a9c</td></tr><tr>\
             <td border=\"1\" bgcolor=\"#8fd694\">succeeded</td>\
             <td border=\"1\" bgcolor=\"#9fe2d8\">finished early</td>\
             <td border=\"1\" bgcolor=\"#f07e7e\">failed</td>\
             <td border=\"1\" bgcolor=\"#cfcfcf\">skipped</td>\
             <td border=\"1\" style=\"dashed\">not in the run</td></tr></table>>]\n}"
        );
    }

    #[test]
    fn a_run_with_no_task_drawn_has_no_legend() {
        let empty = Drawing {
            names: vec![],
            tasks: vec![],
            edges: vec![],
            ..coloured_sample()
        };
        assert_eq!(render(&empty), "digraph \"nightly\" {\n}");
    }

    #[test]
    fn run_ids_are_html_text() {
        assert_eq!(
            HtmlText("<b>&\"x\"</b>\0\n").to_string(),
            "&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;&#9216;&#9226;"
        );
    }

    /// Graphviz draws every look without a warning: each fill on its node and in the legend,
    /// the dashed outline of a task the run did not have, and a run id that needs escaping.
    #[test]
    fn graphviz_draws_every_look() {
        let states = [
            Some(TaskState::Succeeded),
            Some(TaskState::FinishedEarly),
            Some(TaskState::Running),
            Some(TaskState::Failed),
            Some(TaskState::Interrupted),
            Some(TaskState::Skipped),
            Some(TaskState::NotStarted),
            None,
        ];
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let drawing = Drawing {
            title: "every look",
            names: names.to_vec(),
            tasks: (0..names.len()).collect(),
            edges: (1..names.len()).map(|task| (task - 1, task)).collect(),
            run: Some(RunStates {
                run: "<run & \"id\">\u{1}".to_owned(),
                states: states.to_vec(),
            }),
        };
        let svg = graphviz_svg(&render(&drawing));
        for look in drawing.legend() {
            let words = look.words();
            assert!(svg.contains(&format!(">{words}</text>")), "{words}: {svg}");
            if let Some(fill) = look.fill() {
                // The node and the legend's cell.
                assert_eq!(
                    svg.matches(&format!("fill=\"{fill}\"")).count(),
                    2,
                    "{words}"
                );
            }
        }
        assert!(svg.contains("stroke-dasharray"), "{svg}");
        // Graphviz writes the control picture as the character itself.
        assert!(
            svg.contains(">run &lt;run &amp; &quot;id&quot;&gt;\u{2401}</text>"),
            "{svg}"
        );
    }

    /// Graphviz's SVG of `dot_text`, insisting on exit 0 and nothing on stderr.
    fn graphviz_svg(dot_text: &str) -> String {
        let mut child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("Graphviz's `dot` is on the PATH (Debian: apt-get install graphviz)");
        child
            .stdin
            .take()
            .expect("a piped stdin")
            .write_all(dot_text.as_bytes())
            .expect("Graphviz reads the drawing");
        let output = child.wait_with_output().expect("Graphviz ends");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.is_empty(),
            "Graphviz refused the drawing: {stderr}\n{dot_text}"
        );
        String::from_utf8(output.stdout).expect("Graphviz writes UTF-8 SVG")
    }
}
