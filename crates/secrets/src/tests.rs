//! The diff rules, one test each.

use plan::{Action, Known, Value};

use crate::diff::*;
use crate::*;

fn desired(auth: &str) -> Desired {
    let source = format!(
        "stack: demo\nregion: us-east-1\nengine: {{name: valkey, version: \"8.0\"}}\nnode_type: cache.t4g.micro\n\
             network: {{create: {{vpc_cidr: 10.0.0.0/16, subnets: [{{availability_zone: us-east-1a, cidr: 10.0.1.0/24}}, \
             {{availability_zone: us-east-1b, cidr: 10.0.2.0/24}}]}}, allow: {{cidrs: [10.0.0.0/8]}}}}\n{auth}"
    );
    Desired::from_spec(
        &spec::parse(&source, "t.yaml").expect("valid"),
        &Inputs {
            kms_key_arn: Known::Value("arn:key".into()),
        },
    )
}

#[test]
fn a_new_secret_shows_its_value_only_as_sensitive() {
    let plan = diff(&desired(""), &Observed::default()).expect("plans");
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].resource.name, "demo/auth-token");
    let value = plan.changes[0]
        .attributes
        .iter()
        .find(|a| a.name == "value")
        .expect("value");
    assert_eq!(value.after, Some(Value::Sensitive));
}

#[test]
fn an_existing_secret_is_never_regenerated() {
    let desired = desired("");
    let plan = diff(&desired, &Observed::as_applied(&desired)).expect("plans");
    assert!(!plan.has_writes());
    assert_eq!(plan.changes[0].action, Action::NoOp);
}

#[test]
fn rbac_has_a_secret_per_user_and_drops_removed_users() {
    let two = desired("auth: {mode: rbac, users: [{name: app}, {name: reporting}]}\n");
    assert_eq!(two.secrets.len(), 2);
    assert_eq!(
        two.secrets[1].content.username.as_deref(),
        Some("reporting")
    );
    let one = desired("auth: {mode: rbac, users: [{name: app}]}\n");
    let plan = diff(&one, &Observed::as_applied(&two)).expect("plans");
    assert_eq!(
        plan.ops,
        [Op::Delete {
            name: "demo/users/reporting".into(),
            recovery_window_days: Some(30)
        }]
    );
}

#[test]
fn a_secret_pending_deletion_is_restored_and_drift_repaired() {
    let desired = desired("");
    let mut observed = Observed::as_applied(&desired);
    let secret = observed.secrets.values_mut().next().expect("secret");
    secret.deleted = true;
    secret.kms_key = None;
    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(plan.changes[0].action, Action::Update);
    assert!(matches!(plan.ops[0], Op::Restore { .. }));
    assert!(matches!(plan.ops[1], Op::Update { .. }));
}

#[test]
fn destroy_keeps_a_recovery_window_unless_forced() {
    let desired = desired("");
    let observed = Observed::as_applied(&desired);
    let plan = diff_destroy(&desired, &observed, false);
    assert_eq!(
        plan.ops,
        [Op::Delete {
            name: "demo/auth-token".into(),
            recovery_window_days: Some(30)
        }]
    );
    let forced = diff_destroy(&desired, &observed, true);
    assert_eq!(
        forced.ops,
        [Op::Delete {
            name: "demo/auth-token".into(),
            recovery_window_days: None
        }]
    );
}
