//! The checks of `locks.rs` against PostgreSQL stores (each a new database of the
//! throw-away cluster of `postgres.rs`), the holder cut off from its database, and holders
//! whose clocks are an hour off the database server's.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use crate::history::{dsl_job, factotum, history};
use crate::locks::{Groups, MARK, claim, claims, launch_with, lines, touch, wait_until};
use crate::locks::{
    StoreBlock, a_failed_key_is_resumed_only_when_asked,
    a_hard_lock_left_by_a_failure_blocks_until_unlocked,
    a_holder_cut_off_from_its_store_stops_within_its_lease,
    a_holder_that_lost_its_key_starts_nothing_more, a_killed_holder_is_taken_over,
    a_lock_held_by_a_running_run_refuses_another,
    a_silent_holder_loses_its_key_and_stops_when_continued,
    a_soft_lock_is_freed_after_a_failure_and_a_kill, host_constraints_come_before_claims,
    three_processes_run_a_key_once,
};
use crate::postgres::fresh_store;

#[test]
fn three_processes_run_a_key_once_in_postgres() {
    three_processes_run_a_key_once(&fresh_store());
}

#[test]
fn a_killed_holder_is_taken_over_by_a_waiting_standby_in_postgres() {
    a_killed_holder_is_taken_over(&fresh_store(), true);
}

#[test]
fn a_killed_holder_is_taken_over_by_the_next_run_in_postgres() {
    a_killed_holder_is_taken_over(&fresh_store(), false);
}

#[test]
fn a_silent_holder_loses_its_key_and_stops_when_continued_in_postgres() {
    a_silent_holder_loses_its_key_and_stops_when_continued(&fresh_store());
}

#[test]
fn a_hard_lock_left_by_a_failure_blocks_until_unlocked_in_postgres() {
    a_hard_lock_left_by_a_failure_blocks_until_unlocked(&fresh_store());
}

#[test]
fn a_lock_held_by_a_running_run_refuses_another_in_postgres() {
    a_lock_held_by_a_running_run_refuses_another(&fresh_store(), "--lock");
}

#[test]
fn a_soft_lock_held_by_a_running_run_refuses_another_in_postgres() {
    a_lock_held_by_a_running_run_refuses_another(&fresh_store(), "--soft-lock");
}

#[test]
fn a_soft_lock_is_freed_after_a_failure_and_a_kill_in_postgres() {
    a_soft_lock_is_freed_after_a_failure_and_a_kill(&fresh_store());
}

#[test]
fn a_failed_key_is_resumed_only_when_asked_in_postgres() {
    a_failed_key_is_resumed_only_when_asked(&fresh_store());
}

#[test]
fn host_constraints_come_before_claims_in_postgres() {
    host_constraints_come_before_claims(&fresh_store());
}

/// How often the block ends the connections that got into the database anyway (a connection
/// the server accepted just before it stopped allowing new ones).
const CUT_EVERY: Duration = Duration::from_millis(50);

/// How many times at most: the block ends with its test, far sooner.
const CUT_ROUNDS: u32 = 4_000;

/// A store's database that allows no connection but the block's own, and whose connections
/// are ended as they come: every factotum is cut off from it, while the other databases of
/// the cluster (other tests' stores) go on. Undone when dropped.
struct PostgresBlock {
    /// The block's own connection to the database, to read its claims by its clock.
    inside: postgres::Client,
    database: String,
    /// The maintenance database's URL, for the statements about the database.
    admin: String,
    repeat: Option<(Sender<()>, JoinHandle<()>)>,
}

impl PostgresBlock {
    fn take(store: &str) -> Self {
        let (server, database) = store.rsplit_once('/').expect("a PostgreSQL store URL");
        let admin = format!("{server}/postgres");
        let mut inside = connect(store);
        let own: i32 = inside
            .query_one("SELECT pg_backend_pid()", &[])
            .unwrap()
            .get(0);
        let mut client = connect(&admin);
        client
            .batch_execute(&format!(
                "ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false"
            ))
            .unwrap();
        // Waits for the first round to be gone, so that the holder is cut off from now on.
        cut(&mut client, database, own, 5_000);
        let (stop, stopped) = mpsc::channel::<()>();
        let name = database.to_owned();
        let repeat = std::thread::spawn(move || {
            for _ in 0..CUT_ROUNDS {
                if stopped.recv_timeout(CUT_EVERY) != Err(RecvTimeoutError::Timeout) {
                    return;
                }
                cut(&mut client, &name, own, 0);
            }
        });
        Self {
            inside,
            database: database.to_owned(),
            admin,
            repeat: Some((stop, repeat)),
        }
    }
}

/// Ends every connection to `database` but the backend `own`, waiting up to `wait_ms` for
/// each to be gone.
fn cut(client: &mut postgres::Client, database: &str, own: i32, wait_ms: i64) {
    client
        .execute(
            "SELECT pg_terminate_backend(pid, $3) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> $2",
            &[&database, &own, &wait_ms],
        )
        .unwrap();
}

fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|error| panic!("{url} accepts connections: {error:?}"))
}

impl StoreBlock for PostgresBlock {
    fn lease_ran_out(&mut self, key: &str) -> bool {
        lease_ran_out(&mut self.inside, key)
    }
}

/// Whether the lease of the run-once key `key` ran out, by the store's clock.
fn lease_ran_out(client: &mut postgres::Client, key: &str) -> bool {
    client
        .query_one(
            &format!(
                "SELECT {NOW} - renewed_at > lease_ms \
                 FROM factotum_claims WHERE name = $1 AND kind = 'run-once key'"
            ),
            &[&key],
        )
        .unwrap()
        .get(0)
}

impl Drop for PostgresBlock {
    fn drop(&mut self) {
        if let Some((stop, repeat)) = self.repeat.take() {
            drop(stop);
            let _ = repeat.join();
        }
        let allowed = connect(&self.admin).batch_execute(&format!(
            "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS true",
            self.database
        ));
        // A panic while a test fails already would hide why it failed.
        if !std::thread::panicking() {
            allowed.unwrap();
        }
    }
}

fn postgres_block(store: &str) -> impl Fn() -> Box<dyn StoreBlock> + '_ {
    move || Box::new(PostgresBlock::take(store))
}

#[test]
fn a_holder_cut_off_from_its_postgres_store_stops_within_its_lease() {
    let store = fresh_store();
    a_holder_cut_off_from_its_store_stops_within_its_lease(&store, &postgres_block(&store), false);
}

#[test]
fn a_holder_cut_off_from_its_postgres_store_stops_within_its_lease_when_a_task_ends() {
    let store = fresh_store();
    a_holder_cut_off_from_its_store_stops_within_its_lease(&store, &postgres_block(&store), true);
}

/// A store's tables locked by a transaction of the block's: every other statement on them
/// waits (PostgreSQL sets no time limit), as when the server stops answering. Undone when
/// dropped.
struct PostgresHang(postgres::Client);

impl PostgresHang {
    fn take(store: &str) -> Self {
        let mut client = connect(store);
        client
            .batch_execute(
                "BEGIN; LOCK TABLE factotum_runs, factotum_tasks, factotum_claims IN ACCESS EXCLUSIVE MODE",
            )
            .unwrap();
        Self(client)
    }
}

impl StoreBlock for PostgresHang {
    fn lease_ran_out(&mut self, key: &str) -> bool {
        lease_ran_out(&mut self.0, key)
    }
}

impl Drop for PostgresHang {
    fn drop(&mut self) {
        let rolled_back = self.0.batch_execute("ROLLBACK");
        if !std::thread::panicking() {
            rolled_back.unwrap();
        }
    }
}

/// A task ends while the store's writes wait: the executor waits in the write that records
/// it until the block ends, well after the holder said it lost the key.
#[test]
fn a_holder_that_lost_its_postgres_key_starts_nothing_more() {
    let store = fresh_store();
    let hang = || -> Box<dyn StoreBlock> { Box::new(PostgresHang::take(&store)) };
    a_holder_that_lost_its_key_starts_nothing_more(&store, &hang, true);
}

/// The job `MARK` runs under a run-once key with a 4 s lease, by a holder whose clock
/// `faketime` puts `offset` (`+1h`, `-1h`) off, `off_ms` ahead; the store's clock is right.
/// For three leases by the store's clock the holder renews, is not lost (nor is its run),
/// and another process finds the key held (a warning, exit 0, nothing run), as does one
/// whose clock is `other_offset` off; then the holder succeeds.
fn a_holder_whose_clock_is_off_keeps_its_key(offset: &str, off_ms: i64, other_offset: &str) {
    let store = fresh_store();
    let dir = tempfile::tempdir().unwrap();
    let _groups = Groups::of(dir.path());
    let path = dsl_job(dir.path(), "mark.factotum", MARK);
    let job = path.to_str().unwrap();
    touch(dir.path(), "mark.ok");
    let once = ["run", job, "--once", "K"];
    let holder = launch_with(
        dir.path(),
        &store,
        &[&once[..], &["--lease", "4", "--grace", "1"]].concat(),
        "holder",
        &off_by(offset),
    );
    wait_until("the holder's task", || dir.path().join("started").exists());
    let run = holder.run_id().expect("the holder names its run");
    let mut client = connect(&store);
    // The holder wrote its start by its own clock: faketime did put it off.
    let behind: i64 = client
        .query_one(
            &format!("SELECT {NOW} - started_at FROM factotum_runs WHERE id = $1"),
            &[&run],
        )
        .unwrap()
        .get(0);
    assert!(
        (behind + off_ms).abs() < 600_000,
        "the holder's clock is {behind} ms behind the store's, not {offset}"
    );
    let held = format!("Warn: the run-once key \"K\" is held by run {run} on ");
    let other_off = launch_with(dir.path(), &store, &once, "other", &off_by(other_offset)).finish();
    assert_eq!(other_off.status, 0, "{}", other_off.transcript());
    assert!(
        other_off.stdout.starts_with(&held),
        "{}",
        other_off.transcript()
    );
    wait_until("three leases by the store's clock", || {
        let (state, holder_run, renewed, lease, since): (String, String, i64, i64, i64) = {
            let row = client
                .query_one(
                    &format!(
                        "SELECT state, run_id, {NOW} - renewed_at, lease_ms, {NOW} - since \
                         FROM factotum_claims WHERE name = 'K'"
                    ),
                    &[],
                )
                .unwrap();
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4))
        };
        assert_eq!(
            (state.as_str(), holder_run.as_str()),
            ("held", run.as_str())
        );
        // Written by the store's clock: never in its future, and renewed within the lease.
        assert!(
            (0..lease).contains(&renewed) && since >= 0,
            "renewed {renewed} ms ago, taken {since} ms ago, lease {lease} ms"
        );
        let other = factotum(dir.path(), &store, &once);
        assert_eq!(other.status, 0, "{}", other.transcript());
        assert!(other.stdout.starts_with(&held), "{}", other.transcript());
        since >= 3 * lease
    });
    assert!(!holder.stdout().contains("lost"), "{}", holder.stdout());
    let listed = history(dir.path(), &store, &[]);
    assert_eq!(
        (&listed[0]["id"], &listed[0]["outcome"]),
        (&Value::from(run.as_str()), &Value::from("running"))
    );
    touch(dir.path(), "go");
    let finished = holder.finish();
    assert_eq!(finished.status, 0, "{}", finished.transcript());
    assert_eq!(lines(dir.path(), "ran.log"), ["mark"]);
    assert_eq!(
        claims(dir.path(), &store),
        [claim("K", "run-once key", "succeeded", &run)]
    );
}

/// The command that runs a command with the clock `offset` off (faketime's `-f`).
fn off_by(offset: &str) -> [&str; 5] {
    // libfaketime also puts CLOCK_MONOTONIC off unless told not to, though no server's clock
    // can: the standard library's timed waits (`recv_timeout`) hand the kernel deadlines on
    // that clock, and the holder's renewals would wait for ever.
    [
        "env",
        "FAKETIME_DONT_FAKE_MONOTONIC=1",
        "faketime",
        "-f",
        offset,
    ]
}

/// The store's clock in milliseconds, as factotum reads it.
const NOW: &str = "CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)";

#[test]
fn a_holder_an_hour_ahead_keeps_its_postgres_key() {
    a_holder_whose_clock_is_off_keeps_its_key("+1h", 3_600_000, "-1h");
}

#[test]
fn a_holder_an_hour_behind_keeps_its_postgres_key() {
    a_holder_whose_clock_is_off_keeps_its_key("-1h", -3_600_000, "+1h");
}
