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

mod aws;
mod diff;

use std::collections::BTreeMap;

pub use aws_error::AwsError;
pub use diff::{LogsOutputs, LogsPlan, diff, diff_destroy, kinds};
use plan::Known;
use spec::{LogSettings, Spec, names};

/// Tags as CloudWatch Logs stores them.
pub use plan::tags::Tags;

/// The log groups the spec asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// Groups for the enabled log types.
    pub groups: Vec<DesiredLogGroup>,
    /// Names of groups for log types the spec turned off.
    pub unwanted: Vec<String>,
    /// Whether unwanted groups (and, on destroy, all groups) are deleted.
    pub delete_unwanted: bool,
}

/// One log group.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredLogGroup {
    /// ElastiCache's log type: `slow-log` or `engine-log`.
    pub log_type: &'static str,
    /// The group's name.
    pub name: String,
    /// Days to keep events.
    pub retention_days: i32,
    /// The KMS key ARN encrypting it.
    pub kms_key: Known<String>,
    /// Its tags.
    pub tags: Tags,
}

impl Desired {
    /// The log groups `spec` asks for, encrypted with `kms_key`.
    pub fn from_spec(spec: &Spec, kms_key: &Known<String>) -> Desired {
        let mut tags = spec.tags.clone();
        tags.insert(spec::STACK_TAG.to_owned(), spec.stack.clone());
        let enabled = names::enabled_log_groups(spec);
        let settings = |log_type: &str| -> &LogSettings {
            if log_type == "slow-log" {
                &spec.logs.slow
            } else {
                &spec.logs.engine
            }
        };
        let groups = enabled
            .iter()
            .map(|(log_type, name)| DesiredLogGroup {
                log_type,
                name: name.clone(),
                retention_days: i32::try_from(settings(log_type).retention_days)
                    .unwrap_or(i32::MAX),
                kms_key: kms_key.clone(),
                tags: tags.clone(),
            })
            .collect();
        let unwanted = [names::slow_log_group(spec), names::engine_log_group(spec)]
            .into_iter()
            .filter(|name| !enabled.iter().any(|(_, wanted)| wanted == name))
            .collect();
        Desired {
            groups,
            unwanted,
            delete_unwanted: spec.destroy.delete_log_groups,
        }
    }

    fn all_names(&self) -> impl Iterator<Item = &str> {
        self.groups
            .iter()
            .map(|g| g.name.as_str())
            .chain(self.unwanted.iter().map(String::as_str))
    }
}

/// The log groups as they are, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Every group of the stack's names that exists.
    pub groups: BTreeMap<String, ObservedLogGroup>,
}

/// One log group as CloudWatch Logs describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedLogGroup {
    /// Its ARN, without the `:*` suffix.
    pub arn: String,
    /// Days events are kept; `None` is forever.
    pub retention_days: Option<i32>,
    /// The KMS key encrypting it.
    pub kms_key: Option<String>,
    /// Its tags.
    pub tags: Tags,
}

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
