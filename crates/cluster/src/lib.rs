/*!
Step 8 of a stack: the ElastiCache replication group and what it needs of its own: the
parameter group (only when the spec sets parameters), and for `auth: rbac` or
`auth: iam` the users and their user group, with a `default` user that can do nothing.

It owns: which attributes change in place and which force a replacement
([`diff`]), the order of ElastiCache calls so each intermediate state is one AWS
accepts, and waiting until ElastiCache has finished ([`WaitOptions`], [`Progress`]).
It does not own the network, key, log groups or secrets it uses (steps 1-7 hand them
in as [`Inputs`] and secret names), does not read secret values (the caller passes
[`Credentials`] to apply), and never prints.

Architecture invariant: plans and operations name secrets, never hold their values;
the AUTH token and passwords exist only inside the request that sends them.
*/
#![deny(missing_docs)]

mod apply;
mod convert;
mod diff;
mod model;
mod observe;
mod ops;
mod wait;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

pub use aws_error::AwsError;
pub use diff::{ClusterOutputs, ClusterPlan, diff, diff_destroy, kinds};
pub use model::*;
pub use wait::{Progress, WaitOptions};

use plan::Sensitive;
/// Tags as ElastiCache stores them.
pub use plan::tags::Tags;

/// Secret values apply sends: by secret name, the AUTH token or a user's password.
#[derive(Debug, Default)]
pub struct Credentials(BTreeMap<String, Sensitive>);

impl Credentials {
    /// No credentials.
    pub fn new() -> Self {
        Credentials::default()
    }

    /// Adds the credential kept in `secret`.
    pub fn insert(&mut self, secret: impl Into<String>, value: Sensitive) {
        self.0.insert(secret.into(), value);
    }

    fn get(&self, secret: &str) -> Result<&Sensitive, ClusterError> {
        self.0
            .get(secret)
            .ok_or_else(|| ClusterError::MissingCredential(secret.to_owned()))
    }
}

/// The cluster step, holding its client.
#[derive(Debug, Clone)]
pub struct Cluster {
    client: aws_sdk_elasticache::Client,
}

impl Cluster {
    /// A cluster step using `client`.
    pub fn new(client: aws_sdk_elasticache::Client) -> Self {
        Cluster { client }
    }
}

/// What can go wrong in step 8. No variant can carry a secret value.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A wait ended in a status that will not become ready.
    #[error(
        "{resource} is `{status}`: it will not become available. Check the ElastiCache console's events for the cause"
    )]
    WaitFailed {
        /// What was waited for.
        resource: String,
        /// Its last status.
        status: String,
    },
    /// A wait took longer than allowed.
    #[error("timed out after {} waiting for {resource} (last status `{status}`); ElastiCache is still working on it: run again to continue, or allow a longer wait", format_duration(*.waited))]
    WaitTimedOut {
        /// What was waited for.
        resource: String,
        /// Its last status.
        status: String,
        /// How long it waited.
        waited: Duration,
    },
    /// The group is busy and the user asked not to wait.
    #[error(
        "{resource} is `{status}`, and apply was asked not to wait for it; apply again once it is available"
    )]
    Busy {
        /// What is busy.
        resource: String,
        /// Its status.
        status: String,
    },
    /// Apply needs a secret's value the caller did not pass.
    #[error("internal error: the value of secret {0} was not provided")]
    MissingCredential(String),
    /// An output of an earlier step was not known at apply time.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// `1h 02m 03s`, `4m 05s`, `6s`.
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s:02}s"),
        _ => format!("{h}h {m:02}m {s:02}s"),
    }
}
