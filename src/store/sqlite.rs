//! The embedded store: one SQLite file (rusqlite with SQLite built in, so no system library
//! is needed). Write-ahead logging lets a reader and a writer work at once, and a busy
//! timeout makes concurrent writers queue for the few milliseconds a transaction takes.

use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, Row, TransactionBehavior, params};

use super::claims::{self, Ask, ClaimRow, ClaimState, Decision, Kind, Release};
use super::sql::{self, Cell, Cells, Dialect};
use super::{
    Backend, Listing, Location, Millis, Outcome, RunRecord, RunSummary, StoreError, TaskRecord,
};

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite's parameters, and its clock in [`Millis`].
const DIALECT: Dialect = Dialect {
    parameter: '?',
    now: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    row_lock: "",
};

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
        // Switching a new file to write-ahead logging needs it alone for a moment, and SQLite
        // answers "busy" at once, without its busy handler, when another process opens the
        // same new store then: try again until the busy timeout.
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            match store.prepare() {
                Err(PrepareError::Sqlite(error))
                    if is_busy(&error) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                result => break result.map_err(|error| store.prepare_error(&error))?,
            }
        }
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

    /// Sets up the connection and brings the tables to [`super::SCHEMA_VERSION`].
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
        let done = match version {
            Some(text) => sql::check_version(&text).map_err(PrepareError::Other)?,
            None => 0,
        };
        if let Some(migration) = sql::migration(done) {
            transaction.execute_batch(&migration)?;
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

/// Whether `error` says another connection holds the lock it needed.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
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

impl Cells for Row<'_> {
    fn cell<T: Cell>(&self, index: usize) -> Option<T> {
        self.get(index).ok()
    }
}

/// Writes a task's row, replacing the one it had.
fn upsert_task(
    transaction: &rusqlite::Transaction<'_>,
    run: &str,
    task: &TaskRecord,
) -> rusqlite::Result<()> {
    static UPSERT: LazyLock<String> = LazyLock::new(|| DIALECT.upsert_task());
    transaction.prepare_cached(&UPSERT)?.execute(params![
        run,
        sql::bigint(task.position),
        sql::bigint(task.plan_order),
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
        task.attempts,
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
                &DIALECT.insert_run(),
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
            transaction.execute(&DIALECT.heartbeat(), [run])?;
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
                &DIALECT.finish_run(),
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
        let result = self
            .connection
            .prepare(&DIALECT.list_runs(file.is_some()))
            .and_then(|mut statement| {
                statement
                    .query_map(params![sql::bigint(limit), file], |row| {
                        Ok(sql::read_summary(row))
                    })?
                    .collect()
            });
        result.map_err(|error| self.error(&error))
    }

    fn ids_starting_with(&mut self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let result = self
            .connection
            .prepare(&DIALECT.ids_starting_with())
            .and_then(|mut statement| {
                statement
                    .query_map(params![prefix, sql::bigint(limit)], |row| {
                        row.get::<_, String>(0)
                    })?
                    .collect::<rusqlite::Result<Vec<String>>>()
            });
        result.map_err(|error| self.error(&error))
    }

    fn load_run(
        &mut self,
        id: &str,
    ) -> Result<Option<(RunSummary, Listing<TaskRecord>)>, StoreError> {
        let result = self
            .connection
            .prepare(&DIALECT.load_run())
            .and_then(|mut statement| {
                let mut rows = statement.query([id])?;
                let Some(summary) = rows.next()?.and_then(sql::read_summary) else {
                    return Ok(None);
                };
                let mut tasks = self.connection.prepare(&DIALECT.load_tasks())?;
                let tasks = tasks
                    .query_map([id], |row| Ok(sql::read_task(row)))?
                    .collect::<rusqlite::Result<Listing<TaskRecord>>>()?;
                Ok(Some((summary, tasks)))
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
                    &DIALECT.find_claim(),
                    params![ask.name, ask.kind.as_str()],
                    |row| Ok(sql::read_claim(row)),
                )
                .optional()?
                .flatten();
            let decided = claims::decide(ask, found.as_ref());
            if decided.takes() {
                let holder = &ask.holder;
                transaction.execute(
                    &DIALECT.take_claim(),
                    params![
                        ask.name,
                        ask.kind.as_str(),
                        ClaimState::Held.as_str(),
                        holder.run,
                        holder.host,
                        holder.pid,
                        holder.process_identity,
                        sql::millis_of(ask.lease),
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
                &DIALECT.renew_claim(),
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
                Release::Free => {
                    transaction.execute(&DIALECT.free_claim(), params![name, kind.as_str(), run])?
                }
                Release::Keep(state) => transaction.execute(
                    &DIALECT.keep_claim(),
                    params![name, kind.as_str(), run, state.as_str()],
                )?,
            };
            Ok(())
        })
    }

    fn list_claims(&mut self) -> Result<Listing<ClaimRow>, StoreError> {
        let result = self
            .connection
            .prepare(&DIALECT.list_claims())
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| Ok(sql::read_claim(row)))?
                    .collect()
            });
        result.map_err(|error| self.error(&error))
    }

    fn remove_claims(&mut self, name: &str) -> Result<Vec<ClaimRow>, StoreError> {
        let mut removed = Vec::new();
        self.write(|transaction| {
            let mut statement = transaction.prepare(&DIALECT.claims_named())?;
            let mut rows = statement.query([name])?;
            while let Some(row) = rows.next()? {
                removed.extend(sql::read_claim(row));
            }
            transaction.execute(&DIALECT.remove_claims(), [name])?;
            Ok(())
        })?;
        Ok(removed)
    }
}
