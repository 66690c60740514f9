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

/// The secret's tag recording which version became current when
/// (`<version id>@<RFC 3339 time>`), written by each rotation.
pub const ROTATED_TAG: &str = "elasticache-action:rotated";
/// The secret's tag naming the current version whose predecessor was revoked.
pub const REVOKED_TAG: &str = "elasticache-action:revoked";
/// The secret's tag naming the version the last rotation replaced: the previous
/// credential, which `AWSPREVIOUS` stops naming once the current document is rewritten
/// (new connection fields make a new version with the same credential).
pub const REPLACED_TAG: &str = "elasticache-action:replaced";

/// The value of [`ROTATED_TAG`] for `version` becoming current `at`.
pub fn rotated_tag(version: &str, at: std::time::SystemTime) -> String {
    format!("{version}@{}", humantime::format_rfc3339_seconds(at))
}

/// The version and time [`ROTATED_TAG`] records in `tags`.
pub fn rotated_at(tags: &Tags) -> Option<(&str, std::time::SystemTime)> {
    let (version, at) = tags.get(ROTATED_TAG)?.split_once('@')?;
    let at = humantime::parse_rfc3339(at).ok()?;
    Some((version, at))
}

/// A rotation pending for longer than this is stuck: nothing moves it on by itself.
pub const STUCK_AFTER: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// What exists of a secret's rotation (read with the secret, never its value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationSeen {
    /// When the rotation that made the current version finished (its
    /// [`ROTATED_TAG`]), or Secrets Manager's own last rotation date.
    pub last_rotated: Option<std::time::SystemTime>,
    /// A version staged AWSPENDING that is not current: a rotation not finished.
    pub pending: Option<PendingRotation>,
    /// The version staged AWSCURRENT.
    pub current_version: Option<String>,
    /// Secrets Manager's own rotation configuration (`runner: lambda`).
    pub automatic: AutomaticRotation,
}

/// A secret's rotation configuration, as `ListSecrets` and `DescribeSecret` report it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutomaticRotation {
    /// `RotationEnabled`.
    pub enabled: bool,
    /// The function it names.
    pub lambda_arn: Option<String>,
    /// `RotationRules.ScheduleExpression`.
    pub schedule: Option<String>,
    /// `RotationRules.AutomaticallyAfterDays`.
    pub after_days: Option<i64>,
}

impl AutomaticRotation {
    /// From the fields both reads share.
    pub fn of(
        enabled: Option<bool>,
        lambda_arn: Option<&str>,
        rules: Option<&aws_sdk_secretsmanager::types::RotationRulesType>,
    ) -> AutomaticRotation {
        AutomaticRotation {
            enabled: enabled.unwrap_or(false),
            lambda_arn: lambda_arn.map(str::to_owned),
            schedule: rules
                .and_then(|r| r.schedule_expression())
                .map(str::to_owned),
            after_days: rules.and_then(|r| r.automatically_after_days()),
        }
    }

    /// Whether it rotates with `function` on `schedule` (AWS may report `rate(N days)`
    /// as `AutomaticallyAfterDays` alone).
    pub fn matches(&self, function: &str, schedule: &str) -> bool {
        let same_schedule = self.schedule.as_deref() == Some(schedule)
            || (self.schedule.is_none()
                && self.after_days.is_some_and(|days| {
                    schedule == format!("rate({days} days)")
                        || (days == 1 && schedule == "rate(1 day)")
                }));
        self.enabled && self.lambda_arn.as_deref() == Some(function) && same_schedule
    }
}

/// A rotation that has not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRotation {
    /// The pending version.
    pub version: String,
    /// When the secret last changed (nothing has moved the rotation on since).
    pub since: std::time::SystemTime,
    /// Whether it has waited longer than [`STUCK_AFTER`] when observed.
    pub stuck: bool,
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
    /// Its rotation.
    pub rotation: RotationSeen,
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
                            rotation: RotationSeen::default(),
                        },
                    )
                })
                .collect(),
        }
    }
}
