/*!
The rotation runner (`auth.rotation.runner: lambda`): what the seed's CDK app deploys by
hand so that Secrets Manager rotates the stack's credentials on a schedule with the
`rotation-lambda` function.

It owns, all named `<stack>-rotation` unless said otherwise:
- the IAM role the function runs as, with one inline policy naming exact ARNs (the
  stack's secrets, its replication group, its RBAC users, its key only through Secrets
  Manager, the function's log group); only the network-interface calls Lambda makes for
  a function in a VPC use `*`, for the `Describe*` calls that have no resource ARN;
- the function (`provided.al2023`, the package from this version's GitHub release or a
  local zip, [`package`]), in the stack's subnets and the cache's security group, whose
  rule for its own members admits it (the network step owns that rule);
- `<stack>-endpoints`, a security group admitting HTTPS from the cache's group, and the
  interface endpoints for Secrets Manager and ElastiCache in the stack's subnets, unless
  the spec says the VPC already reaches both;
- the permission letting `secretsmanager.amazonaws.com` invoke the function, limited to
  this account (`aws:SourceAccount`);
- each credential secret's rotation configuration (`RotateSecret` with the schedule and
  `RotateImmediately=false`: enabling never rotates by itself).

It does not own the secrets, the group, the users, the key or the log group (earlier
steps hand their ARNs in as [`Inputs`]), never prints, and never reads a secret value.

Architecture invariant: the only resources ever changed or deleted are those with the
names above (and endpoints tagged for the stack); a secret's rotation is turned off only
when it names this stack's function.
*/
#![deny(missing_docs)]

mod apply;
mod diff;
mod model;
mod observe;
pub mod package;
pub mod policy;

pub use aws_error::AwsError;
pub use diff::{RunnerOutputs, RunnerPlan, diff, diff_destroy, kinds};
pub use model::*;

/// This step, holding its clients.
#[derive(Debug, Clone)]
pub struct Runner {
    iam: aws_sdk_iam::Client,
    ec2: aws_sdk_ec2::Client,
    lambda: aws_sdk_lambda::Client,
    secrets: aws_sdk_secretsmanager::Client,
}

impl Runner {
    /// A runner step using these clients.
    pub fn new(
        iam: aws_sdk_iam::Client,
        ec2: aws_sdk_ec2::Client,
        lambda: aws_sdk_lambda::Client,
        secrets: aws_sdk_secretsmanager::Client,
    ) -> Self {
        Runner {
            iam,
            ec2,
            lambda,
            secrets,
        }
    }
}

/// What can go wrong in this step.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The function's package could not be read, fetched or verified.
    #[error("rotation function package: {0}")]
    Package(String),
    /// A stored policy document is not JSON.
    #[error("{0}: its policy document is not JSON; fix or delete it by hand")]
    UnreadableDocument(String),
    /// The function did not become ready in time.
    #[error(
        "Lambda function {function} was still {state} after {waited_seconds} s; run apply again once Lambda reports it Active"
    )]
    NotReady {
        /// The function.
        function: String,
        /// Its state when the wait ended.
        state: String,
        /// How long apply waited.
        waited_seconds: u64,
    },
    /// An output of an earlier step was not known at apply time.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

#[cfg(test)]
mod tests;
