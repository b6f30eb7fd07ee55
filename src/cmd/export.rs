//! `factotum export JOB --to airflow|slurm`: check the job, then write it for another engine.

use std::path::{Path, PathBuf};

use super::{ValidLoad, error_line, load_valid};
use crate::ExitStatus;
use crate::cli::{Engine, ExportArgs};
use crate::diag::Diagnostic;
use crate::export::{self, Export, Settings, airflow, slurm};
use crate::graph::{StartError, TaskGraph};
use crate::template::Variables;

/// Runs `export`. Diagnostics go to stderr: stdout may carry the export.
pub(crate) fn run(args: &ExportArgs, no_colour: bool) -> ExitStatus {
    if let Err(problem) = usage(args) {
        error_line(format_args!("error: {problem}"));
        return ExitStatus::OtherError;
    }
    let env = match super::env_variables(args.env.as_deref()) {
        Ok(env) => env,
        Err(status) => return status,
    };
    let tags: Vec<(String, String)> = super::run::tags(&args.tags).collect();
    // Deferred values are not the job's yet: the job is checked without them, as `check` does.
    let mut fixed: Variables = if args.defer_env {
        Variables::new()
    } else {
        env.clone()
    };
    fixed.extend(super::run::tag_variables(&tags));
    let loaded = match load_valid(
        &args.factfile,
        (!args.defer_env).then_some(&fixed),
        no_colour,
    ) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    let plan = loaded.resolved.graph();
    let members = match &args.start {
        None => (0..plan.len()).collect(),
        Some(wanted) => match loaded
            .resolved
            .task(wanted)
            .ok_or(StartError::NotFound)
            .and_then(|start| plan.subtree(start))
        {
            Ok(members) => members,
            Err(error) => {
                loaded.print_warnings(no_colour);
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
        source: &loaded.source.name,
        fixed: &fixed,
        deferred: args.defer_env.then_some(&env),
        members: &members,
        tags: &tags,
        job_directory: &job_directory(&args.factfile),
    };
    let options = airflow::Options {
        dag_id: args.dag_id.as_deref(),
        schedule: args.schedule.as_deref(),
    };
    let engine_problems = |exported: &Export| match args.to {
        Engine::Airflow => airflow::check(exported, &options),
        Engine::Slurm => slurm::check(exported),
    };
    let exported = match build_or_report(&loaded, &plan, &settings, engine_problems, no_colour) {
        Ok(exported) => exported,
        Err(status) => return status,
    };
    let text = match args.to {
        Engine::Airflow => airflow::print(&exported, &options),
        Engine::Slurm => slurm::print(&exported),
    };
    super::write_output(&text, args.output.as_deref(), args.overwrite)
}

/// The export of a valid job as `settings` say, with what the engine cannot express
/// (`engine_problems`) found; the job's warnings and every problem are printed on stderr, and
/// an error gives exit 1 (a warning, such as an option the engine has no counterpart for, does
/// not). `submit` finds the DAG it starts through this too.
pub(crate) fn build_or_report(
    loaded: &ValidLoad,
    plan: &TaskGraph,
    settings: &Settings<'_>,
    engine_problems: impl FnOnce(&Export) -> Vec<Diagnostic>,
    no_colour: bool,
) -> Result<Export, ExitStatus> {
    let (exported, problems) = match export::build(&loaded.job, plan, settings) {
        Ok(exported) => {
            let problems = engine_problems(&exported);
            (Some(exported), problems)
        }
        Err(problems) => (None, problems),
    };
    loaded.report(no_colour, problems)?;
    exported.ok_or(ExitStatus::Invalid)
}

/// The directory `run` takes a job's relative working directories from, absolute: an engine
/// runs the tasks elsewhere.
pub(crate) fn job_directory(factfile: &Path) -> PathBuf {
    let directory = super::run::job_directory(factfile);
    let directory = if directory.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &directory
    };
    std::path::absolute(directory).unwrap_or_else(|_| directory.to_owned())
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::job_directory;

    #[test]
    fn the_job_directory_is_absolute() {
        let current = std::env::current_dir().expect("a current directory");
        assert_eq!(job_directory(Path::new("job.factotum")), current);
        assert_eq!(job_directory(Path::new("-")), current);
        assert_eq!(
            job_directory(Path::new("jobs/job.factotum")),
            current.join("jobs")
        );
        assert_eq!(
            job_directory(Path::new("/a/b/job.factotum")),
            Path::new("/a/b")
        );
    }
}
