//! The broker's HTTP rules, request by request (no AWS needed yet: the catalog and the
//! checks every request passes), and its configuration's errors.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;

use broker::{BasicAuth, Broker};

fn config_source() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/broker/config.yaml");
    std::fs::read_to_string(path).expect("the example")
}

fn app() -> axum::Router {
    let config = broker::parse(&config_source(), "config.yaml").expect("the example is valid");
    // No AWS call is made by what these tests send.
    let aws = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .build();
    broker::router(Arc::new(Broker::new(
        config,
        BasicAuth::new("cf", "s3cret:with-colon"),
        aws,
    )))
}

fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn send(request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    common::answer(&app(), request).await
}

fn catalog(auth: Option<&str>, version: Option<&str>) -> Request<Body> {
    let mut request = Request::get("/v2/catalog").header("X-Broker-API-Request-Identity", "req-42");
    if let Some(auth) = auth {
        request = request.header("Authorization", auth);
    }
    if let Some(version) = version {
        request = request.header("X-Broker-API-Version", version);
    }
    request.body(Body::empty()).expect("a request")
}

#[tokio::test]
async fn the_catalog_lists_services_plans_and_their_parameter_schemas() {
    let (status, headers, body) = send(catalog(
        Some(&basic("cf", "s3cret:with-colon")),
        Some("2.17"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["x-broker-api-request-identity"], "req-42");
    let service = &body["services"][0];
    assert_eq!(service["name"], "elasticache-valkey");
    assert_eq!(service["instances_retrievable"], true);
    assert_eq!(service["bindings_retrievable"], true);
    let plan = &service["plans"][0];
    assert_eq!(plan["name"], "small");
    assert_eq!(plan["maximum_polling_duration"], 3600);
    let create = &plan["schemas"]["service_instance"]["create"]["parameters"];
    assert_eq!(create["additionalProperties"], false);
    assert!(
        create["properties"]["maxmemory_policy"]["enum"]
            .as_array()
            .is_some()
    );
    assert_eq!(
        plan["schemas"]["service_binding"]["create"]["parameters"]["properties"]["read_only"]["type"],
        "boolean"
    );
    assert_eq!(
        plan["maintenance_info"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    let said =
        |plan: &serde_json::Value| plan["description"].as_str().unwrap_or_default().to_owned();
    assert!(
        said(plan).ends_with("Each binding is a user of its own, revoked by unbinding."),
        "{}",
        said(plan)
    );
    assert!(said(&service["plans"][2]).contains("IAM-authenticated user of its own"));
}

#[tokio::test]
async fn without_the_right_credentials_the_answer_is_401_with_a_challenge() {
    for auth in [
        None,
        Some(basic("cf", "wrong")),
        Some(basic("other", "s3cret:with-colon")),
        Some("Bearer x".to_owned()),
    ] {
        let (status, headers, body) = send(catalog(auth.as_deref(), Some("2.17"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .is_ok_and(|v| v.starts_with("Basic "))
        );
        assert_eq!(headers["x-broker-api-request-identity"], "req-42");
        assert!(body["description"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn a_missing_or_unsupported_api_version_is_412() {
    let auth = basic("cf", "s3cret:with-colon");
    for version in [None, Some("1.0"), Some("2.12"), Some("3.0"), Some("two")] {
        let (status, _, body) = send(catalog(Some(&auth), version)).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{version:?}");
        assert!(
            body["description"]
                .as_str()
                .is_some_and(|d| d.contains("2.17")),
            "{body}"
        );
    }
    for version in ["2.13", "2.16", "2.17"] {
        let (status, _, _) = send(catalog(Some(&auth), Some(version))).await;
        assert_eq!(status, StatusCode::OK, "{version}");
    }
}

#[tokio::test]
async fn health_needs_no_credentials() {
    let request = Request::get("/healthz")
        .body(Body::empty())
        .expect("a request");
    let (status, _, _) = send(request).await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn configuration_errors_come_all_at_once_with_their_lines() {
    let source = config_source()
        .replace("listen: 0.0.0.0:8080", "listen: everywhere")
        .replace(
            "  password_env: BROKER_PASSWORD ",
            "  password_env: BROKER_PASSWORD\n  password_file: /x ",
        )
        .replace("node_type: cache.t4g.small", "node_type: cache.banana.huge")
        .replace("name: large-cluster", "name: Large Cluster");
    let errors = broker::parse(&source, "config.yaml")
        .expect_err("invalid")
        .errors;
    let found: Vec<(String, Option<usize>)> =
        errors.iter().map(|e| (e.path.clone(), e.line)).collect();
    let line_of = |needle: &str| {
        source
            .lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
    };
    for (path, needle) in [
        ("listen", "listen: everywhere"),
        ("credentials.password_env", "password_env"),
        ("services[0].plans[0].spec.node_type", "cache.banana.huge"),
        ("services[0].plans[1].name", "Large Cluster"),
    ] {
        assert!(
            found.contains(&(path.to_owned(), line_of(needle))),
            "{path} at {:?} not in {found:?}",
            line_of(needle)
        );
    }
}

#[test]
fn a_plan_may_not_set_what_the_broker_or_platform_owns() {
    let source = config_source().replace(
        "        spec:\n          engine: { name: valkey, version: \"8.0\" }\n          node_type: cache.t4g.small",
        "        spec:\n          region: us-east-1\n          engine: { name: valkey, version: \"8.0\" }\n          node_type: cache.t4g.small",
    );
    let errors = broker::parse(&source, "config.yaml")
        .expect_err("invalid")
        .errors;
    assert!(
        errors
            .iter()
            .any(|e| e.path == "services[0].plans[0].spec.region"),
        "{errors:?}"
    );
}

#[test]
fn iam_plans_name_no_users_and_binding_access_strings_are_checked_where_they_are() {
    let source = config_source()
        .replace(
            "auth: { mode: iam }",
            "auth: { mode: iam, users: [{ name: shared }] }",
        )
        .replace(
            "read_only_access: on ~* +@all -@write -@dangerous",
            "read_only_access: \"  \"",
        );
    let errors = broker::parse(&source, "config.yaml")
        .expect_err("invalid")
        .errors;
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert!(
        paths.contains(&"services[0].plans[2].spec.auth.users"),
        "{errors:?}"
    );
    assert!(
        paths.contains(&"services[0].plans[0].bindings.read_only_access"),
        "{errors:?}"
    );
    assert!(errors.iter().all(|e| e.line.is_some()), "{errors:?}");
}
