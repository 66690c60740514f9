//! Against moto: what it records of a replication group (see
//! `docs/emulator.md` for what it ignores; those paths are in `mocked`).

use cluster::*;
use plan::{Known, Sensitive};
use test_support::Emulator;

/// `cluster::diff`, which cannot fail for these inputs.
fn diff(desired: &Desired, observed: &Observed) -> ClusterPlan {
    cluster::diff(desired, observed).expect("plans")
}

fn desired(stack: &str, extra: &str) -> Desired {
    let source = test_support::spec_source(stack, extra);
    let spec = spec::parse(&source, "emulator.yaml").expect("valid spec");
    // moto accepts security groups and keys it has never seen.
    Desired::from_spec(
        &spec,
        &Inputs {
            security_group_id: Known::Value("sg-12345678".into()),
            kms_key_arn: Known::Value("arn:aws:kms:us-east-1:123456789012:key/k1".into()),
        },
    )
}

fn credentials(stack: &str) -> Credentials {
    let mut credentials = Credentials::new();
    credentials.insert(
        format!("{stack}/auth-token"),
        Sensitive::new("t0ken-".repeat(8)),
    );
    credentials
}

fn ignore(_: Progress) {}

async fn converge(cluster: &Cluster, desired: &Desired, stack: &str) -> ClusterOutputs {
    let plan = diff(desired, &cluster.observe(desired).await.expect("observes"));
    cluster
        .apply(&plan, &credentials(stack), &WaitOptions::default(), &ignore)
        .await
        .expect("applies")
}

/// The plan for `desired` and its replication group's change.
async fn group_plan(cluster: &Cluster, desired: &Desired) -> (ClusterPlan, plan::Change) {
    let plan = diff(desired, &cluster.observe(desired).await.expect("observes"));
    let change = plan
        .changes
        .iter()
        .find(|c| c.resource.kind == kinds::REPLICATION_GROUP)
        .cloned()
        .expect("group change");
    (plan, change)
}

async fn assert_converged(cluster: &Cluster, desired: &Desired) {
    let plan = diff(desired, &cluster.observe(desired).await.expect("observes"));
    assert!(!plan.has_writes(), "{:#?}", plan.changes);
}

#[tokio::test]
async fn a_token_group_is_created_with_its_options_and_then_left_alone() {
    let account = Emulator::account("cluster_token").await;
    let cluster = Cluster::new(aws_sdk_elasticache::Client::new(&account.config));
    let desired = desired("tokens", "");
    let outputs = converge(&cluster, &desired, "tokens").await;
    assert!(outputs.arn.value().is_some());
    let endpoints = outputs.endpoints.value().cloned().unwrap_or_default();
    assert!(endpoints.primary.is_some(), "{endpoints:?}");

    let observed = cluster.observe(&desired).await.expect("observes");
    let group = observed.replication_group.expect("group");
    assert_eq!(group.replicas, [1], "one primary and one replica");
    assert!(group.at_rest && group.in_transit && group.auth_token);
    assert!(group.multi_az && group.automatic_failover);
    assert_eq!(group.log_delivery.len(), 2);
    assert_eq!(
        group.tags.get(spec::STACK_TAG).map(String::as_str),
        Some("tokens")
    );
    assert_converged(&cluster, &desired).await;
}

#[tokio::test]
async fn cluster_mode_enabled_creates_three_shards_of_two_replicas() {
    let account = Emulator::account("cluster_sharded").await;
    let cluster = Cluster::new(aws_sdk_elasticache::Client::new(&account.config));
    let desired = desired(
        "sharded",
        "cluster: {mode: enabled, shards: 3, replicas_per_shard: 2}\n",
    );
    let outputs = converge(&cluster, &desired, "sharded").await;
    let endpoints = outputs.endpoints.value().cloned().unwrap_or_default();
    assert!(endpoints.configuration.is_some(), "{endpoints:?}");
    let observed = cluster.observe(&desired).await.expect("observes");
    let group = observed.replication_group.expect("group");
    assert!(group.cluster_mode);
    assert_eq!(group.replicas, [2, 2, 2]);
    assert_converged(&cluster, &desired).await;
}

#[tokio::test]
async fn node_type_retention_and_failover_are_modified_in_place() {
    let account = Emulator::account("cluster_modify").await;
    let cluster = Cluster::new(aws_sdk_elasticache::Client::new(&account.config));
    converge(&cluster, &desired("modify", ""), "modify").await;

    let changed = desired(
        "modify",
        "node_type: cache.t4g.medium\ncluster: {snapshot: {retention_days: 14}, multi_az: false, \
         automatic_failover: false, description: Orders cache}\n",
    );
    let (plan, change) = group_plan(&cluster, &changed).await;
    assert_eq!(change.action, plan::Action::Update);
    cluster
        .apply(
            &plan,
            &credentials("modify"),
            &WaitOptions::default(),
            &ignore,
        )
        .await
        .expect("applies");
    let group = cluster
        .observe(&changed)
        .await
        .expect("observes")
        .replication_group
        .expect("group");
    assert_eq!(group.node_type, "cache.t4g.medium");
    assert_eq!(group.snapshot_retention, 14);
    assert!(!group.multi_az && !group.automatic_failover);
    assert_converged(&cluster, &changed).await;
}

#[tokio::test]
async fn at_rest_encryption_off_is_planned_as_a_replacement() {
    let account = Emulator::account("cluster_replace").await;
    let cluster = Cluster::new(aws_sdk_elasticache::Client::new(&account.config));
    converge(&cluster, &desired("replace", ""), "replace").await;
    let changed = desired("replace", "encryption: {at_rest: false}\n");
    let (_, change) = group_plan(&cluster, &changed).await;
    assert_eq!(change.action, plan::Action::Replace);
    assert_eq!(
        change.replaced_by().collect::<Vec<_>>(),
        ["at_rest_encryption"]
    );
}
