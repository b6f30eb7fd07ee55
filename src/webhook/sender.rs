//! Delivery: one thread posts events in order; a slow or dead endpoint delays only it.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::payload::{hex, random_uuid};
use crate::exec::clock::deadline_after;

/// The header carrying an event's id, the same on every attempt to post it.
const EVENT_ID_HEADER: &str = "X-Factotum-Event-Id";
/// The header carrying the body's signature, named and shaped like GitHub's
/// `X-Hub-Signature-256` so that receivers can reuse their code.
const SIGNATURE_HEADER: &str = "X-Factotum-Signature-256";

/// How many times an event is tried.
const ATTEMPTS: u32 = 3;
/// The first back-off; it doubles after each failed attempt, with ±50% jitter.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// How often the drain looks for a stop signal while it waits.
const SIGNAL_POLL: Duration = Duration::from_millis(20);

/// The queue into the delivery thread.
pub(super) struct Sender {
    queue: mpsc::Sender<String>,
    done: Receiver<bool>,
    thread: JoinHandle<()>,
}

/// How the end of a run's delivery went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Drained {
    /// Every event was accepted with a 2xx status.
    AllSent,
    /// Some event failed every attempt.
    SomeFailed,
    /// The bound ran out with events still queued or in flight.
    TimedOut,
    /// Stopped by this signal (the first of them) with events still queued or in flight.
    Interrupted(i32),
}

impl Sender {
    /// Starts the thread that posts to `url`, each request bounded by `timeout` and, with a
    /// signer, signed.
    pub(super) fn start(url: String, timeout: Duration, signer: Option<Signer>) -> Self {
        let (queue, events) = mpsc::channel::<String>();
        let (report, done) = mpsc::channel();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("factotum/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let thread = std::thread::spawn(move || {
            let mut jitter = Jitter::seeded();
            let mut all_sent = true;
            // Event ids: random per run, numbered within it, so no two events share one.
            let run = random_uuid();
            for (number, body) in (1u64..).zip(events) {
                let event = Event {
                    id: format!("{run}.{number}"),
                    signature: signer.as_ref().map(|signer| signer.sign(&body)),
                    body,
                };
                all_sent &= deliver(&agent, &url, &event, &mut jitter);
            }
            let _ = report.send(all_sent);
        });
        Self {
            queue,
            done,
            thread,
        }
    }

    /// Queues one event; never blocks.
    pub(super) fn send(&self, body: String) {
        // The thread only stops once the queue is closed, so this cannot fail while we hold it.
        let _ = self.queue.send(body);
    }

    /// Closes the queue and waits at most `bound` for the rest to be delivered. A stop signal
    /// (as `interrupted` reports them) cuts what is left of the wait to `grace`; a second one
    /// ends it at once.
    pub(super) fn finish(
        self,
        bound: Duration,
        grace: Duration,
        already_stopped_by: Option<i32>,
        mut interrupted: impl FnMut() -> Option<i32>,
    ) -> Drained {
        drop(self.queue);
        let mut deadline = deadline_after(bound);
        // A signal that stopped the run counts as the first: the drain gets only the grace
        // period, and the next signal ends it.
        let mut stopped_by = already_stopped_by;
        if stopped_by.is_some() {
            deadline = deadline.min(deadline_after(grace));
        }
        let drained = loop {
            let now = Instant::now();
            if now >= deadline {
                break stopped_by.map_or(Drained::TimedOut, Drained::Interrupted);
            }
            match self.done.recv_timeout((deadline - now).min(SIGNAL_POLL)) {
                Ok(true) => break Drained::AllSent,
                Ok(false) => break Drained::SomeFailed,
                Err(RecvTimeoutError::Disconnected) => break Drained::TimedOut,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if let Some(signal) = interrupted() {
                if let Some(first) = stopped_by {
                    break Drained::Interrupted(first);
                }
                stopped_by = Some(signal);
                deadline = deadline.min(deadline_after(grace));
            }
        };
        if matches!(drained, Drained::AllSent | Drained::SomeFailed) {
            let _ = self.thread.join();
        }
        drained
    }
}

/// Signs bodies with the run's webhook secret: HMAC-SHA256, as GitHub signs its webhooks.
pub(crate) struct Signer(Hmac<Sha256>);

impl Signer {
    /// A signer keyed with `secret`.
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self(Hmac::new_from_slice(secret).expect("HMAC takes a key of any length"))
    }

    /// The signature header's value for `body`: `sha256=` and the HMAC in lower-case hex.
    fn sign(&self, body: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(body.as_bytes());
        format!("sha256={}", hex(&mac.finalize().into_bytes()))
    }
}

/// One event as it is posted, every attempt alike.
struct Event {
    id: String,
    signature: Option<String>,
    body: String,
}

/// Posts one event, retrying with back-off; true when a 2xx answer came.
fn deliver(agent: &ureq::Agent, url: &str, event: &Event, jitter: &mut Jitter) -> bool {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let mut request = agent
            .post(url)
            .header("Content-Type", "application/json; charset=utf-8")
            .header(EVENT_ID_HEADER, &event.id);
        if let Some(signature) = &event.signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let answer = request.send(&event.body);
        if answer.is_ok_and(|response| response.status().is_success()) {
            return true;
        }
        if attempt < ATTEMPTS {
            std::thread::sleep(jitter.spread(backoff));
            backoff *= 2;
        }
    }
    false
}

/// A small xorshift generator: jitter only needs to keep many servers from retrying in step.
struct Jitter(u64);

impl Jitter {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.subsec_nanos());
        Self(u64::from(nanos) ^ (u64::from(std::process::id()) << 32) | 1)
    }

    /// `base` times a factor between 0.5 and 1.5.
    fn spread(&mut self, base: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let unit = f64::from(u32::try_from(self.0 >> 32).unwrap_or(0)) / f64::from(u32::MAX);
        base.mul_f64(0.5 + unit)
    }
}
