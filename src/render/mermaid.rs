//! Mermaid `flowchart TD` text of a task graph, for Markdown pages that render Mermaid (GitHub,
//! GitLab). Node ids are `t0`, `t1`, … by task position, so no name can break the syntax; names
//! are shown as quoted labels.

use std::fmt::{self, Write as _};
use std::iter;

use super::drawing::Drawing;

/// The flowchart, titled with the job's name: one node line per task in plan order, then one
/// line per edge, ending with a newline.
///
/// Coloured by a run, a legend follows: a subgraph titled with the run's id holding one node
/// per look drawn (ids `legend_<look>`, which no task's `t<position>` can be), then a
/// `classDef` per look and a `class` line giving it to its tasks and its legend node.
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
    iter::once(header)
        .chain(nodes)
        .chain(edges)
        .chain(legend(drawing))
        .collect()
}

/// The legend and the classes that colour the tasks, when the drawing is coloured by a run
/// and draws any task.
fn legend(drawing: &Drawing<'_>) -> Option<String> {
    let run = drawing.run.as_ref()?;
    let looks = drawing.legend();
    if looks.is_empty() {
        return None;
    }
    let header = format!(
        "    subgraph legend [\"{}\"]\n",
        Label(&format!("run {}", run.run))
    );
    let entries = looks.iter().map(|look| {
        format!(
            "        legend_{}[\"{}\"]\n",
            look.identifier(),
            look.words()
        )
    });
    let classes = looks.iter().map(|&look| {
        let id = look.identifier();
        let style = match look.fill() {
            Some(fill) => format!("fill:{fill},stroke:#333,color:#000"),
            None => "stroke-dasharray:5 5".to_owned(),
        };
        let members: Vec<String> = drawing
            .tasks
            .iter()
            .filter(|&&task| drawing.look(task) == Some(look))
            .map(|task| format!("t{task}"))
            .chain(iter::once(format!("legend_{id}")))
            .collect();
        format!(
            "    classDef {id} {style}\n    class {} {id}\n",
            members.join(",")
        )
    });
    Some(
        iter::once(header)
            .chain(entries)
            .chain(iter::once("    end\n".to_owned()))
            .chain(classes)
            .collect(),
    )
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
    use super::{Label, render};
    use crate::render::drawing::Drawing;
    use crate::render::drawing::tests::coloured_sample;

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

    #[test]
    fn a_drawing_coloured_by_a_run_has_classes_and_a_legend() {
        assert_eq!(
            render(&coloured_sample()),
            "---\ntitle: \"nightly\"\n---\nflowchart TD
    t4[\"added\"]
    t3[\"check\"]
    t0[\"extract\"]
    t1[\"transform\"]
    t2[\"load\"]
    t0 --> t1
    t1 --> t2
    subgraph legend [\"run 20261202T093939123Z-4f2a9c\"]
        legend_succeeded[\"succeeded\"]
        legend_finished_early[\"finished early\"]
        legend_failed[\"failed\"]
        legend_skipped[\"skipped\"]
        legend_not_in_the_run[\"not in the run\"]
    end
    classDef succeeded fill:#8fd694,stroke:#333,color:#000
    class t0,legend_succeeded succeeded
    classDef finished_early fill:#9fe2d8,stroke:#333,color:#000
    class t1,legend_finished_early finished_early
    classDef failed fill:#f07e7e,stroke:#333,color:#000
    class t3,legend_failed failed
    classDef skipped fill:#cfcfcf,stroke:#333,color:#000
    class t2,legend_skipped skipped
    classDef not_in_the_run stroke-dasharray:5 5
    class t4,legend_not_in_the_run not_in_the_run
"
        );
    }

    #[test]
    fn the_run_id_is_a_label_and_an_empty_drawing_has_no_legend() {
        let mut odd = coloured_sample();
        if let Some(run) = &mut odd.run {
            run.run = "a\"b:c".to_owned();
        }
        assert!(
            render(&odd).contains("    subgraph legend [\"run a#quot;b#58;c\"]\n"),
            "{}",
            render(&odd)
        );
        let empty = Drawing {
            names: vec![],
            tasks: vec![],
            edges: vec![],
            ..coloured_sample()
        };
        assert_eq!(
            render(&empty),
            "---\ntitle: \"nightly\"\n---\nflowchart TD\n"
        );
    }
}
