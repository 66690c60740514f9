//! The service-instance endpoints: provision (PUT), fetch (GET), deprovision (DELETE)
//! and `last_operation`, every answer decided from the record in AWS.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use crate::catalog;
use crate::http::{Broker, OsbError};
use crate::instance;
use crate::record::{Kind, Operation, Record, RecordError, State as OpState};
use crate::restore;

/// Seconds a platform is asked to wait between polls.
const RETRY_AFTER_SECONDS: &str = "15";

pub(crate) type Params = Query<HashMap<String, String>>;

impl From<RecordError> for OsbError {
    fn from(error: RecordError) -> Self {
        tracing::error!(%error, "instance record");
        OsbError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    }
}

pub(crate) fn require_async(query: &HashMap<String, String>) -> Result<(), OsbError> {
    match query.get("accepts_incomplete").map(String::as_str) {
        Some("true") => Ok(()),
        _ => Err(OsbError::coded(
            StatusCode::UNPROCESSABLE_ENTITY,
            "AsyncRequired",
            "this broker provisions, updates and deprovisions asynchronously: send accepts_incomplete=true",
        )),
    }
}

/// A DELETE's required `service_id` and `plan_id` (400 without them).
pub(crate) fn require_ids(query: &HashMap<String, String>) -> Result<(), OsbError> {
    match ["service_id", "plan_id"]
        .into_iter()
        .find(|id| !query.contains_key(*id))
    {
        Some(missing) => Err(OsbError::new(
            StatusCode::BAD_REQUEST,
            format!("`{missing}` is required"),
        )),
        None => Ok(()),
    }
}

pub(crate) fn body_json(body: &Bytes) -> Result<Value, OsbError> {
    serde_json::from_slice(body).map_err(|err| {
        OsbError::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not JSON: {err}"),
        )
    })
}

pub(crate) fn field<'a>(body: &'a Value, name: &str) -> Result<&'a str, OsbError> {
    body[name]
        .as_str()
        .ok_or_else(|| OsbError::new(StatusCode::BAD_REQUEST, format!("`{name}` is required")))
}

pub(crate) fn accepted(operation: &Operation) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({ "operation": operation.id })),
    )
        .into_response()
}

/// `PUT /v2/service_instances/{id}`.
pub async fn provision(
    State(broker): State<Arc<Broker>>,
    Path(instance_id): Path<String>,
    Query(query): Params,
    body: Bytes,
) -> Result<Response, OsbError> {
    require_async(&query)?;
    let body = body_json(&body)?;
    let (service_id, plan_id) = (field(&body, "service_id")?, field(&body, "plan_id")?);
    crate::updates::check_maintenance(&body)?;
    let (service, plan) = broker
        .config
        .plan(plan_id)
        .filter(|(service, _)| service.id == service_id)
        .ok_or_else(|| {
            OsbError::new(
                StatusCode::BAD_REQUEST,
                format!("plan `{plan_id}` is not a plan of service `{service_id}` in the catalog"),
            )
        })?;
    let given = body.get("parameters").cloned().unwrap_or(Value::Null);
    let mut parameters = instance::parameters(Some(&given))
        .map_err(|problems| OsbError::new(StatusCode::BAD_REQUEST, problems.join("; ")))?;
    let stack = instance::stack_name(&instance_id);
    let records = broker.engine.records();
    let tenancy = restore::tenancy(&body);
    if let Some(existing) = records.get(&stack).await? {
        return resent(
            &broker,
            stack,
            existing,
            service.id.clone(),
            plan.id.clone(),
            given,
        );
    }
    if let Some(source) = &parameters.restore_from_snapshot {
        parameters.restore_snapshot = Some(restore::snapshot_for(&broker, source, &tenancy).await?);
    }
    instance::instance_spec(&broker.config, plan, &instance_id, &parameters, &[])
        .map_err(|errors| OsbError::new(StatusCode::BAD_REQUEST, errors.to_string()))?;
    let record = Record {
        instance_id: instance_id.clone(),
        service_id: service.id.clone(),
        plan_id: plan.id.clone(),
        parameters: given.clone(),
        maintenance_version: Some(catalog::MAINTENANCE_VERSION.to_owned()),
        tenancy,
        restore_snapshot: parameters.restore_snapshot,
        operation: Operation::start(Kind::Provision),
    };
    if records.create(&stack, &record).await? {
        tracing::info!(%instance_id, %stack, "provisioning");
        broker.engine.ensure_running(broker.config.clone(), stack);
        return Ok(accepted(&record.operation));
    }
    let Some(existing) = records.get(&stack).await? else {
        // Deleted in between: the platform may send it again.
        return Err(OsbError::coded(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ConcurrencyError",
            "the instance is changing; try again",
        ));
    };
    resent(
        &broker,
        stack,
        existing,
        record.service_id,
        record.plan_id,
        given,
    )
}

/// The answer to a provision of an instance that has a record: the same operation while
/// it runs, 200 once done, 409 when it asks for something else.
fn resent(
    broker: &Arc<Broker>,
    stack: String,
    existing: Record,
    service_id: String,
    plan_id: String,
    parameters: Value,
) -> Result<Response, OsbError> {
    let same = existing.service_id == service_id
        && existing.plan_id == plan_id
        && existing.parameters == parameters;
    let operation = &existing.operation;
    match (same, operation.kind, operation.state) {
        (false, _, _) => Err(OsbError::new(
            StatusCode::CONFLICT,
            "an instance with this id exists with another service, plan or parameters",
        )),
        (true, Kind::Provision, OpState::Succeeded) | (true, Kind::Update, OpState::Succeeded) => {
            Ok((StatusCode::OK, Json(json!({}))).into_response())
        }
        (true, Kind::Provision, _) => {
            if operation.state == OpState::InProgress {
                broker.engine.ensure_running(broker.config.clone(), stack);
            }
            Ok(accepted(operation))
        }
        (true, _, _) => Err(OsbError::coded(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ConcurrencyError",
            "another operation on this instance is in progress",
        )),
    }
}

/// `GET /v2/service_instances/{id}`.
pub async fn fetch(
    State(broker): State<Arc<Broker>>,
    Path(instance_id): Path<String>,
) -> Result<Response, OsbError> {
    let stack = instance::stack_name(&instance_id);
    let found = broker.engine.records().get(&stack).await?;
    let not_found = || OsbError::new(StatusCode::NOT_FOUND, "no such instance");
    let record = found.ok_or_else(not_found)?;
    let operation = &record.operation;
    match (operation.kind, operation.state) {
        (Kind::Provision, OpState::InProgress | OpState::Failed) => Err(not_found()),
        (_, OpState::InProgress) => Err(OsbError::coded(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ConcurrencyError",
            "the instance is being changed",
        )),
        _ => Ok(Json(json!({
            "service_id": record.service_id,
            "plan_id": record.plan_id,
            "parameters": record.parameters,
            "maintenance_info": { "version": record.maintenance_version },
            "metadata": { "labels": { "stack": stack } },
        }))
        .into_response()),
    }
}

/// `DELETE /v2/service_instances/{id}`.
pub async fn deprovision(
    State(broker): State<Arc<Broker>>,
    Path(instance_id): Path<String>,
    Query(query): Params,
) -> Result<Response, OsbError> {
    require_ids(&query)?;
    require_async(&query)?;
    let stack = instance::stack_name(&instance_id);
    let records = broker.engine.records();
    let Some(mut record) = records.get(&stack).await? else {
        return Ok((StatusCode::GONE, Json(json!({}))).into_response());
    };
    let operation = &record.operation;
    match (operation.kind, operation.state) {
        (Kind::Deprovision, OpState::InProgress) => {}
        (Kind::Update, OpState::InProgress) => {
            return Err(OsbError::coded(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ConcurrencyError",
                "the instance is being updated",
            ));
        }
        // Anything else goes, a provision still running included (orphan mitigation:
        // the destroy takes the stack's lock after it) and a failed deprovision (tried
        // again as a new operation).
        _ => {
            record.operation = Operation::start(Kind::Deprovision);
            records.put(&stack, &record).await?;
            tracing::info!(%instance_id, %stack, "deprovisioning");
        }
    }
    broker.engine.ensure_running(broker.config.clone(), stack);
    Ok(accepted(&record.operation))
}

/// `GET /v2/service_instances/{id}/last_operation`.
pub async fn last_operation(
    State(broker): State<Arc<Broker>>,
    Path(instance_id): Path<String>,
    Query(query): Params,
) -> Result<Response, OsbError> {
    let stack = instance::stack_name(&instance_id);
    let Some(record) = broker.engine.records().get(&stack).await? else {
        return Ok(absent(&query, Kind::Deprovision, "no such instance"));
    };
    if record.operation.state == OpState::InProgress {
        // Nobody may be running it (a restarted replica): resume. The stack's lock
        // keeps this from running twice.
        broker.engine.ensure_running(broker.config.clone(), stack);
    }
    Ok(operation_status(&record.operation))
}

/// The `last_operation` answer when the record is gone: 410 to the poll of a delete
/// (`kind`) that finished, else 404 (OSB allows 410 for nothing else).
pub(crate) fn absent(query: &HashMap<String, String>, kind: Kind, what: &str) -> Response {
    let deleted = query
        .get("operation")
        .is_some_and(|op| op.starts_with(kind.as_str()));
    match deleted {
        true => (StatusCode::GONE, Json(json!({}))).into_response(),
        false => OsbError::new(StatusCode::NOT_FOUND, what).into_response(),
    }
}

/// A `last_operation` answer: the state, a description, `Retry-After` while it runs,
/// and for a failed instance operation whether the instance still serves and whether
/// the update may be sent again.
pub(crate) fn operation_status(operation: &Operation) -> Response {
    let mut body = json!({
        "state": operation.state.as_str(),
        "description": operation.description,
    });
    if operation.state == OpState::Failed {
        let verdict = match operation.kind {
            // An apply that failed leaves what it had done; the stack still serves
            // unless it was never made.
            Kind::Update => Some((true, true)),
            Kind::Provision | Kind::Deprovision => Some((false, false)),
            Kind::Bind | Kind::Unbind => None,
        };
        if let Some((usable, repeatable)) = verdict {
            body["instance_usable"] = json!(usable);
            body["update_repeatable"] = json!(repeatable);
        }
    }
    let mut response = Json(body).into_response();
    if operation.state == OpState::InProgress {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
    }
    response
}
