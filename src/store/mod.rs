//! The run history: every run and each of its tasks, kept in a store that outlives the
//! process: an embedded SQLite file by default, or a PostgreSQL database that many servers
//! share.
//!
//! Backends only move rows ([`Backend`]); what decides (which store a URL names, run ids,
//! when a run counts as lost) is here, once for every backend. Whatever a store holds is
//! untrusted: a row that cannot be read is left out and counted, never a panic.

pub(crate) mod claims;
mod postgres;
pub(crate) mod recorder;
pub(crate) mod resume;
mod sql;
mod sqlite;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The store URL that keeps no history: `run` records nothing, as Factotum 0.7 did.
pub(crate) const NO_STORE: &str = "none";

/// How often a running factotum tells the store it is alive.
pub(crate) const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// A run whose process has not told the store it is alive for this long counts as lost, when
/// its host cannot tell (another server, or a machine that restarted).
pub(crate) const LOST_AFTER: Duration = Duration::from_secs(60);

/// The newest layout of the tables this factotum reads and writes; a store marked newer is
/// refused rather than misread.
pub(crate) const SCHEMA_VERSION: usize = 3;

/// Milliseconds since the Unix epoch, UTC: how every time is kept in a store.
pub(crate) type Millis = i64;

/// `time` in [`Millis`]; times before 1970 (a broken clock) count as 0.
pub(crate) fn millis(time: SystemTime) -> Millis {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    })
}

/// Which store a command uses, and whether the user named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Address {
    /// The backend and where its data is.
    pub location: Location,
    /// Named with `--store` or `FACTOTUM_STORE`: then a store that cannot be opened stops
    /// the command; the default store never stops a run.
    pub named: bool,
}

/// A backend and where its data is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// An SQLite database file, created on first use.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl fmt::Display for Location {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(formatter, "sqlite:{}", path.display()),
            Self::Postgres(url) => formatter.write_str(&without_password(url)),
        }
    }
}

/// A PostgreSQL URL as it may be printed: a password in it is replaced by `***`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    // A password may also come as a parameter of the query.
    let rest = match rest.split_once('?') {
        Some((path, query)) => {
            let parameters: Vec<&str> = query
                .split('&')
                .map(|parameter| {
                    if parameter.starts_with("password=") {
                        "password=***"
                    } else {
                        parameter
                    }
                })
                .collect();
            format!("{path}?{}", parameters.join("&"))
        }
        None => rest.to_owned(),
    };
    format!("{scheme}://{authority}{rest}")
}

impl Address {
    /// The store `named` names (`--store` or `FACTOTUM_STORE`), or else the default one.
    pub(crate) fn resolve(named: Option<&str>) -> Result<Self, String> {
        match named {
            Some(text) => Ok(Self {
                location: Location::parse(text)?,
                named: true,
            }),
            None => default_path()
                .map(|path| Self {
                    location: Location::Sqlite(path),
                    named: false,
                })
                .ok_or_else(|| {
                    "no default store: neither XDG_STATE_HOME nor HOME is set to an absolute path; name one with --store"
                        .to_owned()
                }),
        }
    }
}

impl Location {
    /// `sqlite:PATH`, `postgres://…` or `postgresql://…`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(
                    "`sqlite:` needs a file path after it, as in `sqlite:runs.db`".to_owned(),
                );
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if text == NO_STORE {
            Err("`--store none` keeps no run history, so there is none to read".to_owned())
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(Self::Postgres(text.to_owned()))
        } else {
            Err(format!(
                "`{}` is not a store: use `sqlite:PATH`, `postgres://USER@HOST:PORT/DATABASE` or `none`",
                without_password(text)
            ))
        }
    }
}

/// `$XDG_STATE_HOME/factotum/store.db`, or `~/.local/state/factotum/store.db` when that is
/// unset; the base directory specification ignores relative paths, and so does this.
fn default_path() -> Option<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    let state = absolute("XDG_STATE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".local").join("state")))?;
    Some(state.join("factotum").join("store.db"))
}

/// Opens the store at `location`, creating its file and tables on first use and migrating
/// tables an older factotum made.
pub(crate) fn open(location: &Location) -> Result<Box<dyn Backend>, StoreError> {
    match location {
        Location::Sqlite(path) => Ok(Box::new(sqlite::Sqlite::open(path)?)),
        Location::Postgres(url) => postgres::open(url),
    }
}

/// Something a store could not do, naming the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreError {
    /// The store, as [`Location`] prints it.
    pub store: String,
    /// What went wrong.
    pub message: String,
}

impl StoreError {
    pub(crate) fn new(store: &Location, message: impl fmt::Display) -> Self {
        Self {
            store: store.to_string(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "store `{}`: {}", self.store, self.message)
    }
}

/// How a run ended, or that it has not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Still going, as far as the store knows; [`RunSummary::outcome`] tells when it is lost.
    Running,
    /// Every task succeeded.
    Succeeded,
    /// A task asked for an early finish; none failed.
    FinishedEarly,
    /// A task failed.
    Failed,
    /// A signal stopped the run.
    Interrupted,
    /// Its process died without saying how the run ended (SIGKILL, a machine that died):
    /// never written, only judged when read.
    Lost,
}

impl Outcome {
    /// As it is stored and printed.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::FinishedEarly => "finished early",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
            Self::Lost => "lost",
        }
    }

    /// The outcome stored as `text`, if it is one.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        [
            Self::Running,
            Self::Succeeded,
            Self::FinishedEarly,
            Self::Failed,
            Self::Interrupted,
            Self::Lost,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == text)
    }

    /// Whether a run that ended so needs nothing more: a later `--resume` has nothing to do.
    pub(crate) fn is_success(self) -> bool {
        matches!(self, Self::Succeeded | Self::FinishedEarly)
    }
}

/// Where a task of a recorded run got to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskState {
    /// Never started: the run ended (or is still going) before its turn.
    NotStarted,
    /// Started, not yet ended; in a lost run, it was running when the run was lost.
    Running,
    /// Exited with a `continueJob` code.
    Succeeded,
    /// Exited with a `terminateJobWithSuccess` code: its descendants were pruned.
    FinishedEarly,
    /// Any other exit, or it could not be started.
    Failed,
    /// Not run because a task above it failed or finished early.
    Skipped,
    /// Running when a signal stopped the run, and ended by it.
    Interrupted,
}

impl TaskState {
    /// As it is stored and printed.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not started",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::FinishedEarly => "finished early",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Interrupted => "interrupted",
        }
    }

    /// The state stored as `text`, if it is one.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        [
            Self::NotStarted,
            Self::Running,
            Self::Succeeded,
            Self::FinishedEarly,
            Self::Failed,
            Self::Skipped,
            Self::Interrupted,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

/// One run, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunRecord {
    /// Sorts by start time: see [`new_run_id`].
    pub id: String,
    /// The job's name, rendered.
    pub job: String,
    /// The job file, as an absolute path where it could be made one.
    pub file: String,
    /// A hash of the compiled job: its name and each task's [`TaskRecord::definition`].
    pub job_hash: String,
    /// `--env` as given (a JSON object), if it was.
    pub env: Option<String>,
    /// `--tag` pairs in order.
    pub tags: Vec<(String, String)>,
    /// The host name of the machine that ran it.
    pub host: String,
    /// The user that ran it.
    pub user: String,
    /// factotum's process id.
    pub pid: u32,
    /// Identifies one life of the process's machine and of the process, so that a reused
    /// pid or a restarted machine is not taken for the run still going: the boot id and the
    /// process's start time since boot, when the system tells them.
    pub process_identity: Option<String>,
    /// When it started.
    pub started_at: Millis,
    /// When it ended, once it has.
    pub ended_at: Option<Millis>,
    /// As written; [`RunSummary::outcome`] also judges `lost`.
    pub outcome: Outcome,
    /// factotum's exit code, once it ended.
    pub exit_code: Option<i32>,
    /// The run this one resumed, if it did.
    pub resumes: Option<String>,
}

/// One task of a recorded run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TaskRecord {
    /// Its position in the job file.
    pub position: usize,
    /// Its place in Factotum 0.7's plan order, in which `show` lists tasks.
    pub plan_order: usize,
    /// Its name, rendered.
    pub name: String,
    /// A hash of what it runs and what it waits for: when it differs from a resumed run's,
    /// the task changed.
    pub definition: String,
    /// Where it got to.
    pub state: TaskState,
    /// When it started.
    pub started_at: Option<Millis>,
    /// When it ended.
    pub ended_at: Option<Millis>,
    /// Its exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that killed it, when one did.
    pub signal: Option<i32>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// The end of its standard output (`--max-stdouterr-size` characters).
    pub stdout_tail: Option<String>,
    /// The end of its standard error.
    pub stderr_tail: Option<String>,
    /// When this run did not run it but took its state from a run it resumed: that run.
    pub carried_from: Option<String>,
    /// How many times its command was started, retries included; `None` before it started,
    /// and in runs recorded before attempts were.
    pub attempts: Option<u32>,
}

impl TaskRecord {
    /// A task that has not started, of a run that has.
    pub(crate) fn not_started(
        position: usize,
        plan_order: usize,
        name: String,
        definition: String,
    ) -> Self {
        Self {
            position,
            plan_order,
            name,
            definition,
            state: TaskState::NotStarted,
            started_at: None,
            ended_at: None,
            exit_code: None,
            signal: None,
            reason: None,
            stdout_tail: None,
            stderr_tail: None,
            carried_from: None,
            attempts: None,
        }
    }
}

/// How many of a run's tasks are in each state that `history` counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TaskCounts {
    /// Every task of the job.
    pub total: u64,
    /// Succeeded or finished early.
    pub succeeded: u64,
    /// Failed or interrupted.
    pub failed: u64,
    /// Skipped.
    pub skipped: u64,
}

/// A run as listings show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunSummary {
    /// The run.
    pub run: RunRecord,
    /// How long ago, by the store's clock, the run last told the store it was alive.
    pub heartbeat_age: Option<Duration>,
    /// Its tasks, counted.
    pub counts: TaskCounts,
}

impl RunSummary {
    /// The outcome, judging a run that says it is running: lost when its process is gone
    /// (on this host: no live process of that pid and start time since this boot) or, on
    /// another host, when it has not been heard of for [`LOST_AFTER`].
    pub(crate) fn outcome(&self) -> Outcome {
        if self.run.outcome != Outcome::Running {
            return self.run.outcome;
        }
        let lost = if self.run.host == host_name() {
            !process_is_alive(self.run.pid, self.run.process_identity.as_deref())
        } else {
            self.heartbeat_age.is_some_and(|age| age > LOST_AFTER)
        };
        if lost {
            Outcome::Lost
        } else {
            Outcome::Running
        }
    }
}

/// Rows a listing could not read, beside the ones it could.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Listing<T> {
    /// What could be read, in order.
    pub rows: Vec<T>,
    /// How many rows were left out because they could not be read (a damaged store).
    pub unreadable: usize,
}

/// A backend: a place rows are kept. Every method is one transaction; a store shared by
/// several processes at once is never left half-written.
pub(crate) trait Backend: Send {
    /// Where this store is, for messages.
    fn location(&self) -> &Location;

    /// Records a run that starts, with every task of its job.
    fn insert_run(&mut self, run: &RunRecord, tasks: &[TaskRecord]) -> Result<(), StoreError>;

    /// Replaces the rows of these tasks of `run`.
    fn update_tasks(&mut self, run: &str, tasks: &[&TaskRecord]) -> Result<(), StoreError>;

    /// `run` is alive now, by the store's clock.
    fn heartbeat(&mut self, run: &str) -> Result<(), StoreError>;

    /// `run` ended so.
    fn finish_run(
        &mut self,
        run: &str,
        outcome: Outcome,
        exit_code: i32,
        ended_at: Millis,
    ) -> Result<(), StoreError>;

    /// The newest `limit` runs, newest first; only those of the job file `file` when given.
    fn list_runs(
        &mut self,
        file: Option<&str>,
        limit: usize,
    ) -> Result<Listing<RunSummary>, StoreError>;

    /// Up to `limit` ids that start with `prefix`, in order.
    fn ids_starting_with(&mut self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError>;

    /// The run `id` and its tasks by position, if the store has it.
    fn load_run(
        &mut self,
        id: &str,
    ) -> Result<Option<(RunSummary, Listing<TaskRecord>)>, StoreError>;

    /// A second connection to the same store, for a thread of its own.
    fn connect_again(&self) -> Result<Box<dyn Backend>, StoreError>;

    /// In one transaction: reads the claim `ask` names, decides with [`claims::decide`], and
    /// when that takes it, writes the asker in as holder (lease renewed now, by the store's
    /// clock). Two processes asking at once never both take it.
    fn claim(&mut self, ask: &claims::Ask) -> Result<claims::Decision, StoreError>;

    /// Renews the lease of a claim `run` holds; `false` when it no longer holds it.
    fn renew_claim(
        &mut self,
        name: &str,
        kind: claims::Kind,
        run: &str,
    ) -> Result<bool, StoreError>;

    /// Leaves a claim `run` holds as `release` says; nothing when it no longer holds it.
    fn release_claim(
        &mut self,
        name: &str,
        kind: claims::Kind,
        run: &str,
        release: claims::Release,
    ) -> Result<(), StoreError>;

    /// Every claim, by name and kind.
    fn list_claims(&mut self) -> Result<Listing<claims::ClaimRow>, StoreError>;

    /// Removes every claim called `name`, whatever holds it; returns what was removed.
    fn remove_claims(&mut self, name: &str) -> Result<Vec<claims::ClaimRow>, StoreError>;
}

/// What `RUN` named on the command line.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The run.
    Found(Box<(RunSummary, Listing<TaskRecord>)>),
    /// Nothing matched.
    NotFound,
    /// The prefix matched several runs (the first few).
    Ambiguous(Vec<String>),
}

/// The run `wanted` names: `last` (the newest run), a whole id, or an unambiguous prefix.
pub(crate) fn find_run(store: &mut dyn Backend, wanted: &str) -> Result<Lookup, StoreError> {
    let id = if wanted == "last" {
        store
            .list_runs(None, 1)?
            .rows
            .into_iter()
            .next()
            .map(|summary| summary.run.id)
    } else {
        let ids = store.ids_starting_with(wanted, 5)?;
        if ids.iter().any(|id| id == wanted) {
            Some(wanted.to_owned())
        } else if ids.len() > 1 {
            return Ok(Lookup::Ambiguous(ids));
        } else {
            ids.into_iter().next()
        }
    };
    let Some(id) = id else {
        return Ok(Lookup::NotFound);
    };
    Ok(match store.load_run(&id)? {
        Some(found) => Lookup::Found(Box::new(found)),
        None => Lookup::NotFound,
    })
}

/// A new run id: the UTC start time to the millisecond, then six hex digits that differ
/// between runs started in the same millisecond, so ids sort by time and never collide in
/// practice: `20261202T093939123Z-4f2a9c`.
pub(crate) fn new_run_id(started: SystemTime) -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let since = started.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(since.as_nanos());
    hasher.write_u32(std::process::id());
    let suffix = hasher.finish() & 0x00ff_ffff;
    format!(
        "{}-{suffix:06x}",
        crate::exec::clock::compact_timestamp(started)
    )
}

/// This machine's name, as runs record it.
pub(crate) fn host_name() -> String {
    dns_lookup::get_hostname().unwrap_or_else(|_| "unknown".to_owned())
}

/// The user running factotum, as runs record it: its name in `/etc/passwd` (cron sets no
/// `USER`), else `USER`, else the numeric id.
pub(crate) fn user_name() -> String {
    let uid = rustix::process::getuid().as_raw().to_string();
    let from_passwd = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)? == uid).then(|| name.to_owned())
            })
        });
    from_passwd
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or(uid)
}

/// This machine's boot and process `pid`'s start within it, when `/proc` tells them.
pub(crate) fn process_identity(pid: u32) -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces; field 22 (start time) counts from
    // the field after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let started_after_boot = after_name.split_whitespace().nth(19)?;
    Some(format!("{}/{started_after_boot}", boot.trim()))
}

/// Whether the process `pid` that had `identity` still runs on this machine.
pub(crate) fn process_is_alive(pid: u32, identity: Option<&str>) -> bool {
    match (identity, process_identity(pid)) {
        (Some(recorded), Some(now)) => recorded == now,
        // Without /proc, a live pid is all there is to go by.
        _ => i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok()),
    }
}

/// The path a run records for its job file: absolute where it can be made so, so that the
/// same file gives the same key from any working directory.
pub(crate) fn file_key(path: &Path) -> String {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::{Location, Outcome, TaskState, new_run_id, without_password};

    #[test]
    fn run_ids_sort_by_time() {
        let early = new_run_id(UNIX_EPOCH + Duration::from_millis(1_764_668_379_123));
        let late = new_run_id(UNIX_EPOCH + Duration::from_millis(1_764_668_379_124));
        assert!(early.starts_with("20251202T093939123Z-"), "{early}");
        assert!(early < late);
        assert_eq!(early.len(), "20251202T093939123Z-".len() + 6);
        assert!(
            new_run_id(UNIX_EPOCH + Duration::from_secs(951_782_400))
                .starts_with("20000229T000000000Z-")
        );
    }

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("sqlite:/tmp/x.db"),
            Ok(Location::Sqlite("/tmp/x.db".into()))
        );
        assert!(Location::parse("sqlite:").is_err());
        assert!(Location::parse("postgresql://u@127.0.0.1:5/d").is_ok());
        let refused = Location::parse("mysql://u:secret@h/d").unwrap_err();
        assert!(!refused.contains("secret"), "{refused}");
        assert_eq!(
            without_password("postgres://u:secret@h:5432/d?x=@"),
            "postgres://u:***@h:5432/d?x=@"
        );
        assert_eq!(without_password("postgres://h/d"), "postgres://h/d");
        assert_eq!(
            without_password("postgres://u@h/d?sslmode=disable&password=secret&x=1"),
            "postgres://u@h/d?sslmode=disable&password=***&x=1"
        );
    }

    #[test]
    fn names_round_trip() {
        for outcome in [Outcome::Running, Outcome::FinishedEarly, Outcome::Lost] {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
        }
        for state in [TaskState::NotStarted, TaskState::Interrupted] {
            assert_eq!(TaskState::parse(state.as_str()), Some(state));
        }
        assert_eq!(Outcome::parse("exploded"), None);
    }
}
