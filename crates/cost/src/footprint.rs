//! What a stack is billed for, without prices.

use serde::Serialize;

/// The billable parts of one stack in one region: what a plan would leave (built from
/// the spec) or what exists now (built from what AWS reports). Empty for a stack that
/// does not exist.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Footprint {
    /// The replication group's nodes and their backups.
    pub nodes: Option<Nodes>,
    /// Customer managed KMS keys the stack owns (its own key; an existing key is not
    /// the stack's to count).
    pub kms_keys: u32,
    /// Secrets the stack owns (the AUTH token's, or one per RBAC user).
    pub secrets: u32,
    /// Interface endpoint network interfaces: endpoints × subnets, each billed per hour.
    pub endpoint_interfaces: u32,
    /// The rotation function, with `auth.rotation.runner: lambda`.
    pub rotation_function: Option<RotationFunction>,
}

impl Footprint {
    /// Whether nothing in it is billed.
    pub fn is_empty(&self) -> bool {
        *self == Footprint::default()
    }
}

/// A replication group's nodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nodes {
    /// The engine: Valkey and Redis OSS nodes are priced differently.
    pub engine: Engine,
    /// The node type, `cache.r7g.large`.
    pub node_type: String,
    /// Shards (node groups): 1 with cluster mode disabled.
    pub shards: u32,
    /// Nodes in all: shards × (replicas per shard + 1).
    pub count: u32,
    /// Data tiering (r6gd: memory plus SSD, both in the node's price).
    pub data_tiering: bool,
    /// Days automatic snapshots are kept; 0: none.
    pub snapshot_retention_days: u32,
}

/// The engines, as the Price List names them (`cacheEngine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Valkey.
    Valkey,
    /// Redis OSS.
    Redis,
}

impl Engine {
    /// The engine as ElastiCache's API names it (`valkey`, `redis`); `None` for others.
    pub fn from_api(name: &str) -> Option<Engine> {
        match name {
            "valkey" => Some(Engine::Valkey),
            "redis" => Some(Engine::Redis),
            _ => None,
        }
    }

    /// The Price List's `cacheEngine` value.
    pub fn price_list_name(self) -> &'static str {
        match self {
            Engine::Valkey => "Valkey",
            Engine::Redis => "Redis",
        }
    }

    /// How people name it.
    pub fn display_name(self) -> &'static str {
        match self {
            Engine::Valkey => "Valkey",
            Engine::Redis => "Redis OSS",
        }
    }
}

/// The rotation function and how much it runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RotationFunction {
    /// Invocations a month: four steps per rotation, per secret, per rotation period.
    pub invocations_per_month: f64,
    /// Its memory, MB.
    pub memory_mb: u32,
    /// Whether it runs on arm64 (priced lower than x86_64).
    pub arm64: bool,
    /// Seconds one invocation is assumed to run (an estimate: a step is a few calls).
    pub seconds_per_invocation: f64,
}

impl RotationFunction {
    /// Steps Secrets Manager invokes the function for in one rotation.
    pub const STEPS_PER_ROTATION: f64 = 4.0;

    /// Rotations a month for a schedule Secrets Manager accepts: `rate(N days)`,
    /// `rate(N hours)`; a `cron(…)` expression is taken as daily, the most often Secrets
    /// Manager rotates on one (an upper bound, said in the line).
    pub fn rotations_per_month(schedule: Option<&str>) -> f64 {
        const DAYS_PER_MONTH: f64 = crate::HOURS_PER_MONTH / 24.0;
        let Some(rate) = schedule
            .and_then(|s| s.trim().strip_prefix("rate("))
            .and_then(|s| s.strip_suffix(')'))
        else {
            return DAYS_PER_MONTH;
        };
        let mut words = rate.split_whitespace();
        let count: f64 = match words.next().and_then(|n| n.parse().ok()) {
            Some(n) if n > 0.0 => n,
            _ => return DAYS_PER_MONTH,
        };
        match words.next() {
            Some(unit) if unit.starts_with("hour") => crate::HOURS_PER_MONTH / count,
            _ => DAYS_PER_MONTH / count,
        }
    }
}
