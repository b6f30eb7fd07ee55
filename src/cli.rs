//! The command line, declared with clap's derive API.

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand, ValueEnum};

/// Compile, check, draw and run job DAGs (factfiles).
#[derive(Debug, Parser)]
#[command(name = "factotum", version, disable_version_flag = true)]
pub struct Cli {
    /// Print the version and exit.
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    version: Option<bool>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check job files and print every problem found, with its line and column.
    Check(CheckArgs),
    /// Check one job file, as Factotum 0.7 did: `'<file>' is a valid Factfile!` or the problems.
    Validate(ValidateArgs),
    /// Draw a job's task graph as Graphviz dot (Factotum 0.7's format) or a Mermaid flowchart.
    Dot(DotArgs),
    /// Print a completion script for a shell.
    Completions(CompletionsArgs),
}

/// Arguments of `factotum check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Job files to check; `-` reads standard input.
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,

    /// How to print problems.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Template variables as a JSON object; every placeholder must then have a value.
    #[arg(long, value_name = "JSON")]
    pub env: Option<String>,

    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,

    /// Never colour the output.
    #[arg(long)]
    pub no_colour: bool,
}

/// Arguments of `factotum validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The job file.
    pub factfile: PathBuf,

    /// Never colour the output.
    #[arg(long)]
    pub no_colour: bool,
}

/// Arguments of `factotum dot`.
#[derive(Debug, clap::Args)]
pub struct DotArgs {
    /// The job file; `-` reads standard input.
    pub factfile: PathBuf,

    /// Draw only this task and the tasks that depend on it, directly or not.
    #[arg(long, value_name = "TASK")]
    pub start: Option<String>,

    /// Write the drawing to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace the `--output` file if it exists.
    #[arg(long)]
    pub overwrite: bool,

    /// The drawing's language.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,

    /// Never colour the output.
    #[arg(long)]
    pub no_colour: bool,
}

/// Output formats for drawings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz dot, as Factotum 0.7 wrote it (render with `dot -Tsvg`).
    Dot,
    /// A Mermaid `flowchart TD`, which GitHub renders in Markdown.
    Mermaid,
}

/// Arguments of `factotum completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells `factotum completions` writes scripts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash: `source <(factotum completions bash)`.
    Bash,
    /// Zsh: save as `_factotum` in a folder of `$fpath`.
    Zsh,
    /// Fish: save as `~/.config/fish/completions/factotum.fish`.
    Fish,
}

/// Output formats for diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Source excerpts with labels, as rustc prints.
    Human,
    /// One line per problem: `file:line:col: severity[CODE]: message`.
    Short,
    /// A JSON array of objects, for tools.
    Json,
}
