//! One module per sub-command.

pub mod check;
pub mod validate;

use std::io::IsTerminal;

use codespan_reporting::term::termcolor::ColorChoice;

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
