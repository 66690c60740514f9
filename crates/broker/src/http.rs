//! The HTTP rules every OSB request passes before its handler: the request identity
//! echoed, basic auth compared in constant time (401 with `WWW-Authenticate`), and the
//! API version checked (412); then the routes.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::bindings;
use crate::catalog;
use crate::config::BrokerConfig;
use crate::instances;
use crate::operations::Engine;
use crate::updates;

/// The OSB version this broker implements.
pub const API_VERSION: &str = "2.17";

/// The oldest minor version of API 2 accepted: the first with the fields this broker
/// relies on (`instances_retrievable`, `bindings_retrievable`, request identity).
const OLDEST_MINOR: u32 = 13;

const API_VERSION_HEADER: HeaderName = HeaderName::from_static("x-broker-api-version");
const REQUEST_IDENTITY: HeaderName = HeaderName::from_static("x-broker-api-request-identity");

/// The platform's basic-auth credentials. `Debug` shows the username only.
#[derive(Clone)]
pub struct BasicAuth {
    username: String,
    password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BasicAuth {{ username: {:?}, password: (sensitive) }}",
            self.username
        )
    }
}

impl BasicAuth {
    /// Credentials the platform must present.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        BasicAuth {
            username: username.into(),
            password: password.into(),
        }
    }

    /// Whether an `Authorization` header carries these credentials. Both parts are
    /// compared in full whatever the first's outcome, in time that does not depend on
    /// where they differ.
    fn accepts(&self, headers: &HeaderMap) -> bool {
        let Some(encoded) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
        else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let (user, password) = match decoded.iter().position(|b| *b == b':') {
            Some(colon) => (&decoded[..colon], &decoded[colon + 1..]),
            None => (&decoded[..], &[][..]),
        };
        let user_ok = user.ct_eq(self.username.as_bytes());
        let password_ok = password.ct_eq(self.password.as_bytes());
        (user_ok & password_ok).into()
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct Broker {
    /// The configuration.
    pub config: Arc<BrokerConfig>,
    /// The platform's credentials.
    pub auth: BasicAuth,
    /// The operations, and the records they keep in AWS.
    pub engine: Arc<Engine>,
    /// `GET /v2/catalog`'s answer: built once, as it depends on the configuration alone
    /// (each plan's spec is parsed for it).
    catalog: serde_json::Value,
}

impl Broker {
    /// A broker serving `config`, acting in AWS through `aws` (the platform's account
    /// and region).
    pub fn new(config: BrokerConfig, auth: BasicAuth, aws: aws_config::SdkConfig) -> Self {
        Broker {
            catalog: catalog::catalog(&config),
            config: Arc::new(config),
            auth,
            engine: Arc::new(Engine::new(aws)),
        }
    }
}

/// An OSB error: a status and the body `{error, description}`.
#[derive(Debug)]
pub struct OsbError {
    status: StatusCode,
    error: Option<&'static str>,
    description: String,
    instance_usable: Option<bool>,
    update_repeatable: Option<bool>,
}

impl OsbError {
    /// An error with this status and description, and no OSB error code.
    pub fn new(status: StatusCode, description: impl Into<String>) -> Self {
        OsbError {
            status,
            error: None,
            description: description.into(),
            instance_usable: None,
            update_repeatable: None,
        }
    }

    /// Says whether the instance still serves (`instance_usable`) and whether sending
    /// the same update again could succeed (`update_repeatable`).
    pub fn with_instance(mut self, usable: bool, repeatable: bool) -> Self {
        self.instance_usable = Some(usable);
        self.update_repeatable = Some(repeatable);
        self
    }

    /// An error with one of OSB's codes (`AsyncRequired`, `ConcurrencyError`, …).
    pub fn coded(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OsbError {
            error: Some(error),
            ..OsbError::new(status, description)
        }
    }
}

impl IntoResponse for OsbError {
    fn into_response(self) -> Response {
        let mut body = json!({ "description": self.description });
        if let Some(usable) = self.instance_usable {
            body["instance_usable"] = json!(usable);
        }
        if let Some(repeatable) = self.update_repeatable {
            body["update_repeatable"] = json!(repeatable);
        }
        if let Some(error) = self.error {
            body["error"] = json!(error);
        }
        (self.status, Json(body)).into_response()
    }
}

/// The broker's routes behind its rules; `/healthz` answers without them.
pub fn router(broker: Arc<Broker>) -> Router {
    let osb = Router::new()
        .route("/v2/catalog", get(catalog_handler))
        .route(
            "/v2/service_instances/{instance_id}",
            axum::routing::put(instances::provision)
                .get(instances::fetch)
                .patch(updates::update)
                .delete(instances::deprovision),
        )
        .route(
            "/v2/service_instances/{instance_id}/last_operation",
            get(instances::last_operation),
        )
        .route(
            "/v2/service_instances/{instance_id}/service_bindings/{binding_id}",
            axum::routing::put(bindings::bind)
                .get(bindings::fetch)
                .delete(bindings::unbind),
        )
        .route(
            "/v2/service_instances/{instance_id}/service_bindings/{binding_id}/last_operation",
            get(bindings::last_operation),
        )
        .layer(middleware::from_fn(check_version))
        .layer(middleware::from_fn_with_state(broker.clone(), check_auth));
    Router::new()
        .merge(osb)
        .route("/healthz", get(|| async { "ok" }))
        .layer(middleware::from_fn(echo_request_identity))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(64 * 1024))
        .with_state(broker)
}

async fn catalog_handler(State(broker): State<Arc<Broker>>) -> Json<serde_json::Value> {
    Json(broker.catalog.clone())
}

/// Echoes the platform's request identity, and logs each request in a span that
/// carries it (method, path and status; never a header's or body's value beyond that).
async fn echo_request_identity(request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let identity = request.headers().get(REQUEST_IDENTITY).cloned();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_identity = identity.as_ref().and_then(|v| v.to_str().ok()).unwrap_or(""),
    );
    let mut response = async {
        let response = next.run(request).await;
        tracing::info!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await;
    if let Some(identity) = identity {
        response.headers_mut().insert(REQUEST_IDENTITY, identity);
    }
    response
}

async fn check_auth(State(broker): State<Arc<Broker>>, request: Request, next: Next) -> Response {
    if broker.auth.accepts(request.headers()) {
        return next.run(request).await;
    }
    let mut response = OsbError::new(
        StatusCode::UNAUTHORIZED,
        "basic authentication with the broker's credentials is required",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"elasticache-broker\""),
    );
    response
}

async fn check_version(request: Request, next: Next) -> Response {
    let version = request
        .headers()
        .get(API_VERSION_HEADER)
        .and_then(|v| v.to_str().ok());
    if version.is_some_and(supported) {
        return next.run(request).await;
    }
    let sent = version.map_or("none".to_owned(), |v| format!("`{v}`"));
    OsbError::new(
        StatusCode::PRECONDITION_FAILED,
        format!("X-Broker-API-Version {sent} is not supported: this broker implements {API_VERSION} and accepts 2.{OLDEST_MINOR} or later 2.x"),
    )
    .into_response()
}

fn supported(version: &str) -> bool {
    let Some((major, minor)) = version.trim().split_once('.') else {
        return false;
    };
    major == "2"
        && minor
            .parse::<u32>()
            .is_ok_and(|minor| minor >= OLDEST_MINOR)
}
