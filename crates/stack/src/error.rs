//! What can go wrong with a stack, and what the user can do about it ([`Hint`]).
//!
//! Each error's text states each fact once: a step's error is wrapped with the step's
//! name but is not also exposed as its `source`, so a front end that prints the chain
//! (anyhow's `{:#}`) does not print it twice.

use std::time::Duration;

use aws_error::AwsError;
use cluster::ClusterError;
use kms::KmsError;
use logs::LogsError;
use network::NetworkError;
use policies::PoliciesError;
use rotation_runner::RunnerError;
use secrets::SecretsError;

/// What went wrong while planning, applying or destroying a stack.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The network step failed.
    #[error("network: {0}")]
    Network(NetworkError),
    /// The KMS step failed.
    #[error("kms: {0}")]
    Kms(KmsError),
    /// The logs step failed.
    #[error("logs: {0}")]
    Logs(LogsError),
    /// The secrets step failed.
    #[error("secrets: {0}")]
    Secrets(SecretsError),
    /// The cluster step failed.
    #[error("cluster: {0}")]
    Cluster(ClusterError),
    /// The policies step failed.
    #[error("policies: {0}")]
    Policies(PoliciesError),
    /// The rotation runner step failed.
    #[error("rotation runner: {0}")]
    Runner(RunnerError),
    /// Destroy left steps alone because the replication group still exists.
    #[error("not destroyed yet: {} (they are in use until the replication group is gone)", .0.join(", "))]
    Skipped(Vec<&'static str>),
    /// An AWS call outside the steps failed (the caller's identity).
    #[error(transparent)]
    Aws(AwsError),
    /// The plan replaces resources and the user did not allow replacements.
    #[error(
        "refusing to replace {}: AWS cannot change {} in place, and replacements were not allowed",
        .resources.join(", "),
        .attributes.join(", ")
    )]
    ReplacementRefused {
        /// The resources that would be replaced.
        resources: Vec<String>,
        /// The attributes forcing it.
        attributes: Vec<String>,
    },
    /// What a step would change now differs from what the plan showed.
    #[error("the stack changed since the plan: {step}: {}; nothing more was applied", .differences.join("; "))]
    ChangedSincePlan {
        /// The step whose plan no longer holds.
        step: &'static str,
        /// What differs, one entry per resource.
        differences: Vec<String>,
    },
    /// A plan made for another stack was passed in.
    #[error("the plan is for stack {planned}, not {stack}")]
    WrongPlan {
        /// The stack the plan was made for.
        planned: String,
        /// This stack.
        stack: String,
    },
    /// The spec asks for what its region does not have (found at plan, before any write).
    #[error("the spec asks for what {region} does not have:{}", .problems.iter().map(|p| format!("\n  {p}")).collect::<String>())]
    NotInRegion {
        /// The spec's region.
        region: String,
        /// Each field and what the region offers instead.
        problems: Vec<spec::SpecError>,
    },
    /// No AWS endpoint answered in the spec's region (and no `AWS_ENDPOINT_URL` points
    /// elsewhere): a region name AWS does not have, or no network.
    #[error(
        "cannot reach AWS in region `{region}` ({cause}): check the spec's `region`, and that this machine reaches AWS"
    )]
    RegionUnreachable {
        /// The spec's region.
        region: String,
        /// The call that found it.
        cause: AwsError,
    },
    /// The endpoint answered, but knows no such region (the emulator answers a 500 for
    /// one).
    #[error("`{region}` is not a region {} knows (it lists {}); check the spec's `region`", endpoint, regions.join(", "))]
    UnknownRegion {
        /// The spec's region.
        region: String,
        /// Who was asked: AWS, or the endpoint `AWS_ENDPOINT_URL` names.
        endpoint: String,
        /// The regions it lists.
        regions: Vec<String>,
    },
    /// Another run holds the stack's lock.
    #[error("stack {stack} is locked by {held}; waited {}", cluster::format_duration(*.waited))]
    Locked {
        /// The stack.
        stack: String,
        /// Who holds it.
        held: Box<crate::LockInfo>,
        /// How long this run waited for it.
        waited: Duration,
    },
    /// `unlock` was given an id that is not the lock's.
    #[error("stack {stack} has {}; nothing was unlocked", match .held { Some(held) => format!("the lock {held}, not {id}"), None => "no lock".to_owned() })]
    NotThatLock {
        /// The stack.
        stack: String,
        /// The id given.
        id: String,
        /// The lock there is, if any.
        held: Option<Box<crate::LockInfo>>,
    },
    /// An IAM token was asked of a stack whose users do not authenticate with IAM.
    #[error(
        "stack {stack} authenticates with `auth.mode: {mode}`; IAM tokens are for `auth.mode: iam` stacks"
    )]
    NotIam {
        /// The stack.
        stack: String,
        /// Its auth mode.
        mode: &'static str,
    },
    /// A user the spec does not list.
    #[error("stack {stack} has no user `{user}`; {}", match .known.as_slice() { [] => "it has no users".to_owned(), known => format!("its users: {}", known.join(", ")) })]
    UnknownUser {
        /// The stack.
        stack: String,
        /// The user asked for (cut when long).
        user: String,
        /// The users the spec lists.
        known: Vec<String>,
    },
    /// No credentials to sign with.
    #[error("no AWS credentials to sign with: {0}")]
    NoCredentials(String),
    /// The IAM token could not be signed.
    #[error("signing the IAM token: {0}")]
    IamToken(iam_auth::TokenError),
    /// The stack has no credential to rotate.
    #[error(
        "stack {stack} has no credential to rotate (auth.mode: {mode}): rotation is for `auth.mode: token` and `auth.mode: rbac`"
    )]
    NothingToRotate {
        /// The stack.
        stack: String,
        /// Its auth mode.
        mode: &'static str,
    },
    /// A credential's rotation stopped.
    #[error(transparent)]
    Rotation(#[from] rotation::RotationError),
    /// The stack has no endpoint yet.
    #[error("stack {stack} has no replication group endpoint yet: apply it first")]
    NotApplied {
        /// The stack.
        stack: String,
    },
    /// A user was named for a stack whose clients log in without one.
    #[error("stack {stack} has no users to pick (auth.mode: {mode}); leave out the user")]
    NoUsers {
        /// The stack.
        stack: String,
        /// Its auth mode.
        mode: &'static str,
    },
    /// The credential's secret is scheduled for deletion.
    #[error(
        "the secret {name} is scheduled for deletion (a destroy?): restore it with `aws secretsmanager restore-secret --secret-id {name}`, or apply to make the stack whole"
    )]
    SecretPendingDeletion {
        /// The secret.
        name: String,
    },
    /// The group has no such endpoint in its mode.
    #[error("the group has no {which} endpoint {}", if *.cluster_mode { "in cluster mode (use the configuration endpoint)" } else { "with cluster mode disabled (use primary or reader)" })]
    NoSuchEndpoint {
        /// Which was asked for.
        which: &'static str,
        /// Whether the group runs in cluster mode.
        cluster_mode: bool,
    },
    /// The connection check could not start.
    #[error("{0}")]
    ConnectionCheck(String),
    /// Several steps failed during destroy; each was still attempted.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<StackError>),
}

/// What the user can do about an error, for each front end to say in its own words: the
/// CLI names its flag, a service broker its parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// Allow replacements (`--allow-replacement`).
    AllowReplacement,
    /// Run again to continue, or allow a longer wait than this (`--timeout`).
    WaitLonger {
        /// How long the wait that ended lasted.
        waited: Duration,
    },
    /// The group was busy and apply was told not to wait (`--no-wait`): wait for it.
    WaitForIt,
    /// Plan again and review the new plan.
    PlanAgain,
    /// Run destroy again once the replication group is gone.
    DestroyAgain,
    /// Wait longer for the lock (`--lock-timeout`), or, when its holder died, remove
    /// it (`orchestrator unlock SPEC ID`).
    LockHeld {
        /// The lock's id.
        id: String,
    },
    /// The endpoint `AWS_ENDPOINT_URL` names did not answer as AWS would: an emulator
    /// that is not running, usually.
    StartEmulator {
        /// The endpoint.
        endpoint: String,
    },
}

impl StackError {
    /// What the user can do about it, if there is something to say.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            StackError::ReplacementRefused { .. } => Some(Hint::AllowReplacement),
            StackError::ChangedSincePlan { .. } => Some(Hint::PlanAgain),
            StackError::Skipped(_) => Some(Hint::DestroyAgain),
            StackError::Locked { held, .. } => Some(Hint::LockHeld {
                id: held.id.clone(),
            }),
            StackError::Cluster(ClusterError::WaitTimedOut { waited, .. }) => {
                Some(Hint::WaitLonger { waited: *waited })
            }
            StackError::Cluster(ClusterError::Busy { .. }) => Some(Hint::WaitForIt),
            StackError::Several(errors) => errors.iter().find_map(StackError::hint),
            other => other
                .aws()
                .and_then(AwsError::unreachable_override)
                .map(|endpoint| Hint::StartEmulator { endpoint }),
        }
    }

    /// The failed AWS call behind this error, if it is one.
    pub fn aws(&self) -> Option<&AwsError> {
        match self {
            StackError::Network(NetworkError::Aws(e))
            | StackError::Kms(KmsError::Aws(e))
            | StackError::Logs(LogsError::Aws(e))
            | StackError::Secrets(SecretsError::Aws(e))
            | StackError::Cluster(ClusterError::Aws(e))
            | StackError::Policies(PoliciesError::Aws(e))
            | StackError::Runner(RunnerError::Aws(e))
            | StackError::Aws(e)
            | StackError::RegionUnreachable { cause: e, .. } => Some(e),
            _ => None,
        }
    }
}

macro_rules! from_step {
    ($($error:ty => $variant:ident),* $(,)?) => {$(
        impl From<$error> for StackError {
            fn from(error: $error) -> Self {
                StackError::$variant(error)
            }
        }
    )*};
}

from_step! {
    NetworkError => Network,
    KmsError => Kms,
    LogsError => Logs,
    SecretsError => Secrets,
    ClusterError => Cluster,
    PoliciesError => Policies,
    RunnerError => Runner,
    AwsError => Aws,
}

/// A value from the command line, cut for an error message: it may be anything.
pub(crate) fn cut(value: &str) -> String {
    const LONGEST: usize = 64;
    match value.char_indices().nth(LONGEST) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}
