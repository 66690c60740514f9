//! Bindings end to end on the local emulator, with the real `redis-server` behind its
//! endpoints: each binding is its own RBAC user whose credentials log in, a read-only
//! binding cannot write, and unbinding one revokes its credentials and no one else's.

mod common;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use stack::connect::{self, Endpoint, Login, Options};
use test_support::Emulator;
use test_support::data_plane;

use common::*;

/// Logs in with a binding's credentials the way `connect --check` does: the first
/// failing stage's cause, or `None` when every stage passed.
async fn check(credentials: &Value) -> Option<String> {
    let endpoint = Endpoint {
        host: credentials["host"].as_str().expect("host").to_owned(),
        port: credentials["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .expect("port"),
        tls: credentials["tls_enabled"].as_bool().expect("tls_enabled"),
        cluster_mode: credentials["cluster_mode"].as_bool().expect("cluster_mode"),
    };
    let login = Login::User {
        name: credentials["username"]
            .as_str()
            .expect("username")
            .to_owned(),
        password: credentials["password"]
            .as_str()
            .expect("password")
            .to_owned()
            .into(),
    };
    let options = Options {
        ca_file: Some(data_plane::ca_file()),
        ..Options::default()
    };
    let report = connect::check(&endpoint, &login, &options)
        .await
        .expect("the check runs");
    report.failure.map(|f| f.cause.to_string())
}

fn redis_cli(credentials: &Value, args: &[&str]) -> String {
    let text = |name: &str| credentials[name].as_str().expect(name).to_owned();
    data_plane::command(
        &text("host"),
        credentials["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .expect("port"),
        true,
        data_plane::Login::User(&text("username"), &text("password")),
        args,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_plane_each_binding_is_its_own_user_and_unbinding_revokes_only_it() {
    let account = Emulator::account("broker_bindings").await;
    let app = app(&account).await;
    let instance = "3c6f2d8a-1e4b-4a7c-9d2e-5f8a0b1c2d3e";
    let (first, second) = ("binding-one", "binding-two");
    let bind = json!({ "service_id": SERVICE, "plan_id": PLAN, "app_guid": "app-1" });

    let (status, _) = call(
        &app,
        Method::PUT,
        &binding_uri(instance, first),
        Some(bind.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no instance yet");
    provisioned(&app, instance).await;

    // Asynchronous: 202 without credentials, polled, then fetched.
    let put_async = format!("{}?accepts_incomplete=true", binding_uri(instance, first));
    let (status, started) = call(&app, Method::PUT, &put_async, Some(bind.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    assert!(started.get("credentials").is_none(), "{started}");
    let operation = started["operation"].as_str().expect("an operation");
    let (status, again) = call(&app, Method::PUT, &put_async, Some(bind.clone())).await;
    assert_eq!(
        (status, &again),
        (StatusCode::ACCEPTED, &started),
        "re-sent"
    );
    let (status, done) = settle_binding(&app, instance, first, operation).await;
    assert_eq!(
        (status, done["state"].as_str()),
        (StatusCode::OK, Some("succeeded")),
        "{done}"
    );
    let (status, one) = call(&app, Method::GET, &binding_uri(instance, first), None).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    let (status, resent) = call(&app, Method::PUT, &put_async, Some(bind.clone())).await;
    assert_eq!(
        (status, &resent["credentials"]),
        (StatusCode::OK, &one["credentials"])
    );
    let mut other = bind.clone();
    other["parameters"] = json!({ "read_only": true });
    let (status, _) = call(&app, Method::PUT, &put_async, Some(other)).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Synchronous and read-only: 201 with the credentials.
    let mut read_only = bind.clone();
    read_only["parameters"] = json!({ "read_only": true });
    let (status, two) = call(
        &app,
        Method::PUT,
        &binding_uri(instance, second),
        Some(read_only),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{two}");
    let mut bad = bind.clone();
    bad["parameters"] = json!({ "admin": true });
    let (status, refused) = call(&app, Method::PUT, &binding_uri(instance, "b3"), Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["description"]
            .as_str()
            .is_some_and(|d| d.contains("`admin`"))
    );

    let (one, two) = (&one["credentials"], &two["credentials"]);
    assert_ne!(one["username"], two["username"], "a user per binding");
    assert_ne!(one["password"], two["password"]);
    assert_eq!(one["tls_enabled"], true);
    let uri = one["uri"].as_str().expect("a uri");
    assert!(
        uri.starts_with(&format!(
            "rediss://{}:",
            one["username"].as_str().unwrap_or_default()
        )),
        "{uri}"
    );
    assert_eq!(check(one).await, None, "the first binding logs in");
    assert_eq!(check(two).await, None, "the second binding logs in");
    assert_eq!(redis_cli(one, &["SET", "k", "v"]), "OK");
    assert_eq!(redis_cli(two, &["GET", "k"]), "v");
    assert!(
        redis_cli(two, &["SET", "k", "w"]).contains("NOPERM"),
        "read-only"
    );

    // Unbind the first: its credentials stop working, the second's do not.
    let delete = format!(
        "{}?service_id={SERVICE}&plan_id={PLAN}&accepts_incomplete=true",
        binding_uri(instance, first)
    );
    let (status, started) = call(&app, Method::DELETE, &delete, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let operation = started["operation"].as_str().expect("an operation");
    let (status, _) = settle_binding(&app, instance, first, operation).await;
    assert_eq!(status, StatusCode::GONE);
    let (status, _) = call(&app, Method::DELETE, &delete, None).await;
    assert_eq!(status, StatusCode::GONE);
    let (status, _) = call(&app, Method::GET, &binding_uri(instance, first), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let refused = check(one).await;
    assert!(
        refused.is_some(),
        "the unbound binding's credentials are refused"
    );
    assert_eq!(check(two).await, None, "the other binding still logs in");

    // An update of the parameters keeps the bindings.
    let update =
        json!({ "service_id": SERVICE, "parameters": { "maxmemory_policy": "allkeys-lfu" } });
    let patch = format!("/v2/service_instances/{instance}?accepts_incomplete=true");
    let (status, started) = call(&app, Method::PATCH, &patch, Some(update)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    succeeds(
        &app,
        instance,
        started["operation"].as_str().expect("an operation"),
    )
    .await;
    assert_eq!(check(two).await, None, "still logs in after the update");

    let deprovision = format!(
        "/v2/service_instances/{instance}?service_id={SERVICE}&plan_id={PLAN}&accepts_incomplete=true"
    );
    let (status, started) = call(&app, Method::DELETE, &deprovision, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let operation = started["operation"].as_str().expect("an operation");
    let (status, _) = settle(&app, instance, operation).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(
        final_snapshots(&account, instance).await,
        1,
        "deprovision took a final snapshot"
    );
}

/// The users of the account whose name is `name`, and how each authenticates.
async fn users_named(account: &test_support::Account, name: &str) -> Vec<String> {
    let elasticache = aws_sdk_elasticache::Client::new(&account.config);
    let users = elasticache.describe_users().send().await.expect("users");
    users
        .users()
        .iter()
        .filter(|u| u.user_name() == Some(name))
        .map(|u| {
            u.authentication()
                .and_then(|a| a.r#type())
                .map_or("none".to_owned(), |t| t.as_str().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iam_binding_is_an_iam_user_and_its_credentials_say_how_to_sign() {
    let account = Emulator::account("broker_iam_bindings").await;
    let app = app(&account).await;
    let instance = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d";
    let binding = "9f8e7d6c-5b4a-4392-8817-a6b5c4d3e2f1";
    provisioned_on(&app, instance, IAM_PLAN).await;
    let stack = broker::instance::stack_name(instance);
    assert_eq!(
        users_named(&account, &stack).await,
        ["iam"],
        "the instance's own user"
    );

    let body = json!({ "service_id": SERVICE, "plan_id": IAM_PLAN });
    let (status, bound) = call(
        &app,
        Method::PUT,
        &binding_uri(instance, binding),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{bound}");
    let credentials = &bound["credentials"];
    let user = broker::binding::key(binding);
    assert_eq!(credentials["username"], user.as_str());
    assert!(credentials.get("password").is_none(), "{credentials}");
    assert_eq!(credentials["iam"]["user_id"], user.as_str());
    assert_eq!(credentials["iam"]["region"], "us-east-1");
    assert_eq!(users_named(&account, &user).await, ["iam"]);

    let delete = format!(
        "{}?service_id={SERVICE}&plan_id={IAM_PLAN}",
        binding_uri(instance, binding)
    );
    let (status, body) = call(&app, Method::DELETE, &delete, None).await;
    assert_eq!(status, StatusCode::OK, "synchronous unbind: {body}");
    assert!(
        users_named(&account, &user).await.is_empty(),
        "the user is deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_plane_a_rotated_binding_has_a_new_password_and_the_old_one_lasts_until_unbound() {
    let account = Emulator::account("broker_rotation").await;
    let app = app(&account).await;
    let instance = "4b5c6d7e-8f90-4a1b-8c2d-3e4f5a6b7c8d";
    let (old, new) = ("binding-old", "binding-new");
    provisioned(&app, instance).await;
    let bind = json!({ "service_id": SERVICE, "plan_id": PLAN });
    let (status, first) = call(
        &app,
        Method::PUT,
        &binding_uri(instance, old),
        Some(bind.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");

    let mut successor = bind.clone();
    successor["predecessor_binding_id"] = json!("no-such-binding");
    let (status, _) = call(
        &app,
        Method::PUT,
        &binding_uri(instance, new),
        Some(successor.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an unknown predecessor");
    successor["predecessor_binding_id"] = json!(old);
    let (status, second) = call(
        &app,
        Method::PUT,
        &binding_uri(instance, new),
        Some(successor),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");

    let (first, second) = (&first["credentials"], &second["credentials"]);
    assert_eq!(first["username"], second["username"], "one user");
    assert_ne!(first["password"], second["password"], "a new password");
    assert_eq!(
        check(first).await,
        None,
        "the predecessor's password still works"
    );
    assert_eq!(check(second).await, None, "the successor's works");

    let delete = format!(
        "{}?service_id={SERVICE}&plan_id={PLAN}",
        binding_uri(instance, old)
    );
    let (status, body) = call(&app, Method::DELETE, &delete, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        check(first).await.is_some(),
        "the predecessor's password is revoked"
    );
    assert_eq!(check(second).await, None, "the successor's still works");
    let (status, fetched) = call(&app, Method::GET, &binding_uri(instance, new), None).await;
    assert_eq!((status, &fetched["credentials"]), (StatusCode::OK, second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_plane_a_new_instance_restores_a_deprovisioned_ones_data_in_its_space_only() {
    let account = Emulator::account("broker_restore").await;
    let app = app(&account).await;
    let (old, new, elsewhere) = (
        "0e1d2c3b-4a59-4687-9a6b-5c4d3e2f1a0b",
        "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b",
        "2a3b4c5d-6e7f-4809-9b8c-7d6e5f4a3b2c",
    );
    let provision = |space: &str, parameters: Value| {
        json!({
            "service_id": SERVICE, "plan_id": PLAN, "parameters": parameters,
            "context": { "platform": "cloudfoundry", "organization_guid": "org", "space_guid": space },
        })
    };
    let put = |instance: &str| format!("/v2/service_instances/{instance}?accepts_incomplete=true");
    let (status, started) = call(
        &app,
        Method::PUT,
        &put(old),
        Some(provision("space-1", Value::Null)),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    succeeds(
        &app,
        old,
        started["operation"].as_str().expect("an operation"),
    )
    .await;
    let bind = json!({ "service_id": SERVICE, "plan_id": PLAN });
    let (status, bound) = call(
        &app,
        Method::PUT,
        &binding_uri(old, "b"),
        Some(bind.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{bound}");
    assert_eq!(
        redis_cli(&bound["credentials"], &["SET", "orders:42", "shipped"]),
        "OK"
    );

    let restore = json!({ "restore_from_snapshot": old });
    let (status, body) = call(
        &app,
        Method::PUT,
        &put(new),
        Some(provision("space-1", restore.clone())),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a live instance: {body}");
    let deprovision = format!(
        "/v2/service_instances/{old}?service_id={SERVICE}&plan_id={PLAN}&accepts_incomplete=true"
    );
    let (status, started) = call(&app, Method::DELETE, &deprovision, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let (status, _) = settle(
        &app,
        old,
        started["operation"].as_str().expect("an operation"),
    )
    .await;
    assert_eq!(status, StatusCode::GONE);

    let (status, body) = call(
        &app,
        Method::PUT,
        &put(elsewhere),
        Some(provision("space-2", restore.clone())),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "another space: {body}");
    assert!(
        body["description"]
            .as_str()
            .is_some_and(|d| d.contains("no deprovisioned instance")),
        "{body}"
    );
    let (status, started) = call(
        &app,
        Method::PUT,
        &put(new),
        Some(provision("space-1", restore)),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    succeeds(
        &app,
        new,
        started["operation"].as_str().expect("an operation"),
    )
    .await;
    let (status, bound) = call(&app, Method::PUT, &binding_uri(new, "b"), Some(bind)).await;
    assert_eq!(status, StatusCode::CREATED, "{bound}");
    assert_eq!(
        redis_cli(&bound["credentials"], &["GET", "orders:42"]),
        "shipped",
        "the data came back"
    );
}
