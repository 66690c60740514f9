//! What the step wants and what it finds.

use std::collections::BTreeMap;

use plan::Known;
use spec::{LogSettings, Spec, names};

use crate::Tags;

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
    /// ElastiCache's log type, `slow-log` or `engine-log`, or `rotation-function` for
    /// the rotation function's group (`auth.rotation.runner: lambda`).
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

/// What earlier steps hand to this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The stack key's ARN (step 4), which encrypts the groups.
    pub kms_key_arn: Known<String>,
}

impl Desired {
    /// The log groups `spec` asks for, encrypted with the stack key.
    pub fn from_spec(spec: &Spec, inputs: &Inputs) -> Desired {
        let kms_key = &inputs.kms_key_arn;
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
        let groups: Vec<DesiredLogGroup> = enabled
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
        let rotation = &spec.auth.rotation;
        let function_group = rotation.lambda_runner().then(|| DesiredLogGroup {
            log_type: "rotation-function",
            name: names::rotation_log_group(spec),
            retention_days: i32::try_from(rotation.lambda.log_retention_days).unwrap_or(i32::MAX),
            kms_key: kms_key.clone(),
            tags: tags.clone(),
        });
        let groups = groups.into_iter().chain(function_group).collect();
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

    pub(crate) fn all_names(&self) -> impl Iterator<Item = &str> {
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

#[cfg(any(test, feature = "test-util"))]
impl Observed {
    /// What CloudWatch Logs reports after a successful apply of `desired`.
    pub fn as_applied(desired: &Desired) -> Observed {
        Observed {
            groups: desired
                .groups
                .iter()
                .map(|g| {
                    (
                        g.name.clone(),
                        ObservedLogGroup {
                            arn: format!("arn:{}", g.name),
                            retention_days: Some(g.retention_days),
                            kms_key: g.kms_key.value().cloned(),
                            tags: g.tags.clone(),
                        },
                    )
                })
                .collect(),
        }
    }
}
