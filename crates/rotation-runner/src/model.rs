//! What the runner should be (from the spec and earlier steps' outputs) and what it is.

use std::collections::BTreeMap;

use plan::Known;
use serde_json::Value;
use spec::names::{self, Scope};
use spec::{AuthMode, Spec, VpcEndpoints};

pub use secrets::AutomaticRotation;

use crate::package::Package;
use crate::policy;

/// Tags as AWS stores them: key to value.
pub use plan::tags::Tags;

/// The tag on the function naming the package it runs (see [`Package::identity`]).
pub const PACKAGE_TAG: &str = "elasticache-action:package";

/// The statement id of the permission for Secrets Manager in the function's policy.
pub const INVOKE_STATEMENT: &str = "SecretsManagerRotation";

/// Seconds the function may run: Lambda's most, since a `set` step waits for ElastiCache.
pub const FUNCTION_TIMEOUT_SECONDS: i32 = 900;

/// The function's memory: it holds one TLS connection and a few requests.
pub const FUNCTION_MEMORY_MB: i32 = 256;

/// What earlier steps hand to this one.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// The account and region, for ARNs.
    pub scope: Scope,
    /// The stack's VPC.
    pub vpc_id: Known<String>,
    /// The stack's subnets.
    pub subnet_ids: Known<Vec<String>>,
    /// The cache's security group, which the function joins.
    pub cache_security_group_id: Known<String>,
    /// The stack key.
    pub kms_key_arn: Known<String>,
    /// `(name, ARN)` of each credential secret.
    pub secrets: Vec<(String, Known<String>)>,
    /// The package, read (a local zip) or named (a release) by the front end; `None`
    /// when only names are needed (observation).
    pub package: Option<Package>,
}

/// The runner the spec asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// Whether `runner: lambda` (otherwise everything found is removed).
    pub enabled: bool,
    /// The stack.
    pub stack: String,
    /// The function's, the role's name.
    pub name: String,
    /// The tags of everything created.
    pub tags: Tags,
    /// The role.
    pub role: DesiredRole,
    /// The function.
    pub function: DesiredFunction,
    /// The endpoints, unless the VPC has them.
    pub endpoints: Option<DesiredEndpoints>,
    /// One rotation configuration per credential secret.
    pub rotations: Vec<DesiredRotation>,
    /// The account, for the invoke permission's condition.
    pub account: String,
}

/// The function's role.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredRole {
    /// Who may assume it: Lambda, for this account's functions.
    pub trust: Value,
    /// Its inline policy; unknown until every ARN is.
    pub policy: Known<Value>,
}

/// The function.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredFunction {
    /// `arm64` or `x86_64`.
    pub architecture: &'static str,
    /// The code; `None` in a names-only desired state.
    pub package: Option<Package>,
    /// Its environment: the stack, how to test, the grace period.
    pub environment: BTreeMap<String, String>,
    /// Its subnets.
    pub subnet_ids: Known<Vec<String>>,
    /// Its security groups: the cache's.
    pub security_group_ids: Known<Vec<String>>,
}

/// The endpoints and their security group.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredEndpoints {
    /// The group's name.
    pub group_name: String,
    /// The VPC.
    pub vpc_id: Known<String>,
    /// Where the endpoints' interfaces go.
    pub subnet_ids: Known<Vec<String>>,
    /// The group admitted on 443: the cache's, which the function is in.
    pub clients: Known<String>,
    /// The service names, `com.amazonaws.<region>.secretsmanager` and `.elasticache`.
    pub services: Vec<String>,
}

/// One secret's rotation configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredRotation {
    /// The secret's name.
    pub secret: String,
    /// Its ARN.
    pub arn: Known<String>,
    /// The schedule, as the spec writes it.
    pub schedule: String,
    /// Whether turning it on also rotates at once.
    pub rotate_on_enable: bool,
}

impl Desired {
    /// The runner `spec` asks for, from the earlier steps' `inputs`.
    pub fn from_spec(spec: &Spec, inputs: &Inputs) -> Desired {
        let rotation = &spec.auth.rotation;
        let name = names::rotation_function(spec);
        let mut tags = spec.tags.clone();
        tags.insert(spec::STACK_TAG.to_owned(), spec.stack.clone());
        let scope = &inputs.scope;
        let secret_arns: Vec<Known<String>> =
            inputs.secrets.iter().map(|(_, arn)| arn.clone()).collect();
        let arns = policy::Arns {
            secrets: secret_arns,
            key: inputs.kms_key_arn.clone(),
            replication_group: names::replication_group_id(spec),
            users: rbac_user_ids(spec),
            log_group: names::rotation_log_group(spec),
            subnets: inputs.subnet_ids.clone(),
            vpc: inputs.vpc_id.clone(),
            security_group: inputs.cache_security_group_id.clone(),
        };
        let endpoints =
            (rotation.lambda.vpc_endpoints == VpcEndpoints::Create).then(|| DesiredEndpoints {
                group_name: format!("{}-endpoints", spec.stack),
                vpc_id: inputs.vpc_id.clone(),
                subnet_ids: inputs.subnet_ids.clone(),
                clients: inputs.cache_security_group_id.clone(),
                services: ["secretsmanager", "elasticache"]
                    .map(|service| format!("com.amazonaws.{}.{service}", scope.region))
                    .to_vec(),
            });
        Desired {
            enabled: rotation.lambda_runner(),
            stack: spec.stack.clone(),
            role: DesiredRole {
                trust: policy::trust(&scope.account),
                policy: policy::permissions(scope, &arns),
            },
            function: DesiredFunction {
                architecture: rotation.lambda.architecture.as_str(),
                package: inputs.package.clone(),
                environment: environment(spec),
                subnet_ids: inputs.subnet_ids.clone(),
                security_group_ids: inputs.cache_security_group_id.clone().map(|id| vec![id]),
            },
            endpoints,
            rotations: inputs
                .secrets
                .iter()
                .map(|(secret, arn)| DesiredRotation {
                    secret: secret.clone(),
                    arn: arn.clone(),
                    schedule: rotation.schedule.clone().unwrap_or_default(),
                    rotate_on_enable: rotation.lambda.rotate_on_enable,
                })
                .collect(),
            account: scope.account.clone(),
            name,
            tags,
        }
    }
}

/// The RBAC users whose passwords rotate.
fn rbac_user_ids(spec: &Spec) -> Vec<String> {
    match spec.auth.mode {
        AuthMode::Rbac => spec
            .auth
            .users
            .iter()
            .map(|user| names::rbac_user_id(spec, &user.name))
            .collect(),
        _ => Vec::new(),
    }
}

/// The function's settings, as `rotation-lambda` reads them.
fn environment(spec: &Spec) -> BTreeMap<String, String> {
    let rotation = &spec.auth.rotation;
    let previous = match &rotation.previous {
        spec::PreviousCredential::Keep(_) => "keep".to_owned(),
        spec::PreviousCredential::RevokeAfter { revoke_after } => revoke_after.clone(),
    };
    BTreeMap::from([
        ("ELASTICACHE_ACTION_STACK".to_owned(), spec.stack.clone()),
        (
            "ROTATION_TEST".to_owned(),
            rotation.lambda.test.as_str().to_owned(),
        ),
        ("ROTATION_PREVIOUS".to_owned(), previous),
        // Under the function's timeout, so a slow ElastiCache ends in a clear error.
        ("ROTATION_TIMEOUT".to_owned(), "13m".to_owned()),
    ])
}

/// The runner as it is in AWS.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// The role, by name.
    pub role: Option<ObservedRole>,
    /// The function, by name.
    pub function: Option<ObservedFunction>,
    /// The endpoints' security group, by name in the stack's VPC.
    pub endpoint_group: Option<ObservedEndpointGroup>,
    /// Endpoints tagged for the stack that are not deleted or deleting.
    pub endpoints: Vec<ObservedEndpoint>,
    /// Each desired secret's rotation configuration, by name (from the secrets step's
    /// listing in a plan); a secret that does not exist yet is absent.
    pub rotations: BTreeMap<String, AutomaticRotation>,
}

/// The role and its inline policy.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedRole {
    /// Its ARN.
    pub arn: String,
    /// Its trust policy.
    pub trust: Option<Value>,
    /// The inline policy named like the role; `None` when absent.
    pub policy: Option<Value>,
    /// Its tags.
    pub tags: Tags,
}

/// The function as `GetFunction` describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObservedFunction {
    /// Its ARN.
    pub arn: String,
    /// Base64 SHA-256 of its code package.
    pub code_sha256: String,
    /// Its architecture.
    pub architecture: String,
    /// Its runtime.
    pub runtime: String,
    /// Its role's ARN.
    pub role: String,
    /// Its environment.
    pub environment: BTreeMap<String, String>,
    /// Its subnets.
    pub subnet_ids: Vec<String>,
    /// Its security groups.
    pub security_group_ids: Vec<String>,
    /// Seconds it may run.
    pub timeout: i32,
    /// Its memory in MB.
    pub memory: i32,
    /// Its tags.
    pub tags: Tags,
    /// Whether its resource policy lets Secrets Manager invoke it (our statement).
    pub invokable: bool,
}

/// The endpoints' security group.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedEndpointGroup {
    /// Its id.
    pub id: String,
    /// The groups admitted on 443.
    pub admitted: Vec<String>,
}

/// An interface endpoint tagged for the stack.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedEndpoint {
    /// Its id.
    pub id: String,
    /// Its service name.
    pub service: String,
}

#[cfg(any(test, feature = "test-util"))]
impl Observed {
    /// What AWS reports after a successful apply of `desired`.
    pub fn as_applied(desired: &Desired) -> Observed {
        let function_arn = format!(
            "arn:aws:lambda:us-east-1:{}:function:{}",
            desired.account, desired.name
        );
        let function = &desired.function;
        let package = function.package.as_ref();
        let mut tags = desired.tags.clone();
        if let Some(package) = package {
            tags.insert(PACKAGE_TAG.to_owned(), package.identity());
        }
        Observed {
            role: Some(ObservedRole {
                arn: format!("arn:aws:iam::{}:role/{}", desired.account, desired.name),
                trust: Some(desired.role.trust.clone()),
                policy: desired.role.policy.value().cloned(),
                tags: desired.tags.clone(),
            }),
            function: Some(ObservedFunction {
                arn: function_arn.clone(),
                code_sha256: package.and_then(Package::sha256).unwrap_or_default(),
                architecture: function.architecture.to_owned(),
                runtime: crate::diff::RUNTIME.to_owned(),
                role: format!("arn:aws:iam::{}:role/{}", desired.account, desired.name),
                environment: function.environment.clone(),
                subnet_ids: function.subnet_ids.value().cloned().unwrap_or_default(),
                security_group_ids: (function.security_group_ids.value().cloned())
                    .unwrap_or_default(),
                timeout: FUNCTION_TIMEOUT_SECONDS,
                memory: FUNCTION_MEMORY_MB,
                tags,
                invokable: true,
            }),
            endpoint_group: desired.endpoints.as_ref().map(|e| ObservedEndpointGroup {
                id: "sg-endpoints".into(),
                admitted: e.clients.value().cloned().into_iter().collect(),
            }),
            endpoints: (desired.endpoints.iter())
                .flat_map(|e| e.services.iter())
                .enumerate()
                .map(|(i, service)| ObservedEndpoint {
                    id: format!("vpce-{i}"),
                    service: service.clone(),
                })
                .collect(),
            rotations: desired
                .rotations
                .iter()
                .map(|r| {
                    let rotation = AutomaticRotation {
                        enabled: true,
                        lambda_arn: Some(function_arn.clone()),
                        schedule: Some(r.schedule.clone()),
                        after_days: None,
                    };
                    (r.secret.clone(), rotation)
                })
                .collect(),
        }
    }
}
