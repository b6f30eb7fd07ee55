//! The life of one task as a pure function: the state it goes to on each thing that happens
//! to it, by 0.7's rules. The executor applies it; the table below tests it.
//!
//! A stop signal changes no task's state by itself: the run starts nothing more (tasks not
//! started stay `Waiting`), and the tasks it stops end as any task ends.

use super::{PreparedTask, State};
use crate::syntax::Format;

/// How a task's process ended, reduced to what its state depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// No process could be made, for this reason.
    NotStarted(String),
}

impl Exit {
    /// The exit code for webhooks: 128 + N for death by signal N (as shells report it), -1
    /// when the task could not be run (as 0.7 reported it).
    pub(crate) fn return_code(&self) -> i32 {
        match self {
            Self::Code(code) => *code,
            Self::Signal(signal) => 128 + signal,
            Self::NotStarted(_) => -1,
        }
    }
}

/// What happens to a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Happening {
    /// Its process is being started.
    Start,
    /// Its process ended.
    End(Exit),
    /// A task it depends on, directly or not, failed or finished early, for this reason.
    Skip(String),
    /// The run gave up on it: after the final SIGKILL, something still holds its output.
    Abandon,
}

/// The state a task in `state` goes to when `happening` happens to it; `None` when it does
/// not apply there (a task already running or ended is not skipped; only a waiting task
/// starts; only a running one ends).
pub(crate) fn next_state(
    task: &PreparedTask,
    state: &State,
    happening: Happening,
) -> Option<State> {
    match (state, happening) {
        (State::Waiting, Happening::Start) => Some(State::Running),
        (State::Running, Happening::End(exit)) => Some(verdict(task, exit)),
        (State::Running, Happening::Abandon) => Some(State::Failed(
            "killed at shutdown; a process it started left its process group and still holds its output"
                .to_owned(),
        )),
        (State::Waiting, Happening::Skip(reason)) => Some(State::Skipped(vec![reason])),
        (State::Skipped(reasons), Happening::Skip(reason)) => {
            let mut reasons = reasons.clone();
            reasons.push(reason);
            Some(State::Skipped(reasons))
        }
        _ => None,
    }
}

/// How an ended task stands, by 0.7's rules, except that death by a signal is always a
/// failure (0.7 counted it as exit code 1).
fn verdict(task: &PreparedTask, exit: Exit) -> State {
    let code = match exit {
        Exit::NotStarted(error) => {
            return State::Failed(format!("the task could not be run: {error}"));
        }
        Exit::Signal(signal) => {
            return State::Failed(format!("the task was killed by signal {signal}"));
        }
        Exit::Code(code) => code,
    };
    let listed = |codes: &[u16]| codes.iter().any(|&c| i32::from(c) == code);
    if listed(&task.terminate_codes) {
        State::FinishedEarly
    } else if listed(&task.continue_codes) {
        State::Succeeded
    } else {
        State::Failed(match task.written_in {
            // 0.7's words, which scripts written for 0.7 may look for.
            Format::Json => format!(
                "the task exited with a value not specified in continue_job - {code} (task expects one of the following return codes to continue {:?})",
                task.continue_codes
            ),
            Format::Dsl => format!(
                "the task exited with {code}, not one of the codes its `continue on` lists: {}",
                task.continue_codes
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Exit, Happening, next_state};
    use crate::exec::{PreparedTask, State};

    #[test]
    fn every_transition() {
        let task = PreparedTask {
            name: "t".to_owned(),
            command_line: "true".to_owned(),
            continue_codes: vec![0, 3],
            terminate_codes: vec![5],
            written_in: crate::syntax::Format::Json,
        };
        let failed = |reason: &str| Some(State::Failed(reason.to_owned()));
        let skipped =
            |reasons: &[&str]| State::Skipped(reasons.iter().map(|r| (*r).to_owned()).collect());
        let upstream = || Happening::Skip("b failed".to_owned());
        let code = |code| Happening::End(Exit::Code(code));
        let table: Vec<(State, Happening, Option<State>)> = vec![
            (State::Waiting, Happening::Start, Some(State::Running)),
            (State::Waiting, upstream(), Some(skipped(&["b failed"]))),
            (
                skipped(&["a failed"]),
                upstream(),
                Some(skipped(&["a failed", "b failed"])),
            ),
            (State::Waiting, code(0), None),
            (State::Waiting, Happening::Abandon, None),
            (State::Running, code(0), Some(State::Succeeded)),
            (State::Running, code(3), Some(State::Succeeded)),
            (State::Running, code(5), Some(State::FinishedEarly)),
            (
                State::Running,
                code(4),
                failed(
                    "the task exited with a value not specified in continue_job - 4 (task expects one of the following return codes to continue [0, 3])",
                ),
            ),
            (
                State::Running,
                Happening::End(Exit::Signal(9)),
                failed("the task was killed by signal 9"),
            ),
            (
                State::Running,
                Happening::End(Exit::NotStarted("No such file or directory".to_owned())),
                failed("the task could not be run: No such file or directory"),
            ),
            (
                State::Running,
                Happening::Abandon,
                failed(
                    "killed at shutdown; a process it started left its process group and still holds its output",
                ),
            ),
            (State::Running, Happening::Start, None),
            (State::Running, upstream(), None),
            (State::Succeeded, upstream(), None),
            (State::Succeeded, code(0), None),
            (State::FinishedEarly, upstream(), None),
            (State::Failed("x".to_owned()), upstream(), None),
            (skipped(&["a failed"]), Happening::Start, None),
        ];
        for (state, happening, expected) in table {
            let description = format!("{state:?} on {happening:?}");
            assert_eq!(
                next_state(&task, &state, happening),
                expected,
                "{description}"
            );
        }
    }

    #[test]
    fn return_codes() {
        assert_eq!(Exit::Code(4).return_code(), 4);
        assert_eq!(Exit::Signal(15).return_code(), 143);
        assert_eq!(Exit::NotStarted(String::new()).return_code(), -1);
    }
}
