//! Backends that turn IR or diagnostics into text.

pub mod diagnostics;
pub(crate) mod dot;
pub(crate) mod drawing;
pub mod dsl;
mod excerpt;
pub mod json;
pub(crate) mod mermaid;
mod sarif;

use std::io;

use codespan_reporting::term::termcolor::{Ansi, Color, ColorSpec, WriteColor};

/// Writes `text` in `colour` when `out` colours: the colour's code, the text, the reset code.
/// The one way factotum colours text.
pub fn write_in(out: &mut dyn WriteColor, colour: Color, text: &str) -> io::Result<()> {
    out.set_color(ColorSpec::new().set_fg(Some(colour)).set_reset(false))?;
    out.write_all(text.as_bytes())?;
    out.reset()
}

/// `text` in `colour` as [`write_in`] writes it, or as it is when not `coloured`: for lines
/// built whole before they are written.
pub fn painted(text: &str, colour: Color, coloured: bool) -> String {
    if coloured {
        let (start, reset) = colour_codes(colour);
        format!("{start}{text}{reset}")
    } else {
        text.to_owned()
    }
}

/// The codes [`write_in`] writes before and after text in `colour`, for output that is built
/// whole before it is written.
pub fn colour_codes(colour: Color) -> (String, String) {
    let mut start = Ansi::new(Vec::new());
    let mut reset = Ansi::new(Vec::new());
    // Writing into memory cannot fail.
    let _ = start.set_color(ColorSpec::new().set_fg(Some(colour)).set_reset(false));
    let _ = reset.reset();
    let text = |codes: Ansi<Vec<u8>>| String::from_utf8_lossy(&codes.into_inner()).into_owned();
    (text(start), text(reset))
}

/// Characters a reader cannot see or that reorder the text around them ("Trojan Source"):
/// Unicode's explicit bidirectional formatting characters, zero-width characters, the byte
/// order mark, and the line and paragraph separators. The DSL printer and Mermaid labels show
/// them by number; JSON and Graphviz output keep them as they are (both formats define them).
pub(crate) fn is_hidden_or_reordering(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}
