//! The pure half: which parameters and policies to write, in which order.

use plan::tags::{Tags, tags_value};
use plan::{Change, Diff, Known, ResourceId, Value};

use crate::document::statements;
use crate::{
    Desired, Observed, ObservedDocument, ObservedPolicy, Parameter, PoliciesError, Policy,
};

/// Resource kinds this step shows.
pub mod kinds {
    /// An SSM parameter.
    pub const PARAMETER: &str = "ssm_parameter";
    /// An IAM managed policy.
    pub const POLICY: &str = "iam_policy";
}

/// One write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    PutParameter {
        name: String,
        value: Known<String>,
        secure_with: Option<Known<String>>,
        /// Tags go on at creation; SSM refuses them with `Overwrite`.
        tags: Option<Tags>,
    },
    DeleteParameters {
        names: Vec<String>,
    },
    CreatePolicy {
        name: String,
        description: String,
        document: Known<serde_json::Value>,
        tags: Tags,
    },
    /// Makes room first when IAM's five versions are taken.
    CreatePolicyVersion {
        arn: String,
        document: Known<serde_json::Value>,
    },
    Attach {
        arn: String,
        role: String,
    },
    Detach {
        arn: String,
        role: String,
    },
    /// Deletes the policy's other versions first.
    DeletePolicy {
        arn: String,
    },
}

/// This step's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PoliciesPlan {
    /// One change per parameter and policy.
    pub changes: Vec<Change>,
    /// What the user should know.
    pub warnings: Vec<String>,
    /// What applications need, as far as known.
    pub outputs: PoliciesOutputs,
    pub(crate) ops: Vec<Op>,
}

impl PoliciesPlan {
    /// Whether apply would write anything.
    pub fn has_writes(&self) -> bool {
        !self.ops.is_empty()
    }
}

/// What applications need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoliciesOutputs {
    /// The parameters' full names.
    pub parameters: Vec<String>,
    /// `(name, ARN)` per policy.
    pub policies: Vec<(String, String)>,
}

fn kind(secure_with: Option<&Known<String>>) -> &'static str {
    if secure_with.is_some() {
        "SecureString"
    } else {
        "String"
    }
}

fn empty_plan(desired: &Desired) -> PoliciesPlan {
    PoliciesPlan {
        changes: Vec::new(),
        warnings: Vec::new(),
        outputs: PoliciesOutputs {
            parameters: desired.parameters.iter().map(|p| p.name.clone()).collect(),
            policies: desired
                .policies
                .iter()
                .map(|p| (p.name.clone(), p.arn.clone()))
                .collect(),
        },
        ops: Vec::new(),
    }
}

/// Plans parameters and policies; a role the spec names that does not exist is an
/// error here, before anything is written.
pub fn diff(desired: &Desired, observed: &Observed) -> Result<PoliciesPlan, PoliciesError> {
    if let Some(role) = observed.missing_roles.first() {
        return Err(PoliciesError::RoleNotFound(role.clone()));
    }
    let mut plan = empty_plan(desired);
    for parameter in &desired.parameters {
        parameter_diff(&mut plan, desired, parameter, observed);
    }
    let unwanted: Vec<String> = observed
        .parameters
        .keys()
        .filter(|name| !desired.parameters.iter().any(|p| &p.name == *name))
        .cloned()
        .collect();
    delete_parameters(&mut plan, unwanted);
    for policy in &desired.policies {
        policy_diff(
            &mut plan,
            desired,
            policy,
            observed.policies.get(&policy.name),
        );
    }
    for (name, arn) in &desired.policy_names {
        if let Some(found) = observed.policies.get(name)
            && !desired.policies.iter().any(|p| &p.name == name)
        {
            delete_policy(&mut plan, name, arn, found);
        }
    }
    Ok(plan)
}

fn parameter_diff(
    plan: &mut PoliciesPlan,
    desired: &Desired,
    wanted: &Parameter,
    observed: &Observed,
) {
    let id = ResourceId::new(kinds::PARAMETER, &wanted.name);
    let secure_with = desired.secure_with.clone();
    let key_value =
        |key: Option<&Known<String>>| key.map_or(Value::from("none"), Known::to_plan_value);
    let Some(found) = observed.parameters.get(&wanted.name) else {
        plan.changes.push(Change::create(
            id,
            vec![
                ("type", Value::from(kind(secure_with.as_ref()))),
                ("value", wanted.value.to_plan_value()),
                ("kms_key_id", key_value(secure_with.as_ref())),
            ],
        ));
        plan.ops.push(Op::PutParameter {
            name: wanted.name.clone(),
            value: wanted.value.clone(),
            secure_with,
            tags: Some(desired.tags.clone()),
        });
        return;
    };
    let found_key = found.key_id.clone().map(Known::Value);
    let change = Diff::new(id)
        .attribute(
            "type",
            Value::from(&found.kind),
            Value::from(kind(secure_with.as_ref())),
        )
        .attribute(
            "value",
            Value::from(&found.value),
            wanted.value.to_plan_value(),
        )
        .attribute(
            "kms_key_id",
            key_value(found_key.as_ref().filter(|_| found.kind == "SecureString")),
            key_value(secure_with.as_ref()),
        )
        .finish();
    // SSM does not change a parameter's type on overwrite: it is written anew (its
    // value is ours to write again).
    let retyped = found.kind != kind(secure_with.as_ref());
    if retyped {
        plan.ops.push(Op::DeleteParameters {
            names: vec![wanted.name.clone()],
        });
    }
    if change.is_change() {
        plan.ops.push(Op::PutParameter {
            name: wanted.name.clone(),
            value: wanted.value.clone(),
            secure_with,
            tags: retyped.then(|| desired.tags.clone()),
        });
    }
    plan.changes.push(change);
}

fn delete_parameters(plan: &mut PoliciesPlan, names: Vec<String>) {
    if names.is_empty() {
        return;
    }
    for name in &names {
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::PARAMETER, name),
            Vec::new(),
        ));
    }
    plan.ops.push(Op::DeleteParameters { names });
}

fn document_value(document: &Known<serde_json::Value>) -> Value {
    match document {
        Known::Value(document) => {
            Value::List(statements(document).into_iter().map(Value::Text).collect())
        }
        Known::AfterApply => Value::Unknown,
    }
}

/// The document found: read, or recorded as written with the digest of the one
/// wanted (then it is that one). Unknown when the digests differ and it was not read
/// ([`crate::Policies::read_documents`] reads it for a plan).
fn found_document(
    found: &ObservedDocument,
    wanted: &Known<serde_json::Value>,
) -> Known<serde_json::Value> {
    match (found, wanted) {
        (ObservedDocument::Read(document), _) => Known::Value(document.clone()),
        (ObservedDocument::Written { digest, .. }, Known::Value(wanted))
            if crate::document::digest(wanted) == *digest =>
        {
            Known::Value(wanted.clone())
        }
        (ObservedDocument::Written { .. }, _) => Known::AfterApply,
    }
}

fn policy_diff(
    plan: &mut PoliciesPlan,
    desired: &Desired,
    policy: &Policy,
    observed: Option<&ObservedPolicy>,
) {
    let id = ResourceId::new(kinds::POLICY, &policy.name);
    let Some(found) = observed else {
        plan.changes.push(Change::create(
            id,
            vec![
                ("statements", document_value(&policy.document)),
                ("attached_roles", Value::set(policy.roles.iter().cloned())),
                ("tags", tags_value(&desired.tags)),
            ],
        ));
        plan.ops.push(Op::CreatePolicy {
            name: policy.name.clone(),
            description: policy.description.clone(),
            document: policy.document.clone(),
            tags: desired.tags.clone(),
        });
        for role in &policy.roles {
            plan.ops.push(Op::Attach {
                arn: policy.arn.clone(),
                role: role.clone(),
            });
        }
        return;
    };
    let found_document = found_document(&found.document, &policy.document);
    let document_changed = policy.document.value() != found_document.value();
    plan.changes.push(
        Diff::new(id)
            .attribute(
                "statements",
                document_value(&found_document),
                document_value(&policy.document),
            )
            .attribute(
                "attached_roles",
                Value::set(found.roles.iter().cloned()),
                Value::set(policy.roles.iter().cloned()),
            )
            .finish(),
    );
    if document_changed {
        plan.ops.push(Op::CreatePolicyVersion {
            arn: policy.arn.clone(),
            document: policy.document.clone(),
        });
    }
    for role in policy.roles.iter().filter(|r| !found.roles.contains(r)) {
        plan.ops.push(Op::Attach {
            arn: policy.arn.clone(),
            role: role.clone(),
        });
    }
    for role in found.roles.iter().filter(|r| !policy.roles.contains(r)) {
        plan.ops.push(Op::Detach {
            arn: policy.arn.clone(),
            role: role.clone(),
        });
    }
}

/// Detaches every role, deletes the non-default versions, then the policy: the order
/// IAM requires (it refuses to delete an attached policy or one with other versions).
fn delete_policy(plan: &mut PoliciesPlan, name: &str, arn: &str, found: &ObservedPolicy) {
    plan.changes.push(Change::delete(
        ResourceId::new(kinds::POLICY, name),
        vec![
            ("arn", Value::from(arn)),
            ("attached_roles", Value::set(found.roles.iter().cloned())),
        ],
    ));
    for role in &found.roles {
        plan.ops.push(Op::Detach {
            arn: arn.to_owned(),
            role: role.clone(),
        });
    }
    plan.ops.push(Op::DeletePolicy {
        arn: arn.to_owned(),
    });
}

/// Plans destroy: the stack's parameters and policies.
pub fn diff_destroy(desired: &Desired, observed: &Observed) -> PoliciesPlan {
    let mut plan = empty_plan(desired);
    delete_parameters(&mut plan, observed.parameters.keys().cloned().collect());
    for (name, arn) in &desired.policy_names {
        if let Some(found) = observed.policies.get(name) {
            delete_policy(&mut plan, name, arn, found);
        }
    }
    plan
}
