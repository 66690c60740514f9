//! The pure half of the secrets step.

use plan::tags::{merged, tags_value};
use plan::{Change, Diff, Known, ResourceId, Value};

use crate::{Desired, DesiredSecret, Observed, SecretsError, Tags};

/// One Secrets Manager write. None carries a secret value: the create operation
/// generates its value while it runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    Create {
        secret: DesiredSecret,
    },
    Restore {
        name: String,
    },
    Update {
        name: String,
        description: String,
        kms_key: Known<String>,
    },
    Tag {
        name: String,
        tags: Tags,
    },
    Delete {
        name: String,
        recovery_window_days: Option<i64>,
    },
}

/// The secrets step's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretsPlan {
    /// One change per secret.
    pub changes: Vec<Change>,
    /// What the user should know.
    pub warnings: Vec<String>,
    /// The outputs as far as they are known before apply.
    pub outputs: SecretsOutputs,
    pub(crate) ops: Vec<Op>,
}

impl SecretsPlan {
    /// Whether apply would write anything.
    pub fn has_writes(&self) -> bool {
        !self.ops.is_empty()
    }
}

/// What later steps need: the secrets' ARNs, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsOutputs {
    /// `(secret name, ARN)` for each desired secret, in spec order.
    pub secrets: Vec<(String, Known<String>)>,
    /// `(secret name, when it was last rotated)` for each rotated secret.
    pub last_rotated: Vec<(String, std::time::SystemTime)>,
}

/// What a plan says of a rotation that has not finished.
fn rotation_warning(name: &str, rotation: &crate::RotationSeen) -> Option<String> {
    let pending = rotation.pending.as_ref()?;
    let since = humantime::format_rfc3339_seconds(pending.since);
    Some(match pending.stuck {
        true => format!(
            "secret {name}: a rotation is stuck: version {} has been AWSPENDING, unfinished, since {since}; `orchestrator rotate` resumes it (AWSCURRENT still holds the working credential)",
            pending.version
        ),
        false => format!(
            "secret {name}: a rotation is in progress (version {} AWSPENDING since {since}); `orchestrator rotate` resumes it if it stopped",
            pending.version
        ),
    })
}

/// Resource kinds this step shows.
pub mod kinds {
    /// A Secrets Manager secret.
    pub const SECRET: &str = "secret";
}

/// Plans the secrets. An existing secret's value is never part of the diff: it is
/// generated once and kept.
pub fn diff(desired: &Desired, observed: &Observed) -> Result<SecretsPlan, SecretsError> {
    let mut plan = SecretsPlan {
        changes: Vec::new(),
        warnings: Vec::new(),
        outputs: SecretsOutputs {
            secrets: desired
                .secrets
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        observed.secrets.get(&s.name).map(|o| o.arn.clone()).into(),
                    )
                })
                .collect(),
            last_rotated: desired
                .secrets
                .iter()
                .filter_map(|s| {
                    let at = observed.secrets.get(&s.name)?.rotation.last_rotated?;
                    Some((s.name.clone(), at))
                })
                .collect(),
        },
        ops: Vec::new(),
    };
    for secret in &desired.secrets {
        if let Some(found) = observed.secrets.get(&secret.name) {
            plan.warnings
                .extend(rotation_warning(&secret.name, &found.rotation));
        }
        let id = ResourceId::new(kinds::SECRET, &secret.name);
        let Some(found) = observed.secrets.get(&secret.name) else {
            plan.changes.push(Change::create(
                id,
                vec![
                    ("description", Value::from(&secret.description)),
                    ("kms_key_id", secret.kms_key.to_plan_value()),
                    ("value", Value::Sensitive),
                    ("tags", tags_value(&secret.tags)),
                ],
            ));
            plan.ops.push(Op::Create {
                secret: secret.clone(),
            });
            continue;
        };
        let merged = merged(&found.tags, &secret.tags);
        let change = Diff::new(id)
            .attribute(
                "scheduled_for_deletion",
                Value::from(found.deleted),
                Value::from(false),
            )
            .attribute(
                "description",
                Value::from(&found.description),
                Value::from(&secret.description),
            )
            .attribute(
                "kms_key_id",
                Value::from(found.kms_key.clone()),
                secret.kms_key.to_plan_value(),
            )
            .tags(&found.tags, &secret.tags)
            .finish();
        if found.deleted {
            plan.ops.push(Op::Restore {
                name: secret.name.clone(),
            });
        }
        if found.description != secret.description
            || found.kms_key.as_ref() != secret.kms_key.value()
        {
            plan.ops.push(Op::Update {
                name: secret.name.clone(),
                description: secret.description.clone(),
                kms_key: secret.kms_key.clone(),
            });
        }
        if merged != found.tags {
            plan.ops.push(Op::Tag {
                name: secret.name.clone(),
                tags: secret.tags.clone(),
            });
        }
        plan.changes.push(change);
    }
    let wanted = |name: &str| desired.secrets.iter().any(|s| s.name == name);
    for (name, found) in observed
        .secrets
        .iter()
        .filter(|(name, found)| !wanted(name) && !found.deleted)
    {
        delete(
            &mut plan,
            name,
            &found.arn,
            Some(desired.recovery_window_days),
        );
    }
    Ok(plan)
}

fn delete(plan: &mut SecretsPlan, name: &str, arn: &str, recovery_window_days: Option<i64>) {
    let window = recovery_window_days.map_or(Value::from("none: deleted at once"), |days| {
        Value::from(days.to_string())
    });
    plan.changes.push(Change::delete(
        ResourceId::new(kinds::SECRET, name),
        vec![("arn", Value::from(arn)), ("recovery_window_days", window)],
    ));
    plan.ops.push(Op::Delete {
        name: name.to_owned(),
        recovery_window_days,
    });
}

/// Plans destroy: every stack secret is deleted with the recovery window, or at once
/// when `force` is set.
pub fn diff_destroy(desired: &Desired, observed: &Observed, force: bool) -> SecretsPlan {
    let mut plan = SecretsPlan {
        changes: Vec::new(),
        warnings: Vec::new(),
        outputs: SecretsOutputs {
            secrets: Vec::new(),
            last_rotated: Vec::new(),
        },
        ops: Vec::new(),
    };
    let window = (!force).then_some(desired.recovery_window_days);
    for (name, found) in observed.secrets.iter().filter(|(_, found)| !found.deleted) {
        delete(&mut plan, name, &found.arn, window);
    }
    if let Some(days) = window.filter(|_| plan.has_writes()) {
        plan.warnings.push(format!(
            "deleted secrets can be restored for {days} days (`aws secretsmanager restore-secret`, or apply again)"
        ));
    }
    plan
}
