/*!
Steps 1-3 of a stack: the VPC and its private subnets (or an existing VPC and subnets),
the cache subnet group, and the security group that admits the cache port only from the
allowed CIDRs and groups.

The step follows the contract every step crate follows: [`Desired::from_spec`] derives
what should exist, [`Network::observe`] reads what does (by the stack tag and
deterministic names), [`diff`] compares the two without calling AWS, and
[`Network::apply`] performs only the difference and returns [`NetworkOutputs`] for later
steps. [`diff_destroy`] and [`Network::destroy`] do the same for deletion.

This crate does not own the order of steps, waiting or output: the `stack` crate and the
orchestrator do. It owns how its creates avoid duplicates when an answer is lost
(`create.rs`); other calls keep the SDK's standard retries. It never deletes a VPC or subnet it did not create.
*/
#![deny(missing_docs)]

mod apply;
mod create;
mod diff;
mod model;
mod observe;

#[cfg(test)]
mod tests;

pub use aws_error::AwsError;
use aws_error::{absent_if, aws_error};

pub use diff::{NetworkOutputs, NetworkPlan, diff, diff_destroy, kinds};
pub use model::*;

/// Helpers for EC2 creates the rotation runner shares.
pub mod ec2 {
    pub use crate::apply::tag_spec;
    pub use crate::create::sent_once;
}

/// The network step, holding the clients it calls.
#[derive(Debug, Clone)]
pub struct Network {
    ec2: aws_sdk_ec2::Client,
    elasticache: aws_sdk_elasticache::Client,
}

impl Network {
    /// A network step using these clients.
    pub fn new(ec2: aws_sdk_ec2::Client, elasticache: aws_sdk_elasticache::Client) -> Self {
        Network { ec2, elasticache }
    }
}

/// What can go wrong in the network step.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The existing VPC named in the spec does not exist.
    #[error("VPC {0} (network.existing.vpc_id) does not exist in this account and region")]
    VpcNotFound(String),
    /// Existing subnets named in the spec do not exist.
    #[error("subnets {} (network.existing.subnet_ids) do not exist in this account and region", .0.join(", "))]
    SubnetsNotFound(Vec<String>),
    /// Existing subnets belong to another VPC.
    #[error("subnets {} are not in VPC {vpc_id}", subnets.join(", "))]
    SubnetsOutsideVpc {
        /// The spec's VPC.
        vpc_id: String,
        /// The subnets elsewhere, with their VPC.
        subnets: Vec<String>,
    },
    /// Multi-AZ is on but every subnet is in one zone.
    #[error(
        "Multi-AZ needs subnets in at least two availability zones; all of network.existing.subnet_ids are in {zone}"
    )]
    SingleZone {
        /// The one zone.
        zone: String,
    },
    /// A replacement this tool does not perform.
    #[error("refused: {0}")]
    Refused(String),
    /// Several deletions failed.
    #[error("{} operations failed:\n{}", .0.len(), list(.0))]
    Several(Vec<NetworkError>),
    /// A bug: an operation ran before the one it depends on.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

fn list(errors: &[NetworkError]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}
