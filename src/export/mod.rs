//! `export`: a valid job as another engine's job, an Apache Airflow DAG file or a Slurm
//! submission script.
//!
//! The engine-neutral view ([`Export`]) is built here once, from the IR and the resolved task
//! graph: the tasks in plan order, each with its command line (as `run --dry-run` prints it),
//! its exit-code meaning and who waits for whom. Each engine's module only prints that view.

pub(crate) mod airflow;
pub(crate) mod slurm;

use std::path::Path;

use crate::constraint::HostConstraint;
use crate::diag::{Diagnostic, Problem};
use crate::exec;
use crate::graph::{Schedule, TaskGraph};
use crate::ir::{Decimal, Job, Retry};
use crate::span::{Span, Spanned};
use crate::template::{Filter, Segment, Template, Variables, push_shell_quoted};

/// What an export needs besides the job.
pub(crate) struct Settings<'a> {
    /// The file as named on the command line, for the header.
    pub(crate) source: &'a str,
    /// Values fixed at export: the tags as `tag:KEY`, and `--env` unless it is deferred.
    pub(crate) fixed: &'a Variables,
    /// With `--defer-env`: the `--env` values, which become the defaults of run-time
    /// parameters instead of being written into the commands.
    pub(crate) deferred: Option<&'a Variables>,
    /// The tasks exported (all, or `--start`'s sub-tree), in file order.
    pub(crate) members: &'a [usize],
    /// `--tag` pairs, in order.
    pub(crate) tags: &'a [(String, String)],
    /// The directory relative working directories start from, absolute: the job file's, as
    /// `run` takes it.
    pub(crate) job_directory: &'a Path,
}

/// A job as every engine sees it.
#[derive(Debug)]
pub(crate) struct Export {
    /// The file as named on the command line.
    pub(crate) source: String,
    /// The job's name: fixed values rendered, deferred placeholders as written.
    pub(crate) title: String,
    /// The job's name with deferred placeholders left out, to derive identifiers from.
    pub(crate) stem: String,
    /// The tasks in plan order (the order `run --dry-run` prints).
    pub(crate) tasks: Vec<ExportedTask>,
    /// The deferred variables the commands use, in order of first use.
    pub(crate) parameters: Vec<Parameter>,
    /// The one host every task must run on, when the job names one.
    pub(crate) host: Option<Host>,
    /// `--tag` pairs, in order.
    pub(crate) tags: Vec<(String, String)>,
    /// The longest the whole run may take (the job's `timeout`).
    pub(crate) timeout: Option<Spanned<Decimal>>,
    /// The job's pools: name and size, in file order.
    pub(crate) pools: Vec<(String, u32)>,
    /// The job file's directory, absolute: where a working directory that starts with a
    /// deferred variable is resolved from when the engine runs the task.
    pub(crate) job_directory: String,
}

/// One task as every engine sees it.
#[derive(Debug)]
pub(crate) struct ExportedTask {
    /// Its name, rendered.
    pub(crate) name: String,
    /// The command line `sh -c` gets, in pieces when some values are deferred.
    pub(crate) line: Vec<Piece>,
    /// Exit codes that mean success.
    pub(crate) continue_codes: Vec<u16>,
    /// Exit codes that end this branch early and successfully.
    pub(crate) finish_codes: Vec<u16>,
    /// The tasks it waits for, as positions in [`Export::tasks`].
    pub(crate) after: Vec<usize>,
    /// Every task below it (what an early finish skips), as positions in plan order.
    pub(crate) below: Vec<usize>,
    /// How a failed attempt is tried again.
    pub(crate) retry: Option<Retry>,
    /// The longest one attempt may take.
    pub(crate) timeout: Option<Spanned<Decimal>>,
    /// Variables added to the command's environment: each name and its value in pieces.
    pub(crate) env: Vec<(String, Vec<Piece>)>,
    /// Where the command runs: absolute, unless it starts with a deferred variable (whose
    /// value may be relative to [`Export::job_directory`]).
    pub(crate) directory: Option<Vec<Piece>>,
    /// The pool it counts against.
    pub(crate) pool: Option<Spanned<String>>,
}

/// A piece of a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Text that reaches the shell as it is.
    Text(String),
    /// A deferred variable's value, inserted as its filter says when the engine runs the task.
    Parameter { name: String, filter: Filter },
}

/// A deferred variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Parameter {
    pub(crate) name: String,
    /// Its `--env` value, if one was given.
    pub(crate) default: Option<String>,
    /// Its first use.
    pub(crate) span: Span,
}

/// The host of the job's `host` constraints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Host {
    /// A hostname or an IP address, as written.
    pub(crate) name: String,
    /// Its constraint.
    pub(crate) span: Span,
}

impl ExportedTask {
    /// The command line when nothing is deferred; `None` when a piece is a parameter.
    pub(crate) fn plain_line(&self) -> Option<String> {
        let mut line = String::new();
        for piece in &self.line {
            match piece {
                Piece::Text(text) => line.push_str(text),
                Piece::Parameter { .. } => return None,
            }
        }
        Some(line)
    }
}

/// The view of a valid `job` (its `plan` from the linter) that every engine prints; problems
/// that only an export has (a name that cannot be fixed, several hosts) as diagnostics.
pub(crate) fn build(
    job: &Job,
    plan: &TaskGraph,
    settings: &Settings<'_>,
) -> Result<Export, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let order = Schedule::new(plan, settings.members).start_order();
    let mut position = vec![usize::MAX; plan.len()];
    for (at, &task) in order.iter().enumerate() {
        position[task] = at;
    }
    let mut parameters: Vec<Parameter> = Vec::new();
    let mut lines = Vec::with_capacity(order.len());
    for &task in &order {
        let task = &job.tasks[task];
        let arguments: Vec<Vec<Piece>> = task
            .arguments
            .iter()
            .map(|argument| pieces(argument, settings, &mut parameters))
            .collect();
        lines.push(exec::command_line(
            pieces(&task.command, settings, &mut parameters),
            arguments,
            |text| Piece::Text(text.to_owned()),
        ));
    }
    let tasks = order
        .iter()
        .zip(lines)
        .map(|(&task, line)| {
            let definition = &job.tasks[task];
            let codes = |list: &crate::span::Spanned<Vec<crate::span::Spanned<u16>>>| {
                list.value.iter().map(|code| code.value).collect()
            };
            ExportedTask {
                name: fixed_name(&definition.name, settings, &mut problems),
                line: merged(line),
                continue_codes: codes(&definition.on_result.continue_job),
                finish_codes: codes(&definition.on_result.terminate_job_with_success),
                after: plan.dependencies[task]
                    .iter()
                    .filter(|&&dependency| position[dependency] != usize::MAX)
                    .map(|&dependency| position[dependency])
                    .collect(),
                below: below(plan, task, &position),
                retry: definition.retry.clone(),
                timeout: definition.timeout.clone(),
                env: definition
                    .env
                    .iter()
                    .map(|variable| {
                        let value = pieces(&variable.value, settings, &mut parameters);
                        (variable.name.value.clone(), merged(value))
                    })
                    .collect(),
                directory: definition.working_directory.as_ref().map(|directory| {
                    absolute(
                        pieces(directory, settings, &mut parameters),
                        settings.job_directory,
                    )
                }),
                pool: definition.pool.clone(),
            }
        })
        .collect();
    // Dependencies are names too: they must be fixed the same way, or the graph would change.
    for &task in &order {
        for dependency in &job.tasks[task].depends_on {
            fixed_name(dependency, settings, &mut problems);
        }
    }
    let host = single_host(job, &mut problems);
    let (title, stem) = job_name(&job.name, settings);
    if problems.is_empty() {
        Ok(Export {
            source: settings.source.to_owned(),
            title,
            stem,
            tasks,
            parameters,
            host,
            tags: settings.tags.to_vec(),
            timeout: job.timeout.clone(),
            pools: job
                .pools
                .iter()
                .map(|pool| (pool.name.value.clone(), pool.size.value))
                .collect(),
            job_directory: settings.job_directory.to_string_lossy().into_owned(),
        })
    } else {
        Err(problems)
    }
}

/// A template as pieces: fixed values rendered, deferred ones as parameters (recorded in
/// `parameters` on first use).
fn pieces(
    template: &Template,
    settings: &Settings<'_>,
    parameters: &mut Vec<Parameter>,
) -> Vec<Piece> {
    let mut pieces = Vec::new();
    for segment in template.segments() {
        match segment {
            Segment::Text(text) => pieces.push(Piece::Text(text.to_owned())),
            Segment::Placeholder(placeholder) if placeholder.is_comment() => {}
            Segment::Placeholder(placeholder) => {
                if let Some(value) = settings.fixed.get(&placeholder.name) {
                    pieces.push(Piece::Text(filtered(value, placeholder.filter)));
                    continue;
                }
                if !parameters.iter().any(|p| p.name == placeholder.name) {
                    parameters.push(Parameter {
                        name: placeholder.name.clone(),
                        default: settings
                            .deferred
                            .and_then(|values| values.get(&placeholder.name))
                            .cloned(),
                        span: placeholder.span,
                    });
                }
                pieces.push(Piece::Parameter {
                    name: placeholder.name.clone(),
                    filter: placeholder.filter,
                });
            }
        }
    }
    pieces
}

/// A working directory in `pieces` made absolute: a relative one is joined to the job file's
/// directory, as `run` joins it. One that starts with a deferred variable is left as it is:
/// whether it is relative is known only when the engine runs the task.
fn absolute(pieces: Vec<Piece>, job_directory: &Path) -> Vec<Piece> {
    let pieces = merged(pieces);
    match pieces.first() {
        Some(Piece::Text(text)) if !text.starts_with('/') => {
            let mut joined = vec![Piece::Text(format!("{}/", job_directory.to_string_lossy()))];
            joined.extend(pieces);
            merged(joined)
        }
        _ => pieces,
    }
}

/// The waits of `retry` before the second attempt, the third, and so on, as `run` computes
/// them before its jitter, to the nearest millisecond. An engine adds its own jitter, or none.
pub(crate) fn retry_delays(retry: &Retry) -> Vec<Decimal> {
    let policy = exec::RetryPolicy::of(retry);
    (1..policy.attempts)
        .map(|attempt| {
            let nanos = policy.nominal_wait(attempt).as_nanos();
            let millis = nanos.saturating_add(500_000) / 1_000_000;
            Decimal::from_thousandths(u64::try_from(millis).unwrap_or(u64::MAX))
        })
        .collect()
}

/// Adjacent text pieces joined, so a line with nothing deferred is one piece.
fn merged(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut merged: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match (merged.last_mut(), piece) {
            (Some(Piece::Text(last)), Piece::Text(text)) => last.push_str(&text),
            (_, piece) => merged.push(piece),
        }
    }
    merged
}

/// A value inserted as `filter` says.
fn filtered(value: &str, filter: Filter) -> String {
    match filter {
        Filter::Verbatim => value.to_owned(),
        Filter::Shell => {
            let mut quoted = String::new();
            push_shell_quoted(&mut quoted, value);
            quoted
        }
    }
}

/// The values a name may use: the fixed ones, then the defaults of deferred ones.
fn name_value<'s>(settings: &'s Settings<'_>, name: &str) -> Option<&'s String> {
    settings
        .fixed
        .get(name)
        .or_else(|| settings.deferred.and_then(|values| values.get(name)))
}

/// A task name or dependency rendered: an engine fixes names when it reads the job, so a
/// deferred variable in one needs its `--env` value (E701 when it has none).
fn fixed_name(
    template: &Template,
    settings: &Settings<'_>,
    problems: &mut Vec<Diagnostic>,
) -> String {
    let mut name = String::new();
    for segment in template.segments() {
        match segment {
            Segment::Text(text) => name.push_str(text),
            Segment::Placeholder(placeholder) if placeholder.is_comment() => {}
            Segment::Placeholder(placeholder) => match name_value(settings, &placeholder.name) {
                Some(value) => name.push_str(&filtered(value, placeholder.filter)),
                None => problems.push(
                    Diagnostic::new(Problem::DeferredName {
                        name: placeholder.name.clone(),
                    })
                    .at(placeholder.span, "needs its value at export")
                    .note(crate::lint::value_hint(&placeholder.name)),
                ),
            },
        }
    }
    name
}

/// The job's name for people (deferred placeholders as written) and for identifiers
/// (deferred placeholders left out).
fn job_name(template: &Template, settings: &Settings<'_>) -> (String, String) {
    let mut title = String::new();
    let mut stem = String::new();
    for segment in template.segments() {
        match segment {
            Segment::Text(text) => {
                title.push_str(text);
                stem.push_str(text);
            }
            Segment::Placeholder(placeholder) if placeholder.is_comment() => {}
            Segment::Placeholder(placeholder) => match settings.fixed.get(&placeholder.name) {
                Some(value) => {
                    let value = filtered(value, placeholder.filter);
                    title.push_str(&value);
                    stem.push_str(&value);
                }
                None => title.push_str(&template.text[placeholder.range.clone()]),
            },
        }
    }
    (title, stem)
}

/// Every task below `task` that is exported, in plan order.
fn below(plan: &TaskGraph, task: usize, position: &[usize]) -> Vec<usize> {
    let mut seen = vec![false; plan.len()];
    let mut stack = vec![task];
    let mut found = Vec::new();
    while let Some(current) = stack.pop() {
        for &dependent in &plan.dependents[current] {
            if !seen[dependent] {
                seen[dependent] = true;
                stack.push(dependent);
                if position[dependent] != usize::MAX {
                    found.push(position[dependent]);
                }
            }
        }
    }
    found.sort_unstable();
    found
}

/// The host the job's constraints name, if any. Engines send a task to one queue or node,
/// and a run needs every constraint to hold, so two different hosts cannot be exported (E700).
fn single_host(job: &Job, problems: &mut Vec<Diagnostic>) -> Option<Host> {
    let named: Vec<(String, Span)> = job
        .constraints
        .iter()
        .filter_map(
            |constraint| match HostConstraint::parse(&constraint.value) {
                Ok(HostConstraint::Named(host)) => Some((host, constraint.span)),
                _ => None,
            },
        )
        .collect();
    let (first, first_span) = named.first()?;
    let others: Vec<Span> = named
        .iter()
        .filter(|(host, _)| host != first)
        .map(|(_, span)| *span)
        .collect();
    if others.is_empty() {
        return Some(Host {
            name: first.clone(),
            span: *first_span,
        });
    }
    let mut diagnostic = Diagnostic::new(Problem::SeveralHosts)
        .at(*first_span, "one host here")
        .note("hint: an exported task goes to one Airflow queue or Slurm node; keep one `host` constraint");
    for span in others {
        diagnostic = diagnostic.also(span, "another here");
    }
    problems.push(diagnostic);
    None
}

/// Text on one comment line: line breaks and other control characters escaped.
pub(crate) fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    line
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ir::{EnvVar, Pool};
    use crate::source::Source;

    /// A spanned value where the span does not matter.
    pub(crate) fn at<T>(value: T) -> Spanned<T> {
        Spanned::new(value, Span::new(0, 0))
    }

    pub(crate) fn seconds(thousandths: u64) -> Spanned<Decimal> {
        at(Decimal::from_thousandths(thousandths))
    }

    pub(crate) fn retry(attempts: u32, delay: u64, backoff: u64, max: Option<u64>) -> Retry {
        Retry {
            span: Span::new(0, 0),
            attempts: at(attempts),
            delay: Some(seconds(delay)),
            backoff: Some(seconds(backoff)),
            max_delay: max.map(seconds),
            on_codes: None,
        }
    }

    /// A template of `text` without placeholders' problems.
    pub(crate) fn template(text: &str) -> crate::template::Template {
        let mut problems = Vec::new();
        let template =
            crate::template::Template::parse(text, Span::new(0, 0), &|at| at, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        template
    }

    /// The export of the DSL job `text` after `change` gave its IR options, with `fixed`
    /// values, from the job directory `/jobs`.
    pub(crate) fn exported(
        text: &str,
        fixed: &[(&str, &str)],
        change: impl FnOnce(&mut Job),
    ) -> Export {
        let compiled = crate::compile(&Source::new("job.factotum", text), None);
        let mut job = compiled.job.clone().expect("a job");
        change(&mut job);
        let plan = compiled.resolved.as_ref().expect("resolved").graph();
        let fixed: Variables = fixed
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let members: Vec<usize> = (0..plan.len()).collect();
        let settings = Settings {
            source: "job.factotum",
            fixed: &fixed,
            deferred: None,
            members: &members,
            tags: &[],
            job_directory: Path::new("/jobs"),
        };
        build(&job, &plan, &settings).expect("exported")
    }

    #[test]
    fn retry_delays_grow_by_the_backoff_up_to_the_longest() {
        assert_eq!(
            retry_delays(&retry(5, 2000, 2000, Some(10_000))),
            [2000, 4000, 8000, 10_000].map(Decimal::from_thousandths)
        );
        assert_eq!(
            retry_delays(&retry(3, 1500, 1000, None)),
            [1500, 1500].map(Decimal::from_thousandths)
        );
        assert!(retry_delays(&retry(1, 1000, 2000, None)).is_empty());
    }

    #[test]
    fn options_reach_the_view_with_directories_made_absolute() {
        let export = exported(
            "job \"j\"\ntask \"a\" { run \"true\" }\ntask \"b\" { run \"true\" }\ntask \"c\" { run \"true\" }\n",
            &[("day", "2026-12-02")],
            |job| {
                job.timeout = Some(seconds(3_600_000));
                job.pools = vec![Pool {
                    name: at("warehouse".to_owned()),
                    size: at(2),
                }];
                let a = &mut job.tasks[0];
                a.working_directory = Some(template("data/{{ day }}"));
                a.env = vec![EnvVar {
                    name: at("DAY".to_owned()),
                    value: template("{{ day }}"),
                }];
                a.pool = Some(at("warehouse".to_owned()));
                job.tasks[1].working_directory = Some(template("/srv/{{ day }}"));
                job.tasks[2].working_directory = Some(template("{{ day }}/x"));
            },
        );
        let text = |text: &str| vec![Piece::Text(text.to_owned())];
        assert_eq!(
            export.tasks[0].directory,
            Some(text("/jobs/data/2026-12-02"))
        );
        assert_eq!(export.tasks[1].directory, Some(text("/srv/2026-12-02")));
        // A fixed value is text like any other: relative, so joined.
        assert_eq!(export.tasks[2].directory, Some(text("/jobs/2026-12-02/x")));
        assert_eq!(
            export.tasks[0].env,
            [("DAY".to_owned(), text("2026-12-02"))]
        );
        assert_eq!(export.pools, [("warehouse".to_owned(), 2)]);
        assert_eq!(
            export.timeout.map(|timeout| timeout.value),
            Some(Decimal::from_thousandths(3_600_000))
        );
    }
}
