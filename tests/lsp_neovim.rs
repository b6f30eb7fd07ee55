//! A real client on `factotum lsp`: Debian's Neovim (0.7.2, which `.ci/run` installs) starts
//! the binary with its built-in client, opens a job with a misspelt dependency in each syntax,
//! asks for the code actions at the diagnostic and applies the quick fix.
//! `tests/lsp_neovim/client.lua` writes down what Neovim received; this test judges it.

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};
use serde_json::{Value, json};

use crate::test::manifest_dir;

/// How long Neovim may take for both files: about a second here. The script bounds each of
/// its own waits to 20 s and reports which one ran out; this only stops a Neovim that hangs.
const DEADLINE: Duration = Duration::from_secs(120);

/// The jobs Neovim opens, one in each syntax, in `tests/lsp_neovim/`, with the file type
/// `editors/vim` gives each, which Neovim sends as the document's language id.
const JOBS: [(&str, &str); 2] = [
    ("misspelt.factotum", "factotum"),
    ("misspelt.factfile", "json"),
];

/// The misspelt dependency in both jobs, as the diagnostic's range covers it (with its quotes),
/// and what the quick fix makes of it.
const MISSPELT: &str = "\"extract custmers\"";
const FIXED: &str = "\"extract customers\"";

/// Where `nvim` is on `PATH`; fails naming `.ci/run` when it is missing.
fn nvim() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("nvim"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "nvim is not on PATH: the Neovim LSP test needs Debian's neovim package \
                 (.ci/run installs it)"
            )
        })
}

fn fixture(job: &str) -> PathBuf {
    manifest_dir().join("tests/lsp_neovim").join(job)
}

/// Runs the client script in a headless Neovim on copies of `JOBS`, with the file types of
/// `editors/vim` (so Neovim sends the language ids `factotum` and `json`), and returns its
/// report. Neovim's own files (its LSP log among them) go to the temporary folder.
fn neovim_report() -> Value {
    let nvim = nvim();
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (job, _) in JOBS {
        std::fs::copy(fixture(job), dir.path().join(job)).expect("the job is copied");
    }
    let report_path = dir.path().join("report.json");
    let output = |name: &str| File::create(dir.path().join(name)).expect("an output file");
    let mut child = Command::new(nvim)
        .args(["--headless", "--clean", "-n", "-i", "NONE"])
        .args([
            "--cmd",
            "lua vim.opt.runtimepath:prepend(os.getenv('FACTOTUM_VIM_RUNTIME'))",
        ])
        .args(["-c", "lua dofile(os.getenv('FACTOTUM_NVIM_SCRIPT'))"])
        .args(JOBS.map(|(job, _)| job))
        .current_dir(dir.path())
        .env("FACTOTUM_BIN", env!("CARGO_BIN_EXE_factotum"))
        .env("FACTOTUM_NVIM_REPORT", &report_path)
        .env("FACTOTUM_NVIM_SCRIPT", fixture("client.lua"))
        .env("FACTOTUM_VIM_RUNTIME", manifest_dir().join("editors/vim"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .stdin(Stdio::null())
        .stdout(output("nvim.stdout"))
        .stderr(output("nvim.stderr"))
        .process_group(0)
        .spawn()
        .expect("nvim starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("nvim can be waited for") {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            // The whole group: Neovim and the server it started.
            kill_process_group(Pid::from_child(&child), Signal::KILL).expect("nvim is killed");
            child.wait().expect("the killed nvim is reaped");
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let transcript = format!(
        "--- nvim stderr\n{}--- nvim stdout\n{}--- lsp.log\n{}",
        read(&dir.path().join("nvim.stderr")),
        read(&dir.path().join("nvim.stdout")),
        read(&dir.path().join("cache/nvim/lsp.log")),
    );
    let report = read(&report_path);
    let report: Value = serde_json::from_str(&report).unwrap_or_else(|error| {
        panic!("no report from Neovim ({error}; exit {status:?}):\n{report}\n{transcript}")
    });
    assert!(
        status.is_some_and(|status| status.success()) && report.get("error").is_none(),
        "Neovim failed (exit {status:?}):\n{report:#}\n{transcript}"
    );
    report
}

#[test]
fn neovim_shows_the_misspelt_dependency_and_applies_its_quick_fix() {
    let report = neovim_report();
    // Neovim 0.7 offers no position encoding but UTF-16, so the emoji before the misspelt name
    // (two UTF-16 units, four bytes) tells the encodings apart.
    assert_eq!(report["offset_encoding"], "utf-16", "{report:#}");
    for (job, filetype) in JOBS {
        let original = std::fs::read_to_string(fixture(job)).expect("the job is readable");
        let (line, text) = original
            .lines()
            .enumerate()
            .find(|(_, text)| text.contains(MISSPELT))
            .expect("the job has the misspelt dependency");
        let byte = text.find(MISSPELT).expect("the misspelt dependency");
        let character = text[..byte].encode_utf16().count();
        let received = &report["files"][job];
        let context = format!("{job}: {received:#}");
        assert_eq!(received["filetype"], filetype, "{context}");

        assert_eq!(
            received["sent"].as_array().map(Vec::len),
            Some(1),
            "{context}"
        );
        let diagnostic = &received["sent"][0];
        assert_eq!(diagnostic["code"], "E401", "{context}");
        assert_eq!(diagnostic["source"], "factotum", "{context}");
        assert_eq!(diagnostic["severity"], 1, "an error: {context}");
        let message = diagnostic["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("task `load` depends on unknown task `extract custmers`")
                && message.contains("did you mean `extract customers`?"),
            "{context}"
        );
        assert_eq!(
            diagnostic["range"],
            json!({
                "start": {"line": line, "character": character},
                "end": {"line": line, "character": character + MISSPELT.encode_utf16().count()},
            }),
            "{context}"
        );
        // Where Neovim itself put it, in bytes, and the text it underlines.
        assert_eq!(
            received["placed"],
            json!([{
                "lnum": line, "col": byte, "end_lnum": line, "end_col": byte + MISSPELT.len(),
                "text": MISSPELT,
            }]),
            "{context}"
        );

        let quick_fixes: Vec<&Value> = received["actions"]
            .as_array()
            .map(|actions| {
                actions
                    .iter()
                    .filter(|action| action["kind"] == "quickfix")
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(quick_fixes.len(), 1, "one quick fix: {context}");
        assert_eq!(quick_fixes[0]["is_preferred"], true, "{context}");
        assert_eq!(quick_fixes[0]["has_edit"], true, "{context}");
        assert_eq!(quick_fixes[0]["linked_codes"], json!(["E401"]), "{context}");
        assert_eq!(received["applied"], quick_fixes[0]["title"], "{context}");
        assert_eq!(
            received["text_after"],
            original.replacen(MISSPELT, FIXED, 1),
            "{context}"
        );
        assert_eq!(received["sent_after"], json!([]), "{context}");
        assert_eq!(received["placed_after"], json!([]), "{context}");
    }
    assert_eq!(
        report["exit_code"], 0,
        "after shutdown and exit: {report:#}"
    );
}
