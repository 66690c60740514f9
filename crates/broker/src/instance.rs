//! What an instance is made of before any AWS call: its stack's name (from the instance
//! id), the parameters the platform passed (checked against the catalog's schema), and
//! its spec (the plan's, over the platform's, with those parameters).

use serde_json::Value;
use sha2::{Digest, Sha256};
use spec::{Spec, SpecErrors};

use crate::binding::BindingUser;
use crate::config::{BrokerConfig, Plan};

/// Hex digits of the instance id's SHA-256 in a stack name: 64 bits, so two instances
/// meet by chance about once in four billion billion pairs.
const NAME_DIGITS: usize = 16;

/// The stack of instance `instance_id`: `osb-` and a hash of the id, so it is stable,
/// lowercase, starts with a letter and fits ElastiCache's 40 characters whatever the
/// platform's ids look like. A stable interface: changing it orphans every instance.
pub fn stack_name(instance_id: &str) -> String {
    let digest = Sha256::digest(instance_id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("osb-{}", &hex[..NAME_DIGITS])
}

/// The engine's eviction policies, as `maxmemory_policy` takes them.
pub const EVICTION_POLICIES: &[&str] = &[
    "volatile-lru",
    "allkeys-lru",
    "volatile-lfu",
    "allkeys-lfu",
    "volatile-random",
    "allkeys-random",
    "volatile-ttl",
    "noeviction",
];

/// The parameters a provision or update passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceParameters {
    /// `maxmemory-policy` for the stack's parameter group.
    pub maxmemory_policy: Option<String>,
    /// The weekly maintenance window.
    pub maintenance_window: Option<String>,
    /// The daily snapshot window.
    pub snapshot_window: Option<String>,
    /// The instance (its id) whose data a provision restores: a deprovisioned one of
    /// the same space, from the final snapshot its deprovision took.
    pub restore_from_snapshot: Option<String>,
    /// The snapshot that is, once the provision has found it (never from the request).
    pub restore_snapshot: Option<String>,
}

/// A request's `parameters` as an object: `None` when absent or `null`, an error when
/// it is anything but an object.
pub(crate) fn parameter_object(
    value: Option<&Value>,
) -> Result<Option<&serde_json::Map<String, Value>>, Vec<String>> {
    match value.filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(Value::Object(object)) => Ok(Some(object)),
        Some(_) => Err(vec!["parameters must be a JSON object".to_owned()]),
    }
}

/// Reads the request's `parameters`; every problem is one line (unknown names, wrong
/// types, values out of the schema).
pub fn parameters(value: Option<&Value>) -> Result<InstanceParameters, Vec<String>> {
    let Some(object) = parameter_object(value)? else {
        return Ok(InstanceParameters::default());
    };
    let mut problems = Vec::new();
    let mut out = InstanceParameters::default();
    for (name, value) in object {
        let slot = match name.as_str() {
            "maxmemory_policy" => &mut out.maxmemory_policy,
            "maintenance_window" => &mut out.maintenance_window,
            "snapshot_window" => &mut out.snapshot_window,
            "restore_from_snapshot" => &mut out.restore_from_snapshot,
            other => {
                problems.push(format!(
                    "unknown parameter `{other}`: this broker takes maxmemory_policy, maintenance_window, snapshot_window and restore_from_snapshot"
                ));
                continue;
            }
        };
        match value.as_str() {
            Some(text) => *slot = Some(text.to_owned()),
            None => problems.push(format!("parameter `{name}` must be a string")),
        }
    }
    if let Some(policy) = &out.maxmemory_policy
        && !EVICTION_POLICIES.contains(&policy.as_str())
    {
        problems.push(format!(
            "parameter `maxmemory_policy`: `{policy}` is not one of {}",
            EVICTION_POLICIES.join(", ")
        ));
    }
    match problems.is_empty() {
        true => Ok(out),
        false => Err(problems),
    }
}

/// The spec of instance `instance_id` of `plan` with `parameters` and one user per
/// binding. Its errors are the platform's fault only where a parameter is named in them.
pub fn instance_spec(
    config: &BrokerConfig,
    plan: &Plan,
    instance_id: &str,
    parameters: &InstanceParameters,
    bindings: &[BindingUser],
) -> Result<Spec, SpecErrors> {
    let stack = stack_name(instance_id);
    let mut plan = plan.clone();
    let overlay = parameters_overlay(parameters);
    if !overlay.is_empty() {
        plan.spec = crate::config::merged(&plan.spec, &overlay);
    }
    let file = format!("instance {instance_id}");
    let spec = spec::parse(&config.spec_source(&plan, &stack), &file)?;
    if bindings.is_empty() {
        return Ok(spec);
    }
    // Lists replace lists when specs merge: the plan's users, then the bindings'.
    let users: Vec<serde_yaml::Value> = spec
        .auth
        .users
        .iter()
        .map(|u| (u.name.as_str(), u.access.as_str()))
        .chain(
            bindings
                .iter()
                .map(|b| (b.name.as_str(), b.access.as_str())),
        )
        .map(|(name, access)| {
            let mut user = serde_yaml::Mapping::new();
            user.insert("name".into(), name.into());
            user.insert("access".into(), access.into());
            user.into()
        })
        .collect();
    let mut auth = serde_yaml::Mapping::new();
    auth.insert("users".into(), users.into());
    let mut overlay = serde_yaml::Mapping::new();
    overlay.insert("auth".into(), auth.into());
    plan.spec = crate::config::merged(&plan.spec, &overlay);
    spec::parse(&config.spec_source(&plan, &stack), &file)
}

/// The spec fields the parameters set.
fn parameters_overlay(parameters: &InstanceParameters) -> serde_yaml::Mapping {
    let mut cluster = serde_yaml::Mapping::new();
    if let Some(policy) = &parameters.maxmemory_policy {
        let mut engine_parameters = serde_yaml::Mapping::new();
        engine_parameters.insert("maxmemory-policy".into(), policy.as_str().into());
        cluster.insert("parameters".into(), engine_parameters.into());
    }
    if let Some(window) = &parameters.maintenance_window {
        cluster.insert("maintenance_window".into(), window.as_str().into());
    }
    let mut snapshot = serde_yaml::Mapping::new();
    if let Some(window) = &parameters.snapshot_window {
        snapshot.insert("window".into(), window.as_str().into());
    }
    if let Some(name) = &parameters.restore_snapshot {
        snapshot.insert("restore_from".into(), name.as_str().into());
    }
    if !snapshot.is_empty() {
        cluster.insert("snapshot".into(), snapshot.into());
    }
    let mut overlay = serde_yaml::Mapping::new();
    if !cluster.is_empty() {
        overlay.insert("cluster".into(), cluster.into());
    }
    overlay
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_are_stable_short_and_valid() {
        let name = stack_name("2b5e1c7e-0d3f-4f7a-9b1c-6a2d8e4f0c13");
        assert_eq!(name, stack_name("2b5e1c7e-0d3f-4f7a-9b1c-6a2d8e4f0c13"));
        assert_ne!(name, stack_name("2b5e1c7e-0d3f-4f7a-9b1c-6a2d8e4f0c14"));
        assert_eq!(name.len(), 20);
        assert!(spec::replication_group_id_problem(&name).is_ok(), "{name}");
        assert!(spec::replication_group_id_problem(&stack_name("ANY thing/ at all")).is_ok());
    }

    fn example() -> BrokerConfig {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/broker/config.yaml");
        let source = std::fs::read_to_string(path).expect("the example");
        crate::parse(&source, "config.yaml").expect("valid")
    }

    #[test]
    fn an_instance_spec_is_the_plan_over_the_platform_with_the_parameters() {
        let config = example();
        let (_, plan) = config
            .plan("0c4f3a62-6a0e-4f7e-8f0b-2f4a1e9d5c21")
            .expect("plan");
        let given = serde_json::json!({
            "maxmemory_policy": "allkeys-lru",
            "maintenance_window": "sun:05:00-sun:06:00",
        });
        let parameters = parameters(Some(&given)).expect("valid");
        let spec =
            instance_spec(&config, plan, "instance-1", &parameters, &[]).expect("valid spec");
        assert_eq!(spec.stack, stack_name("instance-1"));
        assert_eq!(spec.region, "eu-west-1");
        assert_eq!(spec.node_type, "cache.t4g.small");
        assert_eq!(spec.cluster.maintenance_window, "sun:05:00-sun:06:00");
        assert!(spec.cluster.parameters.contains_key("maxmemory-policy"));
        assert_eq!(
            spec.tags.get("platform").map(String::as_str),
            Some("cloud-foundry")
        );

        let bad = InstanceParameters {
            snapshot_window: Some("25:00-26:00".into()),
            ..InstanceParameters::default()
        };
        let errors = instance_spec(&config, plan, "instance-1", &bad, &[]).expect_err("refused");
        assert!(
            errors
                .errors
                .iter()
                .any(|e| e.path.starts_with("cluster.snapshot.window")),
            "{errors:?}"
        );
    }

    #[test]
    fn unknown_and_malformed_parameters_are_each_named() {
        let given = serde_json::json!({
            "maxmemory_policy": "evict-everything",
            "shards": 9,
            "maintenance_window": 3,
        });
        let problems = parameters(Some(&given)).expect_err("refused");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("unknown parameter `shards`"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`maintenance_window` must be a string"))
        );
        assert!(problems.iter().any(|p| p.contains("evict-everything")));
        assert_eq!(parameters(None), Ok(InstanceParameters::default()));
    }
}
