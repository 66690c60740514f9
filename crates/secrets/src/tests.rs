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

mod document_fields {
    use plan::{Action, Known};
    use spec::names::Scope;

    use crate::document::{self, DOCUMENT_TAG, Desired, Inputs, digest};
    use crate::{Observed, ObservedSecret, PendingRotation, ROTATED_TAG, RotationSeen, Tags};

    fn desired(auth: &str, host: Known<String>) -> Desired {
        let source = format!(
            "stack: demo\nregion: eu-west-1\nengine: {{name: valkey, version: \"8.0\"}}\nnode_type: cache.t4g.micro\n\
             network: {{create: {{vpc_cidr: 10.0.0.0/16, subnets: [{{availability_zone: eu-west-1a, cidr: 10.0.1.0/24}}, \
             {{availability_zone: eu-west-1b, cidr: 10.0.2.0/24}}]}}, allow: {{cidrs: [10.0.0.0/8]}}}}\n{auth}"
        );
        let spec = spec::parse(&source, "t.yaml").expect("valid");
        let inputs = Inputs {
            scope: Scope::new("111122223333", "eu-west-1"),
            host,
            port: 6379,
        };
        Desired::from_spec(&spec, &inputs)
    }

    fn host() -> Known<String> {
        Known::Value("master.demo.abc.euw1.cache.amazonaws.com".into())
    }

    fn existing(tags: Tags, rotation: RotationSeen) -> Observed {
        let secret = ObservedSecret {
            arn: "arn:secret".into(),
            description: String::new(),
            kms_key: None,
            tags,
            deleted: false,
            rotation,
        };
        Observed {
            secrets: [("demo/auth-token".to_owned(), secret)].into(),
        }
    }

    #[test]
    fn a_secret_created_in_this_apply_gets_its_fields_without_a_change_of_its_own() {
        let plan = document::diff(&desired("", host()), &Observed::default()).expect("plans");
        assert!(plan.changes.is_empty());
        assert!(plan.has_writes());
    }

    #[test]
    fn an_existing_secret_without_the_fields_is_updated_and_then_in_sync() {
        let wanted = desired("", host());
        let plan = document::diff(&wanted, &existing(Tags::new(), RotationSeen::default()))
            .expect("plans");
        assert_eq!(plan.changes[0].action, Action::Update);
        let shown = format!("{:?}", plan.changes[0].attributes);
        assert!(
            shown.contains("(none)") && shown.contains("port=6379"),
            "{shown}"
        );
        assert!(plan.has_writes());
        let Known::Value(fields) = &wanted.documents[0].fields else {
            panic!("known fields");
        };
        let tags: Tags = [(DOCUMENT_TAG.to_owned(), digest(fields))].into();
        let plan =
            document::diff(&wanted, &existing(tags, RotationSeen::default())).expect("plans");
        assert_eq!(plan.changes[0].action, Action::NoOp);
        assert!(!plan.has_writes());
    }

    #[test]
    fn nothing_is_written_while_a_rotation_is_pending() {
        let pending = RotationSeen {
            pending: Some(PendingRotation {
                version: "p".into(),
                since: std::time::SystemTime::UNIX_EPOCH,
                stuck: false,
            }),
            ..RotationSeen::default()
        };
        let plan =
            document::diff(&desired("", host()), &existing(Tags::new(), pending)).expect("plans");
        assert!(!plan.has_writes());
        assert!(plan.warnings[0].contains("once the rotation in progress finishes"));
    }

    #[test]
    fn an_endpoint_not_known_yet_is_shown_as_known_after_apply_and_not_written() {
        let plan = document::diff(
            &desired("", Known::AfterApply),
            &existing(Tags::new(), RotationSeen::default()),
        )
        .expect("plans");
        assert!(!plan.has_writes());
        assert_eq!(plan.changes[0].action, Action::Update);
    }

    #[test]
    fn rbac_secrets_carry_the_user_name_and_arn_awss_template_relies_on() {
        let wanted = desired("auth: {mode: rbac, users: [{name: app}]}\n", host());
        let Known::Value(fields) = &wanted.documents[0].fields else {
            panic!("known fields");
        };
        assert_eq!(fields["username"], "app");
        assert_eq!(
            fields["user_arn"],
            "arn:aws:elasticache:eu-west-1:111122223333:user:demo-app"
        );
    }

    #[test]
    fn the_rotation_record_moves_with_the_current_version() {
        let tags: Tags = [(ROTATED_TAG.to_owned(), "v2@2027-01-15T08:00:00Z".to_owned())].into();
        let seen = |current: &str| RotationSeen {
            current_version: Some(current.into()),
            ..RotationSeen::default()
        };
        let wanted = desired("", host());
        let carried = document::diff(&wanted, &existing(tags.clone(), seen("v2"))).expect("plans");
        assert!(
            format!("{carried:?}").contains("rotated: Some((\"v2\""),
            "{carried:?}"
        );
        let other = document::diff(&wanted, &existing(tags, seen("v3"))).expect("plans");
        assert!(format!("{other:?}").contains("rotated: None"), "{other:?}");
    }
}
