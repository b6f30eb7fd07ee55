//! `factotum submit JOB --to airflow --url URL`: start a run of an exported job on a running
//! Airflow through its REST API, with `--env` as the run's `conf`; with `--follow`, print each
//! task's start and end in factotum's words and exit as `run` would have.
//!
//! Standard output carries the run's id (and, with `--follow`, the outcome), so that scripts
//! can keep it; the tasks' lines go to standard error, as `run` prints them.

mod airflow;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use self::airflow::{ApiError, Client, TaskInstance};
use super::{Stdout, error_line, load_valid};
use crate::ExitStatus;
use crate::cli::{SubmitArgs, SubmitEngine};
use crate::export::{self, Settings, airflow as airflow_export};
use crate::template::Variables;

/// Time between two looks at a followed run.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Looks in a row that may fail for a reason that can pass (the server restarting) before
/// following gives up.
const TRANSIENT_FAILURES_TOLERATED: u32 = 5;

/// Runs `submit`.
pub(crate) fn run(args: &SubmitArgs, no_colour: bool) -> ExitStatus {
    let mut stdout = Stdout::new(no_colour);
    let status = match args.to {
        SubmitEngine::Airflow => submit_to_airflow(args, no_colour, &mut stdout),
    };
    stdout.finish(status)
}

fn submit_to_airflow(args: &SubmitArgs, no_colour: bool, stdout: &mut Stdout) -> ExitStatus {
    let url = match engine_url(&args.url) {
        Ok(url) => url,
        Err(reason) => {
            error_line(format_args!("error: `--url`: {reason}"));
            return ExitStatus::OtherError;
        }
    };
    // The run's `conf`: each variable sets the DAG's param of the same name, a string, as
    // `export --defer-env` declares them.
    let variables = match super::env_variables(args.env.as_deref()) {
        Ok(variables) => variables,
        Err(status) => return status,
    };
    let job = match exported_as(args, &variables, no_colour) {
        Ok(exported) => exported,
        Err(status) => return status,
    };
    let dag_id = &job.dag_id;
    let url = &url;
    let fail = |error: &ApiError| refused(url, error);
    let mut client = match Client::connect(url) {
        Ok(client) => client,
        Err(error) => return fail(&error),
    };
    let dag = match client.dag(dag_id) {
        Ok(dag) => dag,
        Err(ApiError::NotFound(_)) => {
            error_line(format_args!(
                "error: Airflow at {url} has no DAG `{dag_id}`: export the job into its DAGs folder (`factotum export {} --to airflow --defer-env -o DAGS_FOLDER/{dag_id}.py`) and wait for Airflow to parse it, or name the DAG with --dag-id",
                args.factfile.display()
            ));
            return ExitStatus::OtherError;
        }
        Err(error) => return fail(&error),
    };
    if dag.has_import_errors {
        error_line(format_args!(
            "warning: Airflow could not import the newest version of DAG `{dag_id}`'s file; the run uses the version it parsed last"
        ));
    }
    if dag.is_paused {
        if !args.unpause {
            error_line(format_args!(
                "error: DAG `{dag_id}` is paused in Airflow at {url}, so its run would wait until it is unpaused: add --unpause, or unpause it (`airflow dags unpause {dag_id}`, or in Airflow's UI)"
            ));
            return ExitStatus::OtherError;
        }
        if let Err(error) = client.unpause(dag_id) {
            return fail(&error);
        }
    }
    if let Err(error) = create_pools(&mut client, &job) {
        return fail(&error);
    }
    // Read before the run starts, so that following cannot fail half-way for want of it.
    let upstream = match client.tasks(dag_id) {
        Ok(tasks) => {
            warn_if_stale(dag_id, &tasks, &job.tasks);
            upstream_of(&tasks)
        }
        Err(error) => return fail(&error),
    };
    let run_id = format!(
        "factotum__{}",
        crate::store::new_run_id(std::time::SystemTime::now())
    );
    match client.trigger(dag_id, &run_id, &variables) {
        Ok(()) => {}
        Err(error @ ApiError::Status { status: 400, .. }) => {
            fail(&error);
            error_line(format_args!(
                "hint: the DAG's params are the job's variables: give their values with --env"
            ));
            return ExitStatus::OtherError;
        }
        Err(error) => return fail(&error),
    }
    stdout.line(&run_id);
    if !args.follow {
        return ExitStatus::Success;
    }
    follow(&mut client, url, dag_id, &run_id, upstream, stdout)
}

/// `--url`: an `http://` or `https://` URL with a host and no credentials, without a trailing
/// `/`. A URL with credentials is not quoted back.
fn engine_url(text: &str) -> Result<String, String> {
    let authority = text
        .split_once("://")
        .map_or("", |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    if authority.contains('@') {
        return Err(
            "credentials do not go in the URL: set AIRFLOW_TOKEN, or AIRFLOW_USERNAME \
                    and AIRFLOW_PASSWORD"
                .to_owned(),
        );
    }
    crate::webhook::check_url(text)
        .map_err(|_| format!("`{text}` is not an http:// or https:// URL with a host"))?;
    Ok(text.trim_end_matches('/').to_owned())
}

/// What `submit` needs of the job as `export` makes it.
struct ExportedAs {
    /// `--dag-id`, or the one `export` derives from the job's name.
    dag_id: String,
    /// The tasks' names.
    tasks: Vec<String>,
    /// The job's pools, name and size, which Airflow must have before the run.
    pools: Vec<(String, u32)>,
    /// What a pool created for the job says it is for.
    pool_description: String,
}

/// Compiles the job as `export --defer-env` does (its problems printed, errors exit 1) and
/// gives what the run needs of it.
fn exported_as(
    args: &SubmitArgs,
    variables: &Variables,
    no_colour: bool,
) -> Result<ExportedAs, ExitStatus> {
    if let Some(id) = &args.dag_id {
        airflow_export::check_id(id).map_err(|reason| {
            error_line(format_args!("error: `--dag-id {id}`: {reason}"));
            ExitStatus::OtherError
        })?;
    }
    let loaded = load_valid(&args.factfile, None, no_colour)?;
    let plan = loaded.resolved.graph();
    let members: Vec<usize> = (0..plan.len()).collect();
    let settings = Settings {
        source: &loaded.source.name,
        fixed: &Variables::new(),
        deferred: Some(variables),
        members: &members,
        tags: &[],
        job_directory: &super::export::job_directory(&args.factfile),
    };
    let options = airflow_export::Options {
        dag_id: args.dag_id.as_deref(),
        schedule: None,
    };
    let engine_problems = |exported: &export::Export| airflow_export::check(exported, &options);
    let exported =
        super::export::build_or_report(&loaded, &plan, &settings, engine_problems, no_colour)?;
    Ok(ExportedAs {
        dag_id: airflow_export::dag_id(&exported, &options),
        tasks: exported
            .tasks
            .iter()
            .map(|task| task.name.clone())
            .collect(),
        pool_description: format!("factotum job {}", exported.title),
        pools: exported.pools,
    })
}

/// Creates the job's pools that Airflow does not have (it never schedules a task of a missing
/// pool, so the run would wait forever); an existing pool of another size is left as its
/// owner set it, with a warning.
fn create_pools(client: &mut Client, job: &ExportedAs) -> Result<(), ApiError> {
    for (name, size) in &job.pools {
        match client.ensure_pool(name, *size, &job.pool_description)? {
            None => error_line(format_args!(
                "Airflow pool `{name}` created with {size} slots"
            )),
            Some(slots) if slots != i64::from(*size) => error_line(format_args!(
                "warning: Airflow's pool `{name}` has {slots} slots where the job says {size}; it is left as it is"
            )),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Warns when the DAG has tasks the job does not: it was exported from another version of the
/// job (or another job). Fewer tasks are fine: an export with `--start` has a part of them.
fn warn_if_stale(dag_id: &str, dag_tasks: &[airflow::DagTask], job_tasks: &[String]) {
    let unknown: Vec<String> = dag_tasks
        .iter()
        .map(|task| task.task_display_name.as_str())
        .filter(|name| !job_tasks.iter().any(|task| task == name))
        .map(|name| format!("'{name}'"))
        .collect();
    if !unknown.is_empty() {
        error_line(format_args!(
            "warning: DAG `{dag_id}` has tasks the job does not have ({}): it was exported from another version of the job; export it again",
            unknown.join(", ")
        ));
    }
}

/// Prints why a call to Airflow failed; exit 3.
fn refused(url: &str, error: &ApiError) -> ExitStatus {
    match error {
        ApiError::Unreachable(reason) => {
            error_line(format_args!(
                "error: cannot reach Airflow at {url}: {reason}"
            ));
        }
        ApiError::Credentials(reason) => error_line(format_args!("error: {reason}")),
        ApiError::Refused { .. }
        | ApiError::NotFound(_)
        | ApiError::Status { .. }
        | ApiError::Unexpected(_) => {
            error_line(format_args!("error: Airflow at {url}: {error}"));
        }
    }
    ExitStatus::OtherError
}

/// Each task's upstream tasks, from the DAG's downstream lists.
fn upstream_of(tasks: &[airflow::DagTask]) -> HashMap<String, Vec<String>> {
    let mut upstream: HashMap<String, Vec<String>> = tasks
        .iter()
        .map(|task| (task.task_id.clone(), Vec::new()))
        .collect();
    for task in tasks {
        for downstream in &task.downstream_task_ids {
            upstream
                .entry(downstream.clone())
                .or_default()
                .push(task.task_id.clone());
        }
    }
    upstream
}

/// Polls the run until it ends, printing each task's start and end as they are seen.
fn follow(
    client: &mut Client,
    url: &str,
    dag_id: &str,
    run_id: &str,
    upstream: HashMap<String, Vec<String>>,
    stdout: &mut Stdout,
) -> ExitStatus {
    let mut progress = Progress::new(upstream);
    let mut failures = 0;
    loop {
        // The run's state first: once it has ended, the task instances read after it are
        // final too.
        let looked = client.dag_run(dag_id, run_id).and_then(|run| {
            let instances = client.task_instances(dag_id, run_id)?;
            Ok((run.state, instances))
        });
        match looked {
            Ok((state, instances)) => {
                failures = 0;
                for line in progress.observe(&instances) {
                    error_line(format_args!("{line}"));
                }
                match state.as_str() {
                    "success" => {
                        stdout.line(&format!("Airflow run {run_id} succeeded"));
                        return ExitStatus::Success;
                    }
                    "failed" => {
                        stdout.line(&progress.failure_summary(run_id));
                        return ExitStatus::TaskFailed;
                    }
                    _ => {}
                }
            }
            Err(error) if error.is_transient() && failures < TRANSIENT_FAILURES_TOLERATED => {
                failures += 1;
            }
            Err(error) => {
                refused(url, &error);
                error_line(format_args!(
                    "error: stopped following run {run_id}; it goes on in Airflow"
                ));
                return ExitStatus::OtherError;
            }
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// What has been printed of each task so far, to print each start and end once.
struct Progress {
    upstream: HashMap<String, Vec<String>>,
    started: BTreeSet<String>,
    ended: HashMap<String, (String, &'static str)>,
}

/// One line to print, and when it happened, to print a look's lines in order.
struct Happening {
    at: Option<String>,
    line: String,
}

impl Progress {
    fn new(upstream: HashMap<String, Vec<String>>) -> Self {
        Self {
            upstream,
            started: BTreeSet::new(),
            ended: HashMap::new(),
        }
    }

    /// The lines for what changed since the last look, in the order it happened.
    fn observe(&mut self, instances: &[TaskInstance]) -> Vec<String> {
        let states: HashMap<&str, Option<&str>> = instances
            .iter()
            .map(|instance| (instance.task_id.as_str(), instance.state.as_deref()))
            .collect();
        let mut happenings = Vec::new();
        for instance in instances.iter().filter(|instance| instance.map_index < 0) {
            let name = &instance.task_display_name;
            if ran(instance) && self.started.insert(instance.task_id.clone()) {
                happenings.push(Happening {
                    at: instance.start_date.clone(),
                    line: format!("Task '{name}' started"),
                });
            }
            if self.ended.contains_key(&instance.task_id) {
                continue;
            }
            let upstream = self
                .upstream
                .get(&instance.task_id)
                .map_or(&[][..], Vec::as_slice);
            if let Some(word) = final_word(instance.state.as_deref(), upstream, &states) {
                self.ended
                    .insert(instance.task_id.clone(), (name.clone(), word));
                happenings.push(Happening {
                    at: instance.end_date.clone(),
                    line: format!("Task '{name}' {word}"),
                });
            }
        }
        // Stable: a task's start stays before its end when both have the same time.
        happenings.sort_by(|a, b| a.at.cmp(&b.at));
        happenings
            .into_iter()
            .map(|happening| happening.line)
            .collect()
    }

    /// The last line of a failed run: which tasks failed.
    fn failure_summary(&self, run_id: &str) -> String {
        let mut failed: Vec<String> = self
            .ended
            .values()
            .filter(|(_, word)| *word == "failed")
            .map(|(name, _)| format!("'{name}'"))
            .collect();
        failed.sort();
        match failed.len() {
            0 => format!("Airflow run {run_id} failed"),
            1 => format!(
                "Airflow run {run_id} failed as a task ({}) failed",
                failed[0]
            ),
            _ => format!(
                "Airflow run {run_id} failed as tasks ({}) failed",
                failed.join(", ")
            ),
        }
    }
}

/// Whether a task instance has started: it is running, or ended after running (a try was
/// made). Tasks skipped for their upstream end without a try.
fn ran(instance: &TaskInstance) -> bool {
    match instance.state.as_deref() {
        Some("running" | "deferred" | "up_for_retry" | "up_for_reschedule" | "restarting") => true,
        Some("success" | "failed" | "skipped") => instance.try_number > 0,
        _ => false,
    }
}

/// A task's end in factotum's words, once its state is final: `skipped` by Airflow is
/// `finished early` when every upstream task succeeded (the task ran and exited with a finish
/// code), and `skipped` when it was skipped for an upstream task's early finish.
fn final_word(
    state: Option<&str>,
    upstream: &[String],
    states: &HashMap<&str, Option<&str>>,
) -> Option<&'static str> {
    match state? {
        "success" => Some("succeeded"),
        "failed" => Some("failed"),
        "upstream_failed" => Some("skipped"),
        "skipped" => {
            let all_succeeded = upstream
                .iter()
                .all(|task| states.get(task.as_str()) == Some(&Some("success")));
            Some(if all_succeeded {
                "finished early"
            } else {
                "skipped"
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::airflow::TaskInstance;
    use super::{Progress, final_word};

    #[test]
    fn a_skip_is_an_early_finish_only_when_every_upstream_task_succeeded() {
        let upstream = vec!["a".to_owned(), "b".to_owned()];
        let mut states = HashMap::from([("a", Some("success")), ("b", Some("success"))]);
        assert_eq!(
            final_word(Some("skipped"), &upstream, &states),
            Some("finished early")
        );
        assert_eq!(
            final_word(Some("skipped"), &[], &states),
            Some("finished early")
        );
        states.insert("b", Some("skipped"));
        assert_eq!(
            final_word(Some("skipped"), &upstream, &states),
            Some("skipped")
        );
        assert_eq!(
            final_word(Some("upstream_failed"), &upstream, &states),
            Some("skipped")
        );
        assert_eq!(final_word(Some("running"), &upstream, &states), None);
        assert_eq!(final_word(None, &upstream, &states), None);
    }

    fn instance(task_id: &str, state: Option<&str>, tries: u32, times: [&str; 2]) -> TaskInstance {
        let time = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        TaskInstance {
            task_id: task_id.to_owned(),
            task_display_name: task_id.replace('_', " "),
            map_index: -1,
            state: state.map(str::to_owned),
            try_number: tries,
            start_date: time(times[0]),
            end_date: time(times[1]),
        }
    }

    #[test]
    fn each_start_and_end_is_printed_once_in_the_order_it_happened() {
        let upstream = HashMap::from([("after_a".to_owned(), vec!["a".to_owned()])]);
        let mut progress = Progress::new(upstream);
        let first = [
            instance("a", Some("running"), 1, ["T01", ""]),
            instance("after_a", None, 0, ["", ""]),
        ];
        assert_eq!(progress.observe(&first), ["Task 'a' started"]);
        let second = [
            instance("a", Some("failed"), 1, ["T01", "T02"]),
            instance("after_a", Some("upstream_failed"), 0, ["T03", "T03"]),
        ];
        assert_eq!(
            progress.observe(&second),
            ["Task 'a' failed", "Task 'after a' skipped"]
        );
        assert_eq!(progress.observe(&second), Vec::<String>::new());
        assert_eq!(
            progress.failure_summary("r1"),
            "Airflow run r1 failed as a task ('a') failed"
        );
    }
}
