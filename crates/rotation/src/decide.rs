//! The pure half: from what exists, the one thing to do next.
//!
//! A rotation moves a new version through Secrets Manager's four steps — create
//! (AWSPENDING), set (the server accepts it beside the current one), test, finish
//! (AWSCURRENT moves) — then records when it became current. Revoking is a separate
//! goal, run once the grace period has passed: set the current credential alone, test,
//! record. Each [`Next`] other than [`Next::Wait`], [`Next::Test`] and [`Next::Done`] is
//! one AWS write, and every write is safe to repeat except ElastiCache's `ROTATE`,
//! which is decided from what AWS reports (see [`token_rotated`]) rather than from
//! memory, so a rotation killed at any point resumes without dropping a working token.

use std::time::{Duration, SystemTime};

use crate::model::{Kind, Observed, Previous, Target, Version};

/// What a run is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal<'a> {
    /// Put a new credential in place. `version` is the id a new version gets (a
    /// rotation already pending is resumed with its own id instead).
    Rotate {
        /// The new version's id (the `ClientRequestToken`).
        version: &'a str,
    },
    /// Revoke the previous credential if its grace period has passed.
    RevokeDue,
}

/// What this run has done that AWS does not show: writes that are safe to repeat,
/// so a new run that does not know of them simply repeats them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// The version this run is rotating in: its own new one, or a pending one it
    /// resumed (then it is done once that one is current).
    pub rotating: Option<String>,
    /// The version this run's finish moved AWSCURRENT from: the credential replaced.
    pub replaced: Option<String>,
    /// The pending version whose password was set on the user.
    pub set: Option<String>,
    /// The pending version whose test passed.
    pub tested: Option<String>,
    /// The current version set alone on the server (the previous revoked).
    pub revoke_set: Option<String>,
    /// The current version whose revocation was tested.
    pub revoke_tested: Option<String>,
}

impl Next {
    /// The step's name as events and the rotation steps say it; `None` for waiting and
    /// done.
    pub fn name(&self) -> Option<&'static str> {
        Some(match self {
            Next::Create { .. } => "create",
            Next::Set { .. } => "set",
            Next::Test { .. } => "test",
            Next::Finish { .. } => "finish",
            Next::Record { .. } => "record",
            Next::Revoke { .. } => "revoke",
            Next::TestRevoked { .. } => "test-revoked",
            Next::RecordRevoked { .. } => "record-revoked",
            Next::Wait { .. } | Next::Done(_) => return None,
        })
    }
}

impl Next {
    /// The version the step acts on.
    pub fn version(&self) -> Option<&str> {
        match self {
            Next::Create { version: id }
            | Next::Set { pending: id, .. }
            | Next::Test { pending: id }
            | Next::Finish { pending: id, .. }
            | Next::Record { current: id, .. }
            | Next::Revoke { current: id }
            | Next::TestRevoked { current: id, .. }
            | Next::RecordRevoked { current: id } => Some(id),
            Next::Wait { .. } | Next::Done(_) => None,
        }
    }
}

impl Memory {
    /// Remembers which version this run is rotating in, once a step names it.
    pub fn note(&mut self, step: &Next) {
        if let Next::Create { version: id }
        | Next::Set { pending: id, .. }
        | Next::Test { pending: id }
        | Next::Finish { pending: id, .. } = step
        {
            self.rotating = Some(id.clone());
        }
        if let Next::Finish { current, .. } = step {
            self.replaced = Some(current.clone());
        }
    }
}

/// The next thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Store a new credential as version `version`, staged AWSPENDING.
    Create {
        /// The new version's id.
        version: String,
    },
    /// Make the server accept the pending credential beside the current one.
    Set {
        /// The pending version.
        pending: String,
        /// The current version (a user's second password).
        current: String,
    },
    /// Prove the pending credential works.
    Test {
        /// The pending version.
        pending: String,
    },
    /// Move AWSCURRENT to the pending version.
    Finish {
        /// The pending version.
        pending: String,
        /// The version AWSCURRENT leaves.
        current: String,
    },
    /// Record on the secret when `current` became current (and, right after a finish,
    /// which version it replaced).
    Record {
        /// The current version.
        current: String,
        /// The version the finish replaced, when this run finished it.
        replaced: Option<String>,
    },
    /// Make the server accept the current credential alone.
    Revoke {
        /// The current version.
        current: String,
    },
    /// Prove the current credential works and the previous one is refused.
    TestRevoked {
        /// The current version.
        current: String,
        /// The version holding the previous credential.
        previous: String,
    },
    /// Record on the secret that the previous credential is revoked.
    RecordRevoked {
        /// The current version.
        current: String,
    },
    /// ElastiCache is busy: look again later.
    Wait {
        /// Why, in words.
        why: String,
    },
    /// Nothing more to do.
    Done(Done),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Done {
    /// `version` is current, in place and recorded.
    Rotated {
        /// The current version.
        version: String,
    },
    /// The previous credential no longer works.
    Revoked {
        /// The current version.
        version: String,
    },
    /// Nothing to revoke, and why.
    NothingToRevoke {
        /// Why, in words.
        why: String,
    },
    /// The previous credential may be revoked from `due` on.
    RevokeNotDue {
        /// When its grace period ends.
        #[serde(with = "rfc3339")]
        due: SystemTime,
    },
}

mod rfc3339 {
    pub fn serialize<S: serde::Serializer>(
        at: &std::time::SystemTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_rfc3339_seconds(*at))
    }
}

/// Why no step can be decided: the secret is not in a state any rotation leaves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No version is AWSCURRENT.
    #[error("secret {0} has no AWSCURRENT version: apply the stack first")]
    NoCurrent(String),
}

/// A `ROTATE` finishes at least this long after the pending version was made, and
/// Secrets Manager may report creation times in whole seconds: a token change within a
/// second of the pending version's creation is one that came before it.
pub const ROTATE_AFTER_CREATE: Duration = Duration::from_secs(1);

/// Whether the group's tokens changed after `pending` was made, which means the
/// `ROTATE` that adds it went through (ElastiCache never returns tokens, and a second
/// `ROTATE` with the same token would drop the current one, so this is decided from the
/// dates AWS reports, never by sending it again to see).
pub fn token_rotated(observed: &Observed, pending: &Version) -> bool {
    observed
        .group
        .token_last_modified
        .is_some_and(|at| at >= pending.created + ROTATE_AFTER_CREATE)
}

/// The next thing to do towards `goal`, from what AWS shows, what this run did
/// (`memory`) and the time `now`.
pub fn next(
    target: &Target,
    observed: &Observed,
    previous: Previous,
    goal: Goal<'_>,
    memory: &Memory,
    now: SystemTime,
) -> Result<Next, Refusal> {
    let current = observed
        .secret
        .current()
        .ok_or_else(|| Refusal::NoCurrent(target.secret.clone()))?;
    Ok(match goal {
        Goal::Rotate { version } => rotate(target, observed, current, version, memory),
        Goal::RevokeDue => revoke_due(target, observed, current, previous, memory, now),
    })
}

fn rotate(
    target: &Target,
    observed: &Observed,
    current: &Version,
    version: &str,
    memory: &Memory,
) -> Next {
    let secret = &observed.secret;
    let version = memory.rotating.as_deref().unwrap_or(version);
    let Some(pending) = secret.pending() else {
        if current.id == version {
            return finished(secret, current, memory);
        }
        return Next::Create {
            version: version.to_owned(),
        };
    };
    let set = match target.kind {
        Kind::AuthToken => token_rotated(observed, pending),
        Kind::UserPassword { .. } => memory.set.as_deref() == Some(&pending.id),
    };
    if let Some(why) = observed.busy(target) {
        return Next::Wait { why };
    }
    if !set && memory.set.as_deref() == Some(&pending.id) {
        // This run's ROTATE was accepted: a second one would drop the current token.
        return Next::Wait {
            why: format!(
                "ElastiCache accepted the new AUTH token of {}; waiting until it reports the change",
                target.replication_group_id
            ),
        };
    }
    if !set {
        return Next::Set {
            pending: pending.id.clone(),
            current: current.id.clone(),
        };
    }
    if memory.tested.as_deref() != Some(&pending.id) {
        return Next::Test {
            pending: pending.id.clone(),
        };
    }
    Next::Finish {
        pending: pending.id.clone(),
        current: current.id.clone(),
    }
}

/// `current` is in place: record when (and what it replaced), once.
fn finished(secret: &crate::model::SecretState, current: &Version, memory: &Memory) -> Next {
    match secret.rotated() {
        Some((recorded, _)) if recorded == current.id => Next::Done(Done::Rotated {
            version: current.id.clone(),
        }),
        _ => Next::Record {
            current: current.id.clone(),
            replaced: memory.replaced.clone(),
        },
    }
}

fn revoke_due(
    target: &Target,
    observed: &Observed,
    current: &Version,
    previous: Previous,
    memory: &Memory,
    now: SystemTime,
) -> Next {
    let secret = &observed.secret;
    let nothing = |why: &str| {
        Next::Done(Done::NothingToRevoke {
            why: why.to_owned(),
        })
    };
    let Previous::RevokeAfter(grace) = previous else {
        return nothing(
            "previous: keep (the previous credential stays valid until the next rotation)",
        );
    };
    if secret.pending().is_some() {
        return nothing("a rotation is in progress; revoking waits until it finishes");
    }
    if secret.revoked() == Some(current.id.as_str()) {
        return Next::Done(Done::Revoked {
            version: current.id.clone(),
        });
    }
    let Some(previous) = secret.replaced().filter(|p| *p != current.id) else {
        return nothing("no rotation has recorded a previous credential");
    };
    let since = match secret.rotated() {
        Some((recorded, at)) if recorded == current.id => at,
        // Became current without us recording when: the grace period starts now.
        _ => {
            return Next::Record {
                current: current.id.clone(),
                replaced: None,
            };
        }
    };
    if now < since + grace {
        return Next::Done(Done::RevokeNotDue { due: since + grace });
    }
    if let Some(why) = observed.busy(target) {
        return Next::Wait { why };
    }
    if memory.revoke_set.as_deref() != Some(&current.id) {
        return Next::Revoke {
            current: current.id.clone(),
        };
    }
    if memory.revoke_tested.as_deref() != Some(&current.id) {
        return Next::TestRevoked {
            current: current.id.clone(),
            previous: previous.to_owned(),
        };
    }
    Next::RecordRevoked {
        current: current.id.clone(),
    }
}
