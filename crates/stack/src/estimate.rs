//! What the stack costs a month before and after a plan: the footprint of what the plan
//! observed and of what the spec asks for, priced by `cost::PriceList`. Reads only the
//! Price List; a plan is complete without it.

use cost::{CostReport, Engine, Footprint, Nodes, RotationFunction};
use spec::{ClusterMode, LambdaArchitecture, Spec, VpcEndpoints};

use crate::driver::StackPlan;
use crate::{DestroyPlan, Stack};

/// Seconds a rotation step is taken to run: a few Secrets Manager and ElastiCache calls
/// and, for the `connect` test, one TLS login.
const SECONDS_PER_ROTATION_STEP: f64 = 2.0;

/// Interface endpoints the rotation runner creates: Secrets Manager and ElastiCache.
const RUNNER_ENDPOINTS: u32 = 2;

impl Stack {
    fn prices(&self) -> &cost::PriceList {
        self.prices
            .get_or_init(|| cost::PriceList::new(&self.config, &cost::PriceListConfig::default()))
    }

    /// The monthly cost of what exists and of what `plan` leaves, per resource. Never
    /// an error: without access to the Price List the report says why.
    pub async fn cost(&self, plan: &StackPlan) -> CostReport {
        let walk = &plan.walk;
        let before = existing(
            &self.spec,
            Observed {
                cluster: &walk.cluster.observed,
                kms: &walk.kms.observed,
                secrets: &walk.secrets.observed,
                runner: &walk.runner.observed,
            },
        );
        let after = desired(&self.spec, walk.secrets.outputs.secrets.len());
        self.prices()
            .estimate(&self.spec.region, &before, &after)
            .await
    }

    /// The monthly cost of what exists and of what `plan` leaves (a key kept for the
    /// final snapshots, nothing else).
    pub async fn destroy_cost(&self, plan: &DestroyPlan) -> CostReport {
        let after = Footprint {
            kms_keys: u32::from(plan.keeps_key()),
            ..Footprint::default()
        };
        self.prices()
            .estimate(&self.spec.region, &plan.footprint, &after)
            .await
    }
}

/// What observe found, as far as it is billed.
pub(crate) struct Observed<'a> {
    pub cluster: &'a cluster::Observed,
    pub kms: &'a kms::Observed,
    pub secrets: &'a secrets::Observed,
    pub runner: &'a rotation_runner::Observed,
}

/// The footprint of what exists.
pub(crate) fn existing(spec: &Spec, observed: Observed<'_>) -> Footprint {
    let nodes = observed
        .cluster
        .replication_group
        .as_ref()
        .and_then(|group| {
            Some(Nodes {
                engine: Engine::from_api(&group.engine)?,
                node_type: group.node_type.clone(),
                shards: count(group.replicas.len()),
                count: group.replicas.iter().map(|r| u32::from(*r) + 1).sum(),
                data_tiering: group.data_tiering,
                snapshot_retention_days: u32::try_from(group.snapshot_retention).unwrap_or(0),
            })
        });
    // An existing key named in the spec is not the stack's to count; copies an
    // interrupted run left are, until destroy schedules their deletion.
    let own_key = spec.encryption.kms_key.is_none() && observed.kms.key.is_some();
    let kms_keys = u32::from(own_key) + count(observed.kms.duplicate_keys.len());
    let secrets = count(
        observed
            .secrets
            .secrets
            .values()
            .filter(|s| !s.deleted)
            .count(),
    );
    let function = observed.runner.function.as_ref();
    let subnets = function.map_or_else(|| subnet_count(spec), |f| count(f.subnet_ids.len()));
    Footprint {
        nodes,
        kms_keys,
        secrets,
        endpoint_interfaces: count(observed.runner.endpoints.len()) * subnets,
        rotation_function: function.map(|_| rotation_function(spec, secrets)),
    }
}

/// The footprint of what the spec asks for, with `secrets` secrets.
pub(crate) fn desired(spec: &Spec, secrets: usize) -> Footprint {
    let cluster = &spec.cluster;
    let shards = match cluster.mode {
        ClusterMode::Enabled => u32::from(cluster.shards),
        ClusterMode::Disabled => 1,
    };
    let nodes = Nodes {
        engine: match spec.engine.name {
            spec::EngineName::Valkey => Engine::Valkey,
            spec::EngineName::Redis => Engine::Redis,
        },
        node_type: spec.node_type.clone(),
        shards,
        count: shards * (u32::from(cluster.replicas_per_shard) + 1),
        data_tiering: cluster.data_tiering,
        snapshot_retention_days: u32::from(cluster.snapshot.retention_days),
    };
    let secrets = count(secrets);
    let rotation = &spec.auth.rotation;
    let runner = rotation.lambda_runner();
    let endpoints = runner && rotation.lambda.vpc_endpoints == VpcEndpoints::Create;
    Footprint {
        nodes: Some(nodes),
        kms_keys: u32::from(spec.encryption.kms_key.is_none()),
        secrets,
        endpoint_interfaces: u32::from(endpoints) * RUNNER_ENDPOINTS * subnet_count(spec),
        rotation_function: runner.then(|| rotation_function(spec, secrets)),
    }
}

fn rotation_function(spec: &Spec, secrets: u32) -> RotationFunction {
    let rotation = &spec.auth.rotation;
    let rotations = RotationFunction::rotations_per_month(rotation.schedule.as_deref());
    RotationFunction {
        invocations_per_month: f64::from(secrets)
            * RotationFunction::STEPS_PER_ROTATION
            * rotations,
        memory_mb: u32::try_from(rotation_runner::FUNCTION_MEMORY_MB).unwrap_or(0),
        arm64: rotation.lambda.architecture == LambdaArchitecture::Arm64,
        seconds_per_invocation: SECONDS_PER_ROTATION_STEP,
    }
}

fn subnet_count(spec: &Spec) -> u32 {
    let network = &spec.network;
    let created = network.create.as_ref().map(|c| c.subnets.len());
    let existing = network.existing.as_ref().map(|e| e.subnet_ids.len());
    count(created.or(existing).unwrap_or(0))
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> Spec {
        spec::parse(&test_support::spec_source("demo", extra), "cost.yaml").expect("valid spec")
    }

    #[test]
    fn the_desired_footprint_counts_nodes_per_shard_and_the_stack_key() {
        let footprint = desired(
            &spec("cluster: {mode: enabled, shards: 3, replicas_per_shard: 2}\n"),
            2,
        );
        let nodes = footprint.nodes.expect("nodes");
        assert_eq!((nodes.shards, nodes.count), (3, 9));
        assert_eq!((footprint.kms_keys, footprint.secrets), (1, 2));
        assert_eq!(footprint.endpoint_interfaces, 0);
        assert!(footprint.rotation_function.is_none());
    }

    #[test]
    fn an_existing_key_is_not_counted_and_nothing_observed_is_empty() {
        let spec = spec("encryption: {kms_key: alias/shared}\n");
        assert_eq!(desired(&spec, 1).kms_keys, 0);
        let observed = existing(
            &spec,
            Observed {
                cluster: &cluster::Observed::default(),
                kms: &kms::Observed::default(),
                secrets: &secrets::Observed::default(),
                runner: &rotation_runner::Observed::default(),
            },
        );
        assert!(observed.is_empty(), "{observed:?}");
    }
}
