//! The OSB catalog (`GET /v2/catalog`) from the configuration, with the parameters each
//! plan takes as JSON Schemas.

use serde_json::{Value, json};

use spec::AuthMode;

use crate::config::{BrokerConfig, Plan, Service};

/// The parameters a provision (`provision: true`) or an update may pass. Anything else
/// is refused (400, naming it), so the schema says `additionalProperties: false`.
pub fn instance_parameters(provision: bool) -> Value {
    let mut schema = json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "maxmemory_policy": {
                "type": "string",
                "description": "What the engine evicts when memory is full",
                "enum": ["volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu",
                         "volatile-random", "allkeys-random", "volatile-ttl", "noeviction"]
            },
            "maintenance_window": {
                "type": "string",
                "description": "Weekly, UTC, at least an hour, such as sun:05:00-sun:06:00",
                "pattern": "^(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]$"
            },
            "snapshot_window": {
                "type": "string",
                "description": "Daily, UTC, at least an hour, such as 03:00-04:00",
                "pattern": "^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$"
            }
        }
    });
    if provision {
        schema["properties"]["restore_from_snapshot"] = json!({
            "type": "string",
            "description": "The id of a deprovisioned instance of this space: the new instance starts with the data of the final snapshot its deprovision took"
        });
    }
    schema
}

/// The parameters a bind may pass.
pub fn binding_parameters() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "read_only": {
                "type": "boolean",
                "description": "A user that may only read (the plan's read-only access string)"
            }
        }
    })
}

/// The version in every plan's `maintenance_info`: the broker's own. An instance last
/// applied by an older broker can be updated to it, which applies the plan as this
/// broker builds stacks.
pub const MAINTENANCE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every plan's `maintenance_info`.
pub fn maintenance_info() -> Value {
    json!({
        "version": MAINTENANCE_VERSION,
        "description": format!("elasticache-broker {MAINTENANCE_VERSION}: updating applies the plan as this version builds stacks"),
    })
}

/// The catalog as OSB v2.17 shapes it.
pub fn catalog(config: &BrokerConfig) -> Value {
    let services: Vec<Value> = config.services.iter().map(|s| service(config, s)).collect();
    json!({ "services": services })
}

/// What a plan's description adds about its bindings, so nobody is surprised.
fn bindings_note(mode: Option<AuthMode>) -> &'static str {
    match mode {
        Some(AuthMode::Rbac) => "Each binding is a user of its own, revoked by unbinding.",
        Some(AuthMode::Iam) => {
            "Each binding is an IAM-authenticated user of its own (no password: the application signs a token), revoked by unbinding."
        }
        Some(AuthMode::Token) => {
            "Bindings share the instance's one AUTH token: unbinding does not revoke it."
        }
        Some(AuthMode::None) => {
            "Bindings need no credential: anyone the network admits can connect."
        }
        None => "",
    }
}

fn service(config: &BrokerConfig, service: &Service) -> Value {
    let mut out = json!({
        "id": service.id,
        "name": service.name,
        "description": service.description,
        "tags": service.tags,
        "bindable": true,
        "plan_updateable": service.plan_updateable,
        "instances_retrievable": true,
        "bindings_retrievable": true,
        "binding_rotatable": true,
        "allow_context_updates": false,
        "plans": service.plans.iter().map(|p| plan(config, service, p)).collect::<Vec<_>>(),
    });
    if let Some(metadata) = &service.metadata {
        out["metadata"] = metadata.clone();
    }
    out
}

fn plan(config: &BrokerConfig, service: &Service, plan: &Plan) -> Value {
    let description = match bindings_note(config.auth_mode(plan)) {
        "" => plan.description.clone(),
        note => format!("{}. {note}", plan.description.trim_end_matches('.')),
    };
    let mut out = json!({
        "id": plan.id,
        "name": plan.name,
        "description": description,
        "free": plan.free,
        "bindable": true,
        "plan_updateable": service.plan_updateable,
        "schemas": {
            "service_instance": {
                "create": { "parameters": instance_parameters(true) },
                "update": { "parameters": instance_parameters(false) },
            },
            "service_binding": {
                "create": { "parameters": binding_parameters() },
            },
        },
    });
    if let Some(metadata) = &plan.metadata {
        out["metadata"] = metadata.clone();
    }
    out["maintenance_info"] = maintenance_info();
    if let Some(seconds) = service.maximum_polling_duration {
        out["maximum_polling_duration"] = json!(seconds);
    }
    out
}
