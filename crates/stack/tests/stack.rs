//! The whole stack through the library API, against the local emulator.

use std::time::Duration;

use stack::{ApplyOptions, Hint, Stack, StackError, StackOutputs};
use test_support::Emulator;

mod rotate;
mod runner;

/// Plans, then applies exactly that plan, as a front end does after confirmation.
async fn plan_and_apply(stack: &Stack, options: ApplyOptions) -> Result<StackOutputs, StackError> {
    let plan = stack.plan().await?;
    stack.apply(&plan, options, &|_| {}).await
}

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
    let error = plan_and_apply(&stack, ApplyOptions::default())
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
async fn zones_and_engine_versions_the_region_lacks_are_refused_at_plan() {
    let account = Emulator::account("stack_not_in_region").await;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart.yaml");
    let source = std::fs::read_to_string(path)
        .expect("example")
        .replace("us-east-1b", "us-east-1zz")
        .replace("\"8.0\"", "\"99.0\"");
    let spec = spec::parse(&source, "quickstart.yaml").expect("valid offline");
    let error = Stack::new(spec, &account.config)
        .plan()
        .await
        .expect_err("refused at plan");
    let StackError::NotInRegion { problems, .. } = &error else {
        panic!("{error}");
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "network.create.subnets[1].availability_zone",
            "engine.version"
        ],
        "{error}"
    );
    assert!(
        error.to_string().contains("it offers 7.2, 8.0, 8.1"),
        "{error}"
    );
}

#[tokio::test]
async fn apply_twice_then_plan_is_empty() {
    let account = Emulator::account("stack_twice").await;
    let stack = Stack::new(quickstart_with(""), &account.config);
    let outputs = plan_and_apply(&stack, ApplyOptions::default())
        .await
        .expect("applies");
    assert!(outputs.kms_key_arn.value().is_some());
    assert_eq!(outputs.log_groups.len(), 2);
    let again = plan_and_apply(&stack, ApplyOptions::default())
        .await
        .expect("applies again");
    assert_eq!(again, outputs, "the same resources, found again");
    let plan = stack.plan().await.expect("plans");
    assert!(!plan.has_changes(), "{:#?}", plan.plan().changes);
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
    assert_eq!(plan.plan().summary().add, 16, "{:#?}", plan.plan().changes);
    let outputs = stack
        .apply(&plan, ApplyOptions::default(), &|_| {})
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
    assert!(!plan.has_changes(), "{:#?}", plan.plan().changes);
}

#[tokio::test]
async fn a_replacement_is_refused_without_the_flag_before_any_change() {
    let account = Emulator::account("stack_replace").await;
    plan_and_apply(
        &Stack::new(quickstart_with(""), &account.config),
        ApplyOptions::default(),
    )
    .await
    .expect("applies");
    // Also a change made in place elsewhere: refused all the same, as nothing is applied.
    let changed =
        quickstart_with("encryption:\n  at_rest: false\nlogs:\n  slow:\n    retention_days: 30\n");
    let stack = Stack::new(changed, &account.config);
    let plan = stack.plan().await.expect("plans");
    assert_eq!(
        plan.plan().summary().replace,
        1,
        "{:#?}",
        plan.plan().changes
    );
    let error = stack
        .apply(&plan, ApplyOptions::default(), &|_| {})
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
    // The library names no CLI flag: the hint says what to allow, the front end how.
    assert_eq!(error.hint(), Some(Hint::AllowReplacement));
    let again = stack.plan().await.expect("plans");
    assert_eq!(
        again.plan().summary(),
        plan.plan().summary(),
        "nothing was applied"
    );
}

/// The same scenario against a real AWS account, for maintainers who have one:
/// `ELASTICACHE_ACTION_LIVE_AWS=1 cargo test -p elasticache-action-stack live -- --nocapture` with credentials
/// in the environment (region from `ELASTICACHE_ACTION_LIVE_REGION`, default us-east-1).
/// It creates a uniquely named stack (all eight steps; the replication group takes 10-20
/// minutes), checks a second plan is empty, rotates the AUTH token (control-plane test)
/// and checks the plan stays empty, and destroys it without a final snapshot,
/// with secrets deleted at once and log groups removed. Ignored by default, so CI never
/// touches AWS and reports it as ignored, not passed.
#[tokio::test]
#[ignore = "needs an AWS account: ELASTICACHE_ACTION_LIVE_AWS=1 cargo test -p elasticache-action-stack live -- --ignored"]
async fn live_aws_apply_plan_destroy() {
    let (region, stamp) = live_region_and_stamp();
    let source = format!(
        "stack: ea-live-{stamp}\nregion: {region}\nengine: {{name: valkey, version: \"8.0\"}}\nnode_type: cache.t4g.micro\n\
         network:\n  create:\n    vpc_cidr: 10.99.0.0/16\n    subnets:\n      - {{availability_zone: {region}a, cidr: 10.99.1.0/24}}\n      \
         - {{availability_zone: {region}b, cidr: 10.99.2.0/24}}\n  allow: {{cidrs: [10.99.0.0/16]}}\n\
         destroy: {{kms_key_deletion_window_days: 7, delete_log_groups: true}}\n"
    );
    let spec = spec::parse(&source, "live.yaml").expect("valid spec");
    let config = stack::aws_config_for(&spec).await;
    let stack = Stack::new(spec, &config);
    plan_and_apply(&stack, ApplyOptions::default())
        .await
        .expect("applies");
    let plan = stack.plan().await.expect("plans");
    // Rotation against real ElastiCache: ROTATE takes minutes there, and the test runs
    // from outside the VPC, so the control plane is what proves it.
    let rotated = stack
        .rotate(
            &stack::RotateOptions {
                timeout: std::time::Duration::from_secs(30 * 60),
                ..Default::default()
            },
            &|_| {},
        )
        .await;
    let rotated_plan = stack.plan().await.map(|p| p.has_changes());
    let destroy = destroy_without_a_trace(&stack).await;
    assert!(!plan.has_changes(), "{:#?}", plan.plan().changes);
    let rotated = rotated.expect("rotates");
    assert!(
        matches!(rotated[0].done, stack::rotation::Done::Rotated { .. }),
        "{rotated:?}"
    );
    assert_eq!(
        rotated_plan.ok(),
        Some(false),
        "a rotated token is not drift"
    );
    destroy.expect("destroys");
}

/// `runner: lambda` against real AWS: apply deploys the function, Secrets Manager
/// invokes it (`RotateSecret`, rotating now), the token's secret gets a new AWSCURRENT
/// version, then destroy. The package is the release asset for this version, or the
/// zip `ELASTICACHE_ACTION_LIVE_PACKAGE` names (build it with `cargo lambda build
/// --release --arm64 --output-format zip -p rotation-lambda`). Ignored by default.
#[tokio::test]
#[ignore = "needs an AWS account: ELASTICACHE_ACTION_LIVE_AWS=1 cargo test -p elasticache-action-stack live -- --ignored"]
async fn live_aws_secrets_manager_invokes_the_rotation_function() {
    let (region, stamp) = live_region_and_stamp();
    let package =
        std::env::var("ELASTICACHE_ACTION_LIVE_PACKAGE").unwrap_or_else(|_| "release".into());
    let source = format!(
        "stack: ea-lambda-{stamp}\nregion: {region}\nengine: {{name: valkey, version: \"8.0\"}}\nnode_type: cache.t4g.micro\n\
         network:\n  create:\n    vpc_cidr: 10.98.0.0/16\n    subnets:\n      - {{availability_zone: {region}a, cidr: 10.98.1.0/24}}\n      \
         - {{availability_zone: {region}b, cidr: 10.98.2.0/24}}\n  allow: {{cidrs: [10.98.0.0/16]}}\n\
         auth:\n  rotation:\n    runner: lambda\n    schedule: rate(30 days)\n    lambda: {{package: {package}}}\n\
         destroy: {{kms_key_deletion_window_days: 7, delete_log_groups: true}}\n"
    );
    let spec = spec::parse(&source, "live-lambda.yaml").expect("valid spec");
    let config = stack::aws_config_for(&spec).await;
    let stack = Stack::new(spec, &config);
    let applied = plan_and_apply(&stack, ApplyOptions::default()).await;
    let rotated = match &applied {
        Ok(outputs) => rotate_through_secrets_manager(&config, &outputs.secrets[0].0).await,
        Err(_) => Err("not applied".to_owned()),
    };
    let destroy = destroy_without_a_trace(&stack).await;
    applied.expect("applies");
    rotated.expect("Secrets Manager rotates with the function");
    destroy.expect("destroys");
}

/// Asks Secrets Manager to rotate `secret` now and waits until a new version is
/// AWSCURRENT and nothing is pending.
async fn rotate_through_secrets_manager(
    config: &aws_config::SdkConfig,
    secret: &str,
) -> Result<(), String> {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let current =
        |described: &aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput| {
            (described.version_ids_to_stages().into_iter().flatten())
                .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
                .map(|(id, _)| id.clone())
        };
    let before = secrets
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    secrets
        .rotate_secret()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| format!("RotateSecret: {e}"))?;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(30 * 60) {
        tokio::time::sleep(Duration::from_secs(20)).await;
        let now = secrets
            .describe_secret()
            .secret_id(secret)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let pending = (now.version_ids_to_stages().into_iter().flatten()).any(|(_, stages)| {
            stages.iter().any(|s| s == "AWSPENDING") && !stages.iter().any(|s| s == "AWSCURRENT")
        });
        if current(&now) != current(&before) && !pending {
            return Ok(());
        }
    }
    Err("no new AWSCURRENT version within 30 minutes (see the function's log group)".to_owned())
}

/// Destroys a live test's stack: no final snapshot, secrets deleted at once.
async fn destroy_without_a_trace(stack: &Stack) -> Result<(), StackError> {
    let options = stack::DestroyOptions {
        force_delete_secrets: true,
        skip_final_snapshot: true,
        ..Default::default()
    };
    let planned = stack.plan_destroy(options).await?;
    stack.destroy(&planned, &|_| {}).await
}

/// The live suite's region, and a stamp that names its stacks apart; refuses to go on
/// unless the maintainer confirmed with `ELASTICACHE_ACTION_LIVE_AWS=1`.
fn live_region_and_stamp() -> (String, u64) {
    assert_eq!(
        std::env::var("ELASTICACHE_ACTION_LIVE_AWS").as_deref(),
        Ok("1"),
        "set ELASTICACHE_ACTION_LIVE_AWS=1 to confirm this may create resources in the account"
    );
    let region =
        std::env::var("ELASTICACHE_ACTION_LIVE_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    (region, stamp)
}

/// The quickstart applied in a fresh account through a proxy whose count starts after.
async fn applied_through_a_counting_proxy(test: &str) -> (Stack, test_support::proxy::Proxy) {
    let account = Emulator::account(test).await;
    let proxy = test_support::proxy::Proxy::start(&test_support::endpoint(), Duration::ZERO)
        .await
        .expect("proxy starts");
    let stack = Stack::new(quickstart_with(""), &account.through(&proxy));
    plan_and_apply(&stack, ApplyOptions::default())
        .await
        .expect("applies");
    proxy.reset();
    (stack, proxy)
}

/// The calls a converged apply makes after its plan, through a counting proxy.
#[tokio::test]
async fn a_converged_apply_reads_nothing_after_its_plan() {
    let (stack, proxy) = applied_through_a_counting_proxy("stack_converged_calls").await;
    let plan = stack.plan().await.expect("plans");
    assert!(!plan.has_changes(), "{:#?}", plan.plan().changes);
    let planned = proxy.calls();
    assert!(planned.len() > 10, "plan observes every step: {planned:?}");
    proxy.reset();
    stack
        .apply(&plan, ApplyOptions::default(), &|_| {})
        .await
        .expect("applies");
    assert_eq!(
        proxy.calls(),
        Vec::<String>::new(),
        "apply of an empty plan"
    );
}

/// What connecting costs: the group's endpoints and the credential, not a plan.
#[tokio::test]
async fn data_plane_a_connection_check_reads_the_group_and_the_secret_only() {
    let (stack, proxy) = applied_through_a_counting_proxy("stack_connect_calls").await;
    let options = stack::connect::Options {
        ca_file: Some(test_support::data_plane::ca_file()),
        ..stack::connect::Options::default()
    };
    let checked = stack
        .check_connection(None, stack::EndpointChoice::Default, &options)
        .await
        .expect("checks");
    assert!(checked.report.passed(), "{checked:?}");
    assert_eq!(
        proxy.calls(),
        ["DescribeReplicationGroups", "GetSecretValue"]
    );
}

/// A security group rule removed between plan and apply: the network step's fresh
/// observation no longer matches what the plan showed, so apply stops before writing.
#[tokio::test]
async fn a_plan_the_stack_no_longer_matches_is_refused() {
    let account = Emulator::account("stack_stale_plan").await;
    plan_and_apply(
        &Stack::new(quickstart_with(""), &account.config),
        ApplyOptions::default(),
    )
    .await
    .expect("applies");
    // The next plan adds a source; meanwhile someone removes the rule that exists.
    let wider = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart.yaml"),
    )
    .expect("example")
    .replace(
        "cidrs: [10.42.0.0/16]",
        "cidrs: [10.42.0.0/16, 10.9.0.0/16]",
    );
    let stack = Stack::new(
        spec::parse(&wider, "wider.yaml").expect("valid spec"),
        &account.config,
    );
    let plan = stack.plan().await.expect("plans");
    assert_eq!(plan.plan().summary().add, 1, "{:#?}", plan.plan().changes);
    revoke_all_ingress(&account.config, "quickstart-cache").await;

    let error = stack
        .apply(&plan, ApplyOptions::default(), &|_| {})
        .await
        .expect_err("stale");
    let StackError::ChangedSincePlan { step, differences } = &error else {
        panic!("{error}")
    };
    assert_eq!(*step, "network");
    assert!(
        differences.iter().any(|d| d.contains("10.42.0.0/16")),
        "{differences:?}"
    );
    assert_eq!(error.hint(), Some(Hint::PlanAgain));
    let again = stack.plan().await.expect("plans");
    assert_eq!(again.plan().summary().add, 2, "nothing was applied");
}

async fn revoke_all_ingress(config: &aws_config::SdkConfig, group_name: &str) {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let groups = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values(group_name)
                .build(),
        )
        .send()
        .await
        .expect("describes");
    let group = groups.security_groups().first().expect("the stack's group");
    ec2.revoke_security_group_ingress()
        .group_id(group.group_id().unwrap_or_default())
        .set_ip_permissions(Some(group.ip_permissions().to_vec()))
        .send()
        .await
        .expect("revokes");
}

/// The stack's destroy rules at its API: the key is kept while a final snapshot needs it;
/// and since on the emulator a deleted replication group never goes away, destroy deletes
/// what does not depend on it, leaves the key and network, and says to run it again.
#[tokio::test]
async fn destroy_keeps_the_key_for_a_final_snapshot_and_waits_for_the_group() {
    let account = Emulator::account("stack_lingering_group").await;
    let stack = Stack::new(quickstart_with(""), &account.config);
    plan_and_apply(&stack, ApplyOptions::default())
        .await
        .expect("applies");
    // With a final snapshot (the default) the key that encrypts it stays.
    let with_snapshot = stack
        .plan_destroy(stack::DestroyOptions::default())
        .await
        .expect("plans destroy");
    assert!(
        (with_snapshot.plan().warnings.iter()).any(|w| w.contains("KMS key is kept")),
        "{:?}",
        with_snapshot.plan().warnings
    );
    assert!(
        !(with_snapshot.plan().changes.iter())
            .any(|c| c.resource.kind == "kms_key" && c.is_change()),
        "{:#?}",
        with_snapshot.plan().changes
    );
    // Deleting takes the emulator about a second: a 100 ms wait gives up first.
    let options = stack::DestroyOptions {
        skip_final_snapshot: true,
        wait: stack::WaitOptions {
            timeout: Duration::from_millis(100),
            first_poll: Duration::from_millis(50),
            ..Default::default()
        },
        ..Default::default()
    };
    let planned = stack.plan_destroy(options).await.expect("plans destroy");
    assert!(planned.has_changes());
    let error = stack
        .destroy(&planned, &|_| {})
        .await
        .expect_err("the group lingers");
    let StackError::Several(errors) = &error else {
        panic!("{error}")
    };
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, StackError::Skipped(steps) if steps == &["kms", "network"])),
        "{error}"
    );
    let after = stack.plan_destroy(options).await.expect("plans destroy");
    let left: Vec<String> = (after.plan().changes.iter())
        .filter(|c| c.is_change())
        .map(|c| c.resource.kind.clone())
        .collect();
    assert!(
        !left.iter().any(|kind| kind == "secret"),
        "secrets went: {left:?}"
    );
    assert!(
        left.iter().any(|kind| kind == "kms_key"),
        "the key stays: {left:?}"
    );
    assert!(
        left.iter().any(|kind| kind == "vpc"),
        "the network stays: {left:?}"
    );

    // Once the group is gone, destroy again finishes the rest.
    let patient = stack::DestroyOptions {
        skip_final_snapshot: true,
        ..Default::default()
    };
    let rest = stack.plan_destroy(patient).await.expect("plans destroy");
    stack
        .destroy(&rest, &|_| {})
        .await
        .expect("destroys the rest");
    let done = stack.plan_destroy(patient).await.expect("plans destroy");
    assert!(!done.has_changes(), "{:#?}", done.plan().changes);
}
