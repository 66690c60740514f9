//! Semantic validation: every rule from the ElastiCache facts that can be checked without
//! calling AWS. Each rule adds an error and carries on, so the user sees all of them.
//!
//! Where a fact is marked unconfirmed, the stricter reading is taken.

use std::collections::BTreeSet;

use ipnet::Ipv4Net;

use crate::locate::PathIndex;
use crate::model::*;
use crate::parse::at;
use crate::{EngineVersion, SpecError};

mod access;
mod formats;
mod node_types;

use access::access_string_problem;
pub use formats::replication_group_id_problem;
use formats::*;
use node_types::node_type_problem;

/// Retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

const RBAC_MIN: EngineVersion = EngineVersion::new(6, 0, 0);
const SLOW_LOG_MIN: EngineVersion = EngineVersion::new(6, 0, 0);
const ENGINE_LOG_MIN: EngineVersion = EngineVersion::new(6, 2, 0);
const DATA_TIERING_MIN: EngineVersion = EngineVersion::new(6, 2, 0);
const PREFERRED_TRANSIT_MIN: EngineVersion = EngineVersion::new(7, 0, 5);
const REDIS_IAM_MIN: EngineVersion = EngineVersion::new(7, 0, 0);
const VALKEY_MIN: EngineVersion = EngineVersion::new(7, 2, 0);
const REDIS_MIN: EngineVersion = EngineVersion::new(4, 0, 10);

/// ElastiCache's quota of users per user group (100) less the `default` user the stack
/// adds to every group.
const MAX_SPEC_USERS: usize = 99;

pub(crate) fn validate(spec: &Spec, index: &PathIndex) -> Vec<SpecError> {
    let mut check = Checker {
        index,
        errors: Vec::new(),
    };
    check.identity(spec);
    check.engine(spec);
    check.network(spec);
    check.cluster(spec);
    check.windows(&spec.cluster);
    check.encryption(spec);
    check.auth(spec);
    check.logs(spec);
    check.outputs(spec);
    check.destroy(&spec.destroy);
    check.tags(spec);
    check.waivers(spec);
    check.errors
}

struct Checker<'a> {
    index: &'a PathIndex,
    errors: Vec<SpecError>,
}

impl Checker<'_> {
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(at(self.index, path, message));
    }

    fn require(&mut self, ok: bool, path: &str, message: impl Into<String>) {
        if !ok {
            self.error(path, message);
        }
    }

    fn identity(&mut self, spec: &Spec) {
        if let Err(problem) = replication_group_id_problem(&spec.stack) {
            self.error("stack", problem);
        }
        self.require(
            is_region(&spec.region),
            "region",
            format!(
                "`{}` is not an AWS region name such as eu-west-1",
                spec.region
            ),
        );
        if let Some(problem) = node_type_problem(&spec.node_type) {
            self.error("node_type", problem);
        }
        self.require(spec.port != 0, "port", "the port must be from 1 to 65535");
    }

    fn engine(&mut self, spec: &Spec) {
        let version = spec.engine.version;
        match spec.engine.name {
            EngineName::Valkey => self.require(
                version.at_least(VALKEY_MIN),
                "engine.version",
                format!("Valkey starts at 7.2 on ElastiCache; `{version}` does not exist"),
            ),
            EngineName::Redis => self.require(
                version.at_least(REDIS_MIN) && version.major <= 7,
                "engine.version",
                format!("Redis OSS on ElastiCache runs 4.0.10 to 7.1; `{version}` is outside that"),
            ),
        }
    }

    fn network(&mut self, spec: &Spec) {
        let network = &spec.network;
        match (&network.create, &network.existing) {
            (Some(_), Some(_)) => self.error(
                "network",
                "choose one of `create` (a new VPC) or `existing` (a VPC you have), not both",
            ),
            (None, None) => self.error(
                "network",
                "say where the cache lives: `create` (a new VPC) or `existing` (a VPC you have)",
            ),
            (Some(create), None) => self.create_network(spec, create),
            (None, Some(existing)) => self.existing_network(existing),
        }
        self.allow(&network.allow);
    }

    fn create_network(&mut self, spec: &Spec, create: &CreateNetwork) {
        let vpc = create.vpc_cidr.net();
        self.require(
            (16..=28).contains(&vpc.prefix_len()),
            "network.create.vpc_cidr",
            format!("a VPC's CIDR block is /16 to /28; `{vpc}` is not"),
        );
        self.host_bits("network.create.vpc_cidr", vpc);
        self.require(
            !create.subnets.is_empty(),
            "network.create.subnets",
            "list at least one subnet (two or more in distinct zones for Multi-AZ)",
        );
        let mut zones = BTreeSet::new();
        for (i, subnet) in create.subnets.iter().enumerate() {
            let path = format!("network.create.subnets[{i}]");
            let net = subnet.cidr.net();
            let zone = &subnet.availability_zone;
            self.require(
                is_zone_of(zone, &spec.region),
                &format!("{path}.availability_zone"),
                format!(
                    "`{zone}` is not an availability zone of {} (such as {}a)",
                    spec.region, spec.region
                ),
            );
            self.require(
                zones.insert(zone.as_str()),
                &format!("{path}.availability_zone"),
                format!("{zone} is listed twice; give each subnet its own availability zone"),
            );
            self.require(
                vpc.contains(&net),
                &format!("{path}.cidr"),
                format!("{net} is not inside the VPC's {vpc}"),
            );
            self.require(
                (16..=28).contains(&net.prefix_len()),
                &format!("{path}.cidr"),
                format!("a subnet's CIDR block is /16 to /28; `{net}` is not"),
            );
            self.host_bits(&format!("{path}.cidr"), net);
            for (j, earlier) in create.subnets[..i].iter().enumerate() {
                let other = earlier.cidr.net();
                if other.contains(&net) || net.contains(&other) {
                    self.error(
                        &format!("{path}.cidr"),
                        format!("{net} overlaps subnets[{j}] ({other})"),
                    );
                }
            }
        }
        if spec.cluster.multi_az() && create.subnets.len() < 2 {
            self.error(
                "network.create.subnets",
                "Multi-AZ needs subnets in at least two availability zones",
            );
        }
    }

    fn host_bits(&mut self, path: &str, net: Ipv4Net) {
        if net.addr() != net.network() {
            self.error(
                path,
                format!(
                    "{net} has host bits set; did you mean {}/{}?",
                    net.network(),
                    net.prefix_len()
                ),
            );
        }
    }

    fn existing_network(&mut self, existing: &ExistingNetwork) {
        self.require(
            is_aws_id(&existing.vpc_id, "vpc-"),
            "network.existing.vpc_id",
            format!("`{}` is not a VPC id such as vpc-0a1b2c3d", existing.vpc_id),
        );
        self.require(
            !existing.subnet_ids.is_empty(),
            "network.existing.subnet_ids",
            "list at least one subnet id",
        );
        let mut seen = BTreeSet::new();
        for (i, id) in existing.subnet_ids.iter().enumerate() {
            let path = format!("network.existing.subnet_ids[{i}]");
            self.require(
                is_aws_id(id, "subnet-"),
                &path,
                format!("`{id}` is not a subnet id such as subnet-0a1b2c3d"),
            );
            self.require(seen.insert(id), &path, format!("{id} is listed twice"));
        }
    }

    fn allow(&mut self, allow: &Allow) {
        self.require(
            !allow.cidrs.is_empty() || !allow.security_groups.is_empty(),
            "network.allow",
            "no client could connect: list `cidrs` or `security_groups` allowed on the cache port",
        );
        for (i, cidr) in allow.cidrs.iter().enumerate() {
            self.host_bits(&format!("network.allow.cidrs[{i}]"), cidr.net());
        }
        for (i, group) in allow.security_groups.iter().enumerate() {
            self.require(
                is_aws_id(group, "sg-"),
                &format!("network.allow.security_groups[{i}]"),
                format!("`{group}` is not a security group id such as sg-0a1b2c3d"),
            );
        }
    }

    fn cluster(&mut self, spec: &Spec) {
        let cluster = &spec.cluster;
        match cluster.mode {
            ClusterMode::Disabled => self.require(
                cluster.shards == 1,
                "cluster.shards",
                "with cluster mode disabled there is exactly one shard; set `mode: enabled` to shard",
            ),
            ClusterMode::Enabled => {
                self.require(
                    (1..=90).contains(&cluster.shards),
                    "cluster.shards",
                    "cluster mode enabled allows 1 to 90 shards",
                );
                self.require(
                    cluster.automatic_failover != Some(false),
                    "cluster.automatic_failover",
                    "cluster mode enabled requires automatic failover",
                );
            }
        }
        self.require(
            cluster.replicas_per_shard <= 5,
            "cluster.replicas_per_shard",
            "each shard has 0 to 5 replicas",
        );
        if cluster.automatic_failover() && cluster.mode == ClusterMode::Disabled {
            self.require(
                cluster.replicas_per_shard >= 1,
                "cluster.automatic_failover",
                "automatic failover needs at least one replica (two nodes)",
            );
        }
        if cluster.multi_az() {
            self.require(
                cluster.automatic_failover(),
                "cluster.multi_az",
                "Multi-AZ requires automatic failover",
            );
            self.require(
                cluster.replicas_per_shard >= 1,
                "cluster.multi_az",
                "Multi-AZ needs at least one replica",
            );
        }
        for name in cluster.parameters.keys() {
            let path = format!("cluster.parameters.{name}");
            self.require(
                name != "cluster-enabled",
                &path,
                "`cluster-enabled` follows `cluster.mode`; remove it here",
            );
            self.require(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                &path,
                format!("`{name}` is not a parameter name"),
            );
        }
        self.data_tiering(spec);
        self.require(
            cluster.snapshot.retention_days <= 35,
            "cluster.snapshot.retention_days",
            "automatic backups are kept 0 to 35 days (0 turns them off)",
        );
        if let Some(name) = &cluster.snapshot.restore_from {
            self.require(
                is_snapshot_name(name),
                "cluster.snapshot.restore_from",
                format!("`{name}` is not a snapshot name: 1-255 letters, digits, `-` and `.`, starting with a letter"),
            );
        }
        // cache.t1.micro cannot take backups, but node_type refuses every
        // previous-generation type (they cannot encrypt), t1 among them.
    }

    fn data_tiering(&mut self, spec: &Spec) {
        let tiered_node = spec.node_type.contains(".r6gd.");
        if spec.cluster.data_tiering {
            self.require(
                tiered_node,
                "cluster.data_tiering",
                "data tiering is only for r6gd node types (such as cache.r6gd.xlarge)",
            );
            self.require(
                spec.engine.version.at_least(DATA_TIERING_MIN),
                "cluster.data_tiering",
                "data tiering needs engine version 6.2 or later",
            );
        } else if tiered_node {
            self.error(
                "cluster.data_tiering",
                format!(
                    "{} requires data tiering; set `data_tiering: true`",
                    spec.node_type
                ),
            );
        }
    }

    fn windows(&mut self, cluster: &Cluster) {
        let snapshot = parse_daily_window(&cluster.snapshot.window);
        let maintenance = parse_weekly_window(&cluster.maintenance_window);
        match &snapshot {
            Err(problem) => self.error("cluster.snapshot.window", problem.clone()),
            Ok(window) => self.require(
                window.minutes() >= 60,
                "cluster.snapshot.window",
                "the backup window must be at least 60 minutes",
            ),
        }
        match &maintenance {
            Err(problem) => self.error("cluster.maintenance_window", problem.clone()),
            Ok(window) => self.require(
                (60..=24 * 60).contains(&window.minutes()),
                "cluster.maintenance_window",
                "the maintenance window must be 60 minutes to 24 hours",
            ),
        }
        if let (Ok(snapshot), Ok(maintenance)) = (snapshot, maintenance)
            && cluster.snapshot.retention_days > 0
            && snapshot.overlaps_weekly(&maintenance)
        {
            self.error(
                "cluster.snapshot.window",
                format!(
                    "the backup window {} overlaps the maintenance window {}",
                    cluster.snapshot.window, cluster.maintenance_window
                ),
            );
        }
    }

    fn encryption(&mut self, spec: &Spec) {
        let encryption = &spec.encryption;
        if let Some(key) = &encryption.kms_key {
            self.require(
                encryption.at_rest,
                "encryption.kms_key",
                "a KMS key is only used with `at_rest: true`",
            );
            self.require(
                is_kms_key_reference(key),
                "encryption.kms_key",
                format!("`{key}` is not a KMS key ARN, key id, alias/… or alias ARN"),
            );
        }
        if encryption.transit_mode == TransitMode::Preferred {
            self.require(
                encryption.in_transit,
                "encryption.transit_mode",
                "a transit mode needs `in_transit: true`",
            );
            self.require(
                spec.engine.version.at_least(PREFERRED_TRANSIT_MIN),
                "encryption.transit_mode",
                format!(
                    "`preferred` needs engine 7.0.5 or later; this spec has {}",
                    spec.engine.version
                ),
            );
        }
    }

    fn auth(&mut self, spec: &Spec) {
        let auth = &spec.auth;
        let version = spec.engine.version;
        let mode = auth.mode;
        if mode != AuthMode::None {
            self.require(
                spec.encryption.in_transit,
                "auth.mode",
                "authentication needs TLS: set `encryption.in_transit: true` or `auth.mode: none`",
            );
        }
        if mode != AuthMode::Token && auth.token != TokenSettings::default() {
            self.error("auth.token", "token settings apply only to `mode: token`");
        }
        if !matches!(mode, AuthMode::Rbac | AuthMode::Iam) && !auth.users.is_empty() {
            self.error(
                "auth.users",
                "users apply only to `mode: rbac` and `mode: iam`",
            );
        }
        match mode {
            AuthMode::None | AuthMode::Token => {}
            AuthMode::Rbac => self.require(
                version.at_least(RBAC_MIN),
                "auth.mode",
                format!("RBAC users need engine 6.0 or later; this spec has {version}"),
            ),
            AuthMode::Iam => {
                let minimum = match spec.engine.name {
                    EngineName::Redis => REDIS_IAM_MIN,
                    EngineName::Valkey => VALKEY_MIN,
                };
                self.require(
                    version.at_least(minimum),
                    "auth.mode",
                    format!(
                        "IAM authentication needs Redis OSS 7.0 or Valkey 7.2 or later; this spec has {} {version}",
                        spec.engine.name.as_str()
                    ),
                );
            }
        }
        if mode == AuthMode::Token {
            self.require(
                (32..=128).contains(&auth.token.length),
                "auth.token.length",
                "a generated AUTH token is 32 to 128 characters",
            );
        }
        if matches!(mode, AuthMode::Rbac | AuthMode::Iam) {
            self.users(mode, &auth.users);
        }
        self.rotation(mode, &auth.rotation);
    }

    fn rotation(&mut self, mode: AuthMode, rotation: &RotationSettings) {
        if rotation == &RotationSettings::default() {
            return;
        }
        if !matches!(mode, AuthMode::Token | AuthMode::Rbac) {
            self.error(
                "auth.rotation",
                "rotation applies to `mode: token` and `mode: rbac` (IAM tokens are signed fresh; `none` has no credential)",
            );
        }
        if let PreviousCredential::RevokeAfter { revoke_after: text } = &rotation.previous {
            self.require(
                rotation
                    .previous
                    .revoke_after()
                    .is_some_and(|d| !d.is_zero()),
                "auth.rotation.previous.revoke_after",
                format!("`{text}` is not a duration: write it like 24h, 90m or 7d"),
            );
        }
        if let Some(schedule) = &rotation.schedule {
            self.require(
                is_rotation_schedule(schedule),
                "auth.rotation.schedule",
                format!(
                    "`{schedule}` is not a schedule Secrets Manager accepts: write rate(30 days), rate(12 hours) (at least 4) or cron(0 4 ? * SUN *)"
                ),
            );
        }
        if rotation.lambda_runner() {
            self.require(
                rotation.schedule.is_some(),
                "auth.rotation.schedule",
                "`runner: lambda` needs a schedule, such as rate(30 days)",
            );
        } else if rotation.lambda != RotationLambda::default() {
            self.error(
                "auth.rotation.lambda",
                "these settings are for `runner: lambda`; this spec's runner is `external`",
            );
        }
        self.lambda_settings(&rotation.lambda);
    }

    fn lambda_settings(&mut self, lambda: &RotationLambda) {
        if let Some(package) = &lambda.package {
            self.require(
                package == "release" || package.ends_with(".zip"),
                "auth.rotation.lambda.package",
                "write `release` or the path of a .zip file holding `bootstrap`",
            );
        }
        self.require(
            LOG_RETENTION_DAYS.contains(&lambda.log_retention_days),
            "auth.rotation.lambda.log_retention_days",
            "CloudWatch Logs keeps events for 1, 3, 5, 7, 14, 30, 60, 90 … days (as for logs.*.retention_days)",
        );
    }

    fn users(&mut self, mode: AuthMode, users: &[User]) {
        self.require(!users.is_empty(), "auth.users", "list at least one user");
        let mut names = BTreeSet::new();
        for (i, user) in users.iter().enumerate() {
            let path = format!("auth.users[{i}].name");
            let name = &user.name;
            self.require(
                is_user_name(name),
                &path,
                format!("`{name}` is not a user name: 1-40 letters, digits and hyphens, starting with a letter"),
            );
            self.require(
                name != "default",
                &path,
                "the stack manages the `default` user (it gets no access); give this user another name",
            );
            if mode == AuthMode::Iam {
                self.require(
                    name.chars().all(|c| !c.is_ascii_uppercase()),
                    &path,
                    "IAM users' names are their ids and must be lowercase",
                );
            }
            self.require(
                names.insert(name.to_ascii_lowercase()),
                &path,
                format!("user `{name}` is listed twice"),
            );
            if let Some(problem) = access_string_problem(&user.access) {
                self.error(&format!("auth.users[{i}].access"), problem);
            }
        }
        self.require(
            users.len() <= MAX_SPEC_USERS,
            "auth.users",
            format!(
                "a user group holds at most {} users and the stack adds its own `default` user; list at most {MAX_SPEC_USERS}, not {}",
                MAX_SPEC_USERS + 1,
                users.len()
            ),
        );
    }

    fn logs(&mut self, spec: &Spec) {
        let version = spec.engine.version;
        let kinds = [
            ("logs.slow", &spec.logs.slow, SLOW_LOG_MIN, "6.0"),
            ("logs.engine", &spec.logs.engine, ENGINE_LOG_MIN, "6.2"),
        ];
        for (path, settings, minimum, written) in kinds {
            if settings.enabled == Some(true) && !version.at_least(minimum) {
                self.error(
                    &format!("{path}.enabled"),
                    format!("this log needs engine {written} or later; this spec has {version}"),
                );
            }
            self.require(
                LOG_RETENTION_DAYS.contains(&settings.retention_days),
                &format!("{path}.retention_days"),
                format!(
                    "CloudWatch Logs keeps events for one of {} days",
                    LOG_RETENTION_DAYS
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            if let Some(name) = &settings.group_name {
                self.require(
                    is_log_group_name(name),
                    &format!("{path}.group_name"),
                    "a log group name is 1-512 of: letters, digits, _ - / . #",
                );
            }
        }
        if crate::names::slow_log_group(spec) == crate::names::engine_log_group(spec) {
            self.error(
                "logs.engine.group_name",
                "give each log type its own log group; ElastiCache cannot share one",
            );
        }
    }

    fn outputs(&mut self, spec: &Spec) {
        if let Some(prefix) = &spec.outputs.ssm_prefix {
            let ok = prefix.starts_with('/')
                && prefix.ends_with('/')
                && prefix.len() <= 900
                && !prefix.starts_with("/aws")
                && !prefix.starts_with("/ssm")
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_.-".contains(c));
            self.require(
                ok,
                "outputs.ssm_prefix",
                "an SSM path starts and ends with `/`, uses letters, digits, _ . - and does not start with /aws or /ssm",
            );
        }
        for (i, role) in spec.outputs.attach_to_roles.iter().enumerate() {
            let ok = (1..=64).contains(&role.len())
                && role
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
            self.require(
                ok,
                &format!("outputs.attach_to_roles[{i}]"),
                format!("`{role}` is not an IAM role name (1-64 of letters, digits and +=,.@_-)"),
            );
        }
        if !spec.outputs.attach_to_roles.is_empty() {
            self.require(
                spec.outputs.iam_policies,
                "outputs.attach_to_roles",
                "roles get the stack's policies only with `iam_policies: true`",
            );
        }
    }

    fn destroy(&mut self, destroy: &Destroy) {
        self.require(
            (7..=30).contains(&destroy.kms_key_deletion_window_days),
            "destroy.kms_key_deletion_window_days",
            "KMS waits 7 to 30 days before deleting a key",
        );
        self.require(
            (7..=30).contains(&destroy.secret_recovery_window_days),
            "destroy.secret_recovery_window_days",
            "Secrets Manager keeps a deleted secret 7 to 30 days",
        );
    }

    fn tags(&mut self, spec: &Spec) {
        self.require(
            spec.tags.len() <= 40,
            "tags",
            "at most 40 tags (AWS allows 50, the stack adds its own)",
        );
        for (key, value) in &spec.tags {
            let path = format!("tags.{key}");
            self.require(
                !key.is_empty() && key.chars().count() <= 128,
                &path,
                "a tag key is 1 to 128 characters",
            );
            self.require(
                value.chars().count() <= 256,
                &path,
                "a tag value is at most 256 characters",
            );
            self.require(
                !key.to_ascii_lowercase().starts_with("aws:"),
                &path,
                "tag keys starting with aws: are reserved by AWS",
            );
            self.require(
                key != crate::STACK_TAG,
                &path,
                "the stack sets this tag itself",
            );
        }
    }

    fn waivers(&mut self, spec: &Spec) {
        for (i, waiver) in spec.waivers.iter().enumerate() {
            self.require(
                !waiver.rule.trim().is_empty(),
                &format!("waivers[{i}].rule"),
                "name the rule id being waived",
            );
            self.require(
                !waiver.reason.trim().is_empty(),
                &format!("waivers[{i}].reason"),
                "say why the finding is accepted",
            );
        }
    }
}

/// ElastiCache's snapshot names: final and manual ones are letters, digits and hyphens;
/// automatic ones add dots (`automatic.orders-2026-12-06-03-00`).
fn is_snapshot_name(name: &str) -> bool {
    name.len() <= 255
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}
