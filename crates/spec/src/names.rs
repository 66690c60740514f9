//! Deterministic resource names derived from the stack name.
//!
//! Steps find what they own by these names (and the stack tag), so an interrupted apply
//! finds its resources again instead of creating duplicates. Change a name here and every
//! existing stack loses track of that resource: treat them as a stable interface.

use crate::{LogSettings, Spec};

/// The replication group id: the stack name.
pub fn replication_group_id(spec: &Spec) -> String {
    spec.stack.clone()
}

/// The `Name` tag of the stack's VPC.
pub fn vpc(spec: &Spec) -> String {
    spec.stack.clone()
}

/// The `Name` tag of the stack's subnet in `availability_zone`.
pub fn subnet(spec: &Spec, availability_zone: &str) -> String {
    format!("{}-{availability_zone}", spec.stack)
}

/// The cache subnet group.
pub fn subnet_group(spec: &Spec) -> String {
    format!("{}-subnets", spec.stack)
}

/// The security group admitting clients on the cache port.
pub fn security_group(spec: &Spec) -> String {
    format!("{}-cache", spec.stack)
}

/// The rotation function (`auth.rotation.runner: lambda`), its IAM role and its
/// security group: one name for the three.
pub fn rotation_function(spec: &Spec) -> String {
    format!("{}-rotation", spec.stack)
}

/// The rotation function's log group, where Lambda writes.
pub fn rotation_log_group(spec: &Spec) -> String {
    format!("/aws/lambda/{}", rotation_function(spec))
}

/// The KMS alias of a key the stack creates.
pub fn kms_alias(spec: &Spec) -> String {
    format!("alias/{}", spec.stack)
}

/// The slow-log group.
pub fn slow_log_group(spec: &Spec) -> String {
    log_group(spec, &spec.logs.slow, "slow-log")
}

/// The engine-log group.
pub fn engine_log_group(spec: &Spec) -> String {
    log_group(spec, &spec.logs.engine, "engine-log")
}

fn log_group(spec: &Spec, settings: &LogSettings, kind: &str) -> String {
    settings
        .group_name
        .clone()
        .unwrap_or_else(|| format!("/aws/elasticache/{}/{kind}", spec.stack))
}

/// The secret holding the AUTH token.
pub fn token_secret(spec: &Spec) -> String {
    spec.auth
        .token
        .secret_name
        .clone()
        .unwrap_or_else(|| format!("{}/auth-token", spec.stack))
}

/// The secret holding an RBAC user's password.
pub fn user_secret(spec: &Spec, user: &str) -> String {
    format!("{}/users/{user}", spec.stack)
}

/// The stack's parameter group for a parameter group `family` (`valkey8`, `redis6.x`).
/// The family is part of the name because a group cannot change family: an engine
/// upgrade across families creates the next group and switches to it.
pub fn parameter_group(spec: &Spec, family: &str) -> String {
    format!("{}-{}", spec.stack, family.replace('.', "-"))
}

/// The id of an RBAC user the spec lists (user ids are per account and region, so they
/// carry the stack name; the user *name* stays the spec's).
pub fn rbac_user_id(spec: &Spec, user: &str) -> String {
    format!("{}-{user}", spec.stack)
}

/// The id of the stack's `default` user, which has no access: every user group needs a
/// user named `default`, and AWS's own (id `default`) has full access.
pub fn default_user_id(spec: &Spec) -> String {
    format!("{}-default", spec.stack)
}

/// The start of the name of a final snapshot destroy or a replacement takes: the
/// UTC time of deletion follows (`<id>-final-YYYYMMDD-HHMMSS`). Final snapshots are
/// found again by it, so it uses the group id as AWS stores it (lowercase).
pub fn final_snapshot_prefix(spec: &Spec) -> String {
    format!("{}-final-", replication_group_id(spec).to_ascii_lowercase())
}

/// The user group for RBAC and IAM users.
pub fn user_group(spec: &Spec) -> String {
    format!("{}-users", spec.stack)
}

/// The SSM parameter path, ending in `/`.
pub fn ssm_prefix(spec: &Spec) -> String {
    spec.outputs
        .ssm_prefix
        .clone()
        .unwrap_or_else(|| format!("/{}/", spec.stack))
}

/// The policy that lets an application read the connection parameters and secrets.
pub fn read_policy(spec: &Spec) -> String {
    format!("{}-read-connection", spec.stack)
}

/// The policy that grants `elasticache:Connect` for IAM authentication.
pub fn connect_policy(spec: &Spec) -> String {
    format!("{}-connect", spec.stack)
}

/// Where a stack lives: what ARNs need besides names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The AWS partition: `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: String,
    /// The region.
    pub region: String,
    /// The account id.
    pub account: String,
}

impl Scope {
    /// The scope of `account` in `region`, with the partition the region belongs to.
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Scope {
        let region = region.into();
        let partition = if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        Scope {
            partition: partition.to_owned(),
            region,
            account: account.into(),
        }
    }

    /// The account's root principal, `arn:aws:iam::<account>:root`.
    pub fn account_root(&self) -> String {
        format!("arn:{}:iam::{}:root", self.partition, self.account)
    }

    /// A log group's ARN, as KMS encryption contexts name it (no `:*` suffix).
    pub fn log_group_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:logs:{}:{}:log-group:{name}",
            self.partition, self.region, self.account
        )
    }

    /// The endpoint host of a service in this region, as `kms:ViaService` names it.
    pub fn service_host(&self, service: &str) -> String {
        format!("{service}.{}.amazonaws.com", self.region)
    }
}

/// The log groups the spec enables, by log type: `(type, group name)`, where the type is
/// ElastiCache's `slow-log` or `engine-log`.
pub fn enabled_log_groups(spec: &Spec) -> Vec<(&'static str, String)> {
    let version = spec.engine.version;
    let mut groups = Vec::new();
    if spec
        .logs
        .slow
        .enabled
        .unwrap_or(version.at_least(crate::EngineVersion::new(6, 0, 0)))
    {
        groups.push(("slow-log", slow_log_group(spec)));
    }
    if spec
        .logs
        .engine
        .enabled
        .unwrap_or(version.at_least(crate::EngineVersion::new(6, 2, 0)))
    {
        groups.push(("engine-log", engine_log_group(spec)));
    }
    groups
}
