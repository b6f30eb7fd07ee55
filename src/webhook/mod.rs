//! Webhooks: the run's progress posted as Factotum 0.7's `job_update` and `task_update` events,
//! by a thread of its own, so a slow or dead endpoint never holds up a task.

mod payload;
mod sender;

use std::io;
use std::time::Duration;

use codespan_reporting::term::termcolor::{Color, WriteColor};

pub(crate) use payload::{CompactFactfile, CompactJob, CompactOnResult, CompactTask};
pub(crate) use sender::Signer;

use crate::exec::{Interrupts, Observer, State, View, signal_name};
use crate::render::write_in;
use payload::{Change, Context, state_name};
use sender::{Drained, Sender};

/// Where and how to post.
pub(crate) struct Settings {
    /// The endpoint; checked by [`check_url`].
    pub url: String,
    /// How long one request may take.
    pub timeout: Duration,
    /// How long the end of the run waits for events still queued.
    pub drain: Duration,
    /// How long that wait goes on after a stop signal (`--grace`).
    pub grace: Duration,
    /// Whether running tasks' output goes in every event (heartbeats are on).
    pub live_output: bool,
    /// Signs every body, when the run has a webhook secret.
    pub signer: Option<Signer>,
}

/// Whether `url` can be posted to; the reason follows 0.7's wording.
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(
            "URL must begin with 'http://' or 'https://' to be used with Factotum webhooks"
                .to_owned(),
        );
    }
    let authority = url.split_once("://").map_or("", |(_, rest)| rest);
    if authority
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .is_empty()
    {
        return Err("empty host".to_owned());
    }
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|error: ureq::http::uri::InvalidUri| error.to_string())?;
    if uri.host().is_none_or(str::is_empty) {
        return Err("empty host".to_owned());
    }
    Ok(())
}

/// The environment variable holding the secret webhook bodies are signed with. Only the
/// environment: a flag's value would show in `ps` and in shell histories.
const SECRET_VARIABLE: &str = "FACTOTUM_WEBHOOK_SECRET";

/// The signer for the secret in [`SECRET_VARIABLE`]; none when it is unset or empty. The
/// secret is taken as bytes, as the receiver will have them: it need not be UTF-8.
pub(crate) fn signer_from_environment() -> Option<Signer> {
    use std::os::unix::ffi::OsStrExt as _;
    std::env::var_os(SECRET_VARIABLE)
        .filter(|secret| !secret.is_empty())
        .map(|secret| Signer::new(secret.as_bytes()))
}

/// Follows a run and queues its events.
pub(crate) struct Webhook {
    context: Context,
    sender: Sender,
    drain: Duration,
    grace: Duration,
}

/// What the run needs to tell the webhook about itself.
pub(crate) struct Job<'a> {
    /// The job as 0.7 re-encoded it, templates rendered.
    pub factfile: &'a CompactFactfile,
    /// `--tag` values, by key.
    pub tags: std::collections::BTreeMap<String, String>,
    /// Task names by position.
    pub names: Vec<String>,
    /// The run's tasks in 0.7's plan order.
    pub order: Vec<usize>,
}

impl Webhook {
    /// Starts the delivery thread.
    pub(crate) fn start(settings: Settings, job: Job<'_>) -> Self {
        let context = Context::new(payload::Facts {
            factfile: job.factfile,
            tags: job.tags,
            names: job.names,
            order: job.order,
            live_output: settings.live_output,
        });
        Self {
            context,
            drain: settings.drain,
            grace: settings.grace,
            sender: Sender::start(settings.url, settings.timeout, settings.signer),
        }
    }

    /// Waits (within the drain bound) for the queued events and says on `out` how it went, as
    /// 0.7 did. It waits even when `out` cannot be written. A stop signal shortens the wait to
    /// the grace period; a second one ends it.
    pub(crate) fn finish(
        self,
        out: &mut dyn WriteColor,
        interrupted_by: Option<i32>,
        interrupts: &Interrupts,
    ) -> io::Result<()> {
        // Said before the wait, so the user knows what factotum is waiting for.
        let announced = write!(out, "Waiting for webhook to finish sending events...")
            .and_then(|()| out.flush());
        let drained = self
            .sender
            .finish(self.drain, self.grace, interrupted_by, || {
                interrupts.received()
            });
        announced?;
        let warn = |out: &mut dyn WriteColor| {
            write_in(out, Color::Red, "Warning: some events failed to send")?;
            writeln!(out)
        };
        match drained {
            Drained::AllSent => {
                write_in(out, Color::Green, " done!")?;
                writeln!(out)
            }
            Drained::SomeFailed => {
                write_in(out, Color::Green, " done!")?;
                writeln!(out)?;
                warn(out)
            }
            Drained::TimedOut => {
                writeln!(out, " gave up after {}s", self.drain.as_secs_f64())?;
                warn(out)
            }
            Drained::Interrupted(signal) => {
                writeln!(out, " gave up: interrupted by {}", signal_name(signal))?;
                warn(out)
            }
        }
    }

    fn post(&self, run_state: &str, change: &Change, view: &View<'_>) {
        self.sender
            .send(self.context.event(run_state, change, view));
    }
}

impl Observer for Webhook {
    fn job_started(&mut self, view: &View<'_>) {
        self.post("WAITING", &Change::Job(None, "WAITING"), view);
    }

    fn tasks_started(&mut self, started: &[usize], first: bool, view: &View<'_>) {
        if first {
            self.post("RUNNING", &Change::Job(Some("WAITING"), "RUNNING"), view);
        }
        if !started.is_empty() {
            let transitions = started
                .iter()
                .map(|&task| (task, "WAITING", "RUNNING"))
                .collect();
            self.post("RUNNING", &Change::Tasks(transitions), view);
        }
    }

    fn task_finished(&mut self, task: usize, skipped: &[(usize, bool)], view: &View<'_>) {
        let mut skipped = skipped.to_vec();
        skipped.sort_by_key(|&(task, _)| self.context.plan_position(task));
        let transitions = std::iter::once((task, "RUNNING", state_name(&view.states[task])))
            .chain(skipped.iter().map(|&(task, already)| {
                (task, if already { "SKIPPED" } else { "WAITING" }, "SKIPPED")
            }))
            .collect();
        self.post("RUNNING", &Change::Tasks(transitions), view);
    }

    fn heartbeat(&mut self, running: &[usize], view: &View<'_>) {
        let transitions = running
            .iter()
            .map(|&task| (task, "RUNNING", "RUNNING"))
            .collect();
        self.post("RUNNING", &Change::Tasks(transitions), view);
    }

    fn job_finished(&mut self, view: &View<'_>) {
        let failed = view
            .states
            .iter()
            .any(|state| matches!(state, State::Failed(_)));
        let end = if failed { "FAILED" } else { "SUCCEEDED" };
        self.post(end, &Change::Job(Some("RUNNING"), end), view);
    }
}
