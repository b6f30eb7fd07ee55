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
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Test {
    /// `factotum` with colour settings cleared, in `dir`.
    pub(crate) fn in_dir(dir: &Path) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_factotum"));
        command
            .current_dir(dir)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR")
            .env_remove("CLICOLOR_FORCE");
        Self {
            command,
            stdin: None,
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
        Run {
            status: status
                .code()
                .expect("factotum exits rather than being killed"),
            stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
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
