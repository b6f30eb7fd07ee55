//! The executor: every task in its own process group, started the moment the tasks it waits
//! for have succeeded, its output streamed live; signals stop the whole tree.

pub(crate) mod clock;
mod output;
mod prepare;
mod transition;

pub(crate) use output::Tail;
pub(crate) use prepare::{command_line, prepare};

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustix::process::{Pid, Signal, kill_process_group};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::graph::{Schedule, TaskGraph};
use output::{Prefix, Stream};
use transition::{Exit, Happening, next_state};

/// How long to wait for output pipes after the final SIGKILL; only processes that left the
/// task's group (with `setsid`) can keep them open that long.
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(2);

/// The signals that stop a run. SIGHUP too, so that a closed terminal or a dropped ssh
/// session does not leave half a pipeline running; SIGQUIT stops it the same way, without
/// the core dump, since the tasks are what matters.
const STOP_SIGNALS: [i32; 4] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT];

/// The name of one of the signals that stop a run, as the summary prints it.
pub(crate) fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGHUP => "SIGHUP",
        SIGQUIT => "SIGQUIT",
        _ => "SIGTERM",
    }
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
    /// The tails of its stdout and stderr, when kept.
    pub output: Option<Arc<Output>>,
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
    /// Why a [`Stopper`] stopped the run, if one did first.
    pub stopped: Option<String>,
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
        }
    }

    fn drive(&mut self, inbox: &mpsc::Receiver<Event>) {
        loop {
            self.take_stop_request();
            if self.interrupted_by.is_none() && self.stopped.is_none() {
                self.start_ready();
            }
            if self.running.is_empty() {
                return;
            }
            let deadline = [self.abandon_at.or(self.kill_at), self.next_heartbeat]
                .into_iter()
                .flatten()
                .min();
            let event = match deadline {
                Some(deadline) => {
                    inbox.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                }
                None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match event {
                Ok(Event::Finished {
                    task,
                    exit,
                    duration,
                }) => self.finish(task, exit, duration),
                Ok(Event::Signal(signal)) => self.on_signal(signal),
                Ok(Event::StopAsked) => self.take_stop_request(),
                Err(RecvTimeoutError::Timeout) => {
                    let now = Instant::now();
                    if self.abandon_at.is_some_and(|at| at <= now) {
                        self.abandon();
                        return;
                    }
                    if self.kill_at.is_some_and(|at| at <= now) {
                        self.force_kill();
                    }
                    if let Some(every) = self
                        .options
                        .heartbeat
                        .filter(|_| self.next_heartbeat.is_some_and(|at| at <= now))
                    {
                        self.next_heartbeat = Some(clock::deadline_after(every));
                        let mut running: Vec<usize> = self.running.keys().copied().collect();
                        running.sort_unstable();
                        self.notify(|observer, view| observer.heartbeat(&running, view));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn start_ready(&mut self) {
        let limit = self.options.jobs.map_or(usize::MAX, NonZeroUsize::get);
        let mut batch = Vec::new();
        while self.running.len() < limit {
            let Some(task) = self.schedule.next_ready() else {
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

    /// Tells the observer something, showing it the run as it is now.
    fn notify(&mut self, event: impl FnOnce(&mut dyn Observer, &View<'_>)) {
        let view = View {
            states: &self.states,
            records: &self.records,
        };
        event(&mut *self.observer, &view);
    }

    fn start(&mut self, task: usize) {
        let spec = &self.tasks[task];
        let now = SystemTime::now();
        say(
            Stream::Stderr,
            format_args!(
                "Task '{}' was started at {}",
                spec.name,
                clock::timestamp(now)
            ),
        );
        self.started += 1;
        self.happen(task, Happening::Start);
        let record = &mut self.records[task];
        record.started_at = Some(now);
        record.output = self.options.keep_output.map(|limit| {
            Arc::new(Output {
                stdout: Mutex::new(Tail::new(limit)),
                stderr: Mutex::new(Tail::new(limit)),
            })
        });
        let output = record.output.clone();
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
        let began = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                // Through the inbox, so the observer hears of the start before the end; the
                // task counts as running until that event is read.
                self.running.insert(task, None);
                let _ = self.events.send(Event::Finished {
                    task,
                    exit: Exit::NotStarted(error.to_string()),
                    duration: began.elapsed(),
                });
                return;
            }
        };
        let group = i32::try_from(child.id()).ok().and_then(Pid::from_raw);
        self.running.insert(task, group);
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

    fn finish(&mut self, task: usize, exit: Exit, duration: Duration) {
        self.running.remove(&task);
        if let Ok(mut live) = self.live_groups.lock() {
            live.remove(&task);
        }
        let spec = &self.tasks[task];
        self.records[task].duration = Some(duration);
        self.records[task].return_code = Some(exit.return_code());
        self.records[task].signal = match exit {
            Exit::Signal(signal) => Some(signal),
            Exit::Code(_) | Exit::NotStarted(_) => None,
        };
        self.happen(task, Happening::End(exit));
        let state = self.states[task].clone();
        let mut skipped = Vec::new();
        match &state {
            State::Succeeded => {
                say(
                    Stream::Stderr,
                    format_args!(
                        "Task '{}': succeeded after {}",
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
        if self.interrupted_by.is_none() && self.stopped.is_none() {
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
        if self.interrupted_by.is_none() && self.stopped.is_none() {
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
