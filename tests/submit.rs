//! `factotum submit --to airflow` against a real Airflow: an API server, a scheduler and a DAG
//! processor started here, on SQLite with the local executor, listening on 127.0.0.1 only.
//! Jobs are exported into its DAGs folder with `factotum export --defer-env`, submitted with
//! `--follow`, and what `submit` prints must tell the same story as factotum's own run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use crate::engines::{Outcome, Scenario, factotum_outcome, scenarios};
use crate::test::{Run, Test};

/// The API user the test server knows, and its password.
const USER: &str = "factotum";
const PASSWORD: &str = "pw-for-the-test-server";

/// How long Airflow may take to start and parse the exported DAGs.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long one followed run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);
/// One shell holds the three servers in one process group (their workers too), so that one
/// signal stops them all.
const SERVERS: &str = r#"airflow=$1 port=$2
"$airflow" api-server --host 127.0.0.1 --port "$port" >api-server.log 2>&1 &
"$airflow" scheduler >scheduler.log 2>&1 &
"$airflow" dag-processor >dag-processor.log 2>&1 &
wait"#;

/// The scenarios submitted: every task succeeds; a task fails beside an independent branch;
/// variables given at run time, as the run's `conf`.
fn submitted() -> Vec<Scenario> {
    scenarios()
        .into_iter()
        .filter(|scenario| scenario.start.is_none())
        .filter(|scenario| match scenario.file {
            "all-succeed.factotum" | "failure-independent.factotum" => true,
            "placeholders.factotum" => scenario.deferred,
            _ => false,
        })
        .collect()
}

#[test]
fn submit_follows_runs_to_their_end_on_a_real_airflow() {
    let began = Instant::now();
    let napping = tempfile::tempdir().expect("a temporary directory");
    let napping = napping.path().join("napping.factotum");
    std::fs::write(
        &napping,
        "job \"napping\"\ntask \"nap\" { run \"sleep 30\" }\n",
    )
    .expect("the napping job is written");
    let pooled = napping.with_file_name("pooled.factotum");
    std::fs::write(&pooled, POOLED_JOB).expect("the pooled job is written");
    let mut jobs: Vec<PathBuf> = submitted().iter().map(Scenario::path).collect();
    jobs.extend([napping.clone(), pooled.clone()]);
    let airflow = Airflow::start(&jobs);
    let started_in = began.elapsed();

    // Wrong credentials: refused, named, never shown.
    let job = submitted()[0].path();
    let refused = airflow
        .submit(&job)
        .env("AIRFLOW_PASSWORD", "not-the-password")
        .run();
    assert_eq!(refused.status, 3, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("AIRFLOW_USERNAME and AIRFLOW_PASSWORD")
            && !refused.stderr.contains("not-the-password"),
        "{}",
        refused.stderr
    );

    // A job that was not exported: the error says how to export it.
    let missing = airflow
        .submit(&job.with_file_name("early-finish.factotum"))
        .run();
    assert_eq!(missing.status, 3, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("has no DAG `early_finish`")
            && missing.stderr.contains("factotum export"),
        "{}",
        missing.stderr
    );

    // DAGs are paused when Airflow first sees them: without --unpause the run would wait.
    let paused = airflow.submit(&job).run();
    assert_eq!(paused.status, 3, "{}", paused.stderr);
    assert!(
        paused.stderr.contains("is paused") && paused.stderr.contains("--unpause"),
        "{}",
        paused.stderr
    );

    let runs = follow_all(&airflow, submitted());
    for (scenario, run) in &runs {
        let label = scenario.label();
        assert!(
            matches!(run.status, 0 | 2),
            "{label}: submit exited {}:\n{}\n{}",
            run.status,
            run.stderr,
            airflow.logs()
        );
        let stdout: Vec<&str> = run.stdout.lines().collect();
        assert!(
            matches!(stdout.as_slice(), [id, outcome]
                if id.starts_with("factotum__") && outcome.starts_with(&format!("Airflow run {id} "))),
            "{label}: stdout is the run's id, then how it ended:\n{}",
            run.stdout
        );
        assert_eq!(
            outcome_printed(run, &label),
            factotum_outcome(scenario),
            "{label}: what submit printed differs from factotum's own run:\n{}",
            run.stderr
        );
    }
    submit_creates_the_pool_it_lacks(&airflow, &pooled);

    // Airflow gone while a run is followed: submit tries a few more times, then says it
    // stopped following (exit 3).
    let lost = std::thread::scope(|scope| {
        let follower = scope.spawn(|| {
            airflow
                .submit(&napping)
                .args(["--unpause", "--follow"])
                .run()
        });
        let napping = airflow.wait_for_running_task("napping");
        airflow.kill();
        let lost = follower.join().expect("the follower thread ends");
        assert!(napping, "the napping task did not start:\n{}", lost.stderr);
        lost
    });
    assert_eq!(lost.status, 3, "{}", lost.stderr);
    // Whether submit's last poll saw the task start before Airflow went is a race, so the
    // start line may or may not be there; nothing else may be.
    let after_start = lost
        .stderr
        .strip_prefix("Task 'nap' started\n")
        .unwrap_or(&lost.stderr);
    assert!(
        after_start.starts_with("error: cannot reach Airflow at ")
            && after_start.contains("error: stopped following run factotum__"),
        "{}",
        lost.stderr
    );
    drop(airflow);
    // Not asserted (timing never is): the numbers the CI budget is planned with.
    eprintln!(
        "Airflow started in {:.1}s; the whole test took {:.1}s",
        started_in.as_secs_f64(),
        began.elapsed().as_secs_f64()
    );
}

/// A job with a pool, `factotum-test` of 2 tasks.
const POOLED_JOB: &str = "job \"pooled\"\npool \"factotum-test\" size 2\n\
    task \"in the pool\" { run \"true\"  pool \"factotum-test\" }\n";

/// Airflow never schedules a task of a pool it lacks: the first submit of `pooled`
/// ([`POOLED_JOB`]) creates it, with the job's size, and the next finds it.
fn submit_creates_the_pool_it_lacks(airflow: &Airflow, pooled: &Path) {
    for created in [true, false] {
        // Without the pool, the run would wait for ever.
        let run = within_run_timeout(airflow, || {
            airflow.submit(pooled).args(["--unpause", "--follow"]).run()
        });
        assert_eq!(run.status, 0, "{}\n{}", run.stderr, airflow.logs());
        assert_eq!(
            run.stderr
                .contains("Airflow pool `factotum-test` created with 2 slots"),
            created,
            "{}",
            run.stderr
        );
    }
    let agent = agent();
    let token = airflow.token(&agent).expect("a token");
    let pool = get(&agent, &airflow.url, "pools/factotum-test", &token).expect("the pool");
    let pool: serde_json::Value = serde_json::from_str(&pool).expect("a pool in JSON");
    assert_eq!(
        (&pool["slots"], &pool["description"]),
        (
            &serde_json::json!(2),
            &serde_json::json!("factotum job pooled")
        )
    );
}

/// Submits every scenario at once with `--follow`.
fn follow_all(airflow: &Airflow, scenarios: Vec<Scenario>) -> Vec<(Scenario, Run)> {
    within_run_timeout(airflow, || {
        std::thread::scope(|scope| {
            let followers: Vec<_> = scenarios
                .into_iter()
                .map(|scenario| {
                    scope.spawn(move || {
                        let mut submit = airflow
                            .submit(&scenario.path())
                            .args(["--unpause", "--follow"]);
                        if let Some(env) = scenario.env {
                            submit = submit.args(["--env", env]);
                        }
                        (scenario, submit.run())
                    })
                })
                .collect();
            followers
                .into_iter()
                .map(|follower| follower.join().expect("a follower thread ends"))
                .collect()
        })
    })
}

/// What `follow` (submits that follow runs) gives, when it ends within [`RUN_TIMEOUT`];
/// otherwise Airflow is stopped, which `submit` reports (exit 3), and the test fails.
fn within_run_timeout<T>(airflow: &Airflow, follow: impl FnOnce() -> T) -> T {
    let timed_out = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        let (all_ended, ending) = mpsc::channel::<()>();
        let timed_out = &timed_out;
        scope.spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = ending.recv_timeout(RUN_TIMEOUT) {
                timed_out.store(true, Ordering::Relaxed);
                airflow.kill();
            }
        });
        let result = follow();
        drop(all_ended);
        result
    });
    assert!(
        !timed_out.load(Ordering::Relaxed),
        "the runs did not end within {RUN_TIMEOUT:?}:\n{}",
        airflow.logs()
    );
    result
}

#[test]
fn an_unreachable_airflow_is_an_error_naming_it() {
    let port = crate::test::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let run = Test::new()
        .arg("submit")
        .arg(submitted()[0].path())
        .args(["--to", "airflow", "--url", &url])
        .run();
    assert_eq!(run.status, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with(&format!("error: cannot reach Airflow at {url}: ")),
        "{}",
        run.stderr
    );
}

#[test]
fn what_submit_cannot_use_is_refused_before_any_request() {
    // Nothing listens on this port: each refusal comes before a request would.
    let url = format!("http://127.0.0.1:{}", crate::test::free_port());
    let job = submitted()[0].path();
    let submit = || {
        Test::new()
            .arg("submit")
            .args(["--to", "airflow"])
            .env("AIRFLOW_TOKEN", "")
            .env("AIRFLOW_USERNAME", "")
            .env("AIRFLOW_PASSWORD", "")
    };
    let broken = tempfile::tempdir().expect("a temporary directory");
    let broken = broken.path().join("broken.factotum");
    std::fs::write(
        &broken,
        "job \"broken\"\ntask \"a\" { after \"nowhere\"  run \"true\" }\n",
    )
    .expect("the broken job is written");
    let cases: [(&str, Test, i32, &str); 4] = [
        (
            "a job with errors",
            submit().arg(&broken).args(["--url", &url]),
            1,
            "nowhere",
        ),
        (
            "credentials in the URL",
            submit()
                .arg(&job)
                .args(["--url", "http://someone:s3cret@127.0.0.1:1"]),
            3,
            "error: `--url`: credentials do not go in the URL",
        ),
        (
            "a URL that is not HTTP",
            submit().arg(&job).args(["--url", "ftp://127.0.0.1"]),
            3,
            "is not an http:// or https:// URL",
        ),
        (
            "a user without a password",
            submit()
                .arg(&job)
                .args(["--url", &url])
                .env("AIRFLOW_USERNAME", USER),
            3,
            "error: AIRFLOW_USERNAME is set but AIRFLOW_PASSWORD is not",
        ),
    ];
    for (case, test, status, message) in cases {
        let run = test.run();
        assert_eq!(run.status, status, "{case}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{case}: {}", run.stderr);
        assert!(!run.stderr.contains("s3cret"), "{case}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{case}");
    }
}

/// The outcome `submit --follow` printed: the exit code, and each task's last word from the
/// lines `Task 'NAME' WORD`. A task that ran has its `started` line before its end; a skipped
/// task never started.
fn outcome_printed(run: &Run, label: &str) -> Outcome {
    let mut started = Vec::new();
    let mut tasks = BTreeMap::new();
    for line in run.stderr.lines() {
        let Some((name, word)) = line
            .strip_prefix("Task '")
            .and_then(|rest| rest.rsplit_once("' "))
        else {
            continue;
        };
        if word == "started" {
            assert!(
                !tasks.contains_key(name),
                "{label}: '{name}' started after it ended:\n{}",
                run.stderr
            );
            started.push(name.to_owned());
        } else {
            let ran = started.iter().any(|task| task == name);
            assert_eq!(
                ran,
                word != "skipped",
                "{label}: '{name}' {word}, but its start was {}printed:\n{}",
                if ran { "" } else { "not " },
                run.stderr
            );
            let previous = tasks.insert(name.to_owned(), word.to_owned());
            assert!(
                previous.is_none(),
                "{label}: '{name}' ended twice:\n{}",
                run.stderr
            );
        }
    }
    Outcome {
        succeeded: run.status == 0,
        tasks,
    }
}

/// A throw-away Airflow, stopped and removed when dropped (or by its watchdog, when this
/// process ends first).
struct Airflow {
    url: String,
    home: PathBuf,
    servers: Child,
}

impl Airflow {
    /// Exports `jobs` into a new DAGs folder, starts Airflow on it, and waits until its API
    /// lists as many DAGs.
    fn start(jobs: &[PathBuf]) -> Self {
        let bin = crate::airflow::venv().join("bin");
        let home = tempfile::Builder::new()
            .prefix("factotum-airflow-")
            .tempdir()
            .expect("a temporary AIRFLOW_HOME")
            .keep();
        let dags = home.join("dags");
        std::fs::create_dir(&dags).expect("the DAGs folder");
        for job in jobs {
            export(job, &dags);
        }
        std::fs::write(
            home.join("passwords.json"),
            format!(r#"{{"{USER}": "{PASSWORD}"}}"#),
        )
        .expect("the passwords file");
        let port = crate::test::free_port();
        let url = format!("http://127.0.0.1:{port}");
        let configure = |command: &mut Command| {
            configure(command, &home, &url, port);
        };

        let mut migrate = Command::new(bin.join("airflow"));
        configure(&mut migrate);
        let migrated = migrate
            .args(["db", "migrate"])
            .stdin(Stdio::null())
            .output()
            .expect("airflow db migrate runs");
        assert!(
            migrated.status.success(),
            "airflow db migrate failed:\n{}",
            String::from_utf8_lossy(&migrated.stderr)
        );

        let mut servers = Command::new("sh");
        configure(&mut servers);
        let servers = servers
            .args(["-c", SERVERS, "airflow"])
            .arg(bin.join("airflow"))
            .arg(port.to_string())
            .current_dir(&home)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("Airflow's servers start");
        // Once the test process has gone: the servers' process group and the tasks (as
        // `Airflow::kill` does) killed and `home` removed, unless `home` is gone already: then
        // the test stopped the servers itself, and the group's number may be another's now.
        let cleanup = r#"home=$1 group=$2
[ -d "$home" ] || exit 0
kill -KILL "-$group" 2>/dev/null
for environment in /proc/[0-9]*/environ; do
    if tr '\0' '\n' <"$environment" 2>/dev/null | grep -qxF "AIRFLOW_HOME=$home"; then
        task=${environment#/proc/}
        kill -KILL "${task%/environ}" 2>/dev/null
    fi
done
rm -rf "$home""#;
        let group = servers.id().to_string();
        crate::test::start_watchdog(
            "the Airflow watchdog",
            cleanup,
            [home.as_os_str(), std::ffi::OsStr::new(&group)],
        );
        let mut airflow = Self { url, home, servers };
        airflow.wait_for_dags(jobs.len());
        airflow
    }

    /// Waits until the API lists `count` DAGs, or fails with what Airflow said.
    fn wait_for_dags(&mut self, count: usize) {
        let deadline = Instant::now() + START_TIMEOUT;
        let agent = agent();
        let mut token = None;
        loop {
            if let Ok(Some(status)) = self.servers.try_wait() {
                panic!("Airflow stopped ({status}):\n{}", self.logs());
            }
            token = token.or_else(|| self.token(&agent));
            let listed = token
                .as_deref()
                .and_then(|token| get(&agent, &self.url, "dags", token))
                .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
                .and_then(|dags| dags["total_entries"].as_u64());
            if listed.is_some_and(|listed| listed >= count as u64) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Airflow did not list {count} DAGs within {START_TIMEOUT:?}; its import errors: {}\n{}",
                token
                    .as_deref()
                    .and_then(|token| get(&agent, &self.url, "importErrors", token))
                    .unwrap_or_default(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// A token from `/auth/token`, once the API server answers.
    fn token(&self, agent: &ureq::Agent) -> Option<String> {
        let body = format!(r#"{{"username": "{USER}", "password": "{PASSWORD}"}}"#);
        let mut response = agent
            .post(&format!("{}/auth/token", self.url))
            .header("Content-Type", "application/json")
            .send(body)
            .ok()
            .filter(|response| response.status().is_success())?;
        let granted: serde_json::Value =
            serde_json::from_str(&response.body_mut().read_to_string().ok()?).ok()?;
        granted["access_token"].as_str().map(str::to_owned)
    }

    /// `factotum submit` of `job` to this Airflow, as the test's user.
    fn submit(&self, job: &Path) -> Test {
        Test::new()
            .arg("submit")
            .arg(job)
            .args(["--to", "airflow", "--url", &self.url])
            .env("AIRFLOW_TOKEN", "")
            .env("AIRFLOW_USERNAME", USER)
            .env("AIRFLOW_PASSWORD", PASSWORD)
    }

    /// Waits until a task of `dag` runs; false if none did in time.
    fn wait_for_running_task(&self, dag: &str) -> bool {
        let deadline = Instant::now() + RUN_TIMEOUT;
        let agent = agent();
        let path = format!("dags/{dag}/dagRuns/~/taskInstances?state=running");
        while Instant::now() < deadline {
            let running = self
                .token(&agent)
                .and_then(|token| get(&agent, &self.url, &path, &token))
                .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
                .and_then(|listed| listed["total_entries"].as_u64());
            if running.is_some_and(|running| running > 0) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        false
    }

    /// Kills every server and worker (the process group the shell leads); they may have
    /// ended already.
    fn kill(&self) {
        let group = i32::try_from(self.servers.id())
            .ok()
            .and_then(Pid::from_raw)
            .expect("a process id is a positive i32");
        let _ = rustix::process::kill_process_group(group, Signal::KILL);
        self.kill_tasks();
    }

    /// Kills the tasks' processes, which Airflow starts in sessions of their own, out of the
    /// servers' group: every process whose environment holds this `AIRFLOW_HOME`. The servers
    /// are gone by then, so no task starts after the look.
    fn kill_tasks(&self) {
        let marker = format!("AIRFLOW_HOME={}", self.home.display()).into_bytes();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let pid = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse().ok())
                .and_then(Pid::from_raw);
            let Some(pid) = pid else { continue };
            let environment = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            if environment
                .split(|&byte| byte == 0)
                .any(|variable| variable == marker)
            {
                let _ = rustix::process::kill_process(pid, Signal::KILL);
            }
        }
    }

    /// The end of each server's log, for failure messages.
    fn logs(&self) -> String {
        let mut logs = String::new();
        for log in ["api-server.log", "scheduler.log", "dag-processor.log"] {
            let text = std::fs::read_to_string(self.home.join(log)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(30)..];
            let _ = writeln!(logs, "--- {log} (end)\n{}", tail.join("\n"));
        }
        logs
    }
}

impl Drop for Airflow {
    /// Kills every server and worker at once: nothing of this Airflow is kept, so there is
    /// nothing for a graceful stop to save.
    fn drop(&mut self) {
        self.kill();
        let _ = self.servers.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// Sets the environment of an Airflow command: everything under `home`, SQLite, the local
/// executor with few workers, the API on `url`, the DAG folder read every second or two.
fn configure(command: &mut Command, home: &Path, url: &str, port: u16) {
    let secret = format!("factotum-test-{}-{port}", std::process::id());
    command
        .env("AIRFLOW_HOME", home)
        .env("AIRFLOW__CORE__DAGS_FOLDER", home.join("dags"))
        .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        .env("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
        .env("AIRFLOW__CORE__PARALLELISM", "4")
        .env("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "True")
        .env(
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
            format!("{USER}:admin"),
        )
        .env(
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
            home.join("passwords.json"),
        )
        .env(
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
            format!("{url}/execution/"),
        )
        .env(
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            format!("sqlite:///{}", home.join("airflow.db").display()),
        )
        // Shared by the three servers: the scheduler signs what the API server checks.
        .env("AIRFLOW__API_AUTH__JWT_SECRET", &secret)
        .env("AIRFLOW__API__SECRET_KEY", &secret)
        .env(
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT",
            crate::test::free_port().to_string(),
        )
        .env("AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL", "1")
        .env("AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL", "2")
        .env("AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL", "1")
        .env("AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME", "0.5")
        .env_remove("AIRFLOW_CONFIG")
        .env_remove("PYTHONPATH");
}

/// `factotum export --defer-env` of `job` into `dags`. Its variables are not given: the DAG's
/// params have no defaults, so only the run's `conf`, from `submit --env`, can set them.
fn export(job: &Path, dags: &Path) {
    let stem = job.file_stem().expect("a job file name").to_string_lossy();
    let run = Test::new()
        .arg("export")
        .arg(job)
        .args(["--to", "airflow", "--defer-env", "-o"])
        .arg(dags.join(format!("{stem}.py")))
        .run();
    assert_eq!(run.status, 0, "export of {}: {}", job.display(), run.stderr);
}

/// An HTTP client for the test's own look at Airflow.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// The body of `GET /api/v2/PATH`, when it answers with success.
fn get(agent: &ureq::Agent, url: &str, path: &str, token: &str) -> Option<String> {
    let mut response = agent
        .get(&format!("{url}/api/v2/{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .ok()
        .filter(|response| response.status().is_success())?;
    response.body_mut().read_to_string().ok()
}
