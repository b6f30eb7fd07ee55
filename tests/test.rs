//! A small builder around the compiled binary, so every test reads the same way.

use std::io::Write as _;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The folder of this crate.
pub(crate) fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The sample factfiles Factotum 0.7 shipped (with their DSL twins and a README beside them).
pub(crate) fn samples_0_7() -> PathBuf {
    manifest_dir().join("samples/factotum-0.7")
}

/// Factotum 0.7's test data: `tests-resources/`, `edge-cases/` and its schema.
pub(crate) fn data_0_7() -> PathBuf {
    manifest_dir().join("tests/data/factotum-0.7")
}

/// The files of `dir` whose extension is `extension`, sorted.
pub(crate) fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .collect();
    files.sort();
    files
}

/// One run of the binary.
pub(crate) struct Test {
    command: Command,
    stdin: Option<Vec<u8>>,
    /// Its own `XDG_STATE_HOME`, so that the default run-history store is the test's own.
    _state: tempfile::TempDir,
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    /// Standard error without the line naming the run's id and store (it differs every
    /// run), which is in `recorded_as`.
    pub(crate) stderr: String,
    /// The id of the run the line `Run ID is recorded in STORE` named, when one did.
    pub(crate) recorded_as: Option<String>,
}

/// `stderr` without the line `Run ID is recorded in STORE…`, and the id it named.
pub(crate) fn without_run_line(stderr: &str) -> (String, Option<String>) {
    let mut id = None;
    let mut kept = String::with_capacity(stderr.len());
    for line in stderr.split_inclusive('\n') {
        let named = line
            .strip_prefix("Run ")
            .and_then(|rest| rest.split_once(" is recorded in "))
            .map(|(run, _)| run.to_owned());
        match named {
            Some(run) if id.is_none() => id = Some(run),
            _ => kept.push_str(line),
        }
    }
    (kept, id)
}

impl Test {
    /// `factotum` with colour settings cleared, in `dir`.
    pub(crate) fn in_dir(dir: &Path) -> Self {
        let state = tempfile::tempdir().expect("a temporary state directory");
        let mut command = Command::new(env!("CARGO_BIN_EXE_factotum"));
        command
            .current_dir(dir)
            .env("XDG_STATE_HOME", state.path())
            .env_remove("FACTOTUM_STORE")
            .env_remove("FACTOTUM_WEBHOOK")
            .env_remove("FACTOTUM_GRACE")
            .env_remove("FACTOTUM_HEARTBEAT_INTERVAL")
            .env_remove("FACTOTUM_WEBHOOK_TIMEOUT")
            .env_remove("FACTOTUM_WEBHOOK_DRAIN")
            .env_remove("FACTOTUM_LEASE")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR")
            .env_remove("CLICOLOR_FORCE");
        Self {
            command,
            stdin: None,
            _state: state,
        }
    }

    /// `factotum` in this crate's folder.
    pub(crate) fn new() -> Self {
        Self::in_dir(manifest_dir())
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(
        mut self,
        args: I,
    ) -> Self {
        self.command.args(args);
        self
    }

    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    pub(crate) fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub(crate) fn run(mut self) -> Run {
        self.command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.command.spawn().expect("the factotum binary starts");
        if let Some(bytes) = self.stdin.take() {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            pipe.write_all(&bytes).expect("stdin accepts the input");
        }
        let Output {
            status,
            stdout,
            stderr,
        } = child
            .wait_with_output()
            .expect("the factotum binary finishes");
        let (stderr, recorded_as) =
            without_run_line(&String::from_utf8(stderr).expect("stderr is UTF-8"));
        Run {
            status: status
                .code()
                .expect("factotum exits rather than being killed"),
            stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
            stderr,
            recorded_as,
        }
    }
}

impl Run {
    /// Everything a user saw, for snapshots.
    pub(crate) fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// A task for [`job`]: name, command, arguments, dependencies.
pub(crate) struct T<'a>(
    pub(crate) &'a str,
    pub(crate) &'a str,
    pub(crate) &'a [&'a str],
    pub(crate) &'a [&'a str],
);

/// Writes a 1-0-0 factfile of `tasks` (continue on 0, no early finish) into `dir`.
pub(crate) fn job(dir: &Path, file: &str, tasks: &[T<'_>]) -> PathBuf {
    let tasks: Vec<Value> = tasks
        .iter()
        .map(|T(name, command, arguments, depends_on)| {
            json!({"name": name, "executor": "shell", "command": command, "arguments": arguments,
                   "dependsOn": depends_on,
                   "onResult": {"terminateJobWithSuccess": [], "continueJob": [0]}})
        })
        .collect();
    let text = json!({"schema": "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0",
                      "data": {"name": "test job", "tasks": tasks}});
    let path = dir.join(file);
    std::fs::write(&path, serde_json::to_string_pretty(&text).unwrap()).unwrap();
    path
}

/// `text` with every duration factotum measures (after "tasks run in ", "succeeded after " and
/// "failed after ") replaced by `<duration>`: how long a run took depends on the machine, the
/// rest of the line does not.
pub(crate) fn without_durations(text: &str) -> String {
    const MARKERS: [&str; 3] = ["tasks run in ", "succeeded after ", "failed after "];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = MARKERS
            .iter()
            .filter_map(|marker| rest.find(marker).map(|at| at + marker.len()))
            .min();
        let Some(end_of_marker) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..end_of_marker]);
        rest = &rest[end_of_marker..];
        let length = duration_length(rest);
        if length > 0 {
            out.push_str("<duration>");
        }
        rest = &rest[length..];
    }
}

/// The length of the duration `text` starts with, as the summary and the task lines write it:
/// `0.3s`, `12.0s`, `1m, 2s` or `1h, 0m, 5s`; 0 when it starts with none.
fn duration_length(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut at = 0;
    loop {
        let digits = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return 0;
        }
        let mut end = at + digits;
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end += 2;
        }
        match bytes.get(end) {
            Some(b'h' | b'm') if bytes[end + 1..].starts_with(b", ") => at = end + 3,
            Some(b's') => return end + 1,
            _ => return 0,
        }
    }
}

#[test]
fn durations_are_replaced_and_nothing_else() {
    assert_eq!(
        without_durations("3/3 tasks run in 0.0s\nx"),
        "3/3 tasks run in <duration>\nx"
    );
    assert_eq!(
        without_durations("Task 'a': failed after 12.3s. Reason: 1m, 2s"),
        "Task 'a': failed after <duration>. Reason: 1m, 2s"
    );
    assert_eq!(
        without_durations("tasks run in 1h, 0m, 5s\nsucceeded after 1m, 2s"),
        "tasks run in <duration>\nsucceeded after <duration>"
    );
    assert_eq!(without_durations("tasks run in soon"), "tasks run in soon");
}

/// `N` different ports on 127.0.0.1 that nothing listened on a moment ago (all bound at once,
/// so that no two are the same).
pub(crate) fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [std::net::TcpListener; N] = std::array::from_fn(|_| {
        std::net::TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1")
    });
    listeners.map(|listener| listener.local_addr().expect("a bound port").port())
}

/// A port on 127.0.0.1 that nothing listened on a moment ago.
pub(crate) fn free_port() -> u16 {
    let [port] = free_ports::<1>();
    port
}

/// Starts a shell that checks once a second whether this test process still lives and, once
/// it has gone, runs the shell code `cleanup` with `arguments` as its `$1`, `$2`, …: a test
/// process runs no code when it exits, so this is how the servers it started are stopped. In a
/// process group of its own, so that a Ctrl-C that stops the tests does not stop it before it
/// has cleaned up. `what` names it in the failure when it cannot start.
#[expect(
    clippy::zombie_processes,
    reason = "the watchdog outlives this process by design, and is reaped by whoever adopts it"
)]
pub(crate) fn start_watchdog<S: AsRef<std::ffi::OsStr>>(
    what: &str,
    cleanup: &str,
    arguments: impl IntoIterator<Item = S>,
) {
    use std::os::unix::process::CommandExt as _;
    let script =
        format!("pid=$1\nshift\nwhile kill -0 \"$pid\" 2>/dev/null; do sleep 1; done\n{cleanup}");
    Command::new("sh")
        .args(["-c", &script, "watchdog", &std::process::id().to_string()])
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|error| panic!("{what} starts: {error}"));
}
