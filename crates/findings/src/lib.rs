/*!
Policy findings for a stack: the Checkov rules teams already run against ElastiCache
(ids kept, so existing waivers and dashboards still make sense) and our own, each with a
severity, a message and a fix, computed from the validated spec alone.

This crate judges; it does not print (the orchestrator renders findings as text, JSON
and markdown) and it makes no AWS call. A rule the spec waives (`waivers:` with a reason)
is reported as waived, never dropped.

```
let spec = spec::parse(r#"
stack: demo
region: eu-west-1
engine: { name: valkey, version: "8.0" }
node_type: cache.t4g.small
network:
  create:
    vpc_cidr: 10.0.0.0/16
    subnets: [{ availability_zone: eu-west-1a, cidr: 10.0.1.0/24 }, { availability_zone: eu-west-1b, cidr: 10.0.2.0/24 }]
  allow: { cidrs: [10.0.0.0/8] }
encryption: { at_rest: false }
"#, "demo.yaml").expect("valid");
let failed: Vec<_> = findings::evaluate(&spec).into_iter().filter(|f| f.failed()).collect();
assert_eq!(failed[0].rule, "CKV_AWS_29");
assert!(findings::exceeds(&findings::evaluate(&spec), findings::Severity::High));
```
*/
#![deny(missing_docs)]

use serde::Serialize;
use spec::{AuthMode, Spec, names};

/// How much a failed rule matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth fixing when convenient.
    Low,
    /// Weakens the stack's resilience or auditability.
    Medium,
    /// Exposes data or access.
    High,
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            other => Err(format!(
                "`{other}` is not a severity: use high, medium or low"
            )),
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        })
    }
}

/// A rule's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "status", content = "reason")]
pub enum Status {
    /// The stack meets the rule.
    Pass,
    /// The stack breaks the rule.
    Fail,
    /// The stack breaks the rule and the spec accepts it, for this reason.
    Waived(String),
}

/// One rule applied to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule id (`CKV_AWS_29`, `EA_001`).
    pub rule: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// The resource, as plans name it (`replication_group demo`).
    pub resource: String,
    /// What the rule checks, or what is wrong.
    pub message: String,
    /// How to meet the rule in the spec.
    pub fix: &'static str,
    /// The verdict: `"status": "pass" | "fail" | "waived"`, with `"reason"` for a waiver.
    #[serde(flatten)]
    pub status: Status,
}

impl Finding {
    /// Whether the rule failed and is not waived.
    pub fn failed(&self) -> bool {
        self.status == Status::Fail
    }
}

/// Whether any unwaived failure is at least `threshold`.
pub fn exceeds(findings: &[Finding], threshold: Severity) -> bool {
    findings
        .iter()
        .any(|f| f.failed() && f.severity >= threshold)
}

/// Waiver rule ids in the spec that name no rule here (probably a typo).
pub fn unknown_waivers(spec: &Spec) -> Vec<String> {
    spec.waivers
        .iter()
        .filter(|w| !RULES.contains(&w.rule.as_str()))
        .map(|w| w.rule.clone())
        .collect()
}

/// Every rule id this crate knows.
pub const RULES: &[&str] = &[
    "CKV_AWS_29",
    "CKV_AWS_30",
    "CKV_AWS_31",
    "CKV_AWS_191",
    "CKV2_AWS_50",
    "CKV_AWS_134",
    "CKV_AWS_322",
    "CKV_AWS_158",
    "CKV_AWS_338",
    "CKV_AWS_66",
    "CKV_AWS_323",
    "CKV_AWS_149",
    "CKV_AWS_7",
    "CKV_AWS_33",
    "CKV2_AWS_57",
    "EA_001",
    "EA_002",
];

/// Rules the stack satisfies by how it builds resources, whatever the spec says: they
/// are shown (reviewers see them checked) but cannot fail.
pub const BY_CONSTRUCTION: &[&str] = &[
    "CKV_AWS_158",
    "CKV_AWS_66",
    "CKV_AWS_323",
    "CKV_AWS_149",
    "CKV_AWS_7",
    "CKV_AWS_33",
    "EA_002",
];

/// Applies every rule to the stack the spec describes.
pub fn evaluate(spec: &Spec) -> Vec<Finding> {
    let group = format!("replication_group {}", names::replication_group_id(spec));
    let cluster = &spec.cluster;
    let encryption = &spec.encryption;
    let mut checks = vec![
        check(
            "CKV_AWS_29",
            Severity::High,
            &group,
            encryption.at_rest,
            "data at rest is not encrypted",
            "set encryption.at_rest: true (only possible when the group is created)",
        ),
        check(
            "CKV_AWS_30",
            Severity::High,
            &group,
            encryption.in_transit && encryption.transit_mode == spec::TransitMode::Required,
            if encryption.in_transit {
                "TLS is only preferred: clients may still connect in plain text"
            } else {
                "traffic is not encrypted in transit"
            },
            "set encryption.in_transit: true and transit_mode: required",
        ),
        check(
            "CKV_AWS_31",
            Severity::High,
            &group,
            encryption.in_transit && spec.auth.mode != AuthMode::None,
            "clients are not authenticated over TLS",
            "set auth.mode to token, rbac or iam, with encryption.in_transit: true",
        ),
        check(
            "CKV_AWS_191",
            Severity::Medium,
            &group,
            encryption.at_rest,
            "data at rest is not under a customer-managed KMS key",
            "set encryption.at_rest: true (the stack creates a key, or name one in encryption.kms_key)",
        ),
        check(
            "CKV2_AWS_50",
            Severity::Medium,
            &group,
            cluster.multi_az() && cluster.automatic_failover(),
            "the group does not fail over to another availability zone",
            "add a replica (cluster.replicas_per_shard: 1 or more) and leave multi_az and automatic_failover on",
        ),
        check(
            "CKV_AWS_134",
            Severity::Medium,
            &group,
            cluster.snapshot.retention_days > 0,
            "automatic backups are off",
            "set cluster.snapshot.retention_days to 1-35",
        ),
        check(
            "CKV_AWS_322",
            Severity::Low,
            &group,
            cluster.auto_minor_version_upgrade,
            "minor engine upgrades (security fixes) are not applied automatically",
            "set cluster.auto_minor_version_upgrade: true",
        ),
    ];
    for (log_type, name) in names::enabled_log_groups(spec) {
        let settings = if log_type == "slow-log" {
            &spec.logs.slow
        } else {
            &spec.logs.engine
        };
        let resource = format!("log_group {name}");
        checks.push(check(
            "CKV_AWS_158",
            Severity::Medium,
            &resource,
            true,
            "the log group is not KMS-encrypted",
            "the stack encrypts log groups with its key",
        ));
        checks.push(check(
            "CKV_AWS_338",
            Severity::Low,
            &resource,
            settings.retention_days >= 365,
            &format!(
                "events are kept {} days, less than a year",
                settings.retention_days
            ),
            "set logs.<type>.retention_days to 365 or more",
        ));
    }
    by_construction(spec, &mut checks);
    let open_to_all = spec
        .network
        .allow
        .cidrs
        .iter()
        .any(|c| c.net().prefix_len() == 0);
    checks.push(check(
        "EA_001",
        Severity::High,
        &format!("security_group {}", names::security_group(spec)),
        !open_to_all,
        "the cache port is open to 0.0.0.0/0",
        "list only the networks of your clients in network.allow.cidrs, or their security groups",
    ));
    checks
        .into_iter()
        .map(|finding| waive(finding, spec))
        .collect()
}

/// The rules the stack's own choices satisfy: its subnet group, secrets under the stack
/// key, its key's rotation and policy, log retention, the disabled `default` user.
fn by_construction(spec: &Spec, checks: &mut Vec<Finding>) {
    let group = format!("replication_group {}", names::replication_group_id(spec));
    checks.push(check(
        "CKV_AWS_323",
        Severity::Low,
        &group,
        true,
        "the group uses the default subnet group",
        "the stack creates its own subnet group",
    ));
    for (_, name) in names::enabled_log_groups(spec) {
        checks.push(check(
            "CKV_AWS_66",
            Severity::Low,
            &format!("log_group {name}"),
            true,
            "events are kept for ever or not at all",
            "the stack sets logs.<type>.retention_days on every group",
        ));
    }
    let secrets = match spec.auth.mode {
        AuthMode::Token => vec![names::token_secret(spec)],
        AuthMode::Rbac => spec
            .auth
            .users
            .iter()
            .map(|u| names::user_secret(spec, &u.name))
            .collect(),
        AuthMode::None | AuthMode::Iam => Vec::new(),
    };
    let rotated_by_secrets_manager = spec.auth.rotation.lambda_runner();
    for secret in secrets {
        checks.push(check(
            "CKV_AWS_149",
            Severity::Medium,
            &format!("secret {secret}"),
            true,
            "the secret is not encrypted with a customer-managed key",
            "the stack encrypts secrets with its key",
        ));
        // Checkov reads only Secrets Manager's own rotation configuration: a scheduled
        // `orchestrator rotate` rotates the credential but does not satisfy it.
        checks.push(check(
            "CKV2_AWS_57",
            Severity::Low,
            &format!("secret {secret}"),
            rotated_by_secrets_manager,
            "Secrets Manager does not rotate the secret (automatic rotation is off)",
            "set `auth.rotation: {runner: lambda, schedule: rate(30 days)}`, or waive it when a scheduled `orchestrator rotate` rotates the credential",
        ));
    }
    // An existing key is its owner's to rotate and to write a policy for.
    if spec.encryption.kms_key.is_none() {
        let key = format!("kms_key {}", names::kms_alias(spec));
        checks.push(check(
            "CKV_AWS_7",
            Severity::Medium,
            &key,
            true,
            "key rotation is off",
            "the stack turns rotation on for its key",
        ));
        checks.push(check(
            "CKV_AWS_33",
            Severity::High,
            &key,
            true,
            "the key policy allows any principal",
            "the stack's key policy names the account and AWS services only",
        ));
    }
    if matches!(spec.auth.mode, AuthMode::Rbac | AuthMode::Iam) {
        checks.push(check(
            "EA_002",
            Severity::High,
            &format!("user_group {}", names::user_group(spec)),
            true,
            "the `default` user can access the cache",
            "the stack puts a `default` user with no access (`off -@all`) in the group",
        ));
    }
}

fn check(
    rule: &'static str,
    severity: Severity,
    resource: &str,
    ok: bool,
    problem: &str,
    fix: &'static str,
) -> Finding {
    Finding {
        rule,
        severity,
        resource: resource.to_owned(),
        message: problem.to_owned(),
        fix,
        status: if ok { Status::Pass } else { Status::Fail },
    }
}

fn waive(mut finding: Finding, spec: &Spec) -> Finding {
    if finding.failed()
        && let Some(waiver) = spec.waivers.iter().find(|w| w.rule == finding.rule)
    {
        finding.status = Status::Waived(waiver.reason.clone());
    }
    finding
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "stack: demo\nregion: eu-west-1\nengine: {name: valkey, version: \"8.0\"}\nnode_type: cache.t4g.small\n\
network:\n  create:\n    vpc_cidr: 10.0.0.0/16\n    subnets: [{availability_zone: eu-west-1a, cidr: 10.0.1.0/24}, {availability_zone: eu-west-1b, cidr: 10.0.2.0/24}]\n  allow: {cidrs: [10.0.0.0/8]}\n";

    fn findings(extra: &str) -> Vec<Finding> {
        evaluate(&spec::parse(&format!("{BASE}{extra}"), "t.yaml").expect("valid spec"))
    }

    fn status(findings: &[Finding], rule: &str) -> Status {
        findings
            .iter()
            .filter(|f| f.rule == rule)
            .map(|f| f.status.clone())
            .find(|s| *s != Status::Pass)
            .unwrap_or(Status::Pass)
    }

    /// For each rule: an addition to the base spec that breaks it.
    const BREAKERS: &[(&str, &str)] = &[
        ("CKV_AWS_29", "encryption: {at_rest: false}\n"),
        (
            "CKV_AWS_30",
            "encryption: {in_transit: false}\nauth: {mode: none}\n",
        ),
        ("CKV_AWS_31", "auth: {mode: none}\n"),
        ("CKV_AWS_191", "encryption: {at_rest: false}\n"),
        (
            "CKV2_AWS_50",
            "cluster: {replicas_per_shard: 0}\nnetwork:\n  create:\n    vpc_cidr: 10.0.0.0/16\n    subnets: [{availability_zone: eu-west-1a, cidr: 10.0.1.0/24}]\n  allow: {cidrs: [10.0.0.0/8]}\n",
        ),
        ("CKV_AWS_134", "cluster: {snapshot: {retention_days: 0}}\n"),
        (
            "CKV_AWS_322",
            "cluster: {auto_minor_version_upgrade: false}\n",
        ),
        ("CKV_AWS_338", "logs: {slow: {retention_days: 30}}\n"),
        ("CKV2_AWS_57", "auth: {mode: token}\n"),
        (
            "EA_001",
            "network:\n  create:\n    vpc_cidr: 10.0.0.0/16\n    subnets: [{availability_zone: eu-west-1a, cidr: 10.0.1.0/24}, {availability_zone: eu-west-1b, cidr: 10.0.2.0/24}]\n  allow: {cidrs: [0.0.0.0/0]}\n",
        ),
    ];

    fn breaking(extra: &str) -> String {
        // A later `network:` replaces the base one: YAML forbids duplicate keys, so cut it.
        if extra.contains("network:") {
            let cut = BASE.find("network:").expect("base has network");
            format!("{}{extra}", &BASE[..cut])
        } else {
            format!("{BASE}{extra}")
        }
    }

    #[test]
    fn the_secure_defaults_pass_every_rule() {
        // With rotation by Secrets Manager, which is not the default: it deploys a
        // function (CKV2_AWS_57 is the one rule a default spec fails, at low).
        let rotation = "  rotation: {runner: lambda, schedule: rate(30 days)}\n";
        let mut all = findings(&format!("auth:\n{rotation}"));
        all.extend(findings(&format!(
            "auth:\n  mode: rbac\n  users: [{{name: app}}]\n{rotation}"
        )));
        assert!(all.iter().all(|f| f.status == Status::Pass), "{all:#?}");
        let rules: std::collections::BTreeSet<&str> = all.iter().map(|f| f.rule).collect();
        assert_eq!(rules.len(), RULES.len(), "every rule is evaluated");
    }

    #[test]
    fn each_rule_fails_when_broken_and_can_be_waived() {
        for (rule, extra) in BREAKERS {
            let source = breaking(extra);
            let spec = spec::parse(&source, "t.yaml").unwrap_or_else(|e| panic!("{rule}: {e}"));
            assert_eq!(status(&evaluate(&spec), rule), Status::Fail, "{rule}");
            let waived =
                format!("{source}waivers: [{{rule: {rule}, reason: accepted for a test}}]\n");
            let spec = spec::parse(&waived, "t.yaml").unwrap_or_else(|e| panic!("{rule}: {e}"));
            let findings = evaluate(&spec);
            assert_eq!(
                status(&findings, rule),
                Status::Waived("accepted for a test".into()),
                "{rule}"
            );
            assert!(!findings.iter().any(|f| f.rule == *rule && f.failed()));
        }
        let covered: Vec<&str> = BREAKERS.iter().map(|(rule, _)| *rule).collect();
        for rule in RULES.iter().filter(|r| !BY_CONSTRUCTION.contains(r)) {
            assert!(covered.contains(rule), "{rule} has no failing case");
        }
    }

    #[test]
    fn thresholds_count_only_unwaived_failures_at_or_above() {
        let low_only = findings("cluster: {auto_minor_version_upgrade: false}\n");
        assert!(exceeds(&low_only, Severity::Low));
        assert!(!exceeds(&low_only, Severity::Medium));
        assert!(exceeds(
            &findings("encryption: {at_rest: false}\n"),
            Severity::High
        ));
    }

    #[test]
    fn unknown_waivers_are_reported() {
        let spec = spec::parse(
            &format!("{BASE}waivers: [{{rule: CKV_AWS_999, reason: typo}}]\n"),
            "t.yaml",
        )
        .expect("valid");
        assert_eq!(unknown_waivers(&spec), ["CKV_AWS_999"]);
    }
}
