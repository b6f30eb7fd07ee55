//! `factotum check FILES...`: every problem of every file, in one pass.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Loaded, Stdout, error_line, load};
use crate::cli::{CheckArgs, Format};
use crate::diag::Severity;
use crate::render::diagnostics::{Report, print};
use crate::template::Variables;
use crate::{ExitStatus, env_option};

/// Runs `check`.
pub(crate) fn run(args: &CheckArgs, no_colour: bool) -> ExitStatus {
    let mut variables = match args.env.as_deref().map(env_option::parse).transpose() {
        Ok(variables) => variables,
        Err(error) => {
            error_line(format_args!("error: {error}"));
            return ExitStatus::OtherError;
        }
    };
    if !args.tags.is_empty() {
        variables
            .get_or_insert_default()
            .extend(super::run::tags(&args.tags).map(|(key, value)| (format!("tag:{key}"), value)));
    }
    for text in &args.constraints {
        if let Err(error) = crate::constraint::HostConstraint::parse(text) {
            error_line(format_args!("error: `--constraint {text}`: {error}"));
            return ExitStatus::OtherError;
        }
    }
    let reports = check_files(&args.files, variables.as_ref());
    let mut stdout = Stdout::new(no_colour);
    stdout.write(|out| print(out, args.format, &reports));
    let errors: usize = reports.iter().map(|r| r.count(Severity::Error)).sum();
    let warnings: usize = reports.iter().map(|r| r.count(Severity::Warning)).sum();
    let failed = errors > 0 || (args.deny_warnings && warnings > 0);
    if args.format == Format::Human && errors + warnings > 0 {
        error_line(format_args!(
            "{} with {}, {} in {}{}",
            if failed { "failed" } else { "passed" },
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(reports.len(), "file"),
            if errors == 0 && failed {
                " (--deny-warnings)"
            } else {
                ""
            },
        ));
    }
    stdout.finish(if failed {
        ExitStatus::Invalid
    } else {
        ExitStatus::Success
    })
}

/// Reads and checks one file (`-` for standard input).
pub(crate) fn check_file(path: &Path, variables: Option<&Variables>) -> Report {
    let Loaded { source, compiled } = load(path, variables);
    Report {
        source,
        diagnostics: compiled.diagnostics,
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

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
