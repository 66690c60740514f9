//! The update endpoint (PATCH): a new plan, new parameters or the broker's maintenance,
//! checked against the stack's own plan before anything is accepted, so a change AWS
//! cannot make in place is refused (422, naming it) unless the plan allows replacement.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Map, Value, json};

use crate::catalog::MAINTENANCE_VERSION;
use crate::http::{Broker, OsbError};
use crate::instance;
use crate::instances::{Params, accepted, body_json, field, require_async};
use crate::operations::{Failure, record_spec};
use crate::record::{Kind, Operation, Record, State as OpState};

/// Refuses a `maintenance_info.version` other than this broker's (422
/// `MaintenanceInfoConflict`): the platform's catalog is out of date.
pub(crate) fn check_maintenance(body: &Value) -> Result<(), OsbError> {
    let Some(version) = body.pointer("/maintenance_info/version") else {
        return Ok(());
    };
    match version.as_str() == Some(MAINTENANCE_VERSION) {
        true => Ok(()),
        false => Err(OsbError::coded(
            StatusCode::UNPROCESSABLE_ENTITY,
            "MaintenanceInfoConflict",
            format!(
                "maintenance_info.version {version} is not this broker's ({MAINTENANCE_VERSION}): fetch the catalog again"
            ),
        )),
    }
}

/// The parameters after an update: the given ones over the current ones (`null`
/// removes one); no `parameters` leaves them as they are.
fn updated_parameters(current: &Value, given: Option<&Value>) -> Result<Value, OsbError> {
    let Some(given) = given.filter(|v| !v.is_null()) else {
        return Ok(current.clone());
    };
    let given = given.as_object().ok_or_else(|| {
        OsbError::new(StatusCode::BAD_REQUEST, "parameters must be a JSON object")
    })?;
    let mut out: Map<String, Value> = current.as_object().cloned().unwrap_or_default();
    for (name, value) in given {
        match value.is_null() {
            true => out.remove(name),
            false => out.insert(name.clone(), value.clone()),
        };
    }
    Ok(match out.is_empty() {
        true => Value::Null,
        false => Value::Object(out),
    })
}

/// `PATCH /v2/service_instances/{instance_id}`.
pub async fn update(
    State(broker): State<Arc<Broker>>,
    Path(instance_id): Path<String>,
    Query(query): Params,
    body: Bytes,
) -> Result<Response, OsbError> {
    require_async(&query)?;
    let body = body_json(&body)?;
    let service_id = field(&body, "service_id")?;
    check_maintenance(&body)?;
    let stack = instance::stack_name(&instance_id);
    let records = broker.engine.records();
    let current = records.get(&stack).await?;
    let current =
        current.ok_or_else(|| OsbError::new(StatusCode::NOT_FOUND, "no such instance"))?;
    let wanted = wanted(&broker, &current, service_id, &body)?;
    let operation = &current.operation;
    let same = wanted.plan_id == current.plan_id && wanted.parameters == current.parameters;
    let maintenance = body.get("maintenance_info").is_some()
        && current.maintenance_version.as_deref() != Some(MAINTENANCE_VERSION);
    match (operation.kind, operation.state) {
        (Kind::Update, OpState::InProgress) if same => return Ok(accepted(operation)),
        (_, OpState::InProgress) => {
            return Err(OsbError::coded(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ConcurrencyError",
                "another operation on this instance is in progress",
            ));
        }
        (Kind::Provision | Kind::Deprovision, OpState::Failed) => {
            return Err(OsbError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "the instance's {} failed: deprovision it",
                    operation.kind.as_str()
                ),
            ));
        }
        _ if same && !maintenance && operation.state == OpState::Succeeded => {
            return Ok((StatusCode::OK, Json(json!({}))).into_response());
        }
        _ => {}
    }
    Box::pin(refuse_what_aws_cannot_do_in_place(&broker, &stack, &wanted)).await?;
    let record = Record {
        maintenance_version: Some(MAINTENANCE_VERSION.to_owned()),
        operation: Operation::start(Kind::Update),
        ..wanted
    };
    records.put(&stack, &record).await?;
    tracing::info!(%instance_id, %stack, plan = %record.plan_id, "updating");
    broker.engine.ensure_running(broker.config.clone(), stack);
    Ok(accepted(&record.operation))
}

/// The record as the update asks: its plan (checked against the catalog and the
/// service's `plan_updateable`) and parameters (checked against the schema).
fn wanted(
    broker: &Broker,
    current: &Record,
    service_id: &str,
    body: &Value,
) -> Result<Record, OsbError> {
    let bad = |text: String| OsbError::new(StatusCode::BAD_REQUEST, text);
    if current.service_id != service_id {
        return Err(bad(format!(
            "the instance is of service {}, not {service_id}",
            current.service_id
        )));
    }
    let plan_id = body["plan_id"].as_str().unwrap_or(&current.plan_id);
    let (service, _) = broker
        .config
        .plan(plan_id)
        .filter(|(service, _)| service.id == service_id)
        .ok_or_else(|| {
            bad(format!(
                "plan `{plan_id}` is not a plan of service `{service_id}`"
            ))
        })?;
    if plan_id != current.plan_id && !service.plan_updateable {
        return Err(bad(format!(
            "service {} does not change plans (plan_updateable: false)",
            service.name
        )));
    }
    let parameters = updated_parameters(&current.parameters, body.get("parameters"))?;
    if parameters.get("restore_from_snapshot") != current.parameters.get("restore_from_snapshot") {
        return Err(bad(
            "restore_from_snapshot is taken only when an instance is provisioned".to_owned(),
        ));
    }
    instance::parameters(Some(&parameters)).map_err(|problems| bad(problems.join("; ")))?;
    Ok(Record {
        plan_id: plan_id.to_owned(),
        parameters,
        ..current.clone()
    })
}

/// Plans the update with the stack (reads only) and refuses it when it would replace
/// what AWS cannot change in place, unless the plan allows replacement.
async fn refuse_what_aws_cannot_do_in_place(
    broker: &Broker,
    stack: &str,
    wanted: &Record,
) -> Result<(), OsbError> {
    let bindings = broker.engine.records().bindings(stack).await?;
    let spec = record_spec(&broker.config, wanted, &bindings).map_err(|failure| match failure {
        Failure::Spec(text) => OsbError::new(StatusCode::BAD_REQUEST, text),
        other => OsbError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    })?;
    let planned = Box::pin(broker.engine.stack(spec).plan())
        .await
        .map_err(|error| OsbError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?;
    let options = stack::ApplyOptions {
        allow_replacement: broker
            .config
            .plan(&wanted.plan_id)
            .is_some_and(|(_, plan)| plan.allow_replacement),
        ..stack::ApplyOptions::default()
    };
    stack::refuse_replacements(&planned.plan().changes, options).map_err(|error| {
        // The instance is as it was; the same update would be refused again.
        OsbError::new(StatusCode::UNPROCESSABLE_ENTITY, error.to_string())
            .with_instance(true, false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_parameters_go_over_the_current_ones_and_null_removes_one() {
        let current =
            json!({ "maxmemory_policy": "allkeys-lru", "snapshot_window": "03:00-04:00" });
        let given = json!({ "maxmemory_policy": "noeviction", "snapshot_window": null });
        let updated = updated_parameters(&current, Some(&given)).expect("an object");
        assert_eq!(updated, json!({ "maxmemory_policy": "noeviction" }));
        assert_eq!(updated_parameters(&current, None).expect("kept"), current);
        let cleared = json!({ "maxmemory_policy": null, "snapshot_window": null });
        assert_eq!(
            updated_parameters(&current, Some(&cleared)).expect("empty"),
            Value::Null
        );
        assert!(updated_parameters(&current, Some(&json!([1]))).is_err());
    }

    #[test]
    fn only_this_brokers_maintenance_version_is_accepted() {
        assert!(check_maintenance(&json!({})).is_ok());
        let current = json!({ "maintenance_info": { "version": MAINTENANCE_VERSION } });
        assert!(check_maintenance(&current).is_ok());
        let old = json!({ "maintenance_info": { "version": "0.0.1" } });
        assert!(check_maintenance(&old).is_err());
    }
}
