//! The few calls of Airflow's REST API (v2) that `submit` makes, and their failures in words
//! a user can act on. Credentials are read here and never leave: no message quotes them.

use std::fmt::{self, Write as _};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Value, json};

use crate::template::Variables;

/// How long connecting may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The most task instances Airflow gives in one page (its `maximum_page_limit` default).
const PAGE: usize = 100;
/// How many times a request is made while the server answers that it is in trouble (5xx,
/// 429): Airflow on SQLite answers 500 when its database is busy for a moment.
const ATTEMPTS: u32 = 4;
/// The pause after the first such answer; it doubles after each.
const FIRST_PAUSE: Duration = Duration::from_millis(500);

/// Where the credentials come from: the names of environment variables only, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CredentialSource {
    /// `AIRFLOW_TOKEN`.
    Token,
    /// `AIRFLOW_USERNAME` and `AIRFLOW_PASSWORD`.
    Password,
    /// None were set: the server must not ask for any.
    Nothing,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token => "the token in AIRFLOW_TOKEN",
            Self::Password => "the user and password in AIRFLOW_USERNAME and AIRFLOW_PASSWORD",
            Self::Nothing => {
                "no credentials (set AIRFLOW_TOKEN, or AIRFLOW_USERNAME and AIRFLOW_PASSWORD)"
            }
        })
    }
}

/// Credentials as the environment gives them.
enum Credentials {
    Token(String),
    Password { username: String, password: String },
    Nothing,
}

impl Credentials {
    /// `AIRFLOW_TOKEN`, else `AIRFLOW_USERNAME` with `AIRFLOW_PASSWORD`, else none; one of the
    /// pair without the other is an error. Empty values count as unset.
    fn from_environment() -> Result<Self, String> {
        let read = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        if let Some(token) = read("AIRFLOW_TOKEN") {
            return Ok(Self::Token(token));
        }
        match (read("AIRFLOW_USERNAME"), read("AIRFLOW_PASSWORD")) {
            (Some(username), Some(password)) => Ok(Self::Password { username, password }),
            (None, None) => Ok(Self::Nothing),
            (Some(_), None) => Err("AIRFLOW_USERNAME is set but AIRFLOW_PASSWORD is not".into()),
            (None, Some(_)) => Err("AIRFLOW_PASSWORD is set but AIRFLOW_USERNAME is not".into()),
        }
    }

    fn source(&self) -> CredentialSource {
        match self {
            Self::Token(_) => CredentialSource::Token,
            Self::Password { .. } => CredentialSource::Password,
            Self::Nothing => CredentialSource::Nothing,
        }
    }
}

/// Why a call failed.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// The credentials are missing half a pair.
    Credentials(String),
    /// No answer: refused, unresolvable, timed out, TLS failure.
    Unreachable(String),
    /// 401 or 403.
    Refused {
        status: u16,
        detail: String,
        credentials: CredentialSource,
    },
    /// 404: what was asked for does not exist.
    NotFound(String),
    /// Any other status that is not a success.
    Status { status: u16, detail: String },
    /// A success whose body is not what this API answers.
    Unexpected(String),
}

impl ApiError {
    /// Whether trying again later may work: the server was unreachable or had a problem of
    /// its own, as when it restarts.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::Unexpected(_) => true,
            Self::Status { .. } => self.is_server_trouble(),
            Self::Credentials(_) | Self::Refused { .. } | Self::NotFound(_) => false,
        }
    }

    /// Whether the server answered that it could not serve the request now.
    fn is_server_trouble(&self) -> bool {
        matches!(self, Self::Status { status, .. } if *status >= 500 || *status == 429)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Credentials(reason) | Self::Unreachable(reason) => f.write_str(reason),
            Self::Refused {
                status,
                detail,
                credentials,
            } => write!(f, "access refused ({status}: {detail}) with {credentials}"),
            Self::NotFound(detail) => write!(f, "not found: {detail}"),
            Self::Status { status, detail } => write!(f, "the server answered {status}: {detail}"),
            Self::Unexpected(reason) => write!(f, "unexpected answer: {reason}"),
        }
    }
}

/// A DAG as `GET /dags/{id}` describes it: only what `submit` looks at.
#[derive(Debug, Deserialize)]
pub(crate) struct Dag {
    pub(crate) is_paused: bool,
    #[serde(default)]
    pub(crate) has_import_errors: bool,
}

/// A task of a DAG, from `GET /dags/{id}/tasks`.
#[derive(Debug, Deserialize)]
pub(crate) struct DagTask {
    pub(crate) task_id: String,
    pub(crate) task_display_name: String,
    #[serde(default)]
    pub(crate) downstream_task_ids: Vec<String>,
}

/// A DAG run's state.
#[derive(Debug, Deserialize)]
pub(crate) struct DagRun {
    pub(crate) state: String,
}

/// One task instance of a run.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct TaskInstance {
    pub(crate) task_id: String,
    pub(crate) task_display_name: String,
    /// Only `-1`, unmapped, exists in exported DAGs.
    #[serde(default = "unmapped")]
    pub(crate) map_index: i64,
    pub(crate) state: Option<String>,
    #[serde(default)]
    pub(crate) try_number: u32,
    pub(crate) start_date: Option<String>,
    pub(crate) end_date: Option<String>,
}

fn unmapped() -> i64 {
    -1
}

/// A connection to one Airflow API server.
pub(crate) struct Client {
    agent: ureq::Agent,
    base: String,
    credentials: Credentials,
    /// The bearer token sent, once known.
    token: Option<String>,
}

impl Client {
    /// A client for the API server at `base` (no trailing `/`), with the environment's
    /// credentials; a user and password are exchanged for a token at once, so wrong ones are
    /// reported before anything else.
    pub(crate) fn connect(base: &str) -> Result<Self, ApiError> {
        let credentials = Credentials::from_environment().map_err(ApiError::Credentials)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        let token = match &credentials {
            Credentials::Token(token) => Some(token.clone()),
            Credentials::Password { .. } | Credentials::Nothing => None,
        };
        let mut client = Self {
            agent,
            base: base.to_owned(),
            credentials,
            token,
        };
        client.log_in()?;
        Ok(client)
    }

    /// Exchanges a user and password for a token (`POST /auth/token`); nothing to do for the
    /// other credentials.
    fn log_in(&mut self) -> Result<(), ApiError> {
        #[derive(Deserialize)]
        struct Granted {
            access_token: String,
        }
        let Credentials::Password { username, password } = &self.credentials else {
            return Ok(());
        };
        let body = json!({ "username": username, "password": password });
        let url = format!("{}/auth/token", self.base);
        let answer = send_json(self.agent.post(&url), &body);
        let granted: Granted = self.read(answer)?;
        self.token = Some(granted.access_token);
        Ok(())
    }

    /// `GET /dags/{dag_id}`.
    pub(crate) fn dag(&mut self, dag_id: &str) -> Result<Dag, ApiError> {
        self.call("GET", &format!("dags/{}", segment(dag_id)), None)
    }

    /// `PATCH /dags/{dag_id}` with `is_paused: false`.
    pub(crate) fn unpause(&mut self, dag_id: &str) -> Result<Dag, ApiError> {
        let body = json!({ "is_paused": false });
        self.call("PATCH", &format!("dags/{}", segment(dag_id)), Some(&body))
    }

    /// `GET /dags/{dag_id}/tasks`.
    pub(crate) fn tasks(&mut self, dag_id: &str) -> Result<Vec<DagTask>, ApiError> {
        #[derive(Deserialize)]
        struct Tasks {
            tasks: Vec<DagTask>,
        }
        let listed: Tasks = self.call("GET", &format!("dags/{}/tasks", segment(dag_id)), None)?;
        Ok(listed.tasks)
    }

    /// `POST /dags/{dag_id}/dagRuns`: a manual run `run_id` now, with `conf`. The id is
    /// chosen here so that a request repeated after a lost answer cannot start a second run:
    /// Airflow refuses it (409) and the run is there.
    pub(crate) fn trigger(
        &mut self,
        dag_id: &str,
        run_id: &str,
        conf: &Variables,
    ) -> Result<(), ApiError> {
        let body = json!({ "dag_run_id": run_id, "logical_date": null, "conf": conf });
        let path = format!("dags/{}/dagRuns", segment(dag_id));
        match self.call::<IgnoredAny>("POST", &path, Some(&body)) {
            Ok(_) => Ok(()),
            Err(error @ ApiError::Status { status: 409, .. }) => {
                self.dag_run(dag_id, run_id).map_err(|_| error).map(drop)
            }
            Err(error) => Err(error),
        }
    }

    /// The slots of the pool `name` (`GET /pools/{name}`), or `None` when Airflow had no such
    /// pool and it was created with `slots` (`POST /pools`).
    pub(crate) fn ensure_pool(
        &mut self,
        name: &str,
        slots: u32,
        description: &str,
    ) -> Result<Option<i64>, ApiError> {
        #[derive(Deserialize)]
        struct Pool {
            slots: i64,
        }
        let path = format!("pools/{}", segment(name));
        match self.call::<Pool>("GET", &path, None) {
            Ok(pool) => return Ok(Some(pool.slots)),
            Err(ApiError::NotFound(_)) => {}
            Err(error) => return Err(error),
        }
        let body = json!({ "name": name, "slots": slots, "description": description });
        match self.call::<IgnoredAny>("POST", "pools", Some(&body)) {
            Ok(_) => Ok(None),
            // Made meanwhile, by someone else or by this request when its answer was lost.
            Err(ApiError::Status { status: 409, .. }) => self
                .call::<Pool>("GET", &path, None)
                .map(|pool| Some(pool.slots)),
            Err(error) => Err(error),
        }
    }

    /// `GET /dags/{dag_id}/dagRuns/{run_id}`.
    pub(crate) fn dag_run(&mut self, dag_id: &str, run_id: &str) -> Result<DagRun, ApiError> {
        let path = format!("dags/{}/dagRuns/{}", segment(dag_id), segment(run_id));
        self.call("GET", &path, None)
    }

    /// Every task instance of a run, page after page.
    pub(crate) fn task_instances(
        &mut self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Vec<TaskInstance>, ApiError> {
        #[derive(Deserialize)]
        struct Page {
            task_instances: Vec<TaskInstance>,
            total_entries: usize,
        }
        let mut instances = Vec::new();
        loop {
            let path = format!(
                "dags/{}/dagRuns/{}/taskInstances?limit={PAGE}&offset={}",
                segment(dag_id),
                segment(run_id),
                instances.len()
            );
            let page: Page = self.call("GET", &path, None)?;
            let got = page.task_instances.len();
            instances.extend(page.task_instances);
            if got == 0 || instances.len() >= page.total_entries {
                return Ok(instances);
            }
        }
    }

    /// One call under `/api/v2`, made again a few times while the server is in trouble.
    fn call<T: DeserializeOwned>(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, ApiError> {
        let mut pause = FIRST_PAUSE;
        let mut attempt = 1;
        loop {
            match self.call_authenticated(method, path, body) {
                Err(error) if error.is_server_trouble() && attempt < ATTEMPTS => {
                    std::thread::sleep(pause);
                    pause *= 2;
                    attempt += 1;
                }
                answer => return answer,
            }
        }
    }

    /// One call; a refused token from a user and password (it expired) is renewed once.
    fn call_authenticated<T: DeserializeOwned>(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, ApiError> {
        match self.call_once(method, path, body) {
            Err(ApiError::Refused { status: 401, .. })
                if matches!(self.credentials, Credentials::Password { .. }) =>
            {
                self.log_in()?;
                self.call_once(method, path, body)
            }
            answer => answer,
        }
    }

    fn call_once<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, ApiError> {
        let url = format!("{}/api/v2/{path}", self.base);
        let authorization = self.token.as_ref().map(|token| format!("Bearer {token}"));
        let answer = match (method, body) {
            ("POST", Some(body)) => {
                send_json(with_token(self.agent.post(&url), authorization), body)
            }
            ("PATCH", Some(body)) => {
                send_json(with_token(self.agent.patch(&url), authorization), body)
            }
            _ => with_token(self.agent.get(&url), authorization).call(),
        };
        self.read(answer)
    }

    /// The body of a successful answer as `T`, or why there is none.
    fn read<T: DeserializeOwned>(
        &self,
        answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ApiError> {
        let mut response = answer.map_err(|error| ApiError::Unreachable(error.to_string()))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|error| ApiError::Unreachable(error.to_string()))?;
        match status {
            200..=299 => serde_json::from_str(&text)
                .map_err(|error| ApiError::Unexpected(format!("{error} in {}", excerpt(&text)))),
            401 | 403 => Err(ApiError::Refused {
                status,
                detail: detail(&text),
                credentials: self.credentials.source(),
            }),
            404 => Err(ApiError::NotFound(detail(&text))),
            _ => Err(ApiError::Status {
                status,
                detail: detail(&text),
            }),
        }
    }
}

/// Sends `body` as JSON (ureq's own JSON support is not compiled in).
fn send_json(
    request: ureq::RequestBuilder<ureq::typestate::WithBody>,
    body: &Value,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    request
        .header("Content-Type", "application/json")
        .send(body.to_string())
}

fn with_token<B>(
    request: ureq::RequestBuilder<B>,
    authorization: Option<String>,
) -> ureq::RequestBuilder<B> {
    match authorization {
        Some(value) => request.header("Authorization", value),
        None => request,
    }
}

/// What an error answer says: its `detail` (a string, or a list of validation errors),
/// else the start of the body.
fn detail(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(object)) => match object.get("detail") {
            Some(Value::String(text)) => text.clone(),
            Some(other) => excerpt(&other.to_string()),
            None => excerpt(body),
        },
        _ => excerpt(body),
    }
}

/// At most 200 characters of `text`, on one line.
fn excerpt(text: &str) -> String {
    const LIMIT: usize = 200;
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None if line.is_empty() => "(empty body)".to_owned(),
        None => line,
    }
}

/// `text` as one path segment: everything but RFC 3986's unreserved characters
/// percent-encoded (run ids hold `:` and `+`).
fn segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::{detail, excerpt, segment};

    #[test]
    fn run_ids_are_encoded_as_one_segment() {
        assert_eq!(
            segment("manual__2026-12-02T12:47:24.143952+00:00"),
            "manual__2026-12-02T12%3A47%3A24.143952%2B00%3A00"
        );
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn the_detail_of_an_error_is_fastapis_or_the_body() {
        assert_eq!(
            detail(r#"{"detail":"Invalid JWT token"}"#),
            "Invalid JWT token"
        );
        assert_eq!(
            detail("<html>\n bad gateway </html>"),
            "<html> bad gateway </html>"
        );
        assert_eq!(detail(""), "(empty body)");
        assert_eq!(excerpt(&"x".repeat(300)).chars().count(), 201);
    }
}
