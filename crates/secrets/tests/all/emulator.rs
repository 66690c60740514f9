//! The secrets step against the local emulator, each test in its own account.

use plan::Known;
use secrets::{Desired, Inputs, Secrets, diff, diff_destroy, token};
use test_support::Emulator;

const SPEC: &str = "stack: secretdemo\nregion: us-east-1\nengine: {name: valkey, version: \"8.0\"}\nnode_type: cache.t4g.micro\n\
network: {create: {vpc_cidr: 10.0.0.0/16, subnets: [{availability_zone: us-east-1a, cidr: 10.0.1.0/24}, \
{availability_zone: us-east-1b, cidr: 10.0.2.0/24}]}, allow: {cidrs: [10.0.0.0/8]}}\n";

fn desired(source: &str, key: &str) -> Desired {
    Desired::from_spec(
        &spec::parse(source, "t.yaml").expect("valid"),
        &Inputs {
            kms_key_arn: Known::Value(key.to_owned()),
        },
    )
}

async fn value(client: &aws_sdk_secretsmanager::Client, name: &str) -> serde_json::Value {
    let output = client
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .expect("reads");
    serde_json::from_str(output.secret_string().expect("string")).expect("JSON")
}

#[tokio::test]
async fn the_token_is_generated_once_and_drift_is_repaired() {
    let account = Emulator::account("secrets_token").await;
    let client = aws_sdk_secretsmanager::Client::new(&account.config);
    let secrets = Secrets::new(client.clone());
    let key = format!("arn:aws:kms:us-east-1:{}:key/k", account.id);
    let desired = desired(SPEC, &key);

    let plan = diff(
        &desired,
        &secrets.observe(&desired).await.expect("observes"),
    )
    .expect("plans");
    let outputs = secrets.apply(&plan).await.expect("applies");
    assert!(
        matches!(&outputs.secrets[0], (name, Known::Value(arn)) if name == "secretdemo/auth-token" && arn.starts_with("arn:"))
    );

    let first = value(&client, "secretdemo/auth-token").await;
    let token_text = first["auth_token"].as_str().expect("token");
    assert_eq!(token_text.len(), 64);
    assert!(token::is_valid(token_text));
    assert_eq!(first["replication_group_id"], "secretdemo");
    assert_eq!(first["port"], 6379);

    // Out of band: description changed and our tag removed.
    client
        .update_secret()
        .secret_id("secretdemo/auth-token")
        .description("edited")
        .send()
        .await
        .expect("edits");
    client
        .untag_resource()
        .secret_id("secretdemo/auth-token")
        .tag_keys("elasticache-action:stack")
        .send()
        .await
        .expect("untags");
    let plan = diff(
        &desired,
        &secrets.observe(&desired).await.expect("observes"),
    )
    .expect("plans");
    let names: Vec<&str> = plan.changes[0]
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["description", "tags"]);
    secrets.apply(&plan).await.expect("repairs");

    let again = diff(
        &desired,
        &secrets.observe(&desired).await.expect("observes"),
    )
    .expect("plans");
    assert!(!again.has_writes(), "{:#?}", again.changes);
    assert_eq!(
        value(&client, "secretdemo/auth-token").await,
        first,
        "never regenerated"
    );
}

#[tokio::test]
async fn rbac_users_get_their_own_secrets_and_destroy_keeps_them_recoverable() {
    let account = Emulator::account("secrets_rbac").await;
    let client = aws_sdk_secretsmanager::Client::new(&account.config);
    let secrets = Secrets::new(client.clone());
    let source =
        format!("{SPEC}auth: {{mode: rbac, users: [{{name: app}}, {{name: reporting}}]}}\n");
    let desired = desired(&source, "arn:aws:kms:us-east-1:1:key/k");
    secrets
        .apply(
            &diff(
                &desired,
                &secrets.observe(&desired).await.expect("observes"),
            )
            .expect("plans"),
        )
        .await
        .expect("applies");
    let app = value(&client, "secretdemo/users/app").await;
    assert_eq!(app["username"], "app");
    assert!(token::is_valid(app["password"].as_str().expect("password")));

    let plan = diff_destroy(
        &desired,
        &secrets.observe(&desired).await.expect("observes"),
        false,
    );
    assert_eq!(plan.changes.len(), 2);
    secrets.destroy(&plan).await.expect("destroys");
    let described = client
        .describe_secret()
        .secret_id("secretdemo/users/app")
        .send()
        .await
        .expect("still there");
    assert!(
        described.deleted_date().is_some(),
        "scheduled for deletion, restorable"
    );

    // Applying again restores them instead of creating new ones.
    let plan = diff(
        &desired,
        &secrets.observe(&desired).await.expect("observes"),
    )
    .expect("plans");
    assert_eq!(plan.changes[0].attributes[0].name, "scheduled_for_deletion");
    secrets.apply(&plan).await.expect("restores");
    assert_eq!(value(&client, "secretdemo/users/app").await, app);
}
