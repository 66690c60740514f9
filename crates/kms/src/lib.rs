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

mod apply;
mod diff;
mod model;
mod observe;

pub use model::*;

pub mod policy;
#[cfg(test)]
mod tests;

pub use aws_error::AwsError;
pub use diff::{KmsOutputs, KmsPlan, diff, diff_destroy, kinds};

/// Tags as KMS stores them.
pub use plan::tags::Tags;

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
