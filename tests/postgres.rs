//! A throw-away PostgreSQL cluster for the store tests: one per test process, started on
//! first use, listening on 127.0.0.1 only, with trust authentication; [`fresh_store`] gives
//! a new, empty database in it. A test process cannot run code when it exits (no `atexit`
//! without unsafe code), so a watchdog shell stops the cluster and removes its files once the
//! process is gone.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The cluster's superuser, whoever runs the tests.
const SUPERUSER: &str = "postgres";

/// The account the server runs as when the tests run as root, which initdb refuses.
const SERVER_ACCOUNT: &str = "postgres";

/// How many ports to try: a free port found by binding may be taken again before the
/// server binds it.
const PORT_ATTEMPTS: usize = 5;

/// How long `pg_ctl` may wait for the server to accept connections, in seconds.
const START_TIMEOUT_SECONDS: &str = "120";

/// A running cluster.
struct Cluster {
    port: u16,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// Databases made so far, for unique names.
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The `postgres://` URL of a new, empty database (no password: the cluster trusts
/// connections from 127.0.0.1).
pub(crate) fn fresh_store() -> String {
    let cluster = CLUSTER.get_or_init(Cluster::start);
    let name = format!("factotum_{}", DATABASES.fetch_add(1, Ordering::Relaxed));
    let mut client = postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls)
        .unwrap_or_else(|error| panic!("the test cluster accepts connections: {error:?}"));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|error| panic!("the test cluster creates {name}: {error:?}"));
    cluster.url(&name)
}

impl Cluster {
    fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    fn start() -> Self {
        let bin = server_binaries();
        let as_root = rustix::process::geteuid().is_root();
        // As root, every server binary runs as the server's account, which owns the files.
        let runner: &[&str] = if as_root {
            &["runuser", "-u", SERVER_ACCOUNT, "--"]
        } else {
            &[]
        };
        let dir = tempfile::Builder::new()
            .prefix("factotum-postgres-")
            .tempdir()
            .expect("a temporary directory for the test cluster")
            .keep();
        let data = dir.join("data");
        let sockets = dir.join("sockets");
        std::fs::create_dir(&sockets).expect("the cluster's socket directory");
        if as_root {
            succeed(
                Command::new("chown")
                    .args(["-R", &format!("{SERVER_ACCOUNT}:")])
                    .arg(&dir),
                "chown the test cluster's directory",
            );
        }
        // Once the test process has gone: the cluster stopped at once, then its folder removed.
        let cleanup = r#"dir=$1 data=$2
shift 2
"$@" -D "$data" stop -m immediate >/dev/null 2>&1
rm -rf "$dir""#;
        let pg_ctl = bin.join("pg_ctl");
        let arguments = [dir.as_os_str(), data.as_os_str()]
            .into_iter()
            .chain(runner.iter().map(std::ffi::OsStr::new))
            .chain([pg_ctl.as_os_str()]);
        crate::test::start_watchdog("the test cluster's watchdog", cleanup, arguments);
        succeed(
            server_command(runner, &bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C"])
                .arg("--no-sync"),
            "initdb",
        );
        let log = dir.join("server.log");
        for _ in 0..PORT_ATTEMPTS {
            let port = crate::test::free_port();
            // Appended: the last setting of a name wins, so a retry only adds its port.
            let mut conf = OpenOptions::new()
                .append(true)
                .open(data.join("postgresql.conf"))
                .expect("postgresql.conf opens");
            writeln!(
                conf,
                "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nfsync = off\nfull_page_writes = off",
                sockets.display()
            )
            .expect("postgresql.conf is written");
            let started = server_command(runner, &bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", START_TIMEOUT_SECONDS, "start"])
                .output()
                .expect("pg_ctl runs");
            if started.status.success() {
                return Self { port };
            }
        }
        panic!(
            "the test cluster did not start on any of {PORT_ATTEMPTS} ports; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
}

/// The newest server binaries installed: Debian's `/usr/lib/postgresql/VERSION/bin`, or where
/// `pg_config` says.
fn server_binaries() -> PathBuf {
    let mut installed: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    installed.sort();
    let configured = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    installed
        .into_iter()
        .rev()
        .map(|(_, bin)| bin)
        .chain(configured)
        .find(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .expect(
            "PostgreSQL's server binaries (initdb, pg_ctl) are installed, as Debian's \
             `postgresql` package installs them (.ci/run does)",
        )
}

/// `program`, run through `runner` (nothing, or a switch to the server's account).
fn server_command(runner: &[&str], program: &Path) -> Command {
    let mut command = match runner.split_first() {
        Some((first, rest)) => {
            let mut command = Command::new(first);
            command.args(rest).arg(program);
            command
        }
        None => Command::new(program),
    };
    command.stdin(Stdio::null());
    command
}

/// Runs `command` and panics with its output unless it succeeds.
fn succeed(command: &mut Command, what: &str) {
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .output()
        .unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(
        status.success(),
        "{what} failed ({status}):\n{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
}
