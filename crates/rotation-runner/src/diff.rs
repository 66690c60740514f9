//! Comparing the runner with what exists, without calling AWS.

use plan::tags::tags_value;
use plan::{Change, Diff, Known, ResourceId, Value};
use serde_json::Value as Json;

use crate::RunnerError;
use crate::model::*;
use crate::package::Package;

/// The function's runtime: an OS-only runtime for the `bootstrap` binary.
pub const RUNTIME: &str = "provided.al2023";

/// Kinds of resource this step shows in plans.
pub mod kinds {
    /// The function's IAM role.
    pub const ROLE: &str = "iam_role";
    /// The role's inline policy.
    pub const ROLE_POLICY: &str = "iam_role_policy";
    /// The endpoints' security group.
    pub const SECURITY_GROUP: &str = "security_group";
    /// Its ingress rule.
    pub const INGRESS_RULE: &str = "security_group_rule";
    /// An interface endpoint.
    pub const ENDPOINT: &str = "vpc_endpoint";
    /// The function.
    pub const FUNCTION: &str = "lambda_function";
    /// Secrets Manager's permission to invoke it.
    pub const PERMISSION: &str = "lambda_permission";
    /// A secret's rotation configuration.
    pub const ROTATION: &str = "secret_rotation";
}

/// One write, in the order apply performs them.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Creates the role.
    CreateRole {
        /// Its name.
        name: String,
        /// Its trust policy.
        trust: Json,
        /// Its tags.
        tags: Tags,
    },
    /// Replaces the role's trust policy.
    UpdateTrust {
        /// The role.
        name: String,
        /// The policy.
        trust: Json,
    },
    /// Writes the role's inline policy (create or replace).
    PutRolePolicy {
        /// The role (and the policy's name).
        name: String,
        /// The document.
        document: Known<Json>,
    },
    /// Creates the endpoints' security group.
    CreateEndpointGroup {
        /// Its name.
        name: String,
        /// The VPC.
        vpc_id: Known<String>,
        /// Its tags.
        tags: Tags,
    },
    /// Admits HTTPS from the cache's group.
    AdmitClients {
        /// The cache's group.
        clients: Known<String>,
    },
    /// Creates an interface endpoint with private DNS.
    CreateEndpoint {
        /// `com.amazonaws.<region>.<service>`.
        service: String,
        /// The VPC.
        vpc_id: Known<String>,
        /// Its subnets.
        subnet_ids: Known<Vec<String>>,
        /// Its tags.
        tags: Tags,
    },
    /// Creates the function, waiting until it is active.
    CreateFunction {
        /// Its settings.
        function: DesiredFunction,
        /// Its name.
        name: String,
        /// Its tags.
        tags: Tags,
    },
    /// Deploys the package (and architecture), then records it in the tag.
    UpdateCode {
        /// The function.
        name: String,
        /// The package and architecture.
        function: DesiredFunction,
    },
    /// Sets runtime, role, environment, VPC placement, timeout and memory.
    UpdateConfiguration {
        /// The function.
        name: String,
        /// Its settings.
        function: DesiredFunction,
    },
    /// Lets Secrets Manager invoke the function for this account's secrets.
    AddPermission {
        /// The function.
        name: String,
        /// The account.
        account: String,
    },
    /// Turns on (or reschedules) a secret's rotation with the function.
    EnableRotation {
        /// The secret's ARN or name.
        secret: String,
        /// The schedule.
        schedule: String,
        /// Whether Secrets Manager rotates at once (only when asked, on first enable).
        rotate_now: bool,
    },
    /// Turns off a secret's rotation.
    DisableRotation {
        /// The secret's ARN or name.
        secret: String,
    },
    /// Deletes the function (and so its permission).
    DeleteFunction {
        /// Its name.
        name: String,
    },
    /// Deletes the role's inline policy, then the role.
    DeleteRole {
        /// Its name.
        name: String,
        /// Whether the inline policy exists.
        with_policy: bool,
    },
    /// Deletes endpoints.
    DeleteEndpoints {
        /// Their ids.
        ids: Vec<String>,
    },
    /// Deletes the endpoints' group once their interfaces are gone.
    DeleteEndpointGroup {
        /// Its id.
        id: String,
    },
}

/// What apply hands on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunnerOutputs {
    /// The function's ARN, with `runner: lambda`.
    pub function_arn: Option<Known<String>>,
    /// The rotation schedule of every credential secret it rotates.
    pub schedule: Option<String>,
}

/// The plan of this step.
#[derive(Debug, Clone, PartialEq)]
pub struct RunnerPlan {
    /// For people.
    pub changes: Vec<Change>,
    /// For people.
    pub warnings: Vec<String>,
    /// The outputs as far as they are known.
    pub outputs: RunnerOutputs,
    pub(crate) ops: Vec<Op>,
    /// What was observed, for ids apply needs.
    pub(crate) observed: Observed,
}

impl RunnerPlan {
    /// Whether apply would write anything.
    pub fn has_writes(&self) -> bool {
        !self.ops.is_empty()
    }

    fn new(observed: &Observed) -> RunnerPlan {
        RunnerPlan {
            changes: Vec::new(),
            warnings: Vec::new(),
            outputs: RunnerOutputs::default(),
            ops: Vec::new(),
            observed: observed.clone(),
        }
    }
}

/// Plans the runner: everything `runner: lambda` needs, or, with another runner, the
/// removal of what a former `runner: lambda` left.
pub fn diff(desired: &Desired, observed: &Observed) -> Result<RunnerPlan, RunnerError> {
    if !desired.enabled {
        return Ok(diff_destroy(desired, observed));
    }
    let mut plan = RunnerPlan::new(observed);
    diff_role(&mut plan, desired, observed)?;
    match &desired.endpoints {
        Some(endpoints) => diff_endpoints(&mut plan, desired, endpoints, observed),
        // `vpc_endpoints: existing` now: the ones the stack made go.
        None => remove_endpoints(&mut plan, desired, observed),
    }
    diff_function(&mut plan, desired, observed);
    diff_rotations(&mut plan, desired, observed);
    plan.outputs = RunnerOutputs {
        function_arn: Some(observed.function.as_ref().map(|f| f.arn.clone()).into()),
        schedule: desired.rotations.first().map(|r| r.schedule.clone()),
    };
    Ok(plan)
}

fn diff_role(
    plan: &mut RunnerPlan,
    desired: &Desired,
    observed: &Observed,
) -> Result<(), RunnerError> {
    let role_id = ResourceId::new(kinds::ROLE, &desired.name);
    let policy_id = ResourceId::new(kinds::ROLE_POLICY, &desired.name);
    let wanted = &desired.role;
    let statements = |doc: &Known<Json>| match doc {
        Known::Value(doc) => Value::set(policies::document::statements(doc)),
        Known::AfterApply => Value::Unknown,
    };
    let Some(role) = &observed.role else {
        plan.changes.push(Change::create(
            role_id,
            vec![
                ("trust", Value::from("lambda.amazonaws.com, this account")),
                ("tags", tags_value(&desired.tags)),
            ],
        ));
        plan.changes.push(Change::create(
            policy_id,
            vec![("statements", statements(&wanted.policy))],
        ));
        plan.ops.push(Op::CreateRole {
            name: desired.name.clone(),
            trust: wanted.trust.clone(),
            tags: desired.tags.clone(),
        });
        plan.ops.push(Op::PutRolePolicy {
            name: desired.name.clone(),
            document: wanted.policy.clone(),
        });
        return Ok(());
    };
    let trust_differs = role.trust.as_ref() != Some(&wanted.trust);
    let mut change = Diff::new(role_id);
    if trust_differs {
        change = change.attribute(
            "trust",
            Value::from("(another policy)"),
            Value::from("lambda.amazonaws.com, this account"),
        );
        plan.ops.push(Op::UpdateTrust {
            name: desired.name.clone(),
            trust: wanted.trust.clone(),
        });
    }
    plan.changes.push(change.finish());
    let policy_differs = match (&role.policy, &wanted.policy) {
        (_, Known::AfterApply) => true,
        (found, Known::Value(doc)) => found.as_ref() != Some(doc),
    };
    let before = role.policy.clone().map_or(Known::AfterApply, Known::Value);
    let change = match (&role.policy, policy_differs) {
        (None, _) => Change::create(policy_id, vec![("statements", statements(&wanted.policy))]),
        (Some(_), true) => Diff::new(policy_id)
            .attribute(
                "statements",
                statements(&before),
                statements(&wanted.policy),
            )
            .finish(),
        (Some(_), false) => Diff::new(policy_id).finish(),
    };
    if policy_differs {
        plan.ops.push(Op::PutRolePolicy {
            name: desired.name.clone(),
            document: wanted.policy.clone(),
        });
    }
    plan.changes.push(change);
    Ok(())
}

fn diff_endpoints(
    plan: &mut RunnerPlan,
    desired: &Desired,
    endpoints: &DesiredEndpoints,
    observed: &Observed,
) {
    let group_id = ResourceId::new(kinds::SECURITY_GROUP, &endpoints.group_name);
    let rule_id = ResourceId::new(
        kinds::INGRESS_RULE,
        format!("{}: tcp/443 from the cache's group", endpoints.group_name),
    );
    match &observed.endpoint_group {
        None => {
            plan.changes.push(Change::create(
                group_id,
                vec![
                    ("vpc_id", endpoints.vpc_id.to_plan_value()),
                    ("tags", tags_value(&desired.tags)),
                ],
            ));
            plan.ops.push(Op::CreateEndpointGroup {
                name: endpoints.group_name.clone(),
                vpc_id: endpoints.vpc_id.clone(),
                tags: desired.tags.clone(),
            });
        }
        Some(_) => plan.changes.push(Diff::new(group_id).finish()),
    }
    let admitted = (observed.endpoint_group.as_ref())
        .zip(endpoints.clients.value())
        .is_some_and(|(group, clients)| group.admitted.contains(clients));
    if admitted {
        plan.changes.push(Diff::new(rule_id).finish());
    } else {
        plan.changes.push(Change::create(
            rule_id,
            vec![("source", endpoints.clients.to_plan_value())],
        ));
        plan.ops.push(Op::AdmitClients {
            clients: endpoints.clients.clone(),
        });
    }
    for service in &endpoints.services {
        let id = ResourceId::new(kinds::ENDPOINT, service);
        if observed.endpoints.iter().any(|e| &e.service == service) {
            plan.changes.push(Diff::new(id).finish());
            continue;
        }
        plan.changes.push(Change::create(
            id,
            vec![
                ("type", Value::from("Interface")),
                ("private_dns", Value::from(true)),
                ("subnet_ids", endpoints.subnet_ids.to_plan_set()),
            ],
        ));
        plan.ops.push(Op::CreateEndpoint {
            service: service.clone(),
            vpc_id: endpoints.vpc_id.clone(),
            subnet_ids: endpoints.subnet_ids.clone(),
            tags: desired.tags.clone(),
        });
    }
}

/// The function's settings as a plan shows them.
fn function_attributes(function: &DesiredFunction) -> Vec<(&'static str, Value)> {
    vec![
        ("runtime", Value::from(RUNTIME)),
        ("architecture", Value::from(function.architecture)),
        ("package", package_value(function.package.as_ref())),
        ("environment", environment_value(&function.environment)),
        ("subnet_ids", function.subnet_ids.to_plan_set()),
        (
            "security_group_ids",
            function.security_group_ids.to_plan_set(),
        ),
        ("timeout", Value::from(FUNCTION_TIMEOUT_SECONDS)),
        ("memory", Value::from(FUNCTION_MEMORY_MB)),
    ]
}

fn package_value(package: Option<&Package>) -> Value {
    package.map_or(Value::Unknown, |p| Value::from(p.identity()))
}

fn environment_value(environment: &std::collections::BTreeMap<String, String>) -> Value {
    Value::set(environment.iter().map(|(k, v)| format!("{k}={v}")))
}

fn diff_function(plan: &mut RunnerPlan, desired: &Desired, observed: &Observed) {
    let function = &desired.function;
    let id = ResourceId::new(kinds::FUNCTION, &desired.name);
    let permission_id = ResourceId::new(
        kinds::PERMISSION,
        format!("{}: secretsmanager", desired.name),
    );
    let permission = vec![
        ("principal", Value::from("secretsmanager.amazonaws.com")),
        ("source_account", Value::from(&desired.account)),
    ];
    let Some(found) = &observed.function else {
        plan.changes
            .push(Change::create(id, function_attributes(function)));
        plan.changes.push(Change::create(permission_id, permission));
        plan.ops.push(Op::CreateFunction {
            function: function.clone(),
            name: desired.name.clone(),
            tags: desired.tags.clone(),
        });
        plan.ops.push(Op::AddPermission {
            name: desired.name.clone(),
            account: desired.account.clone(),
        });
        return;
    };
    let code_current = match function.package.as_ref() {
        None => true,
        Some(package) => match package.sha256() {
            Some(sha256) => found.code_sha256 == sha256,
            None => found.tags.get(PACKAGE_TAG) == Some(&package.identity()),
        },
    };
    let deployed = found.tags.get(PACKAGE_TAG).map_or(
        Value::from(format!("sha256:{}", found.code_sha256)),
        Value::from,
    );
    let mut code = Diff::new(id.clone());
    if !code_current {
        code = code.attribute(
            "package",
            deployed,
            package_value(function.package.as_ref()),
        );
    }
    code = code.attribute(
        "architecture",
        Value::from(&found.architecture),
        Value::from(function.architecture),
    );
    let code_changes = code.has_changes();
    let change = code
        .attribute("runtime", Value::from(&found.runtime), Value::from(RUNTIME))
        .attribute(
            "environment",
            environment_value(&found.environment),
            environment_value(&function.environment),
        )
        .attribute(
            "subnet_ids",
            Value::set(found.subnet_ids.iter().cloned()),
            function.subnet_ids.to_plan_set(),
        )
        .attribute(
            "security_group_ids",
            Value::set(found.security_group_ids.iter().cloned()),
            function.security_group_ids.to_plan_set(),
        )
        .attribute(
            "timeout",
            Value::from(found.timeout),
            Value::from(FUNCTION_TIMEOUT_SECONDS),
        )
        .attribute(
            "memory",
            Value::from(found.memory),
            Value::from(FUNCTION_MEMORY_MB),
        )
        .finish();
    let configuration_changes = change
        .attributes
        .iter()
        .any(|a| !matches!(a.name.as_str(), "package" | "architecture"));
    plan.changes.push(change);
    if code_changes {
        plan.ops.push(Op::UpdateCode {
            name: desired.name.clone(),
            function: function.clone(),
        });
    }
    if configuration_changes {
        plan.ops.push(Op::UpdateConfiguration {
            name: desired.name.clone(),
            function: function.clone(),
        });
    }
    if found.invokable {
        plan.changes.push(Diff::new(permission_id).finish());
    } else {
        plan.changes.push(Change::create(permission_id, permission));
        plan.ops.push(Op::AddPermission {
            name: desired.name.clone(),
            account: desired.account.clone(),
        });
    }
}

fn diff_rotations(plan: &mut RunnerPlan, desired: &Desired, observed: &Observed) {
    let function_arn = observed.function.as_ref().map(|f| f.arn.as_str());
    for rotation in &desired.rotations {
        let id = ResourceId::new(kinds::ROTATION, &rotation.secret);
        let found = observed.rotations.get(&rotation.secret);
        let current = found
            .zip(function_arn)
            .is_some_and(|(found, arn)| found.matches(arn, &rotation.schedule));
        let secret = rotation
            .arn
            .value()
            .cloned()
            .unwrap_or_else(|| rotation.secret.clone());
        let wanted = Value::from(format!("{} with {}", rotation.schedule, desired.name));
        let first = !found.is_some_and(|f| f.enabled);
        let rotate_now = first && rotation.rotate_on_enable;
        let change = match found.filter(|f| f.enabled) {
            None => Change::create(
                id,
                vec![
                    ("schedule", Value::from(&rotation.schedule)),
                    ("function", Value::from(&desired.name)),
                    ("rotate_immediately", Value::from(rotate_now)),
                ],
            ),
            Some(found) => {
                let before = found
                    .schedule
                    .clone()
                    .or_else(|| found.after_days.map(|days| format!("rate({days} days)")));
                let before = format!(
                    "{} with {}",
                    before.unwrap_or_default(),
                    found
                        .lambda_arn
                        .as_deref()
                        .and_then(|a| a.rsplit(':').next())
                        .unwrap_or("?")
                );
                let after = if current {
                    Value::from(before.clone())
                } else {
                    wanted
                };
                Diff::new(id)
                    .attribute("rotation", Value::from(before), after)
                    .finish()
            }
        };
        plan.changes.push(change);
        if !current {
            plan.ops.push(Op::EnableRotation {
                secret,
                schedule: rotation.schedule.clone(),
                rotate_now,
            });
        }
    }
}

/// Plans removing what the runner made: rotation turned off on secrets that name the
/// stack's function, the function, its role, the endpoints and their group.
pub fn diff_destroy(desired: &Desired, observed: &Observed) -> RunnerPlan {
    let mut plan = RunnerPlan::new(observed);
    let ours = |arn: &Option<String>| {
        arn.as_deref()
            .is_some_and(|a| a.ends_with(&format!(":function:{}", desired.name)))
    };
    for (secret, rotation) in &observed.rotations {
        if rotation.enabled && ours(&rotation.lambda_arn) {
            plan.changes.push(Change::delete(
                ResourceId::new(kinds::ROTATION, secret),
                vec![("function", Value::from(&desired.name))],
            ));
            let arn = desired
                .rotations
                .iter()
                .find(|r| &r.secret == secret)
                .and_then(|r| r.arn.value().cloned());
            plan.ops.push(Op::DisableRotation {
                secret: arn.unwrap_or_else(|| secret.clone()),
            });
        }
    }
    if observed.function.is_some() {
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::FUNCTION, &desired.name),
            vec![],
        ));
        plan.ops.push(Op::DeleteFunction {
            name: desired.name.clone(),
        });
    }
    if let Some(role) = &observed.role {
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::ROLE, &desired.name),
            vec![],
        ));
        plan.ops.push(Op::DeleteRole {
            name: desired.name.clone(),
            with_policy: role.policy.is_some(),
        });
    }
    remove_endpoints(&mut plan, desired, observed);
    plan
}

/// Plans deleting the endpoints tagged for the stack and their group.
fn remove_endpoints(plan: &mut RunnerPlan, desired: &Desired, observed: &Observed) {
    for endpoint in &observed.endpoints {
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::ENDPOINT, &endpoint.service),
            vec![("id", Value::from(&endpoint.id))],
        ));
    }
    if !observed.endpoints.is_empty() {
        plan.ops.push(Op::DeleteEndpoints {
            ids: observed.endpoints.iter().map(|e| e.id.clone()).collect(),
        });
    }
    if let Some(group) = &observed.endpoint_group {
        let name = format!("{}-endpoints", desired.stack);
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::SECURITY_GROUP, name),
            vec![("id", Value::from(&group.id))],
        ));
        plan.ops.push(Op::DeleteEndpointGroup {
            id: group.id.clone(),
        });
    }
}
