//! One module per sub-command.

pub(crate) mod check;
pub(crate) mod claims;
pub(crate) mod completions;
pub(crate) mod convert;
pub(crate) mod dot;
pub(crate) mod explain;
pub(crate) mod export;
pub(crate) mod fmt;
pub(crate) mod history;
pub(crate) mod locks;
pub(crate) mod lsp;
pub(crate) mod man;
pub(crate) mod run;
pub(crate) mod show;
pub(crate) mod submit;
pub(crate) mod tasks;
pub(crate) mod validate;

use std::io::{self, IsTerminal, Write as _};
use std::path::Path;
use std::sync::OnceLock;

use codespan_reporting::term::termcolor::{Color, ColorChoice, StandardStream, WriteColor};

use crate::atomic_write::Existing;
use crate::cli::ColourWhen;
use crate::comment::Comment;
use crate::diag::{Diagnostic, Problem};
use crate::ir::Job;
use crate::render::diagnostics::{Report, print_human};
use crate::source::Source;
use crate::syntax::Format;
use crate::template::Variables;
use crate::{Compiled, ExitStatus};

/// `--color always`, set once from the command line before a command runs. It lives here
/// rather than in every command's arguments because, like the environment variables
/// [`colour_choice`] reads, it is one setting for the whole process.
static COLOUR_ALWAYS: OnceLock<bool> = OnceLock::new();

/// Records `--color` for [`colour_choice`]; `never` reaches the commands as `--no-colour`.
pub(crate) fn choose_colour(when: ColourWhen) {
    let _ = COLOUR_ALWAYS.set(when == ColourWhen::Always);
}

/// Colour for `stream` (stdout or stderr): never with `--no-colour` (or `--color never`),
/// `NO_COLOR` or `CLICOLOR=0`; always with `--color always`; forced by `CLICOLOR_FORCE`;
/// otherwise only when `stream` is a terminal.
pub(crate) fn colour_choice(no_colour: bool, stream: &impl IsTerminal) -> ColorChoice {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    let clicolor_off = std::env::var_os("CLICOLOR").is_some_and(|value| value == "0");
    let forced =
        std::env::var_os("CLICOLOR_FORCE").is_some_and(|value| !value.is_empty() && value != "0");
    if no_colour {
        ColorChoice::Never
    } else if COLOUR_ALWAYS.get() == Some(&true) {
        ColorChoice::Always
    } else if set("NO_COLOR") || clicolor_off {
        ColorChoice::Never
    } else if forced || stream.is_terminal() {
        ColorChoice::Always
    } else {
        ColorChoice::Never
    }
}

/// Opens the store `args` names, or the default one, for a command that needs it: an
/// error line and exit 3 when it cannot be.
pub(crate) fn open_store(
    args: &crate::cli::StoreArgs,
) -> Result<Box<dyn crate::store::Backend>, ExitStatus> {
    let address = crate::store::Address::resolve(args.named()).map_err(|reason| {
        error_line(format_args!("error: {reason}"));
        ExitStatus::OtherError
    })?;
    crate::store::open(&address.location).map_err(|error| {
        error_line(format_args!("error: {error}"));
        ExitStatus::OtherError
    })
}

/// A job file as read and compiled: what every command that reads one starts from.
pub(crate) struct Loaded {
    /// The file as read (empty when it could not be).
    pub(crate) source: Source,
    /// Its job and problems; an unreadable file is one problem and no job.
    pub(crate) compiled: Compiled,
}

/// Reads `path` (`-` for standard input) and compiles it with `variables`.
pub(crate) fn load(path: &Path, variables: Option<&Variables>) -> Loaded {
    let (source, unreadable) = Source::read_argument(path);
    let compiled = match unreadable {
        Some(diagnostic) => Compiled::unreadable(diagnostic),
        None => crate::compile(&source, variables),
    };
    Loaded { source, compiled }
}

/// `--env`'s variables, none when it is not given; an error line and exit 3 when it is not a
/// JSON object of values.
pub(crate) fn env_variables(text: Option<&str>) -> Result<Variables, ExitStatus> {
    text.map(crate::env_option::parse)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|error| {
            error_line(format_args!("error: {error}"));
            ExitStatus::OtherError
        })
}

/// A job that compiled without errors, for the commands that write their result on stdout
/// and every problem on stderr.
pub(crate) struct ValidLoad {
    pub(crate) source: Source,
    pub(crate) job: Job,
    pub(crate) resolved: crate::lint::Resolved,
    /// The job's warnings, not printed yet: a command may have problems of its own to print
    /// with them, in position order.
    pub(crate) warnings: Vec<Diagnostic>,
}

/// Reads and compiles `path` as [`load`] does; a job with errors has its diagnostics printed
/// on stderr and gives exit 1.
pub(crate) fn load_valid(
    path: &Path,
    variables: Option<&Variables>,
    no_colour: bool,
) -> Result<ValidLoad, ExitStatus> {
    let Loaded { source, compiled } = load(path, variables);
    let valid = compiled.valid().is_some();
    let Compiled {
        job,
        resolved,
        diagnostics,
        ..
    } = compiled;
    if let (Some(job), Some(resolved)) = (job.filter(|_| valid), resolved) {
        Ok(ValidLoad {
            source,
            job,
            resolved,
            warnings: diagnostics,
        })
    } else {
        print_on_stderr(no_colour, source, diagnostics);
        Err(ExitStatus::Invalid)
    }
}

impl ValidLoad {
    /// Prints the job's warnings and the command's own `problems` on stderr, in position
    /// order; exit 1 when a problem is an error.
    pub(crate) fn report(
        &self,
        no_colour: bool,
        problems: Vec<Diagnostic>,
    ) -> Result<(), ExitStatus> {
        let failed = problems
            .iter()
            .any(|problem| problem.severity() == crate::diag::Severity::Error);
        let mut diagnostics = self.warnings.clone();
        diagnostics.extend(problems);
        if !diagnostics.is_empty() {
            crate::diag::sort(&mut diagnostics);
            print_on_stderr(no_colour, self.source.clone(), diagnostics);
        }
        if failed {
            Err(ExitStatus::Invalid)
        } else {
            Ok(())
        }
    }

    /// Prints the job's warnings on stderr.
    pub(crate) fn print_warnings(&self, no_colour: bool) {
        // Without problems of the command's own, reporting never fails.
        let _ = self.report(no_colour, Vec::new());
    }
}

/// Prints the diagnostics of `source` on stderr: for commands whose stdout carries a result
/// (a job, a drawing), so that a failed write cannot add to the failure already reported.
pub(crate) fn print_on_stderr(no_colour: bool, source: Source, diagnostics: Vec<Diagnostic>) {
    let report = Report {
        source,
        diagnostics,
    };
    let mut stderr = StandardStream::stderr(colour_choice(no_colour, &io::stderr()));
    let _ = print_human(&mut stderr, &report);
}

/// A job read for rewriting (`fmt`, `convert`), with what only its file knew.
struct Rewritable {
    source: Source,
    format: Format,
    job: Job,
    comments: Vec<Comment>,
}

/// Reads a job to rewrite it. Problems for which `refuses` holds make the parsed job unfaithful
/// to the file, so the file is refused with them; other problems (templates, the task graph) do
/// not change a word of the job and are left to `check`.
fn read_rewritable(path: &Path, refuses: fn(&Problem) -> bool) -> Result<Rewritable, Refused> {
    let Loaded { source, compiled } = load(path, None);
    let blocking: Vec<Diagnostic> = compiled
        .diagnostics
        .into_iter()
        .filter(|d| refuses(&d.problem))
        .collect();
    match compiled.job {
        Some(job) if blocking.is_empty() => Ok(Rewritable {
            format: Format::of(&source),
            source,
            job,
            comments: compiled.comments,
        }),
        _ => Err(Refused { source, blocking }),
    }
}

/// A file [`read_rewritable`] refused, with the problems why.
struct Refused {
    source: Source,
    blocking: Vec<Diagnostic>,
}

impl Refused {
    /// Prints the problems; on stderr, because the job itself may be going to stdout.
    fn report(self, no_colour: bool) {
        print_on_stderr(no_colour, self.source, self.blocking);
    }
}

/// How the `--output` file of `dot` and `convert` treats an existing file: replaced only with
/// `--overwrite`. Refusing happens in the rename that puts the new file in place, so there is no
/// moment between a check and the write where another process could create the file.
pub(crate) fn existing_output(overwrite: bool) -> Existing {
    if overwrite {
        Existing::Replace
    } else {
        Existing::Refuse
    }
}

/// Writes a command's result to standard output, or atomically to `output` (an existing file
/// is replaced only with `overwrite`). A reader that stopped early got what it wanted.
pub(crate) fn write_output(text: &str, output: Option<&Path>, overwrite: bool) -> ExitStatus {
    let written = match output {
        None => {
            let mut stdout = io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
        }
        Some(path) => {
            match crate::atomic_write::write(path, text.as_bytes(), existing_output(overwrite))
                .map_err(io::Error::from)
            {
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                    error_line(format_args!(
                        "error: `{}` already exists; add `--overwrite` to replace it",
                        path.display()
                    ));
                    return ExitStatus::OtherError;
                }
                written => written,
            }
        }
    };
    match written {
        Ok(()) => ExitStatus::Success,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitStatus::Success,
        Err(error) => {
            let target = output.map_or_else(
                || "standard output".to_owned(),
                |path| format!("`{}`", path.display()),
            );
            error_line(format_args!("error: cannot write {target}: {error}"));
            ExitStatus::OtherError
        }
    }
}

/// Writes `text` in `colour` (when `out` colours at all), then a plain newline.
pub(crate) fn write_line_in(out: &mut dyn WriteColor, colour: Color, text: &str) -> io::Result<()> {
    crate::render::write_in(out, colour, text)?;
    writeln!(out)
}

/// Writes `message` and a newline on stderr in one piece. A failure is ignored: stderr is
/// where failures are reported, so there is nowhere left to report it.
pub(crate) fn error_line(message: std::fmt::Arguments<'_>) {
    let mut line = message.to_string();
    line.push('\n');
    let _ = io::stderr().write_all(line.as_bytes());
}

/// A command's standard output, coloured or not. The first failed write is kept, so an output
/// that cannot be written is reported once and never panics.
pub(crate) struct Stdout {
    stream: StandardStream,
    failure: Option<io::Error>,
}

impl Stdout {
    /// Standard output, coloured as [`colour_choice`] says.
    pub(crate) fn new(no_colour: bool) -> Self {
        Self {
            stream: StandardStream::stdout(colour_choice(no_colour, &io::stdout())),
            failure: None,
        }
    }

    /// Whether text written here is coloured.
    pub(crate) fn colours(&self) -> bool {
        self.stream.supports_color()
    }

    /// Runs `write` on the stream, even after a failed write: it may do more than write (the
    /// webhook waits for its events), and a later write may still succeed.
    pub(crate) fn write(&mut self, write: impl FnOnce(&mut dyn WriteColor) -> io::Result<()>) {
        if let Err(error) = write(&mut self.stream) {
            self.failure.get_or_insert(error);
        }
    }

    /// Writes one line.
    pub(crate) fn line(&mut self, text: &str) {
        self.write(|out| writeln!(out, "{text}"));
    }

    /// Writes one line in `colour`.
    pub(crate) fn line_in(&mut self, colour: Color, text: &str) {
        self.write(|out| write_line_in(out, colour, text));
    }

    /// Flushes what is left. A failed write is reported on stderr, and turns a `status` of
    /// success into exit 3; a reader that stopped early (a closed pipe, `| head`) got what it
    /// wanted and is no failure.
    pub(crate) fn finish(mut self, status: ExitStatus) -> ExitStatus {
        self.write(|out| out.flush());
        match self.failure {
            None => status,
            Some(error) if error.kind() == io::ErrorKind::BrokenPipe => status,
            Some(error) => {
                error_line(format_args!(
                    "error: cannot write to standard output: {error}"
                ));
                if status == ExitStatus::Success {
                    ExitStatus::OtherError
                } else {
                    status
                }
            }
        }
    }
}
