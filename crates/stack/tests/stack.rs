//! The whole stack through the library API, against the local emulator.

use stack::{ApplyOptions, Stack, StackError};
use test_support::Emulator;

fn quickstart_with(extra: &str) -> spec::Spec {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart.yaml");
    let source = std::fs::read_to_string(path).expect("example") + extra;
    spec::parse(&source, "quickstart.yaml").expect("valid spec")
}

#[tokio::test]
async fn a_missing_existing_key_stops_apply_before_anything_is_created() {
    let account = Emulator::account("stack_missing_key").await;
    let stack = Stack::new(
        quickstart_with("encryption:\n  kms_key: alias/not-there\n"),
        &account.config,
    );
    let error = stack
        .apply(ApplyOptions::default(), &|_| {})
        .await
        .expect_err("the key is missing");
    assert!(
        matches!(error, StackError::Kms(kms::KmsError::KeyNotFound(_))),
        "{error}"
    );
    assert!(error.to_string().contains("encryption.kms_key"), "{error}");
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let vpcs = ec2.describe_vpcs().send().await.expect("describes");
    assert_eq!(
        vpcs.vpcs().len(),
        1,
        "only the default VPC: nothing was created"
    );
}

#[tokio::test]
async fn apply_twice_then_plan_is_empty() {
    let account = Emulator::account("stack_twice").await;
    let stack = Stack::new(quickstart_with(""), &account.config);
    let outputs = stack
        .apply(ApplyOptions::default(), &|_| {})
        .await
        .expect("applies");
    assert!(outputs.kms_key_arn.value().is_some());
    assert_eq!(outputs.log_groups.len(), 2);
    let again = stack
        .apply(ApplyOptions::default(), &|_| {})
        .await
        .expect("applies again");
    assert_eq!(again, outputs, "the same resources, found again");
    let plan = stack.plan().await.expect("plans");
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
}

#[tokio::test]
async fn a_cluster_mode_stack_of_three_shards_converges() {
    let account = Emulator::account("stack_sharded").await;
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart.yaml"),
    )
    .expect("example")
    .replace(
        "cluster:\n  replicas_per_shard: 1",
        "cluster:\n  mode: enabled\n  shards: 3\n  replicas_per_shard: 2",
    );
    let spec = spec::parse(&source, "sharded.yaml").expect("valid spec");
    let stack = Stack::new(spec, &account.config);
    let plan = stack.plan().await.expect("plans");
    assert_eq!(plan.summary().add, 16, "{:#?}", plan.changes);
    let outputs = stack
        .apply(ApplyOptions::default(), &|_| {})
        .await
        .expect("applies");
    let endpoints = outputs
        .cluster
        .endpoints
        .value()
        .cloned()
        .unwrap_or_default();
    assert!(endpoints.configuration.is_some(), "{endpoints:?}");
    let plan = stack.plan().await.expect("plans");
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
}

#[tokio::test]
async fn a_replacement_is_refused_without_the_flag_before_any_change() {
    let account = Emulator::account("stack_replace").await;
    Stack::new(quickstart_with(""), &account.config)
        .apply(ApplyOptions::default(), &|_| {})
        .await
        .expect("applies");
    // Also a change made in place elsewhere: refused all the same, as nothing is applied.
    let changed =
        quickstart_with("encryption:\n  at_rest: false\nlogs:\n  slow:\n    retention_days: 30\n");
    let stack = Stack::new(changed, &account.config);
    let plan = stack.plan().await.expect("plans");
    assert_eq!(plan.summary().replace, 1, "{:#?}", plan.changes);
    let error = stack
        .apply(ApplyOptions::default(), &|_| {})
        .await
        .expect_err("refused");
    let StackError::ReplacementRefused {
        resources,
        attributes,
    } = &error
    else {
        panic!("{error}")
    };
    assert_eq!(resources, &["replication_group quickstart"]);
    assert_eq!(attributes, &["at_rest_encryption"]);
    assert!(error.to_string().contains("--allow-replacement"));
    let again = stack.plan().await.expect("plans");
    assert_eq!(again.summary(), plan.summary(), "nothing was applied");
}

/// The same scenario against a real AWS account, for maintainers who have one:
/// `ELASTICACHE_ACTION_LIVE_AWS=1 cargo test -p stack live -- --nocapture` with credentials
/// in the environment (region from `ELASTICACHE_ACTION_LIVE_REGION`, default us-east-1).
/// It creates a uniquely named stack (all eight steps; the replication group takes 10-20
/// minutes), checks a second plan is empty, and destroys it without a final snapshot,
/// with secrets deleted at once and log groups removed. Skipped (it returns at once) without
/// the variable, so CI never touches AWS.
#[tokio::test]
async fn live_aws_apply_plan_destroy() {
    if std::env::var("ELASTICACHE_ACTION_LIVE_AWS").as_deref() != Ok("1") {
        eprintln!("skipped: set ELASTICACHE_ACTION_LIVE_AWS=1 to run against a real AWS account");
        return;
    }
    let region =
        std::env::var("ELASTICACHE_ACTION_LIVE_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let source = format!(
        "stack: ea-live-{stamp}\nregion: {region}\nengine: {{name: valkey, version: \"8.0\"}}\nnode_type: cache.t4g.micro\n\
         network:\n  create:\n    vpc_cidr: 10.99.0.0/16\n    subnets:\n      - {{availability_zone: {region}a, cidr: 10.99.1.0/24}}\n      \
         - {{availability_zone: {region}b, cidr: 10.99.2.0/24}}\n  allow: {{cidrs: [10.99.0.0/16]}}\n\
         destroy: {{kms_key_deletion_window_days: 7, delete_log_groups: true}}\n"
    );
    let spec = spec::parse(&source, "live.yaml").expect("valid spec");
    let config = stack::aws_config_for(&spec).await;
    let stack = Stack::new(spec, &config);
    stack
        .apply(ApplyOptions::default(), &|_| {})
        .await
        .expect("applies");
    let plan = stack.plan().await.expect("plans");
    let destroy = stack
        .destroy(
            stack::DestroyOptions {
                force_delete_secrets: true,
                skip_final_snapshot: true,
                ..Default::default()
            },
            &|_| {},
        )
        .await;
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    destroy.expect("destroys");
}
