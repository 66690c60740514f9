//! The pure half of the logs step.

use plan::tags::{merged, tags_value};
use plan::{Change, Diff, Known, ResourceId, Value};

use crate::{Desired, DesiredLogGroup, LogsError, Observed, Tags};

/// One CloudWatch Logs write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    Create { group: DesiredLogGroup },
    SetRetention { name: String, days: i32 },
    AssociateKey { name: String, key: Known<String> },
    Tag { arn: String, tags: Tags },
    Delete { name: String },
}

/// The logs step's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct LogsPlan {
    /// One change per group.
    pub changes: Vec<Change>,
    /// Groups kept although the spec no longer wants them.
    pub warnings: Vec<String>,
    /// The outputs.
    pub outputs: LogsOutputs,
    pub(crate) ops: Vec<Op>,
}

impl LogsPlan {
    /// Whether apply would write anything.
    pub fn has_writes(&self) -> bool {
        !self.ops.is_empty()
    }
}

/// What the replication group's log delivery needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsOutputs {
    /// `(log type, group name)` for each enabled log type.
    pub groups: Vec<(&'static str, String)>,
}

/// Resource kinds this step shows.
pub mod kinds {
    /// A CloudWatch Logs group.
    pub const LOG_GROUP: &str = "log_group";
}

/// Plans the log groups.
pub fn diff(desired: &Desired, observed: &Observed) -> Result<LogsPlan, LogsError> {
    let mut plan = LogsPlan {
        changes: Vec::new(),
        warnings: Vec::new(),
        outputs: LogsOutputs {
            groups: desired
                .groups
                .iter()
                .map(|g| (g.log_type, g.name.clone()))
                .collect(),
        },
        ops: Vec::new(),
    };
    for group in &desired.groups {
        let id = ResourceId::new(kinds::LOG_GROUP, &group.name);
        let Some(found) = observed.groups.get(&group.name) else {
            plan.changes.push(Change::create(
                id,
                vec![
                    ("kms_key_id", group.kms_key.to_plan_value()),
                    ("retention_days", Value::from(group.retention_days)),
                    ("tags", tags_value(&group.tags)),
                ],
            ));
            plan.ops.push(Op::Create {
                group: group.clone(),
            });
            continue;
        };
        let merged = merged(&found.tags, &group.tags);
        let change = Diff::new(id)
            .attribute(
                "kms_key_id",
                Value::from(found.kms_key.clone()),
                group.kms_key.to_plan_value(),
            )
            .attribute(
                "retention_days",
                Value::from(found.retention_days),
                Value::from(group.retention_days),
            )
            .tags(&found.tags, &group.tags)
            .finish();
        if found.retention_days != Some(group.retention_days) {
            plan.ops.push(Op::SetRetention {
                name: group.name.clone(),
                days: group.retention_days,
            });
        }
        if found.kms_key.as_ref() != group.kms_key.value() {
            plan.ops.push(Op::AssociateKey {
                name: group.name.clone(),
                key: group.kms_key.clone(),
            });
        }
        if merged != found.tags {
            plan.ops.push(Op::Tag {
                arn: found.arn.clone(),
                tags: group.tags.clone(),
            });
        }
        plan.changes.push(change);
    }
    for name in &desired.unwanted {
        if observed.groups.contains_key(name) {
            unwanted(&mut plan, desired, name);
        }
    }
    Ok(plan)
}

fn unwanted(plan: &mut LogsPlan, desired: &Desired, name: &str) {
    if desired.delete_unwanted {
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::LOG_GROUP, name),
            vec![],
        ));
        plan.ops.push(Op::Delete {
            name: name.to_owned(),
        });
    } else {
        plan.warnings.push(format!(
            "log group {name} is no longer delivered to and is kept with its events; set destroy.delete_log_groups to delete it"
        ));
    }
}

/// Plans destroy: log groups are kept unless the spec opts in to deleting them.
pub fn diff_destroy(desired: &Desired, observed: &Observed) -> LogsPlan {
    let mut plan = LogsPlan {
        changes: Vec::new(),
        warnings: Vec::new(),
        outputs: LogsOutputs { groups: Vec::new() },
        ops: Vec::new(),
    };
    for name in desired.all_names() {
        if observed.groups.contains_key(name) {
            unwanted(&mut plan, desired, name);
        }
    }
    plan
}
