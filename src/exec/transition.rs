//! The life of one task as a pure function: the state it goes to on each thing that happens
//! to it, by 0.7's rules. The executor applies it; the table below tests it.
//!
//! A stop signal changes no task's state by itself: the run starts nothing more (tasks not
//! started stay `Waiting`), and the tasks it stops end as any task ends.

use std::time::Duration;

use super::{PreparedTask, State, signal_name};
use crate::syntax::Format;

/// How a task's failed attempts are tried again.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the second attempt.
    pub delay: Duration,
    /// What each wait is multiplied by for the next.
    pub backoff: f64,
    /// The longest wait, if any.
    pub max_delay: Option<Duration>,
    /// The only exit codes retried, if limited; then signals and timeouts are not retried.
    pub on_codes: Option<Vec<u16>>,
}

impl RetryPolicy {
    /// The wait after the `attempt`th attempt (from 1) failed, before jitter: the delay times
    /// the backoff once more for each attempt after the first, at most the longest wait. An
    /// exponent or product past what a `Duration` holds is the longest wait there is, which
    /// `max_delay` then caps.
    pub(crate) fn nominal_wait(&self, attempt: u32) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let seconds = self.delay.as_secs_f64() * self.backoff.powi(exponent);
        capped(seconds, self.max_delay)
    }
}

/// How a task's process ended, reduced to what its state depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// No process could be made, for this reason.
    NotStarted(String),
    /// It ran past its timeout (written as in the file, in seconds) and was stopped.
    TimedOut(String),
}

impl Exit {
    /// The exit code for webhooks: 128 + N for death by signal N (as shells report it), -1
    /// when the task could not be run (as 0.7 reported it) or was stopped at its timeout
    /// (whatever its process did once told to stop).
    pub(crate) fn return_code(&self) -> i32 {
        match self {
            Self::Code(code) => *code,
            Self::Signal(signal) => 128 + signal,
            Self::NotStarted(_) | Self::TimedOut(_) => -1,
        }
    }

    /// How an attempt ended, as the line announcing its retry says it: `exit 1`,
    /// `signal SIGKILL`, `timed out after 2s`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Code(code) => format!("exit {code}"),
            Self::Signal(signal) => format!("signal {}", signal_name(*signal)),
            Self::NotStarted(_) => "could not be run".to_owned(),
            Self::TimedOut(seconds) => timed_out(seconds),
        }
    }
}

/// The reason of an attempt stopped at its timeout.
fn timed_out(seconds: &str) -> String {
    format!("timed out after {seconds}s")
}

/// What happens to a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Happening {
    /// Its process is being started.
    Start,
    /// Its process ended; this was its `attempt`th (from 1).
    End { exit: Exit, attempt: u32 },
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
        (State::Running, Happening::End { exit, attempt }) => {
            Some(match verdict(task, exit) {
                State::Failed(reason) => State::Failed(with_attempt(task, reason, attempt)),
                state => state,
            })
        }
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
        Exit::TimedOut(seconds) => return State::Failed(timed_out(&seconds)),
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

/// A failure's reason, with which attempt it was when the task may be tried more than once.
fn with_attempt(task: &PreparedTask, reason: String, attempt: u32) -> String {
    reason + &attempt_of(task, attempt)
}

/// ` (attempt 2 of 3)` for a task that may be tried more than once, else nothing.
pub(crate) fn attempt_of(task: &PreparedTask, attempt: u32) -> String {
    match &task.options.retry {
        Some(retry) if retry.attempts > 1 => format!(" (attempt {attempt} of {})", retry.attempts),
        _ => String::new(),
    }
}

/// The wait before trying `task` again after its `attempt`th attempt (from 1) failed with
/// `exit`, before jitter; `None` when it is not tried again: no attempts left, a code its
/// `onCodes` does not list (or a signal or timeout when it lists codes), a code that is not
/// a failure, or a task that could not be started at all.
pub(crate) fn retry_delay(task: &PreparedTask, attempt: u32, exit: &Exit) -> Option<Duration> {
    let retry = task
        .options
        .retry
        .as_ref()
        .filter(|r| attempt < r.attempts)?;
    let retried = match exit {
        Exit::Code(code) => {
            let listed = |codes: &[u16]| codes.iter().any(|&c| i32::from(c) == *code);
            !listed(&task.continue_codes)
                && !listed(&task.terminate_codes)
                && retry.on_codes.as_deref().is_none_or(listed)
        }
        Exit::Signal(_) | Exit::TimedOut(_) => retry.on_codes.is_none(),
        Exit::NotStarted(_) => false,
    };
    retried.then(|| retry.nominal_wait(attempt))
}

/// `nominal` times the jitter `factor` (drawn from [0.9, 1.1)), capped again at the task's
/// longest wait.
pub(crate) fn jittered(task: &PreparedTask, nominal: Duration, factor: f64) -> Duration {
    let max_delay = task.options.retry.as_ref().and_then(|r| r.max_delay);
    capped(nominal.as_secs_f64() * factor, max_delay)
}

/// `seconds` as a duration (the longest one for what does not fit), at most `max`.
fn capped(seconds: f64, max: Option<Duration>) -> Duration {
    let wait = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX);
    max.map_or(wait, |max| wait.min(max))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Exit, Happening, RetryPolicy, jittered, next_state, retry_delay};
    use crate::exec::{PreparedTask, State, TaskOptions};

    #[test]
    fn every_transition() {
        let task = PreparedTask {
            name: "t".to_owned(),
            command_line: "true".to_owned(),
            continue_codes: vec![0, 3],
            terminate_codes: vec![5],
            written_in: crate::syntax::Format::Json,
            options: TaskOptions::default(),
        };
        let failed = |reason: &str| Some(State::Failed(reason.to_owned()));
        let skipped =
            |reasons: &[&str]| State::Skipped(reasons.iter().map(|r| (*r).to_owned()).collect());
        let upstream = || Happening::Skip("b failed".to_owned());
        let end = |exit| Happening::End { exit, attempt: 1 };
        let code = |code| end(Exit::Code(code));
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
                end(Exit::Signal(9)),
                failed("the task was killed by signal 9"),
            ),
            (
                State::Running,
                end(Exit::NotStarted("No such file or directory".to_owned())),
                failed("the task could not be run: No such file or directory"),
            ),
            (
                State::Running,
                end(Exit::TimedOut("1.5".to_owned())),
                failed("timed out after 1.5s"),
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
        assert_eq!(Exit::TimedOut("1".to_owned()).return_code(), -1);
    }

    fn retried(on_codes: Option<Vec<u16>>) -> PreparedTask {
        PreparedTask {
            name: "t".to_owned(),
            command_line: "false".to_owned(),
            continue_codes: vec![0],
            terminate_codes: vec![3],
            written_in: crate::syntax::Format::Dsl,
            options: TaskOptions {
                retry: Some(RetryPolicy {
                    attempts: 4,
                    delay: Duration::from_secs(2),
                    backoff: 2.0,
                    max_delay: Some(Duration::from_secs(5)),
                    on_codes,
                }),
                ..TaskOptions::default()
            },
        }
    }

    #[test]
    fn delays_grow_by_the_backoff_up_to_the_limit() {
        let task = retried(None);
        let delays: Vec<Option<Duration>> = (1..=4)
            .map(|attempt| retry_delay(&task, attempt, &Exit::Code(1)))
            .collect();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(delays, [secs(2), secs(4), secs(5), None]);
        // Jitter never passes the limit either.
        assert_eq!(
            jittered(&task, Duration::from_secs(5), 1.09),
            Duration::from_secs(5)
        );
        assert_eq!(
            jittered(&task, Duration::from_secs(2), 0.9),
            Duration::from_millis(1800)
        );
    }

    #[test]
    fn what_is_retried() {
        let every = retried(None);
        let only_75 = retried(Some(vec![75]));
        let timed_out = Exit::TimedOut("1".to_owned());
        let cases: [(&PreparedTask, Exit, bool); 10] = [
            (&every, Exit::Code(1), true),
            (&every, Exit::Signal(9), true),
            (&every, timed_out.clone(), true),
            (&every, Exit::Code(0), false),
            (&every, Exit::Code(3), false),
            (
                &every,
                Exit::NotStarted("no such directory".to_owned()),
                false,
            ),
            (&only_75, Exit::Code(75), true),
            (&only_75, Exit::Code(1), false),
            (&only_75, Exit::Signal(9), false),
            (&only_75, timed_out, false),
        ];
        for (task, exit, expected) in cases {
            let description = format!("{exit:?} with {:?}", task.options.retry);
            assert_eq!(
                retry_delay(task, 1, &exit).is_some(),
                expected,
                "{description}"
            );
        }
        let single = PreparedTask {
            options: TaskOptions::default(),
            ..retried(None)
        };
        assert_eq!(retry_delay(&single, 1, &Exit::Code(1)), None);
    }

    #[test]
    fn a_failure_of_a_retried_task_says_which_attempt_it_was() {
        let task = retried(None);
        let end = Happening::End {
            exit: Exit::Code(1),
            attempt: 4,
        };
        assert_eq!(
            next_state(&task, &State::Running, end),
            Some(State::Failed(
                "the task exited with 1, not one of the codes its `continue on` lists: 0 (attempt 4 of 4)"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn attempt_descriptions() {
        assert_eq!(Exit::Code(1).describe(), "exit 1");
        assert_eq!(Exit::Signal(9).describe(), "signal SIGKILL");
        assert_eq!(
            Exit::TimedOut("2.5".to_owned()).describe(),
            "timed out after 2.5s"
        );
    }
}
