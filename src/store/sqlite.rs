//! The embedded store: one SQLite file (rusqlite with SQLite built in, so no system library
//! is needed). Write-ahead logging lets a reader and a writer work at once, and a busy
//! timeout makes concurrent writers queue for the few milliseconds a transaction takes.

use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, Row, TransactionBehavior, params};

use super::claims::{self, Ask, ClaimRow, ClaimState, Decision, Holder, Kind, Release};
use super::{
    Backend, Listing, Location, Millis, Outcome, RunRecord, RunSummary, SCHEMA_VERSION, StoreError,
    TaskCounts, TaskRecord, TaskState,
};

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Each step brings the tables from the version before it to its own: step `i` makes
/// version `i + 1`. A store records the version it is at; opening it runs the steps after.
const MIGRATIONS: [&str; SCHEMA_VERSION] = [RUNS_AND_TASKS, CLAIMS];

/// Version 1: the run history.
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
    pid INTEGER NOT NULL,
    process_identity TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    heartbeat_at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    exit_code INTEGER,
    resumes TEXT
);
CREATE INDEX factotum_runs_by_file ON factotum_runs (file, id);
CREATE TABLE factotum_tasks (
    run_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    plan_order INTEGER NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at INTEGER,
    ended_at INTEGER,
    exit_code INTEGER,
    signal INTEGER,
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
    pid INTEGER NOT NULL,
    process_identity TEXT,
    since INTEGER NOT NULL,
    renewed_at INTEGER NOT NULL,
    lease_ms INTEGER NOT NULL,
    PRIMARY KEY (name, kind)
);
";

/// The store's clock in [`Millis`].
const NOW: &str = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

/// A connection to one SQLite store.
pub(super) struct Sqlite {
    path: PathBuf,
    location: Location,
    connection: Connection,
}

impl Sqlite {
    /// Opens (and on first use creates, readable by its owner only, as task output may hold
    /// secrets) the store at `path`.
    pub(super) fn open(path: &Path) -> Result<Self, StoreError> {
        let location = Location::Sqlite(path.to_owned());
        let fail = |error: &dyn std::fmt::Display| StoreError::new(&location, error);
        // A store that outgrows `ulimit -f` is a failed write, never a killed run.
        crate::atomic_write::report_file_size_limit_as_error();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|error| fail(&error))?;
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(fail(&error)),
        }
        let connection = Connection::open(path).map_err(|error| fail(&error))?;
        let mut store = Self {
            path: path.to_owned(),
            location,
            connection,
        };
        store
            .prepare()
            .map_err(|error| store.prepare_error(&error))?;
        Ok(store)
    }

    fn error(&self, error: &rusqlite::Error) -> StoreError {
        let message = match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => {
                "the file is not a factotum store, or is damaged (SQLite: file is not a database)"
                    .to_owned()
            }
            Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
                format!("the store is damaged ({error}); the runs still readable are kept")
            }
            _ => error.to_string(),
        };
        StoreError::new(&self.location, message)
    }

    /// Sets up the connection and brings the tables to [`SCHEMA_VERSION`].
    fn prepare(&mut self) -> Result<(), PrepareError> {
        self.connection.busy_timeout(BUSY_TIMEOUT)?;
        // WAL keeps readers and one writer out of each other's way; NORMAL syncs at
        // checkpoints, so a commit survives the process being killed (a power cut may lose
        // the last few, whose tasks a resume then runs again).
        let mode: String = self
            .connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(PrepareError::Other(format!(
                "SQLite could not use write-ahead logging (journal mode {mode})"
            )));
        }
        self.connection
            .pragma_update(None, "synchronous", "NORMAL")?;
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let has_meta: bool = transaction.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'factotum_meta'",
            [],
            |row| row.get(0),
        )?;
        let version: Option<String> = if has_meta {
            transaction
                .query_row(
                    "SELECT value FROM factotum_meta WHERE key = 'schema_version'",
                    [],
                    |row| row.get(0),
                )
                .optional()?
        } else {
            None
        };
        let current = match version {
            None => {
                transaction.execute_batch(
                    "CREATE TABLE IF NOT EXISTS factotum_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
                )?;
                0
            }
            Some(text) => check_version(&text)?,
        };
        for step in MIGRATIONS.iter().skip(current) {
            transaction.execute_batch(step)?;
        }
        if current < MIGRATIONS.len() {
            transaction.execute(
                "INSERT OR REPLACE INTO factotum_meta (key, value) VALUES ('schema_version', ?1)",
                [MIGRATIONS.len().to_string()],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Runs `work` in one immediate transaction (the write lock is taken at once, so two
    /// writers queue instead of failing on upgrade).
    fn write(
        &mut self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        let result = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .and_then(|transaction| {
                work(&transaction)?;
                transaction.commit()
            });
        result.map_err(|error| self.error(&error))
    }
}

/// Why a store could not be made ready.
enum PrepareError {
    Sqlite(rusqlite::Error),
    Other(String),
}

impl From<rusqlite::Error> for PrepareError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}

impl Sqlite {
    fn prepare_error(&self, error: &PrepareError) -> StoreError {
        match error {
            PrepareError::Sqlite(error) => self.error(error),
            PrepareError::Other(message) => StoreError::new(&self.location, message),
        }
    }
}

/// The schema version `text` says, refusing tables a newer factotum made.
fn check_version(text: &str) -> Result<usize, PrepareError> {
    match text.parse::<usize>() {
        Ok(version) if version <= MIGRATIONS.len() => Ok(version),
        Ok(version) => Err(PrepareError::Other(format!(
            "the store was written by a newer factotum (store schema {version}; this factotum reads up to {SCHEMA_VERSION}): upgrade factotum"
        ))),
        Err(_) => Err(PrepareError::Other(format!(
            "the store's schema version `{text}` is not a number: the store is damaged"
        ))),
    }
}

const RUN_COLUMNS: &str = "r.id, r.job, r.file, r.job_hash, r.env, r.tags, r.host, r.user_name, r.pid, \
     r.process_identity, r.started_at, r.ended_at, r.outcome, r.exit_code, r.resumes";

const TASK_COLUMNS: &str = "position, plan_order, name, definition, state, started_at, ended_at, exit_code, signal, \
     reason, stdout_tail, stderr_tail, carried_from";

/// The columns a summary adds after [`RUN_COLUMNS`]: heartbeat age and the task counts.
fn summary_columns() -> String {
    format!(
        "{NOW} - r.heartbeat_at, \
         (SELECT count(*) FROM factotum_tasks t WHERE t.run_id = r.id), \
         (SELECT count(*) FROM factotum_tasks t WHERE t.run_id = r.id AND t.state IN ('succeeded', 'finished early')), \
         (SELECT count(*) FROM factotum_tasks t WHERE t.run_id = r.id AND t.state IN ('failed', 'interrupted')), \
         (SELECT count(*) FROM factotum_tasks t WHERE t.run_id = r.id AND t.state = 'skipped')"
    )
}

/// A run row, or `None` when a value in it cannot be read.
fn read_summary(row: &Row<'_>) -> Option<RunSummary> {
    let text = |index: usize| row.get::<_, String>(index).ok();
    let count = |index: usize| {
        row.get::<_, i64>(index)
            .ok()
            .and_then(|n| u64::try_from(n).ok())
    };
    let tags: Vec<(String, String)> = serde_json::from_str(&text(5)?).ok()?;
    let run = RunRecord {
        id: text(0)?,
        job: text(1)?,
        file: text(2)?,
        job_hash: text(3)?,
        env: row.get(4).ok()?,
        tags,
        host: text(6)?,
        user: text(7)?,
        pid: u32::try_from(row.get::<_, i64>(8).ok()?).ok()?,
        process_identity: row.get(9).ok()?,
        started_at: row.get(10).ok()?,
        ended_at: row.get(11).ok()?,
        outcome: Outcome::parse(&text(12)?)?,
        exit_code: row.get(13).ok()?,
        resumes: row.get(14).ok()?,
    };
    let heartbeat_age = row
        .get::<_, i64>(15)
        .ok()
        .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)));
    Some(RunSummary {
        run,
        heartbeat_age,
        counts: TaskCounts {
            total: count(16)?,
            succeeded: count(17)?,
            failed: count(18)?,
            skipped: count(19)?,
        },
    })
}

/// A task row, or `None` when a value in it cannot be read.
fn read_task(row: &Row<'_>) -> Option<TaskRecord> {
    Some(TaskRecord {
        position: usize::try_from(row.get::<_, i64>(0).ok()?).ok()?,
        plan_order: usize::try_from(row.get::<_, i64>(1).ok()?).ok()?,
        name: row.get(2).ok()?,
        definition: row.get(3).ok()?,
        state: TaskState::parse(&row.get::<_, String>(4).ok()?)?,
        started_at: row.get(5).ok()?,
        ended_at: row.get(6).ok()?,
        exit_code: row.get(7).ok()?,
        signal: row.get(8).ok()?,
        reason: row.get(9).ok()?,
        stdout_tail: row.get(10).ok()?,
        stderr_tail: row.get(11).ok()?,
        carried_from: row.get(12).ok()?,
    })
}

/// Collects rows through `read`, counting those it cannot read.
fn collect<T>(
    rows: &mut rusqlite::Rows<'_>,
    read: fn(&Row<'_>) -> Option<T>,
) -> rusqlite::Result<Listing<T>> {
    let mut listing = Listing {
        rows: Vec::new(),
        unreadable: 0,
    };
    while let Some(row) = rows.next()? {
        match read(row) {
            Some(value) => listing.rows.push(value),
            None => listing.unreadable += 1,
        }
    }
    Ok(listing)
}

fn upsert_task(
    transaction: &rusqlite::Transaction<'_>,
    run: &str,
    task: &TaskRecord,
) -> rusqlite::Result<()> {
    let number = |value: usize| i64::try_from(value).unwrap_or(i64::MAX);
    transaction
        .prepare_cached(
            "INSERT OR REPLACE INTO factotum_tasks (run_id, position, plan_order, name, definition, \
             state, started_at, ended_at, exit_code, signal, reason, stdout_tail, stderr_tail, \
             carried_from) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(params![
            run,
            number(task.position),
            number(task.plan_order),
            task.name,
            task.definition,
            task.state.as_str(),
            task.started_at,
            task.ended_at,
            task.exit_code,
            task.signal,
            task.reason,
            task.stdout_tail,
            task.stderr_tail,
            task.carried_from,
        ])?;
    Ok(())
}

impl Backend for Sqlite {
    fn location(&self) -> &Location {
        &self.location
    }

    fn insert_run(&mut self, run: &RunRecord, tasks: &[TaskRecord]) -> Result<(), StoreError> {
        let tags = serde_json::to_string(&run.tags).unwrap_or_else(|_| "[]".to_owned());
        self.write(|transaction| {
            transaction.execute(
                &format!(
                    "INSERT INTO factotum_runs (id, job, file, job_hash, env, tags, host, user_name, pid, \
                     process_identity, started_at, ended_at, heartbeat_at, outcome, exit_code, resumes) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, {NOW}, ?13, ?14, ?15)"
                ),
                params![
                    run.id,
                    run.job,
                    run.file,
                    run.job_hash,
                    run.env,
                    tags,
                    run.host,
                    run.user,
                    run.pid,
                    run.process_identity,
                    run.started_at,
                    run.ended_at,
                    run.outcome.as_str(),
                    run.exit_code,
                    run.resumes,
                ],
            )?;
            for task in tasks {
                upsert_task(transaction, &run.id, task)?;
            }
            Ok(())
        })
    }

    fn update_tasks(&mut self, run: &str, tasks: &[&TaskRecord]) -> Result<(), StoreError> {
        self.write(|transaction| {
            for task in tasks {
                upsert_task(transaction, run, task)?;
            }
            Ok(())
        })
    }

    fn heartbeat(&mut self, run: &str) -> Result<(), StoreError> {
        self.write(|transaction| {
            transaction.execute(
                &format!("UPDATE factotum_runs SET heartbeat_at = {NOW} WHERE id = ?1"),
                [run],
            )?;
            Ok(())
        })
    }

    fn finish_run(
        &mut self,
        run: &str,
        outcome: Outcome,
        exit_code: i32,
        ended_at: Millis,
    ) -> Result<(), StoreError> {
        self.write(|transaction| {
            transaction.execute(
                &format!(
                    "UPDATE factotum_runs SET outcome = ?2, exit_code = ?3, ended_at = ?4, \
                     heartbeat_at = {NOW} WHERE id = ?1"
                ),
                params![run, outcome.as_str(), exit_code, ended_at],
            )?;
            Ok(())
        })
    }

    fn list_runs(
        &mut self,
        file: Option<&str>,
        limit: usize,
    ) -> Result<Listing<RunSummary>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let filter = if file.is_some() {
            "WHERE r.file = ?2"
        } else {
            "WHERE ?2 IS NULL"
        };
        let query = format!(
            "SELECT {RUN_COLUMNS}, {} FROM factotum_runs r {filter} ORDER BY r.id DESC LIMIT ?1",
            summary_columns()
        );
        let result = self.connection.prepare(&query).and_then(|mut statement| {
            let mut rows = statement.query(params![limit, file])?;
            collect(&mut rows, read_summary)
        });
        result.map_err(|error| self.error(&error))
    }

    fn ids_starting_with(&mut self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // A range on the primary key rather than LIKE, whose wildcards a prefix could hold.
        let result = self
            .connection
            .prepare(
                "SELECT id FROM factotum_runs WHERE id >= ?1 AND substr(id, 1, length(?1)) = ?1 \
                 ORDER BY id LIMIT ?2",
            )
            .and_then(|mut statement| {
                statement
                    .query_map(params![prefix, limit], |row| row.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            });
        result.map_err(|error| self.error(&error))
    }

    fn load_run(
        &mut self,
        id: &str,
    ) -> Result<Option<(RunSummary, Listing<TaskRecord>)>, StoreError> {
        let query = format!(
            "SELECT {RUN_COLUMNS}, {} FROM factotum_runs r WHERE r.id = ?1",
            summary_columns()
        );
        let result = self.connection.prepare(&query).and_then(|mut statement| {
            let mut rows = statement.query([id])?;
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            let Some(summary) = read_summary(row) else {
                return Ok(None);
            };
            let mut tasks = self.connection.prepare(&format!(
                "SELECT {TASK_COLUMNS} FROM factotum_tasks WHERE run_id = ?1 ORDER BY plan_order, position"
            ))?;
            let mut rows = tasks.query([id])?;
            Ok(Some((summary, collect(&mut rows, read_task)?)))
        });
        result.map_err(|error| self.error(&error))
    }

    fn connect_again(&self) -> Result<Box<dyn Backend>, StoreError> {
        Ok(Box::new(Self::open(&self.path)?))
    }

    fn claim(&mut self, ask: &Ask) -> Result<Decision, StoreError> {
        let mut decision = None;
        self.write(|transaction| {
            let found = transaction
                .query_row(
                    &format!(
                        "SELECT {} FROM factotum_claims WHERE name = ?1 AND kind = ?2",
                        claim_columns()
                    ),
                    params![ask.name, ask.kind.as_str()],
                    |row| Ok(read_claim(row)),
                )
                .optional()?
                .flatten();
            let decided = claims::decide(ask, found.as_ref());
            if decided.takes() {
                let holder = &ask.holder;
                transaction.execute(
                    &format!(
                        "INSERT OR REPLACE INTO factotum_claims (name, kind, state, run_id, host, pid, \
                         process_identity, since, renewed_at, lease_ms) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, {NOW}, {NOW}, ?8)"
                    ),
                    params![
                        ask.name,
                        ask.kind.as_str(),
                        ClaimState::Held.as_str(),
                        holder.run,
                        holder.host,
                        holder.pid,
                        holder.process_identity,
                        millis_of(ask.lease),
                    ],
                )?;
            }
            decision = Some(decided);
            Ok(())
        })?;
        decision.ok_or_else(|| StoreError::new(&self.location, "the claim was not decided"))
    }

    fn renew_claim(&mut self, name: &str, kind: Kind, run: &str) -> Result<bool, StoreError> {
        let mut renewed = false;
        self.write(|transaction| {
            renewed = transaction.execute(
                &format!(
                    "UPDATE factotum_claims SET renewed_at = {NOW} \
                     WHERE name = ?1 AND kind = ?2 AND run_id = ?3 AND state = ?4"
                ),
                params![name, kind.as_str(), run, ClaimState::Held.as_str()],
            )? == 1;
            Ok(())
        })?;
        Ok(renewed)
    }

    fn release_claim(
        &mut self,
        name: &str,
        kind: Kind,
        run: &str,
        release: Release,
    ) -> Result<(), StoreError> {
        self.write(|transaction| {
            match release {
                Release::Free => transaction.execute(
                    "DELETE FROM factotum_claims WHERE name = ?1 AND kind = ?2 AND run_id = ?3",
                    params![name, kind.as_str(), run],
                )?,
                Release::Keep(state) => transaction.execute(
                    "UPDATE factotum_claims SET state = ?4 WHERE name = ?1 AND kind = ?2 AND run_id = ?3",
                    params![name, kind.as_str(), run, state.as_str()],
                )?,
            };
            Ok(())
        })
    }

    fn list_claims(&mut self) -> Result<Listing<ClaimRow>, StoreError> {
        let result = self
            .connection
            .prepare(&format!(
                "SELECT {} FROM factotum_claims ORDER BY name, kind",
                claim_columns()
            ))
            .and_then(|mut statement| {
                let mut rows = statement.query([])?;
                collect(&mut rows, read_claim)
            });
        result.map_err(|error| self.error(&error))
    }

    fn remove_claims(&mut self, name: &str) -> Result<Vec<ClaimRow>, StoreError> {
        let mut removed = Vec::new();
        self.write(|transaction| {
            let mut statement = transaction.prepare(&format!(
                "SELECT {} FROM factotum_claims WHERE name = ?1 ORDER BY kind",
                claim_columns()
            ))?;
            let mut rows = statement.query([name])?;
            while let Some(row) = rows.next()? {
                removed.extend(read_claim(row));
            }
            transaction.execute("DELETE FROM factotum_claims WHERE name = ?1", [name])?;
            Ok(())
        })?;
        Ok(removed)
    }
}

/// A claim's columns, then how long ago it was renewed by the store's clock.
fn claim_columns() -> String {
    format!(
        "name, kind, state, run_id, host, pid, process_identity, since, lease_ms, {NOW} - renewed_at"
    )
}

/// A claim row, or `None` when a value in it cannot be read.
fn read_claim(row: &Row<'_>) -> Option<ClaimRow> {
    let duration = |index: usize| {
        row.get::<_, i64>(index)
            .ok()
            .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
    };
    Some(ClaimRow {
        name: row.get(0).ok()?,
        kind: Kind::parse(&row.get::<_, String>(1).ok()?)?,
        state: ClaimState::parse(&row.get::<_, String>(2).ok()?)?,
        holder: Holder {
            run: row.get(3).ok()?,
            host: row.get(4).ok()?,
            pid: u32::try_from(row.get::<_, i64>(5).ok()?).ok()?,
            process_identity: row.get(6).ok()?,
        },
        since: row.get(7).ok()?,
        lease: duration(8)?,
        renewed: duration(9)?,
    })
}

/// A lease in whole milliseconds, as stored.
fn millis_of(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
