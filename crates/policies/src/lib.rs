/*!
The best practices after step 8: the connection parameters in SSM Parameter Store
(endpoints, port, the secret's ARN; `SecureString` under the stack key) and the
least-privilege IAM managed policies an application needs: `<stack>-read-connection`
(those parameters, the stack's secrets, `kms:Decrypt` only through SSM and Secrets
Manager) and, for IAM authentication, `<stack>-connect` (`elasticache:Connect` on the
group and its users), optionally attached to the roles the spec names.

It owns the policy documents ([`document`]), the parameter names, and keeping both in
sync. It does not own the resources they point at (steps 1-8 hand in their outputs as
[`Inputs`]) and never prints.

Architecture invariant: every statement names exact ARNs (no `*` resource), and only
parameters with the names this crate writes and policies with the names it creates are
ever changed or deleted; roles are never modified beyond attaching and detaching our
own policies.
*/
#![deny(missing_docs)]

mod apply;
mod diff;
mod model;
mod observe;

pub use model::*;
pub mod document;

pub use aws_error::AwsError;
pub use diff::{PoliciesOutputs, PoliciesPlan, diff, diff_destroy, kinds};

/// This step, holding its clients.
#[derive(Debug, Clone)]
pub struct Policies {
    ssm: aws_sdk_ssm::Client,
    iam: aws_sdk_iam::Client,
}

impl Policies {
    /// A policies step using these clients.
    pub fn new(ssm: aws_sdk_ssm::Client, iam: aws_sdk_iam::Client) -> Self {
        Policies { ssm, iam }
    }
}

/// What can go wrong in this step.
#[derive(Debug, thiserror::Error)]
pub enum PoliciesError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A role to attach the policies to does not exist.
    #[error(
        "IAM role {0} (outputs.attach_to_roles) does not exist in this account; create it first or remove it from the spec"
    )]
    RoleNotFound(String),
    /// A policy document read from IAM is not JSON.
    #[error("policy {0}: its document is not JSON; fix or delete it by hand")]
    UnreadableDocument(String),
    /// An output of an earlier step was not known at apply time.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

#[cfg(test)]
mod tests;
