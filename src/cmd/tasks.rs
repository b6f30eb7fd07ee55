//! `factotum tasks JOB`: the tasks in the order a run starts them (the order `run --dry-run`
//! prints), each with the tasks it waits for, its command line and what its exit codes mean.

use serde_json::{Value, json};

use super::history::{pretty, printable, table};
use super::{Stdout, load_valid};
use crate::ExitStatus;
use crate::cli::{ListFormat, TasksArgs};
use crate::exec::{self, PreparedTask};
use crate::graph::Schedule;

/// Runs `tasks`. Diagnostics go to stderr: stdout carries the list.
pub(crate) fn run(args: &TasksArgs, no_colour: bool) -> ExitStatus {
    let mut variables = match super::env_variables(args.env.as_deref()) {
        Ok(variables) => variables,
        Err(status) => return status,
    };
    variables.extend(super::run::tag_variables(
        &super::run::tags(&args.tags).collect::<Vec<_>>(),
    ));
    // Compiled as `run` compiles it, so that every placeholder must have a value and the
    // command lines are the ones a run would start.
    let loaded = match load_valid(&args.factfile, Some(&variables), no_colour) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    loaded.print_warnings(no_colour);
    // Only a DSL job's failure wording differs; the lines listed are the same.
    let format = crate::syntax::Format::of(&loaded.source);
    let (job, resolved) = (&loaded.job, &loaded.resolved);
    let directory = super::run::job_directory(&args.factfile);
    let prepared = exec::prepare(job, format, &variables, false, &directory);
    let plan = resolved.graph();
    let every_task: Vec<usize> = (0..plan.len()).collect();
    let order = Schedule::new(&plan, &every_task).start_order();
    let mut position = vec![0; plan.len()];
    for (at, &task) in order.iter().enumerate() {
        position[task] = at;
    }
    let listed: Vec<Listed<'_>> = order
        .iter()
        .map(|&task| {
            let mut after = plan.dependencies[task].clone();
            after.sort_by_key(|&dependency| position[dependency]);
            Listed {
                task: &prepared.tasks[task],
                after: after
                    .iter()
                    .map(|&dependency| prepared.tasks[dependency].name.as_str())
                    .collect(),
            }
        })
        .collect();
    let mut stdout = Stdout::new(no_colour);
    match args.format {
        ListFormat::Json => {
            let tasks: Vec<Value> = listed.iter().map(Listed::json).collect();
            stdout.line(&pretty(&json!({ "job": prepared.name, "tasks": tasks })));
        }
        ListFormat::Table => {
            let mut rows = vec![["TASK", "AFTER", "EXIT CODES", "COMMAND"].map(str::to_owned)];
            rows.extend(listed.iter().map(Listed::row));
            for line in table(&rows) {
                stdout.line(&line);
            }
        }
    }
    stdout.finish(ExitStatus::Success)
}

/// One task as listed.
struct Listed<'p> {
    task: &'p PreparedTask,
    /// The names of the tasks it waits for, in plan order.
    after: Vec<&'p str>,
}

impl Listed<'_> {
    /// The stable JSON form (documented in the README).
    fn json(&self) -> Value {
        json!({
            "name": self.task.name,
            "after": self.after,
            "commandLine": self.task.command_line,
            "continueOn": self.task.continue_codes,
            "finishOn": self.task.terminate_codes,
        })
    }

    /// The table's row; control characters (a newline in a command) are escaped so that a
    /// task stays on one line.
    fn row(&self) -> [String; 4] {
        let command = self.task.shell_command();
        let after = if self.after.is_empty() {
            "-".to_owned()
        } else {
            self.after.join(", ")
        };
        [
            printable(&self.task.name),
            printable(&after),
            self.task.exit_codes(),
            printable(&command),
        ]
    }
}
