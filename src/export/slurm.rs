//! An export as a POSIX `sh` script that submits the job to Slurm.
//!
//! Every task is submitted held, in reverse plan order so that each knows the job ids of the
//! tasks below it; then each is made to wait for its own (`--dependency=afterok`), and all are
//! released at once. A task's batch script runs its command line with `sh -c` and gives the
//! exit code Slurm's meaning: a continue code exits 0; a finish code cancels every task below
//! and exits 0; anything else exits non-zero, and `--kill-on-invalid-dep=yes` has Slurm cancel
//! what waits for it.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::{Export, ExportedTask, Piece, one_line, retry_delays};
use crate::diag::{Diagnostic, Problem};
use crate::template::push_shell_quoted;

/// Problems only Slurm has with `export`: it picks nodes by name (E702); it limits the time
/// of each job but not of a set of jobs, and has no pools (W700).
pub(crate) fn check(export: &Export) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if let Some(host) = export
        .host
        .as_ref()
        .filter(|host| host.name.parse::<IpAddr>().is_ok())
    {
        problems.push(
            Diagnostic::new(Problem::HostAddressForSlurm {
                address: host.name.clone(),
            })
            .at(host.span, "an address")
            .note("hint: name the node as Slurm knows it (`sinfo --Node`)"),
        );
    }
    if let Some(timeout) = &export.timeout {
        problems.push(
            Diagnostic::new(Problem::UnmappedOption {
                engine: "Slurm",
                option: "timeout",
                task: None,
            })
            .at(timeout.span, "the whole run's limit")
            .note("Slurm limits each job's time, not a set of jobs': the exported tasks keep their own timeouts, but nothing bounds them together"),
        );
    }
    for task in &export.tasks {
        if let Some(pool) = &task.pool {
            problems.push(
                Diagnostic::new(Problem::UnmappedOption {
                    engine: "Slurm",
                    option: "pool",
                    task: Some(task.name.clone()),
                })
                .at(pool.span, "not limited on Slurm")
                .note("Slurm has no pools: the task starts once its dependencies succeed, however many of its pool run")
                .note("hint: a license the cluster's administrator configures (`Licenses=` in slurm.conf, `sbatch --licenses`) can play the part"),
            );
        }
    }
    problems
}

/// The script. Every deferred piece must have been refused before: values are fixed here.
pub(crate) fn print(export: &Export) -> String {
    let lines: Vec<String> = export
        .tasks
        .iter()
        .map(|task| task.plain_line().unwrap_or_default())
        .collect();
    let mut out = String::new();
    header(&mut out, export);
    out.push_str(&submit_function(export));
    // Below first: a task's batch script names the job ids of the tasks below it.
    for (position, task) in export.tasks.iter().enumerate().rev() {
        let below: Vec<String> = task.below.iter().map(|&at| variable(at)).collect();
        let script = batch_script(export, task, &lines[position]);
        let delimiter = delimiter(&script);
        let _ = writeln!(
            out,
            "\nsubmit {} \"{}\" <<'{delimiter}'",
            shell_word(&task.name),
            below.join(" ")
        );
        out.push_str(&script);
        let _ = writeln!(out, "{delimiter}\n{}=$job_id", variable_name(position));
    }
    out.push_str("\n# Each task waits for the tasks it depends on.\n");
    for (position, task) in export.tasks.iter().enumerate() {
        if task.after.is_empty() {
            continue;
        }
        let after: Vec<String> = task.after.iter().map(|&at| variable(at)).collect();
        let _ = writeln!(
            out,
            "scontrol update JobId=\"{}\" Dependency=\"afterok:{}\"",
            variable(position),
            after.join(":")
        );
    }
    if !export.tasks.is_empty() {
        let all: Vec<String> = (0..export.tasks.len()).map(variable).collect();
        let _ = writeln!(out, "scontrol release \"{}\"", all.join(","));
    }
    out.push_str("# Released: from here on the job is Slurm's, and a failure cancels nothing.\nsubmitted=\"\"\n\n");
    for (position, task) in export.tasks.iter().enumerate() {
        let _ = writeln!(
            out,
            "printf '%s\\t%s\\n' \"{}\" {}",
            variable(position),
            shell_word(&task.name)
        );
    }
    out
}

/// The comment that opens the script.
fn header(out: &mut String, export: &Export) {
    let _ = writeln!(
        out,
        "#!/bin/sh\n# Exported by factotum {} from {}.",
        env!("CARGO_PKG_VERSION"),
        one_line(&export.source)
    );
    out.push_str("# Change the job and export it again rather than editing this script.\n#\n");
    let _ = writeln!(
        out,
        "# The job \"{}\" ({} tasks) for Slurm.",
        one_line(&export.title),
        export.tasks.len()
    );
    out.push_str(
        "# Run this script where `sbatch` works: it submits every task held, makes each wait\n\
         # for the tasks it depends on (--dependency=afterok), releases them all, then prints\n\
         # each task's Slurm job id and name, in plan order.\n\
         # Each task runs its command line with `sh -c`, as `factotum run --dry-run` prints it,\n\
         # from the directory this script runs in. A continue code succeeds; a finish code\n\
         # cancels every task below it and succeeds; any other code fails the task, and Slurm\n\
         # cancels what waits for it (--kill-on-invalid-dep=yes).\n",
    );
    if let Some(host) = &export.host {
        let _ = writeln!(
            out,
            "# The job's host constraint puts every task on the node {}.",
            one_line(&host.name)
        );
    }
    options_header(out, export);
    out.push_str("# Webhooks (`run --webhook`) do not apply inside Slurm.\nset -eu\n");
}

/// What the header says of the job's options, when it has them.
fn options_header(out: &mut String, export: &Export) {
    let any = |has: fn(&ExportedTask) -> bool| export.tasks.iter().any(has);
    if any(|task| task.retry.is_some()) {
        out.push_str(
            "# A task with retries runs its attempts in one Slurm job, waiting between them as\n\
             # `run` does but without its 10% jitter (Slurm's requeue would run the task again\n\
             # from the start of the queue, and only after a node failure or by hand).\n",
        );
    }
    if any(|task| task.timeout.is_some()) {
        let _ = writeln!(
            out,
            "# A task's timeout stops an attempt with `timeout`: TERM to its processes, KILL {GRACE_SECONDS}s\n\
             # later (`run`'s default grace period); its --time covers every attempt and wait."
        );
    }
    if any(|task| !task.env.is_empty()) {
        out.push_str(
            "# A task's variables are set by `env` in its batch script (sbatch's --export cannot\n\
             # hold a comma in a value).\n",
        );
    }
    if any(|task| task.directory.is_some()) {
        let _ = writeln!(
            out,
            "# A relative working directory is taken from the job file's directory, {}:\n\
             # it must exist on the nodes. A task that cannot enter it fails.",
            one_line(&export.job_directory)
        );
    }
}

/// The function that submits one batch script, and the trap that cancels what was
/// submitted when a later submission fails.
fn submit_function(export: &Export) -> String {
    let nodelist = export
        .host
        .as_ref()
        .map(|host| format!(" --nodelist={}", shell_word(&host.name)))
        .unwrap_or_default();
    format!(
        r#"
submitted=""
# When a submission fails, the tasks already submitted are cancelled: none is left held.
cancel_submitted() {{
    status=$?
    if [ "$status" -ne 0 ] && [ -n "$submitted" ]; then
        echo "factotum: submitting the job failed; cancelling the tasks submitted:$submitted" >&2
        scancel $submitted || true
    fi
    exit "$status"
}}
trap cancel_submitted EXIT

# submit NAME BELOW: submits the batch script on standard input, held, as the task NAME whose
# early finish cancels the jobs BELOW; sets job_id.
submit() {{
    job_id=$(sbatch --parsable --hold --kill-on-invalid-dep=yes --job-name="$1"{nodelist} \
        --export="ALL,FACTOTUM_BELOW=$2")
    job_id=${{job_id%%;*}}
    submitted="$submitted $job_id"
}}
"#
    )
}

/// Seconds between TERM and KILL when a task times out: `run`'s default `--grace`.
const GRACE_SECONDS: u64 = 5;

/// One task's batch script: its options (time limit, working directory), then its attempts.
fn batch_script(export: &Export, task: &ExportedTask, line: &str) -> String {
    let mut script = String::from("#!/bin/sh\n");
    if let Some(minutes) = time_limit(task) {
        let _ = writeln!(script, "#SBATCH --time={minutes}");
    }
    let _ = writeln!(
        script,
        "# The task \"{}\" of the job \"{}\".",
        one_line(&task.name),
        one_line(&export.title)
    );
    if let Some(directory) = &task.directory {
        // A directory that cannot be entered fails the task before it runs, as in `run`
        // (sbatch's --chdir would run it in /tmp instead).
        let directory = plain(directory);
        let _ = write!(
            script,
            "if ! cd {}; then\n    echo \"factotum: the task cannot run in its working directory\" >&2\n    exit 1\nfi\n",
            shell_word(&directory)
        );
    }
    if let Some(timeout) = &task.timeout {
        // The attempt's exit status comes back on descriptor 3; descriptor 4 is the output.
        let _ = writeln!(script, "exec 4>&1\ntimeout={}", timeout.value);
    }
    match &task.retry {
        None => script.push_str(&attempt(task, &shell_word(line))),
        Some(retry) => {
            let delays: Vec<String> = retry_delays(retry)
                .iter()
                .map(ToString::to_string)
                .collect();
            let _ = write!(
                script,
                "command_line={}\ndelays='{}'\nattempt=1\nwhile :; do\n",
                shell_word(line),
                delays.join(" ")
            );
            script.push_str(&attempt(task, "\"$command_line\""));
            let attempts = retry.attempts.value;
            let mut retryable = String::new();
            if let Some(codes) = &retry.on_codes {
                let codes: Vec<u16> = codes.value.iter().map(|code| code.value).collect();
                if task.timeout.is_some() {
                    retryable.push_str(" && [ -z \"$timed_out\" ]");
                }
                let _ = write!(
                    retryable,
                    " && case \" {} \" in *\" $code \"*) true ;; *) false ;; esac",
                    code_list(&codes)
                );
            }
            let reason = if task.timeout.is_some() {
                script.push_str("reason=\"exit $code\"\nif [ -n \"$timed_out\" ]; then reason=\"timed out after ${timeout}s\"; fi\n");
                "$reason"
            } else {
                "exit $code"
            };
            let _ = write!(
                script,
                r#"if [ "$attempt" -lt {attempts} ]{retryable}; then
    delay=${{delays%% *}}
    delays=${{delays#* }}
    echo "factotum: the task failed ({reason}), attempt $attempt of {attempts}; retrying in ${{delay}}s" >&2
    sleep "$delay"
    attempt=$((attempt + 1))
    continue
fi
break
done
"#
            );
        }
    }
    if task.timeout.is_some() {
        script.push_str(
            "if [ -n \"$timed_out\" ]; then\n    echo \"factotum: the task timed out after ${timeout}s\" >&2\n    exit 124\nfi\n",
        );
    }
    let _ = write!(
        script,
        r#"echo "factotum: exit code $code fails the task (continue on: {})" >&2
if [ "$code" -eq 0 ]; then exit 1; fi
exit "$code"
"#,
        code_list(&task.continue_codes)
    );
    script
}

/// One attempt of the command line (`line`, a shell word), setting `code`, and `timed_out`
/// when the task has a timeout; a continue or finish code ends the script.
fn attempt(task: &ExportedTask, line: &str) -> String {
    let mut command = String::new();
    if !task.env.is_empty() {
        command.push_str("env");
        for (name, value) in &task.env {
            command.push(' ');
            push_shell_quoted(&mut command, &format!("{name}={}", plain(value)));
        }
        command.push(' ');
    }
    let _ = write!(command, "sh -c {line}");
    let mut script = String::new();
    match &task.timeout {
        None => {
            let _ = writeln!(script, "{command}\ncode=$?");
        }
        Some(_) => {
            // `timeout` stops the attempt's whole process group, KILL after the grace period;
            // the status comes back only from an attempt that ended by itself.
            let _ = write!(
                script,
                r#"timed_out=
code=$(timeout -k {GRACE_SECONDS} "$timeout" sh -c '"$@" 3>&-; echo "$?" >&3' sh {command} 3>&1 1>&4)
if [ -z "$code" ]; then timed_out=yes; code=124; fi
"#
            );
        }
    }
    let mut classified = format!(
        "case \" {} \" in *\" $code \"*) exit 0 ;; esac\n",
        code_list(&task.continue_codes)
    );
    if !task.finish_codes.is_empty() {
        let _ = write!(
            classified,
            r#"case " {} " in *" $code "*)
    echo "factotum: exit code $code finishes this branch early: cancelling the tasks below" >&2
    if [ -n "$FACTOTUM_BELOW" ] && ! scancel $FACTOTUM_BELOW; then
        echo "factotum: the tasks below could not be cancelled; failing so that they never run" >&2
        exit 1
    fi
    scontrol update JobId="$SLURM_JOB_ID" Comment="factotum: finished early (exit $code)" || true
    exit 0 ;;
esac
"#,
            code_list(&task.finish_codes)
        );
    }
    if task.timeout.is_some() {
        // A timed-out attempt has no exit code to classify.
        let _ = write!(script, "if [ -z \"$timed_out\" ]; then\n{classified}fi\n");
    } else {
        script.push_str(&classified);
    }
    script
}

/// The minutes Slurm gives a task with a timeout: every attempt to its timeout and grace
/// period, and every wait between them, rounded up, and one minute more for the script itself.
/// Factotum's own timeout stops the attempts first; this tells Slurm's scheduler how long the
/// job may hold its node.
fn time_limit(task: &ExportedTask) -> Option<u64> {
    let timeout = task.timeout.as_ref()?.value.thousandths();
    let attempts = task
        .retry
        .as_ref()
        .map_or(1, |retry| u64::from(retry.attempts.value));
    let waits: u64 = task
        .retry
        .as_ref()
        .map(|retry| {
            retry_delays(retry)
                .iter()
                .map(|delay| delay.thousandths())
                .sum()
        })
        .unwrap_or_default();
    let total = attempts
        .saturating_mul(timeout.saturating_add(GRACE_SECONDS * 1000))
        .saturating_add(waits);
    Some(total.div_ceil(60_000) + 1)
}

/// Exit codes as a space-separated list.
fn code_list(codes: &[u16]) -> String {
    let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
    codes.join(" ")
}

/// Pieces whose values are all fixed, as text (Slurm takes no deferred values).
fn plain(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.as_str(),
            Piece::Parameter { .. } => "",
        })
        .collect()
}

/// The heredoc delimiter of a batch script: one no line of the script (its command line,
/// variables, directory) holds.
fn delimiter(script: &str) -> String {
    let mut delimiter = "FACTOTUM_TASK_END".to_owned();
    let mut counter = 2;
    while script.lines().any(|text| text.contains(&delimiter)) {
        delimiter = format!("FACTOTUM_TASK_END_{counter}");
        counter += 1;
    }
    delimiter
}

/// The shell variable holding the job id of the task at `position`.
fn variable_name(position: usize) -> String {
    format!("task_{}", position + 1)
}

/// That variable, expanded.
fn variable(position: usize) -> String {
    format!("${}", variable_name(position))
}

/// `text` as one single-quoted shell word.
fn shell_word(text: &str) -> String {
    let mut word = String::new();
    push_shell_quoted(&mut word, text);
    word
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::{Command, Output};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::export::tests::{at, exported, retry, seconds, template};
    use crate::ir::{EnvVar, Job};

    /// The batch script of the one task of a job running `command`, with `change` made to its
    /// IR, run by `sh` in `dir`.
    fn run_batch_script(dir: &Path, command: &str, change: impl FnOnce(&mut Job)) -> Output {
        let job = format!(
            "job \"j\"\ntask \"t\" {{ run {} }}\n",
            serde_json::to_string(command).unwrap()
        );
        let export = exported(&job, &[], change);
        let task = &export.tasks[0];
        let script = batch_script(&export, task, &task.plain_line().expect("nothing deferred"));
        Command::new("sh")
            .args(["-c", &script])
            .current_dir(dir)
            .output()
            .expect("sh runs")
    }

    /// Fails until its third run: counts its runs in `runs`.
    const THIRD_TIME_LUCKY: &str =
        "n=$(($(cat runs 2>/dev/null || echo 0) + 1)); echo $n > runs; [ $n -ge 3 ]";

    fn runs(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("runs"))
            .expect("the command ran")
            .trim()
            .to_owned()
    }

    #[test]
    fn attempts_are_retried_in_the_script_with_the_waits() {
        let dir = tempfile::tempdir().unwrap();
        let done = run_batch_script(dir.path(), THIRD_TIME_LUCKY, |job| {
            job.tasks[0].retry = Some(retry(3, 100, 2000, None));
        });
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(done.status.success(), "{stderr}");
        assert_eq!(runs(dir.path()), "3");
        assert!(
            stderr.contains("failed (exit 1), attempt 1 of 3; retrying in 0.1s"),
            "{stderr}"
        );
        assert!(
            stderr.contains("failed (exit 1), attempt 2 of 3; retrying in 0.2s"),
            "{stderr}"
        );

        let dir = tempfile::tempdir().unwrap();
        let exhausted = run_batch_script(dir.path(), THIRD_TIME_LUCKY, |job| {
            job.tasks[0].retry = Some(retry(2, 0, 1000, None));
        });
        assert_eq!(exhausted.status.code(), Some(1));
        assert_eq!(runs(dir.path()), "2");
    }

    #[test]
    fn only_the_listed_codes_are_retried() {
        let dir = tempfile::tempdir().unwrap();
        let failed = run_batch_script(dir.path(), THIRD_TIME_LUCKY, |job| {
            let mut only_75 = retry(3, 0, 1000, None);
            only_75.on_codes = Some(at(vec![at(75)]));
            job.tasks[0].retry = Some(only_75);
        });
        assert_eq!(failed.status.code(), Some(1));
        assert_eq!(runs(dir.path()), "1");
    }

    #[test]
    fn a_timeout_stops_the_attempt_and_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let timed_out = run_batch_script(dir.path(), "sleep 60 & echo $! > child; wait", |job| {
            job.tasks[0].timeout = Some(seconds(500));
            job.tasks[0].retry = Some(retry(2, 0, 1000, None));
        });
        let stderr = String::from_utf8_lossy(&timed_out.stderr);
        assert_eq!(timed_out.status.code(), Some(124), "{stderr}");
        assert!(
            stderr.contains("failed (timed out after 0.5s), attempt 1 of 2"),
            "{stderr}"
        );
        assert!(stderr.contains("the task timed out after 0.5s"), "{stderr}");
        let child = std::fs::read_to_string(dir.path().join("child")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Path::new(&format!("/proc/{}", child.trim())).exists() {
            let state =
                std::fs::read_to_string(format!("/proc/{}/stat", child.trim())).unwrap_or_default();
            if state.contains(") Z ") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the background child {child} still runs"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn variables_and_the_working_directory_are_the_commands() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let target = dir.path().join("data").display().to_string();
        let ran = run_batch_script(
            dir.path(),
            "printf '%s|%s' \"$WHAT\" \"$PWD\" > out",
            |job| {
                job.tasks[0].env = vec![EnvVar {
                    name: at("WHAT".to_owned()),
                    value: template("it's a, b"),
                }];
                job.tasks[0].working_directory = Some(template(&target));
            },
        );
        assert!(
            ran.status.success(),
            "{}",
            String::from_utf8_lossy(&ran.stderr)
        );
        let out = std::fs::read_to_string(dir.path().join("data/out")).unwrap();
        assert_eq!(out, format!("it's a, b|{target}"));

        let missing = run_batch_script(dir.path(), "touch ran", |job| {
            job.tasks[0].working_directory = Some(template("/nowhere/at/all"));
        });
        assert_eq!(missing.status.code(), Some(1));
        assert!(!dir.path().join("ran").exists());
    }

    #[test]
    fn the_time_limit_covers_every_attempt_and_wait() {
        let export = exported("job \"j\"\ntask \"t\" { run \"true\" }\n", &[], |job| {
            job.tasks[0].timeout = Some(seconds(30_000));
            job.tasks[0].retry = Some(retry(3, 10_000, 2000, None));
        });
        // 3 × (30 s + 5 s) + 10 s + 20 s = 135 s: 3 minutes, and one more.
        assert_eq!(time_limit(&export.tasks[0]), Some(4));
    }
}
