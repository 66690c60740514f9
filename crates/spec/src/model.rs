//! The spec's data model: what a `spec.yaml` may say, with the secure defaults.
//!
//! Every struct denies unknown fields, so a typo is an error rather than a silently
//! ignored setting. Values that need a rule to be checked (windows, versions, names) are
//! kept as written and checked by `validate`, which reports every problem at once.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::{Cidr, EngineVersion, ParameterValue};

/// A whole cache stack: network, key, logs, secret, replication group and outputs.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The stack's name. It becomes the replication group id and the stem of every other
    /// resource name: 1-40 letters, digits and hyphens, starting with a letter, no `--`,
    /// no trailing hyphen. Stored lowercase, as AWS does.
    pub stack: String,
    /// The AWS region, for example `eu-west-1`.
    pub region: String,
    /// The cache engine and its version.
    pub engine: Engine,
    /// The node type, for example `cache.t4g.small` or `cache.r7g.large`.
    pub node_type: String,
    /// The port clients connect to.
    #[serde(default = "defaults::port")]
    pub port: u16,
    /// Where the cache lives and who may connect to it.
    pub network: Network,
    /// Topology, failover, parameters, backups and maintenance.
    #[serde(default)]
    pub cluster: Cluster,
    /// Encryption at rest and in transit.
    #[serde(default)]
    pub encryption: Encryption,
    /// How clients authenticate.
    #[serde(default)]
    pub auth: Auth,
    /// Slow-log and engine-log delivery to CloudWatch Logs.
    #[serde(default)]
    pub logs: Logs,
    /// What the stack publishes for applications: SSM parameters and IAM policies.
    #[serde(default)]
    pub outputs: Outputs,
    /// What `destroy` keeps and for how long.
    #[serde(default)]
    pub destroy: Destroy,
    /// Policy findings the team accepts, each with a reason.
    #[serde(default)]
    pub waivers: Vec<Waiver>,
    /// Tags added to every resource, besides `elasticache-action:stack`.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// The cache engine.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Engine {
    /// `valkey` or `redis` (Redis OSS).
    pub name: EngineName,
    /// The engine version, quoted: `"7.1"`, `"8.0"`, `"5.0.6"`.
    pub version: EngineVersion,
}

/// The engines ElastiCache runs that this tool provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EngineName {
    /// Valkey, the open-source fork of Redis.
    Valkey,
    /// Redis OSS.
    Redis,
}

impl EngineName {
    /// The name the ElastiCache API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineName::Valkey => "valkey",
            EngineName::Redis => "redis",
        }
    }
}

/// Where the cache lives (`create` or `existing`) and who may connect (`allow`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Create a VPC with one private subnet per availability zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<CreateNetwork>,
    /// Use a VPC and subnets that already exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing: Option<ExistingNetwork>,
    /// Who may connect to the cache port. At least one CIDR or security group.
    #[serde(default)]
    pub allow: Allow,
}

/// A new VPC with private subnets (no internet gateway, no route out).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNetwork {
    /// The VPC's IPv4 CIDR block, /16 to /28.
    pub vpc_cidr: Cidr,
    /// One private subnet per availability zone.
    pub subnets: Vec<SubnetSpec>,
}

/// One private subnet of a created VPC.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetSpec {
    /// The availability zone, for example `eu-west-1a`.
    pub availability_zone: String,
    /// The subnet's CIDR block, inside the VPC's.
    pub cidr: Cidr,
}

/// A VPC and subnets the stack uses but does not own.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExistingNetwork {
    /// The VPC id, `vpc-…`.
    pub vpc_id: String,
    /// Subnet ids, `subnet-…`, in distinct availability zones for Multi-AZ.
    pub subnet_ids: Vec<String>,
}

/// Sources admitted on the cache port.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    /// IPv4 CIDR blocks.
    #[serde(default)]
    pub cidrs: Vec<Cidr>,
    /// Security group ids, `sg-…`.
    #[serde(default)]
    pub security_groups: Vec<String>,
}

/// Cluster mode off (one shard) or on (sharded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClusterMode {
    /// One shard: a primary and up to five replicas.
    #[default]
    Disabled,
    /// Up to 90 shards, each a primary and up to five replicas.
    Enabled,
}

/// Topology, availability, parameters, backups and maintenance.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// A description for the replication group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `disabled` (one shard) or `enabled` (sharded).
    #[serde(default)]
    pub mode: ClusterMode,
    /// Number of shards; 1 when cluster mode is disabled.
    #[serde(default = "defaults::one")]
    pub shards: u16,
    /// Read replicas per shard, 0-5.
    #[serde(default = "defaults::one")]
    pub replicas_per_shard: u16,
    /// Place replicas in other AZs and fail over across them. Default: on when there are
    /// replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_az: Option<bool>,
    /// Promote a replica when the primary fails. Default: on when there are replicas or
    /// cluster mode is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic_failover: Option<bool>,
    /// Engine parameters for a parameter group the stack owns, for example
    /// `maxmemory-policy: allkeys-lru`.
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterValue>,
    /// Automatic backups.
    #[serde(default)]
    pub snapshot: Snapshot,
    /// Weekly maintenance window, UTC, `ddd:hh24:mi-ddd:hh24:mi`.
    #[serde(default = "defaults::maintenance_window")]
    pub maintenance_window: String,
    /// Let AWS apply minor engine upgrades in the maintenance window.
    #[serde(default = "defaults::yes")]
    pub auto_minor_version_upgrade: bool,
    /// Apply modifications at once rather than in the next maintenance window.
    #[serde(default = "defaults::yes")]
    pub apply_immediately: bool,
    /// Data tiering (memory plus SSD); required by, and only for, r6gd node types.
    #[serde(default)]
    pub data_tiering: bool,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            description: None,
            mode: ClusterMode::Disabled,
            shards: 1,
            replicas_per_shard: 1,
            multi_az: None,
            automatic_failover: None,
            parameters: BTreeMap::new(),
            snapshot: Snapshot::default(),
            maintenance_window: defaults::maintenance_window(),
            auto_minor_version_upgrade: true,
            apply_immediately: true,
            data_tiering: false,
        }
    }
}

impl Cluster {
    /// Whether automatic failover is on, after defaults.
    pub fn automatic_failover(&self) -> bool {
        self.automatic_failover
            .unwrap_or(self.replicas_per_shard > 0 || self.mode == ClusterMode::Enabled)
    }

    /// Whether Multi-AZ is on, after defaults.
    pub fn multi_az(&self) -> bool {
        self.multi_az.unwrap_or(self.replicas_per_shard > 0)
    }
}

/// Automatic backups.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Daily backup window, UTC, `hh24:mi-hh24:mi`, at least 60 minutes, not overlapping
    /// the maintenance window.
    #[serde(default = "defaults::snapshot_window")]
    pub window: String,
    /// Days to keep automatic backups, 0-35; 0 turns backups off.
    #[serde(default = "defaults::snapshot_retention")]
    pub retention_days: u16,
    /// Create the replication group from this snapshot (its name: a final snapshot
    /// such as `orders-final-20261206-101500`, or an automatic one). Read only when the
    /// group is created; once it exists, changing this does nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_from: Option<String>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            window: defaults::snapshot_window(),
            retention_days: defaults::snapshot_retention(),
            restore_from: None,
        }
    }
}

/// Encryption at rest and in transit.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    /// Encrypt data at rest. Can only be chosen when the group is created.
    #[serde(default = "defaults::yes")]
    pub at_rest: bool,
    /// An existing KMS key (ARN, key id, alias or alias ARN) for data at rest and the
    /// stack's secrets, logs and parameters. Absent: the stack creates its own key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    /// Require TLS between clients and the cache.
    #[serde(default = "defaults::yes")]
    pub in_transit: bool,
    /// `required` (TLS only) or `preferred` (TLS and plain, to migrate a running group).
    #[serde(default)]
    pub transit_mode: TransitMode,
}

impl Default for Encryption {
    fn default() -> Self {
        Encryption {
            at_rest: true,
            kms_key: None,
            in_transit: true,
            transit_mode: TransitMode::Required,
        }
    }
}

/// Transit encryption mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransitMode {
    /// Only TLS connections.
    #[default]
    Required,
    /// TLS and plain connections; a step on the way to `required`.
    Preferred,
}

impl TransitMode {
    /// ElastiCache's name for the mode, as the spec writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TransitMode::Required => "required",
            TransitMode::Preferred => "preferred",
        }
    }
}

/// How clients authenticate.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// `token` (one AUTH token), `rbac` (users with passwords and access strings), `iam`
    /// (users authenticated by IAM), or `none`.
    #[serde(default)]
    pub mode: AuthMode,
    /// The AUTH token's settings, for `mode: token`.
    #[serde(default)]
    pub token: TokenSettings,
    /// Users, for `mode: rbac` and `mode: iam`.
    #[serde(default)]
    pub users: Vec<User>,
    /// How `orchestrator rotate` rotates the AUTH token or the users' passwords.
    #[serde(default, skip_serializing_if = "is_default")]
    pub rotation: RotationSettings,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            mode: AuthMode::Token,
            token: TokenSettings::default(),
            users: Vec::new(),
            rotation: RotationSettings::default(),
        }
    }
}

/// Credential rotation, for `mode: token` and `mode: rbac`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotationSettings {
    /// What happens to the credential a rotation replaces: `keep` (default: it stays
    /// valid until the next rotation, so clients holding it keep working) or
    /// `{revoke_after: 24h}` (a later `orchestrator rotate --revoke-due` revokes it once
    /// it has been the previous one that long).
    #[serde(default)]
    pub previous: PreviousCredential,
    /// When Secrets Manager rotates, as it accepts it: `rate(30 days)`, `rate(12 hours)`
    /// or `cron(0 4 ? * SUN *)`. Needed by `runner: lambda`; with `external` it is what
    /// `orchestrator output` tells whoever schedules `orchestrator rotate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Who runs rotations: `external` (default: `orchestrator rotate` from a scheduled
    /// job) or `lambda` (`apply` deploys the rotation function and turns on Secrets
    /// Manager's rotation of every credential secret).
    #[serde(default)]
    pub runner: RotationRunner,
    /// The rotation function's settings, for `runner: lambda`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub lambda: RotationLambda,
}

/// Who runs rotations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RotationRunner {
    /// `orchestrator rotate` (a scheduled workflow, cron or a person).
    #[default]
    External,
    /// A Lambda function Secrets Manager invokes on the schedule.
    Lambda,
}

/// The rotation function `apply` deploys for `runner: lambda`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotationLambda {
    /// `release` (default: this version's `rotation-lambda-<architecture>.zip` from the
    /// project's GitHub release, checksum-verified) or the path of a zip holding
    /// `bootstrap` (relative to the working directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// `arm64` (default) or `x86_64`.
    #[serde(default)]
    pub architecture: LambdaArchitecture,
    /// How the function tests a new credential: `connect` (default: AUTH and PING over
    /// TLS from inside the VPC) or `control-plane`.
    #[serde(default)]
    pub test: RotationTest,
    /// `create` (default): interface endpoints for Secrets Manager and ElastiCache in the
    /// stack's subnets, so the function reaches both without a NAT. `existing`: the VPC
    /// already has them (with private DNS) or a NAT; nothing is created.
    #[serde(default)]
    pub vpc_endpoints: VpcEndpoints,
    /// Days to keep the function's logs (default 30).
    #[serde(default = "default_lambda_log_retention")]
    pub log_retention_days: u32,
    /// Whether turning rotation on for a secret also rotates it at once (default
    /// `false`: the first rotation comes with the schedule).
    #[serde(default)]
    pub rotate_on_enable: bool,
}

fn default_lambda_log_retention() -> u32 {
    30
}

impl Default for RotationLambda {
    fn default() -> Self {
        RotationLambda {
            package: None,
            architecture: LambdaArchitecture::default(),
            test: RotationTest::default(),
            vpc_endpoints: VpcEndpoints::default(),
            log_retention_days: default_lambda_log_retention(),
            rotate_on_enable: false,
        }
    }
}

impl RotationSettings {
    /// Whether `apply` deploys the rotation function.
    pub fn lambda_runner(&self) -> bool {
        self.runner == RotationRunner::Lambda
    }
}

/// The rotation function's processor architecture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LambdaArchitecture {
    /// Graviton (cheaper per GB-second).
    #[default]
    Arm64,
    /// Intel/AMD.
    #[serde(rename = "x86_64")]
    X86_64,
}

impl LambdaArchitecture {
    /// The name Lambda and the release assets use.
    pub fn as_str(self) -> &'static str {
        match self {
            LambdaArchitecture::Arm64 => "arm64",
            LambdaArchitecture::X86_64 => "x86_64",
        }
    }
}

/// How a rotation tests the new credential.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RotationTest {
    /// Log in with it (AUTH, PING) over the network.
    #[default]
    Connect,
    /// Wait until ElastiCache no longer reports the change pending.
    ControlPlane,
}

impl RotationTest {
    /// The word the spec and the function's environment use.
    pub fn as_str(self) -> &'static str {
        match self {
            RotationTest::Connect => "connect",
            RotationTest::ControlPlane => "control-plane",
        }
    }
}

/// Whether the stack creates the VPC endpoints the function needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VpcEndpoints {
    /// Create interface endpoints for Secrets Manager and ElastiCache.
    #[default]
    Create,
    /// The VPC already reaches both services.
    Existing,
}

/// What happens to a replaced credential: `keep`, or `{revoke_after: 24h}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum PreviousCredential {
    /// `keep`: valid until the next rotation replaces it.
    Keep(KeepWord),
    /// Revoked once it has been the previous credential this long.
    RevokeAfter {
        /// How long, such as `24h` or `90m`.
        revoke_after: String,
    },
}

/// The word `keep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeepWord {
    /// `keep`.
    Keep,
}

impl Default for PreviousCredential {
    fn default() -> Self {
        PreviousCredential::Keep(KeepWord::Keep)
    }
}

impl PreviousCredential {
    /// The grace period of `revoke_after`, when it is one `humantime` reads.
    pub fn revoke_after(&self) -> Option<std::time::Duration> {
        match self {
            PreviousCredential::Keep(_) => None,
            PreviousCredential::RevokeAfter { revoke_after } => {
                humantime::parse_duration(revoke_after).ok()
            }
        }
    }
}

/// Authentication modes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No authentication: anyone who reaches the port may connect.
    None,
    /// One AUTH token kept in Secrets Manager.
    #[default]
    Token,
    /// Role-based access control: users with passwords in Secrets Manager.
    Rbac,
    /// Users authenticated with IAM (SigV4 tokens).
    Iam,
}

impl AuthMode {
    /// The mode as the spec writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Token => "token",
            AuthMode::Rbac => "rbac",
            AuthMode::Iam => "iam",
        }
    }
}

/// The AUTH token.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// Length of the generated token, 32-128.
    #[serde(default = "defaults::token_length")]
    pub length: u16,
    /// Secrets Manager secret name. Default `<stack>/auth-token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            length: defaults::token_length(),
            secret_name: None,
        }
    }
}

/// An RBAC or IAM user.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The user name clients log in with. For IAM users also the user id: lowercase.
    pub name: String,
    /// The Redis ACL access string.
    #[serde(default = "defaults::access_string")]
    pub access: String,
}

/// Log delivery.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Logs {
    /// The slow log (engine 6.0 and later).
    #[serde(default)]
    pub slow: LogSettings,
    /// The engine log (engine 6.2 and later).
    #[serde(default)]
    pub engine: LogSettings,
}

/// One log type's delivery.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Deliver this log. Default: on when the engine version supports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `json` or `text`.
    #[serde(default)]
    pub format: LogFormat,
    /// Days CloudWatch Logs keeps events; one of the values CloudWatch accepts.
    #[serde(default = "defaults::log_retention")]
    pub retention_days: u32,
    /// Log group name. Default `/aws/elasticache/<stack>/slow-log` or `…/engine-log`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            enabled: None,
            format: LogFormat::Json,
            retention_days: defaults::log_retention(),
            group_name: None,
        }
    }
}

/// Log formats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON document per event.
    #[default]
    Json,
    /// Plain text.
    Text,
}

impl LogFormat {
    /// ElastiCache's name for the format, as the spec writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Json => "json",
            LogFormat::Text => "text",
        }
    }
}

/// What the stack publishes for applications.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// SSM Parameter Store path for endpoint, port and secret ARN. Default `/<stack>/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssm_prefix: Option<String>,
    /// Store parameters as `SecureString` under the stack key (`true`) or as `String`.
    #[serde(default = "defaults::yes")]
    pub ssm_secure: bool,
    /// Create least-privilege IAM policies for applications.
    #[serde(default = "defaults::yes")]
    pub iam_policies: bool,
    /// IAM role names to attach those policies to.
    #[serde(default)]
    pub attach_to_roles: Vec<String>,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs {
            ssm_prefix: None,
            ssm_secure: true,
            iam_policies: true,
            attach_to_roles: Vec::new(),
        }
    }
}

/// What `destroy` keeps.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Destroy {
    /// Take a final snapshot of the replication group before deleting it.
    #[serde(default = "defaults::yes")]
    pub final_snapshot: bool,
    /// Days before a scheduled KMS key deletion takes effect, 7-30.
    #[serde(default = "defaults::thirty")]
    pub kms_key_deletion_window_days: u16,
    /// Days a deleted secret can still be restored, 7-30.
    #[serde(default = "defaults::thirty")]
    pub secret_recovery_window_days: u16,
    /// Delete log groups (and their events) that the stack no longer wants.
    #[serde(default)]
    pub delete_log_groups: bool,
}

impl Default for Destroy {
    fn default() -> Self {
        Destroy {
            final_snapshot: true,
            kms_key_deletion_window_days: 30,
            secret_recovery_window_days: 30,
            delete_log_groups: false,
        }
    }
}

/// An accepted policy finding.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The rule id, for example `CKV2_AWS_50`.
    pub rule: String,
    /// Why the team accepts it.
    pub reason: String,
}

mod defaults {
    pub fn port() -> u16 {
        6379
    }
    pub fn one() -> u16 {
        1
    }
    pub fn yes() -> bool {
        true
    }
    pub fn thirty() -> u16 {
        30
    }
    pub fn maintenance_window() -> String {
        "sun:05:00-sun:06:00".to_owned()
    }
    pub fn snapshot_window() -> String {
        "03:00-04:00".to_owned()
    }
    pub fn snapshot_retention() -> u16 {
        7
    }
    pub fn token_length() -> u16 {
        64
    }
    pub fn access_string() -> String {
        "on ~* +@all".to_owned()
    }
    pub fn log_retention() -> u32 {
        365
    }
}
