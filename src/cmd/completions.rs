//! `factotum completions SHELL`: a tab-completion script for sub-commands, flags and values,
//! generated from the command-line definition so it never falls behind.

use std::io::{self, Write};

use clap::CommandFactory as _;

use crate::ExitStatus;
use crate::cli::{Cli, CompletionsArgs, Shell};

/// Runs `completions`.
pub(crate) fn run(args: &CompletionsArgs) -> ExitStatus {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // Generated in memory: clap_complete panics when its writer fails, and standard output may be
    // a closed pipe.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "factotum", &mut script);
    let mut stdout = io::stdout().lock();
    match stdout.write_all(&script).and_then(|()| stdout.flush()) {
        Ok(()) => ExitStatus::Success,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitStatus::Success,
        Err(error) => {
            super::error_line(format_args!("error: cannot write the script: {error}"));
            ExitStatus::OtherError
        }
    }
}
