//! What the SQL backends share: the tables and their migration steps, every statement (built
//! for either dialect), how the task counts are counted and how a row becomes a record. Each
//! backend keeps only what its driver and server make different: connecting, locking,
//! transactions, binding parameters and reading a cell.

use std::time::Duration;

use super::claims::{ClaimRow, ClaimState, Holder, Kind};
use super::{
    Listing, Outcome, RunRecord, RunSummary, SCHEMA_VERSION, TaskCounts, TaskRecord, TaskState,
};

/// The table that records the schema version.
const META_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS factotum_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)";

/// Version 1: the run history. `BIGINT` is a 64-bit integer in PostgreSQL, and in SQLite a
/// name with integer affinity like `INTEGER` (no column here is a rowid alias, the one place
/// the two names differ there).
const RUNS_AND_TASKS: &str = "
CREATE TABLE factotum_runs (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    file TEXT NOT NULL,
    job_hash TEXT NOT NULL,
    env TEXT,
    tags TEXT NOT NULL,
    host TEXT NOT NULL,
    user_name TEXT NOT NULL,
    pid BIGINT NOT NULL,
    process_identity TEXT,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    heartbeat_at BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    exit_code BIGINT,
    resumes TEXT
);
CREATE INDEX factotum_runs_by_file ON factotum_runs (file, id);
CREATE TABLE factotum_tasks (
    run_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    plan_order BIGINT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT,
    exit_code BIGINT,
    signal BIGINT,
    reason TEXT,
    stdout_tail TEXT,
    stderr_tail TEXT,
    carried_from TEXT,
    PRIMARY KEY (run_id, position)
);
";

/// Version 2: locks and run-once claims.
const CLAIMS: &str = "
CREATE TABLE factotum_claims (
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    run_id TEXT NOT NULL,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    process_identity TEXT,
    since BIGINT NOT NULL,
    renewed_at BIGINT NOT NULL,
    lease_ms BIGINT NOT NULL,
    PRIMARY KEY (name, kind)
);
";

/// Version 3: how many times each task's command was started (task retries). Rows of
/// earlier runs leave it NULL: not known.
const ATTEMPTS: &str = "
ALTER TABLE factotum_tasks ADD COLUMN attempts BIGINT;
";

/// The steps from one schema version to the next: step `i` turns version `i` into `i + 1`
/// (version 0 has no tables); each is statements that end with `;`. A new layout appends a
/// step, which raises [`SCHEMA_VERSION`]; a store gets the steps it lacks, in order, in the
/// transaction that read its version, in either backend.
const MIGRATIONS: [&str; SCHEMA_VERSION] = [RUNS_AND_TASKS, CLAIMS, ATTEMPTS];

/// What brings tables that have had `done` steps (see [`check_version`]) to
/// [`SCHEMA_VERSION`], and records it: `None` when they are there already.
pub(super) fn migration(done: usize) -> Option<String> {
    let steps = MIGRATIONS.get(done..).filter(|steps| !steps.is_empty())?;
    Some(format!(
        "{META_TABLE};\n{}\nINSERT INTO factotum_meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}') \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        steps.concat()
    ))
}

/// The schema version a store records (`factotum_meta`'s `schema_version`): the number of
/// [`MIGRATIONS`] steps its tables have had. Tables a newer factotum made are refused.
pub(super) fn check_version(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(version) if version <= SCHEMA_VERSION => Ok(version),
        Ok(version) => Err(format!(
            "the store was written by a newer factotum (store schema {version}; this factotum reads up to {SCHEMA_VERSION}): upgrade factotum"
        )),
        Err(_) => Err(format!(
            "the store's schema version `{text}` is not a number: the store is damaged"
        )),
    }
}

/// The run columns [`read_summary`] reads, of `factotum_runs r`.
const RUN_COLUMNS: &str = "r.id, r.job, r.file, r.job_hash, r.env, r.tags, r.host, r.user_name, r.pid, \
     r.process_identity, r.started_at, r.ended_at, r.outcome, r.exit_code, r.resumes";

/// The columns of `factotum_tasks` besides `run_id`, in the order [`read_task`] reads them and
/// the backends bind them.
const TASK_COLUMNS: [&str; 14] = [
    "position",
    "plan_order",
    "name",
    "definition",
    "state",
    "started_at",
    "ended_at",
    "exit_code",
    "signal",
    "reason",
    "stdout_tail",
    "stderr_tail",
    "carried_from",
    "attempts",
];

/// The columns a summary adds after [`RUN_COLUMNS`]: milliseconds since the run's last
/// heartbeat by the store's clock (`now`, an SQL expression in [`super::Millis`]), then the
/// task counts, each of the states [`TaskCounts`] groups.
fn summary_columns(now: &str) -> String {
    let counted = |states: &[TaskState]| {
        let names: Vec<String> = states
            .iter()
            .map(|state| format!("'{}'", state.as_str()))
            .collect();
        format!(
            "(SELECT count(*) FROM factotum_tasks t WHERE t.run_id = r.id AND t.state IN ({}))",
            names.join(", ")
        )
    };
    format!(
        "{now} - r.heartbeat_at, (SELECT count(*) FROM factotum_tasks t WHERE t.run_id = r.id), {}, {}, {}",
        counted(&[TaskState::Succeeded, TaskState::FinishedEarly]),
        counted(&[TaskState::Failed, TaskState::Interrupted]),
        counted(&[TaskState::Skipped]),
    )
}

/// A value both drivers read: text, integers, and either of them or NULL as an `Option`.
pub(super) trait Cell:
    rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>
{
}

impl<T: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>> Cell for T {}

/// One row of a query, as a backend's driver reads it.
pub(super) trait Cells {
    /// The value at `index`, or `None` when it is missing, NULL (unless `T` is an `Option`),
    /// of another type or out of `T`'s range: a damaged row is left out, never a panic.
    fn cell<T: Cell>(&self, index: usize) -> Option<T>;
}

/// A row of [`RUN_COLUMNS`] and [`summary_columns`], or `None` when a value in it cannot be
/// read.
pub(super) fn read_summary(row: &impl Cells) -> Option<RunSummary> {
    let count = |index: usize| u64::try_from(row.cell::<i64>(index)?).ok();
    let tags: Vec<(String, String)> = serde_json::from_str(&row.cell::<String>(5)?).ok()?;
    let run = RunRecord {
        id: row.cell(0)?,
        job: row.cell(1)?,
        file: row.cell(2)?,
        job_hash: row.cell(3)?,
        env: row.cell(4)?,
        tags,
        host: row.cell(6)?,
        user: row.cell(7)?,
        pid: u32::try_from(row.cell::<i64>(8)?).ok()?,
        process_identity: row.cell(9)?,
        started_at: row.cell(10)?,
        ended_at: row.cell(11)?,
        outcome: Outcome::parse(&row.cell::<String>(12)?)?,
        exit_code: optional_i32(row, 13)?,
        resumes: row.cell(14)?,
    };
    Some(RunSummary {
        run,
        heartbeat_age: age(row, 15),
        counts: TaskCounts {
            total: count(16)?,
            succeeded: count(17)?,
            failed: count(18)?,
            skipped: count(19)?,
        },
    })
}

/// A row of [`TASK_COLUMNS`], or `None` when a value in it cannot be read.
pub(super) fn read_task(row: &impl Cells) -> Option<TaskRecord> {
    Some(TaskRecord {
        position: usize::try_from(row.cell::<i64>(0)?).ok()?,
        plan_order: usize::try_from(row.cell::<i64>(1)?).ok()?,
        name: row.cell(2)?,
        definition: row.cell(3)?,
        state: TaskState::parse(&row.cell::<String>(4)?)?,
        started_at: row.cell(5)?,
        ended_at: row.cell(6)?,
        exit_code: optional_i32(row, 7)?,
        signal: optional_i32(row, 8)?,
        reason: row.cell(9)?,
        stdout_tail: row.cell(10)?,
        stderr_tail: row.cell(11)?,
        carried_from: row.cell(12)?,
        attempts: row
            .cell::<Option<i64>>(13)?
            .map(u32::try_from)
            .transpose()
            .ok()?,
    })
}

/// A row of [`Dialect::claim_columns`], or `None` when a value in it cannot be read.
pub(super) fn read_claim(row: &impl Cells) -> Option<ClaimRow> {
    Some(ClaimRow {
        name: row.cell(0)?,
        kind: Kind::parse(&row.cell::<String>(1)?)?,
        state: ClaimState::parse(&row.cell::<String>(2)?)?,
        holder: Holder {
            run: row.cell(3)?,
            host: row.cell(4)?,
            pid: u32::try_from(row.cell::<i64>(5)?).ok()?,
            process_identity: row.cell(6)?,
        },
        since: row.cell(7)?,
        lease: age(row, 8)?,
        renewed: age(row, 9)?,
    })
}

/// A duration kept in milliseconds: one that went negative (clocks) reads as none.
fn age(row: &impl Cells, index: usize) -> Option<Duration> {
    row.cell::<i64>(index)
        .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

/// An `i32` kept in a `BIGINT` column that may be NULL (read as `i64`: PostgreSQL's driver
/// reads a `BIGINT` into nothing narrower); `None` when out of range.
#[expect(
    clippy::option_option,
    reason = "outer: could the cell be read; inner: was it NULL"
)]
fn optional_i32(row: &impl Cells, index: usize) -> Option<Option<i32>> {
    row.cell::<Option<i64>>(index)?
        .map(i32::try_from)
        .transpose()
        .ok()
}

/// Rows read through [`read_summary`] or [`read_task`]: those that could not be read are
/// counted, not kept.
impl<T> FromIterator<Option<T>> for Listing<T> {
    fn from_iter<I: IntoIterator<Item = Option<T>>>(rows: I) -> Self {
        let mut listing = Self {
            rows: Vec::new(),
            unreadable: 0,
        };
        for row in rows {
            match row {
                Some(value) => listing.rows.push(value),
                None => listing.unreadable += 1,
            }
        }
        listing
    }
}

/// What differs between the backends' SQL, and every statement written once with it. Both
/// dialects take `ON CONFLICT … DO UPDATE`, `substr`, `length` and `CAST`.
pub(super) struct Dialect {
    /// What comes before a parameter's number: `?` in SQLite, `$` in PostgreSQL.
    pub parameter: char,
    /// The store's clock in [`super::Millis`].
    pub now: &'static str,
    /// What makes a transaction's `SELECT` lock the rows it reads until it ends: nothing in
    /// SQLite, whose writing transaction locks the whole store.
    pub row_lock: &'static str,
}

impl Dialect {
    /// Parameters `first..=last`, separated by commas.
    fn parameters(&self, first: usize, last: usize) -> String {
        let sign = self.parameter;
        (first..=last)
            .map(|number| format!("{sign}{number}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Records a run; parameters: the [`RunRecord`] fields in order (`tags` as JSON), with no
    /// heartbeat: that is the store's clock.
    pub(super) fn insert_run(&self) -> String {
        format!(
            "INSERT INTO factotum_runs (id, job, file, job_hash, env, tags, host, user_name, pid, \
             process_identity, started_at, ended_at, heartbeat_at, outcome, exit_code, resumes) \
             VALUES ({}, {}, {})",
            self.parameters(1, 12),
            self.now,
            self.parameters(13, 15)
        )
    }

    /// Writes a task's row, replacing the one it had; parameters: the run's id, then
    /// [`TASK_COLUMNS`] in order.
    pub(super) fn upsert_task(&self) -> String {
        let (key, rest) = TASK_COLUMNS.split_at(1);
        let replaced: Vec<String> = rest
            .iter()
            .map(|column| format!("{column} = excluded.{column}"))
            .collect();
        format!(
            "INSERT INTO factotum_tasks (run_id, {}) VALUES ({}) \
             ON CONFLICT (run_id, {}) DO UPDATE SET {}",
            TASK_COLUMNS.join(", "),
            self.parameters(1, 1 + TASK_COLUMNS.len()),
            key.join(", "),
            replaced.join(", ")
        )
    }

    /// The run is alive now; parameter: its id.
    pub(super) fn heartbeat(&self) -> String {
        format!(
            "UPDATE factotum_runs SET heartbeat_at = {} WHERE id = {}1",
            self.now, self.parameter
        )
    }

    /// The run ended; parameters: its id, outcome, exit code and end time.
    pub(super) fn finish_run(&self) -> String {
        let sign = self.parameter;
        format!(
            "UPDATE factotum_runs SET outcome = {sign}2, exit_code = {sign}3, ended_at = {sign}4, \
             heartbeat_at = {} WHERE id = {sign}1",
            self.now
        )
    }

    /// The newest runs, read by [`read_summary`]; parameters: how many, and the job file when
    /// `by_file` (else NULL: one parameter list for both). Two statements rather than one
    /// with `OR`, so that the filtered one can use the index on `file`.
    pub(super) fn list_runs(&self, by_file: bool) -> String {
        let sign = self.parameter;
        let filter = if by_file {
            format!("r.file = {sign}2")
        } else {
            format!("CAST({sign}2 AS TEXT) IS NULL")
        };
        format!(
            "SELECT {RUN_COLUMNS}, {} FROM factotum_runs r WHERE {filter} \
             ORDER BY r.id DESC LIMIT {sign}1",
            summary_columns(self.now)
        )
    }

    /// Run ids in order that start with a prefix; parameters: the prefix and how many. A range
    /// on the primary key and a comparison of the start, rather than `LIKE`, whose wildcards
    /// a prefix could hold.
    pub(super) fn ids_starting_with(&self) -> String {
        let sign = self.parameter;
        format!(
            "SELECT id FROM factotum_runs WHERE id >= {sign}1 AND substr(id, 1, length({sign}1)) = {sign}1 \
             ORDER BY id LIMIT {sign}2"
        )
    }

    /// One run, read by [`read_summary`]; parameter: its id.
    pub(super) fn load_run(&self) -> String {
        format!(
            "SELECT {RUN_COLUMNS}, {} FROM factotum_runs r WHERE r.id = {}1",
            summary_columns(self.now),
            self.parameter
        )
    }

    /// A run's tasks in plan order, read by [`read_task`]; parameter: the run's id.
    pub(super) fn load_tasks(&self) -> String {
        format!(
            "SELECT {} FROM factotum_tasks WHERE run_id = {}1 ORDER BY plan_order, position",
            TASK_COLUMNS.join(", "),
            self.parameter
        )
    }
}

impl Dialect {
    /// A claim's columns, then how long ago it was renewed by the store's clock, as
    /// [`read_claim`] reads them.
    fn claim_columns(&self) -> String {
        format!(
            "name, kind, state, run_id, host, pid, process_identity, since, lease_ms, {} - renewed_at",
            self.now
        )
    }

    /// The claim of a name and kind, locked for the transaction; parameters: name, kind.
    pub(super) fn find_claim(&self) -> String {
        let sign = self.parameter;
        format!(
            "SELECT {} FROM factotum_claims WHERE name = {sign}1 AND kind = {sign}2{}",
            self.claim_columns(),
            self.row_lock
        )
    }

    /// Writes a run in as a claim's holder, taken and renewed now; parameters: name, kind,
    /// state, run, host, pid, process identity, lease in milliseconds.
    pub(super) fn take_claim(&self) -> String {
        format!(
            "INSERT INTO factotum_claims (name, kind, state, run_id, host, pid, process_identity, \
             since, renewed_at, lease_ms) VALUES ({}, {now}, {now}, {}8) \
             ON CONFLICT (name, kind) DO UPDATE SET state = excluded.state, \
             run_id = excluded.run_id, host = excluded.host, pid = excluded.pid, \
             process_identity = excluded.process_identity, since = excluded.since, \
             renewed_at = excluded.renewed_at, lease_ms = excluded.lease_ms",
            self.parameters(1, 7),
            self.parameter,
            now = self.now
        )
    }

    /// Renews the lease of a claim its run holds; parameters: name, kind, run, the held state.
    pub(super) fn renew_claim(&self) -> String {
        let sign = self.parameter;
        format!(
            "UPDATE factotum_claims SET renewed_at = {} \
             WHERE name = {sign}1 AND kind = {sign}2 AND run_id = {sign}3 AND state = {sign}4",
            self.now
        )
    }

    /// Frees a claim its run holds; parameters: name, kind, run.
    pub(super) fn free_claim(&self) -> String {
        let sign = self.parameter;
        format!(
            "DELETE FROM factotum_claims WHERE name = {sign}1 AND kind = {sign}2 AND run_id = {sign}3"
        )
    }

    /// Leaves a claim its run holds in a state; parameters: name, kind, run, state.
    pub(super) fn keep_claim(&self) -> String {
        let sign = self.parameter;
        format!(
            "UPDATE factotum_claims SET state = {sign}4 \
             WHERE name = {sign}1 AND kind = {sign}2 AND run_id = {sign}3"
        )
    }

    /// Every claim, by name and kind.
    pub(super) fn list_claims(&self) -> String {
        format!(
            "SELECT {} FROM factotum_claims ORDER BY name, kind",
            self.claim_columns()
        )
    }

    /// Every claim of a name, by kind, locked for the transaction; parameter: the name.
    pub(super) fn claims_named(&self) -> String {
        format!(
            "SELECT {} FROM factotum_claims WHERE name = {}1 ORDER BY kind{}",
            self.claim_columns(),
            self.parameter,
            self.row_lock
        )
    }

    /// Removes every claim of a name; parameter: the name.
    pub(super) fn remove_claims(&self) -> String {
        format!(
            "DELETE FROM factotum_claims WHERE name = {}1",
            self.parameter
        )
    }
}

/// A duration in whole milliseconds, as stored.
pub(super) fn millis_of(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A number to store in a `BIGINT` column.
pub(super) fn bigint(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
