/*!
Step 6 of a stack: one CloudWatch Logs group per enabled log type (slow log, engine log),
each with its own name, encrypted with the stack key from creation, with the spec's
retention and tags.

Same contract as every step: [`Desired::from_spec`] (which needs the key ARN from the
`kms` step, possibly known only after apply), [`Logs::observe`], a pure [`diff`] and
[`diff_destroy`], then [`Logs::apply`]. A log group the spec no longer wants is kept, and
the plan says so, unless the spec sets `destroy.delete_log_groups`: logs are data.
*/
#![deny(missing_docs)]

mod apply;
mod diff;
mod model;
mod observe;

pub use model::*;

#[cfg(test)]
mod tests;

pub use aws_error::AwsError;
pub use diff::{LogsOutputs, LogsPlan, diff, diff_destroy, kinds};

/// Tags as CloudWatch Logs stores them.
pub use plan::tags::Tags;

/// The logs step, holding its client.
#[derive(Debug, Clone)]
pub struct Logs {
    client: aws_sdk_cloudwatchlogs::Client,
}

impl Logs {
    /// A logs step using `client`.
    pub fn new(client: aws_sdk_cloudwatchlogs::Client) -> Self {
        Logs { client }
    }
}

/// What can go wrong in the logs step.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Apply was called before the key's ARN was known.
    #[error("internal error: {0}")]
    Internal(&'static str),
}
