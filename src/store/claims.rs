//! Locks and run-once claims, kept in the store beside the run history, so that every server
//! sharing a store agrees on who runs what.
//!
//! A claim row names its holder (run, host, process) and a lease the holder renews; the
//! store's own clock judges the lease, so servers whose clocks disagree still agree on it.
//! What a run may do with a row it finds is decided here, once for every backend: a backend
//! reads the row and writes the decision in one transaction ([`super::Backend::claim`]).

use std::time::Duration;

use super::{Millis, host_name, process_is_alive};

/// The kinds of claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `--lock`: released on success; left held by a failure until someone clears it.
    Lock,
    /// `--soft-lock`: released at the end whatever happened, and when its holder is lost.
    SoftLock,
    /// `--once`: the key runs to success at most once.
    Once,
}

impl Kind {
    /// As stored and printed.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Lock => "lock",
            Self::SoftLock => "soft lock",
            Self::Once => "run-once key",
        }
    }

    /// The kind stored as `text`, if it is one.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        [Self::Lock, Self::SoftLock, Self::Once]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// Where a claim is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClaimState {
    /// Its run holds it and renews the lease.
    Held,
    /// A hard lock whose run failed, was interrupted or was lost: held until cleared.
    Left,
    /// A run-once key whose run succeeded: it never runs again.
    Succeeded,
    /// A run-once key whose run failed: resumed only when asked.
    Failed,
}

impl ClaimState {
    /// As stored and printed.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Left => "left held",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// The state stored as `text`, if it is one.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        [Self::Held, Self::Left, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// Who holds, or asks for, a claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    /// The run.
    pub run: String,
    /// The host it runs on.
    pub host: String,
    /// factotum's process id there.
    pub pid: u32,
    /// See [`super::RunRecord::process_identity`].
    pub process_identity: Option<String>,
}

/// A claim as the store holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClaimRow {
    /// The lock's name or the rendered run-once key.
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// Where it is.
    pub state: ClaimState,
    /// Its holder, or the run that last held it.
    pub holder: Holder,
    /// When it was taken, by the store's clock.
    pub since: Millis,
    /// How long after its last renewal the holder counts as lost.
    pub lease: Duration,
    /// How long ago, by the store's clock, it was last renewed.
    pub renewed: Duration,
}

impl ClaimRow {
    /// Whether the holder of a held claim is gone: its lease ran out, or it ran on this host
    /// and its process is gone.
    pub(crate) fn holder_is_lost(&self) -> bool {
        self.state == ClaimState::Held
            && (self.renewed > self.lease
                || (self.holder.host == host_name()
                    && !process_is_alive(self.holder.pid, self.holder.process_identity.as_deref())))
    }
}

/// What a run asks for.
#[derive(Clone, Debug)]
pub(crate) struct Ask {
    /// The lock's name or the rendered key.
    pub name: String,
    /// What it asks for.
    pub kind: Kind,
    /// Who asks.
    pub holder: Holder,
    /// The lease it will renew.
    pub lease: Duration,
    /// `--resume` was given: a run-once key whose run failed is taken and that run resumed.
    pub resume_failed: bool,
}

/// What a run may do, given the claim it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Nobody holds it: it is taken now.
    Take,
    /// Its holder is lost (or failed, when asked to resume): it is taken now, and the run
    /// resumes that holder's run.
    TakeOver {
        /// The run to resume.
        resume: String,
    },
    /// Another run holds a lock, or left it held: the run must not start (exit 3).
    Refuse(ClaimRow),
    /// A run-once key runs elsewhere, succeeded, or failed: nothing to do here (exit 0).
    Skip(ClaimRow),
}

impl Decision {
    /// Whether the backend writes the asker in as holder.
    pub(crate) fn takes(&self) -> bool {
        matches!(self, Self::Take | Self::TakeOver { .. })
    }
}

/// The rule: what `ask` may do when the store holds `found` for its name and kind.
pub(crate) fn decide(ask: &Ask, found: Option<&ClaimRow>) -> Decision {
    let Some(found) = found else {
        return Decision::Take;
    };
    let lost = found.holder_is_lost();
    match (ask.kind, found.state) {
        (Kind::SoftLock, ClaimState::Held) if lost => Decision::Take,
        (Kind::Once, ClaimState::Held) if lost => Decision::TakeOver {
            resume: found.holder.run.clone(),
        },
        (Kind::Once, ClaimState::Failed) if ask.resume_failed => Decision::TakeOver {
            resume: found.holder.run.clone(),
        },
        (Kind::Once, _) => Decision::Skip(found.clone()),
        // A soft lock is never left held; a row in any other state is released.
        (Kind::SoftLock, ClaimState::Held) | (Kind::Lock, ClaimState::Held | ClaimState::Left) => {
            Decision::Refuse(found.clone())
        }
        (Kind::SoftLock | Kind::Lock, _) => Decision::Take,
    }
}

/// How a run leaves its claim when it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Release {
    /// The row is removed: the name is free.
    Free,
    /// The row stays, in this state.
    Keep(ClaimState),
}

/// How `kind` is left by a run that succeeded (or finished early) or not.
pub(crate) fn release(kind: Kind, succeeded: bool) -> Release {
    match (kind, succeeded) {
        (Kind::Lock, true) | (Kind::SoftLock, _) => Release::Free,
        (Kind::Lock, false) => Release::Keep(ClaimState::Left),
        (Kind::Once, true) => Release::Keep(ClaimState::Succeeded),
        (Kind::Once, false) => Release::Keep(ClaimState::Failed),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Ask, ClaimRow, ClaimState, Decision, Holder, Kind, Release, decide, release};

    fn holder(run: &str, host: &str) -> Holder {
        Holder {
            run: run.to_owned(),
            host: host.to_owned(),
            pid: 1,
            process_identity: None,
        }
    }

    fn ask(kind: Kind, resume_failed: bool) -> Ask {
        Ask {
            name: "k".to_owned(),
            kind,
            holder: holder("new", "here"),
            lease: Duration::from_secs(30),
            resume_failed,
        }
    }

    /// A row held by run `old` on another host, renewed `age` seconds ago.
    fn row(kind: Kind, state: ClaimState, age: u64) -> ClaimRow {
        ClaimRow {
            name: "k".to_owned(),
            kind,
            state,
            holder: holder("old", "another-host.invalid"),
            since: 0,
            lease: Duration::from_secs(30),
            renewed: Duration::from_secs(age),
        }
    }

    #[test]
    fn every_kind_against_every_state() {
        use ClaimState::{Failed, Held, Left, Succeeded};
        use Kind::{Lock, Once, SoftLock};
        let take_over = || Decision::TakeOver {
            resume: "old".to_owned(),
        };
        let cases: Vec<(Kind, bool, Option<ClaimRow>, Decision)> = vec![
            (Lock, false, None, Decision::Take),
            (
                Lock,
                false,
                Some(row(Lock, Held, 1)),
                Decision::Refuse(row(Lock, Held, 1)),
            ),
            (
                Lock,
                false,
                Some(row(Lock, Held, 99)),
                Decision::Refuse(row(Lock, Held, 99)),
            ),
            (
                Lock,
                false,
                Some(row(Lock, Left, 99)),
                Decision::Refuse(row(Lock, Left, 99)),
            ),
            (SoftLock, false, None, Decision::Take),
            (
                SoftLock,
                false,
                Some(row(SoftLock, Held, 1)),
                Decision::Refuse(row(SoftLock, Held, 1)),
            ),
            (
                SoftLock,
                false,
                Some(row(SoftLock, Held, 99)),
                Decision::Take,
            ),
            (Once, false, None, Decision::Take),
            (
                Once,
                false,
                Some(row(Once, Held, 1)),
                Decision::Skip(row(Once, Held, 1)),
            ),
            (
                Once,
                true,
                Some(row(Once, Held, 1)),
                Decision::Skip(row(Once, Held, 1)),
            ),
            (Once, false, Some(row(Once, Held, 99)), take_over()),
            (
                Once,
                false,
                Some(row(Once, Succeeded, 99)),
                Decision::Skip(row(Once, Succeeded, 99)),
            ),
            (
                Once,
                true,
                Some(row(Once, Succeeded, 99)),
                Decision::Skip(row(Once, Succeeded, 99)),
            ),
            (
                Once,
                false,
                Some(row(Once, Failed, 99)),
                Decision::Skip(row(Once, Failed, 99)),
            ),
            (Once, true, Some(row(Once, Failed, 99)), take_over()),
        ];
        for (kind, resume, found, expected) in cases {
            let description = format!("{kind:?} (resume {resume}) finding {found:?}");
            assert_eq!(
                decide(&ask(kind, resume), found.as_ref()),
                expected,
                "{description}"
            );
        }
    }

    #[test]
    fn how_claims_are_left() {
        assert_eq!(release(Kind::Lock, true), Release::Free);
        assert_eq!(release(Kind::Lock, false), Release::Keep(ClaimState::Left));
        assert_eq!(release(Kind::SoftLock, false), Release::Free);
        assert_eq!(
            release(Kind::Once, true),
            Release::Keep(ClaimState::Succeeded)
        );
        assert_eq!(
            release(Kind::Once, false),
            Release::Keep(ClaimState::Failed)
        );
    }

    #[test]
    fn names_round_trip() {
        for kind in [Kind::Lock, Kind::SoftLock, Kind::Once] {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        for state in [
            ClaimState::Held,
            ClaimState::Left,
            ClaimState::Succeeded,
            ClaimState::Failed,
        ] {
            assert_eq!(ClaimState::parse(state.as_str()), Some(state));
        }
    }
}
