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

#[test]
fn a_rotation_in_progress_or_stuck_is_a_warning_and_never_a_change() {
    let desired = desired("");
    let mut observed = Observed::as_applied(&desired);
    let since = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
    let secret = observed
        .secrets
        .get_mut("demo/auth-token")
        .expect("applied");
    secret.rotation.pending = Some(PendingRotation {
        version: "v2".into(),
        since,
        stuck: false,
    });
    let plan = diff(&desired, &observed).expect("plans");
    assert!(!plan.has_writes());
    assert_eq!(plan.warnings.len(), 1);
    assert!(
        plan.warnings[0].contains("in progress (version v2 AWSPENDING since 2027-01-15T08:00:00Z)"),
        "{:?}",
        plan.warnings
    );
    let secret = observed
        .secrets
        .get_mut("demo/auth-token")
        .expect("applied");
    if let Some(pending) = secret.rotation.pending.as_mut() {
        pending.stuck = true;
    }
    secret.rotation.last_rotated = Some(since);
    let plan = diff(&desired, &observed).expect("plans");
    assert!(
        plan.warnings[0].contains("a rotation is stuck"),
        "{:?}",
        plan.warnings
    );
    assert_eq!(
        plan.outputs.last_rotated,
        [("demo/auth-token".to_owned(), since)]
    );
}

#[test]
fn the_rotated_tag_reads_as_its_version_and_time() {
    let mut tags = Tags::new();
    tags.insert(ROTATED_TAG.into(), "v9@2027-01-15T08:00:00Z".into());
    let (version, at) = rotated_at(&tags).expect("recorded");
    assert_eq!(version, "v9");
    assert_eq!(
        humantime::format_rfc3339_seconds(at).to_string(),
        "2027-01-15T08:00:00Z"
    );
    tags.insert(ROTATED_TAG.into(), "garbage".into());
    assert_eq!(rotated_at(&tags), None);
}
