//! The pure half of the KMS step.

use plan::tags::tags_value;
use plan::{Action, Change, Diff, Known, ResourceId, Value};

use crate::policy::{allows_cloudwatch_logs, same_policy, statement_ids, statements_for_plan};
use crate::{Desired, KmsError, Observed, Tags};

/// One KMS write, in the order apply performs them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    CreateKey {
        description: String,
        policy: String,
        tags: Tags,
    },
    CreateAlias {
        alias: String,
    },
    EnableRotation,
    CancelDeletion,
    EnableKey,
    PutPolicy {
        policy: String,
    },
    Tag {
        tags: Tags,
    },
    UpdateDescription {
        description: String,
    },
    /// The stack key's at destroy, or a duplicate's.
    ScheduleDeletion {
        key_id: String,
        days: i32,
    },
    DeleteAlias {
        alias: String,
    },
}

/// The KMS step's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct KmsPlan {
    /// One change per resource (the key and its alias).
    pub changes: Vec<Change>,
    /// What the user should know (an existing key's policy lacking what logs need).
    pub warnings: Vec<String>,
    /// The outputs as far as they are known before apply.
    pub outputs: KmsOutputs,
    pub(crate) ops: Vec<Op>,
    pub(crate) key_id: Option<String>,
}

impl KmsPlan {
    /// Whether apply would write anything.
    pub fn has_writes(&self) -> bool {
        !self.ops.is_empty()
    }
}

/// What later steps need from the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsOutputs {
    /// The key's ARN.
    pub key_arn: Known<String>,
}

/// Resource kinds this step shows.
pub mod kinds {
    /// A KMS key.
    pub const KEY: &str = "kms_key";
    /// A KMS alias.
    pub const ALIAS: &str = "kms_alias";
}

/// Plans the key: creates or corrects a stack key, or checks an existing one.
pub fn diff(desired: &Desired, observed: &Observed) -> Result<KmsPlan, KmsError> {
    let mut plan = KmsPlan {
        changes: Vec::new(),
        warnings: Vec::new(),
        outputs: KmsOutputs {
            key_arn: observed.key.as_ref().map(|k| k.arn.clone()).into(),
        },
        ops: Vec::new(),
        key_id: observed.key.as_ref().map(|k| k.id.clone()),
    };
    match desired {
        Desired::Existing { key, scope } => {
            let found = observed
                .key
                .as_ref()
                .ok_or_else(|| KmsError::KeyNotFound(key.clone()))?;
            let unusable = |reason: String| KmsError::KeyNotUsable {
                key: key.clone(),
                reason,
            };
            if found.state != "Enabled" {
                return Err(unusable(format!("it is {}, not Enabled", found.state)));
            }
            if found.key_spec != "SYMMETRIC_DEFAULT" {
                return Err(unusable(format!(
                    "it is a {} key; ElastiCache needs a symmetric encryption key",
                    found.key_spec
                )));
            }
            match &found.policy {
                Some(policy) if !allows_cloudwatch_logs(policy, scope) => plan.warnings.push(format!(
                    "the key policy of {key} does not let {} use the key; encrypted log groups will fail to be created",
                    scope.service_host("logs")
                )),
                None => plan
                    .warnings
                    .push(format!("could not read the key policy of {key}; it was not checked")),
                Some(_) => {}
            }
        }
        Desired::Create {
            alias,
            description,
            policy,
            tags,
            deletion_window_days,
        } => {
            diff_created(&mut plan, alias, description, policy, tags, observed);
            let kept = observed.key.as_ref().map_or("", |k| k.id.as_str());
            schedule_duplicates(&mut plan, observed, *deletion_window_days, kept);
        }
    }
    Ok(plan)
}

fn diff_created(
    plan: &mut KmsPlan,
    alias: &str,
    description: &str,
    policy: &serde_json::Value,
    tags: &Tags,
    observed: &Observed,
) {
    let key_id = ResourceId::new(kinds::KEY, alias.trim_start_matches("alias/"));
    let alias_id = ResourceId::new(kinds::ALIAS, alias);
    let Some(key) = &observed.key else {
        plan.changes.push(Change::create(
            key_id,
            vec![
                ("description", Value::from(description)),
                ("key_spec", Value::from("SYMMETRIC_DEFAULT")),
                ("rotation", Value::from(true)),
                ("policy_statements", statement_ids(policy)),
                ("tags", tags_value(tags)),
            ],
        ));
        plan.changes.push(Change::create(
            alias_id,
            vec![("target_key_id", Value::Unknown)],
        ));
        plan.ops.push(Op::CreateKey {
            description: description.to_owned(),
            policy: policy.to_string(),
            tags: tags.clone(),
        });
        plan.ops.push(Op::CreateAlias {
            alias: alias.to_owned(),
        });
        plan.ops.push(Op::EnableRotation);
        return;
    };
    // A key scheduled for deletion (an earlier destroy) is brought back, not replaced.
    match key.state.as_str() {
        "PendingDeletion" => plan.ops.extend([Op::CancelDeletion, Op::EnableKey]),
        "Disabled" => plan.ops.push(Op::EnableKey),
        _ => {}
    }
    let current_policy = key.policy.clone().unwrap_or(serde_json::Value::Null);
    let policy_drift = !same_policy(&current_policy, policy);
    let mut change = Diff::new(key_id)
        .attribute("state", Value::from(&key.state), Value::from("Enabled"))
        .attribute(
            "description",
            Value::from(&key.description),
            Value::from(description),
        )
        .attribute("rotation", Value::from(key.rotation), Value::from(true))
        .tags(&key.tags, tags);
    if policy_drift {
        change = change.attribute(
            "policy",
            statements_for_plan(&current_policy),
            statements_for_plan(policy),
        );
        plan.ops.push(Op::PutPolicy {
            policy: policy.to_string(),
        });
    }
    if key.description != description {
        plan.ops.push(Op::UpdateDescription {
            description: description.to_owned(),
        });
    }
    if !key.rotation {
        plan.ops.push(Op::EnableRotation);
    }
    let missing = plan::tags::missing(&key.tags, tags);
    if !missing.is_empty() {
        plan.ops.push(Op::Tag { tags: missing });
    }
    plan.changes.push(change.finish());
    if observed.alias_missing {
        // Found by its tag: the alias is what the interrupted run did not create.
        plan.changes.push(Change::create(
            alias_id,
            vec![("target_key_id", Value::from(&key.id))],
        ));
        plan.ops.insert(
            0,
            Op::CreateAlias {
                alias: alias.to_owned(),
            },
        );
    } else {
        plan.changes.push(Diff::new(alias_id).finish());
    }
}

/// Plans destroying a stack key: deletion scheduled after the waiting period, alias
/// removed. An existing key is never touched.
pub fn diff_destroy(desired: &Desired, observed: &Observed) -> KmsPlan {
    let mut plan = KmsPlan {
        changes: Vec::new(),
        warnings: Vec::new(),
        outputs: KmsOutputs {
            key_arn: Known::AfterApply,
        },
        ops: Vec::new(),
        key_id: observed.key.as_ref().map(|k| k.id.clone()),
    };
    let Desired::Create {
        alias,
        deletion_window_days,
        ..
    } = desired
    else {
        return plan;
    };
    let Some(key) = &observed.key else {
        return plan;
    };
    plan.changes.push(Change::delete(
        ResourceId::new(kinds::ALIAS, alias),
        vec![("target_key_id", Value::from(&key.id))],
    ));
    plan.ops.push(Op::DeleteAlias {
        alias: alias.clone(),
    });
    if key.state != "PendingDeletion" {
        let mut change = Change::delete(
            ResourceId::new(kinds::KEY, alias.trim_start_matches("alias/")),
            vec![
                ("id", Value::from(&key.id)),
                ("deletion_window_days", Value::from(*deletion_window_days)),
            ],
        );
        change.action = Action::Delete;
        plan.changes.push(change);
        plan.ops.push(Op::ScheduleDeletion {
            key_id: key.id.clone(),
            days: *deletion_window_days,
        });
    }
    schedule_duplicates(&mut plan, observed, *deletion_window_days, &key.id);
    plan.warnings.push(format!(
        "the KMS key {} is scheduled for deletion after {deletion_window_days} days; until then `aws kms cancel-key-deletion` or another apply restores it",
        key.id
    ));
    plan
}

/// Duplicate stack keys: nothing of the stack refers to a key its alias does not name,
/// so their deletion is scheduled (recoverable for the waiting period), never immediate.
fn schedule_duplicates(plan: &mut KmsPlan, observed: &Observed, days: i32, kept: &str) {
    for duplicate in &observed.duplicate_keys {
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::KEY, format!("{duplicate} (duplicate, no alias)")),
            vec![
                ("id", Value::from(duplicate)),
                ("deletion_window_days", Value::from(days)),
                ("kept", Value::from(kept)),
            ],
        ));
        plan.ops.push(Op::ScheduleDeletion {
            key_id: duplicate.clone(),
            days,
        });
    }
}
