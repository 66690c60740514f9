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
        },
        ops: Vec::new(),
    };
    for secret in &desired.secrets {
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
            .attribute("tags", tags_value(&found.tags), tags_value(&merged))
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

#[cfg(test)]
mod tests {
    use plan::Action;

    use super::*;
    use crate::ObservedSecret;

    fn desired(auth: &str) -> Desired {
        let source = format!(
            "stack: demo\nregion: us-east-1\nengine: {{name: valkey, version: \"8.0\"}}\nnode_type: cache.t4g.micro\n\
             network: {{create: {{vpc_cidr: 10.0.0.0/16, subnets: [{{availability_zone: us-east-1a, cidr: 10.0.1.0/24}}, \
             {{availability_zone: us-east-1b, cidr: 10.0.2.0/24}}]}}, allow: {{cidrs: [10.0.0.0/8]}}}}\n{auth}"
        );
        Desired::from_spec(
            &spec::parse(&source, "t.yaml").expect("valid"),
            &Known::Value("arn:key".into()),
        )
    }

    fn observed_from(desired: &Desired) -> Observed {
        Observed {
            secrets: desired
                .secrets
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        ObservedSecret {
                            arn: format!("arn:{}", s.name),
                            description: s.description.clone(),
                            kms_key: s.kms_key.value().cloned(),
                            tags: s.tags.clone(),
                            deleted: false,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_new_secret_shows_its_value_only_as_sensitive() {
        let plan = diff(&desired(""), &Observed::default()).expect("plans");
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].resource.name, "demo/auth-token");
        let value = plan.changes[0]
            .attributes
            .iter()
            .find(|a| a.name == "value")
            .expect("value");
        assert_eq!(value.after, Some(Value::Sensitive));
    }

    #[test]
    fn an_existing_secret_is_never_regenerated() {
        let desired = desired("");
        let plan = diff(&desired, &observed_from(&desired)).expect("plans");
        assert!(!plan.has_writes());
        assert_eq!(plan.changes[0].action, Action::NoOp);
    }

    #[test]
    fn rbac_has_a_secret_per_user_and_drops_removed_users() {
        let two = desired("auth: {mode: rbac, users: [{name: app}, {name: reporting}]}\n");
        assert_eq!(two.secrets.len(), 2);
        assert_eq!(
            two.secrets[1].content.username.as_deref(),
            Some("reporting")
        );
        let one = desired("auth: {mode: rbac, users: [{name: app}]}\n");
        let plan = diff(&one, &observed_from(&two)).expect("plans");
        assert_eq!(
            plan.ops,
            [Op::Delete {
                name: "demo/users/reporting".into(),
                recovery_window_days: Some(30)
            }]
        );
    }

    #[test]
    fn a_secret_pending_deletion_is_restored_and_drift_repaired() {
        let desired = desired("");
        let mut observed = observed_from(&desired);
        let secret = observed.secrets.values_mut().next().expect("secret");
        secret.deleted = true;
        secret.kms_key = None;
        let plan = diff(&desired, &observed).expect("plans");
        assert_eq!(plan.changes[0].action, Action::Update);
        assert!(matches!(plan.ops[0], Op::Restore { .. }));
        assert!(matches!(plan.ops[1], Op::Update { .. }));
    }

    #[test]
    fn destroy_keeps_a_recovery_window_unless_forced() {
        let desired = desired("");
        let observed = observed_from(&desired);
        let plan = diff_destroy(&desired, &observed, false);
        assert_eq!(
            plan.ops,
            [Op::Delete {
                name: "demo/auth-token".into(),
                recovery_window_days: Some(30)
            }]
        );
        let forced = diff_destroy(&desired, &observed, true);
        assert_eq!(
            forced.ops,
            [Op::Delete {
                name: "demo/auth-token".into(),
                recovery_window_days: None
            }]
        );
    }
}
