//! `run --lock`, `--soft-lock` and `--once`: the claims a run takes before any task starts,
//! the leases it keeps while it runs, and how it leaves them when it ends.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use codespan_reporting::term::termcolor::Color;

use super::history::{printable, time_text};
use super::{Stdout, error_line};
use crate::ExitStatus;
use crate::exec::Stopper;
use crate::store::claims::{self, Ask, ClaimRow, ClaimState, Decision, Kind, Release};
use crate::store::{Backend, StoreError};

/// How often a standby (`--wait`) asks again.
const WAIT_POLL: Duration = Duration::from_secs(1);

/// What taking the claims gave.
pub(crate) enum Taken {
    /// Every claim is held: the run goes on, resuming this run if a claim said so.
    Go {
        /// The run a taken-over claim's holder ran, to resume.
        resume: Option<String>,
    },
    /// The run must not start; exit with this status (the reason is printed).
    Stop(ExitStatus),
}

/// Takes every claim of `asks` in order, or none: when one cannot be taken, those already
/// taken are freed. A run-once key held by a live run is waited for with `wait`.
pub(crate) fn take(
    store: &mut dyn Backend,
    asks: &[Ask],
    wait: bool,
    job: &str,
    stdout: &mut Stdout,
) -> Taken {
    let mut resume = None;
    for (taken, ask) in asks.iter().enumerate() {
        let decision = match decide(store, ask, wait, stdout) {
            Ok(decision) => decision,
            Err(error) => {
                error_line(format_args!(
                    "error: the {} '{}' could not be taken, no tasks have been executed: {error}",
                    ask.kind.as_str(),
                    printable(&ask.name)
                ));
                free(store, &asks[..taken]);
                return Taken::Stop(ExitStatus::OtherError);
            }
        };
        match decision {
            Decision::Take => {}
            Decision::TakeOver { resume: run } => resume = Some(run),
            Decision::Refuse(found) => {
                error_line(format_args!("error: {}", refusal(&found)));
                free(store, &asks[..taken]);
                return Taken::Stop(ExitStatus::OtherError);
            }
            Decision::Skip(found) => {
                stdout.line_in(Color::Yellow, &skip_warning(&found, job));
                free(store, &asks[..taken]);
                return Taken::Stop(ExitStatus::Success);
            }
        }
    }
    Taken::Go { resume }
}

/// Asks for one claim; with `wait`, asks again while a live run holds a run-once key.
fn decide(
    store: &mut dyn Backend,
    ask: &Ask,
    wait: bool,
    stdout: &mut Stdout,
) -> Result<Decision, StoreError> {
    let mut announced = false;
    loop {
        let decision = store.claim(ask)?;
        match &decision {
            Decision::Skip(found) if wait && found.state == ClaimState::Held => {
                if !announced {
                    announced = true;
                    stdout.line(&format!(
                        "Waiting: the {} '{}' is held by {}; factotum takes over if that run is lost",
                        ask.kind.as_str(),
                        printable(&ask.name),
                        holder_text(found)
                    ));
                }
                // Bounded by the holder: it ends, or stops renewing and is lost.
                std::thread::sleep(WAIT_POLL.min(ask.lease / 4));
            }
            _ => return Ok(decision),
        }
    }
}

/// Frees claims taken before the run started: nothing ran under them.
pub(crate) fn free(store: &mut dyn Backend, asks: &[Ask]) {
    for ask in asks {
        if let Err(error) = store.release_claim(&ask.name, ask.kind, &ask.holder.run, Release::Free)
        {
            error_line(format_args!(
                "Warn: the {} '{}' could not be freed: {error}",
                ask.kind.as_str(),
                printable(&ask.name)
            ));
        }
    }
}

/// `run X on HOST (pid N) since T UTC`.
fn holder_text(found: &ClaimRow) -> String {
    format!(
        "run {} on {} (pid {}) since {} UTC",
        printable(&found.holder.run),
        printable(&found.holder.host),
        found.holder.pid,
        time_text(found.since)
    )
}

/// Why a lock stops the run (exit 3), with the command that clears it when one does.
fn refusal(found: &ClaimRow) -> String {
    let name = printable(&found.name);
    let what = found.kind.as_str();
    let holder = holder_text(found);
    let clear = format!("clear it with `factotum unlock '{name}'` once you have looked");
    match found.state {
        ClaimState::Held if found.holder_is_lost() => format!(
            "the {what} '{name}' is held by {holder}, which was lost, no tasks have been executed; {clear}"
        ),
        ClaimState::Held => format!(
            "the {what} '{name}' is held by {holder}, still running, no tasks have been executed"
        ),
        _ => format!(
            "the {what} '{name}' was left held by {holder}, which did not succeed, no tasks have been executed; {clear}"
        ),
    }
}

/// The `Warn:` line, in the style of 0.7's constraint mismatch, for a run-once key that
/// needs nothing from this invocation.
fn skip_warning(found: &ClaimRow, job: &str) -> String {
    let key = printable(&found.name);
    let holder = holder_text(found);
    match found.state {
        ClaimState::Succeeded => format!(
            "Warn: the run-once key \"{key}\" already succeeded ({holder}), no tasks have been executed."
        ),
        ClaimState::Failed => format!(
            "Warn: the run-once key \"{key}\" failed ({holder}), no tasks have been executed. Resume it with: factotum run {} --once '{key}' --resume",
            printable(job)
        ),
        ClaimState::Held | ClaimState::Left => format!(
            "Warn: the run-once key \"{key}\" is held by {holder}, no tasks have been executed."
        ),
    }
}

/// Keeps the leases of a run's claims and leaves them as its outcome says.
pub(crate) struct Keeper {
    finish: Sender<Ending>,
    thread: JoinHandle<Option<String>>,
}

/// How the claims' run ended.
#[derive(Clone, Copy)]
enum Ending {
    /// It ran and succeeded (or finished early), or not.
    Ran { succeeded: bool },
    /// It never started: the claims are freed.
    Abandoned,
}

impl Ending {
    fn release(self, kind: Kind) -> Release {
        match self {
            Self::Ran { succeeded } => claims::release(kind, succeeded),
            Self::Abandoned => Release::Free,
        }
    }
}

/// What the keeper's two threads share: when every lease was last renewed, and why the run
/// lost its claims, once it has.
struct Leases {
    renewed: Instant,
    lost: Option<String>,
}

impl Keeper {
    /// Starts renewing `held` (every fifth of the lease, on a connection of its own) and
    /// watching that the renewals succeed. When one says another run holds a claim, or none
    /// has succeeded for the lease less the time stopping takes, the run is stopped through
    /// `stopper`, so its tasks are gone before any other server may take over.
    pub(crate) fn start(
        store: Box<dyn Backend>,
        held: Vec<Ask>,
        grace: Duration,
        stopper: Stopper,
    ) -> Self {
        let lease = held.iter().map(|ask| ask.lease).min().unwrap_or_default();
        let leases = Arc::new(Mutex::new(Leases {
            renewed: Instant::now(),
            lost: None,
        }));
        // Stopping takes the grace period and a moment more; never wait less than half the lease.
        let give_up = lease
            .saturating_sub(grace + Duration::from_secs(1))
            .max(lease / 2);
        // The run itself refuses to start a task past the deadline, which each renewal moves
        // on, in case this keeper's threads are slow to notice it passed.
        let deadline = Deadline {
            stopper: stopper.clone(),
            give_up,
            reason: format!(
                "factotum lost {} (its lease could not be renewed in time)",
                claim_names(&held)
            ),
        };
        deadline.move_on(Instant::now());
        let renewer = match store.connect_again() {
            Ok(connection) => Some(renew(
                connection,
                held.clone(),
                lease / 5,
                (Arc::clone(&leases), deadline),
            )),
            Err(_) => None,
        };
        let (finish, finished) = mpsc::channel::<Ending>();
        let thread = std::thread::spawn(move || {
            watch(store, &held, &leases, &finished, give_up, &stopper, renewer)
        });
        Self { finish, thread }
    }

    /// Stops renewing and frees every claim: the run did not start after all.
    pub(crate) fn abandon(self) {
        let _ = self.finish.send(Ending::Abandoned);
        let _ = self.thread.join();
    }

    /// Stops renewing and leaves every claim as a run that `succeeded` (or not) leaves it;
    /// why the run lost them, if it did (then they are left as they are, for a standby to
    /// take over).
    pub(crate) fn finish(self, succeeded: bool) -> Option<String> {
        let _ = self.finish.send(Ending::Ran { succeeded });
        self.thread.join().ok().flatten()
    }
}

/// The keeper's watch: stops the run when the leases run out, and releases the claims when
/// the run ends.
fn watch(
    mut store: Box<dyn Backend>,
    held: &[Ask],
    leases: &Mutex<Leases>,
    finished: &mpsc::Receiver<Ending>,
    give_up: Duration,
    stopper: &Stopper,
    renewer: Option<(Sender<()>, JoinHandle<()>)>,
) -> Option<String> {
    let every = Duration::from_millis(100);
    let mut stop_sent = false;
    let outcome = loop {
        match finished.recv_timeout(every) {
            Ok(ending) => break Some(ending),
            Err(RecvTimeoutError::Disconnected) => break None,
            Err(RecvTimeoutError::Timeout) => {}
        }
        let Ok(mut state) = leases.lock() else {
            break None;
        };
        if state.lost.is_none() && state.renewed.elapsed() >= give_up {
            state.lost = Some(format!(
                "its lease could not be renewed for {} s",
                state.renewed.elapsed().as_secs()
            ));
        }
        if let (Some(reason), false) = (&state.lost, stop_sent) {
            stop_sent = true;
            stopper.stop(format!("factotum lost {} ({reason})", claim_names(held)));
        }
    };
    if let Some((stop, _)) = renewer {
        // The renewer may be stuck in a request; it ends with the process if so.
        drop(stop);
    }
    let lost = leases.lock().ok().and_then(|state| state.lost.clone());
    // Lost claims are left as the store has them: a standby takes them over.
    if let (Some(ending), None) = (outcome, &lost) {
        for ask in held {
            let release = ending.release(ask.kind);
            let mut released = store.release_claim(&ask.name, ask.kind, &ask.holder.run, release);
            if released.is_err() {
                // The connection sat idle through the run and may have been closed.
                released = store.connect_again().and_then(|mut again| {
                    let result = again.release_claim(&ask.name, ask.kind, &ask.holder.run, release);
                    store = again;
                    result
                });
            }
            if let Err(error) = released {
                error_line(format_args!(
                    "Warn: the {} '{}' could not be released: {error}",
                    ask.kind.as_str(),
                    printable(&ask.name)
                ));
            }
        }
    }
    lost
}

/// Renews every claim of `held` each `every`, reconnecting after a failure; records each
/// full success, or that another run holds a claim now.
fn renew(
    mut store: Box<dyn Backend>,
    held: Vec<Ask>,
    every: Duration,
    (leases, deadline): (Arc<Mutex<Leases>>, Deadline),
) -> (Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = mpsc::channel::<()>();
    let every = every.max(Duration::from_millis(200));
    let thread = std::thread::spawn(move || {
        let mut broken = false;
        while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
            if broken {
                match store.connect_again() {
                    Ok(connection) => {
                        store = connection;
                        broken = false;
                    }
                    Err(_) => continue,
                }
            }
            let started = Instant::now();
            let mut renewed_all = true;
            for ask in &held {
                match store.renew_claim(&ask.name, ask.kind, &ask.holder.run) {
                    Ok(true) => {}
                    Ok(false) => {
                        if let Ok(mut state) = leases.lock() {
                            state.lost.get_or_insert_with(|| {
                                format!(
                                    "another run holds the {} '{}' now",
                                    ask.kind.as_str(),
                                    printable(&ask.name)
                                )
                            });
                        }
                        return;
                    }
                    Err(_) => {
                        broken = true;
                        renewed_all = false;
                        break;
                    }
                }
            }
            if renewed_all && let Ok(mut state) = leases.lock() {
                // The lease runs from when the request was sent, never from its answer.
                state.renewed = state.renewed.max(started);
                if state.lost.is_none() {
                    deadline.move_on(state.renewed);
                }
            }
        }
    });
    (stop, thread)
}

/// The moment after which the run must start no task: the last renewal sent, plus the time
/// the keeper gives renewals before it gives up.
struct Deadline {
    stopper: Stopper,
    give_up: Duration,
    reason: String,
}

impl Deadline {
    fn move_on(&self, renewed: Instant) {
        self.stopper
            .stop_at(renewed + self.give_up, self.reason.clone());
    }
}

/// `the lock 'a' and the run-once key 'b'`.
fn claim_names(held: &[Ask]) -> String {
    let names: Vec<String> = held
        .iter()
        .map(|ask| format!("the {} '{}'", ask.kind.as_str(), printable(&ask.name)))
        .collect();
    names.join(" and ")
}

/// The claims `run` asks for, in the order they are taken: locks, then the run-once key.
pub(crate) fn kinds_asked<'a>(
    locks: &'a [String],
    soft_locks: &'a [String],
    once: Option<&'a str>,
) -> impl Iterator<Item = (&'a str, Kind)> {
    locks
        .iter()
        .map(|name| (name.as_str(), Kind::Lock))
        .chain(
            soft_locks
                .iter()
                .map(|name| (name.as_str(), Kind::SoftLock)),
        )
        .chain(once.map(|key| (key, Kind::Once)))
}
