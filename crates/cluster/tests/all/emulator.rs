//! Against the local emulator (moto with Local ElastiCache): what ElastiCache records of
//! a stack's cluster and, in the `data_plane_` tests, what its real server lets in.
//! `docs/emulator.md` lists what the emulator still cannot do; those paths stay in
//! `mocked`.

use std::sync::Mutex;
use std::time::Duration;

use cluster::*;
use plan::{Known, Sensitive};
use test_support::Emulator;
use test_support::data_plane::{self, Login};

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

/// Every secret `desired` needs, each with a value made from its name, so a test can log
/// in with it ([`secret_value`]).
fn credentials(desired: &Desired) -> Credentials {
    let mut credentials = Credentials::new();
    for secret in desired.secrets() {
        let value = secret_value(&secret);
        credentials.insert(secret, Sensitive::new(value));
    }
    credentials
}

fn secret_value(secret: &str) -> String {
    format!("{}-0123456789abcdef", secret.replace('/', "-"))
}

/// Polls every 100 ms: the emulator's changes take about a second.
fn fast() -> WaitOptions {
    WaitOptions {
        first_poll: Duration::from_millis(100),
        max_poll: Duration::from_millis(500),
        ..WaitOptions::default()
    }
}

fn ignore(_: Progress) {}

async fn converge(cluster: &Cluster, desired: &Desired) -> ClusterOutputs {
    let plan = diff(desired, &cluster.observe(desired).await.expect("observes"));
    cluster
        .apply(&plan, &credentials(desired), &fast(), &ignore)
        .await
        .expect("applies")
}

/// The group's endpoint: its primary, else its configuration endpoint, and port.
fn endpoint(outputs: &ClusterOutputs) -> (String, u16) {
    let endpoints = outputs.endpoints.value().cloned().unwrap_or_default();
    let host = endpoints.primary.or(endpoints.configuration);
    (host.expect("an endpoint"), endpoints.port.expect("a port"))
}

/// PING through the group's TLS endpoint after logging in.
fn ping(outputs: &ClusterOutputs, login: Login<'_>) -> String {
    let (host, port) = endpoint(outputs);
    data_plane::ping(&host, port, true, login)
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
    let outputs = converge(&cluster, &desired).await;
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
    let outputs = converge(&cluster, &desired).await;
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
    converge(&cluster, &desired("modify", "")).await;

    let changed = desired(
        "modify",
        "node_type: cache.t4g.medium\ncluster: {snapshot: {retention_days: 14}, multi_az: false, \
         automatic_failover: false, description: Orders cache}\n",
    );
    let (plan, change) = group_plan(&cluster, &changed).await;
    assert_eq!(change.action, plan::Action::Update);
    cluster
        .apply(&plan, &credentials(&changed), &fast(), &ignore)
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
    converge(&cluster, &desired("replace", "")).await;
    let changed = desired("replace", "encryption: {at_rest: false}\n");
    let (_, change) = group_plan(&cluster, &changed).await;
    assert_eq!(change.action, plan::Action::Replace);
    assert_eq!(
        change.replaced_by().collect::<Vec<_>>(),
        ["at_rest_encryption"]
    );
}

const RBAC: &str = "auth: {mode: rbac, users: [{name: app, access: \"on ~app:* +@all\"}]}\n";

/// The password of the only RBAC user of `desired`.
fn user_password(desired: &Desired) -> String {
    let secrets = desired.secrets();
    assert_eq!(secrets.len(), 1, "{secrets:?}");
    secret_value(&secrets[0])
}

#[tokio::test]
async fn data_plane_rbac_users_log_in_with_their_passwords_and_nobody_else_does() {
    let account = Emulator::account("cluster_rbac").await;
    let cluster = Cluster::new(aws_sdk_elasticache::Client::new(&account.config));
    let desired = desired("rbac", RBAC);
    let outputs = converge(&cluster, &desired).await;
    assert_converged(&cluster, &desired).await;
    let observed = cluster.observe(&desired).await.expect("observes");
    assert!(observed.user_group.is_some(), "{observed:#?}");
    assert_eq!(outputs.user_ids.len(), 1);

    let password = user_password(&desired);
    assert_eq!(ping(&outputs, Login::User("app", &password)), "PONG");
    let wrong = ping(&outputs, Login::User("app", "not-the-password-at-all"));
    assert!(wrong.contains("WRONGPASS"), "{wrong}");
    let nobody = ping(&outputs, Login::Nobody);
    assert!(nobody.contains("NOAUTH"), "{nobody}");
}

#[tokio::test]
async fn iam_users_are_created_in_iam_mode_and_then_left_alone() {
    let account = Emulator::account("cluster_iam").await;
    let cluster = Cluster::new(aws_sdk_elasticache::Client::new(&account.config));
    let desired = desired(
        "iam",
        "auth: {mode: iam, users: [{name: worker, access: \"on ~* +@read\"}]}\n",
    );
    let outputs = converge(&cluster, &desired).await;
    assert_eq!(outputs.user_ids, ["worker"]);
    assert!(desired.secrets().is_empty(), "IAM users have no secrets");
    assert_converged(&cluster, &desired).await;
}

#[tokio::test]
async fn an_access_string_changed_outside_the_stack_is_put_back() {
    let account = Emulator::account("cluster_access").await;
    let client = aws_sdk_elasticache::Client::new(&account.config);
    let cluster = Cluster::new(client.clone());
    let desired = desired("access", RBAC);
    let outputs = converge(&cluster, &desired).await;
    let user = outputs.user_ids[0].clone();
    client
        .modify_user()
        .user_id(&user)
        .access_string("on ~* +@all")
        .send()
        .await
        .expect("modifies");
    while cluster.observe(&desired).await.expect("observes").users[&user].status != "active" {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let plan = diff(
        &desired,
        &cluster.observe(&desired).await.expect("observes"),
    );
    assert!(plan.has_writes(), "drift is seen");
    cluster
        .apply(&plan, &credentials(&desired), &fast(), &ignore)
        .await
        .expect("applies");
    assert_converged(&cluster, &desired).await;
}

#[tokio::test]
async fn data_plane_parameters_are_created_changed_in_place_and_reach_the_server() {
    let account = Emulator::account("cluster_params").await;
    let cluster = Cluster::new(aws_sdk_elasticache::Client::new(&account.config));
    let before = desired(
        "params",
        "cluster: {parameters: {maxmemory-policy: allkeys-lru}}\n",
    );
    let outputs = converge(&cluster, &before).await;
    assert_converged(&cluster, &before).await;
    let token = secret_value(&before.secrets()[0]);
    let policy = || {
        let (host, port) = endpoint(&outputs);
        let login = Login::Token(&token);
        data_plane::command(
            &host,
            port,
            true,
            login,
            &["CONFIG", "GET", "maxmemory-policy"],
        )
    };
    assert!(policy().ends_with("allkeys-lru"), "{}", policy());

    let after = desired(
        "params",
        "cluster: {parameters: {maxmemory-policy: noeviction}}\n",
    );
    let plan = diff(&after, &cluster.observe(&after).await.expect("observes"));
    assert!(
        plan.changes
            .iter()
            .any(|c| c.resource.kind == kinds::PARAMETER_GROUP && c.action == plan::Action::Update),
        "{:#?}",
        plan.changes
    );
    cluster
        .apply(&plan, &credentials(&after), &fast(), &ignore)
        .await
        .expect("applies");
    assert_converged(&cluster, &after).await;
    assert!(policy().ends_with("noeviction"), "{}", policy());
}

#[tokio::test]
async fn data_plane_a_token_stack_moves_to_rbac_and_back() {
    let account = Emulator::account("cluster_migrate").await;
    let cluster = Cluster::new(aws_sdk_elasticache::Client::new(&account.config));
    let token_stack = desired("migrate", "");
    let token = secret_value(&token_stack.secrets()[0]);
    let outputs = converge(&cluster, &token_stack).await;
    assert_eq!(ping(&outputs, Login::Token(&token)), "PONG");

    let rbac = desired("migrate", RBAC);
    converge(&cluster, &rbac).await;
    assert_converged(&cluster, &rbac).await;
    assert_eq!(
        ping(&outputs, Login::User("app", &user_password(&rbac))),
        "PONG"
    );
    assert_ne!(
        ping(&outputs, Login::Token(&token)),
        "PONG",
        "the token is gone"
    );

    converge(&cluster, &token_stack).await;
    assert_converged(&cluster, &token_stack).await;
    assert_eq!(ping(&outputs, Login::Token(&token)), "PONG");
    let user = ping(&outputs, Login::User("app", &user_password(&rbac)));
    assert!(user.contains("WRONGPASS"), "{user}");
}

#[tokio::test]
async fn data_plane_transit_encryption_goes_from_preferred_to_required_in_place() {
    let account = Emulator::account("cluster_transit").await;
    let cluster = Cluster::new(aws_sdk_elasticache::Client::new(&account.config));
    let preferred = desired("transit", "encryption: {transit_mode: preferred}\n");
    let outputs = converge(&cluster, &preferred).await;
    assert_converged(&cluster, &preferred).await;

    let required = desired("transit", "");
    let (plan, change) = group_plan(&cluster, &required).await;
    assert_eq!(change.action, plan::Action::Update, "{change:#?}");
    cluster
        .apply(&plan, &credentials(&required), &fast(), &ignore)
        .await
        .expect("applies");
    assert_converged(&cluster, &required).await;
    let token = secret_value(&required.secrets()[0]);
    assert_eq!(ping(&outputs, Login::Token(&token)), "PONG");
}

#[tokio::test]
async fn waits_report_progress_while_the_group_is_created() {
    let account = Emulator::account("cluster_progress").await;
    let cluster = Cluster::new(aws_sdk_elasticache::Client::new(&account.config));
    let desired = desired("progress", "");
    let plan = diff(
        &desired,
        &cluster.observe(&desired).await.expect("observes"),
    );
    let seen = Mutex::new(Vec::new());
    let record = |progress: Progress| seen.lock().expect("lock").push(progress.status);
    cluster
        .apply(&plan, &credentials(&desired), &fast(), &record)
        .await
        .expect("applies");
    let seen = seen.into_inner().expect("lock");
    assert!(seen.iter().any(|status| status == "creating"), "{seen:?}");
}

#[tokio::test]
async fn data_plane_a_replacement_snapshots_the_group_and_restores_its_data() {
    let account = Emulator::account("cluster_restore").await;
    let client = aws_sdk_elasticache::Client::new(&account.config);
    let cluster = Cluster::new(client.clone());
    let before = desired("restore", "");
    let outputs = converge(&cluster, &before).await;
    let token = secret_value(&before.secrets()[0]);
    let (host, port) = endpoint(&outputs);
    let set = data_plane::command(
        &host,
        port,
        true,
        Login::Token(&token),
        &["SET", "order:1", "kept"],
    );
    assert_eq!(set, "OK");

    let after = desired("restore", "encryption: {at_rest: false}\n");
    let (plan, change) = group_plan(&cluster, &after).await;
    assert_eq!(change.action, plan::Action::Replace);
    let outputs = cluster
        .apply(&plan, &credentials(&after), &fast(), &ignore)
        .await
        .expect("replaces");
    let (host, port) = endpoint(&outputs);
    let got = data_plane::command(&host, port, true, Login::Token(&token), &["GET", "order:1"]);
    assert_eq!(got, "kept", "the new group starts from the final snapshot");
    let snapshots = client
        .describe_snapshots()
        .replication_group_id("restore")
        .send()
        .await
        .expect("lists");
    assert_eq!(snapshots.snapshots().len(), 1);
}

#[tokio::test]
async fn destroy_takes_a_final_snapshot_and_removes_the_group_users_and_user_group() {
    let account = Emulator::account("cluster_destroy").await;
    let client = aws_sdk_elasticache::Client::new(&account.config);
    let cluster = Cluster::new(client.clone());
    let desired = desired("destroyed", RBAC);
    converge(&cluster, &desired).await;
    let observed = cluster.observe(&desired).await.expect("observes");
    let plan = diff_destroy(&desired, &observed, false);
    cluster
        .destroy(&plan, &fast(), &ignore)
        .await
        .expect("destroys");
    let after = cluster.observe(&desired).await.expect("observes");
    assert!(after.replication_group.is_none(), "{after:#?}");
    // Users and their group go on being deleted after destroy returns, as on AWS.
    assert!(
        after.user_group.iter().all(|g| g.status == "deleting")
            && after.users.values().all(|u| u.status == "deleting"),
        "{after:#?}"
    );
    let snapshots = client
        .describe_snapshots()
        .replication_group_id("destroyed")
        .send()
        .await
        .expect("lists");
    assert_eq!(snapshots.snapshots().len(), 1, "the final snapshot is kept");
}

#[tokio::test]
async fn shards_replicas_and_log_delivery_change_in_place() {
    let account = Emulator::account("cluster_reshape").await;
    let cluster = Cluster::new(aws_sdk_elasticache::Client::new(&account.config));
    converge(
        &cluster,
        &desired("reshape", "cluster: {mode: enabled, shards: 3}\n"),
    )
    .await;

    let after = desired(
        "reshape",
        "cluster: {mode: enabled, shards: 2, replicas_per_shard: 2}\nlogs: {engine: {enabled: false}}\n",
    );
    let (plan, change) = group_plan(&cluster, &after).await;
    assert_eq!(change.action, plan::Action::Update, "{change:#?}");
    cluster
        .apply(&plan, &credentials(&after), &fast(), &ignore)
        .await
        .expect("applies");
    let group = cluster
        .observe(&after)
        .await
        .expect("observes")
        .replication_group
        .expect("group");
    assert_eq!(group.replicas, [2, 2]);
    assert_eq!(group.log_delivery.len(), 1, "{:?}", group.log_delivery);
    assert_converged(&cluster, &after).await;
}
