/*!
Steps 4-5 of a stack: the customer-managed KMS key everything else is encrypted with —
its alias `alias/<stack>`, automatic rotation, tags and key policy — or the checks on an
existing key the spec names.

Same contract as every step: [`Desired::from_spec`], [`Kms::observe`], a pure [`diff`]
(and [`diff_destroy`]), then [`Kms::apply`] / [`Kms::destroy`]. Key policies are compared
as documents (see [`policy`]), so statement or action order never shows as a change.

This crate never deletes a key outright: destroy schedules deletion with a waiting
period, and never touches an existing key named in the spec.
*/
#![deny(missing_docs)]

mod aws;
mod diff;
pub mod policy;

pub use aws_error::AwsError;
pub use diff::{KmsOutputs, KmsPlan, diff, diff_destroy, kinds};
use spec::Spec;
use spec::names::{self, Scope};

/// Tags as KMS stores them.
pub use plan::tags::Tags;

/// The key the spec asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Desired {
    /// A key the stack creates and owns.
    Create {
        /// Its alias, `alias/<stack>`.
        alias: String,
        /// Its description.
        description: String,
        /// Its key policy.
        policy: serde_json::Value,
        /// Its tags, the stack tag included.
        tags: Tags,
        /// Days of waiting when destroy schedules its deletion.
        deletion_window_days: i32,
    },
    /// A key the user owns: checked, never changed.
    Existing {
        /// ARN, key id, alias or alias ARN, as written in the spec.
        key: String,
        /// Where the stack lives, to check the policy against.
        scope: Scope,
    },
}

impl Desired {
    /// The key `spec` asks for, in `scope`.
    pub fn from_spec(spec: &Spec, scope: &Scope) -> Desired {
        if let Some(key) = &spec.encryption.kms_key {
            return Desired::Existing {
                key: key.clone(),
                scope: scope.clone(),
            };
        }
        let log_group_arns: Vec<String> = names::enabled_log_groups(spec)
            .iter()
            .map(|(_, name)| scope.log_group_arn(name))
            .collect();
        let mut tags = spec.tags.clone();
        tags.insert(spec::STACK_TAG.to_owned(), spec.stack.clone());
        Desired::Create {
            alias: names::kms_alias(spec),
            description: format!(
                "ElastiCache stack {}: data at rest, secrets, logs, parameters",
                spec.stack
            ),
            policy: policy::key_policy(&spec.stack, scope, &log_group_arns),
            tags,
            deletion_window_days: i32::from(spec.destroy.kms_key_deletion_window_days),
        }
    }
}

/// The key as KMS describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// The key, if the alias (or the existing key reference) resolves.
    pub key: Option<ObservedKey>,
}

/// One key's state.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedKey {
    /// Key id.
    pub id: String,
    /// Key ARN.
    pub arn: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, …
    pub state: String,
    /// `SYMMETRIC_DEFAULT` for the keys ElastiCache accepts.
    pub key_spec: String,
    /// Its description.
    pub description: String,
    /// Its key policy, when it could be read.
    pub policy: Option<serde_json::Value>,
    /// Whether automatic rotation is on.
    pub rotation: bool,
    /// Its tags.
    pub tags: Tags,
}

/// The KMS step, holding its client.
#[derive(Debug, Clone)]
pub struct Kms {
    client: aws_sdk_kms::Client,
}

impl Kms {
    /// A KMS step using `client`.
    pub fn new(client: aws_sdk_kms::Client) -> Self {
        Kms { client }
    }
}

/// What can go wrong in the KMS step.
#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The existing key named in the spec does not exist.
    #[error(
        "KMS key {0} (encryption.kms_key) does not exist in this account and region, or this identity cannot describe it"
    )]
    KeyNotFound(String),
    /// The existing key cannot encrypt the stack's data.
    #[error("KMS key {key} (encryption.kms_key) cannot be used: {reason}")]
    KeyNotUsable {
        /// The key as the spec names it.
        key: String,
        /// Why not.
        reason: String,
    },
    /// A bug: an operation ran before the one it depends on.
    #[error("internal error: {0}")]
    Internal(&'static str),
}
