//! The diff rules, one test each.

use plan::{Action, Known};
use spec::names::Scope;

use crate::diff::*;
use crate::*;

fn desired() -> Desired {
    let spec = spec::parse(
            "stack: demo\nregion: us-east-1\nengine: {name: valkey, version: \"8.0\"}\nnode_type: cache.t4g.micro\n\
             network: {create: {vpc_cidr: 10.0.0.0/16, subnets: [{availability_zone: us-east-1a, cidr: 10.0.1.0/24}, \
             {availability_zone: us-east-1b, cidr: 10.0.2.0/24}]}, allow: {cidrs: [10.0.0.0/8]}}\n",
            "t.yaml",
        )
        .expect("valid");
    Desired::from_spec(
        &spec,
        &Inputs {
            scope: Scope::new("111122223333", "us-east-1"),
        },
    )
}

#[test]
fn from_nothing_the_key_and_alias_are_created_with_rotation() {
    let plan = diff(&desired(), &Observed::default()).expect("plans");
    assert_eq!(plan.changes.len(), 2);
    assert!(plan.changes.iter().all(|c| c.action == Action::Create));
    assert_eq!(plan.ops.len(), 3);
    assert_eq!(plan.outputs.key_arn, Known::AfterApply);
}

#[test]
fn a_converged_key_plans_nothing() {
    let desired = desired();
    let plan = diff(&desired, &Observed::as_applied(&desired)).expect("plans");
    assert!(!plan.has_writes(), "{:?}", plan.ops);
    assert!(plan.changes.iter().all(|c| c.action == Action::NoOp));
}

#[test]
fn policy_rotation_and_state_drift_are_repaired() {
    let desired = desired();
    let mut observed = Observed::as_applied(&desired);
    let key = observed.key.as_mut().expect("key");
    key.rotation = false;
    key.state = "PendingDeletion".into();
    if let Some(serde_json::Value::Array(statements)) =
        key.policy.as_mut().and_then(|p| p.get_mut("Statement"))
    {
        statements.push(serde_json::json!({"Sid": "Extra", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}));
    }
    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(plan.changes[0].action, Action::Update);
    let names: Vec<&str> = plan.changes[0]
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["state", "rotation", "policy"]);
    assert_eq!(plan.ops[..2], [Op::CancelDeletion, Op::EnableKey]);
    assert!(matches!(plan.ops[2], Op::PutPolicy { .. }));
    assert_eq!(plan.ops[3], Op::EnableRotation);
}

#[test]
fn an_existing_key_must_exist_be_enabled_and_symmetric() {
    let scope = Scope::new("111122223333", "us-east-1");
    let desired = Desired::Existing {
        key: "alias/theirs".into(),
        scope: scope.clone(),
    };
    assert!(matches!(
        diff(&desired, &Observed::default()),
        Err(KmsError::KeyNotFound(_))
    ));
    let mut observed = Observed::as_applied(&self::desired());
    if let Some(key) = observed.key.as_mut() {
        key.state = "Disabled".into();
    }
    let error = diff(&desired, &observed).expect_err("disabled");
    assert!(error.to_string().contains("it is Disabled"), "{error}");
    if let Some(key) = observed.key.as_mut() {
        key.state = "Enabled".into();
        key.policy = Some(crate::policy::key_policy("x", &scope, &[]));
    }
    let plan = diff(&desired, &observed).expect("usable");
    assert!(plan.changes.is_empty());
    assert_eq!(plan.warnings.len(), 1, "the policy lacks CloudWatch Logs");
}

#[test]
fn destroy_schedules_deletion_and_removes_the_alias() {
    let desired = desired();
    let plan = diff_destroy(&desired, &Observed::as_applied(&desired));
    assert_eq!(
        plan.ops,
        [
            Op::DeleteAlias {
                alias: "alias/demo".into()
            },
            Op::ScheduleDeletion { days: 30 }
        ]
    );
}
