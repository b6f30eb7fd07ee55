//! `factotum man [COMMAND]`: a manual page in roff, generated from the command-line
//! definition so it never falls behind. As with git, the program's page `factotum(1)` lists
//! the sub-commands, and each has its own page, `factotum-run(1)`.

use clap::CommandFactory as _;

use crate::ExitStatus;
use crate::cli::{Cli, ManArgs};

/// Runs `man`.
pub(crate) fn run(args: &ManArgs) -> ExitStatus {
    let mut program = Cli::command();
    // Building names each sub-command `factotum-NAME` and its usage `factotum NAME`.
    program.build();
    let command = match args.command.as_deref() {
        None => program,
        Some(name) => {
            let Some(sub) = program.find_subcommand(name) else {
                let names: Vec<&str> = program
                    .get_subcommands()
                    .map(clap::Command::get_name)
                    .collect();
                super::error_line(format_args!(
                    "error: `{name}` is not a sub-command; the pages are: {}",
                    names.join(", ")
                ));
                return ExitStatus::OtherError;
            };
            sub.clone()
        }
    };
    let man = clap_mangen::Man::new(command);
    // Rendered in memory, as `completions` is: standard output may be a closed pipe.
    let mut page = Vec::new();
    match man.render(&mut page) {
        Ok(()) => super::write_output(&String::from_utf8_lossy(&page), None, false),
        Err(error) => {
            super::error_line(format_args!("error: cannot render the page: {error}"));
            ExitStatus::OtherError
        }
    }
}
