//! The KMS step against the local emulator, each test in its own account.

use kms::{Desired, Kms, KmsError, diff, diff_destroy};
use plan::Action;
use spec::names::Scope;
use test_support::{Account, Emulator};

const SPEC: &str = "stack: keydemo\nregion: us-east-1\nengine: {name: valkey, version: \"8.0\"}\nnode_type: cache.t4g.micro\n\
network: {create: {vpc_cidr: 10.0.0.0/16, subnets: [{availability_zone: us-east-1a, cidr: 10.0.1.0/24}, \
{availability_zone: us-east-1b, cidr: 10.0.2.0/24}]}, allow: {cidrs: [10.0.0.0/8]}}\n";

fn desired(account: &Account, source: &str) -> Desired {
    let spec = spec::parse(source, "t.yaml").expect("valid spec");
    Desired::from_spec(
        &spec,
        &kms::Inputs {
            scope: Scope::new(&account.id, "us-east-1"),
        },
    )
}

async fn converge(kms: &Kms, desired: &Desired) -> kms::KmsOutputs {
    let plan = diff(desired, &kms.observe(desired).await.expect("observes")).expect("plans");
    kms.apply(&plan).await.expect("applies")
}

async fn assert_quiet(kms: &Kms, desired: &Desired) {
    let plan = diff(desired, &kms.observe(desired).await.expect("observes")).expect("plans");
    assert!(!plan.has_writes(), "{:#?}", plan.changes);
    assert!(
        plan.changes.iter().all(|c| !c.is_change()),
        "{:#?}",
        plan.changes
    );
}

#[tokio::test]
async fn creates_the_key_then_plans_no_change_and_repairs_policy_drift() {
    let account = Emulator::account("kms_create").await;
    let client = aws_sdk_kms::Client::new(&account.config);
    let kms = Kms::new(client.clone());
    let desired = desired(&account, SPEC);

    let outputs = converge(&kms, &desired).await;
    let arn = outputs.key_arn.value().expect("known").clone();
    assert!(arn.contains(&account.id), "{arn}");
    let observed = kms.observe(&desired).await.expect("observes");
    let key = observed.key.as_ref().expect("found by alias");
    assert!(key.rotation);
    assert_eq!(
        key.tags.get("elasticache-action:stack").map(String::as_str),
        Some("keydemo")
    );
    assert_quiet(&kms, &desired).await;

    // Out of band: a statement granting everyone decrypt.
    let mut policy = key.policy.clone().expect("policy");
    policy["Statement"]
        .as_array_mut()
        .expect("statements")
        .push(serde_json::json!({"Sid": "Oops", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}));
    client
        .put_key_policy()
        .key_id(&key.id)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .expect("puts policy");
    let plan = diff(&desired, &kms.observe(&desired).await.expect("observes")).expect("plans");
    assert_eq!(plan.changes[0].action, Action::Update);
    assert_eq!(plan.changes[0].attributes[0].name, "policy");
    converge(&kms, &desired).await;
    assert_quiet(&kms, &desired).await;
}

#[tokio::test]
async fn destroy_schedules_deletion_and_apply_brings_the_key_back() {
    let account = Emulator::account("kms_destroy").await;
    let client = aws_sdk_kms::Client::new(&account.config);
    let kms = Kms::new(client.clone());
    let desired = desired(&account, SPEC);
    let arn = converge(&kms, &desired)
        .await
        .key_arn
        .value()
        .expect("known")
        .clone();

    let plan = diff_destroy(&desired, &kms.observe(&desired).await.expect("observes"));
    kms.destroy(&plan).await.expect("destroys");
    let key = client
        .describe_key()
        .key_id(&arn)
        .send()
        .await
        .expect("describes");
    let state = key
        .key_metadata()
        .and_then(|m| m.key_state())
        .map(|s| s.as_str().to_owned());
    assert_eq!(state.as_deref(), Some("PendingDeletion"));
    assert!(
        kms.observe(&desired).await.expect("observes").key.is_none(),
        "the alias is gone"
    );
}

#[tokio::test]
async fn an_existing_key_is_checked_before_anything_is_created() {
    let account = Emulator::account("kms_existing").await;
    let client = aws_sdk_kms::Client::new(&account.config);
    let kms = Kms::new(client.clone());

    let missing = desired(
        &account,
        &format!("{SPEC}encryption: {{kms_key: alias/nope}}\n"),
    );
    let error =
        diff(&missing, &kms.observe(&missing).await.expect("observes")).expect_err("missing");
    assert!(matches!(error, KmsError::KeyNotFound(_)), "{error}");

    let key = client.create_key().send().await.expect("creates");
    let id = key.key_metadata().expect("metadata").key_id().to_owned();
    client
        .disable_key()
        .key_id(&id)
        .send()
        .await
        .expect("disables");
    let disabled = desired(&account, &format!("{SPEC}encryption: {{kms_key: {id}}}\n"));
    let error =
        diff(&disabled, &kms.observe(&disabled).await.expect("observes")).expect_err("disabled");
    assert!(error.to_string().contains("it is Disabled"), "{error}");

    client
        .enable_key()
        .key_id(&id)
        .send()
        .await
        .expect("enables");
    let plan = diff(&disabled, &kms.observe(&disabled).await.expect("observes")).expect("usable");
    assert!(plan.changes.is_empty());
    assert!(
        !plan.warnings.is_empty(),
        "the default policy does not admit CloudWatch Logs"
    );
}

#[tokio::test]
async fn of_two_stack_keys_without_the_alias_one_is_adopted_and_the_other_scheduled_for_deletion() {
    let account = Emulator::account("kms_duplicates").await;
    let client = aws_sdk_kms::Client::new(&account.config);
    let kms = Kms::new(client.clone());
    let desired = desired(&account, SPEC);
    // What two interrupted runs leave: tagged keys, no alias.
    let mut made = Vec::new();
    for _ in 0..2 {
        made.push(stack_tagged_key(&client).await);
    }
    let observed = kms.observe(&desired).await.expect("observes");
    let adopted = observed.key.as_ref().expect("adopted").id.clone();
    assert!(observed.alias_missing);
    assert_eq!(observed.duplicate_keys.len(), 1, "{observed:?}");
    let duplicate = observed.duplicate_keys[0].clone();
    assert!(made.contains(&adopted) && made.contains(&duplicate) && adopted != duplicate);
    let plan = diff(&desired, &observed).expect("plans");
    let shown = format!("{duplicate} (duplicate, no alias)");
    assert!(
        plan.changes
            .iter()
            .any(|c| c.resource.name == shown && c.action == Action::Delete),
        "{:#?}",
        plan.changes
    );
    kms.apply(&plan).await.expect("applies");

    let state = |id: String| {
        let client = client.clone();
        async move {
            let key = client
                .describe_key()
                .key_id(id)
                .send()
                .await
                .expect("describes");
            key.key_metadata()
                .and_then(|m| m.key_state())
                .map(|s| s.as_str().to_owned())
        }
    };
    assert_eq!(state(duplicate).await.as_deref(), Some("PendingDeletion"));
    let observed = kms.observe(&desired).await.expect("observes");
    assert_eq!(observed.key.as_ref().map(|k| k.id.clone()), Some(adopted));
    assert_quiet(&kms, &desired).await;

    // A copy made while the alias exists is not read on plans; destroy finds it.
    let stray = stack_tagged_key(&client).await;
    let mut observed = kms.observe(&desired).await.expect("observes");
    observed.duplicate_keys = kms
        .duplicate_keys(&desired, &observed)
        .await
        .expect("lists");
    assert_eq!(observed.duplicate_keys, std::slice::from_ref(&stray));
    kms.destroy(&diff_destroy(&desired, &observed))
        .await
        .expect("destroys");
    assert_eq!(state(stray).await.as_deref(), Some("PendingDeletion"));
}

/// A key tagged for the stack with no alias, as an interrupted run leaves one.
async fn stack_tagged_key(client: &aws_sdk_kms::Client) -> String {
    let tag = aws_sdk_kms::types::Tag::builder()
        .tag_key("elasticache-action:stack")
        .tag_value("keydemo")
        .build()
        .expect("tag");
    let key = client
        .create_key()
        .tags(tag)
        .send()
        .await
        .expect("creates a key");
    key.key_metadata().expect("metadata").key_id().to_owned()
}
