/*!
Step 7 of a stack: the Secrets Manager secret holding the generated AUTH token
(`<stack>/auth-token`), or with `auth: rbac` one secret per user holding that user's
password, each encrypted with the stack key. The value is a JSON document with what a
client or a rotation needs: the token or username and password, the replication group
id and the port.

Same contract as every step: [`Desired::from_spec`], [`Secrets::observe`], a pure
[`diff`] and [`diff_destroy`], then [`Secrets::apply`] / [`Secrets::destroy`]. The
connection fields (host, port, user ARN) are known only once the replication group
exists, so [`document`] writes them in a part of its own that runs after the cluster
step.

Architecture invariant: a token is generated once, at apply time, inside the create
call's request; nothing in a plan, an `Op`, a log line or an error can hold it (values
travel as [`plan::Sensitive`]). Re-applies never regenerate or overwrite it.
*/
#![deny(missing_docs)]

mod apply;
mod diff;
mod model;
mod observe;

pub use model::*;

pub mod document;
#[cfg(test)]
mod tests;
pub mod token;

pub use apply::sdk_tags;
pub use aws_error::AwsError;
pub use diff::{SecretsOutputs, SecretsPlan, diff, diff_destroy, kinds};

/// Tags as Secrets Manager stores them.
pub use plan::tags::Tags;

/// The secrets step, holding its client.
#[derive(Debug, Clone)]
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
}

impl Secrets {
    /// A secrets step using `client`.
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Secrets { client }
    }
}

/// What can go wrong in the secrets step. No variant can carry a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A secret's value is not the JSON document this step writes (edited by hand?).
    #[error(
        "secret {0} does not hold a JSON document with `auth_token` or `password`; restore its value or delete it to have a new one generated"
    )]
    Unreadable(String),
    /// Apply was called before the key's ARN was known.
    #[error("internal error: {0}")]
    Internal(&'static str),
}
