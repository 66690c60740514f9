//! What the step wants and what it finds.

use std::collections::BTreeMap;

use plan::Known;
use spec::{AuthMode, Spec, names};

use crate::Tags;

/// The secrets the spec asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The stack's name (its secrets carry the stack tag).
    pub stack: String,
    /// One secret per credential.
    pub secrets: Vec<DesiredSecret>,
    /// Days a deleted secret stays restorable.
    pub recovery_window_days: i64,
}

/// One secret.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredSecret {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The KMS key ARN encrypting it.
    pub kms_key: Known<String>,
    /// Its tags.
    pub tags: Tags,
    /// What its value holds besides the generated credential.
    pub content: Content,
}

/// The non-secret part of a secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The RBAC user name, for a user's password; none for the AUTH token.
    pub username: Option<String>,
    /// The replication group the credential opens.
    pub replication_group_id: String,
    /// The port clients connect to.
    pub port: u16,
    /// The engine, `valkey` or `redis`.
    pub engine: &'static str,
    /// How many characters to generate.
    pub length: usize,
}

/// What a secret's value is called in its JSON document.
pub const TOKEN_FIELD: &str = "auth_token";
/// The field holding an RBAC user's password.
pub const PASSWORD_FIELD: &str = "password";

/// What earlier steps hand to this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The stack key's ARN (step 4), which encrypts the secrets.
    pub kms_key_arn: Known<String>,
}

impl Desired {
    /// The secrets `spec` asks for, encrypted with the stack key.
    pub fn from_spec(spec: &Spec, inputs: &Inputs) -> Desired {
        let kms_key = &inputs.kms_key_arn;
        let mut tags = spec.tags.clone();
        tags.insert(spec::STACK_TAG.to_owned(), spec.stack.clone());
        let content = |username: Option<String>, length: u16| Content {
            username,
            replication_group_id: names::replication_group_id(spec),
            port: spec.port,
            engine: spec.engine.name.as_str(),
            length: usize::from(length),
        };
        let secret = |name: String, description: String, content: Content| DesiredSecret {
            name,
            description,
            kms_key: kms_key.clone(),
            tags: tags.clone(),
            content,
        };
        let secrets = match spec.auth.mode {
            AuthMode::Token => vec![secret(
                names::token_secret(spec),
                format!("AUTH token of ElastiCache stack {}", spec.stack),
                content(None, spec.auth.token.length),
            )],
            AuthMode::Rbac => spec
                .auth
                .users
                .iter()
                .map(|user| {
                    secret(
                        names::user_secret(spec, &user.name),
                        format!(
                            "Password of user {} of ElastiCache stack {}",
                            user.name, spec.stack
                        ),
                        content(Some(user.name.clone()), 64),
                    )
                })
                .collect(),
            AuthMode::None | AuthMode::Iam => Vec::new(),
        };
        Desired {
            stack: spec.stack.clone(),
            secrets,
            recovery_window_days: i64::from(spec.destroy.secret_recovery_window_days),
        }
    }
}

/// The stack's secrets as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Secrets by name: the desired names, and any other carrying the stack tag.
    pub secrets: BTreeMap<String, ObservedSecret>,
}

/// One secret as Secrets Manager describes it (never its value).
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedSecret {
    /// Its ARN.
    pub arn: String,
    /// Its description.
    pub description: String,
    /// The KMS key encrypting it; none for the account's default key.
    pub kms_key: Option<String>,
    /// Its tags.
    pub tags: Tags,
    /// Whether it is scheduled for deletion (restorable until then).
    pub deleted: bool,
}

#[cfg(any(test, feature = "test-util"))]
impl Observed {
    /// What Secrets Manager reports after a successful apply of `desired`.
    pub fn as_applied(desired: &Desired) -> Observed {
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
}
