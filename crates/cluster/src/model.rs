//! What the cluster step wants ([`Desired`], derived from the spec and the outputs of
//! steps 1-7) and what it finds ([`Observed`]).

use std::collections::{BTreeMap, BTreeSet};

use plan::Known;
use plan::tags::Tags;
use spec::{AuthMode, ClusterMode, EngineName, EngineVersion, Spec, TransitMode, names};

/// What the earlier steps hand to this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The cache security group (step 3).
    pub security_group_id: Known<String>,
    /// The stack key's ARN (step 4), for encryption at rest.
    pub kms_key_arn: Known<String>,
}

/// Everything step 8 manages.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The stack's name.
    pub stack: String,
    /// The stack's own parameter group, when the spec sets parameters.
    pub parameter_group: Option<ParameterGroup>,
    /// Users, for `auth: rbac` and `auth: iam` (the no-access `default` user first).
    pub users: Vec<User>,
    /// The user group holding them.
    pub user_group: Option<UserGroup>,
    /// The user group's id, wanted or not (destroy and clean-up look for it).
    pub user_group_id: String,
    /// The id of the stack's no-access `default` user, wanted or not.
    pub default_user_id: String,
    /// The replication group.
    pub replication_group: ReplicationGroup,
    /// Whether destroy takes a final snapshot.
    pub final_snapshot: bool,
    /// The start of a final snapshot's name; the UTC time of deletion follows.
    pub final_snapshot_prefix: String,
}

/// A parameter group the stack owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterGroup {
    /// Its name, `<stack>-<family>`.
    pub name: String,
    /// Its family, such as `valkey8`.
    pub family: String,
    /// Its description.
    pub description: String,
    /// Parameters that differ from the family's defaults.
    pub parameters: BTreeMap<String, String>,
    /// Its tags.
    pub tags: Tags,
}

/// An ElastiCache user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id (unique per account and region).
    pub id: String,
    /// The name clients log in with.
    pub name: String,
    /// Its access string.
    pub access: String,
    /// How it authenticates.
    pub authentication: Authentication,
    /// The engine it serves (`valkey` or `redis`).
    pub engine: &'static str,
    /// Its tags.
    pub tags: Tags,
}

/// How a user authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// A password kept in the named Secrets Manager secret (step 7).
    Password {
        /// The secret's name.
        secret: String,
    },
    /// An IAM auth token (SigV4).
    Iam,
    /// None: for the disabled `default` user.
    NoPassword,
}

impl Authentication {
    /// ElastiCache's name for the mode.
    pub fn as_str(&self) -> &'static str {
        match self {
            Authentication::Password { .. } => "password",
            Authentication::Iam => "iam",
            Authentication::NoPassword => "no-password-required",
        }
    }
}

/// A user group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroup {
    /// Its id.
    pub id: String,
    /// The engine it serves (`valkey` or `redis`).
    pub engine: &'static str,
    /// Its members' ids.
    pub user_ids: BTreeSet<String>,
    /// Its tags.
    pub tags: Tags,
}

/// How clients authenticate to the replication group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupAuth {
    /// No authentication.
    None,
    /// An AUTH token kept in the named secret.
    Token {
        /// The secret's name.
        secret: String,
    },
    /// Users of the named user group.
    UserGroup {
        /// The group's id.
        id: String,
    },
}

/// One log delivery configuration.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogDelivery {
    /// `slow-log` or `engine-log`.
    pub log_type: String,
    /// The CloudWatch Logs group.
    pub group: String,
    /// `json` or `text`.
    pub format: String,
}

impl LogDelivery {
    /// How a plan shows it.
    pub fn describe(&self) -> String {
        format!("{} -> {} ({})", self.log_type, self.group, self.format)
    }
}

/// The replication group as the spec describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicationGroup {
    /// Its id: the stack name, lowercase as AWS stores it.
    pub id: String,
    /// Its description.
    pub description: String,
    /// The engine.
    pub engine: EngineName,
    /// The engine version.
    pub engine_version: EngineVersion,
    /// The node type.
    pub node_type: String,
    /// The port.
    pub port: u16,
    /// Whether cluster mode is enabled.
    pub cluster_mode: bool,
    /// Shards (node groups).
    pub shards: u16,
    /// Replicas in each shard.
    pub replicas_per_shard: u16,
    /// Multi-AZ.
    pub multi_az: bool,
    /// Automatic failover.
    pub automatic_failover: bool,
    /// The parameter group: the stack's own, or the family's default.
    pub parameter_group: String,
    /// The cache subnet group (step 2).
    pub subnet_group: String,
    /// The security groups (step 3).
    pub security_group_ids: Known<Vec<String>>,
    /// Encryption at rest, with the key's ARN.
    pub at_rest: Option<Known<String>>,
    /// In-transit encryption mode; none when TLS is off.
    pub transit: Option<TransitMode>,
    /// Authentication.
    pub auth: GroupAuth,
    /// Log delivery, sorted by log type.
    pub log_delivery: Vec<LogDelivery>,
    /// The daily snapshot window.
    pub snapshot_window: String,
    /// Days snapshots are kept (0 turns backups off).
    pub snapshot_retention: i32,
    /// The weekly maintenance window.
    pub maintenance_window: String,
    /// Whether minor engine upgrades are applied automatically.
    pub auto_minor_version_upgrade: bool,
    /// Whether modifications are applied at once (or in the maintenance window).
    pub apply_immediately: bool,
    /// Data tiering (r6gd node types).
    pub data_tiering: bool,
    /// The snapshot a new group is created from (read only at creation).
    pub restore_from: Option<String>,
    /// Its tags.
    pub tags: Tags,
}

/// The parameter group family for an engine version: `valkey8`, `redis7`, `redis6.x`,
/// `redis5.0`.
pub fn family(engine: EngineName, version: EngineVersion) -> String {
    match engine {
        EngineName::Valkey => format!("valkey{}", version.major),
        EngineName::Redis if version.major >= 7 => format!("redis{}", version.major),
        EngineName::Redis if version.major == 6 => "redis6.x".to_owned(),
        EngineName::Redis => format!("redis{}.{}", version.major, version.minor),
    }
}

impl Desired {
    /// What `spec` asks of step 8, given the earlier steps' outputs.
    pub fn from_spec(spec: &Spec, inputs: &Inputs) -> Desired {
        let mut tags = spec.tags.clone();
        tags.insert(spec::STACK_TAG.to_owned(), spec.stack.clone());
        let family = family(spec.engine.name, spec.engine.version);
        let cluster_mode = spec.cluster.mode == ClusterMode::Enabled;
        let parameter_group = own_parameter_group(spec, &family, cluster_mode, &tags);
        let users = users(spec, &tags);
        let user_group = (!users.is_empty()).then(|| UserGroup {
            id: names::user_group(spec),
            engine: spec.engine.name.as_str(),
            user_ids: users.iter().map(|u| u.id.clone()).collect(),
            tags: tags.clone(),
        });
        let auth = match (&user_group, spec.auth.mode) {
            (Some(group), _) => GroupAuth::UserGroup {
                id: group.id.clone(),
            },
            (None, AuthMode::Token) => GroupAuth::Token {
                secret: names::token_secret(spec),
            },
            (None, _) => GroupAuth::None,
        };
        let default_group = if cluster_mode {
            format!("default.{family}.cluster.on")
        } else {
            format!("default.{family}")
        };
        let replication_group = ReplicationGroup {
            id: names::replication_group_id(spec).to_ascii_lowercase(),
            description: spec
                .cluster
                .description
                .clone()
                .unwrap_or_else(|| format!("ElastiCache stack {}", spec.stack)),
            engine: spec.engine.name,
            engine_version: spec.engine.version,
            node_type: spec.node_type.clone(),
            port: spec.port,
            cluster_mode,
            shards: if cluster_mode { spec.cluster.shards } else { 1 },
            replicas_per_shard: spec.cluster.replicas_per_shard,
            multi_az: spec.cluster.multi_az(),
            automatic_failover: spec.cluster.automatic_failover(),
            parameter_group: parameter_group
                .as_ref()
                .map_or(default_group, |group| group.name.clone()),
            subnet_group: names::subnet_group(spec),
            security_group_ids: inputs.security_group_id.clone().map(|id| vec![id]),
            at_rest: spec.encryption.at_rest.then(|| inputs.kms_key_arn.clone()),
            transit: spec
                .encryption
                .in_transit
                .then_some(spec.encryption.transit_mode),
            auth,
            log_delivery: log_delivery(spec),
            snapshot_window: spec.cluster.snapshot.window.clone(),
            snapshot_retention: i32::from(spec.cluster.snapshot.retention_days),
            maintenance_window: spec.cluster.maintenance_window.to_ascii_lowercase(),
            auto_minor_version_upgrade: spec.cluster.auto_minor_version_upgrade,
            apply_immediately: spec.cluster.apply_immediately,
            data_tiering: spec.cluster.data_tiering,
            restore_from: spec.cluster.snapshot.restore_from.clone(),
            tags: tags.clone(),
        };
        Desired {
            stack: spec.stack.clone(),
            parameter_group,
            users,
            user_group,
            user_group_id: names::user_group(spec),
            default_user_id: names::default_user_id(spec),
            replication_group,
            final_snapshot: spec.destroy.final_snapshot,
            final_snapshot_prefix: names::final_snapshot_prefix(spec),
        }
    }

    /// The names of the secrets whose values apply needs (the AUTH token, user
    /// passwords).
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self
            .users
            .iter()
            .filter_map(|u| match &u.authentication {
                Authentication::Password { secret } => Some(secret.clone()),
                _ => None,
            })
            .collect();
        if let GroupAuth::Token { secret } = &self.replication_group.auth {
            secrets.push(secret.clone());
        }
        secrets
    }
}

/// The stack's own parameter group: only when the spec sets parameters (a cluster-mode
/// group without parameters uses the family's `.cluster.on` default).
fn own_parameter_group(
    spec: &Spec,
    family: &str,
    cluster_mode: bool,
    tags: &Tags,
) -> Option<ParameterGroup> {
    if spec.cluster.parameters.is_empty() {
        return None;
    }
    let mut parameters: BTreeMap<String, String> = spec
        .cluster
        .parameters
        .iter()
        .map(|(name, value)| (name.clone(), value.0.clone()))
        .collect();
    if cluster_mode {
        parameters.insert("cluster-enabled".to_owned(), "yes".to_owned());
    }
    Some(ParameterGroup {
        name: names::parameter_group(spec, family),
        family: family.to_owned(),
        description: format!("Parameters of ElastiCache stack {}", spec.stack),
        parameters,
        tags: tags.clone(),
    })
}

fn users(spec: &Spec, tags: &Tags) -> Vec<User> {
    let (iam, rbac) = match spec.auth.mode {
        AuthMode::Iam => (true, false),
        AuthMode::Rbac => (false, true),
        AuthMode::None | AuthMode::Token => return Vec::new(),
    };
    let mut users = vec![User {
        id: names::default_user_id(spec),
        name: "default".to_owned(),
        // Every group needs a user named `default`; this one can do nothing.
        access: "off -@all".to_owned(),
        authentication: Authentication::NoPassword,
        engine: spec.engine.name.as_str(),
        tags: tags.clone(),
    }];
    users.extend(spec.auth.users.iter().map(|user| User {
        // IAM users' ids must equal their names.
        id: if iam {
            user.name.clone()
        } else {
            names::rbac_user_id(spec, &user.name)
        },
        name: user.name.clone(),
        access: user.access.clone(),
        authentication: if rbac {
            Authentication::Password {
                secret: names::user_secret(spec, &user.name),
            }
        } else {
            Authentication::Iam
        },
        engine: spec.engine.name.as_str(),
        tags: tags.clone(),
    }));
    users
}

fn log_delivery(spec: &Spec) -> Vec<LogDelivery> {
    names::enabled_log_groups(spec)
        .into_iter()
        .map(|(log_type, group)| {
            let settings = if log_type == "slow-log" {
                &spec.logs.slow
            } else {
                &spec.logs.engine
            };
            LogDelivery {
                log_type: log_type.to_owned(),
                group,
                format: settings.format.as_str().to_owned(),
            }
        })
        .collect()
}

/// Step 8's resources as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// The replication group.
    pub replication_group: Option<ObservedGroup>,
    /// Parameter groups the stack owns (the desired one, and the one in use if ours).
    pub parameter_groups: BTreeMap<String, ObservedParameterGroup>,
    /// Users by id: the desired ones that exist, and stack-tagged members of the group.
    pub users: BTreeMap<String, ObservedUser>,
    /// The stack's user group.
    pub user_group: Option<ObservedUserGroup>,
    /// Final snapshots an earlier destroy or replacement left (`<id>-final-…`); only
    /// destroy looks for them ([`Cluster::final_snapshots`](crate::Cluster::final_snapshots)).
    pub final_snapshots: Vec<String>,
}

/// A parameter group as ElastiCache describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedParameterGroup {
    /// Its family.
    pub family: String,
    /// Parameters set by the user (source `user`).
    pub parameters: BTreeMap<String, String>,
}

/// A user as ElastiCache describes it (never its passwords).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedUser {
    /// The name clients log in with.
    pub name: String,
    /// Its access string.
    pub access: String,
    /// `password`, `iam` or `no-password-required`.
    pub authentication: String,
    /// Its status (`active`, `modifying`, …).
    pub status: String,
    /// Whether it carries this stack's tag (only those are deleted).
    pub ours: bool,
}

/// A user as a failed login is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginUser {
    /// `active`, `modifying`, …
    pub status: String,
    /// `password`, `iam` or `no-password-required`.
    pub authentication: String,
    /// The user groups it is in.
    pub user_group_ids: Vec<String>,
}

/// A user group as ElastiCache describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedUserGroup {
    /// Member ids.
    pub user_ids: BTreeSet<String>,
    /// Its status (`active`, `modifying`, …).
    pub status: String,
}

/// The replication group as ElastiCache describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedGroup {
    /// Its ARN.
    pub arn: String,
    /// `creating`, `available`, `modifying`, `deleting`, …
    pub status: String,
    /// Its description.
    pub description: String,
    /// `valkey` or `redis`.
    pub engine: String,
    /// The node type.
    pub node_type: String,
    /// Whether cluster mode is enabled.
    pub cluster_mode: bool,
    /// Replicas in each shard, in shard order.
    pub replicas: Vec<u16>,
    /// Node group ids, in order.
    pub node_group_ids: Vec<String>,
    /// Multi-AZ.
    pub multi_az: bool,
    /// Automatic failover.
    pub automatic_failover: bool,
    /// Encryption at rest.
    pub at_rest: bool,
    /// The at-rest key.
    pub kms_key: Option<String>,
    /// Whether TLS is on.
    pub in_transit: bool,
    /// `required` or `preferred`, when TLS is on.
    pub transit_mode: Option<String>,
    /// Whether an AUTH token is set.
    pub auth_token: bool,
    /// Attached user groups.
    pub user_group_ids: Vec<String>,
    /// Log delivery, sorted by log type.
    pub log_delivery: Vec<LogDelivery>,
    /// The snapshot window.
    pub snapshot_window: String,
    /// Snapshot retention in days.
    pub snapshot_retention: i32,
    /// Data tiering.
    pub data_tiering: bool,
    /// Its tags.
    pub tags: Tags,
    /// Settings only a member cluster reports; none when it could not be read.
    pub member: Option<Member>,
    /// Its endpoints.
    pub endpoints: Endpoints,
}

/// What a member cache cluster reports for the whole group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The engine version, such as `7.1.0`.
    pub engine_version: String,
    /// The parameter group in use.
    pub parameter_group: String,
    /// The cache subnet group.
    pub subnet_group: String,
    /// Security group ids.
    pub security_group_ids: Vec<String>,
    /// The maintenance window.
    pub maintenance_window: String,
    /// Automatic minor upgrades.
    pub auto_minor_version_upgrade: bool,
    /// The port.
    pub port: Option<u16>,
}

/// Where clients connect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// The primary endpoint (cluster mode disabled).
    pub primary: Option<String>,
    /// The reader endpoint (cluster mode disabled).
    pub reader: Option<String>,
    /// The configuration endpoint (cluster mode enabled).
    pub configuration: Option<String>,
    /// The port.
    pub port: Option<u16>,
}

impl Endpoints {
    /// The port the group reports, else `asked` (the spec's): on AWS the two are the
    /// same; on the local emulator each group's server has a port of its own.
    pub fn port_or(&self, asked: u16) -> u16 {
        self.port.unwrap_or(asked)
    }
}

impl ObservedGroup {
    /// Whether ElastiCache reports it ready for changes.
    pub fn is_available(&self) -> bool {
        self.status == "available"
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Observed {
    /// What ElastiCache reports once `desired` is applied and settled: the state a
    /// converged stack is compared against (tests start from it and change one thing).
    pub fn as_applied(desired: &Desired) -> Observed {
        let group = &desired.replication_group;
        let shards = usize::from(group.shards);
        let (auth_token, user_group_ids) = match &group.auth {
            GroupAuth::None => (false, Vec::new()),
            GroupAuth::Token { .. } => (true, Vec::new()),
            GroupAuth::UserGroup { id } => (false, vec![id.clone()]),
        };
        let replication_group = ObservedGroup {
            arn: format!(
                "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:{}",
                group.id
            ),
            status: "available".to_owned(),
            description: group.description.clone(),
            engine: group.engine.as_str().to_owned(),
            node_type: group.node_type.clone(),
            cluster_mode: group.cluster_mode,
            replicas: vec![group.replicas_per_shard; shards],
            node_group_ids: (1..=shards).map(|n| format!("{n:04}")).collect(),
            multi_az: group.multi_az,
            automatic_failover: group.automatic_failover,
            at_rest: group.at_rest.is_some(),
            kms_key: group.at_rest.as_ref().and_then(|k| k.value().cloned()),
            in_transit: group.transit.is_some(),
            transit_mode: group.transit.map(|mode| mode.as_str().to_owned()),
            auth_token,
            user_group_ids,
            log_delivery: group.log_delivery.clone(),
            snapshot_window: group.snapshot_window.clone(),
            snapshot_retention: group.snapshot_retention,
            data_tiering: group.data_tiering,
            tags: group.tags.clone(),
            member: Some(Member {
                engine_version: format!(
                    "{}.{}.{}",
                    group.engine_version.major,
                    group.engine_version.minor,
                    group.engine_version.patch.unwrap_or(0)
                ),
                parameter_group: group.parameter_group.clone(),
                subnet_group: group.subnet_group.clone(),
                security_group_ids: group
                    .security_group_ids
                    .value()
                    .cloned()
                    .unwrap_or_default(),
                maintenance_window: group.maintenance_window.clone(),
                auto_minor_version_upgrade: group.auto_minor_version_upgrade,
                port: Some(group.port),
            }),
            endpoints: Endpoints::default(),
        };
        Observed {
            replication_group: Some(replication_group),
            parameter_groups: desired
                .parameter_group
                .iter()
                .map(|g| {
                    (
                        g.name.clone(),
                        ObservedParameterGroup {
                            family: g.family.clone(),
                            parameters: g.parameters.clone(),
                        },
                    )
                })
                .collect(),
            users: desired
                .users
                .iter()
                .map(|u| {
                    (
                        u.id.clone(),
                        ObservedUser {
                            name: u.name.clone(),
                            access: u.access.clone(),
                            authentication: u.authentication.as_str().to_owned(),
                            status: "active".to_owned(),
                            ours: true,
                        },
                    )
                })
                .collect(),
            user_group: desired.user_group.as_ref().map(|g| ObservedUserGroup {
                user_ids: g.user_ids.clone(),
                status: "active".to_owned(),
            }),
            final_snapshots: Vec::new(),
        }
    }
}
