//! `factotum completions SHELL`: the script that registers factotum's tab completion in a
//! shell. Completion is dynamic: on each TAB the shell runs `COMPLETE=SHELL factotum -- WORDS`,
//! which answers from the command-line definition (so it never falls behind) and, for
//! `--start`, from the job file named earlier on the line.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use clap::CommandFactory as _;
use clap_complete::CompletionCandidate;
use clap_complete::env::{CompleteEnv, Shells};

use crate::ExitStatus;
use crate::cli::{Cli, CompletionsArgs, Shell};

/// The variable that asks factotum for completions instead of running a command.
const REQUEST: &str = "COMPLETE";

/// Runs `completions`.
pub(crate) fn run(args: &CompletionsArgs) -> ExitStatus {
    let name = match args.shell {
        Shell::Bash => "bash",
        Shell::Zsh => "zsh",
        Shell::Fish => "fish",
    };
    let shells = Shells::builtins();
    let Some(shell) = shells.completer(name) else {
        super::error_line(format_args!("error: no completion for {name}"));
        return ExitStatus::OtherError;
    };
    // Generated in memory: standard output may be a closed pipe. The shell finds `factotum`
    // on its `PATH` at each TAB, as it does when the command is typed.
    let mut script = Vec::new();
    match shell.write_registration(REQUEST, "factotum", "factotum", "factotum", &mut script) {
        Ok(()) => super::write_output(&String::from_utf8_lossy(&script), None, false),
        Err(error) => {
            super::error_line(format_args!("error: cannot write the script: {error}"));
            ExitStatus::OtherError
        }
    }
}

/// Answers a shell's completion request (`COMPLETE` set) and says so; `None` for a normal run.
pub(crate) fn answer_request(args: &[OsString]) -> Option<ExitStatus> {
    let current_dir = std::env::current_dir().ok();
    match CompleteEnv::with_factory(Cli::command)
        .var(REQUEST)
        .try_complete(args.iter().cloned(), current_dir.as_deref())
    {
        Ok(false) => None,
        Ok(true) => Some(ExitStatus::Success),
        Err(error) => {
            let _ = error.print();
            Some(ExitStatus::OtherError)
        }
    }
}

/// `--start`'s candidates: the names of the tasks of the job named on the command line being
/// completed (the words after `--` in factotum's own arguments), as written in the file.
pub(crate) fn task_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let words: Vec<OsString> = std::env::args_os()
        .skip_while(|word| word != "--")
        .skip(1)
        .collect();
    let Some(file) = job_file(&words) else {
        return Vec::new();
    };
    let loaded = super::load(file, None);
    let Some(job) = loaded.compiled.job else {
        return Vec::new();
    };
    // Bash inserts a candidate as it is, so a name with spaces is escaped for it; zsh and fish
    // quote what they insert. Only bash's script passes its completion type.
    let for_bash = std::env::var_os("_CLAP_COMPLETE_COMP_TYPE").is_some();
    let typed = current.to_string_lossy();
    let typed = typed.trim_start_matches(['\'', '"']).replace('\\', "");
    job.tasks
        .iter()
        .map(|task| task.name.text.as_str())
        .filter(|name| name.starts_with(&typed))
        .map(|name| {
            if for_bash {
                CompletionCandidate::new(escaped_for_bash(name))
            } else {
                CompletionCandidate::new(name)
            }
        })
        .collect()
}

/// The job file among the words of a command line: the first, after the program and its
/// sub-command, that names an existing file and is not the value of `-o`/`--output`.
fn job_file(words: &[OsString]) -> Option<&Path> {
    let mut previous: Option<&OsString> = None;
    for word in words.iter().skip(2) {
        let after_output = previous.is_some_and(|flag| flag == "-o" || flag == "--output");
        previous = Some(word);
        let path = Path::new(word);
        if !after_output && !word.to_string_lossy().starts_with('-') && path.is_file() {
            return Some(path);
        }
    }
    None
}

/// `name` with every character bash treats specially escaped by a backslash.
fn escaped_for_bash(name: &str) -> String {
    let mut escaped = String::with_capacity(name.len());
    for c in name.chars() {
        if !(c.is_alphanumeric() || "-_.,:/@%+=".contains(c)) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
