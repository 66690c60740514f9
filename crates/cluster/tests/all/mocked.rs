//! SDK-level tests for what the local emulator cannot show (`docs/emulator.md`): the
//! exact requests (parameters in batches of twenty, which snapshot a replacement
//! restores, the order of replica and failover changes), a group that stays
//! `modifying` for an hour and the wait that times out on it, and `--no-wait`.
//! Everything else runs against the emulator (`emulator.rs`). Responses are shaped like
//! the AWS API reference. Waits run on tokio's paused clock, so an hour-long wait takes
//! no time.

use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::operation::describe_replication_groups::{
    DescribeReplicationGroupsError, DescribeReplicationGroupsOutput,
};
use aws_sdk_elasticache::types::ReplicationGroup as SdkGroup;
use aws_sdk_elasticache::types::error::ReplicationGroupNotFoundFault;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use cluster::*;
use plan::{Known, Sensitive};

/// `cluster::diff`, which cannot fail for these inputs.
fn diff(desired: &Desired, observed: &Observed) -> ClusterPlan {
    cluster::diff(desired, observed).expect("plans")
}

fn desired(extra: &str) -> Desired {
    let spec =
        spec::parse(&test_support::spec_source("demo", extra), "mocked.yaml").expect("valid spec");
    Desired::from_spec(
        &spec,
        &Inputs {
            security_group_id: Known::Value("sg-1".into()),
            kms_key_arn: Known::Value("arn:aws:kms:us-east-1:123456789012:key/k1".into()),
        },
    )
}

fn fast() -> WaitOptions {
    WaitOptions {
        first_poll: Duration::from_secs(5),
        ..WaitOptions::default()
    }
}

fn group(status: &str) -> DescribeReplicationGroupsOutput {
    DescribeReplicationGroupsOutput::builder()
        .replication_groups(
            SdkGroup::builder()
                .replication_group_id("demo")
                .arn("arn:aws:elasticache:us-east-1:123456789012:replicationgroup:demo")
                .status(status)
                .build(),
        )
        .build()
}

/// `DescribeReplicationGroups` answering each status in turn, the last one for ever.
fn statuses(statuses: &'static [&'static str]) -> Rule {
    let mut sequence = mock!(Client::describe_replication_groups).sequence();
    for status in statuses {
        sequence = sequence.output(move || group(status));
    }
    sequence.repeatedly().build()
}

fn ignore(_: Progress) {}

/// `demo-final-YYYYMMDD-HHMMSS`: named at deletion, in UTC.
fn is_final_snapshot(name: Option<&str>) -> bool {
    let Some(time) = name.and_then(|n| n.strip_prefix("demo-final-")) else {
        return false;
    };
    let (date, clock) = time.split_once('-').unwrap_or_default();
    date.len() == 8
        && clock.len() == 6
        && (date.to_owned() + clock)
            .chars()
            .all(|c| c.is_ascii_digit())
}

/// A client that accepts a modification after which the group stays `modifying`, and
/// the rule answering `DescribeReplicationGroups`.
fn stays_modifying() -> (Client, Rule) {
    let describe = statuses(&["available", "modifying"]);
    let modify = modified(mock!(Client::modify_replication_group));
    let client = mock_client!(
        aws_sdk_elasticache,
        RuleMode::MatchAny,
        [&describe, &modify]
    );
    (client, describe)
}

/// A `ModifyReplicationGroup` rule that accepts what `rule` matches.
fn modified(
    rule: aws_smithy_mocks::RuleBuilder<
        aws_sdk_elasticache::operation::modify_replication_group::ModifyReplicationGroupInput,
        aws_sdk_elasticache::operation::modify_replication_group::ModifyReplicationGroupOutput,
        aws_sdk_elasticache::operation::modify_replication_group::ModifyReplicationGroupError,
    >,
) -> Rule {
    rule.then_output(|| {
        aws_sdk_elasticache::operation::modify_replication_group::ModifyReplicationGroupOutput::builder().build()
    })
}

#[tokio::test(start_paused = true)]
async fn more_replicas_wait_through_modifying_before_failover_is_turned_on() {
    let before =
        desired("cluster: {replicas_per_shard: 0, multi_az: false, automatic_failover: false}\n");
    let after = desired("cluster: {replicas_per_shard: 2}\n");
    let plan = diff(&after, &Observed::as_applied(&before));

    let describe = statuses(&["available", "modifying", "modifying", "available"]);
    let increase = mock!(Client::increase_replica_count)
        .match_requests(|r| {
            r.replication_group_id() == Some("demo")
                && r.new_replica_count() == Some(2)
                && r.apply_immediately() == Some(true)
        })
        .then_output(|| {
            aws_sdk_elasticache::operation::increase_replica_count::IncreaseReplicaCountOutput::builder().build()
        });
    let modify = modified(mock!(Client::modify_replication_group).match_requests(|r| {
        r.automatic_failover_enabled() == Some(true) && r.multi_az_enabled() == Some(true)
    }));
    let client = mock_client!(
        aws_sdk_elasticache,
        RuleMode::MatchAny,
        [&describe, &increase, &modify]
    );

    let seen = Mutex::new(Vec::new());
    let report = |p: Progress| seen.lock().expect("lock").push(p);
    let outputs = Cluster::new(client)
        .apply(&plan, &Credentials::new(), &fast(), &report)
        .await
        .expect("applies");
    assert_eq!((increase.num_calls(), modify.num_calls()), (1, 1));
    let seen = seen.into_inner().expect("lock");
    assert_eq!(seen[0].status, "modifying", "{seen:?}");
    assert_eq!(seen[0].resource, "replication group demo");
    assert!(outputs.arn.value().is_some());
}

#[tokio::test(start_paused = true)]
async fn a_wait_that_times_out_names_the_group_and_its_last_status() {
    let before = desired("");
    let after = desired("node_type: cache.r7g.xlarge\n");
    let plan = diff(&after, &Observed::as_applied(&before));
    let (client, _) = stays_modifying();
    let options = WaitOptions {
        timeout: Duration::from_secs(15 * 60),
        ..fast()
    };
    let error = Cluster::new(client)
        .apply(&plan, &Credentials::new(), &options, &ignore)
        .await
        .expect_err("times out");
    let message = error.to_string();
    assert!(message.contains("replication group demo"), "{message}");
    assert!(message.contains("last status `modifying`"), "{message}");
    // The front end words the remedy (the CLI names --timeout); the text says re-run.
    assert!(message.contains("run again to continue"), "{message}");
    // It gives up after the time it was given, not a poll earlier.
    assert!(
        matches!(error, ClusterError::WaitTimedOut { waited, .. } if waited == options.timeout),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn no_wait_returns_once_the_last_change_is_accepted() {
    let plan = diff(
        &desired("node_type: cache.r7g.xlarge\n"),
        &Observed::as_applied(&desired("")),
    );
    let (client, describe) = stays_modifying();
    let options = WaitOptions {
        wait: false,
        ..fast()
    };
    Cluster::new(client)
        .apply(&plan, &Credentials::new(), &options, &ignore)
        .await
        .expect("returns without waiting");
    // One look before the change (is it available?), one for the outputs.
    assert_eq!(describe.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_parameter_group_is_created_set_in_batches_of_twenty_and_switched_to() {
    let parameters: Vec<String> = (0..25).map(|n| format!("p{n:02}: v{n}")).collect();
    let after = desired(&format!(
        "cluster: {{parameters: {{{}}}}}\n",
        parameters.join(", ")
    ));
    let plan = diff(&after, &Observed::as_applied(&desired("")));

    let create = mock!(Client::create_cache_parameter_group)
        .match_requests(|r| {
            r.cache_parameter_group_name() == Some("demo-valkey8")
                && r.cache_parameter_group_family() == Some("valkey8")
        })
        .then_output(|| {
            aws_sdk_elasticache::operation::create_cache_parameter_group::CreateCacheParameterGroupOutput::builder().build()
        });
    let set = mock!(Client::modify_cache_parameter_group)
        .match_requests(|r| r.parameter_name_values().len() <= 20)
        .then_output(|| {
            aws_sdk_elasticache::operation::modify_cache_parameter_group::ModifyCacheParameterGroupOutput::builder().build()
        });
    let switch = modified(
        mock!(Client::modify_replication_group)
            .match_requests(|r| r.cache_parameter_group_name() == Some("demo-valkey8")),
    );
    let describe = statuses(&["available"]);
    let client = mock_client!(
        aws_sdk_elasticache,
        RuleMode::MatchAny,
        [&create, &set, &switch, &describe]
    );
    Cluster::new(client)
        .apply(&plan, &Credentials::new(), &fast(), &ignore)
        .await
        .expect("applies");
    assert_eq!(
        (create.num_calls(), set.num_calls(), switch.num_calls()),
        (1, 2, 1)
    );
}

#[tokio::test]
async fn observe_reads_the_stack_parameter_group_and_only_user_set_values() {
    let desired = desired("cluster: {parameters: {timeout: \"300\"}}\n");
    let no_group = mock!(Client::describe_replication_groups).then_error(|| {
        DescribeReplicationGroupsError::ReplicationGroupNotFoundFault(
            ReplicationGroupNotFoundFault::builder().build(),
        )
    });
    let group = mock!(Client::describe_cache_parameter_groups).then_output(|| {
        aws_sdk_elasticache::operation::describe_cache_parameter_groups::DescribeCacheParameterGroupsOutput::builder()
            .cache_parameter_groups(
                aws_sdk_elasticache::types::CacheParameterGroup::builder()
                    .cache_parameter_group_name("demo-valkey8")
                    .cache_parameter_group_family("valkey8")
                    .build(),
            )
            .build()
    });
    let parameters = mock!(Client::describe_cache_parameters)
        .match_requests(|r| r.source() == Some("user"))
        .then_output(|| {
            aws_sdk_elasticache::operation::describe_cache_parameters::DescribeCacheParametersOutput::builder()
                .parameters(
                    aws_sdk_elasticache::types::Parameter::builder()
                        .parameter_name("timeout")
                        .parameter_value("0")
                        .source("user")
                        .build(),
                )
                .build()
        });
    let snapshots = mock!(Client::describe_snapshots).then_output(|| {
        aws_sdk_elasticache::operation::describe_snapshots::DescribeSnapshotsOutput::builder()
            .snapshots(
                aws_sdk_elasticache::types::Snapshot::builder()
                    .snapshot_name("demo-final-20261101-000000")
                    .build(),
            )
            .build()
    });
    let client = mock_client!(
        aws_sdk_elasticache,
        RuleMode::MatchAny,
        [&no_group, &group, &parameters, &snapshots]
    );
    let cluster = Cluster::new(client);
    let observed = cluster.observe(&desired).await.expect("observes");
    assert_eq!(
        cluster.final_snapshots(&desired).await.expect("lists"),
        ["demo-final-20261101-000000"]
    );
    let found = &observed.parameter_groups["demo-valkey8"];
    assert_eq!(found.parameters["timeout"], "0");
    let plan = diff(&desired, &observed);
    assert!(
        plan.changes
            .iter()
            .any(|c| c.resource.kind == kinds::PARAMETER_GROUP && c.action == plan::Action::Update)
    );
}

#[tokio::test(start_paused = true)]
async fn an_allowed_replacement_snapshots_waits_until_gone_and_restores_from_the_snapshot() {
    let after = desired("port: 6380\n");
    let plan = diff(&after, &Observed::as_applied(&desired("")));
    let taken = std::sync::Arc::new(Mutex::new(None::<String>));
    let restored = taken.clone();
    assert!(
        plan.changes
            .iter()
            .any(|c| c.action == plan::Action::Replace)
    );
    let mut credentials = Credentials::new();
    credentials.insert("demo/auth-token", Sensitive::new("t".repeat(64)));

    let not_found = || {
        DescribeReplicationGroupsError::ReplicationGroupNotFoundFault(
            ReplicationGroupNotFoundFault::builder().build(),
        )
    };
    let describe = mock!(Client::describe_replication_groups)
        .sequence()
        .output(|| group("snapshotting"))
        .output(|| group("available"))
        .output(|| group("deleting"))
        .error(not_found)
        .error(not_found)
        .output(|| group("available"))
        .repeatedly()
        .build();
    let delete = mock!(Client::delete_replication_group)
        .match_requests({
            let taken = taken.clone();
            move |r| {
                *taken.lock().expect("lock") = r.final_snapshot_identifier().map(str::to_owned);
                is_final_snapshot(r.final_snapshot_identifier())
            }
        })
        .then_output(|| {
            aws_sdk_elasticache::operation::delete_replication_group::DeleteReplicationGroupOutput::builder().build()
        });
    let create = mock!(Client::create_replication_group)
        .match_requests(move |r| {
            // Seeded from the snapshot the deletion just took.
            r.snapshot_name().map(str::to_owned) == *restored.lock().expect("lock")
                && is_final_snapshot(r.snapshot_name())
                && r.port() == Some(6380)
                && r.auth_token() == Some(&"t".repeat(64))
        })
        .then_output(|| {
            aws_sdk_elasticache::operation::create_replication_group::CreateReplicationGroupOutput::builder().build()
        });
    let client = mock_client!(
        aws_sdk_elasticache,
        RuleMode::MatchAny,
        [&describe, &delete, &create]
    );
    Cluster::new(client)
        .apply(&plan, &credentials, &fast(), &ignore)
        .await
        .expect("replaces");
    assert_eq!((delete.num_calls(), create.num_calls()), (1, 1));
}
