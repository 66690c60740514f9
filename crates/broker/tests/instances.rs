//! Service instances end to end on the local emulator: provision (asynchronous, polled
//! to `succeeded`), the idempotency rules of a re-sent PUT, fetch, deprovision (polled
//! to 410), and the answers OSB requires on the way.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use test_support::{Account, Emulator};
use tower::ServiceExt;

use broker::{BasicAuth, Broker};

const SERVICE: &str = "6f0d5a8e-5b1e-4c3a-9a53-3d2f8c0b7e11";
const PLAN: &str = "0c4f3a62-6a0e-4f7e-8f0b-2f4a1e9d5c21";
const OTHER_PLAN: &str = "9a7e1b34-2c5d-4e6f-8a9b-0c1d2e3f4a5b";

/// The example configuration, pointed at a VPC made in `account`.
async fn app(account: &Account) -> axum::Router {
    let config = config(account).await;
    broker::router(Arc::new(Broker::new(
        config,
        BasicAuth::new("cf", "pw"),
        account.config.clone(),
    )))
}

/// Two brokers (replicas) on the same account, sharing nothing but AWS.
async fn replicas(account: &Account) -> (axum::Router, axum::Router) {
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

async fn config(account: &Account) -> broker::BrokerConfig {
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
    let source = std::fs::read_to_string(path)
        .expect("the example")
        .replace("region: eu-west-1", "region: us-east-1")
        .replace("vpc-0a1b2c3d4e5f60718", &vpc)
        .replace("subnet-0a1b2c3d4e5f60718", &subnets[0])
        .replace("subnet-0f1e2d3c4b5a69788", &subnets[1])
        .replace(
            "security_groups: [sg-0123456789abcdef0]",
            "cidrs: [10.80.0.0/16]",
        );
    broker::parse(&source, "config.yaml").expect("valid")
}

async fn call(
    app: &axum::Router,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let auth = base64::engine::general_purpose::STANDARD.encode("cf:pw");
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("Authorization", format!("Basic {auth}"))
        .header("X-Broker-API-Version", "2.17")
        .header("Content-Type", "application/json")
        .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
        .expect("a request");
    let response = app.clone().oneshot(request).await.expect("answers");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Polls `last_operation` until it is not in progress (or the instance is gone).
async fn settle(app: &axum::Router, instance: &str, operation: &str) -> (StatusCode, Value) {
    let uri = format!("/v2/service_instances/{instance}/last_operation?operation={operation}");
    for _ in 0..600 {
        let (status, body) = call(app, Method::GET, &uri, None).await;
        if status != StatusCode::OK || body["state"] != "in progress" {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{operation} still in progress after two minutes")
}

/// Polls until the operation is over, which must be a success.
async fn succeeds(app: &axum::Router, instance: &str, operation: &str) {
    let (status, done) = settle(app, instance, operation).await;
    assert_eq!(
        (status, done["state"].as_str()),
        (StatusCode::OK, Some("succeeded")),
        "{done}"
    );
}

/// How many replication groups the account has.
async fn replication_groups(account: &Account) -> usize {
    let elasticache = aws_sdk_elasticache::Client::new(&account.config);
    let groups = elasticache.describe_replication_groups().send().await;
    groups.expect("describes").replication_groups().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_is_provisioned_fetched_and_deprovisioned_idempotently() {
    let account = Emulator::account("broker_instances").await;
    let app = app(&account).await;
    let instance = "2b5e1c7e-0d3f-4f7a-9b1c-6a2d8e4f0c13";
    let uri = format!("/v2/service_instances/{instance}");
    let provision = json!({
        "service_id": SERVICE, "plan_id": PLAN,
        "parameters": { "maxmemory_policy": "allkeys-lru" },
        "organization_guid": "org", "space_guid": "space",
    });

    let (status, body) = call(&app, Method::PUT, &uri, Some(provision.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "AsyncRequired");
    let bad = json!({ "service_id": SERVICE, "plan_id": PLAN, "parameters": { "shards": 9 } });
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{uri}?accepts_incomplete=true"),
        Some(bad),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["description"]
            .as_str()
            .is_some_and(|d| d.contains("`shards`")),
        "{body}"
    );

    let put = format!("{uri}?accepts_incomplete=true");
    let (status, first) = call(&app, Method::PUT, &put, Some(provision.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let operation = first["operation"]
        .as_str()
        .expect("an operation")
        .to_owned();
    let (status, again) = call(&app, Method::PUT, &put, Some(provision.clone())).await;
    assert_eq!(
        (status, &again),
        (StatusCode::ACCEPTED, &first),
        "a re-sent PUT gets the same operation"
    );
    let mut other = provision.clone();
    other["plan_id"] = json!(OTHER_PLAN);
    let (status, _) = call(&app, Method::PUT, &put, Some(other)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(&app, Method::GET, &uri, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "not retrievable while provisioning"
    );

    succeeds(&app, instance, &operation).await;
    let (status, fetched) = call(&app, Method::GET, &uri, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["plan_id"], PLAN);
    assert_eq!(fetched["parameters"]["maxmemory_policy"], "allkeys-lru");
    let (status, _) = call(&app, Method::PUT, &put, Some(provision.clone())).await;
    assert_eq!(status, StatusCode::OK, "identical and done");
    assert_eq!(replication_groups(&account).await, 1, "one stack");

    let delete = format!("{uri}?service_id={SERVICE}&plan_id={PLAN}");
    let (status, body) = call(&app, Method::DELETE, &delete, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("AsyncRequired"))
    );
    let (status, body) = call(
        &app,
        Method::DELETE,
        &format!("{delete}&accepts_incomplete=true"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let deprovision = body["operation"].as_str().expect("an operation").to_owned();
    assert!(deprovision.starts_with("deprovision"), "{deprovision}");
    let (status, body) = settle(&app, instance, &deprovision).await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("{delete}&accepts_incomplete=true"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::GONE);
    let elasticache = aws_sdk_elasticache::Client::new(&account.config);
    let snapshots = elasticache
        .describe_snapshots()
        .send()
        .await
        .expect("lists snapshots");
    assert_eq!(
        snapshots.snapshots().len(),
        1,
        "deprovision keeps a final snapshot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_given_the_same_provision_make_one_stack_and_one_operation() {
    let account = Emulator::account("broker_replicas").await;
    let (one, two) = replicas(&account).await;
    let instance = "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
    let put = format!("/v2/service_instances/{instance}?accepts_incomplete=true");
    let provision = json!({ "service_id": SERVICE, "plan_id": PLAN });
    let (a, b) = tokio::join!(
        call(&one, Method::PUT, &put, Some(provision.clone())),
        call(&two, Method::PUT, &put, Some(provision.clone())),
    );
    assert_eq!(
        (a.0, b.0),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED),
        "{a:?} {b:?}"
    );
    assert_eq!(a.1["operation"], b.1["operation"], "one operation");
    let operation = a.1["operation"].as_str().expect("an operation").to_owned();
    // Either replica answers the poll.
    succeeds(&two, instance, &operation).await;
    assert_eq!(replication_groups(&account).await, 1, "one stack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provision_left_by_a_stopped_broker_is_resumed_by_the_next_poll() {
    let account = Emulator::account("broker_restart").await;
    let config = config(&account).await;
    let instance = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    // What a broker that stopped right after accepting the provision leaves: the
    // record, and nothing else.
    let stack = broker::instance::stack_name(instance);
    let record = broker::record::Record {
        instance_id: instance.to_owned(),
        service_id: SERVICE.to_owned(),
        plan_id: PLAN.to_owned(),
        parameters: Value::Null,
        operation: broker::record::Operation::start(broker::record::Kind::Provision),
    };
    let records = broker::record::Records::new(aws_sdk_ssm::Client::new(&account.config));
    assert!(records.create(&stack, &record).await.expect("writes"));
    let restarted = broker::router(Arc::new(Broker::new(
        config,
        BasicAuth::new("cf", "pw"),
        account.config.clone(),
    )));
    succeeds(&restarted, instance, &record.operation.id).await;
}
