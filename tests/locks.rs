//! `run --lock`, `--soft-lock` and `--once [--wait]`, `locks` and `unlock`, through the binary,
//! with processes of one machine standing for servers. Each check is written once for any
//! store URL and run against SQLite here (PostgreSQL variants call the same functions).
//!
//! Tasks log what they do to files in the test's folder, so what ran is counted, never
//! timed; every task writes its process group to `groups`, and [`Groups`] kills what is left
//! of them when the test ends, since tasks outlive a factotum killed with SIGKILL.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process, kill_process_group};
use serde_json::Value;

use crate::history::{dsl_job, factotum, history, show, sqlite_store, states};
use crate::test::{Run, without_run_line};

/// How long any condition is waited for before the test fails: far beyond what a loaded
/// machine needs, so that only a real hang fails.
const PATIENCE: Duration = Duration::from_secs(90);

/// Waits until `condition` holds, failing with `what` after [`PATIENCE`].
pub(crate) fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The lines of `name` in `dir`; none when it does not exist.
pub(crate) fn lines(dir: &Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

pub(crate) fn touch(dir: &Path, name: &str) {
    std::fs::write(dir.join(name), "").unwrap();
}

fn forget(dir: &Path, name: &str) {
    let _ = std::fs::remove_file(dir.join(name));
}

/// Kills, when dropped (also when the test fails), every process group listed in `groups`.
pub(crate) struct Groups(PathBuf);

impl Groups {
    pub(crate) fn of(dir: &Path) -> Self {
        Self(dir.join("groups"))
    }
}

impl Drop for Groups {
    fn drop(&mut self) {
        let listed = std::fs::read_to_string(&self.0).unwrap_or_default();
        for group in listed.lines().filter_map(|line| line.trim().parse().ok()) {
            if let Some(group) = Pid::from_raw(group) {
                let _ = kill_process_group(group, Signal::KILL);
            }
        }
    }
}

/// A factotum started in the background, its output going to `NAME.out` and `NAME.err`.
pub(crate) struct Background {
    child: Option<Child>,
    out: PathBuf,
    err: PathBuf,
}

/// Starts `factotum ARGS --store STORE` in `dir` in the background.
pub(crate) fn launch(dir: &Path, store: &str, args: &[&str], name: &str) -> Background {
    launch_with(dir, store, args, name, &[])
}

/// [`launch`], through `wrapper` (a command that runs the command it is given) when it is
/// not empty.
pub(crate) fn launch_with(
    dir: &Path,
    store: &str,
    args: &[&str],
    name: &str,
    wrapper: &[&str],
) -> Background {
    let out = dir.join(format!("{name}.out"));
    let err = dir.join(format!("{name}.err"));
    let factotum = env!("CARGO_BIN_EXE_factotum");
    let mut command = match wrapper.split_first() {
        Some((program, before)) => {
            let mut command = Command::new(program);
            command.args(before).arg(factotum);
            command
        }
        None => Command::new(factotum),
    };
    let child = command
        .args(args)
        .args(["--store", store])
        .current_dir(dir)
        .env("XDG_STATE_HOME", dir)
        .env_remove("FACTOTUM_STORE")
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .expect("factotum starts");
    Background {
        child: Some(child),
        out,
        err,
    }
}

impl Background {
    fn pid(&self) -> Pid {
        Pid::from_child(self.child.as_ref().expect("still running"))
    }

    pub(crate) fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// The id of its run, once it printed the line naming it.
    pub(crate) fn run_id(&self) -> Option<String> {
        without_run_line(&std::fs::read_to_string(&self.err).unwrap_or_default()).1
    }

    fn signal(&self, signal: Signal) {
        kill_process(self.pid(), signal).unwrap();
    }

    /// Waits (bounded) for it to exit; what it printed and how it ended.
    pub(crate) fn finish(mut self) -> Run {
        let mut child = self.child.take().expect("still running");
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("factotum did not exit: {}", self.stdout());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let (stderr, recorded_as) =
            without_run_line(&std::fs::read_to_string(&self.err).unwrap_or_default());
        Run {
            status: status
                .code()
                .expect("factotum exits rather than being killed"),
            stdout: self.stdout(),
            stderr,
            recorded_as,
        }
    }

    /// SIGKILL, as a server that dies.
    fn kill(mut self) {
        let mut child = self.child.take().expect("still running");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `locks --format json`.
fn locks(dir: &Path, store: &str) -> Vec<Value> {
    let listed = factotum(dir, store, &["locks", "--format", "json"]);
    assert_eq!(listed.status, 0, "{}", listed.transcript());
    match serde_json::from_str(&listed.stdout) {
        Ok(Value::Array(claims)) => claims,
        _ => panic!("locks --format json printed {}", listed.stdout),
    }
}

/// Each claim's name, kind, state and run, as `locks --format json` lists them.
pub(crate) fn claims(dir: &Path, store: &str) -> Vec<[String; 4]> {
    locks(dir, store)
        .iter()
        .map(|claim| {
            ["name", "kind", "state", "run"].map(|field| {
                claim[field]
                    .as_str()
                    .unwrap_or_else(|| panic!("{field} in {claim}"))
                    .to_owned()
            })
        })
        .collect()
}

pub(crate) fn claim(name: &str, kind: &str, state: &str, run: &str) -> [String; 4] {
    [name, kind, state, run].map(str::to_owned)
}

/// The run `id` as `history --format json` lists it.
fn listed_run(dir: &Path, store: &str, id: &str) -> Value {
    history(dir, store, &[])
        .into_iter()
        .find(|run| run["id"] == id)
        .unwrap_or_else(|| panic!("run {id} is not in the history"))
}

/// One task that logs its process, then takes a fifth of a second: long enough for
/// processes started together to overlap.
const RACE: &str = r#"job "race"

task "mark" {
  run "sh" with "-c", "echo $$ >> groups; echo $$ >> ran.log; sleep 0.2"
}
"#;

/// How many rounds of three racing processes.
const ROUNDS: usize = 50;

/// Each round, three processes started together ask for a new key: exactly one runs the
/// task; the others print the `Warn:` line (held or already succeeded), run nothing and
/// exit 0.
pub(crate) fn three_processes_run_a_key_once(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let _groups = Groups::of(dir.path());
    let path = dsl_job(dir.path(), "race.factotum", RACE);
    let job = path.to_str().unwrap();
    let started = Instant::now();
    for round in 0..ROUNDS {
        let env = format!(r#"{{"round": "{round}"}}"#);
        let args = ["run", job, "--once", "race-{{ round }}", "--env", &env];
        let racers: Vec<Background> = (0..3)
            .map(|racer| launch(dir.path(), store, &args, &format!("round-{round}-{racer}")))
            .collect();
        let ends: Vec<Run> = racers.into_iter().map(Background::finish).collect();
        assert_eq!(
            lines(dir.path(), "ran.log").len(),
            round + 1,
            "round {round}: {ends:#?}"
        );
        let warning = format!("Warn: the run-once key \"race-{round}\" ");
        let (warned, ran): (Vec<&Run>, Vec<&Run>) = ends
            .iter()
            .partition(|end| end.stdout.starts_with(&warning));
        assert_eq!(
            (warned.len(), ran.len()),
            (2, 1),
            "round {round}: {ends:#?}"
        );
        for end in &ends {
            assert_eq!(end.status, 0, "round {round}: {}", end.transcript());
        }
        for skipped in warned {
            assert!(skipped.recorded_as.is_none(), "{}", skipped.transcript());
            assert!(
                skipped.stdout.contains("no tasks have been executed"),
                "{}",
                skipped.stdout
            );
        }
    }
    // Seen with --nocapture: how long the rounds take on this machine.
    eprintln!(
        "{ROUNDS} rounds of 3 racing processes took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let kept = claims(dir.path(), store);
    assert_eq!(kept.len(), ROUNDS);
    assert!(
        kept.iter()
            .all(|[_, kind, state, _]| kind == "run-once key" && state == "succeeded")
    );
}

#[test]
fn three_processes_run_a_key_once_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    three_processes_run_a_key_once(&sqlite_store(dir.path()));
}

/// `first`, then `slow` (which says it started, then sleeps unless `slow.ok` exists), then
/// `last`; each logs its name to `ran.log`.
const FAILOVER: &str = r#"job "failover"

task "first" {
  run "sh" with "-c", "echo first >> ran.log"
}

task "slow" {
  after "first"
  run "sh" with "-c", "echo $$ >> groups; echo slow >> ran.log; test -f slow.ok && exit 0; echo $$ > starting; mv starting slow-started; sleep 60"
}

task "last" {
  after "slow"
  run "sh" with "-c", "echo last >> ran.log"
}
"#;

/// The holder of a key is killed with SIGKILL while `slow` runs; a standby (waiting since
/// before the kill with `wait`, or started after it) takes the key over and resumes the lost
/// run: `first` does not run again.
pub(crate) fn a_killed_holder_is_taken_over(store: &str, wait: bool) {
    let dir = tempfile::tempdir().unwrap();
    let _groups = Groups::of(dir.path());
    let path = dsl_job(dir.path(), "failover.factotum", FAILOVER);
    let job = path.to_str().unwrap();
    // On one host the killed holder's process is gone, so it is lost at once: the lease only
    // has to outlast any stall of the holder while it lives.
    let holder = launch(
        dir.path(),
        store,
        &["run", job, "--once", "K", "--lease", "10", "--grace", "1"],
        "holder",
    );
    wait_until("the holder's slow task", || {
        dir.path().join("slow-started").exists()
    });
    let lost = holder.run_id().expect("the holder names its run");
    let standby = wait.then(|| {
        let standby = launch(
            dir.path(),
            store,
            &["run", job, "--once", "K", "--wait", "--lease", "10"],
            "standby",
        );
        let waiting = format!("Waiting: the run-once key 'K' is held by run {lost} on ");
        wait_until("the standby to wait", || {
            standby.stdout().contains(&waiting)
        });
        standby
    });
    touch(dir.path(), "slow.ok");
    forget(dir.path(), "ran.log");
    holder.kill();
    let resumed = match standby {
        Some(standby) => standby.finish(),
        None => factotum(dir.path(), store, &["run", job, "--once", "K"]),
    };
    assert_eq!(resumed.status, 0, "{}", resumed.transcript());
    assert_eq!(lines(dir.path(), "ran.log"), names(&["slow", "last"]));
    assert!(
        resumed.stderr.contains(&format!(
            "Resuming run {lost}: 2 of 3 tasks to run; 1 kept from earlier runs"
        )),
        "{}",
        resumed.stderr
    );
    let taker = resumed.recorded_as.expect("the standby's run is recorded");
    assert_eq!(listed_run(dir.path(), store, &lost)["outcome"], "lost");
    let listed = listed_run(dir.path(), store, &taker);
    assert_eq!(listed["outcome"], "succeeded");
    assert_eq!(listed["resumes"], lost.as_str());
    let shown = show(dir.path(), store, &taker);
    assert_eq!(shown["resumes"], lost.as_str());
    assert_eq!(shown["taskStates"][0]["carriedFrom"], lost.as_str());
    assert_eq!(
        claims(dir.path(), store),
        [claim("K", "run-once key", "succeeded", &taker)]
    );
}

#[test]
fn a_killed_holder_is_taken_over_by_a_waiting_standby_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_killed_holder_is_taken_over(&sqlite_store(dir.path()), true);
}

#[test]
fn a_killed_holder_is_taken_over_by_the_next_run_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_killed_holder_is_taken_over(&sqlite_store(dir.path()), false);
}

/// Like [`FAILOVER`], but `slow` ends by itself once `slow.ok` exists.
const PAUSABLE: &str = r#"job "pausable"

task "first" {
  run "sh" with "-c", "echo first >> ran.log"
}

task "slow" {
  after "first"
  run "sh" with "-c", "echo $$ >> groups; echo slow >> ran.log; echo $$ > starting; mv starting slow-started; for i in $(seq -s ' ' 900); do test -f slow.ok && exit 0; sleep 0.1; done; exit 1"
}

task "last" {
  after "slow"
  run "sh" with "-c", "echo last >> ran.log"
}
"#;

/// A holder stopped with SIGSTOP is alive but renews nothing: once its lease runs out a
/// standby takes the key over. Its `slow` task ends while it is stopped; continued, it must
/// find it lost the key and stop (exit 2) instead of starting `last`.
pub(crate) fn a_silent_holder_loses_its_key_and_stops_when_continued(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let _groups = Groups::of(dir.path());
    let path = dsl_job(dir.path(), "pausable.factotum", PAUSABLE);
    let job = path.to_str().unwrap();
    let holder = launch(
        dir.path(),
        store,
        &["run", job, "--once", "K", "--lease", "6", "--grace", "1"],
        "holder",
    );
    wait_until("the holder's slow task", || {
        dir.path().join("slow-started").exists()
    });
    let silent = holder.run_id().expect("the holder names its run");
    holder.signal(Signal::STOP);
    forget(dir.path(), "ran.log");
    touch(dir.path(), "slow.ok");
    let standby = launch(
        dir.path(),
        store,
        &["run", job, "--once", "K", "--wait", "--lease", "6"],
        "standby",
    )
    .finish();
    assert_eq!(standby.status, 0, "{}", standby.transcript());
    assert!(
        standby.stdout.starts_with(&format!(
            "Waiting: the run-once key 'K' is held by run {silent} on "
        )),
        "{}",
        standby.stdout
    );
    assert_eq!(lines(dir.path(), "ran.log"), names(&["slow", "last"]));
    let taker = standby.recorded_as.expect("the standby's run is recorded");
    assert_eq!(show(dir.path(), store, &taker)["resumes"], silent.as_str());

    forget(dir.path(), "ran.log");
    holder.signal(Signal::CONT);
    let continued = holder.finish();
    assert_eq!(continued.status, 2, "{}", continued.transcript());
    assert!(
        continued
            .stdout
            .contains("factotum lost the run-once key 'K'"),
        "{}",
        continued.stdout
    );
    assert_eq!(
        lines(dir.path(), "ran.log"),
        Vec::<String>::new(),
        "the continued holder started a task of the key it lost:\n{}",
        continued.transcript()
    );
    // The key stays the standby's.
    assert_eq!(
        claims(dir.path(), store),
        [claim("K", "run-once key", "succeeded", &taker)]
    );
}

#[test]
fn a_silent_holder_loses_its_key_and_stops_when_continued_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_silent_holder_loses_its_key_and_stops_when_continued(&sqlite_store(dir.path()));
}

/// Something that keeps every process from writing to a store, and tells by the store's own
/// clock when a claim's lease has run out.
pub(crate) trait StoreBlock {
    fn lease_ran_out(&mut self, key: &str) -> bool;
}

/// An SQLite store held in an exclusive transaction: no other connection can write.
struct SqliteBlock(rusqlite::Connection);

impl SqliteBlock {
    fn take(store: &str) -> Self {
        let path = store.strip_prefix("sqlite:").expect("an SQLite store URL");
        let connection = rusqlite::Connection::open(path).unwrap();
        connection.busy_timeout(PATIENCE).unwrap();
        connection.execute_batch("BEGIN EXCLUSIVE").unwrap();
        Self(connection)
    }
}

impl StoreBlock for SqliteBlock {
    fn lease_ran_out(&mut self, key: &str) -> bool {
        self.0
            .query_row(
                "SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - renewed_at > lease_ms \
                 FROM factotum_claims WHERE name = ?1 AND kind = 'run-once key'",
                [key],
                |row| row.get(0),
            )
            .unwrap()
    }
}

/// `work` logs its start, its end and (trapped) SIGTERM with its pid; `quick` ends once
/// `quick.go` exists; `after` waits for `work`, `then` for `quick`.
const FENCE: &str = r#"job "fence"

task "work" {
  run "sh" with "-c", "echo $$ >> groups; trap 'echo stopped $$ >> events.log; exit 143' TERM; echo start $$ >> events.log; echo $$ > starting; mv starting work-started; for i in $(seq -s ' ' 900); do test -f work.ok && break; sleep 0.1; done; echo end $$ >> events.log"
}

task "quick" {
  run "sh" with "-c", "echo $$ >> groups; for i in $(seq -s ' ' 900); do test -f quick.go && break; sleep 0.1; done; echo quick $$ >> events.log"
}

task "after" {
  after "work"
  run "sh" with "-c", "echo after $$ >> events.log"
}

task "then" {
  after "quick"
  run "sh" with "-c", "echo then $$ >> events.log"
}
"#;

/// The holder of a key is cut off from its store (`block`) for longer than its lease: by the
/// time the store's clock says the lease ran out, the holder has stopped its task; it exits
/// 2 saying it lost the key, having started nothing more. With `task_ends_while_cut_off`, a
/// task ends while the store is blocked (its end cannot be recorded). Once the block is
/// gone, the next run takes the key over.
pub(crate) fn a_holder_cut_off_from_its_store_stops_within_its_lease(
    store: &str,
    block: &dyn Fn() -> Box<dyn StoreBlock>,
    task_ends_while_cut_off: bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let _groups = Groups::of(dir.path());
    let path = dsl_job(dir.path(), "fence.factotum", FENCE);
    let job = path.to_str().unwrap();
    // The holder gives up 4 s after its last renewal (the lease less the grace and a second):
    // 4 s before anyone may take over, for a task that ends on SIGTERM to end.
    let holder = launch(
        dir.path(),
        store,
        &[
            "run", job, "--once", "fence", "--lease", "8", "--grace", "3",
        ],
        "holder",
    );
    wait_until("the holder's work task", || {
        dir.path().join("work-started").exists()
    });
    let work = std::fs::read_to_string(dir.path().join("work-started")).unwrap();
    let work = work.trim();
    let mut blocked = block();
    if task_ends_while_cut_off {
        touch(dir.path(), "quick.go");
        wait_until("quick to end", || {
            lines(dir.path(), "events.log")
                .iter()
                .any(|line| line.starts_with("quick "))
        });
    }
    wait_until("the lease to run out", || blocked.lease_ran_out("fence"));
    let events = lines(dir.path(), "events.log");
    assert!(
        events.contains(&format!("stopped {work}")),
        "the lease of the key ran out while the holder's task ran: {events:?}\n{}",
        holder.stdout()
    );
    drop(blocked);
    let stopped = holder.finish();
    assert_eq!(stopped.status, 2, "{}", stopped.transcript());
    assert!(
        stopped
            .stdout
            .contains("factotum lost the run-once key 'fence'"),
        "{}",
        stopped.stdout
    );
    let lost = stopped.recorded_as.expect("the holder's run is recorded");
    let events = lines(dir.path(), "events.log");
    assert!(
        !events.iter().any(|line| line.starts_with("after ")),
        "{events:?}"
    );
    assert!(!events.contains(&format!("end {work}")), "{events:?}");

    touch(dir.path(), "work.ok");
    touch(dir.path(), "quick.go");
    forget(dir.path(), "events.log");
    let next = factotum(dir.path(), store, &["run", job, "--once", "fence"]);
    assert_eq!(next.status, 0, "{}", next.transcript());
    assert!(
        next.stderr.contains(&format!("Resuming run {lost}")),
        "{}",
        next.stderr
    );
    let ran: Vec<String> = lines(dir.path(), "events.log")
        .iter()
        .filter_map(|line| line.split(' ').next().map(str::to_owned))
        .filter(|event| event != "quick" && event != "then")
        .collect();
    assert_eq!(ran, names(&["start", "end", "after"]));
}

/// The holder of a key is cut off from its store, and `quick` ends meanwhile: recording its
/// end waits for the store, and by the time it gives up the holder has lost the key. It
/// must not start `then`, which `quick` let go, but stop (exit 2) without starting anything.
/// With `release_once_lost`, the block ends once the holder says it lost the key, so that the
/// write it waits in succeeds late (a store whose writes wait without end: PostgreSQL);
/// without, the block lasts until the holder ended (its write gave up).
pub(crate) fn a_holder_that_lost_its_key_starts_nothing_more(
    store: &str,
    block: &dyn Fn() -> Box<dyn StoreBlock>,
    release_once_lost: bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let _groups = Groups::of(dir.path());
    let path = dsl_job(dir.path(), "fence.factotum", FENCE);
    let job = path.to_str().unwrap();
    let holder = launch(
        dir.path(),
        store,
        &[
            "run", job, "--once", "fence", "--lease", "2", "--grace", "1",
        ],
        "holder",
    );
    wait_until("the holder's work task", || {
        dir.path().join("work-started").exists()
    });
    let mut blocked = block();
    touch(dir.path(), "quick.go");
    let stopped = if release_once_lost {
        // The holder may not say so before its write ends, but it has stopped its task.
        let work = std::fs::read_to_string(dir.path().join("work-started")).unwrap();
        wait_until("the lease to run out", || blocked.lease_ran_out("fence"));
        let events = lines(dir.path(), "events.log");
        assert!(
            events.contains(&format!("stopped {}", work.trim())),
            "the lease of the key ran out while the holder's task ran: {events:?}"
        );
        drop(blocked);
        holder.finish()
    } else {
        // Kept blocked until the holder has given up on the store and ended.
        let stopped = holder.finish();
        drop(blocked);
        stopped
    };
    assert_eq!(stopped.status, 2, "{}", stopped.transcript());
    assert!(
        stopped
            .stdout
            .contains("factotum lost the run-once key 'fence'"),
        "{}",
        stopped.stdout
    );
    // `then` may be stopped before it logs anything: factotum's own account says it started.
    let events = lines(dir.path(), "events.log");
    assert!(
        !events.iter().any(|line| line.starts_with("then "))
            && !stopped.stderr.contains("Task 'then' was started"),
        "a task started after the key was lost: {events:?}\n{}",
        stopped.transcript()
    );
}

#[test]
fn a_holder_that_lost_its_sqlite_key_starts_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    a_holder_that_lost_its_key_starts_nothing_more(&store, &sqlite_block(&store), false);
}

#[test]
fn a_holder_that_lost_its_sqlite_key_starts_nothing_more_when_its_write_succeeds_late() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    a_holder_that_lost_its_key_starts_nothing_more(&store, &sqlite_block(&store), true);
}

fn sqlite_block(store: &str) -> impl Fn() -> Box<dyn StoreBlock> + '_ {
    move || Box::new(SqliteBlock::take(store))
}

#[test]
fn a_holder_cut_off_from_its_sqlite_store_stops_within_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    a_holder_cut_off_from_its_store_stops_within_its_lease(&store, &sqlite_block(&store), false);
}

#[test]
fn a_holder_cut_off_from_its_sqlite_store_stops_within_its_lease_when_a_task_ends() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    a_holder_cut_off_from_its_store_stops_within_its_lease(&store, &sqlite_block(&store), true);
}

/// `mark` logs its name, says it started, waits for `go`, then succeeds only if `mark.ok`
/// exists.
pub(crate) const MARK: &str = r#"job "mark"

task "mark" {
  run "sh" with "-c", "echo $$ >> groups; echo mark >> ran.log; echo $$ > starting; mv starting started; for i in $(seq -s ' ' 900); do test -f go && break; sleep 0.1; done; test -f mark.ok"
}
"#;

pub(crate) fn a_hard_lock_left_by_a_failure_blocks_until_unlocked(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let _groups = Groups::of(dir.path());
    let path = dsl_job(dir.path(), "mark.factotum", MARK);
    let job = path.to_str().unwrap();
    let locked = ["run", job, "--lock", "L"];
    touch(dir.path(), "go");
    let failed = factotum(dir.path(), store, &locked);
    assert_eq!(failed.status, 2, "{}", failed.transcript());
    let holder = failed.recorded_as.expect("the run is recorded");

    let refused = factotum(dir.path(), store, &locked);
    assert_eq!(refused.status, 3, "{}", refused.transcript());
    for part in [
        &format!("the lock 'L' was left held by run {holder} on "),
        "no tasks have been executed",
        "factotum unlock 'L'",
    ] {
        assert!(refused.stderr.contains(part), "{part}: {}", refused.stderr);
    }
    assert_eq!(lines(dir.path(), "ran.log"), names(&["mark"]));

    assert_eq!(
        claims(dir.path(), store),
        [claim("L", "lock", "left held", &holder)]
    );
    let table = factotum(dir.path(), store, &["locks"]);
    assert_eq!(table.status, 0, "{}", table.transcript());
    let row = table
        .stdout
        .lines()
        .find(|line| line.starts_with("L "))
        .unwrap_or_else(|| panic!("no row for L: {}", table.stdout));
    for part in ["lock", "left held", holder.as_str()] {
        assert!(row.contains(part), "{part}: {row}");
    }

    let unlocked = factotum(dir.path(), store, &["unlock", "L"]);
    assert_eq!(unlocked.status, 0, "{}", unlocked.transcript());
    assert!(
        unlocked.stdout.starts_with(&format!(
            "Released the lock 'L' (left held by run {holder} on "
        )),
        "{}",
        unlocked.stdout
    );
    touch(dir.path(), "mark.ok");
    let succeeded = factotum(dir.path(), store, &locked);
    assert_eq!(succeeded.status, 0, "{}", succeeded.transcript());
    assert_eq!(lines(dir.path(), "ran.log"), names(&["mark", "mark"]));
    assert!(claims(dir.path(), store).is_empty());
    let empty = factotum(dir.path(), store, &["locks"]);
    assert!(
        empty.stdout.starts_with("No locks or run-once keys in "),
        "{}",
        empty.stdout
    );
    let again = factotum(dir.path(), store, &["unlock", "L"]);
    assert_eq!(again.status, 3, "{}", again.transcript());
}

#[test]
fn a_hard_lock_left_by_a_failure_blocks_until_unlocked_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_hard_lock_left_by_a_failure_blocks_until_unlocked(&sqlite_store(dir.path()));
}

/// While a run holds `--lock` or `--soft-lock` (as `flag` says), another run with the same
/// lock is refused and runs nothing; the holder's success frees the lock.
pub(crate) fn a_lock_held_by_a_running_run_refuses_another(store: &str, flag: &str) {
    let dir = tempfile::tempdir().unwrap();
    let _groups = Groups::of(dir.path());
    let path = dsl_job(dir.path(), "mark.factotum", MARK);
    let job = path.to_str().unwrap();
    touch(dir.path(), "mark.ok");
    let holder = launch(dir.path(), store, &["run", job, flag, "L"], "holder");
    wait_until("the holder's task", || dir.path().join("started").exists());
    let running = holder.run_id().expect("the holder names its run");
    let refused = factotum(dir.path(), store, &["run", job, flag, "L"]);
    assert_eq!(refused.status, 3, "{}", refused.transcript());
    assert!(
        refused
            .stderr
            .contains(&format!("'L' is held by run {running} on "))
            && refused
                .stderr
                .contains("still running, no tasks have been executed"),
        "{}",
        refused.stderr
    );
    assert_eq!(lines(dir.path(), "ran.log"), names(&["mark"]));
    touch(dir.path(), "go");
    let finished = holder.finish();
    assert_eq!(finished.status, 0, "{}", finished.transcript());
    assert!(claims(dir.path(), store).is_empty());
}

#[test]
fn a_lock_held_by_a_running_run_refuses_another_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_lock_held_by_a_running_run_refuses_another(&sqlite_store(dir.path()), "--lock");
}

#[test]
fn a_soft_lock_held_by_a_running_run_refuses_another_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_lock_held_by_a_running_run_refuses_another(&sqlite_store(dir.path()), "--soft-lock");
}

pub(crate) fn a_soft_lock_is_freed_after_a_failure_and_a_kill(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let _groups = Groups::of(dir.path());
    let path = dsl_job(dir.path(), "mark.factotum", MARK);
    let job = path.to_str().unwrap();
    let soft = ["run", job, "--soft-lock", "S"];
    touch(dir.path(), "go");
    let failed = factotum(dir.path(), store, &soft);
    assert_eq!(failed.status, 2, "{}", failed.transcript());
    assert!(claims(dir.path(), store).is_empty());

    forget(dir.path(), "go");
    forget(dir.path(), "started");
    let holder = launch(dir.path(), store, &soft, "holder");
    wait_until("the holder's task", || dir.path().join("started").exists());
    let killed = holder.run_id().expect("the holder names its run");
    assert_eq!(
        claims(dir.path(), store),
        [claim("S", "soft lock", "held", &killed)]
    );
    holder.kill();
    touch(dir.path(), "go");
    touch(dir.path(), "mark.ok");
    let next = factotum(dir.path(), store, &soft);
    assert_eq!(next.status, 0, "{}", next.transcript());
    assert_eq!(
        lines(dir.path(), "ran.log"),
        names(&["mark", "mark", "mark"])
    );
    assert!(claims(dir.path(), store).is_empty());
}

#[test]
fn a_soft_lock_is_freed_after_a_failure_and_a_kill_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_soft_lock_is_freed_after_a_failure_and_a_kill(&sqlite_store(dir.path()));
}

/// `a`, then `b`, which fails until `b.ok` exists; each logs its name.
const GATED: &str = r#"job "gated"

task "a" {
  run "sh" with "-c", "echo a >> ran.log"
}

task "b" {
  after "a"
  run "sh" with "-c", "echo b >> ran.log; test -f b.ok"
}
"#;

pub(crate) fn a_failed_key_is_resumed_only_when_asked(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dsl_job(dir.path(), "gated.factotum", GATED);
    let job = path.to_str().unwrap();
    let once = ["run", job, "--once", "K"];
    let failed = factotum(dir.path(), store, &once);
    assert_eq!(failed.status, 2, "{}", failed.transcript());
    let failed_run = failed.recorded_as.expect("the run is recorded");

    let warned = factotum(dir.path(), store, &once);
    assert_eq!(warned.status, 0, "{}", warned.transcript());
    assert!(
        warned.stdout.starts_with(&format!(
            "Warn: the run-once key \"K\" failed (run {failed_run} on "
        )) && warned.stdout.contains(&format!(
            "Resume it with: factotum run {job} --once 'K' --resume"
        )),
        "{}",
        warned.stdout
    );
    assert!(warned.recorded_as.is_none(), "{}", warned.transcript());
    assert_eq!(lines(dir.path(), "ran.log"), names(&["a", "b"]));

    touch(dir.path(), "b.ok");
    forget(dir.path(), "ran.log");
    let resumed = factotum(dir.path(), store, &["run", job, "--once", "K", "--resume"]);
    assert_eq!(resumed.status, 0, "{}", resumed.transcript());
    assert_eq!(lines(dir.path(), "ran.log"), names(&["b"]));
    let taker = resumed.recorded_as.expect("the run is recorded");
    assert_eq!(
        show(dir.path(), store, &taker)["resumes"],
        failed_run.as_str()
    );
    assert_eq!(
        states(&show(dir.path(), store, &taker)),
        [
            ("a".to_owned(), "succeeded".to_owned()),
            ("b".to_owned(), "succeeded".to_owned())
        ]
    );

    forget(dir.path(), "ran.log");
    let done = factotum(dir.path(), store, &once);
    assert_eq!(done.status, 0, "{}", done.transcript());
    assert!(
        done.stdout.starts_with(&format!(
            "Warn: the run-once key \"K\" already succeeded (run {taker} on "
        )),
        "{}",
        done.stdout
    );
    assert!(lines(dir.path(), "ran.log").is_empty());
    assert_eq!(
        claims(dir.path(), store),
        [claim("K", "run-once key", "succeeded", &taker)]
    );
}

#[test]
fn a_failed_key_is_resumed_only_when_asked_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_failed_key_is_resumed_only_when_asked(&sqlite_store(dir.path()));
}

pub(crate) fn host_constraints_come_before_claims(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dsl_job(dir.path(), "gated.factotum", GATED);
    let job = path.to_str().unwrap();
    for claim in ["--once", "--lock", "--soft-lock"] {
        let elsewhere = factotum(
            dir.path(),
            store,
            &[
                "run",
                job,
                "--constraint",
                "host,some-other-host",
                claim,
                "K",
            ],
        );
        assert_eq!(elsewhere.status, 0, "{}", elsewhere.transcript());
        assert!(
            elsewhere.stdout.starts_with(
                "Warn: the specifed host constraint \"some-other-host\" did not match, no tasks have been executed."
            ),
            "{}",
            elsewhere.stdout
        );
    }
    assert!(lines(dir.path(), "ran.log").is_empty());
    assert!(claims(dir.path(), store).is_empty());
}

#[test]
fn host_constraints_come_before_claims_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    host_constraints_come_before_claims(&sqlite_store(dir.path()));
}

#[test]
fn claims_without_a_working_store_stop_before_any_task() {
    let dir = tempfile::tempdir().unwrap();
    let path = dsl_job(dir.path(), "gated.factotum", GATED);
    let job = path.to_str().unwrap();
    let none = factotum(dir.path(), "none", &["run", job, "--once", "K"]);
    assert_eq!(none.status, 3, "{}", none.transcript());
    assert!(
        none.stderr.contains("`--store none` cannot hold them"),
        "{}",
        none.stderr
    );
    touch(dir.path(), "file");
    let inside_a_file = format!("sqlite:{}", dir.path().join("file/store.db").display());
    for claim in ["--once", "--lock", "--soft-lock"] {
        let unopenable = factotum(dir.path(), &inside_a_file, &["run", job, claim, "K"]);
        assert_eq!(unopenable.status, 3, "{}", unopenable.transcript());
        assert!(
            unopenable.stderr.contains("error: store `"),
            "{}",
            unopenable.stderr
        );
    }
    assert!(lines(dir.path(), "ran.log").is_empty());
    let store = sqlite_store(dir.path());
    let usage = factotum(dir.path(), &store, &["run", job, "--wait"]);
    assert_eq!(usage.status, 3, "{}", usage.transcript());
    assert!(usage.stderr.contains("--once"), "{}", usage.stderr);
    assert!(lines(dir.path(), "ran.log").is_empty());
}
