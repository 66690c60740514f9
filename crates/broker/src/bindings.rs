//! The service-binding endpoints: bind (PUT), fetch (GET), unbind (DELETE) and
//! `last_operation`. A binding is a record in AWS and, on plans with users, one RBAC or
//! IAM user of the instance's stack: binding and unbinding are the stack's apply with
//! that user added or removed, so unbinding revokes the binding's access.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use crate::binding;
use crate::http::{Broker, OsbError};
use crate::instance;
use crate::instances::{Params, absent, accepted, body_json, field, operation_status, require_ids};
use crate::operations::record_spec;
use crate::record::{BindingRecord, Kind, Operation, Record, State as OpState};

/// How long a bind or unbind sent without `accepts_incomplete=true` waits for its
/// operation: under the 60 seconds platforms give a synchronous request.
const SYNC_WAIT: Duration = Duration::from_secs(50);

/// How often a synchronous request reads its record while it waits.
const SYNC_POLL: Duration = Duration::from_secs(1);

fn is_async(query: &HashMap<String, String>) -> bool {
    query.get("accepts_incomplete").map(String::as_str) == Some("true")
}

fn concurrency(description: &str) -> OsbError {
    OsbError::coded(
        StatusCode::UNPROCESSABLE_ENTITY,
        "ConcurrencyError",
        description,
    )
}

/// The instance a binding request names, if it can take bindings now.
async fn usable_instance(broker: &Broker, stack: &str) -> Result<Record, OsbError> {
    let record = broker.engine.records().get(stack).await?;
    let record = record.ok_or_else(|| OsbError::new(StatusCode::NOT_FOUND, "no such instance"))?;
    match (record.operation.kind, record.operation.state) {
        (_, OpState::InProgress) => Err(concurrency("the instance has an operation in progress")),
        (Kind::Provision | Kind::Deprovision, OpState::Failed) => Err(OsbError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "the instance is not usable: its {} failed",
                record.operation.kind.as_str()
            ),
        )),
        _ => Ok(record),
    }
}

/// `PUT /v2/service_instances/{instance_id}/service_bindings/{binding_id}`.
pub async fn bind(
    State(broker): State<Arc<Broker>>,
    Path((instance_id, binding_id)): Path<(String, String)>,
    Query(query): Params,
    body: Bytes,
) -> Result<Response, OsbError> {
    let body = body_json(&body)?;
    let (service_id, plan_id) = (field(&body, "service_id")?, field(&body, "plan_id")?);
    let predecessor = match body.get("predecessor_binding_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => {
            return Err(OsbError::new(
                StatusCode::BAD_REQUEST,
                "`predecessor_binding_id` must be a string",
            ));
        }
    };
    let given = body.get("parameters").cloned().unwrap_or(Value::Null);
    binding::parameters(Some(&given))
        .map_err(|problems| OsbError::new(StatusCode::BAD_REQUEST, problems.join("; ")))?;
    let stack = instance::stack_name(&instance_id);
    let key = binding::key(&binding_id);
    let records = broker.engine.records();
    if let Some(existing) = records.binding(&stack, &key).await? {
        let same = existing.service_id == service_id
            && existing.plan_id == plan_id
            && existing.parameters == given
            && existing.predecessor == predecessor;
        if !same {
            return Err(OsbError::new(
                StatusCode::CONFLICT,
                "a binding with this id exists with another service, plan or parameters",
            ));
        }
        return resend(&broker, &stack, existing, &query).await;
    }
    let instance = usable_instance(&broker, &stack).await?;
    if instance.service_id != service_id || instance.plan_id != plan_id {
        return Err(OsbError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "instance {instance_id} is of service {} and plan {}",
                instance.service_id, instance.plan_id
            ),
        ));
    }
    let record = BindingRecord {
        binding_id: binding_id.clone(),
        instance_id: instance_id.clone(),
        service_id: service_id.to_owned(),
        plan_id: plan_id.to_owned(),
        parameters: given,
        user: None,
        predecessor,
        operation: Operation::start(Kind::Bind),
    };
    let record = with_user(&broker, &stack, &instance, record, &key).await?;
    if !records.create_binding(&stack, &key, &record).await? {
        // Another replica took the same request in between: answer as a re-send.
        return Err(concurrency(
            "the binding is being made; send the request again",
        ));
    }
    tracing::info!(%instance_id, %binding_id, %stack, user = record.user.as_deref().unwrap_or(""), "binding");
    broker
        .engine
        .ensure_running(broker.config.clone(), stack.clone());
    respond(&broker, &stack, &instance, record, &query).await
}

/// The binding with its user (on plans with users): a new one, after checking the
/// instance's spec takes one more (a user group holds at most 100 users), or for a
/// rotation its predecessor's.
async fn with_user(
    broker: &Broker,
    stack: &str,
    instance: &Record,
    mut record: BindingRecord,
    key: &str,
) -> Result<BindingRecord, OsbError> {
    let invalid = |failure: crate::operations::Failure| {
        OsbError::new(StatusCode::UNPROCESSABLE_ENTITY, failure.to_string())
    };
    if let Some(predecessor) = &record.predecessor {
        let found = broker
            .engine
            .records()
            .binding(stack, &binding::key(predecessor))
            .await?;
        let bound = found
            .filter(|p| p.operation.kind == Kind::Bind && p.operation.state == OpState::Succeeded);
        let Some(bound) = bound else {
            return Err(OsbError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "predecessor_binding_id {predecessor} is not a bound binding of this instance"
                ),
            ));
        };
        record.user = bound.user;
        return Ok(record);
    }
    let spec = record_spec(&broker.config, instance, &[]).map_err(invalid)?;
    if !binding::has_users(spec.auth.mode) {
        return Ok(record);
    }
    record.user = Some(key.to_owned());
    let mut bindings = broker.engine.records().bindings(stack).await?;
    bindings.push(record.clone());
    record_spec(&broker.config, instance, &bindings).map_err(invalid)?;
    Ok(record)
}

/// The answer to a bind sent again: the same operation while it runs, the credentials
/// once it is done, a new attempt after a failure.
async fn resend(
    broker: &Arc<Broker>,
    stack: &str,
    mut existing: BindingRecord,
    query: &HashMap<String, String>,
) -> Result<Response, OsbError> {
    let operation = &existing.operation;
    match (operation.kind, operation.state) {
        (Kind::Unbind, _) => return Err(concurrency("the binding is being unbound")),
        (Kind::Bind, OpState::Failed) => {
            existing.operation = Operation::start(Kind::Bind);
            let key = binding::key(&existing.binding_id);
            broker
                .engine
                .records()
                .put_binding(stack, &key, &existing)
                .await?;
        }
        _ => {}
    }
    if existing.operation.state == OpState::InProgress {
        broker
            .engine
            .ensure_running(broker.config.clone(), stack.to_owned());
    }
    let instance = broker.engine.records().get(stack).await?;
    let instance =
        instance.ok_or_else(|| OsbError::new(StatusCode::NOT_FOUND, "no such instance"))?;
    let done = existing.operation.state == OpState::Succeeded;
    let response = respond(broker, stack, &instance, existing, query).await?;
    // A re-sent bind that is already done is 200, not 201.
    Ok(match (done, response.status()) {
        (true, StatusCode::CREATED) => (StatusCode::OK, response.into_body()).into_response(),
        _ => response,
    })
}

/// 202 with the operation (asynchronous), or the outcome within [`SYNC_WAIT`]: 201
/// with the credentials, or the failure.
async fn respond(
    broker: &Arc<Broker>,
    stack: &str,
    instance: &Record,
    record: BindingRecord,
    query: &HashMap<String, String>,
) -> Result<Response, OsbError> {
    if is_async(query) && record.operation.state == OpState::InProgress {
        return Ok(accepted(&record.operation));
    }
    let settled = wait(broker, stack, record).await?;
    let operation = &settled.operation;
    match operation.state {
        OpState::Succeeded => {
            let body = bound(broker, instance, &settled).await?;
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        OpState::Failed => Err(OsbError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the bind failed: {}", operation.description),
        )),
        OpState::InProgress => Err(still_running(operation)),
    }
}

fn still_running(operation: &Operation) -> OsbError {
    OsbError::new(
        StatusCode::GATEWAY_TIMEOUT,
        format!(
            "the {} is still in progress after {} seconds; send the request again (or with accepts_incomplete=true) to follow it",
            operation.kind.as_str(),
            SYNC_WAIT.as_secs()
        ),
    )
}

/// The binding's record once its operation is no longer in progress (a finished unbind
/// is `None`), or as it stands after [`SYNC_WAIT`].
async fn wait(
    broker: &Arc<Broker>,
    stack: &str,
    record: BindingRecord,
) -> Result<BindingRecord, OsbError> {
    let key = binding::key(&record.binding_id);
    let deadline = Instant::now() + SYNC_WAIT;
    let mut current = record;
    while current.operation.state == OpState::InProgress && Instant::now() < deadline {
        tokio::time::sleep(SYNC_POLL).await;
        broker
            .engine
            .ensure_running(broker.config.clone(), stack.to_owned());
        match broker.engine.records().binding(stack, &key).await? {
            Some(found) if found.operation.id == current.operation.id => current = found,
            Some(_) => return Err(concurrency("another operation replaced this one")),
            // An unbind that finished deleted its record.
            None => {
                current.operation.state = OpState::Succeeded;
                return Ok(current);
            }
        }
    }
    Ok(current)
}

/// The body of a bound binding: its credentials, `endpoints` and parameters.
async fn bound(
    broker: &Broker,
    instance: &Record,
    record: &BindingRecord,
) -> Result<Value, OsbError> {
    let spec = record_spec(&broker.config, instance, std::slice::from_ref(record))
        .map_err(|failure| OsbError::new(StatusCode::INTERNAL_SERVER_ERROR, failure.to_string()))?;
    let iam = spec.auth.mode == spec::AuthMode::Iam;
    let stack = broker.engine.stack(spec);
    let failed = |error: stack::StackError| {
        tracing::error!(%error, "reading a binding's credentials");
        OsbError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    };
    let connection = stack.connection().await.map_err(failed)?;
    let user = record.user.as_deref();
    let credential = match (&connection.auth, iam) {
        (stack::ConnectionAuth::None, _) | (_, true) => None,
        _ => Some(stack.credential(&connection, user).await.map_err(failed)?),
    };
    let mut body = binding::credentials(&connection, user, credential.as_ref());
    body["parameters"] = record.parameters.clone();
    Ok(body)
}

/// `GET /v2/service_instances/{instance_id}/service_bindings/{binding_id}`.
pub async fn fetch(
    State(broker): State<Arc<Broker>>,
    Path((instance_id, binding_id)): Path<(String, String)>,
) -> Result<Response, OsbError> {
    let stack = instance::stack_name(&instance_id);
    let key = binding::key(&binding_id);
    let not_found = || OsbError::new(StatusCode::NOT_FOUND, "no such binding");
    let record = broker.engine.records().binding(&stack, &key).await?;
    let record = record.ok_or_else(not_found)?;
    match (record.operation.kind, record.operation.state) {
        (Kind::Bind, OpState::Succeeded) => {}
        (Kind::Unbind, _) => return Err(concurrency("the binding is being unbound")),
        _ => return Err(not_found()),
    }
    let instance = broker.engine.records().get(&stack).await?;
    let instance = instance.ok_or_else(not_found)?;
    Ok(Json(bound(&broker, &instance, &record).await?).into_response())
}

/// `DELETE /v2/service_instances/{instance_id}/service_bindings/{binding_id}`.
pub async fn unbind(
    State(broker): State<Arc<Broker>>,
    Path((instance_id, binding_id)): Path<(String, String)>,
    Query(query): Params,
) -> Result<Response, OsbError> {
    require_ids(&query)?;
    let stack = instance::stack_name(&instance_id);
    let key = binding::key(&binding_id);
    let records = broker.engine.records();
    let Some(mut record) = records.binding(&stack, &key).await? else {
        return Ok((StatusCode::GONE, Json(json!({}))).into_response());
    };
    let unbinding = record.operation.kind == Kind::Unbind;
    if !(unbinding && record.operation.state == OpState::InProgress) {
        // A bind still running is unbound too (orphan mitigation): the next apply
        // leaves its user out.
        record.operation = Operation::start(Kind::Unbind);
        records.put_binding(&stack, &key, &record).await?;
        tracing::info!(%instance_id, %binding_id, %stack, "unbinding");
    }
    broker
        .engine
        .ensure_running(broker.config.clone(), stack.clone());
    if is_async(&query) {
        return Ok(accepted(&record.operation));
    }
    let settled = wait(&broker, &stack, record).await?;
    match settled.operation.state {
        OpState::Succeeded => Ok((StatusCode::OK, Json(json!({}))).into_response()),
        OpState::Failed => Err(OsbError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the unbind failed: {}", settled.operation.description),
        )),
        OpState::InProgress => Err(still_running(&settled.operation)),
    }
}

/// `GET /v2/service_instances/{instance_id}/service_bindings/{binding_id}/last_operation`.
pub async fn last_operation(
    State(broker): State<Arc<Broker>>,
    Path((instance_id, binding_id)): Path<(String, String)>,
    Query(query): Params,
) -> Result<Response, OsbError> {
    let stack = instance::stack_name(&instance_id);
    let key = binding::key(&binding_id);
    let Some(record) = broker.engine.records().binding(&stack, &key).await? else {
        return Ok(absent(&query, Kind::Unbind, "no such binding"));
    };
    if record.operation.state == OpState::InProgress {
        broker.engine.ensure_running(broker.config.clone(), stack);
    }
    Ok(operation_status(&record.operation))
}
