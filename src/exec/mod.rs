//! The executor: every task in its own process group, started the moment the tasks it waits
//! for have succeeded, its output streamed live; signals stop the whole tree.

pub(crate) mod clock;
mod output;
mod prepare;
mod transition;

pub(crate) use output::Tail;
pub(crate) use prepare::{PreparedRun, TaskOptions, command_line, prepare};
pub(crate) use transition::RetryPolicy;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustix::process::{Pid, Signal, kill_process_group};
use signal_hook::consts::{
    SIGABRT, SIGALRM, SIGBUS, SIGFPE, SIGHUP, SIGILL, SIGINT, SIGKILL, SIGPIPE, SIGQUIT, SIGSEGV,
    SIGTERM, SIGUSR1, SIGUSR2,
};
use signal_hook::iterator::Signals;

use crate::graph::{Schedule, TaskGraph};
use output::{Prefix, Stream};
use transition::{Exit, Happening, attempt_of, next_state};

/// How long to wait for output pipes after the final SIGKILL; only processes that left the
/// task's group (with `setsid`) can keep them open that long.
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(2);

/// The signals that stop a run. SIGHUP too, so that a closed terminal or a dropped ssh
/// session does not leave half a pipeline running; SIGQUIT stops it the same way, without
/// the core dump, since the tasks are what matters.
const STOP_SIGNALS: [i32; 4] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT];

/// A signal's name (`SIGTERM`), or its number when it is not one a task is commonly killed by.
pub(crate) fn signal_name(signal: i32) -> Cow<'static, str> {
    let name = match signal {
        SIGHUP => "SIGHUP",
        SIGINT => "SIGINT",
        SIGQUIT => "SIGQUIT",
        SIGILL => "SIGILL",
        SIGABRT => "SIGABRT",
        SIGBUS => "SIGBUS",
        SIGFPE => "SIGFPE",
        SIGKILL => "SIGKILL",
        SIGUSR1 => "SIGUSR1",
        SIGSEGV => "SIGSEGV",
        SIGUSR2 => "SIGUSR2",
        SIGPIPE => "SIGPIPE",
        SIGALRM => "SIGALRM",
        SIGTERM => "SIGTERM",
        _ => return Cow::Owned(signal.to_string()),
    };
    Cow::Borrowed(name)
}

/// Fills `bytes` from the kernel's random source, or, failing that, from the clock and the
/// process id: what needs it (jitter, run references) only needs values that differ.
pub(crate) fn random_bytes(bytes: &mut [u8]) {
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut source| std::io::Read::read_exact(&mut source, bytes));
    if read.is_err() {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        let seed = (nanos ^ (u128::from(std::process::id()) << 96)).to_le_bytes();
        for (byte, seeded) in bytes.iter_mut().zip(seed.iter().cycle()) {
            *byte = *seeded;
        }
    }
}

/// A factor drawn uniformly from [0.9, 1.1), to spread the retries of tasks that failed
/// together.
fn jitter_factor() -> f64 {
    let mut bytes = [0u8; 8];
    random_bytes(&mut bytes);
    // The top 53 bits: every value a float in [0, 1) can take, evenly.
    #[allow(clippy::cast_precision_loss)] // 53 bits fit a float's mantissa exactly.
    let unit = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    0.9 + 0.2 * unit
}

/// Why a task is skipped when the task `name` above it finished early; a resumed run that
/// keeps that early finish gives its sub-tree the same reason.
pub(crate) fn early_finish_reason(name: &str) -> String {
    format!("the task '{name}' requested early termination")
}

/// A task ready to run: its rendered name and shell line, and what its exit codes mean.
#[derive(Clone, Debug)]
pub(crate) struct PreparedTask {
    /// The name after templating.
    pub name: String,
    /// What `sh -c` runs: the command, then each argument in double quotes.
    pub command_line: String,
    /// Exit codes that count as success.
    pub continue_codes: Vec<u16>,
    /// Exit codes that end this branch successfully.
    pub terminate_codes: Vec<u16>,
    /// The job's format: a failure names the exit-code list as the file does.
    pub written_in: crate::syntax::Format,
    /// Retry, timeout, environment, working directory and pool.
    pub options: TaskOptions,
}

impl PreparedTask {
    /// The process a run starts, as a shell command: `sh -c '…'`, the line quoted as one word.
    /// `run --dry-run`, `tasks` and the language server's hover show it.
    pub(crate) fn shell_command(&self) -> String {
        let mut command = "sh -c ".to_owned();
        crate::template::push_shell_quoted(&mut command, &self.command_line);
        command
    }

    /// What the exit codes mean, in the DSL's words: `continue on 0, 1; finish on 3`.
    pub(crate) fn exit_codes(&self) -> String {
        let listed = |codes: &[u16]| {
            let codes: Vec<String> = codes.iter().map(ToString::to_string).collect();
            codes.join(", ")
        };
        let continues = if self.continue_codes.is_empty() {
            "continue on none".to_owned()
        } else {
            format!("continue on {}", listed(&self.continue_codes))
        };
        if self.terminate_codes.is_empty() {
            continues
        } else {
            format!("{continues}; finish on {}", listed(&self.terminate_codes))
        }
    }
}

/// How to run.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// At most this many tasks at once; `None` for no limit, as in 0.7.
    pub jobs: Option<NonZeroUsize>,
    /// How long tasks get between SIGTERM and SIGKILL on shutdown.
    pub grace: Duration,
    /// Colour the `[task]` prefixes and stderr lines.
    pub colour: bool,
    /// Set `CLICOLOR=0` for the tasks, as 0.7's `--no-colour` did.
    pub tasks_without_colour: bool,
    /// Keep the last this many characters of each task's stdout and stderr (for webhooks).
    pub keep_output: Option<usize>,
    /// Tell the observer which tasks are running this often.
    pub heartbeat: Option<Duration>,
    /// The longest the whole run may take, and how the file wrote it in seconds.
    pub job_timeout: Option<(Duration, String)>,
    /// How many tasks of each pool may run at once.
    pub pools: HashMap<String, usize>,
}

/// What is known of a task beyond its state, for webhooks.
#[derive(Debug, Default)]
pub(crate) struct Record {
    /// When it was started.
    pub started_at: Option<SystemTime>,
    /// How long it ran, once it ended.
    pub duration: Option<Duration>,
    /// Its exit code; 128 + N when killed by signal N, -1 when it could not be run.
    pub return_code: Option<i32>,
    /// The signal that killed it, when one did.
    pub signal: Option<i32>,
    /// The tails of its stdout and stderr, when kept (across all its attempts).
    pub output: Option<Arc<Output>>,
    /// How many times its command was started in this run.
    pub attempts: u32,
}

/// The kept tails of one task's two streams.
#[derive(Debug)]
pub(crate) struct Output {
    /// Its stdout.
    pub stdout: Mutex<Tail>,
    /// Its stderr.
    pub stderr: Mutex<Tail>,
}

/// A view of the run, handed to the [`Observer`] with each event.
pub(crate) struct View<'r> {
    /// Each task's state, by position in the job.
    pub states: &'r [State],
    /// Each task's record, by position in the job.
    pub records: &'r [Record],
}

/// Several observers, each told every event in turn.
pub(crate) struct Observers<'o>(pub Vec<&'o mut dyn Observer>);

impl Observer for Observers<'_> {
    fn job_started(&mut self, view: &View<'_>) {
        self.0.iter_mut().for_each(|o| o.job_started(view));
    }
    fn tasks_started(&mut self, started: &[usize], first: bool, view: &View<'_>) {
        self.0
            .iter_mut()
            .for_each(|o| o.tasks_started(started, first, view));
    }
    fn task_finished(&mut self, task: usize, skipped: &[(usize, bool)], view: &View<'_>) {
        self.0
            .iter_mut()
            .for_each(|o| o.task_finished(task, skipped, view));
    }
    fn heartbeat(&mut self, running: &[usize], view: &View<'_>) {
        self.0.iter_mut().for_each(|o| o.heartbeat(running, view));
    }
    fn stopping(&mut self, signal: i32) {
        self.0.iter_mut().for_each(|o| o.stopping(signal));
    }
    fn job_finished(&mut self, view: &View<'_>) {
        self.0.iter_mut().for_each(|o| o.job_finished(view));
    }
}

/// Follows a run as it happens; every method has a default that does nothing.
pub(crate) trait Observer {
    /// Before any task starts.
    fn job_started(&mut self, _view: &View<'_>) {}
    /// Tasks were just started; `first` on the run's first scheduling step, even when it
    /// started nothing (an empty job).
    fn tasks_started(&mut self, _started: &[usize], _first: bool, _view: &View<'_>) {}
    /// A task ended; `skipped` lists the descendants this skipped, each with whether it was
    /// already skipped before.
    fn task_finished(&mut self, _task: usize, _skipped: &[(usize, bool)], _view: &View<'_>) {}
    /// Every heartbeat interval while tasks run.
    fn heartbeat(&mut self, _running: &[usize], _view: &View<'_>) {}
    /// The run is being stopped (a stop signal, or a [`Stopper`]): it starts nothing more and
    /// sends this signal to its tasks.
    fn stopping(&mut self, _signal: i32) {}
    /// After the last task ended.
    fn job_finished(&mut self, _view: &View<'_>) {}
}

/// Where a task ended up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Not started (yet): its dependencies did not all succeed, or the run was stopped.
    Waiting,
    /// Started and not yet ended.
    Running,
    /// Exited with a `continueJob` code.
    Succeeded,
    /// Exited with a `terminateJobWithSuccess` code: its descendants are skipped.
    FinishedEarly,
    /// Anything else, with the reason.
    Failed(String),
    /// Not run because of these upstream failures or early finishes.
    Skipped(Vec<String>),
}

/// What happened in a run.
#[derive(Debug)]
pub(crate) struct Report {
    /// The state of every task of the job, by position; tasks outside the run stay `Waiting`.
    pub states: Vec<State>,
    /// How many tasks were started.
    pub started: usize,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
    /// The first signal that stopped the run, if one did.
    pub interrupted_by: Option<i32>,
    /// Why a [`Stopper`] or the job's timeout stopped the run, if one did first.
    pub stopped: Option<String>,
    /// How many attempts were retries.
    pub retries: usize,
    /// How many attempts ran past their timeout.
    pub timeouts: usize,
    /// The stop signals, still caught after the run.
    pub interrupts: Interrupts,
}

/// The signals that stop a run, still caught after it ended until this is dropped, so that
/// what follows the run (the webhook drain) can heed them too.
pub(crate) struct Interrupts {
    /// The run's inbox: once the run has ended, only signals arrive in it.
    inbox: mpsc::Receiver<Event>,
    handle: signal_hook::iterator::Handle,
}

impl Interrupts {
    /// A stop signal received since the run ended (or since the last call), if any.
    pub(crate) fn received(&self) -> Option<i32> {
        self.inbox.try_iter().find_map(|event| match event {
            Event::Signal(signal) => Some(signal),
            Event::Finished { .. } | Event::StopAsked => None,
        })
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        self.handle.close();
    }
}

impl std::fmt::Debug for Interrupts {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Interrupts").finish_non_exhaustive()
    }
}

enum Event {
    Finished {
        task: usize,
        /// Which of the task's attempts ended (from 1).
        attempt: u32,
        exit: Exit,
        duration: Duration,
    },
    Signal(i32),
    /// A [`Stopper`] asked to stop the run; its reason waits in [`StopRequest`].
    StopAsked,
}

/// Why a [`Stopper`] asked to stop the run, until the run takes it. The run reads it before
/// it starts any task, so a request made while the run was busy (an observer's write can
/// take seconds) is never overtaken by a task it lets go meanwhile.
type StopRequest = Arc<Mutex<StopState>>;

/// What the [`Stopper`]s of a run have asked.
#[derive(Default)]
struct StopState {
    /// Stop now, for this reason.
    reason: Option<String>,
    /// Stop once this moment has passed, for this reason, unless it is moved on first: the
    /// run checks it itself before starting any task, so a task is never started after it
    /// even when the thread that would ask for the stop has not run yet.
    deadline: Option<(Instant, String)>,
}

/// The process groups of the tasks running now, by task, shared with the [`Stopper`]s: a
/// stop must reach the tasks even while the run is stuck (an observer's write to a store
/// that does not answer can block for long), since it is what keeps two servers from running
/// tasks of one key at once.
type LiveGroups = Arc<Mutex<HashMap<usize, Pid>>>;

/// Where a run's events arrive: made before the run, so that something else (the keeper of
/// a lease) can hold a [`Stopper`] from the start.
pub(crate) struct Inbox {
    events: Sender<Event>,
    receiver: mpsc::Receiver<Event>,
    stop_request: StopRequest,
    live_groups: LiveGroups,
    /// The run's `--grace`, which a stop also gives the tasks before SIGKILL.
    grace: Duration,
}

impl Inbox {
    pub(crate) fn new(grace: Duration) -> Self {
        let (events, receiver) = mpsc::channel();
        Self {
            events,
            receiver,
            stop_request: StopRequest::default(),
            live_groups: LiveGroups::default(),
            grace,
        }
    }

    /// A handle that stops the run as a stop signal does: nothing more starts, running tasks
    /// get SIGTERM, the grace period, then SIGKILL.
    pub(crate) fn stopper(&self) -> Stopper {
        Stopper {
            events: self.events.clone(),
            request: Arc::clone(&self.stop_request),
            live_groups: Arc::clone(&self.live_groups),
            grace: self.grace,
        }
    }
}

/// Stops a run from another thread; see [`Inbox::stopper`].
#[derive(Clone)]
pub(crate) struct Stopper {
    events: Sender<Event>,
    request: StopRequest,
    live_groups: LiveGroups,
    grace: Duration,
}

impl Stopper {
    /// Stops the run, saying why; nothing happens once the run is over. The running tasks
    /// get SIGTERM now and SIGKILL after the grace period from here, whatever the run's own
    /// thread is doing; the run then stops as on a signal when it reads the request.
    pub(crate) fn stop(&self, reason: String) {
        let first = match self.request.lock() {
            Ok(mut request) if request.reason.is_none() => {
                request.reason = Some(reason);
                true
            }
            _ => false,
        };
        if first {
            signal_groups(&self.live_groups, Signal::TERM);
            let (groups, grace) = (Arc::clone(&self.live_groups), self.grace);
            std::thread::spawn(move || {
                std::thread::sleep(grace);
                signal_groups(&groups, Signal::KILL);
            });
        }
        // Wakes the run if it waits for an event.
        let _ = self.events.send(Event::StopAsked);
    }
}

impl Stopper {
    /// Stops the run for `reason` if it still runs at `at`, unless a later call moves the
    /// moment on: the run starts no task after it.
    pub(crate) fn stop_at(&self, at: Instant, reason: String) {
        if let Ok(mut request) = self.request.lock() {
            request.deadline = Some((at, reason));
        }
    }
}

/// Signals every live task's process group; one may already be gone.
fn signal_groups(groups: &LiveGroups, signal: Signal) {
    if let Ok(groups) = groups.lock() {
        for &group in groups.values() {
            let _ = kill_process_group(group, signal);
        }
    }
}

/// Runs `members` (positions in `tasks`, in file order) of a job whose graph is `plan`.
pub(crate) fn execute(
    tasks: &[PreparedTask],
    plan: &TaskGraph,
    members: &[usize],
    options: &Options,
    observer: &mut dyn Observer,
    inbox: Inbox,
) -> std::io::Result<Report> {
    let Inbox {
        events,
        receiver: inbox,
        stop_request,
        live_groups,
        grace: _,
    } = inbox;
    let mut signals = Signals::new(STOP_SIGNALS)?;
    let signal_handle = signals.handle();
    let signal_events = events.clone();
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal_events.send(Event::Signal(signal)).is_err() {
                break;
            }
        }
    });
    let mut run = Run::new(
        tasks,
        plan,
        members,
        options,
        events,
        (stop_request, live_groups),
        observer,
    );
    let started_at = Instant::now();
    run.notify(|observer, view| observer.job_started(view));
    run.drive(&inbox);
    run.notify(|observer, view| observer.job_finished(view));
    Ok(Report {
        states: run.states,
        started: run.started,
        elapsed: started_at.elapsed(),
        interrupted_by: run.interrupted_by,
        stopped: run.stopped,
        retries: run.retries,
        timeouts: run.timeouts,
        interrupts: Interrupts {
            inbox,
            handle: signal_handle,
        },
    })
}

/// The bookkeeping of one run.
struct Run<'a> {
    tasks: &'a [PreparedTask],
    plan: &'a TaskGraph,
    options: &'a Options,
    events: Sender<Event>,
    /// The `sh` every task runs in.
    shell: PathBuf,
    /// Which tasks take part, and which may start.
    schedule: Schedule<'a>,
    /// Tasks started whose end has not been handled yet, with their process groups (`None`
    /// when no process was made): the run ends only when this is empty, so that no task's
    /// ending is left unread in the inbox.
    running: HashMap<usize, Option<Pid>>,
    states: Vec<State>,
    records: Vec<Record>,
    observer: &'a mut dyn Observer,
    /// Whether the observer has heard of the first scheduling step.
    announced_running: bool,
    next_heartbeat: Option<Instant>,
    started: usize,
    interrupted_by: Option<i32>,
    stopped: Option<String>,
    stop_request: StopRequest,
    live_groups: LiveGroups,
    /// When to SIGKILL what is left, after the first signal.
    kill_at: Option<Instant>,
    /// When to stop waiting for output, after the SIGKILL.
    abandon_at: Option<Instant>,
    /// When the job's timeout stops the run.
    job_deadline: Option<Instant>,
    /// Tasks waiting to be tried again: when, and the reason their last attempt failed (their
    /// state, should the run stop first). They hold no `-j` or pool slot meanwhile.
    delayed: HashMap<usize, (Instant, String)>,
    /// For running tasks with a timeout: when to take the next step, and which.
    timeouts_at: HashMap<usize, (Instant, TimeoutStep)>,
    /// Running tasks whose attempt ran past its timeout.
    timed_out: HashSet<usize>,
    /// When each task's first attempt began.
    first_began: Vec<Option<Instant>>,
    retries: usize,
    timeouts: usize,
}

impl<'a> Run<'a> {
    fn new(
        tasks: &'a [PreparedTask],
        plan: &'a TaskGraph,
        members: &[usize],
        options: &'a Options,
        events: Sender<Event>,
        (stop_request, live_groups): (StopRequest, LiveGroups),
        observer: &'a mut dyn Observer,
    ) -> Self {
        Self {
            tasks,
            plan,
            options,
            events,
            shell: shell(),
            schedule: Schedule::new(plan, members),
            running: HashMap::new(),
            states: vec![State::Waiting; tasks.len()],
            records: tasks.iter().map(|_| Record::default()).collect(),
            observer,
            announced_running: false,
            next_heartbeat: options.heartbeat.map(clock::deadline_after),
            started: 0,
            interrupted_by: None,
            stopped: None,
            stop_request,
            live_groups,
            kill_at: None,
            abandon_at: None,
            job_deadline: options
                .job_timeout
                .as_ref()
                .map(|(timeout, _)| clock::deadline_after(*timeout)),
            delayed: HashMap::new(),
            timeouts_at: HashMap::new(),
            timed_out: HashSet::new(),
            first_began: vec![None; tasks.len()],
            retries: 0,
            timeouts: 0,
        }
    }

    fn drive(&mut self, inbox: &mpsc::Receiver<Event>) {
        loop {
            self.take_stop_request();
            if self.stopping() {
                self.cancel_retries();
            } else {
                self.start_ready();
            }
            if self.running.is_empty() && self.delayed.is_empty() {
                return;
            }
            let event = match self.next_deadline() {
                Some(deadline) => {
                    inbox.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                }
                None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match event {
                Ok(Event::Finished {
                    task,
                    attempt,
                    exit,
                    duration,
                }) => {
                    // The end of an attempt the run gave up waiting for is old news.
                    if self.running.contains_key(&task) && self.records[task].attempts == attempt {
                        self.finish(task, exit, duration);
                    }
                }
                Ok(Event::Signal(signal)) => self.on_signal(signal),
                Ok(Event::StopAsked) => self.take_stop_request(),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            // Checked after every event too: a busy run may never time out waiting for one.
            if self.act_on_deadlines() {
                return;
            }
        }
    }

    /// Whether the run is being stopped: it starts nothing more.
    fn stopping(&self) -> bool {
        self.interrupted_by.is_some() || self.stopped.is_some()
    }

    /// The next moment the run must act without an event: a kill, the end of the wait for
    /// output, a heartbeat, the job's timeout, a task's timeout, or a retry coming due (one
    /// already due waits for a slot, which only a task's end frees).
    fn next_deadline(&self) -> Option<Instant> {
        let now = Instant::now();
        let retry = self
            .delayed
            .values()
            .map(|(at, _)| *at)
            .filter(|&at| at > now)
            .min();
        let job = self.job_deadline.filter(|_| !self.stopping());
        [
            self.abandon_at.or(self.kill_at),
            self.next_heartbeat,
            job,
            retry,
            self.timeouts_at.values().map(|(at, _)| *at).min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Does what is due by now; whether the run gave up on its tasks' output and is over.
    fn act_on_deadlines(&mut self) -> bool {
        let now = Instant::now();
        if self.abandon_at.is_some_and(|at| at <= now) {
            self.abandon();
            return true;
        }
        if self.kill_at.is_some_and(|at| at <= now) {
            self.force_kill();
        }
        if let Some((_, written)) = self
            .options
            .job_timeout
            .as_ref()
            .filter(|_| self.job_deadline.is_some_and(|at| at <= now))
        {
            self.job_deadline = None;
            self.on_stop(format!("the job timed out after {written}s"));
        }
        self.time_out_attempts(now);
        if let Some(every) = self
            .options
            .heartbeat
            .filter(|_| self.next_heartbeat.is_some_and(|at| at <= now))
        {
            self.next_heartbeat = Some(clock::deadline_after(every));
            // A task waiting to be tried again is still running, as far as anyone watching
            // knows.
            let mut running: Vec<usize> = self
                .running
                .keys()
                .chain(self.delayed.keys())
                .copied()
                .collect();
            running.sort_unstable();
            self.notify(|observer, view| observer.heartbeat(&running, view));
        }
        false
    }

    /// Attempts past their timeout get SIGTERM to their process group, SIGKILL once the
    /// grace period is over too, and are given up on when, even so, something that left the
    /// group still holds their output.
    fn time_out_attempts(&mut self, now: Instant) {
        let due: Vec<(usize, TimeoutStep)> = self
            .timeouts_at
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(&task, &(_, step))| (task, step))
            .collect();
        for (task, step) in due {
            let group = self.running.get(&task).copied().flatten();
            let next = match step {
                TimeoutStep::Term => {
                    self.timed_out.insert(task);
                    Some((self.options.grace, TimeoutStep::Kill))
                }
                TimeoutStep::Kill => Some((DRAIN_AFTER_KILL, TimeoutStep::GiveUp)),
                TimeoutStep::GiveUp => None,
            };
            if let (Some(group), Some(signal)) = (group, step.signal()) {
                // The group may already be gone; its end is on its way.
                let _ = kill_process_group(group, signal);
            }
            if let Some((after, next)) = next {
                self.timeouts_at
                    .insert(task, (clock::deadline_after(after), next));
            } else {
                // Read as timed out, as every attempt stopped at its timeout is.
                let began = self.first_began[task].unwrap_or(now);
                self.finish(task, Exit::Signal(SIGKILL), now.duration_since(began));
            }
        }
    }

    fn start_ready(&mut self) {
        let limit = self.options.jobs.map_or(usize::MAX, NonZeroUsize::get);
        // Retries that are due first: they were started before anything ready now.
        let now = Instant::now();
        let mut due: Vec<usize> = self
            .delayed
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(&task, _)| task)
            .collect();
        due.sort_unstable();
        for task in due {
            if self.running.len() >= limit {
                break;
            }
            if pool_has_room(self.tasks, &self.running, &self.options.pools, task) {
                self.delayed.remove(&task);
                self.start(task);
            }
        }
        let mut batch = Vec::new();
        while self.running.len() < limit {
            let Some(task) = self.next_ready_with_room() else {
                break;
            };
            batch.push(task);
            self.start(task);
        }
        let first = !self.announced_running;
        if first || !batch.is_empty() {
            self.announced_running = true;
            self.notify(|observer, view| observer.tasks_started(&batch, first, view));
        }
    }

    /// Takes the ready task earliest in the file whose pool has room.
    fn next_ready_with_room(&mut self) -> Option<usize> {
        let (tasks, running, pools) = (self.tasks, &self.running, &self.options.pools);
        self.schedule
            .next_ready_where(|task| pool_has_room(tasks, running, pools, task))
    }

    /// Tells the observer something, showing it the run as it is now.
    fn notify(&mut self, event: impl FnOnce(&mut dyn Observer, &View<'_>)) {
        let view = View {
            states: &self.states,
            records: &self.records,
        };
        event(&mut *self.observer, &view);
    }

    /// Starts `task`'s next attempt.
    fn start(&mut self, task: usize) {
        let spec = &self.tasks[task];
        let now = SystemTime::now();
        let attempt = self.records[task].attempts + 1;
        say(
            Stream::Stderr,
            format_args!(
                "Task '{}' was started at {}{}",
                spec.name,
                clock::timestamp(now),
                attempt_of(spec, attempt)
            ),
        );
        let record = &mut self.records[task];
        record.attempts = attempt;
        if attempt == 1 {
            self.started += 1;
            self.first_began[task] = Some(Instant::now());
            record.started_at = Some(now);
            record.output = self.options.keep_output.map(|limit| {
                Arc::new(Output {
                    stdout: Mutex::new(Tail::new(limit)),
                    stderr: Mutex::new(Tail::new(limit)),
                })
            });
            self.happen(task, Happening::Start);
        }
        let output = self.records[task].output.clone();
        let mut command = Command::new(&self.shell);
        command
            .arg("-c")
            .arg(&spec.command_line)
            .process_group(0)
            .stdin(Stdio::inherit())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.options.tasks_without_colour {
            command.env("CLICOLOR", "0");
        }
        command.envs(spec.options.env.iter().map(|(name, value)| (name, value)));
        let began = Instant::now();
        let spawned = match &spec.options.working_directory {
            Some(directory) => {
                usable_directory(directory).map(|()| command.current_dir(directory).spawn())
            }
            None => Ok(command.spawn()),
        };
        let mut child = match spawned.and_then(|spawned| spawned.map_err(|e| e.to_string())) {
            Ok(child) => child,
            Err(error) => {
                // Through the inbox, so the observer hears of the start before the end; the
                // task counts as running until that event is read.
                self.running.insert(task, None);
                let _ = self.events.send(Event::Finished {
                    task,
                    attempt,
                    exit: Exit::NotStarted(error),
                    duration: began.elapsed(),
                });
                return;
            }
        };
        let group = i32::try_from(child.id()).ok().and_then(Pid::from_raw);
        self.running.insert(task, group);
        if let Some((timeout, _)) = &spec.options.timeout {
            let at = clock::deadline_after(*timeout);
            self.timeouts_at.insert(task, (at, TimeoutStep::Term));
        }
        if let (Some(group), Ok(mut live)) = (group, self.live_groups.lock()) {
            live.insert(task, group);
        }
        let prefix = Prefix::new(&spec.name, self.options.colour);
        let events = self.events.clone();
        std::thread::spawn(move || {
            let stdout = child.stdout.take();
            let stderr = child.stderr.take();
            let (status, duration) = std::thread::scope(|scope| {
                let tails = output.as_deref();
                let prefix = &prefix;
                if let Some(stdout) = stdout {
                    let tail = tails.map(|tails| &tails.stdout);
                    scope.spawn(move || output::pump(stdout, Stream::Stdout, prefix, tail));
                }
                if let Some(stderr) = stderr {
                    let tail = tails.map(|tails| &tails.stderr);
                    scope.spawn(move || output::pump(stderr, Stream::Stderr, prefix, tail));
                }
                let status = child.wait();
                (status, began.elapsed())
            });
            let exit = match status {
                Ok(status) => exit_of(status),
                Err(error) => Exit::NotStarted(error.to_string()),
            };
            let _ = events.send(Event::Finished {
                task,
                attempt,
                exit,
                duration,
            });
        });
    }

    /// Applies `happening` to `task`'s state; whether it applied there.
    fn happen(&mut self, task: usize, happening: Happening) -> bool {
        match next_state(&self.tasks[task], &self.states[task], happening) {
            Some(state) => {
                self.states[task] = state;
                true
            }
            None => false,
        }
    }

    fn finish(&mut self, task: usize, exit: Exit, attempt_duration: Duration) {
        self.running.remove(&task);
        self.timeouts_at.remove(&task);
        if let Ok(mut live) = self.live_groups.lock() {
            live.remove(&task);
        }
        let spec = &self.tasks[task];
        let exit = match (&spec.options.timeout, self.timed_out.remove(&task)) {
            (Some((_, written)), true) => {
                self.timeouts += 1;
                Exit::TimedOut(written.clone())
            }
            _ => exit,
        };
        let attempt = self.records[task].attempts;
        let duration = self.first_began[task].map_or(attempt_duration, |b| b.elapsed());
        let record = &mut self.records[task];
        record.duration = Some(duration);
        record.return_code = Some(exit.return_code());
        record.signal = match exit {
            Exit::Signal(signal) => Some(signal),
            Exit::Code(_) | Exit::NotStarted(_) | Exit::TimedOut(_) => None,
        };
        let retry = transition::retry_delay(spec, attempt, &exit).filter(|_| !self.stopping());
        let how = exit.describe();
        let end = Happening::End { exit, attempt };
        if let (Some(nominal), Some(State::Failed(reason))) =
            (retry, next_state(spec, &self.states[task], end.clone()))
        {
            self.retry_later(task, (attempt, &how), nominal, reason);
            return;
        }
        self.happen(task, end);
        self.settle(task, duration);
    }

    /// Announces the retry of `task` after its `attempt` failed (as `how` says), and puts it
    /// aside until then; `reason` is its state should the run stop before.
    fn retry_later(
        &mut self,
        task: usize,
        (attempt, how): (u32, &str),
        nominal: Duration,
        reason: String,
    ) {
        let spec = &self.tasks[task];
        let wait = transition::jittered(spec, nominal, jitter_factor());
        let attempts = spec
            .options
            .retry
            .as_ref()
            .map_or(1, |retry| retry.attempts);
        say(
            Stream::Stderr,
            format_args!(
                "Task '{}' failed ({how}), attempt {attempt} of {attempts}; retrying in {}",
                spec.name,
                clock::seconds(wait)
            ),
        );
        self.retries += 1;
        self.delayed
            .insert(task, (clock::deadline_after(wait), reason));
    }

    /// A stopping run tries nothing again: each task waiting for a retry ends with its last
    /// attempt's failure.
    fn cancel_retries(&mut self) {
        let mut cancelled: Vec<(usize, String)> = self
            .delayed
            .drain()
            .map(|(task, (_, reason))| (task, reason))
            .collect();
        cancelled.sort_unstable();
        for (task, reason) in cancelled {
            self.states[task] =
                State::Failed(format!("{reason}; not tried again: the run was stopped"));
            let duration = self.first_began[task].map_or(Duration::ZERO, |b| b.elapsed());
            self.records[task].duration = Some(duration);
            self.settle(task, duration);
        }
    }

    /// Says how `task` ended, frees or skips what waits for it, and tells the observer.
    fn settle(&mut self, task: usize, duration: Duration) {
        let spec = &self.tasks[task];
        let attempt = attempt_of(spec, self.records[task].attempts);
        let state = self.states[task].clone();
        let mut skipped = Vec::new();
        match &state {
            State::Succeeded => {
                say(
                    Stream::Stderr,
                    format_args!(
                        "Task '{}': succeeded after {}{attempt}",
                        spec.name,
                        clock::seconds(duration)
                    ),
                );
                self.release_dependents(task);
            }
            State::Failed(reason) => {
                say(
                    Stream::Stderr,
                    format_args!(
                        "Task '{}': failed after {}. Reason: {reason}",
                        spec.name,
                        clock::seconds(duration)
                    ),
                );
                skipped = self.skip_descendants(task, &format!("the task '{}' failed", spec.name));
            }
            State::FinishedEarly => {
                skipped = self.skip_descendants(task, &early_finish_reason(&spec.name));
            }
            State::Waiting | State::Running | State::Skipped(_) => {}
        }
        self.notify(|observer, view| observer.task_finished(task, &skipped, view));
    }

    fn release_dependents(&mut self, task: usize) {
        self.schedule.succeeded(task);
    }

    /// Marks every descendant skipped (adding to its reasons if it already was); returns them,
    /// each with whether it was already skipped.
    fn skip_descendants(&mut self, task: usize, reason: &str) -> Vec<(usize, bool)> {
        let mut skipped = Vec::new();
        let mut seen = vec![false; self.tasks.len()];
        let mut stack = vec![task];
        while let Some(current) = stack.pop() {
            for &dependent in &self.plan.dependents[current] {
                if !self.schedule.takes_part(dependent) || seen[dependent] {
                    continue;
                }
                seen[dependent] = true;
                stack.push(dependent);
                let already = matches!(self.states[dependent], State::Skipped(_));
                if self.happen(dependent, Happening::Skip(reason.to_owned())) {
                    skipped.push((dependent, already));
                }
            }
        }
        skipped
    }

    fn on_signal(&mut self, signal: i32) {
        if !self.stopping() {
            self.interrupted_by = Some(signal);
            self.terminate("Received shutdown signal");
        } else if self.abandon_at.is_none() {
            self.force_kill();
        }
    }

    /// Stops the run if a [`Stopper`] asked, or if the moment it set has passed.
    fn take_stop_request(&mut self) {
        let asked = self.stop_request.lock().ok().and_then(|request| {
            request.reason.clone().or_else(|| {
                request
                    .deadline
                    .as_ref()
                    .filter(|(at, _)| *at <= Instant::now())
                    .map(|(_, reason)| reason.clone())
            })
        });
        if let Some(reason) = asked {
            self.on_stop(reason);
        }
    }

    /// A [`Stopper`] asked: the run stops as on the first signal (a later signal still
    /// cuts the grace period short).
    fn on_stop(&mut self, reason: String) {
        if !self.stopping() {
            self.terminate(&reason);
            self.stopped = Some(reason);
        }
    }

    /// Starts stopping the run: SIGTERM now, SIGKILL after the grace period.
    fn terminate(&mut self, why: &str) {
        self.observer.stopping(SIGTERM);
        say(
            Stream::Stdout,
            format_args!(
                "\n{why}, terminating gracefully...\nTerminating {} child process(es) gracefully...",
                self.processes()
            ),
        );
        self.signal_all(Signal::TERM);
        self.kill_at = Some(clock::deadline_after(self.options.grace));
    }

    /// How many running tasks have a process: one that failed to start has none, and stays in
    /// `running` only until its failure is read.
    fn processes(&self) -> usize {
        self.running.values().flatten().count()
    }

    fn force_kill(&mut self) {
        say(
            Stream::Stdout,
            format_args!(
                "Force-killing {} remaining process(es)...",
                self.processes()
            ),
        );
        self.signal_all(Signal::KILL);
        self.kill_at = None;
        self.abandon_at = Some(clock::deadline_after(DRAIN_AFTER_KILL));
    }

    /// Signals every running task's process group, never factotum's own.
    fn signal_all(&self, signal: Signal) {
        for &group in self.running.values().flatten() {
            // The group may already be gone; there is nothing to do about that.
            let _ = kill_process_group(group, signal);
        }
    }

    /// Gives up on tasks whose output is still held open after the SIGKILL.
    fn abandon(&mut self) {
        let left: Vec<usize> = self.running.keys().copied().collect();
        for task in left {
            self.happen(task, Happening::Abandon);
            if let State::Failed(reason) = &self.states[task] {
                say(
                    Stream::Stderr,
                    format_args!("Task '{}': failed. Reason: {reason}", self.tasks[task].name),
                );
            }
        }
        self.running.clear();
        if let Ok(mut live) = self.live_groups.lock() {
            live.clear();
        }
    }
}

/// What is done next to an attempt that ran past its timeout.
#[derive(Clone, Copy, Debug)]
enum TimeoutStep {
    /// SIGTERM to its process group.
    Term,
    /// SIGKILL, the grace period over.
    Kill,
    /// Stop waiting for its output.
    GiveUp,
}

impl TimeoutStep {
    fn signal(self) -> Option<Signal> {
        match self {
            Self::Term => Some(Signal::TERM),
            Self::Kill => Some(Signal::KILL),
            Self::GiveUp => None,
        }
    }
}

/// Whether `task` may start now as far as its pool goes, with `running` running.
fn pool_has_room(
    tasks: &[PreparedTask],
    running: &HashMap<usize, Option<Pid>>,
    pools: &HashMap<String, usize>,
    task: usize,
) -> bool {
    let Some(pool) = &tasks[task].options.pool else {
        return true;
    };
    let size = pools.get(pool).copied().unwrap_or(usize::MAX);
    let in_use = running
        .keys()
        .filter(|&&other| tasks[other].options.pool.as_ref() == Some(pool))
        .count();
    in_use < size
}

/// Whether `directory` can be a task's working directory, or why not.
fn usable_directory(directory: &Path) -> Result<(), String> {
    match directory.metadata() {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(format!(
            "its working directory {} is not a directory",
            directory.display()
        )),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "its working directory {} does not exist",
            directory.display()
        )),
        Err(error) => Err(format!(
            "its working directory {} cannot be used: {error}",
            directory.display()
        )),
    }
}

/// How a process's exit status reads for its task: a code, or the signal that killed it.
fn exit_of(status: ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        (None, None) => Exit::Code(-1),
    }
}

/// `sh` where `Command::new("sh")` would find it on `PATH`, looked up once per run: spawning
/// by bare name searches `PATH` again for every task, one failed `execve` per entry before it.
/// Plain `sh` when it is not found, so that spawning reports the error as before.
fn shell() -> PathBuf {
    let executable = |path: &Path| {
        path.metadata()
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    };
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("sh"))
                .find(|candidate| candidate.is_absolute() && executable(candidate))
        })
        .unwrap_or_else(|| PathBuf::from("sh"))
}

/// Writes one of factotum's own lines in one piece: `eprintln!` writes each formatted part on
/// its own (five writes for a "started" line), and panics when the stream is a closed pipe,
/// where a failure to write must not stop the run.
fn say(stream: Stream, line: std::fmt::Arguments<'_>) {
    let mut text = line.to_string();
    text.push('\n');
    output::write_whole(stream, text.as_bytes());
}
