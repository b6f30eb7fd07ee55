//! Hostile input through the real binary: each gets a diagnostic and exit 1, never a panic,
//! an abort or a stack overflow.

use std::fmt::Write as _;

use crate::test::Test;

fn check_text(bytes: &[u8]) -> crate::test::Run {
    check_file("hostile.factfile", bytes)
}

/// `check --format short` on `bytes` saved as `name`.
fn check_file(name: &str, bytes: &[u8]) -> crate::test::Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    Test::new()
        .args(["check", "--format", "short"])
        .arg(&path)
        .run()
}

fn assert_rejected(bytes: &[u8], code: &str) {
    assert_file_rejected("hostile.factfile", bytes, code);
}

fn assert_file_rejected(name: &str, bytes: &[u8], code: &str) {
    let run = check_file(name, bytes);
    assert_eq!(run.status, 1, "{}", run.transcript());
    assert!(
        run.stdout.contains(&format!("error[{code}]")),
        "{}",
        run.transcript()
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

const TASK: &str = r#"{"name": "t", "executor": "shell", "command": "echo", "arguments": [], "dependsOn": [], "onResult": {"terminateJobWithSuccess": [], "continueJob": [CODE]}}"#;

fn job_with_code(code: &str) -> String {
    format!(
        r#"{{"schema": "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0", "data": {{"name": "x", "tasks": [{}]}}}}"#,
        TASK.replace("CODE", code)
    )
}

#[test]
fn empty_and_random_bytes() {
    assert_rejected(b"", "E100");
    assert_rejected(b"   \n\t ", "E100");
    // A fixed pseudo-random stream: valid UTF-8 for the parser, and raw bytes for the decoder.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes = Vec::with_capacity(4096);
    for _ in 0..4096 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.push(state.to_le_bytes()[0]);
    }
    assert_rejected(&bytes, "E002");
    let ascii: Vec<u8> = bytes.iter().map(|b| b % 95 + 32).collect();
    assert_rejected(&ascii, "E100");
}

#[test]
fn deep_nesting_does_not_overflow() {
    assert_rejected("[".repeat(200_000).as_bytes(), "E102");
    assert_rejected("{\"a\":".repeat(200_000).as_bytes(), "E102");
    let inside_unknown_key = job_with_code("0").replacen(
        "\"name\": \"x\"",
        &format!(
            "\"deep\": {}1{}, \"name\": \"x\"",
            "[".repeat(5000),
            "]".repeat(5000)
        ),
        1,
    );
    assert_rejected(inside_unknown_key.as_bytes(), "E102");
}

#[test]
fn huge_numbers_and_lone_surrogates() {
    assert_rejected(job_with_code("1e999999").as_bytes(), "E204");
    assert_rejected(
        job_with_code("99999999999999999999999999999").as_bytes(),
        "E205",
    );
    assert_rejected(job_with_code("-0.0").as_bytes(), "E204");
    assert_rejected(
        job_with_code("0")
            .replace("\"x\"", r#""\uDC00""#)
            .as_bytes(),
        "E103",
    );
    assert_rejected(
        job_with_code("0")
            .replace("\"x\"", r#""\uD83D\u0041""#)
            .as_bytes(),
        "E103",
    );
}

/// About 100 MB of tasks with one cycle at the very end: read, parsed, lowered and linted whole.
#[test]
fn a_hundred_megabyte_file() {
    let mut text = String::from(
        r#"{"schema": "iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0", "data": {"name": "big", "tasks": ["#,
    );
    let count = 500_000;
    for i in 0..count {
        let dependency = if i == 0 {
            format!("task {}", count - 1)
        } else {
            format!("task {}", i - 1)
        };
        let _ = write!(
            text,
            r#"{{"name": "task {i}", "executor": "shell", "command": "echo", "arguments": ["{i}", "a longer argument to make the file large"], "dependsOn": ["{dependency}"], "onResult": {{"terminateJobWithSuccess": [], "continueJob": [0]}}}},"#
        );
    }
    text.pop();
    text.push_str("]}}");
    assert!(text.len() > 100_000_000, "{}", text.len());
    let run = check_text(text.as_bytes());
    assert_only_the_long_cycle(&run);
}

/// The DSL has no nesting to overflow, and no line or file length that it cannot read.
#[test]
fn dsl_hostile_input() {
    let dsl = |bytes: &[u8], code: &str| assert_file_rejected("hostile.factotum", bytes, code);
    dsl(b"", "E603");
    dsl("task \"a\" {".repeat(200_000).as_bytes(), "E600");
    dsl("{".repeat(200_000).as_bytes(), "E600");
    dsl(
        format!("job \"{}", "x".repeat(10_000_000)).as_bytes(),
        "E600",
    );
    dsl(
        format!("job \"{}\"", "\\q".repeat(1_000_000)).as_bytes(),
        "E601",
    );
    dsl(
        b"job \"j\" task \"t\" { run \"x\" continue on 99999999999999999999999 }",
        "E205",
    );
    dsl(b"job \"\\u{110000}\"", "E601");
    dsl(b"job \"j\"\0", "E600");
}

/// About 100 MB of DSL (as many tasks as the JSON one, with longer arguments) with one cycle
/// at the very end.
#[test]
fn a_hundred_megabyte_dsl_file() {
    let count = 500_000;
    let long = "a longer argument to make the file large: ".repeat(3);
    let mut text = String::from("job \"big\"\n");
    for i in 0..count {
        let dependency = (i + count - 1) % count;
        let _ = writeln!(
            text,
            "task \"task {i}\" {{\n    after \"task {dependency}\"\n    run \"echo\" with \"{i}\", \"{long}\"\n}}"
        );
    }
    assert!(text.len() > 100_000_000, "{}", text.len());
    let run = check_file("big.factotum", text.as_bytes());
    assert_only_the_long_cycle(&run);
}

/// The big files close one cycle through every task with their last dependency: that cycle
/// is the only problem, found after reading the whole file.
fn assert_only_the_long_cycle(run: &crate::test::Run) {
    assert_eq!(run.status, 1, "{}", run.transcript());
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("error[E403]: dependency cycle `task 0 -> task 1 -> task 2"),
        "{}",
        &run.stdout[..200.min(run.stdout.len())]
    );
}

/// A file past the 4 GiB limit is refused from its size alone: the sparse file below takes no
/// disk and, as nothing of it is read, no memory.
#[test]
fn a_file_over_four_gibibytes_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.factfile");
    let huge = std::fs::File::create(&path).unwrap();
    huge.set_len(u64::from(u32::MAX) + 1).unwrap();
    let run = Test::new().arg("check").arg(&path).run();
    assert_eq!(run.status, 1, "{}", run.transcript());
    let refused = format!(
        "error[E003]: {}: the file is too large (4294967296 bytes; at most 4 GiB can be checked)\n",
        path.display()
    );
    assert!(run.stdout.starts_with(&refused), "{}", run.transcript());
}

/// The same file as standard input is measured the same way.
#[test]
fn standard_input_over_four_gibibytes_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.factfile");
    let huge = std::fs::File::create(&path).unwrap();
    huge.set_len(u64::from(u32::MAX) + 1).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_factotum"))
        .args(["check", "-"])
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with(
            "error[E003]: <stdin>: the file is too large (4294967296 bytes; at most 4 GiB can be checked)\n"
        ),
        "{stdout}"
    );
}

/// An endless device is read only up to the 4 GiB limit and refused with E003. Under a 6 GB
/// address-space limit, a reader that went on (as 0.1.0's did, until memory ran out) fails to
/// grow its buffer instead. This holds about 4 GiB while it runs.
#[test]
fn an_endless_device_stops_at_the_limit() {
    let output = std::process::Command::new("sh")
        .args([
            "-c",
            "ulimit -v 6000000 && exec \"$0\" check --format short /dev/zero",
        ])
        .arg(env!("CARGO_BIN_EXE_factotum"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert_eq!(
        stdout,
        "/dev/zero: error[E003]: the file is too large (it goes on past 4 GiB, the most that can be checked)\n"
    );
}
