/*!
Rotates one ElastiCache credential — a replication group's AUTH token or an RBAC user's
password — through Secrets Manager's four-step rotation contract, the same way whether
the CLI, a Lambda that Secrets Manager invokes, or a scheduled Action runs it:

1. **create**: a new value (ElastiCache's alphabet, the current one's length) stored as
   a new version staged `AWSPENDING`, its id the `ClientRequestToken`;
2. **set**: the server accepts it beside the current one (`ModifyReplicationGroup` with
   `ROTATE`, or `ModifyUser` with both passwords), sent only while the group is
   `available` with nothing pending and the user `active`;
3. **test**: a connection with the pending credential (AUTH and PING over TLS, through
   the `connect` crate), or only the control plane settling;
4. **finish**: `AWSCURRENT` moves to the new version; when is recorded on the secret.

The previous credential stays valid ([`Previous::Keep`]) or is revoked once a grace
period has passed ([`Previous::RevokeAfter`], [`Goal::RevokeDue`]: `SET`, or `ModifyUser`
with the current password alone, then a test that the previous one is refused). That
state lives in AWS (stages and the secret's tags), never in a file.

Shape: [`Rotation::observe`] reads, the pure [`next`] decides one step from what exists,
[`Rotation::run`] performs it and observes again until done. Every step is safe to
repeat: a pending version is resumed, never duplicated; a write whose answer is lost is
never sent again blindly (the engine observes and decides again); ElastiCache's `ROTATE`,
the one write that is not idempotent, is judged done from the dates AWS reports. A failed
test fails the run and leaves `AWSCURRENT` working: nothing is finished and `DELETE` is
never sent.

It owns the rotation of one credential. It does not own which credentials a stack has
(the `stack` crate resolves them from the spec), the stack's lock, the Lambda's event
format, or printing: it returns [`Done`] or a [`RotationError`] and reports progress as
[`Event`]s. Values exist only as [`plan::Sensitive`] and inside the request that sends
them; no error, event or outcome can hold one.
*/
#![deny(missing_docs)]

mod apply;
mod decide;
mod model;
mod observe;
mod run;

#[cfg(test)]
mod tests;

pub use decide::{Done, Goal, Memory, Next, ROTATE_AFTER_CREATE, Refusal, next, token_rotated};
pub use model::*;
pub use observe::user_id_of;
pub use run::{Event, RunOptions, Step, TestMethod, connect_options};

use aws_error::AwsError;

/// A new version id (a random UUID, as Secrets Manager makes them): the
/// `ClientRequestToken` of a rotation the CLI starts itself.
pub fn new_version_id() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // Version 4, variant 1, as RFC 9562 lays them out.
    format!(
        "{}-{}-4{}-{:x}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        (bytes[8] & 0x3) | 0x8,
        &hex[17..20],
        &hex[20..32]
    )
}

/// The rotation engine, holding its two clients.
#[derive(Debug, Clone)]
pub struct Rotation {
    secrets: aws_sdk_secretsmanager::Client,
    elasticache: aws_sdk_elasticache::Client,
}

impl Rotation {
    /// An engine using these clients.
    pub fn new(
        secrets: aws_sdk_secretsmanager::Client,
        elasticache: aws_sdk_elasticache::Client,
    ) -> Self {
        Rotation {
            secrets,
            elasticache,
        }
    }
}

/// What can stop a rotation. No variant can carry a credential.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The secret is not tagged for the stack being rotated.
    #[error(
        "secret {secret} is not tagged for stack {stack} (elasticache-action:stack = {}): refusing to rotate it",
        tagged.as_deref().unwrap_or("absent")
    )]
    NotOurs {
        /// The secret.
        secret: String,
        /// The stack asked for.
        stack: String,
        /// The stack it is tagged for, if any.
        tagged: Option<String>,
    },
    /// The secret does not exist.
    #[error("secret {0} does not exist: apply the stack first")]
    NoSecret(String),
    /// The secret is scheduled for deletion.
    #[error("secret {0} is scheduled for deletion: restore it (apply does) before rotating")]
    SecretDeleted(String),
    /// The replication group does not exist.
    #[error("replication group {0} does not exist: apply the stack first")]
    NoGroup(String),
    /// The user does not exist.
    #[error("user {0} does not exist: apply the stack first")]
    NoUser(String),
    /// The secret's state allows no step.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A rotation step named a version that is not the pending one.
    #[error("version {version} of secret {secret} is not AWSPENDING: nothing to rotate in")]
    NotPending {
        /// The secret.
        secret: String,
        /// The version the step named.
        version: String,
    },
    /// A new rotation was asked for while another one is pending.
    #[error(
        "secret {secret} has another rotation pending (version {pending}): `orchestrator rotate` resumes it, or remove its AWSPENDING label to abandon it"
    )]
    OtherRotationPending {
        /// The secret.
        secret: String,
        /// The pending version.
        pending: String,
    },
    /// A user's secret without the user's ARN (written before connection fields were).
    #[error(
        "secret {0} holds a username but no user_arn: apply the stack to write its connection fields"
    )]
    NoUserArn(String),
    /// A secret's value is not the JSON document the stack writes.
    #[error(
        "version {version} of secret {secret} does not hold a JSON document with `auth_token` or `password`"
    )]
    Unreadable {
        /// The secret.
        secret: String,
        /// The version read.
        version: String,
    },
    /// The test of the new (or, after a revoke, the previous) credential failed.
    #[error("testing {what} failed: {why}; AWSCURRENT still holds the credential that works")]
    TestFailed {
        /// What was tested.
        what: String,
        /// What went wrong, in the connection check's words.
        why: String,
    },
    /// A connection test could not start.
    #[error("the connection test could not run: {0}")]
    Connect(String),
    /// ElastiCache stayed busy longer than the run may wait.
    #[error("gave up after {waited}: {why}; run again to resume")]
    TimedOut {
        /// How long it waited.
        waited: String,
        /// What it waited for.
        why: String,
    },
    /// Steps were taken without the state moving on (something else changes it too).
    #[error(
        "{0} steps taken without finishing: something else is changing the secret or the group; run again once it is done"
    )]
    NoProgress(usize),
}

impl RotationError {
    /// Whether running again later may succeed on its own: ElastiCache was busy, or AWS
    /// failed on the way.
    pub fn is_retryable(&self) -> bool {
        match self {
            RotationError::TimedOut { .. } | RotationError::NoProgress(_) => true,
            RotationError::Aws(error) => error.outcome_unknown(),
            _ => false,
        }
    }
}
