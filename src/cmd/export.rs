//! `factotum export JOB --to airflow|slurm`: check the job, then write it for another engine.

use super::{Loaded, error_line, load, print_on_stderr};
use crate::cli::{Engine, ExportArgs};
use crate::export::{self, Settings, airflow, slurm};
use crate::graph::StartError;
use crate::template::Variables;
use crate::{Compiled, ExitStatus, env_option};

/// Runs `export`. Diagnostics go to stderr: stdout may carry the export.
pub(crate) fn run(args: &ExportArgs, no_colour: bool) -> ExitStatus {
    if let Err(problem) = usage(args) {
        error_line(format_args!("error: {problem}"));
        return ExitStatus::OtherError;
    }
    let env = match args.env.as_deref().map(env_option::parse).transpose() {
        Ok(env) => env.unwrap_or_default(),
        Err(error) => {
            error_line(format_args!("error: {error}"));
            return ExitStatus::OtherError;
        }
    };
    let tags: Vec<(String, String)> = super::run::tags(&args.tags).collect();
    let tag_variables = tags
        .iter()
        .map(|(key, value)| (format!("tag:{key}"), value.clone()));
    // Deferred values are not the job's yet: the job is checked without them, as `check` does.
    let mut fixed: Variables = if args.defer_env {
        Variables::new()
    } else {
        env.clone()
    };
    fixed.extend(tag_variables);
    let Loaded { source, compiled } = load(&args.factfile, (!args.defer_env).then_some(&fixed));
    let valid = compiled.valid().is_some();
    let Compiled {
        job,
        resolved,
        diagnostics,
        ..
    } = compiled;
    let (Some(job), Some(resolved)) = (job.filter(|_| valid), resolved) else {
        print_on_stderr(no_colour, source, diagnostics);
        return ExitStatus::Invalid;
    };
    let plan = resolved.graph();
    let members = match &args.start {
        None => (0..plan.len()).collect(),
        Some(wanted) => match resolved
            .task(wanted)
            .ok_or(StartError::NotFound)
            .and_then(|start| plan.subtree(start))
        {
            Ok(members) => members,
            Err(error) => {
                print_on_stderr(no_colour, source, diagnostics);
                error_line(format_args!(
                    "error: cannot export from `{wanted}`: {}",
                    match error {
                        StartError::NotFound => "no task has that name",
                        StartError::NotSelfContained =>
                            "a task below it also waits for a task outside what it starts",
                    }
                ));
                return ExitStatus::OtherError;
            }
        },
    };
    let settings = Settings {
        source: &source.name,
        fixed: &fixed,
        deferred: args.defer_env.then_some(&env),
        members: &members,
        tags: &tags,
    };
    let options = airflow::Options {
        dag_id: args.dag_id.as_deref(),
        schedule: args.schedule.as_deref(),
    };
    let exported = export::build(&job, &plan, &settings).and_then(|exported| {
        let problems = match args.to {
            Engine::Airflow => airflow::check(&exported, &options),
            Engine::Slurm => slurm::check(&exported),
        };
        if problems.is_empty() {
            Ok(exported)
        } else {
            Err(problems)
        }
    });
    let mut warnings = diagnostics;
    let exported = match exported {
        Ok(exported) => exported,
        Err(problems) => {
            warnings.extend(problems);
            crate::diag::sort(&mut warnings);
            print_on_stderr(no_colour, source, warnings);
            return ExitStatus::Invalid;
        }
    };
    if !warnings.is_empty() {
        print_on_stderr(no_colour, source, warnings);
    }
    let text = match args.to {
        Engine::Airflow => airflow::print(&exported, &options),
        Engine::Slurm => slurm::print(&exported),
    };
    super::write_output(&text, args.output.as_deref(), args.overwrite)
}

/// Options that do not go together, found before the job is read.
fn usage(args: &ExportArgs) -> Result<(), String> {
    if args.to == Engine::Slurm {
        if args.defer_env {
            return Err(
                "`--defer-env` applies to Airflow only: a Slurm script has no run \
                        parameters; give the values with `--env`"
                    .to_owned(),
            );
        }
        for (given, option) in [
            (args.dag_id.is_some(), "--dag-id"),
            (args.schedule.is_some(), "--schedule"),
        ] {
            if given {
                return Err(format!("`{option}` applies to Airflow only"));
            }
        }
    }
    if let Some(id) = &args.dag_id {
        airflow::check_id(id).map_err(|reason| format!("`--dag-id {id}`: {reason}"))?;
    }
    if args
        .schedule
        .as_deref()
        .is_some_and(|schedule| schedule.trim().is_empty())
    {
        return Err(
            "`--schedule` needs a cron expression or preset, such as `0 3 * * *`".to_owned(),
        );
    }
    Ok(())
}
