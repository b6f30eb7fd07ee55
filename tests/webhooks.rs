//! Webhooks against a real HTTP server on 127.0.0.1: 0.7's payloads, validated against its
//! schemas, in 0.7's order, and endpoints that fail, hang or refuse never hold a run hostage.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::test::{Run, T, data_0_7, job, manifest_dir, samples_0_7, without_run_line};

const SECRET_VARIABLE: &str = "FACTOTUM_WEBHOOK_SECRET";

/// How the test endpoint answers.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    Never,
}

/// A one-purpose HTTP/1.1 endpoint recording the JSON body of each POST.
struct Endpoint {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Endpoint {
    fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let recorded = Arc::clone(&recorded);
                std::thread::spawn(move || serve(&stream, answer, &recorded));
            }
        });
        Self { url, bodies }
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

fn serve(stream: &TcpStream, answer: Answer, recorded: &Mutex<Vec<Value>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut length = 0usize;
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        assert!(
            request_line.starts_with("POST /events HTTP/1.1"),
            "{request_line}"
        );
        let mut content_type = String::new();
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "content-type" => value.trim().clone_into(&mut content_type),
                _ => {}
            }
        }
        assert_eq!(content_type, "application/json; charset=utf-8");
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        recorded
            .lock()
            .unwrap()
            .push(serde_json::from_slice(&body).expect("a JSON body"));
        match answer {
            Answer::Status(status) => {
                let reply = format!("HTTP/1.1 {status} Whatever\r\nContent-Length: 0\r\n\r\n");
                if (&*stream).write_all(reply.as_bytes()).is_err() {
                    return;
                }
            }
            Answer::Never => {
                std::thread::sleep(Duration::from_secs(120));
                return;
            }
        }
    }
}

/// Runs factotum with a safety bound, so a hang fails the test instead of stalling it.
fn factotum(dir: &Path, args: &[&str]) -> Run {
    factotum_with_secret(dir, args, None)
}

/// [`factotum`] with `FACTOTUM_WEBHOOK_SECRET` set to `secret`, or unset.
fn factotum_with_secret(dir: &Path, args: &[&str], secret: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_factotum"));
    match secret {
        Some(secret) => command.env(SECRET_VARIABLE, secret),
        None => command.env_remove(SECRET_VARIABLE),
    };
    let mut child = command
        .arg("run")
        .args(args)
        .current_dir(dir)
        .env("XDG_STATE_HOME", dir)
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "factotum hung on its webhook");
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let (stderr, recorded_as) = without_run_line(&String::from_utf8(output.stderr).unwrap());
    Run {
        status: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr,
        recorded_as,
    }
}

fn validators() -> (jsonschema::Validator, jsonschema::Validator) {
    let load = |file: &str| {
        let path = data_0_7().join("tests-resources/job_update").join(file);
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    };
    (
        load("job_transition_self_desc.json"),
        load("task_transition_self_desc.json"),
    )
}

/// Checks every event against 0.7's schema for its kind.
fn assert_valid(bodies: &[Value]) {
    let (job_update, task_update) = validators();
    for body in bodies {
        let validator = if body["data"].get("jobTransition").is_some() {
            &job_update
        } else {
            &task_update
        };
        let errors: Vec<String> = validator.iter_errors(body).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?} in {body}");
    }
}

/// Each event as `kind: transitions`, e.g. `job: null->WAITING` or `task: a WAITING->RUNNING`.
fn sequence(bodies: &[Value]) -> Vec<String> {
    bodies
        .iter()
        .map(|body| {
            let data = &body["data"];
            if let Some(t) = data.get("jobTransition") {
                return format!(
                    "job: {}->{}",
                    t["previousState"].as_str().unwrap_or("null"),
                    t["currentState"].as_str().unwrap()
                );
            }
            let transitions: Vec<String> = data["taskTransitions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    format!(
                        "{} {}->{}",
                        t["taskName"].as_str().unwrap(),
                        t["previousState"].as_str().unwrap(),
                        t["currentState"].as_str().unwrap()
                    )
                })
                .collect();
            format!("task: {}", transitions.join(", "))
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[test]
fn events_match_0_7_and_its_schemas() {
    let endpoint = Endpoint::start(Answer::Status(200));
    let dir = tempfile::tempdir().unwrap();
    let job = data_0_7().join("edge-cases/exitcodes.factfile");
    let run = factotum(
        dir.path(),
        &[
            job.to_str().unwrap(),
            "--webhook",
            &endpoint.url,
            "-j",
            "1",
            "--tag",
            "env,prod",
        ],
    );
    assert_eq!(
        run.status, 2,
        "webhooks do not change the exit code: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .ends_with("Waiting for webhook to finish sending events... done!\n"),
        "{}",
        run.stdout
    );
    let bodies = endpoint.bodies();
    // One task at a time, in file order, makes the sequence deterministic.
    assert_eq!(
        sequence(&bodies),
        [
            "job: null->WAITING",
            "job: WAITING->RUNNING",
            "task: ok WAITING->RUNNING",
            "task: ok RUNNING->SUCCEEDED",
            "task: term WAITING->RUNNING",
            "task: term RUNNING->SUCCEEDED_NO_OP, after_term WAITING->SKIPPED",
            "task: fail WAITING->RUNNING",
            "task: fail RUNNING->FAILED, after_fail WAITING->SKIPPED",
            "task: after_ok WAITING->RUNNING",
            "task: after_ok RUNNING->SUCCEEDED",
            "job: RUNNING->FAILED",
        ]
    );
    assert_valid(&bodies);
    let mut broken = bodies[0].clone();
    broken["data"]["taskStates"][0]["state"] = "DONE".into();
    assert!(
        !validators().0.is_valid(&broken),
        "the schema check is live"
    );
    let last = &bodies[bodies.len() - 1]["data"];
    assert_eq!(last["runState"], "FAILED");
    assert_eq!(last["tags"], serde_json::json!({"env": "prod"}));
    assert_eq!(last["applicationContext"]["name"], "factotum");
    let states: Vec<(&str, &str)> = last["taskStates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["taskName"].as_str().unwrap(),
                s["state"].as_str().unwrap(),
            )
        })
        .collect();
    // 0.7's plan order: tiers, latest-defined first.
    assert_eq!(
        states,
        [
            ("fail", "FAILED"),
            ("term", "SUCCEEDED_NO_OP"),
            ("ok", "SUCCEEDED"),
            ("after_fail", "SKIPPED"),
            ("after_term", "SKIPPED"),
            ("after_ok", "SUCCEEDED")
        ]
    );
    let fail = &last["taskStates"][0];
    assert_eq!(fail["returnCode"], 4);
    assert!(
        fail["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("the task exited with a value not specified in continue_job - 4")
    );
    assert_eq!(
        last["taskStates"][3]["errorMessage"],
        "the task 'fail' failed"
    );
    assert_eq!(last["taskStates"][5]["stdout"], "z");
    assert!(
        last["taskStates"][0].get("stdout").is_none(),
        "no output, no key"
    );
}

#[test]
fn factfile_and_references_can_be_recomputed() {
    let endpoint = Endpoint::start(Answer::Status(200));
    let dir = tempfile::tempdir().unwrap();
    let job = data_0_7().join("edge-cases/exitcodes.factfile");
    let tags = ["--tag", "env,prod", "--tag", "the rain,first,, wow,,"];
    let run = factotum(
        dir.path(),
        &[
            &[job.to_str().unwrap(), "--webhook", &endpoint.url][..],
            &tags[..],
        ]
        .concat(),
    );
    assert_eq!(run.status, 2);
    let bodies = endpoint.bodies();
    let last = &bodies[bodies.len() - 1]["data"];
    let factfile = base64::engine::general_purpose::STANDARD
        .decode(last["factfile"].as_str().unwrap())
        .unwrap();
    let factfile = String::from_utf8(factfile).unwrap();
    assert!(factfile.starts_with(r#"{"schema":"iglu:com.snowplowanalytics.factotum/factfile/jsonschema/1-0-0","data":{"name":"edge","tasks":[{"name":"ok","executor":"shell","command":"true","arguments":[],"dependsOn":[],"onResult":{"terminateJobWithSuccess":[],"continueJob":[0]}},"#), "{factfile}");
    let original: Value = serde_json::from_str(&std::fs::read_to_string(&job).unwrap()).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&factfile).unwrap(), original);
    assert_eq!(
        last["tags"],
        serde_json::json!({"env": "prod", "the rain": "first wow"})
    );
    let expected_reference = sha256_hex(format!("{factfile}envprodthe rainfirst wow").as_bytes());
    assert_eq!(last["jobReference"], expected_reference.as_str());
    let run_reference = last["runReference"].as_str().unwrap();
    assert_eq!(run_reference.len(), 64);
    assert!(
        bodies
            .iter()
            .all(|b| b["data"]["runReference"] == run_reference
                && b["data"]["jobReference"] == expected_reference.as_str())
    );

    let again = Endpoint::start(Answer::Status(204));
    let rerun = factotum(
        dir.path(),
        &[
            job.to_str().unwrap(),
            "--webhook",
            &again.url,
            "--tag",
            "env,prod",
            "--tag",
            "the rain,first,, wow,,",
        ],
    );
    assert!(
        rerun.stdout.ends_with("done!\n"),
        "any 2xx is success: {}",
        rerun.stdout
    );
    let second = again.bodies();
    assert_eq!(
        second[0]["data"]["jobReference"],
        expected_reference.as_str(),
        "same job, env and tags"
    );
    assert_ne!(
        second[0]["data"]["runReference"], run_reference,
        "a new run"
    );
}

#[test]
fn heartbeats_carry_running_tasks_and_their_output() {
    let endpoint = Endpoint::start(Answer::Status(200));
    let dir = tempfile::tempdir().unwrap();
    // The task prints `one`, then waits (a minute at most) until the test has seen two
    // heartbeats carrying it: how many beats come never depends on how fast the machine is.
    let slow = "echo one; i=0; until [ -e release ]; do i=$((i+1)); [ $i -le 600 ] || exit 1; sleep 0.1; done; echo two";
    let path = job(dir.path(), "slow.factfile", &[T("slow", slow, &[], &[])]);
    let is_beat =
        |body: &Value| sequence(std::slice::from_ref(body))[0] == "task: slow RUNNING->RUNNING";
    let beats_with_output = || {
        endpoint
            .bodies()
            .iter()
            .filter(|body| is_beat(body) && body["data"]["taskStates"][0]["stdout"] == "one")
            .count()
    };
    let run = std::thread::scope(|scope| {
        let running = scope.spawn(|| {
            factotum(
                dir.path(),
                &[
                    path.to_str().unwrap(),
                    "--webhook",
                    &endpoint.url,
                    "--heartbeat-interval",
                    "1",
                ],
            )
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        while beats_with_output() < 2 {
            assert!(
                Instant::now() < deadline,
                "no two heartbeats with the output so far: {:?}",
                sequence(&endpoint.bodies())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::fs::write(dir.path().join("release"), "").unwrap();
        running.join().unwrap()
    });
    assert_eq!(run.status, 0, "{}", run.transcript());
    let bodies = endpoint.bodies();
    let events = sequence(&bodies);
    let beats: Vec<&Value> = bodies.iter().filter(|body| is_beat(body)).collect();
    assert!(beats.len() >= 2, "{events:?}");
    for beat in &beats {
        let running = &beat["data"]["taskStates"][0];
        assert_eq!(running["state"], "RUNNING");
        assert!(
            running["stdout"]
                .as_str()
                .is_some_and(|so_far| "one".starts_with(so_far)),
            "cumulative output so far: {running}"
        );
    }
    assert_eq!(events.last().unwrap(), "job: RUNNING->SUCCEEDED");
    let finished = &bodies[bodies.len() - 2]["data"]["taskStates"][0];
    assert_eq!(finished["stdout"], "one\ntwo");
    assert_valid(&bodies);
    let zero = factotum(
        dir.path(),
        &[
            path.to_str().unwrap(),
            "--webhook",
            &endpoint.url,
            "--heartbeat-interval",
            "0",
        ],
    );
    assert_eq!(zero.status, 3, "0 would flood the endpoint");
}

#[test]
fn output_tails_are_cut_to_the_limit_in_characters() {
    let endpoint = Endpoint::start(Answer::Status(200));
    let dir = tempfile::tempdir().unwrap();
    let path = job(
        dir.path(),
        "seq.factfile",
        &[T("seq", "seq 1 5000", &[], &[])],
    );
    let run = factotum(
        dir.path(),
        &[
            path.to_str().unwrap(),
            "--webhook",
            &endpoint.url,
            "--max-stdouterr-size",
            "20",
        ],
    );
    assert_eq!(run.status, 0);
    let bodies = endpoint.bodies();
    assert_eq!(
        bodies[bodies.len() - 1]["data"]["taskStates"][0]["stdout"],
        "\n4997\n4998\n4999\n5000"
    );
}

#[test]
fn bad_urls_and_dry_runs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let echo = samples_0_7().join("echo.factfile");
    let echo = echo.to_str().unwrap();
    let ftp = factotum(dir.path(), &[echo, "--webhook", "ftp://example"]);
    assert_eq!(ftp.status, 3);
    assert_eq!(
        ftp.stdout,
        "Error: the specifed webhook URL \"ftp://example\" is invalid. Reason: URL must begin with 'http://' or 'https://' to be used with Factotum webhooks\n"
    );
    let empty = factotum(dir.path(), &[echo, "--webhook", "http://"]);
    assert_eq!(
        empty.stdout,
        "Error: the specifed webhook URL \"http://\" is invalid. Reason: empty host\n"
    );
    let dry = factotum(
        dir.path(),
        &[echo, "--webhook", "http://127.0.0.1:9/", "--dry-run"],
    );
    assert_eq!(dry.status, 3);
    assert_eq!(
        dry.stdout,
        "Error: --webhook cannot be used with the --dry-run option\n"
    );
}

#[test]
fn failing_endpoints_never_change_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let echo = samples_0_7().join("echo.factfile");
    let echo = echo.to_str().unwrap();
    let failing = Endpoint::start(Answer::Status(500));
    let run = factotum(
        dir.path(),
        &[echo, "--webhook", &failing.url, "--webhook-timeout", "2"],
    );
    assert_eq!(run.status, 0);
    assert!(
        run.stdout
            .contains("[echo omega] and omega!\n3/3 tasks run in"),
        "tasks are not held up: {}",
        run.stdout
    );
    assert!(run.stdout.ends_with("Waiting for webhook to finish sending events... done!\nWarning: some events failed to send\n"), "{}", run.stdout);
    let events = 9;
    assert_eq!(
        failing.bodies().len(),
        3 * events,
        "three attempts each, no more"
    );

    let silent = Endpoint::start(Answer::Never);
    let run = factotum(
        dir.path(),
        &[
            echo,
            "--webhook",
            &silent.url,
            "--webhook-timeout",
            "1",
            "--webhook-drain",
            "3",
        ],
    );
    assert_eq!(run.status, 0);
    assert!(run.stdout.contains("3/3 tasks run in"), "{}", run.stdout);
    assert!(run.stdout.ends_with("Waiting for webhook to finish sending events... gave up after 3s\nWarning: some events failed to send\n"), "{}", run.stdout);

    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let refused_url = format!("http://{}/events", closed.local_addr().unwrap());
    drop(closed);
    let failing_job = data_0_7().join("edge-cases/noargs.factfile");
    let run = factotum(
        dir.path(),
        &[failing_job.to_str().unwrap(), "--webhook", &refused_url],
    );
    assert_eq!(run.status, 2, "a failed task still exits 2");
    assert!(
        run.stdout
            .ends_with("Warning: some events failed to send\n"),
        "{}",
        run.stdout
    );
}

/// The webhook's closing lines fail on a full standard output, but the run still waits for
/// every event to be delivered, and reports the output failure once.
#[test]
fn events_are_all_sent_when_stdout_cannot_be_written() {
    let endpoint = Endpoint::start(Answer::Status(200));
    let dir = tempfile::tempdir().unwrap();
    let echo = samples_0_7().join("echo.factfile");
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_factotum"))
        .args(["run", echo.to_str().unwrap(), "--webhook", &endpoint.url])
        .current_dir(dir.path())
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert_eq!(
        stderr.matches("cannot write to standard output").count(),
        1,
        "{stderr}"
    );
    assert_eq!(endpoint.bodies().len(), 9, "every event was sent");
}

#[test]
fn a_resumed_run_reports_like_any_run_and_names_the_run_it_resumes() {
    let endpoint = Endpoint::start(Answer::Status(200));
    let dir = tempfile::tempdir().unwrap();
    let path = job(
        dir.path(),
        "gate.factfile",
        &[
            T("first", "true", &[], &[]),
            T("gate", "test", &["-f", "open"], &["first"]),
        ],
    );
    let path = path.to_str().unwrap();
    let failed = factotum(dir.path(), &[path, "--webhook", &endpoint.url]);
    assert_eq!(failed.status, 2, "{}", failed.stdout);
    let first = failed.recorded_as.unwrap();
    std::fs::write(dir.path().join("open"), "").unwrap();
    let before = endpoint.bodies().len();
    let resumed = factotum(dir.path(), &[path, "--resume", "--webhook", &endpoint.url]);
    assert_eq!(resumed.status, 0, "{}", resumed.stdout);
    let bodies = endpoint.bodies()[before..].to_vec();
    assert_valid(&bodies);
    let last = bodies.last().unwrap();
    assert_eq!(last["data"]["tags"], serde_json::json!({"resumes": first}));
    assert_eq!(
        sequence(&bodies),
        [
            "job: null->WAITING",
            "job: WAITING->RUNNING",
            "task: gate WAITING->RUNNING",
            "task: gate RUNNING->SUCCEEDED",
            "job: RUNNING->SUCCEEDED",
        ]
    );
}

#[test]
fn a_run_skipped_for_its_run_once_key_sends_nothing() {
    let endpoint = Endpoint::start(Answer::Status(200));
    let dir = tempfile::tempdir().unwrap();
    let path = job(dir.path(), "once.factfile", &[T("only", "true", &[], &[])]);
    let path = path.to_str().unwrap();
    let first = factotum(
        dir.path(),
        &[path, "--once", "k", "--webhook", &endpoint.url],
    );
    assert_eq!(first.status, 0, "{}", first.stdout);
    let sent = endpoint.bodies().len();
    assert!(sent > 0);
    let skipped = factotum(
        dir.path(),
        &[path, "--once", "k", "--webhook", &endpoint.url],
    );
    assert_eq!(skipped.status, 0, "{}", skipped.stdout);
    assert!(
        skipped
            .stdout
            .starts_with("Warn: the run-once key \"k\" already succeeded"),
        "{}",
        skipped.stdout
    );
    assert_eq!(endpoint.bodies().len(), sent);
}

/// `tests/webhook_receiver.py`, running: a receiver that checks signatures with Python's `hmac`.
struct PythonReceiver {
    url: String,
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

/// One request as the Python receiver saw it.
struct Received {
    /// Header names in lower case, and their values.
    headers: BTreeMap<String, String>,
    body: String,
    /// Python's verdict on the signature; `None` when the receiver has no secret.
    signature_valid: Option<bool>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

impl PythonReceiver {
    /// Starts the receiver with `secret` (none: it checks nothing); with `fail_first`, it
    /// answers the first request 503.
    fn start(secret: Option<&str>, fail_first: bool) -> Self {
        let script = manifest_dir().join("tests/webhook_receiver.py");
        let mut command = Command::new("python3");
        command
            .arg(&script)
            .env("RECEIVER_FAIL_FIRST", if fail_first { "1" } else { "0" })
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        match secret {
            Some(secret) => command.env("RECEIVER_SECRET", secret),
            None => command.env_remove("RECEIVER_SECRET"),
        };
        let mut child = command.spawn().unwrap_or_else(|error| {
            panic!("cannot start python3 ({error}): the webhook signature tests need it; .ci/run installs it")
        });
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the receiver prints its port within a minute");
        let port = serde_json::from_str::<Value>(&first).unwrap()["port"]
            .as_u64()
            .unwrap();
        Self {
            url: format!("http://127.0.0.1:{port}/events"),
            child,
            lines,
        }
    }

    /// Stops the receiver and returns every request it recorded. Each record is printed before
    /// the answer goes out, so after a run has drained, every request of it is in the pipe.
    fn stop(mut self) -> Vec<Received> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut received = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let record: Value = serde_json::from_str(&line).unwrap();
                    received.push(Received {
                        headers: serde_json::from_value(record["headers"].clone()).unwrap(),
                        body: record["body"].as_str().unwrap().to_owned(),
                        signature_valid: record["signature_valid"].as_bool(),
                    });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return received,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("the receiver's output never ended"),
            }
        }
    }
}

/// Posts `body` to `url` with a wrong signature, as a forger would.
fn post_forged(url: &str, body: &str) {
    let address = url.trim_start_matches("http://").split('/').next().unwrap();
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let forged = format!("sha256={}", "0".repeat(64));
    write!(
        stream,
        "POST /events HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nX-Factotum-Signature-256: {forged}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
}

/// Every event of a run, the retried one too, carries a signature that Python's `hmac`
/// verifies over the exact bytes received, a User-Agent naming factotum's version, and an
/// event id that is the same on every attempt and different for every event and every run.
#[test]
fn signed_events_verify_with_pythons_hmac_and_a_retry_keeps_its_id() {
    // Longer than SHA-256's 64-byte block (so the key is hashed first) and not ASCII.
    let secret = "correct horse battery staple, ünïcödé and a key longer than one hash block";
    assert!(secret.len() > 64);
    let dir = tempfile::tempdir().unwrap();
    let job = data_0_7().join("edge-cases/exitcodes.factfile");
    let run_once = |fail_first: bool| {
        let receiver = PythonReceiver::start(Some(secret), fail_first);
        let run = factotum_with_secret(
            dir.path(),
            &[
                job.to_str().unwrap(),
                "--webhook",
                &receiver.url,
                "-j",
                "1",
                "--tag",
                "env,prød ☃",
            ],
            Some(secret),
        );
        assert_eq!(run.status, 2, "{}", run.stdout);
        assert!(
            run.stdout
                .ends_with("Waiting for webhook to finish sending events... done!\n"),
            "the retried event got through: {}",
            run.stdout
        );
        post_forged(&receiver.url, "{}");
        let mut requests = receiver.stop();
        let forged = requests.pop().expect("the forged request was recorded");
        assert_eq!(
            forged.signature_valid,
            Some(false),
            "the receiver's check is live"
        );
        requests
    };

    let received = run_once(true);
    // exitcodes.factfile, one task at a time: 11 events, the first posted twice.
    assert_eq!(received.len(), 12);
    for request in &received {
        assert_eq!(request.signature_valid, Some(true), "{}", request.body);
        assert_eq!(
            request.header("user-agent"),
            concat!("factotum/", env!("CARGO_PKG_VERSION"))
        );
        assert!(request.body.contains("prød ☃"), "UTF-8 in the body as sent");
    }
    let ids: Vec<&str> = received
        .iter()
        .map(|request| request.header("x-factotum-event-id"))
        .collect();
    assert_eq!(ids[0], ids[1], "a retry carries its event's id");
    assert_eq!(received[0].body, received[1].body, "and its body");
    let distinct: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), 11, "one id per event: {ids:?}");
    let bodies: Vec<Value> = received[1..]
        .iter()
        .map(|request| serde_json::from_str(&request.body).unwrap())
        .collect();
    assert_eq!(sequence(&bodies).len(), 11);
    assert_valid(&bodies);

    let again = run_once(false);
    assert_eq!(again.len(), 11);
    assert!(
        again
            .iter()
            .all(|request| request.signature_valid == Some(true)
                && !distinct.contains(request.header("x-factotum-event-id"))),
        "another run, other ids"
    );
}

/// Without a secret, or with an empty one, requests carry no signature and nothing else that
/// a signed request lacks: only the event id and the User-Agent are always there.
#[test]
fn the_signature_header_is_sent_only_with_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = job(dir.path(), "one.factfile", &[T("one", "true", &[], &[])]);
    let header_names = |secret: Option<&str>| {
        let receiver = PythonReceiver::start(None, false);
        let run = factotum_with_secret(
            dir.path(),
            &[path.to_str().unwrap(), "--webhook", &receiver.url],
            secret,
        );
        assert_eq!(run.status, 0, "{}", run.stdout);
        let requests = receiver.stop();
        assert_eq!(
            requests.len(),
            5,
            "{:?}",
            requests.iter().map(|r| &r.body).collect::<Vec<_>>()
        );
        let names: Vec<BTreeSet<String>> = requests
            .iter()
            .map(|request| request.headers.keys().cloned().collect())
            .collect();
        assert!(names.windows(2).all(|pair| pair[0] == pair[1]), "{names:?}");
        names[0].clone()
    };
    let signed = header_names(Some("s3cret"));
    assert!(signed.contains("x-factotum-signature-256"), "{signed:?}");
    let mut expected_unsigned = signed.clone();
    expected_unsigned.remove("x-factotum-signature-256");
    assert!(expected_unsigned.contains("x-factotum-event-id"));
    assert!(expected_unsigned.contains("user-agent"));
    assert_eq!(header_names(None), expected_unsigned);
    assert_eq!(header_names(Some("")), expected_unsigned, "empty is unset");
}

/// The README's way for a receiver to verify is the function the receiver above runs.
#[test]
fn the_readme_shows_the_verification_the_tests_run() {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).unwrap();
    let section = readme
        .split_once("**Verifying webhook signatures.**")
        .expect("the README's section on verifying signatures")
        .1;
    let function = section
        .split_once("```python\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a Python block in that section")
        .0;
    let function = &function[function
        .find("def signature_is_valid")
        .expect("the function")..];
    let receiver =
        std::fs::read_to_string(manifest_dir().join("tests/webhook_receiver.py")).unwrap();
    assert!(
        receiver.contains(function),
        "the README's function differs from tests/webhook_receiver.py's:\n{function}"
    );
}

/// A retried task is one task to the webhook: it runs once from WAITING to its final state,
/// and 0.7's schemas still hold. They allow no property beyond 0.7's in a task's state, so
/// the attempt count is only in the failure's `errorMessage`.
#[test]
fn a_retried_task_reports_its_final_outcome_in_0_7_s_shape() {
    use crate::options::{flaky, options_job, task};
    use serde_json::json;

    let endpoint = Endpoint::start(Answer::Status(200));
    let dir = tempfile::tempdir().unwrap();
    let tasks = vec![
        task(
            dir.path(),
            "flaky",
            &flaky("flaky-times", 2, 1),
            &[],
            json!({"retry": {"attempts": 2}}),
        ),
        task(
            dir.path(),
            "doomed",
            &flaky("doomed-times", 0, 1),
            &["flaky"],
            json!({"retry": {"attempts": 2}}),
        ),
    ];
    let path = options_job(dir.path(), "retried.factfile", &tasks, json!({}));
    let run = factotum(
        dir.path(),
        &[path.to_str().unwrap(), "--webhook", &endpoint.url],
    );
    assert_eq!(run.status, 2, "{}", run.stdout);
    let bodies = endpoint.bodies();
    assert_eq!(
        sequence(&bodies),
        [
            "job: null->WAITING",
            "job: WAITING->RUNNING",
            "task: flaky WAITING->RUNNING",
            "task: flaky RUNNING->SUCCEEDED",
            "task: doomed WAITING->RUNNING",
            "task: doomed RUNNING->FAILED",
            "job: RUNNING->FAILED",
        ]
    );
    assert_valid(&bodies);
    let last = &bodies[bodies.len() - 1]["data"];
    let doomed = &last["taskStates"][1];
    assert_eq!(doomed["taskName"], "doomed");
    assert_eq!(doomed["returnCode"], 1);
    assert!(
        doomed["errorMessage"]
            .as_str()
            .is_some_and(|message| message.ends_with("(attempt 2 of 2)")),
        "{doomed}"
    );
}
