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
            .attribute("tags", tags_value(&found.tags), tags_value(&merged))
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

#[cfg(test)]
mod tests {
    use plan::Action;

    use super::*;
    use crate::ObservedLogGroup;

    fn desired(extra: &str) -> Desired {
        let source = format!(
            "stack: demo\nregion: us-east-1\nengine: {{name: valkey, version: \"8.0\"}}\nnode_type: cache.t4g.micro\n\
             network: {{create: {{vpc_cidr: 10.0.0.0/16, subnets: [{{availability_zone: us-east-1a, cidr: 10.0.1.0/24}}, \
             {{availability_zone: us-east-1b, cidr: 10.0.2.0/24}}]}}, allow: {{cidrs: [10.0.0.0/8]}}}}\n{extra}"
        );
        let spec = spec::parse(&source, "t.yaml").expect("valid");
        Desired::from_spec(&spec, &Known::Value("arn:key".into()))
    }

    fn converged(desired: &Desired) -> Observed {
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

    #[test]
    fn one_group_per_log_type_with_distinct_names() {
        let desired = desired("");
        let names: Vec<&str> = desired.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "/aws/elasticache/demo/slow-log",
                "/aws/elasticache/demo/engine-log"
            ]
        );
        let plan = diff(&desired, &Observed::default()).expect("plans");
        assert_eq!(
            plan.changes
                .iter()
                .filter(|c| c.action == Action::Create)
                .count(),
            2
        );
    }

    #[test]
    fn a_converged_group_plans_nothing_and_drift_is_repaired() {
        let desired = desired("");
        assert!(
            !diff(&desired, &converged(&desired))
                .expect("plans")
                .has_writes()
        );
        let mut observed = converged(&desired);
        if let Some(group) = observed.groups.get_mut("/aws/elasticache/demo/slow-log") {
            group.retention_days = Some(7);
            group.kms_key = None;
            group.tags.remove("elasticache-action:stack");
        }
        let plan = diff(&desired, &observed).expect("plans");
        assert_eq!(plan.changes[0].action, Action::Update);
        assert_eq!(plan.ops.len(), 3, "{:?}", plan.ops);
    }

    #[test]
    fn a_group_no_longer_wanted_is_kept_unless_deleting_is_allowed() {
        let observed = converged(&desired(""));
        let plan = diff(&desired("logs: {engine: {enabled: false}}\n"), &observed).expect("plans");
        assert!(!plan.has_writes());
        assert_eq!(plan.warnings.len(), 1);
        let plan = diff(
            &desired("logs: {engine: {enabled: false}}\ndestroy: {delete_log_groups: true}\n"),
            &observed,
        )
        .expect("plans");
        assert_eq!(
            plan.ops,
            [Op::Delete {
                name: "/aws/elasticache/demo/engine-log".into()
            }]
        );
    }

    #[test]
    fn destroy_keeps_logs_by_default() {
        let desired = desired("");
        let plan = diff_destroy(&desired, &converged(&desired));
        assert!(plan.ops.is_empty());
        assert_eq!(plan.warnings.len(), 2);
    }
}
