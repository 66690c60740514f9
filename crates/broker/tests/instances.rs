//! Service instances end to end on the local emulator: provision (asynchronous, polled
//! to `succeeded`), the idempotency rules of a re-sent PUT, fetch, deprovision (polled
//! to 410), and the answers OSB requires on the way.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Emulator;

use broker::{BasicAuth, Broker};
use common::*;

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
    assert_eq!(
        final_snapshots(&account, instance).await,
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

/// The record of a provision accepted and never run here: all a broker that stopped
/// right after accepting it leaves, or what a replica that runs it shows the others.
async fn provision_left_in_progress(
    account: &test_support::Account,
    instance: &str,
) -> broker::record::Record {
    let stack = broker::instance::stack_name(instance);
    let record = broker::record::Record {
        instance_id: instance.to_owned(),
        service_id: SERVICE.to_owned(),
        plan_id: PLAN.to_owned(),
        parameters: Value::Null,
        maintenance_version: None,
        tenancy: Default::default(),
        restore_snapshot: None,
        operation: broker::record::Operation::start(broker::record::Kind::Provision),
    };
    let records = broker::record::Records::new(aws_sdk_ssm::Client::new(&account.config));
    assert!(records.create(&stack, &record).await.expect("writes"));
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provision_left_by_a_stopped_broker_is_resumed_by_the_next_poll() {
    let account = Emulator::account("broker_restart").await;
    let config = config(&account).await;
    let instance = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let record = provision_left_in_progress(&account, instance).await;
    let restarted = broker::router(Arc::new(Broker::new(
        config,
        BasicAuth::new("cf", "pw"),
        account.config.clone(),
    )));
    succeeds(&restarted, instance, &record.operation.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_goes_through_the_stacks_plan_and_refuses_a_replacement() {
    let account = Emulator::account("broker_update").await;
    let app = app(&account).await;
    let instance = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9";
    provisioned(&app, instance).await;
    let uri = format!("/v2/service_instances/{instance}");
    let patch = format!("{uri}?accepts_incomplete=true");
    let parameters = json!({
        "service_id": SERVICE,
        "parameters": { "maxmemory_policy": "noeviction" },
        "previous_values": { "plan_id": PLAN },
    });

    let (status, body) = call(&app, Method::PATCH, &uri, Some(parameters.clone())).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("AsyncRequired"))
    );
    let mut stale = parameters.clone();
    stale["maintenance_info"] = json!({ "version": "0.0.1" });
    let (status, body) = call(&app, Method::PATCH, &patch, Some(stale)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("MaintenanceInfoConflict")
        )
    );
    let unknown = json!({ "service_id": SERVICE, "parameters": { "shards": 4 } });
    let (status, _) = call(&app, Method::PATCH, &patch, Some(unknown)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Cluster mode cannot be turned on in place: the stack's plan says replace.
    let other_plan = json!({ "service_id": SERVICE, "plan_id": OTHER_PLAN });
    let (status, body) = call(&app, Method::PATCH, &patch, Some(other_plan)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["description"]
            .as_str()
            .is_some_and(|d| d.contains("replace")),
        "{body}"
    );
    assert_eq!(
        (&body["instance_usable"], &body["update_repeatable"]),
        (&json!(true), &json!(false))
    );

    let (status, started) = call(&app, Method::PATCH, &patch, Some(parameters.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let (status, again) = call(&app, Method::PATCH, &patch, Some(parameters.clone())).await;
    assert_eq!(
        (status, &again),
        (StatusCode::ACCEPTED, &started),
        "re-sent"
    );
    let (status, _) = call(&app, Method::GET, &uri, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "being updated");
    let operation = started["operation"].as_str().expect("an operation");
    assert!(operation.starts_with("update"), "{operation}");
    succeeds(&app, instance, operation).await;
    let (status, fetched) = call(&app, Method::GET, &uri, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["parameters"]["maxmemory_policy"], "noeviction");
    assert_eq!(
        fetched["maintenance_info"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    let (status, _) = call(&app, Method::PATCH, &patch, Some(parameters)).await;
    assert_eq!(status, StatusCode::OK, "identical and done");

    let elasticache = aws_sdk_elasticache::Client::new(&account.config);
    let group = format!("{}-valkey8", broker::instance::stack_name(instance));
    let parameters = elasticache
        .describe_cache_parameters()
        .cache_parameter_group_name(&group)
        .send()
        .await
        .expect("the stack's parameter group");
    let policy = parameters
        .parameters()
        .iter()
        .find(|p| p.parameter_name() == Some("maxmemory-policy"))
        .and_then(|p| p.parameter_value());
    assert_eq!(policy, Some("noeviction"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_a_provision_runs_other_mutations_are_concurrency_errors() {
    let account = Emulator::account("broker_concurrency").await;
    // A provision that another replica runs: its record, in progress, and this broker
    // is never polled, so it does not take the work over.
    let instance = "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a";
    provision_left_in_progress(&account, instance).await;
    let app = app(&account).await;
    let concurrency = |(status, body): (StatusCode, Value)| {
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("ConcurrencyError")),
            "{body}"
        );
    };
    let patch = format!("/v2/service_instances/{instance}?accepts_incomplete=true");
    let update =
        json!({ "service_id": SERVICE, "parameters": { "maxmemory_policy": "noeviction" } });
    concurrency(call(&app, Method::PATCH, &patch, Some(update)).await);
    let bind = json!({ "service_id": SERVICE, "plan_id": PLAN });
    let binding =
        format!("/v2/service_instances/{instance}/service_bindings/b1?accepts_incomplete=true");
    concurrency(call(&app, Method::PUT, &binding, Some(bind)).await);
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/v2/service_instances/{instance}"),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "not retrievable while provisioning"
    );
    let gone = format!(
        "/v2/service_instances/{instance}/service_bindings/b1/last_operation?operation=bind-1"
    );
    let (status, _) = call(&app, Method::GET, &gone, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no such binding: 404, not 410"
    );
}
