//! What the step wants and what it finds.

use std::collections::BTreeMap;

use cluster::ClusterOutputs;
use plan::Known;
use plan::tags::Tags;
use spec::names::Scope;
use spec::{AuthMode, Spec, names};

use crate::document;

/// What steps 1-8 hand to this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// Where the stack lives: policy and parameter ARNs are built from it.
    pub scope: Scope,
    /// The stack key's ARN.
    pub kms_key_arn: Known<String>,
    /// `(secret name, ARN)` per secret of step 7.
    pub secrets: Vec<(String, Known<String>)>,
    /// The replication group's outputs.
    pub cluster: ClusterOutputs,
}

/// One SSM parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// Its full name (`/<stack>/port`).
    pub name: String,
    /// Its value.
    pub value: Known<String>,
}

/// One managed policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Its name.
    pub name: String,
    /// Its ARN (IAM policy ARNs are derived from account and name).
    pub arn: String,
    /// Its description.
    pub description: String,
    /// Its document, once every ARN in it is known.
    pub document: Known<serde_json::Value>,
    /// Roles it is attached to.
    pub roles: Vec<String>,
}

/// What the spec asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The parameter path, ending in `/`.
    pub prefix: String,
    /// The parameters, in a stable order.
    pub parameters: Vec<Parameter>,
    /// `SecureString` under this key, or plain `String` when `None`.
    pub secure_with: Option<Known<String>>,
    /// The policies (none when `outputs.iam_policies` is off).
    pub policies: Vec<Policy>,
    /// The names of policies this stack may own, wanted or not (clean-up looks for
    /// them).
    pub policy_names: Vec<(String, String)>,
    /// Tags for what is created.
    pub tags: Tags,
}

impl Desired {
    /// What `spec` asks for in `scope`, given the earlier steps' outputs.
    pub fn from_spec(spec: &Spec, inputs: &Inputs) -> Desired {
        let scope = &inputs.scope;
        let prefix = names::ssm_prefix(spec);
        let parameters = parameters(spec, &prefix, scope, inputs);
        let mut tags = spec.tags.clone();
        tags.insert(spec::STACK_TAG.to_owned(), spec.stack.clone());
        let policy_arn = |name: &str| {
            format!(
                "arn:{}:iam::{}:policy/{name}",
                scope.partition, scope.account
            )
        };
        let policy_names = vec![
            (
                names::read_policy(spec),
                policy_arn(&names::read_policy(spec)),
            ),
            (
                names::connect_policy(spec),
                policy_arn(&names::connect_policy(spec)),
            ),
        ];
        let policy = |index: usize, description: String, document: Known<serde_json::Value>| {
            let (name, arn): &(String, String) = &policy_names[index];
            Policy {
                name: name.clone(),
                arn: arn.clone(),
                description,
                document,
                roles: spec.outputs.attach_to_roles.clone(),
            }
        };
        let mut policies = Vec::new();
        if spec.outputs.iam_policies {
            let parameter_arns: Vec<String> = parameters
                .iter()
                .map(|p| document::parameter_arn(scope, &p.name))
                .collect();
            let secret_arns: Vec<Known<String>> =
                inputs.secrets.iter().map(|(_, arn)| arn.clone()).collect();
            policies.push(policy(
                0,
                format!(
                    "Read the connection parameters and credentials of ElastiCache stack {}",
                    spec.stack
                ),
                document::read_connection(
                    scope,
                    &parameter_arns,
                    &secret_arns,
                    &inputs.kms_key_arn,
                ),
            ));
            if spec.auth.mode == AuthMode::Iam {
                policies.push(policy(
                    1,
                    format!(
                        "Connect to ElastiCache stack {} with IAM authentication",
                        spec.stack
                    ),
                    Known::Value(document::connect(
                        scope,
                        &inputs.cluster.replication_group_id,
                        &inputs.cluster.user_ids,
                    )),
                ));
            }
        }
        Desired {
            prefix,
            parameters,
            secure_with: spec.outputs.ssm_secure.then(|| inputs.kms_key_arn.clone()),
            policies,
            policy_names,
            tags,
        }
    }
}

/// The parameter names this crate writes, relative to the prefix.
pub mod parameter_names {
    /// The primary endpoint (cluster mode disabled).
    pub const PRIMARY_ENDPOINT: &str = "primary_endpoint";
    /// The reader endpoint (cluster mode disabled).
    pub const READER_ENDPOINT: &str = "reader_endpoint";
    /// The configuration endpoint (cluster mode enabled).
    pub const CONFIGURATION_ENDPOINT: &str = "configuration_endpoint";
    /// The port.
    pub const PORT: &str = "port";
    /// The ARN of the AUTH-token secret.
    pub const TOKEN_SECRET_ARN: &str = "auth_token_secret_arn";
    /// The replication group id (IAM authentication signs it).
    pub const REPLICATION_GROUP_ID: &str = "replication_group_id";
    /// The region (IAM authentication signs for it).
    pub const REGION: &str = "region";
    /// The user ids, comma-separated (RBAC and IAM).
    pub const USER_IDS: &str = "user_ids";

    /// Whether `relative` is a name this crate writes: only those are ever deleted
    /// from a prefix the user may share.
    pub fn is_ours(relative: &str) -> bool {
        [
            PRIMARY_ENDPOINT,
            READER_ENDPOINT,
            CONFIGURATION_ENDPOINT,
            PORT,
            TOKEN_SECRET_ARN,
            REPLICATION_GROUP_ID,
            REGION,
            USER_IDS,
        ]
        .contains(&relative)
            || relative
                .strip_prefix("users/")
                .and_then(|rest| rest.strip_suffix("/secret_arn"))
                .is_some_and(|user| !user.contains('/'))
    }
}

fn parameters(spec: &Spec, prefix: &str, scope: &Scope, inputs: &Inputs) -> Vec<Parameter> {
    use parameter_names::*;
    let mut parameters = Vec::new();
    let mut push = |relative: String, value: Known<String>| {
        parameters.push(Parameter {
            name: format!("{prefix}{relative}"),
            value,
        });
    };
    let wanted = if spec.cluster.mode == spec::ClusterMode::Enabled {
        vec![CONFIGURATION_ENDPOINT]
    } else {
        vec![PRIMARY_ENDPOINT, READER_ENDPOINT]
    };
    for name in wanted {
        let value = match &inputs.cluster.endpoints {
            Known::AfterApply => Some(Known::AfterApply),
            Known::Value(found) => match name {
                PRIMARY_ENDPOINT => found.primary.clone(),
                READER_ENDPOINT => found.reader.clone(),
                _ => found.configuration.clone(),
            }
            .map(Known::Value),
        };
        // An endpoint ElastiCache does not report is left out rather than left empty.
        if let Some(value) = value {
            push(name.to_owned(), value);
        }
    }
    // The port the group reports, known once it exists (on AWS, the one asked for).
    let port = match &inputs.cluster.endpoints {
        Known::AfterApply => Known::AfterApply,
        Known::Value(_) => Known::Value(inputs.cluster.port.to_string()),
    };
    push(PORT.to_owned(), port);
    match spec.auth.mode {
        AuthMode::Token => {
            if let Some((_, arn)) = inputs.secrets.first() {
                push(TOKEN_SECRET_ARN.to_owned(), arn.clone());
            }
        }
        AuthMode::Rbac => {
            for (user, (_, arn)) in spec.auth.users.iter().zip(&inputs.secrets) {
                push(format!("users/{}/secret_arn", user.name), arn.clone());
            }
        }
        AuthMode::Iam => {
            push(
                REPLICATION_GROUP_ID.to_owned(),
                Known::Value(inputs.cluster.replication_group_id.clone()),
            );
            push(REGION.to_owned(), Known::Value(scope.region.clone()));
        }
        AuthMode::None => {}
    }
    if !inputs.cluster.user_ids.is_empty() {
        push(
            USER_IDS.to_owned(),
            Known::Value(inputs.cluster.user_ids.join(",")),
        );
    }
    parameters
}

/// What exists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Parameters under the prefix with names this crate writes, by full name.
    pub parameters: BTreeMap<String, ObservedParameter>,
    /// The stack's policies that exist, by name.
    pub policies: BTreeMap<String, ObservedPolicy>,
    /// Roles the spec names that do not exist.
    pub missing_roles: Vec<String>,
}

/// A parameter as SSM describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedParameter {
    /// Its value (decrypted).
    pub value: String,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    /// The KMS key of a `SecureString`.
    pub key_id: Option<String>,
}

/// A managed policy as IAM describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedPolicy {
    /// The default version's document, as far as the plan needs it. The other versions
    /// are not read to plan (they matter only to the write that adds or deletes one,
    /// which lists them itself, as Terraform does).
    pub document: ObservedDocument,
    /// Roles it is attached to.
    pub roles: Vec<String>,
}

/// What a plan knows of a policy's default version.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservedDocument {
    /// Read with `GetPolicyVersion`.
    Read(serde_json::Value),
    /// Not read: the default version is the one this project wrote, and the policy's
    /// [`DOCUMENT_TAG`] records that version and the digest of what it holds. Read
    /// only when the desired document's digest differs
    /// ([`Policies::read_documents`](crate::Policies::read_documents)).
    Written {
        /// The default version's id, `v3`.
        version: String,
        /// [`crate::document::digest`] of the document written.
        digest: String,
    },
}

/// The tag on each policy recording the version this project last wrote and its
/// document's digest, `v3:<sha-256>`. It saves a plan the read of an unchanged
/// document; when it does not match the default version (an edit in the console, a
/// run stopped between the write and the tag) the document is read.
pub const DOCUMENT_TAG: &str = "elasticache-action:document";

#[cfg(any(test, feature = "test-util"))]
impl Observed {
    /// What SSM and IAM report after a successful apply of `desired`.
    pub fn as_applied(desired: &Desired) -> Observed {
        let (kind, key_id) = match &desired.secure_with {
            Some(key) => ("SecureString", key.value().cloned()),
            None => ("String", None),
        };
        Observed {
            parameters: desired
                .parameters
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        ObservedParameter {
                            value: p.value.value().cloned().unwrap_or_default(),
                            kind: kind.into(),
                            key_id: key_id.clone(),
                        },
                    )
                })
                .collect(),
            policies: desired
                .policies
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        ObservedPolicy {
                            document: ObservedDocument::Read(
                                p.document.value().cloned().unwrap_or_default(),
                            ),
                            roles: p.roles.clone(),
                        },
                    )
                })
                .collect(),
            missing_roles: Vec::new(),
        }
    }
}
