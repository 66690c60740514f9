//! The logs step against the local emulator, each test in its own account.

use logs::{Desired, Inputs, Logs, diff, diff_destroy};
use plan::{Action, Known};
use test_support::Emulator;

pub const SPEC: &str = "stack: logdemo\nregion: us-east-1\nengine: {name: valkey, version: \"8.0\"}\nnode_type: cache.t4g.micro\n\
network: {create: {vpc_cidr: 10.0.0.0/16, subnets: [{availability_zone: us-east-1a, cidr: 10.0.1.0/24}, \
{availability_zone: us-east-1b, cidr: 10.0.2.0/24}]}, allow: {cidrs: [10.0.0.0/8]}}\n";

pub fn desired(source: &str, key: &str) -> Desired {
    Desired::from_spec(
        &spec::parse(source, "t.yaml").expect("valid"),
        &Inputs {
            kms_key_arn: Known::Value(key.to_owned()),
        },
    )
}

#[tokio::test]
async fn creates_encrypted_groups_then_plans_no_change_and_repairs_drift() {
    let account = Emulator::account("logs_create").await;
    let client = aws_sdk_cloudwatchlogs::Client::new(&account.config);
    let logs = Logs::new(client.clone());
    let key = format!(
        "arn:aws:kms:us-east-1:{}:key/11111111-2222-3333-4444-555555555555",
        account.id
    );
    let desired = desired(SPEC, &key);

    let plan = diff(&desired, &logs.observe(&desired).await.expect("observes")).expect("plans");
    assert_eq!(plan.changes.len(), 2);
    logs.apply(&plan).await.expect("applies");

    let observed = logs.observe(&desired).await.expect("observes");
    let slow = &observed.groups["/aws/elasticache/logdemo/slow-log"];
    assert_eq!(slow.kms_key.as_deref(), Some(key.as_str()));
    assert_eq!(slow.retention_days, Some(365));
    assert_eq!(
        slow.tags
            .get("elasticache-action:stack")
            .map(String::as_str),
        Some("logdemo")
    );
    assert!(!diff(&desired, &observed).expect("plans").has_writes());

    // Out of band: retention shortened, our tag removed.
    client
        .put_retention_policy()
        .log_group_name("/aws/elasticache/logdemo/slow-log")
        .retention_in_days(7)
        .send()
        .await
        .expect("sets retention");
    client
        .untag_resource()
        .resource_arn(&slow.arn)
        .tag_keys("elasticache-action:stack")
        .send()
        .await
        .expect("untags");
    let plan = diff(&desired, &logs.observe(&desired).await.expect("observes")).expect("plans");
    assert_eq!(plan.changes[0].action, Action::Update);
    let names: Vec<&str> = plan.changes[0]
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["retention_days", "tags"]);
    logs.apply(&plan).await.expect("repairs");
    let again = diff(&desired, &logs.observe(&desired).await.expect("observes")).expect("plans");
    assert!(!again.has_writes(), "{:#?}", again.changes);
}

#[tokio::test]
async fn destroy_keeps_log_groups_unless_asked() {
    let account = Emulator::account("logs_destroy").await;
    let logs = Logs::new(aws_sdk_cloudwatchlogs::Client::new(&account.config));
    let kept = desired(SPEC, "arn:aws:kms:us-east-1:1:key/k");
    logs.apply(&diff(&kept, &logs.observe(&kept).await.expect("observes")).expect("plans"))
        .await
        .expect("applies");

    let plan = diff_destroy(&kept, &logs.observe(&kept).await.expect("observes"));
    assert!(!plan.has_writes());
    assert_eq!(plan.warnings.len(), 2);

    let deleting = desired(
        &format!("{SPEC}destroy: {{delete_log_groups: true}}\n"),
        "arn:aws:kms:us-east-1:1:key/k",
    );
    let plan = diff_destroy(&deleting, &logs.observe(&deleting).await.expect("observes"));
    assert_eq!(plan.changes.len(), 2);
    logs.apply(&plan).await.expect("deletes");
    assert!(
        logs.observe(&deleting)
            .await
            .expect("observes")
            .groups
            .is_empty()
    );
}
