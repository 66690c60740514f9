//! What the step wants and what it finds.

use spec::Spec;
use spec::names::{self, Scope};

use crate::{Tags, policy};

/// The key the spec asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Desired {
    /// A key the stack creates and owns.
    Create {
        /// Its alias, `alias/<stack>`.
        alias: String,
        /// Its description.
        description: String,
        /// Its key policy.
        policy: serde_json::Value,
        /// Its tags, the stack tag included.
        tags: Tags,
        /// Days of waiting when destroy schedules its deletion.
        deletion_window_days: i32,
    },
    /// A key the user owns: checked, never changed.
    Existing {
        /// ARN, key id, alias or alias ARN, as written in the spec.
        key: String,
        /// Where the stack lives, to check the policy against.
        scope: Scope,
    },
}

/// What the stack hands to this step: where it lives (the first step with outputs
/// needs no earlier step's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The account, region and partition.
    pub scope: Scope,
}

impl Desired {
    /// The key `spec` asks for, in `scope`.
    pub fn from_spec(spec: &Spec, inputs: &Inputs) -> Desired {
        let scope = &inputs.scope;
        if let Some(key) = &spec.encryption.kms_key {
            return Desired::Existing {
                key: key.clone(),
                scope: scope.clone(),
            };
        }
        let function_group =
            (spec.auth.rotation.lambda_runner()).then(|| names::rotation_log_group(spec));
        let log_group_arns: Vec<String> = names::enabled_log_groups(spec)
            .into_iter()
            .map(|(_, name)| name)
            .chain(function_group)
            .map(|name| scope.log_group_arn(&name))
            .collect();
        let mut tags = spec.tags.clone();
        tags.insert(spec::STACK_TAG.to_owned(), spec.stack.clone());
        Desired::Create {
            alias: names::kms_alias(spec),
            description: format!(
                "ElastiCache stack {}: data at rest, secrets, logs, parameters",
                spec.stack
            ),
            policy: policy::key_policy(&spec.stack, scope, &log_group_arns),
            tags,
            deletion_window_days: i32::from(spec.destroy.kms_key_deletion_window_days),
        }
    }
}

/// The key as KMS describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// The key, if the alias (or the existing key reference) resolves, or a stack key
    /// found by its tag without the alias.
    pub key: Option<ObservedKey>,
    /// The key was found by the stack tag, not through the alias (a run stopped between
    /// `CreateKey` and `CreateAlias`): it is adopted and the alias created.
    pub alias_missing: bool,
    /// Other keys tagged for the stack that no alias points at (copies an interrupted
    /// or concurrent run left): their deletion is scheduled.
    pub duplicate_keys: Vec<String>,
}

/// One key's state.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedKey {
    /// Key id.
    pub id: String,
    /// Key ARN.
    pub arn: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, …
    pub state: String,
    /// `SYMMETRIC_DEFAULT` for the keys ElastiCache accepts.
    pub key_spec: String,
    /// Its description.
    pub description: String,
    /// Its key policy, when it could be read.
    pub policy: Option<serde_json::Value>,
    /// Whether automatic rotation is on.
    pub rotation: bool,
    /// Its tags.
    pub tags: Tags,
}

#[cfg(any(test, feature = "test-util"))]
impl Observed {
    /// What KMS reports after a successful apply of `desired`: the stack key as created,
    /// or an enabled symmetric key for an existing one.
    pub fn as_applied(desired: &Desired) -> Observed {
        let (description, policy, tags) = match desired {
            Desired::Create {
                description,
                policy,
                tags,
                ..
            } => (description.clone(), Some(policy.clone()), tags.clone()),
            Desired::Existing { .. } => (String::new(), None, Tags::new()),
        };
        Observed {
            key: Some(ObservedKey {
                id: "k-1".into(),
                arn: "arn:aws:kms:us-east-1:111122223333:key/k-1".into(),
                state: "Enabled".into(),
                key_spec: "SYMMETRIC_DEFAULT".into(),
                description,
                policy,
                rotation: true,
                tags,
            }),
            alias_missing: false,
            duplicate_keys: Vec::new(),
        }
    }
}
