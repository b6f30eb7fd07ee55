//! `factotum check FILES...`: every problem of every file, in one pass.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use codespan_reporting::term::termcolor::{StandardStream, WriteColor};

use crate::cli::{CheckArgs, Format};
use crate::diag::{Diagnostic, Severity};
use crate::render::diagnostics::Printable;
use crate::source::Source;
use crate::template::Variables;
use crate::{ExitStatus, env_option};

/// A checked file: its text (for printing excerpts) and its problems, sorted.
pub struct Report {
    /// The file as read.
    pub source: Source,
    /// Its problems in position order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity() == severity)
            .count()
    }
}

/// Runs `check`.
pub fn run(args: &CheckArgs) -> ExitStatus {
    let variables = match args.env.as_deref().map(env_option::parse).transpose() {
        Ok(variables) => variables,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitStatus::OtherError;
        }
    };
    for text in &args.constraints {
        if let Err(error) = crate::constraint::HostConstraint::parse(text) {
            eprintln!("error: `--constraint {text}`: {error}");
            return ExitStatus::OtherError;
        }
    }
    let reports = check_files(&args.files, variables.as_ref());
    let mut stdout = StandardStream::stdout(super::colour_choice(args.no_colour, &io::stdout()));
    if let Err(error) = print(&mut stdout, args.format, &reports) {
        if error.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write the report: {error}");
            return ExitStatus::OtherError;
        }
    }
    let errors: usize = reports.iter().map(|r| r.count(Severity::Error)).sum();
    let warnings: usize = reports.iter().map(|r| r.count(Severity::Warning)).sum();
    if args.format == Format::Human && errors + warnings > 0 {
        eprintln!(
            "{} with {}, {} in {}",
            if errors > 0 { "failed" } else { "passed" },
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(reports.len(), "file"),
        );
    }
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        ExitStatus::Invalid
    } else {
        ExitStatus::Success
    }
}

/// Reads and checks one file (`-` for standard input).
pub fn check_file(path: &Path, variables: Option<&Variables>) -> Report {
    let (source, unreadable) = Source::read_argument(path);
    let diagnostics = match unreadable {
        Some(diagnostic) => vec![diagnostic],
        None => crate::check(&source, variables),
    };
    Report {
        source,
        diagnostics,
    }
}

/// Checks files on every core; the reports come back in the order the files were given.
fn check_files(paths: &[PathBuf], variables: Option<&Variables>) -> Vec<Report> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(paths.len());
    if workers <= 1 {
        return paths
            .iter()
            .map(|path| check_file(path, variables))
            .collect();
    }
    let next = AtomicUsize::new(0);
    let mut reports: Vec<(usize, Report)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = paths.get(index) else {
                            return done;
                        };
                        done.push((index, check_file(path, variables)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    reports.sort_by_key(|(index, _)| *index);
    reports.into_iter().map(|(_, report)| report).collect()
}

fn print(out: &mut dyn WriteColor, format: Format, reports: &[Report]) -> io::Result<()> {
    match format {
        Format::Human => {
            for report in reports {
                print_human(out, report)?;
            }
        }
        Format::Short => {
            for report in reports {
                let printable = Printable::new(&report.source);
                for diagnostic in &report.diagnostics {
                    printable.short(out, diagnostic)?;
                }
            }
        }
        Format::Json => {
            let printables: Vec<Printable<'_>> = reports
                .iter()
                .map(|report| Printable::new(&report.source))
                .collect();
            let all: Vec<_> = reports
                .iter()
                .zip(&printables)
                .flat_map(|(report, printable)| {
                    report
                        .diagnostics
                        .iter()
                        .map(|diagnostic| printable.json(diagnostic))
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &all)?;
            writeln!(out)?;
        }
    }
    out.flush()
}

/// Prints one file's diagnostics as codespan-reporting does.
pub fn print_human(out: &mut dyn WriteColor, report: &Report) -> io::Result<()> {
    let printable = Printable::new(&report.source);
    for diagnostic in &report.diagnostics {
        printable.human(out, diagnostic)?;
    }
    Ok(())
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
