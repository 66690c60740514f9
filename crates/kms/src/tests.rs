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
            Op::ScheduleDeletion {
                key_id: "k-1".into(),
                days: 30
            }
        ]
    );
}

#[test]
fn a_duplicate_key_has_its_deletion_scheduled_beside_the_adopted_one() {
    let desired = desired();
    let mut observed = Observed::as_applied(&desired);
    observed.alias_missing = true;
    observed.duplicate_keys = vec!["k-2".into()];
    let plan = diff(&desired, &observed).expect("plans");
    let duplicate = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "k-2 (duplicate, no alias)")
        .expect("the duplicate is shown");
    assert_eq!(duplicate.action, Action::Delete);
    assert_eq!(
        plan.ops.last(),
        Some(&Op::ScheduleDeletion {
            key_id: "k-2".into(),
            days: 30
        })
    );
    assert_eq!(
        plan.ops[0],
        Op::CreateAlias {
            alias: "alias/demo".into()
        },
        "the adopted key gets the alias"
    );
    let destroy = diff_destroy(&desired, &observed);
    assert!(destroy.ops.contains(&Op::ScheduleDeletion {
        key_id: "k-2".into(),
        days: 30
    }));
}
