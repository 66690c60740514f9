//! The handler invoked in-process with each of Secrets Manager's step events, on the
//! local emulator with a real server behind the group. The fixture is made directly
//! (a group with an AUTH token, its secret tagged for the stack), not by `apply`, so
//! this binary links only the two SDK clients the Lambda itself uses.

use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_secretsmanager::types::Tag;
use rotation::Rotation;
use rotation_lambda::{HandlerError, RotationEvent, Settings, handle};
use test_support::Emulator;
use test_support::data_plane::{Login, ping};

const TOKEN: &str = "first-token-0123456789-abcdefghij";

struct Fixture {
    secrets: aws_sdk_secretsmanager::Client,
    elasticache: aws_sdk_elasticache::Client,
    engine: Rotation,
    secret_arn: String,
}

/// How the fixture's group authenticates.
enum Auth {
    /// An AUTH token.
    Token,
    /// One RBAC user `app` (and a disabled `default`).
    User,
}

/// A group `id` with an AUTH token or an RBAC user, and the credential's secret as
/// the stack writes it, tagged for stack `id`.
async fn fixture(id: &str, auth: Auth) -> Fixture {
    let account = Emulator::account(&format!("lambda_{id}")).await;
    let elasticache = aws_sdk_elasticache::Client::new(&account.config);
    let secrets = aws_sdk_secretsmanager::Client::new(&account.config);
    let group = elasticache
        .create_replication_group()
        .replication_group_id(id)
        .replication_group_description("rotation lambda test")
        .engine("valkey")
        .engine_version("8.0")
        .cache_node_type("cache.t4g.micro")
        .num_cache_clusters(1)
        .transit_encryption_enabled(true);
    let (group, document, name) = match auth {
        Auth::Token => (
            group.auth_token(TOKEN),
            serde_json::json!({"auth_token": TOKEN}),
            format!("{id}/auth-token"),
        ),
        Auth::User => {
            let user_arn = user_group(&elasticache, id).await;
            let document =
                serde_json::json!({"username": "app", "password": TOKEN, "user_arn": user_arn});
            (
                group.user_group_ids(id),
                document,
                format!("{id}/users/app"),
            )
        }
    };
    group.send().await.expect("creates the group");
    until_available(&elasticache, id).await;
    let mut document = document;
    document["engine"] = "valkey".into();
    document["replication_group_id"] = id.into();
    let created = secrets
        .create_secret()
        .name(name)
        .secret_string(document.to_string())
        .tags(
            Tag::builder()
                .key("elasticache-action:stack")
                .value(id)
                .build(),
        )
        .send()
        .await
        .expect("creates the secret");
    Fixture {
        engine: Rotation::new(secrets.clone(), elasticache.clone()),
        secret_arn: created.arn().unwrap_or_default().to_owned(),
        secrets,
        elasticache,
    }
}

/// A user group `id` of a disabled `default` and `app` (password [`TOKEN`]), once
/// active; returns `app`'s ARN.
async fn user_group(elasticache: &aws_sdk_elasticache::Client, id: &str) -> String {
    elasticache
        .create_user()
        .user_id(format!("{id}-default"))
        .user_name("default")
        .engine("valkey")
        .access_string("off -@all")
        .no_password_required(true)
        .send()
        .await
        .expect("creates default");
    let app = elasticache
        .create_user()
        .user_id(format!("{id}-app"))
        .user_name("app")
        .engine("valkey")
        .access_string("on ~* +@all")
        .passwords(TOKEN)
        .send()
        .await
        .expect("creates app");
    elasticache
        .create_user_group()
        .user_group_id(id)
        .engine("valkey")
        .user_ids(format!("{id}-default"))
        .user_ids(format!("{id}-app"))
        .send()
        .await
        .expect("creates the user group");
    for _ in 0..100 {
        let described = elasticache
            .describe_user_groups()
            .user_group_id(id)
            .send()
            .await;
        let status = described
            .ok()
            .and_then(|d| d.user_groups().first()?.status().map(str::to_owned));
        if status.as_deref() == Some("active") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.arn().unwrap_or_default().to_owned()
}

async fn until_available(elasticache: &aws_sdk_elasticache::Client, id: &str) {
    for _ in 0..100 {
        let described = elasticache
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await
            .expect("describes");
        if described.replication_groups()[0].status() == Some("available") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn settings(stack: &str) -> Settings {
    let ca = test_support::data_plane::ca_file().display().to_string();
    Settings::from_env(|name| match name {
        "ELASTICACHE_ACTION_STACK" => Some(stack.to_owned()),
        "ROTATION_CA_FILE" => Some(ca.clone()),
        "ROTATION_TIMEOUT" => Some("1m".to_owned()),
        _ => None,
    })
    .expect("settings")
}

fn event(step: &str, secret: &str, token: &str) -> RotationEvent {
    serde_json::from_value(serde_json::json!({
        "Step": step, "SecretId": secret, "ClientRequestToken": token,
    }))
    .expect("the event Secrets Manager sends")
}

impl Fixture {
    async fn stages_of(&self, version: &str) -> Vec<String> {
        let listed = self
            .secrets
            .list_secret_version_ids()
            .secret_id(&self.secret_arn)
            .send()
            .await
            .expect("lists");
        listed
            .versions()
            .iter()
            .find(|v| v.version_id() == Some(version))
            .map(|v| v.version_stages().to_vec())
            .unwrap_or_default()
    }

    async fn value(&self, stage: &str) -> String {
        self.value_of(stage, "auth_token").await
    }

    async fn value_of(&self, stage: &str, field: &str) -> String {
        let value = self
            .secrets
            .get_secret_value()
            .secret_id(&self.secret_arn)
            .version_stage(stage)
            .send()
            .await
            .expect("reads");
        let document: serde_json::Value =
            serde_json::from_str(value.secret_string().unwrap_or_default()).expect("JSON");
        document[field].as_str().unwrap_or_default().to_owned()
    }

    async fn port(&self, id: &str) -> u16 {
        let described = self
            .elasticache
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await
            .expect("describes");
        let group = &described.replication_groups()[0];
        let endpoint = group.node_groups()[0].primary_endpoint().expect("endpoint");
        u16::try_from(endpoint.port().unwrap_or_default()).unwrap_or_default()
    }
}

/// What the handler logged, for the tests to search.
static LOGGED: Mutex<String> = Mutex::new(String::new());

fn log(line: String) {
    if let Ok(mut logged) = LOGGED.lock() {
        logged.push_str(&line);
        logged.push('\n');
    }
}

/// Each step twice (Secrets Manager retries whole rotations), in one spelling.
async fn rotate(fixture: &Fixture, stack: &str, secret: &str, token: &str, steps: [&str; 4]) {
    let settings = settings(stack);
    for step in steps {
        for attempt in 1..=2 {
            handle(
                &fixture.engine,
                &settings,
                &event(step, secret, token),
                &log,
            )
            .await
            .unwrap_or_else(|err| panic!("{step} (attempt {attempt}): {err}"));
        }
        if step.starts_with("create") {
            assert_eq!(fixture.stages_of(token).await, ["AWSPENDING"]);
        }
    }
}

#[tokio::test]
async fn data_plane_the_four_steps_in_either_spelling_rotate_the_token_and_repeat_safely() {
    let fixture = fixture("lambdasteps", Auth::Token).await;
    let port = fixture.port("lambdasteps").await;
    let first = "a".repeat(32);
    let camel = ["createSecret", "setSecret", "testSecret", "finishSecret"];
    rotate(&fixture, "lambdasteps", &fixture.secret_arn, &first, camel).await;
    let stages = fixture.stages_of(&first).await;
    assert!(stages.contains(&"AWSCURRENT".to_owned()), "{stages:?}");
    let new = fixture.value("AWSCURRENT").await;
    assert_ne!(new, TOKEN);
    assert_eq!(ping("127.0.0.1", port, true, Login::Token(&new)), "PONG");
    assert_eq!(
        ping("127.0.0.1", port, true, Login::Token(TOKEN)),
        "PONG",
        "the previous stays"
    );

    // The guide's spelling, the secret by name, as moto's RotateSecret sends it.
    let second = "b".repeat(32);
    let snake = [
        "create_secret",
        "set_secret",
        "test_secret",
        "finish_secret",
    ];
    rotate(
        &fixture,
        "lambdasteps",
        "lambdasteps/auth-token",
        &second,
        snake,
    )
    .await;
    let newest = fixture.value("AWSCURRENT").await;
    assert_eq!(ping("127.0.0.1", port, true, Login::Token(&newest)), "PONG");
    assert_eq!(ping("127.0.0.1", port, true, Login::Token(&new)), "PONG");
    assert_ne!(
        ping("127.0.0.1", port, true, Login::Token(TOKEN)),
        "PONG",
        "two tokens at most"
    );
    let logged = LOGGED.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(logged.contains(": finish (version"), "{logged}");
    for value in [TOKEN, new.as_str(), newest.as_str()] {
        assert!(
            !logged.contains(&value[..16]),
            "a credential was logged: {logged}"
        );
    }
}

#[tokio::test]
async fn data_plane_a_step_for_a_version_that_is_not_pending_is_refused() {
    let fixture = fixture("lambdaorder", Auth::Token).await;
    let settings = settings("lambdaorder");
    let token = "c".repeat(32);
    let early = handle(
        &fixture.engine,
        &settings,
        &event("setSecret", &fixture.secret_arn, &token),
        &log,
    )
    .await
    .expect_err("nothing pending");
    assert!(early.to_string().contains("is not AWSPENDING"), "{early}");
    handle(
        &fixture.engine,
        &settings,
        &event("createSecret", &fixture.secret_arn, &token),
        &log,
    )
    .await
    .expect("creates");
    let other = handle(
        &fixture.engine,
        &settings,
        &event("createSecret", &fixture.secret_arn, &"d".repeat(32)),
        &log,
    )
    .await
    .expect_err("another rotation is pending");
    assert!(
        other.to_string().contains("has another rotation pending"),
        "{other}"
    );
}

#[tokio::test]
async fn data_plane_a_configuration_check_tests_the_current_credential_and_writes_nothing() {
    // `RotateSecret` with `RotateImmediately=false` makes an AWSPENDING copy of the
    // current value and invokes testSecret alone (the emulator cannot invoke, so the
    // test plays Secrets Manager's part).
    let fixture = fixture("lambdacheck", Auth::Token).await;
    let port = fixture.port("lambdacheck").await;
    let token = "e".repeat(32);
    let current = fixture.value("AWSCURRENT").await;
    let tokens_changed = || async {
        let described = (fixture.elasticache.describe_replication_groups())
            .replication_group_id("lambdacheck")
            .send()
            .await
            .expect("describes");
        described.replication_groups()[0]
            .auth_token_last_modified_date()
            .cloned()
    };
    let before = tokens_changed().await;
    fixture
        .secrets
        .put_secret_value()
        .secret_id(&fixture.secret_arn)
        .client_request_token(&token)
        .secret_string(serde_json::json!({ "auth_token": current }).to_string())
        .version_stages("AWSPENDING")
        .send()
        .await
        .expect("stages the copy");
    for spelling in ["testSecret", "test_secret"] {
        handle(
            &fixture.engine,
            &settings("lambdacheck"),
            &event(spelling, &fixture.secret_arn, &token),
            &log,
        )
        .await
        .expect("the configuration check passes");
    }
    assert_eq!(
        fixture.stages_of(&token).await,
        ["AWSPENDING"],
        "nothing moved"
    );
    assert_eq!(tokens_changed().await, before, "no ROTATE was sent");
    assert_eq!(fixture.value("AWSCURRENT").await, TOKEN);
    assert_eq!(ping("127.0.0.1", port, true, Login::Token(TOKEN)), "PONG");
}

#[tokio::test]
async fn data_plane_a_secret_of_another_stack_is_refused_before_anything_is_read() {
    let fixture = fixture("lambdaforeign", Auth::Token).await;
    let refused = handle(
        &fixture.engine,
        &settings("some-other-stack"),
        &event("createSecret", &fixture.secret_arn, &"e".repeat(32)),
        &log,
    )
    .await
    .expect_err("not this function's stack");
    assert!(
        matches!(
            refused,
            HandlerError::Rotation(rotation::RotationError::NotOurs { .. })
        ),
        "{refused}"
    );
    assert_eq!(fixture.value("AWSCURRENT").await, TOKEN);
    let unknown = handle(
        &fixture.engine,
        &settings("lambdaforeign"),
        &event("rotateEverything", &fixture.secret_arn, &"e".repeat(32)),
        &log,
    )
    .await
    .expect_err("not a step");
    assert!(
        unknown.to_string().contains("is not a rotation step"),
        "{unknown}"
    );
}

#[tokio::test]
async fn data_plane_an_rbac_users_password_is_rotated_and_the_user_found_by_its_arn() {
    let fixture = fixture("lambdauser", Auth::User).await;
    let port = fixture.port("lambdauser").await;
    let token = "f".repeat(32);
    let camel = ["createSecret", "setSecret", "testSecret", "finishSecret"];
    rotate(&fixture, "lambdauser", &fixture.secret_arn, &token, camel).await;
    let new = fixture.value_of("AWSCURRENT", "password").await;
    assert_ne!(new, TOKEN);
    assert_eq!(
        ping("127.0.0.1", port, true, Login::User("app", &new)),
        "PONG"
    );
    assert_eq!(
        ping("127.0.0.1", port, true, Login::User("app", TOKEN)),
        "PONG",
        "both passwords until the next rotation"
    );
}

#[test]
fn settings_name_what_is_missing_or_malformed() {
    let missing = Settings::from_env(|_| None).expect_err("the stack is required");
    assert!(
        missing.to_string().contains("ELASTICACHE_ACTION_STACK"),
        "{missing}"
    );
    let bad = Settings::from_env(|name| match name {
        "ELASTICACHE_ACTION_STACK" => Some("s".into()),
        "ROTATION_PREVIOUS" => Some("soon".into()),
        _ => None,
    })
    .expect_err("not a duration");
    assert!(bad.to_string().contains("ROTATION_PREVIOUS"), "{bad}");
    let test = Settings::from_env(|name| match name {
        "ELASTICACHE_ACTION_STACK" => Some("s".into()),
        "ROTATION_TEST" => Some("vibes".into()),
        _ => None,
    })
    .expect_err("not a test");
    assert!(test.to_string().contains("ROTATION_TEST"), "{test}");
}
