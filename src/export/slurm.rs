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

use super::{Export, ExportedTask, one_line};
use crate::diag::{Diagnostic, Problem};
use crate::template::push_shell_quoted;

/// Problems only Slurm has with `export`: it picks nodes by name (E702).
pub(crate) fn check(export: &Export) -> Vec<Diagnostic> {
    match &export.host {
        Some(host) if host.name.parse::<IpAddr>().is_ok() => vec![
            Diagnostic::new(Problem::HostAddressForSlurm {
                address: host.name.clone(),
            })
            .at(host.span, "an address")
            .note("hint: name the node as Slurm knows it (`sinfo --Node`)"),
        ],
        _ => Vec::new(),
    }
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
        let delimiter = delimiter(&lines[position]);
        let _ = writeln!(
            out,
            "\nsubmit {} \"{}\" <<'{delimiter}'",
            shell_word(&task.name),
            below.join(" ")
        );
        out.push_str(&batch_script(export, task, &lines[position]));
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
    out.push_str("# Webhooks (`run --webhook`) do not apply inside Slurm.\nset -eu\n");
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

/// One task's batch script.
fn batch_script(export: &Export, task: &ExportedTask, line: &str) -> String {
    let codes = |codes: &[u16]| {
        let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
        codes.join(" ")
    };
    let continue_on = codes(&task.continue_codes);
    let finish_on = codes(&task.finish_codes);
    let mut script = format!(
        "#!/bin/sh\n# The task \"{}\" of the job \"{}\".\nsh -c {}\ncode=$?\n",
        one_line(&task.name),
        one_line(&export.title),
        shell_word(line)
    );
    let _ = writeln!(
        script,
        "case \" {continue_on} \" in *\" $code \"*) exit 0 ;; esac"
    );
    if !finish_on.is_empty() {
        let _ = write!(
            script,
            r#"case " {finish_on} " in *" $code "*)
    echo "factotum: exit code $code finishes this branch early: cancelling the tasks below" >&2
    if [ -n "$FACTOTUM_BELOW" ] && ! scancel $FACTOTUM_BELOW; then
        echo "factotum: the tasks below could not be cancelled; failing so that they never run" >&2
        exit 1
    fi
    scontrol update JobId="$SLURM_JOB_ID" Comment="factotum: finished early (exit $code)" || true
    exit 0 ;;
esac
"#
        );
    }
    let _ = write!(
        script,
        r#"echo "factotum: exit code $code fails the task (continue on: {continue_on})" >&2
if [ "$code" -eq 0 ]; then exit 1; fi
exit "$code"
"#
    );
    script
}

/// The heredoc delimiter of a batch script: one no line of the command line is.
fn delimiter(line: &str) -> String {
    let mut delimiter = "FACTOTUM_TASK_END".to_owned();
    let mut counter = 2;
    while line.lines().any(|text| text.contains(&delimiter)) {
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
