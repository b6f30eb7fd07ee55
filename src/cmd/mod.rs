//! One module per sub-command.

pub mod check;
pub mod completions;
pub mod dot;
pub mod run;
pub mod validate;

use std::io::{self, IsTerminal};

use codespan_reporting::term::termcolor::{Color, ColorChoice, ColorSpec, WriteColor};

/// Colour for `stream` (stdout or stderr): never with `--no-colour`, `NO_COLOR` or
/// `CLICOLOR=0`; forced by `CLICOLOR_FORCE`; otherwise only when `stream` is a terminal.
pub(crate) fn colour_choice(no_colour: bool, stream: &impl IsTerminal) -> ColorChoice {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    let clicolor_off = std::env::var_os("CLICOLOR").is_some_and(|value| value == "0");
    let forced =
        std::env::var_os("CLICOLOR_FORCE").is_some_and(|value| !value.is_empty() && value != "0");
    if no_colour || set("NO_COLOR") || clicolor_off {
        ColorChoice::Never
    } else if forced || stream.is_terminal() {
        ColorChoice::Always
    } else {
        ColorChoice::Never
    }
}

/// Writes `text` in `colour` (when `out` colours at all), then a plain newline.
pub(crate) fn write_line_in(out: &mut dyn WriteColor, colour: Color, text: &str) -> io::Result<()> {
    out.set_color(ColorSpec::new().set_fg(Some(colour)))?;
    write!(out, "{text}")?;
    out.reset()?;
    writeln!(out)
}
