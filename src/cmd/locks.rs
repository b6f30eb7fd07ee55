//! `factotum locks` and `factotum unlock NAME`: the claims held in the store, and clearing one.

use serde_json::{Value, json};

use super::history::{pretty, printable, table, time_text};
use super::{Stdout, error_line, open_store};
use crate::ExitStatus;
use crate::cli::{ListFormat, LocksArgs, UnlockArgs};
use crate::store::claims::{ClaimRow, ClaimState};

/// Runs `locks`.
pub(crate) fn list(args: &LocksArgs, no_colour: bool) -> ExitStatus {
    let mut stdout = Stdout::new(no_colour);
    let status = list_claims(args, &mut stdout);
    stdout.finish(status)
}

fn list_claims(args: &LocksArgs, stdout: &mut Stdout) -> ExitStatus {
    let mut store = match open_store(&args.store) {
        Ok(store) => store,
        Err(status) => return status,
    };
    let listing = match store.list_claims() {
        Ok(listing) => listing,
        Err(error) => {
            error_line(format_args!("error: {error}"));
            return ExitStatus::OtherError;
        }
    };
    super::history::warn_unreadable(listing.unreadable, "locks and keys");
    match args.format {
        ListFormat::Json => {
            let rows: Vec<Value> = listing.rows.iter().map(claim_json).collect();
            stdout.line(&pretty(&Value::Array(rows)));
        }
        ListFormat::Table if listing.rows.is_empty() => {
            stdout.line(&format!(
                "No locks or run-once keys in {}",
                store.location()
            ));
        }
        ListFormat::Table => {
            let mut rows = vec![
                [
                    "NAME",
                    "KIND",
                    "STATE",
                    "RUN",
                    "HOST",
                    "SINCE (UTC)",
                    "LEASE",
                ]
                .map(str::to_owned),
            ];
            rows.extend(listing.rows.iter().map(|claim| {
                [
                    printable(&claim.name),
                    claim.kind.as_str().to_owned(),
                    state_text(claim).to_owned(),
                    printable(&claim.holder.run),
                    printable(&claim.holder.host),
                    time_text(claim.since),
                    lease_text(claim),
                ]
            }));
            for line in table(&rows) {
                stdout.line(&line);
            }
        }
    }
    ExitStatus::Success
}

/// The state, saying when the holder of a held claim is lost.
fn state_text(claim: &ClaimRow) -> &'static str {
    if claim.holder_is_lost() {
        "held, holder lost"
    } else {
        claim.state.as_str()
    }
}

/// `12 s left of 30 s` while held; `-` otherwise.
fn lease_text(claim: &ClaimRow) -> String {
    if claim.state != ClaimState::Held {
        return "-".to_owned();
    }
    let left = claim.lease.saturating_sub(claim.renewed);
    format!("{} s left of {} s", left.as_secs(), claim.lease.as_secs())
}

fn claim_json(claim: &ClaimRow) -> Value {
    json!({
        "name": claim.name,
        "kind": claim.kind.as_str(),
        "state": state_text(claim),
        "run": claim.holder.run,
        "host": claim.holder.host,
        "pid": claim.holder.pid,
        "since": super::history::iso(claim.since),
        "leaseSeconds": claim.lease.as_secs_f64(),
        "renewedSecondsAgo": claim.renewed.as_secs_f64(),
    })
}

/// Runs `unlock`.
pub(crate) fn unlock(args: &UnlockArgs, no_colour: bool) -> ExitStatus {
    let mut stdout = Stdout::new(no_colour);
    let status = remove(args, &mut stdout);
    stdout.finish(status)
}

fn remove(args: &UnlockArgs, stdout: &mut Stdout) -> ExitStatus {
    let mut store = match open_store(&args.store) {
        Ok(store) => store,
        Err(status) => return status,
    };
    match store.remove_claims(&args.name) {
        Ok(removed) if removed.is_empty() => {
            error_line(format_args!(
                "error: nothing called '{}' is locked or claimed in {}; `factotum locks` lists what is",
                printable(&args.name),
                store.location()
            ));
            ExitStatus::OtherError
        }
        Ok(removed) => {
            for claim in removed {
                let verb = match claim.kind {
                    crate::store::claims::Kind::Once => "Forgot",
                    _ => "Released",
                };
                stdout.line(&format!(
                    "{verb} the {} '{}' ({} by run {} on {} since {} UTC)",
                    claim.kind.as_str(),
                    printable(&claim.name),
                    state_text(&claim),
                    printable(&claim.holder.run),
                    printable(&claim.holder.host),
                    time_text(claim.since)
                ));
            }
            ExitStatus::Success
        }
        Err(error) => {
            error_line(format_args!("error: {error}"));
            ExitStatus::OtherError
        }
    }
}
