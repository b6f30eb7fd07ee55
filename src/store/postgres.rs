//! The shared store: a PostgreSQL database that the factotums of several servers write at
//! once. The synchronous client suits the thread-based executor. Connections are plain TCP or
//! a Unix socket: TLS is not supported yet, and a URL that asks for it is refused rather than
//! sent in the clear.

use std::error::Error as _;
use std::fmt;
use std::sync::mpsc;
use std::time::Duration;

use postgres::{Client, Config, GenericClient, IsolationLevel, NoTls, Row, Statement, Transaction};

use super::claims::{self, Ask, ClaimRow, ClaimState, Decision, Kind, Release};
use super::sql::{self, Cell, Cells, Dialect};
use super::{
    Backend, Listing, Location, Millis, Outcome, RunRecord, RunSummary, StoreError, TaskRecord,
};

/// How long data sent to the server may stay unacknowledged before the connection counts as
/// broken, unless the URL sets `tcp_user_timeout`.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long connecting may take when the URL does not say (`connect_timeout`): a store that
/// does not answer stops the command instead of hanging it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a statement waits for a lock another process holds before giving up, as SQLite's
/// busy timeout: a store that another transaction holds up fails the write (the recorder then
/// warns, and the job goes on) instead of stopping the job for as long as that lasts. A URL
/// whose `options` set `lock_timeout` keeps its own.
const LOCK_TIMEOUT: &str = "SET lock_timeout = '10s'";

/// PostgreSQL's parameters, and the database server's clock in [`Millis`]: every host that
/// shares the store judges heartbeats by the same clock. `clock_timestamp()` rather than
/// `now()`, which stands still for a whole transaction.
const DIALECT: Dialect = Dialect {
    parameter: '$',
    now: "CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)",
    row_lock: " FOR UPDATE",
};

/// The advisory lock held by the transaction that reads the schema version and creates or
/// migrates the tables, so that factotums opening an empty database at once create them
/// once: the others wait, then find them. Any fixed number; these are the bytes of
/// "factotum".
const SCHEMA_LOCK: i64 = 0x6661_6374_6f74_756d;

/// The advisory lock held by a transaction that decides claims: two runs asking for a name
/// nobody holds both find no row, which no row lock can stop, so they queue here. The rows a
/// decision reads are also locked (`FOR UPDATE`), so that a renewal or a release waits for it.
/// The bytes of "factclai".
const CLAIMS_LOCK: i64 = 0x6661_6374_636c_6169;

/// Connects to the PostgreSQL store at `url`, creating or migrating its tables.
pub(super) fn open(url: &str) -> Result<Box<dyn Backend>, StoreError> {
    Ok(Box::new(Postgres::open(url)?))
}

/// A connection to one PostgreSQL store.
struct Postgres {
    url: String,
    location: Location,
    client: Client,
    /// [`Dialect::upsert_task`], prepared once: the statement a run writes most.
    upsert_task: Statement,
}

impl Postgres {
    fn open(url: &str) -> Result<Self, StoreError> {
        let location = Location::Postgres(url.to_owned());
        let opened = config(url).and_then(|(config, limit)| {
            let own_lock_timeout = config
                .get_options()
                .is_some_and(|options| options.contains("lock_timeout"));
            let mut client = connect(config, limit)?;
            if !own_lock_timeout {
                client.batch_execute(LOCK_TIMEOUT)?;
            }
            migrate(&mut client)?;
            let upsert_task = client.prepare(&DIALECT.upsert_task())?;
            Ok((client, upsert_task))
        });
        match opened {
            Ok((client, upsert_task)) => Ok(Self {
                url: url.to_owned(),
                location,
                client,
                upsert_task,
            }),
            Err(error) => Err(StoreError::new(&location, error)),
        }
    }

    fn error(&self, error: &postgres::Error) -> StoreError {
        StoreError::new(&self.location, describe(error))
    }

    /// Runs `work` in one transaction that holds [`CLAIMS_LOCK`].
    fn decide_claims<T>(
        &mut self,
        work: impl FnOnce(&mut Transaction<'_>) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let result = self.client.transaction().and_then(|mut transaction| {
            transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&CLAIMS_LOCK])?;
            let value = work(&mut transaction)?;
            transaction.commit()?;
            Ok(value)
        });
        result.map_err(|error| self.error(&error))
    }

    /// Runs `work` in one transaction, with the prepared upsert.
    fn write(
        &mut self,
        work: impl FnOnce(&mut Transaction<'_>, &Statement) -> Result<(), postgres::Error>,
    ) -> Result<(), StoreError> {
        let result = self.client.transaction().and_then(|mut transaction| {
            work(&mut transaction, &self.upsert_task)?;
            transaction.commit()
        });
        result.map_err(|error| self.error(&error))
    }
}

/// Why a store could not be opened.
enum OpenError {
    /// The client's error.
    Client(postgres::Error),
    /// Anything else, said in words.
    Other(String),
}

impl From<postgres::Error> for OpenError {
    fn from(error: postgres::Error) -> Self {
        Self::Client(error)
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Client(error) => formatter.write_str(&describe(error)),
            Self::Other(message) => formatter.write_str(message),
        }
    }
}

/// The connection settings `url` gives, and how long connecting may take (`None`: as long as
/// it takes, when the URL says `connect_timeout=0`, as libpq reads it).
fn config(url: &str) -> Result<(Config, Option<Duration>), OpenError> {
    if let Some(mode) = query_parameter(url, "sslmode")
        .filter(|mode| matches!(*mode, "require" | "verify-ca" | "verify-full"))
    {
        return Err(OpenError::Other(format!(
            "the URL asks for TLS (sslmode={mode}), which factotum's PostgreSQL store does not support yet: \
             connect without TLS (sslmode=disable), through a Unix socket or a tunnel"
        )));
    }
    let mut config: Config = url.parse()?;
    // Without it, a write to a server whose packets are silently dropped (a cut network)
    // blocks until TCP gives up, about 15 minutes; with it, the write fails and the run goes
    // on, its history incomplete.
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(TCP_USER_TIMEOUT);
    }
    // The client keeps no timeout for `connect_timeout=0`, nor when none is given.
    let limit = match config.get_connect_timeout() {
        Some(timeout) => Some(*timeout),
        None if query_parameter(url, "connect_timeout").is_some() => None,
        None => {
            config.connect_timeout(CONNECT_TIMEOUT);
            Some(CONNECT_TIMEOUT)
        }
    };
    Ok((config, limit))
}

/// The value of the parameter `key` in the URL's query, the last one when it is given twice
/// (as the client reads it). Read from the text because the client does not know every value
/// libpq does (`sslmode=verify-full`), and forgets some it does (`connect_timeout=0`).
fn query_parameter<'url>(url: &'url str, key: &str) -> Option<&'url str> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .rev()
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == key)
        .map(|(_, value)| value)
}

/// Connects within `limit`, all of it: the client bounds only the TCP connection, and a
/// server that accepts one and then says nothing would hang the command. On time out the
/// connecting thread is left behind, blocked until the process ends.
fn connect(config: Config, limit: Option<Duration>) -> Result<Client, OpenError> {
    let Some(limit) = limit else {
        return Ok(config.connect(NoTls)?);
    };
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("postgres-connect".to_owned())
        .spawn(move || sender.send(config.connect(NoTls)))
        .map_err(|error| OpenError::Other(format!("cannot start a thread to connect: {error}")))?;
    match receiver.recv_timeout(limit) {
        Ok(connected) => Ok(connected?),
        Err(_) => Err(OpenError::Other(format!(
            "the server did not complete the connection within {} s",
            limit.as_secs_f64()
        ))),
    }
}

/// Brings the tables to [`super::SCHEMA_VERSION`], or refuses a store a newer factotum made.
fn migrate(client: &mut Client) -> Result<(), OpenError> {
    // Read committed whatever the server's default: each statement sees what committed
    // before it, so a factotum that waited for the lock sees the tables the holder made.
    let mut transaction = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
    let has_meta: bool = transaction
        .query_one("SELECT to_regclass('factotum_meta') IS NOT NULL", &[])?
        .try_get(0)?;
    let version_row = if has_meta {
        transaction.query_opt(
            "SELECT value FROM factotum_meta WHERE key = 'schema_version'",
            &[],
        )?
    } else {
        None
    };
    let done = match version_row {
        Some(row) => sql::check_version(&row.try_get::<_, String>(0)?).map_err(OpenError::Other)?,
        None => 0,
    };
    if let Some(migration) = sql::migration(done) {
        transaction.batch_execute(&migration)?;
    }
    Ok(transaction.commit()?)
}

/// An error with its causes, on one line: the client's own message names only the kind.
fn describe(error: &postgres::Error) -> String {
    if let Some(database) = error.as_db_error() {
        let notes = [("detail", database.detail()), ("hint", database.hint())]
            .into_iter()
            .filter_map(|(label, note)| Some(format!(" ({label}: {})", note?)))
            .collect::<String>();
        return format!("{}: {}{notes}", database.severity(), database.message());
    }
    let mut parts = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(inner) = cause {
        parts.push(inner.to_string());
        cause = inner.source();
    }
    parts.join(": ")
}

impl Cells for Row {
    fn cell<T: Cell>(&self, index: usize) -> Option<T> {
        self.try_get(index).ok()
    }
}

/// Writes a task's row, replacing the one it had.
fn upsert_task(
    client: &mut impl GenericClient,
    statement: &Statement,
    run: &str,
    task: &TaskRecord,
) -> Result<(), postgres::Error> {
    client.execute(
        statement,
        &[
            &run,
            &sql::bigint(task.position),
            &sql::bigint(task.plan_order),
            &task.name,
            &task.definition,
            &task.state.as_str(),
            &task.started_at,
            &task.ended_at,
            &task.exit_code.map(i64::from),
            &task.signal.map(i64::from),
            &task.reason,
            &task.stdout_tail,
            &task.stderr_tail,
            &task.carried_from,
            &task.attempts.map(i64::from),
        ],
    )?;
    Ok(())
}

impl Backend for Postgres {
    fn location(&self) -> &Location {
        &self.location
    }

    fn insert_run(&mut self, run: &RunRecord, tasks: &[TaskRecord]) -> Result<(), StoreError> {
        let tags = serde_json::to_string(&run.tags).unwrap_or_else(|_| "[]".to_owned());
        self.write(|transaction, upsert| {
            transaction.execute(
                &DIALECT.insert_run(),
                &[
                    &run.id,
                    &run.job,
                    &run.file,
                    &run.job_hash,
                    &run.env,
                    &tags,
                    &run.host,
                    &run.user,
                    &i64::from(run.pid),
                    &run.process_identity,
                    &run.started_at,
                    &run.ended_at,
                    &run.outcome.as_str(),
                    &run.exit_code.map(i64::from),
                    &run.resumes,
                ],
            )?;
            for task in tasks {
                upsert_task(transaction, upsert, &run.id, task)?;
            }
            Ok(())
        })
    }

    fn update_tasks(&mut self, run: &str, tasks: &[&TaskRecord]) -> Result<(), StoreError> {
        // One statement is a transaction of its own: the task that ends alone, the usual
        // case, costs one round trip rather than three.
        if let [task] = tasks {
            let result = upsert_task(&mut self.client, &self.upsert_task, run, task);
            return result.map_err(|error| self.error(&error));
        }
        self.write(|transaction, upsert| {
            for task in tasks {
                upsert_task(transaction, upsert, run, task)?;
            }
            Ok(())
        })
    }

    fn heartbeat(&mut self, run: &str) -> Result<(), StoreError> {
        let result = self.client.execute(&DIALECT.heartbeat(), &[&run]);
        result.map(drop).map_err(|error| self.error(&error))
    }

    fn finish_run(
        &mut self,
        run: &str,
        outcome: Outcome,
        exit_code: i32,
        ended_at: Millis,
    ) -> Result<(), StoreError> {
        let result = self.client.execute(
            &DIALECT.finish_run(),
            &[&run, &outcome.as_str(), &i64::from(exit_code), &ended_at],
        );
        result.map(drop).map_err(|error| self.error(&error))
    }

    fn list_runs(
        &mut self,
        file: Option<&str>,
        limit: usize,
    ) -> Result<Listing<RunSummary>, StoreError> {
        let result = self.client.query(
            &DIALECT.list_runs(file.is_some()),
            &[&sql::bigint(limit), &file],
        );
        result
            .map(|rows| rows.iter().map(sql::read_summary).collect())
            .map_err(|error| self.error(&error))
    }

    fn ids_starting_with(&mut self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let result = self.client.query(
            &DIALECT.ids_starting_with(),
            &[&prefix, &sql::bigint(limit)],
        );
        result
            .and_then(|rows| rows.iter().map(|row| row.try_get(0)).collect())
            .map_err(|error| self.error(&error))
    }

    fn load_run(
        &mut self,
        id: &str,
    ) -> Result<Option<(RunSummary, Listing<TaskRecord>)>, StoreError> {
        // One snapshot for the run and its tasks, so that the counts and the rows agree.
        let result = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .and_then(|mut transaction| {
                let run = transaction.query_opt(&DIALECT.load_run(), &[&id])?;
                let Some(summary) = run.as_ref().and_then(sql::read_summary) else {
                    return Ok(None);
                };
                let tasks = transaction.query(&DIALECT.load_tasks(), &[&id])?;
                let tasks = tasks.iter().map(sql::read_task).collect();
                transaction.commit()?;
                Ok(Some((summary, tasks)))
            });
        result.map_err(|error| self.error(&error))
    }

    fn connect_again(&self) -> Result<Box<dyn Backend>, StoreError> {
        open(&self.url)
    }

    fn claim(&mut self, ask: &Ask) -> Result<Decision, StoreError> {
        self.decide_claims(|transaction| {
            let found = transaction
                .query_opt(&DIALECT.find_claim(), &[&ask.name, &ask.kind.as_str()])?
                .as_ref()
                .and_then(sql::read_claim);
            let decided = claims::decide(ask, found.as_ref());
            if decided.takes() {
                let holder = &ask.holder;
                transaction.execute(
                    &DIALECT.take_claim(),
                    &[
                        &ask.name,
                        &ask.kind.as_str(),
                        &ClaimState::Held.as_str(),
                        &holder.run,
                        &holder.host,
                        &i64::from(holder.pid),
                        &holder.process_identity,
                        &sql::millis_of(ask.lease),
                    ],
                )?;
            }
            Ok(decided)
        })
    }

    fn renew_claim(&mut self, name: &str, kind: Kind, run: &str) -> Result<bool, StoreError> {
        let result = self.client.execute(
            &DIALECT.renew_claim(),
            &[&name, &kind.as_str(), &run, &ClaimState::Held.as_str()],
        );
        result
            .map(|renewed| renewed == 1)
            .map_err(|error| self.error(&error))
    }

    fn release_claim(
        &mut self,
        name: &str,
        kind: Kind,
        run: &str,
        release: Release,
    ) -> Result<(), StoreError> {
        let result = match release {
            Release::Free => self
                .client
                .execute(&DIALECT.free_claim(), &[&name, &kind.as_str(), &run]),
            Release::Keep(state) => self.client.execute(
                &DIALECT.keep_claim(),
                &[&name, &kind.as_str(), &run, &state.as_str()],
            ),
        };
        result.map(drop).map_err(|error| self.error(&error))
    }

    fn list_claims(&mut self) -> Result<Listing<ClaimRow>, StoreError> {
        let result = self.client.query(&DIALECT.list_claims(), &[]);
        result
            .map(|rows| rows.iter().map(sql::read_claim).collect())
            .map_err(|error| self.error(&error))
    }

    fn remove_claims(&mut self, name: &str) -> Result<Vec<ClaimRow>, StoreError> {
        self.decide_claims(|transaction| {
            let removed = transaction
                .query(&DIALECT.claims_named(), &[&name])?
                .iter()
                .filter_map(sql::read_claim)
                .collect();
            transaction.execute(&DIALECT.remove_claims(), &[&name])?;
            Ok(removed)
        })
    }
}
