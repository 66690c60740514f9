//! What the broker's emulator tests share: the example configuration pointed at a VPC
//! made in the test's account, a broker (or two) on it, OSB calls, and polling.
#![allow(dead_code)] // each test binary uses its part

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use test_support::Account;
use tower::ServiceExt;

use broker::{BasicAuth, Broker};

pub const SERVICE: &str = "6f0d5a8e-5b1e-4c3a-9a53-3d2f8c0b7e11";
pub const PLAN: &str = "0c4f3a62-6a0e-4f7e-8f0b-2f4a1e9d5c21";
pub const OTHER_PLAN: &str = "9a7e1b34-2c5d-4e6f-8a9b-0c1d2e3f4a5b";
pub const IAM_PLAN: &str = "4d2c8e6a-7b1f-4e3d-9a5c-8f0e2d4b6a19";

/// The example configuration, pointed at a VPC made in `account`.
pub async fn app(account: &Account) -> axum::Router {
    let config = config(account).await;
    broker::router(Arc::new(Broker::new(
        config,
        BasicAuth::new("cf", "pw"),
        account.config.clone(),
    )))
}

/// Two brokers (replicas) on the same account, sharing nothing but AWS.
pub async fn replicas(account: &Account) -> (axum::Router, axum::Router) {
    let config = config(account).await;
    let replica = || {
        let broker = Broker::new(
            config.clone(),
            BasicAuth::new("cf", "pw"),
            account.config.clone(),
        );
        broker::router(Arc::new(broker))
    };
    (replica(), replica())
}

pub async fn config(account: &Account) -> broker::BrokerConfig {
    broker::parse(&config_source(account).await, "config.yaml").expect("valid")
}

/// The example configuration's text, pointed at a VPC made in `account`.
pub async fn config_source(account: &Account) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.80.0.0/16")
        .send()
        .await
        .expect("a VPC");
    let vpc = vpc
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("its id")
        .to_owned();
    let mut subnets = Vec::new();
    for (zone, cidr) in [
        ("us-east-1a", "10.80.1.0/24"),
        ("us-east-1b", "10.80.2.0/24"),
    ] {
        let made = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .availability_zone(zone)
            .cidr_block(cidr)
            .send()
            .await;
        subnets.push(
            made.expect("a subnet")
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("id")
                .to_owned(),
        );
    }
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/broker/config.yaml");
    std::fs::read_to_string(path)
        .expect("the example")
        .replace("region: eu-west-1", "region: us-east-1")
        .replace("vpc-0a1b2c3d4e5f60718", &vpc)
        .replace("subnet-0a1b2c3d4e5f60718", &subnets[0])
        .replace("subnet-0f1e2d3c4b5a69788", &subnets[1])
        .replace(
            "security_groups: [sg-0123456789abcdef0]",
            "cidrs: [10.80.0.0/16]",
        )
}

pub async fn call(
    app: &axum::Router,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let auth = base64::engine::general_purpose::STANDARD.encode("cf:pw");
    let request = Request::builder()
        .method(method.clone())
        .uri(uri)
        .header("Authorization", format!("Basic {auth}"))
        .header("X-Broker-API-Version", "2.17")
        .header("Content-Type", "application/json")
        .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
        .expect("a request");
    let (status, _, body) = answer(app, request).await;
    assert_osb_shape(&method, uri, status, &body);
    (status, body)
}

/// `request` sent to `app`: the status, headers and JSON body (`null` when not JSON).
pub async fn answer(
    app: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app.clone().oneshot(request).await.expect("answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Every answer has the shape OSB v2.17 gives it: error bodies, `operation`s,
/// `last_operation`, the catalog, instances and bindings.
pub fn assert_osb_shape(method: &Method, uri: &str, status: StatusCode, body: &Value) {
    let path = uri.split('?').next().unwrap_or(uri);
    let is_str = |v: &Value| v.is_string();
    let say = || format!("{method} {path} → {status}: {body}");
    assert!(body.is_object(), "not a JSON object: {}", say());
    if status == StatusCode::GONE {
        // A delete of something absent, or the poll of a finished delete: `{}`.
        assert!(body.as_object().is_some_and(|o| o.is_empty()), "{}", say());
        return;
    }
    if status.is_client_error() || status.is_server_error() {
        assert!(is_str(&body["description"]), "{}", say());
        let codes = [
            "AsyncRequired",
            "ConcurrencyError",
            "RequiresApp",
            "MaintenanceInfoConflict",
        ];
        if let Some(code) = body.get("error") {
            assert!(
                code.as_str().is_some_and(|c| codes.contains(&c)),
                "{}",
                say()
            );
        }
        for flag in ["instance_usable", "update_repeatable"] {
            assert!(body.get(flag).is_none_or(Value::is_boolean), "{}", say());
        }
        return;
    }
    if status == StatusCode::ACCEPTED {
        let operation = body["operation"].as_str().unwrap_or_default();
        assert!(
            !operation.is_empty() && operation.len() <= 10_000,
            "{}",
            say()
        );
        assert!(body.get("credentials").is_none(), "{}", say());
        return;
    }
    let binding = path.contains("/service_bindings/");
    match (method.as_str(), path.ends_with("/last_operation")) {
        ("GET", true) if status == StatusCode::OK => {
            let state = body["state"].as_str().unwrap_or_default();
            assert!(
                ["in progress", "succeeded", "failed"].contains(&state),
                "{}",
                say()
            );
            assert!(body.get("description").is_none_or(is_str), "{}", say());
        }
        ("GET", false) if path == "/v2/catalog" => {
            for service in body["services"].as_array().expect("services") {
                for field in ["id", "name", "description"] {
                    assert!(is_str(&service[field]), "{}", say());
                }
                assert!(service["bindable"].is_boolean(), "{}", say());
                let plans = service["plans"].as_array().expect("plans");
                assert!(!plans.is_empty(), "{}", say());
                for plan in plans {
                    for field in ["id", "name", "description"] {
                        assert!(is_str(&plan[field]), "{}", say());
                    }
                }
            }
        }
        ("GET" | "PUT", false) if binding && status != StatusCode::GONE => {
            assert!(body["credentials"].is_object(), "{}", say());
            for endpoint in body["endpoints"].as_array().expect("endpoints") {
                assert!(is_str(&endpoint["host"]), "{}", say());
                let ports = endpoint["ports"].as_array().expect("ports");
                assert!(ports.iter().all(is_str), "{}", say());
                let protocol = endpoint
                    .get("protocol")
                    .and_then(Value::as_str)
                    .unwrap_or("tcp");
                assert!(["tcp", "udp", "all"].contains(&protocol), "{}", say());
            }
        }
        ("GET", false) => {
            assert!(
                is_str(&body["service_id"]) && is_str(&body["plan_id"]),
                "{}",
                say()
            );
        }
        // 200/201 to PUT, PATCH and DELETE of instances, 410: an object (checked above).
        _ => {}
    }
}

/// Polls `last_operation` until it is not in progress (or the instance is gone).
pub async fn settle(app: &axum::Router, instance: &str, operation: &str) -> (StatusCode, Value) {
    let uri = format!("/v2/service_instances/{instance}/last_operation?operation={operation}");
    settle_at(app, &uri, operation).await
}

/// Polls a `last_operation` URI until it is not in progress (or the resource is gone).
pub async fn settle_at(app: &axum::Router, uri: &str, operation: &str) -> (StatusCode, Value) {
    for _ in 0..600 {
        let (status, body) = call(app, Method::GET, uri, None).await;
        if status != StatusCode::OK || body["state"] != "in progress" {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{operation} still in progress after two minutes")
}

/// Polls until the operation is over, which must be a success.
pub async fn succeeds(app: &axum::Router, instance: &str, operation: &str) {
    let (status, done) = settle(app, instance, operation).await;
    assert_eq!(
        (status, done["state"].as_str()),
        (StatusCode::OK, Some("succeeded")),
        "{done}"
    );
}

/// How many replication groups the account has.
pub async fn replication_groups(account: &Account) -> usize {
    let elasticache = aws_sdk_elasticache::Client::new(&account.config);
    let groups = elasticache.describe_replication_groups().send().await;
    groups.expect("describes").replication_groups().len()
}

/// Provisions `instance` on [`PLAN`] and waits for it.
pub async fn provisioned(app: &axum::Router, instance: &str) {
    provisioned_on(app, instance, PLAN).await;
}

/// Provisions `instance` on `plan` and waits for it.
pub async fn provisioned_on(app: &axum::Router, instance: &str, plan: &str) {
    let put = format!("/v2/service_instances/{instance}?accepts_incomplete=true");
    let body = json!({ "service_id": SERVICE, "plan_id": plan });
    let (status, started) = call(app, Method::PUT, &put, Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let operation = started["operation"].as_str().expect("an operation");
    succeeds(app, instance, operation).await;
}

/// How many final snapshots the deprovisions of `instance` left.
pub async fn final_snapshots(account: &Account, instance: &str) -> usize {
    let elasticache = aws_sdk_elasticache::Client::new(&account.config);
    let snapshots = elasticache.describe_snapshots().send().await;
    let prefix = format!("{}-final-", broker::instance::stack_name(instance));
    snapshots
        .expect("lists snapshots")
        .snapshots()
        .iter()
        .filter(|s| s.snapshot_name().is_some_and(|n| n.starts_with(&prefix)))
        .count()
}

/// The URI of a binding.
pub fn binding_uri(instance: &str, binding: &str) -> String {
    format!("/v2/service_instances/{instance}/service_bindings/{binding}")
}

/// Polls a binding's operation until it is over: its status and body.
pub async fn settle_binding(
    app: &axum::Router,
    instance: &str,
    binding: &str,
    operation: &str,
) -> (StatusCode, Value) {
    let uri = format!(
        "{}/last_operation?operation={operation}",
        binding_uri(instance, binding)
    );
    settle_at(app, &uri, operation).await
}
