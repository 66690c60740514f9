//! The diff rules, one test each: which changes are made in place, in which order, and
//! which force a replacement.

use plan::{Action, Known};

use crate::ops::{AuthChange, Op, TransitStep};
use crate::*;

/// `crate::diff::diff`, which cannot fail for these inputs.
fn diff(desired: &Desired, observed: &Observed) -> ClusterPlan {
    crate::diff::diff(desired, observed).expect("plans")
}

fn desired(extra: &str) -> Desired {
    let source = test_support::spec_source("demo", extra);
    let spec = spec::parse(&source, "t.yaml").expect("valid spec");
    Desired::from_spec(
        &spec,
        &Inputs {
            security_group_id: Known::Value("sg-1".into()),
            kms_key_arn: Known::Value("arn:aws:kms:us-east-1:123456789012:key/k1".into()),
        },
    )
}

/// The plan for `now` (applied as written) moving to `wanted`.
fn plan_from(now: &str, wanted: &str) -> ClusterPlan {
    diff(&desired(wanted), &Observed::as_applied(&desired(now)))
}

fn group_change(plan: &ClusterPlan) -> &plan::Change {
    plan.changes
        .iter()
        .find(|c| c.resource.kind == kinds::REPLICATION_GROUP)
        .expect("a replication group change")
}

fn modification(plan: &ClusterPlan) -> &crate::ops::Modification {
    plan.ops
        .iter()
        .find_map(|op| match op {
            Op::ModifyGroup(m) => Some(m.as_ref()),
            _ => None,
        })
        .expect("a modification")
}

fn forced_by(plan: &ClusterPlan) -> Vec<String> {
    group_change(plan)
        .replaced_by()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_converged_stack_plans_nothing() {
    for extra in [
        "",
        "cluster: {mode: enabled, shards: 3, replicas_per_shard: 2}\n",
        "auth: {mode: rbac, users: [{name: app}]}\n",
        "engine: {name: valkey, version: \"7.2\"}\nauth: {mode: iam, users: [{name: app}]}\n",
        "cluster: {parameters: {maxmemory-policy: allkeys-lru}}\n",
    ] {
        let plan = plan_from(extra, extra);
        assert!(!plan.has_writes(), "{extra}: {:?}", plan.ops);
        assert!(plan.changes.iter().all(|c| c.action == Action::NoOp));
    }
}

#[test]
fn a_new_stack_creates_users_and_their_group_before_the_replication_group() {
    let plan = diff(
        &desired("auth: {mode: rbac, users: [{name: app}]}\n"),
        &Observed::default(),
    );
    let kinds: Vec<&str> = plan
        .ops
        .iter()
        .map(|op| match op {
            Op::CreateUser(_) => "user",
            Op::CreateUserGroup(_) => "user_group",
            Op::CreateGroup { .. } => "replication_group",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["user", "user", "user_group", "replication_group"]);
    let Op::CreateUser(default) = &plan.ops[0] else {
        panic!("user")
    };
    assert_eq!(
        (default.id.as_str(), default.name.as_str()),
        ("demo-default", "default")
    );
    assert_eq!(default.access, "off -@all");
    assert_eq!(
        plan.secrets_needed().into_iter().collect::<Vec<_>>(),
        ["demo/users/app"]
    );
}

#[test]
fn iam_users_have_ids_equal_to_their_names() {
    let desired = desired(
        "engine: {name: valkey, version: \"7.2\"}\nauth: {mode: iam, users: [{name: app}]}\n",
    );
    let app = &desired.users[1];
    assert_eq!((app.id.as_str(), app.name.as_str()), ("app", "app"));
    assert_eq!(app.authentication, Authentication::Iam);
    assert!(desired.secrets().is_empty());
}

#[test]
fn node_type_windows_retention_and_failover_change_in_place() {
    let plan = plan_from(
        "",
        "node_type: cache.r7g.xlarge\ncluster: {snapshot: {window: \"05:00-06:00\", retention_days: 14}, \
         maintenance_window: \"mon:07:00-mon:08:00\", multi_az: false}\n",
    );
    assert_eq!(group_change(&plan).action, Action::Update);
    let m = modification(&plan);
    assert_eq!(m.node_type.as_deref(), Some("cache.r7g.xlarge"));
    assert_eq!(m.snapshot_window.as_deref(), Some("05:00-06:00"));
    assert_eq!(m.snapshot_retention, Some(14));
    assert_eq!(m.maintenance_window.as_deref(), Some("mon:07:00-mon:08:00"));
    assert_eq!(m.multi_az, Some(false));
    assert!(m.apply_immediately);
}

#[test]
fn a_later_maintenance_window_is_used_when_the_spec_says_so() {
    let plan = plan_from(
        "",
        "node_type: cache.r7g.xlarge\ncluster: {apply_immediately: false}\n",
    );
    assert!(!modification(&plan).apply_immediately);
    assert!(plan.warnings[0].contains("maintenance window"));
}

#[test]
fn more_replicas_come_before_failover_is_turned_on() {
    let plan = plan_from(
        "cluster: {replicas_per_shard: 0, multi_az: false, automatic_failover: false}\n",
        "cluster: {replicas_per_shard: 2}\n",
    );
    assert!(matches!(
        plan.ops[0],
        Op::SetReplicas {
            count: 2,
            increase: true,
            ..
        }
    ));
    let Op::ModifyGroup(m) = &plan.ops[1] else {
        panic!("{:?}", plan.ops)
    };
    assert_eq!((m.automatic_failover, m.multi_az), (Some(true), Some(true)));
}

#[test]
fn failover_is_turned_off_before_the_last_replica_goes() {
    let plan = plan_from(
        "cluster: {replicas_per_shard: 1}\n",
        "cluster: {replicas_per_shard: 0, multi_az: false, automatic_failover: false}\n",
    );
    assert!(matches!(plan.ops[0], Op::ModifyGroup(_)));
    assert!(matches!(
        plan.ops[1],
        Op::SetReplicas {
            count: 0,
            increase: false,
            ..
        }
    ));
}

#[test]
fn shards_are_added_and_removed_in_place() {
    let three = "cluster: {mode: enabled, shards: 3, replicas_per_shard: 1}\n";
    let five = "cluster: {mode: enabled, shards: 5, replicas_per_shard: 1}\n";
    let grow = plan_from(three, five);
    assert_eq!(group_change(&grow).action, Action::Update);
    assert_eq!(
        grow.ops,
        [Op::SetShards {
            id: "demo".into(),
            count: 5,
            remove: Vec::new()
        }]
    );
    let shrink = plan_from(five, three);
    assert_eq!(
        shrink.ops,
        [Op::SetShards {
            id: "demo".into(),
            count: 3,
            remove: vec!["0004".into(), "0005".into()]
        }]
    );
}

#[test]
fn attributes_aws_cannot_change_force_a_replacement() {
    for (now, wanted, attribute) in [
        ("", "encryption: {at_rest: false}\n", "at_rest_encryption"),
        ("", "cluster: {mode: enabled}\n", "cluster_mode"),
        ("", "port: 6380\n", "port"),
        (
            "engine: {name: valkey, version: \"8.0\"}\n",
            "engine: {name: valkey, version: \"7.2\"}\n",
            "engine_version",
        ),
        (
            "engine: {name: valkey, version: \"7.2\"}\n",
            "engine: {name: redis, version: \"7.1\"}\n",
            "engine",
        ),
        ("", "auth: {mode: none}\n", "auth"),
    ] {
        let plan = plan_from(now, wanted);
        assert_eq!(group_change(&plan).action, Action::Replace, "{wanted}");
        assert!(forced_by(&plan).contains(&attribute.to_owned()), "{wanted}");
        assert!(
            !plan.ops.iter().any(|op| matches!(op, Op::ModifyGroup(_))),
            "a replacement is not half-applied in place"
        );
    }
}

#[test]
fn another_key_or_subnet_group_forces_a_replacement() {
    let desired = desired("");
    let mut observed = Observed::as_applied(&desired);
    let group = observed.replication_group.as_mut().expect("group");
    group.kms_key = Some("arn:aws:kms:us-east-1:123456789012:key/old".into());
    if let Some(member) = group.member.as_mut() {
        member.subnet_group = "hand-made".into();
    }
    let plan = diff(&desired, &observed);
    assert_eq!(forced_by(&plan), ["kms_key", "subnet_group"]);
}

#[test]
fn a_replacement_snapshots_then_creates_from_the_snapshot() {
    let desired = desired("port: 6380\n");
    let plan = diff(&desired, &Observed::as_applied(&self::desired("")));
    assert_eq!(group_change(&plan).action, Action::Replace);
    // One operation: delete with a final snapshot, wait until gone, create from it.
    assert!(matches!(
        &plan.ops[..],
        [Op::ReplaceGroup { group, snapshot_prefix }]
            if group.port == 6380 && snapshot_prefix == "demo-final-"
    ));
    assert!(plan.secrets_needed().contains("demo/auth-token"));
}

#[test]
fn redis_upgrades_to_valkey_in_place() {
    let plan = plan_from(
        "engine: {name: redis, version: \"7.1\"}\n",
        "engine: {name: valkey, version: \"8.0\"}\n",
    );
    assert_eq!(group_change(&plan).action, Action::Update);
    let m = modification(&plan);
    assert_eq!(m.engine.as_deref(), Some("valkey"));
    assert_eq!(m.engine_version.as_deref(), Some("8.0"));
    assert_eq!(m.parameter_group.as_deref(), Some("default.valkey8"));
}

#[test]
fn a_patch_release_satisfies_a_minor_version() {
    let desired = desired("engine: {name: valkey, version: \"7.2\"}\n");
    let mut observed = Observed::as_applied(&desired);
    if let Some(member) = observed
        .replication_group
        .as_mut()
        .and_then(|g| g.member.as_mut())
    {
        member.engine_version = "7.2.6".into();
    }
    assert!(!diff(&desired, &observed).has_writes());
}

#[test]
fn an_upgrade_across_families_creates_the_next_parameter_group_and_drops_the_old() {
    let params = "cluster: {parameters: {maxmemory-policy: allkeys-lru}}\n";
    let plan = plan_from(
        &format!("engine: {{name: valkey, version: \"7.2\"}}\n{params}"),
        &format!("engine: {{name: valkey, version: \"8.0\"}}\n{params}"),
    );
    assert!(matches!(&plan.ops[0], Op::CreateParameterGroup(g) if g.name == "demo-valkey8"));
    assert!(matches!(&plan.ops[1], Op::SetParameters { group, .. } if group == "demo-valkey8"));
    let Op::ModifyGroup(m) = &plan.ops[2] else {
        panic!("{:?}", plan.ops)
    };
    assert_eq!(m.parameter_group.as_deref(), Some("demo-valkey8"));
    assert_eq!(m.engine_version.as_deref(), Some("8.0"));
    assert_eq!(
        plan.ops[3],
        Op::DeleteParameterGroup {
            name: "demo-valkey7".into()
        }
    );
}

#[test]
fn parameters_are_set_and_reset_in_place() {
    let plan = plan_from(
        "cluster: {parameters: {maxmemory-policy: allkeys-lru, timeout: 300}}\n",
        "cluster: {parameters: {maxmemory-policy: volatile-lru}}\n",
    );
    assert_eq!(
        plan.ops,
        [
            Op::SetParameters {
                group: "demo-valkey8".into(),
                parameters: [("maxmemory-policy".to_owned(), "volatile-lru".to_owned())].into()
            },
            Op::ResetParameters {
                group: "demo-valkey8".into(),
                names: vec!["timeout".into()]
            }
        ]
    );
}

#[test]
fn cluster_mode_sets_cluster_enabled_in_the_stacks_parameter_group() {
    let with = desired("cluster: {mode: enabled, parameters: {timeout: 300}}\n");
    let group = with.parameter_group.expect("own group");
    assert_eq!(
        group.parameters.get("cluster-enabled").map(String::as_str),
        Some("yes")
    );
    let without = desired("cluster: {mode: enabled}\n");
    assert!(without.parameter_group.is_none());
    assert_eq!(
        without.replication_group.parameter_group,
        "default.valkey8.cluster.on"
    );
}

#[test]
fn tls_turns_on_in_two_steps_through_preferred() {
    let plan = plan_from(
        "encryption: {in_transit: false}\nauth: {mode: none}\n",
        "auth: {mode: none}\n",
    );
    assert_eq!(group_change(&plan).action, Action::Update);
    assert_eq!(
        modification(&plan).transit,
        Some(TransitStep {
            enabled: true,
            mode: Some("preferred")
        })
    );
    assert!(plan.warnings.iter().any(|w| w.contains("two steps")));
    let second = plan_from(
        "encryption: {transit_mode: preferred}\nauth: {mode: none}\n",
        "auth: {mode: none}\n",
    );
    assert_eq!(
        modification(&second).transit,
        Some(TransitStep {
            enabled: true,
            mode: Some("required")
        })
    );
}

#[test]
fn tls_on_an_old_engine_can_only_be_replaced() {
    let plan = plan_from(
        "engine: {name: redis, version: \"6.2\"}\nencryption: {in_transit: false}\nauth: {mode: none}\n",
        "engine: {name: redis, version: \"6.2\"}\nauth: {mode: none}\n",
    );
    assert_eq!(forced_by(&plan), ["transit_encryption"]);
}

#[test]
fn moving_from_a_token_to_rbac_deletes_the_token_in_the_same_call() {
    let plan = plan_from("", "auth: {mode: rbac, users: [{name: app}]}\n");
    assert_eq!(
        modification(&plan).auth,
        Some(AuthChange::UserGroup {
            id: "demo-users".into(),
            delete_token: true,
            remove_user_groups: Vec::new()
        })
    );
    let position = |wanted: fn(&Op) -> bool| plan.ops.iter().position(wanted);
    assert!(
        position(|op| matches!(op, Op::CreateUserGroup(_)))
            < position(|op| matches!(op, Op::ModifyGroup(_)))
    );
}

#[test]
fn moving_from_rbac_to_a_token_rotates_it_in_and_cleans_up_after() {
    let plan = plan_from("auth: {mode: rbac, users: [{name: app}]}\n", "");
    assert_eq!(
        modification(&plan).auth,
        Some(AuthChange::Token {
            secret: "demo/auth-token".into(),
            remove_user_groups: vec!["demo-users".into()]
        })
    );
    let tail: Vec<&Op> = plan.ops.iter().skip(1).collect();
    assert!(matches!(tail[0], Op::DeleteUserGroup { id } if id == "demo-users"));
    assert!(
        tail[1..]
            .iter()
            .all(|op| matches!(op, Op::DeleteUser { .. }))
    );
    assert!(plan.secrets_needed().contains("demo/auth-token"));
}

#[test]
fn access_string_and_membership_drift_is_corrected() {
    let wanted =
        desired("auth: {mode: rbac, users: [{name: app, access: \"on ~app:* +@read\"}]}\n");
    let before = desired("auth: {mode: rbac, users: [{name: app}, {name: old}]}\n");
    let mut observed = Observed::as_applied(&before);
    observed.users.insert(
        "someone-else".into(),
        ObservedUser {
            name: "else".into(),
            access: "on".into(),
            authentication: "password".into(),
            status: "active".into(),
            ours: false,
        },
    );
    let plan = diff(&wanted, &observed);
    assert!(plan.ops.contains(&Op::ModifyUser {
        id: "demo-app".into(),
        access: "on ~app:* +@read".into()
    }));
    assert!(plan.ops.contains(&Op::ModifyUserGroup {
        id: "demo-users".into(),
        add: Vec::new(),
        remove: vec!["demo-old".into()]
    }));
    assert!(plan.ops.contains(&Op::DeleteUser {
        id: "demo-old".into()
    }));
    assert!(
        !plan.ops.contains(&Op::DeleteUser {
            id: "someone-else".into()
        }),
        "users without the stack tag are never deleted"
    );
}

#[test]
fn log_delivery_is_added_and_turned_off_per_log_type() {
    let plan = plan_from(
        "logs: {engine: {enabled: false}}\n",
        "logs: {slow: {enabled: false}, engine: {format: text}}\n",
    );
    let changes = &modification(&plan).log_delivery;
    assert_eq!(changes.len(), 2);
    assert!(changes.contains(&("slow-log".to_owned(), None)));
    assert!(
        changes
            .iter()
            .any(|(t, d)| t == "engine-log" && d.as_ref().is_some_and(|d| d.format == "text"))
    );
}

#[test]
fn security_groups_follow_the_network_step() {
    let desired = desired("");
    let mut observed = Observed::as_applied(&desired);
    if let Some(member) = observed
        .replication_group
        .as_mut()
        .and_then(|g| g.member.as_mut())
    {
        member.security_group_ids = vec!["sg-old".into()];
    }
    let plan = diff(&desired, &observed);
    assert_eq!(
        modification(&plan).security_group_ids,
        Some(Known::Value(vec!["sg-1".into()]))
    );
}

#[test]
fn unreadable_member_settings_are_not_compared() {
    let desired = desired("");
    let mut observed = Observed::as_applied(&desired);
    if let Some(group) = observed.replication_group.as_mut() {
        group.member = None;
    }
    assert!(!diff(&desired, &observed).has_writes());
}

#[test]
fn destroy_snapshots_the_group_then_removes_what_it_used() {
    let desired = desired(
        "auth: {mode: rbac, users: [{name: app}]}\ncluster: {parameters: {timeout: 300}}\n",
    );
    let observed = Observed::as_applied(&desired);
    let plan = diff_destroy(&desired, &observed, false);
    assert!(plan.keeps_snapshots());
    assert!(
        matches!(&plan.ops[0], Op::DeleteGroup { snapshot_prefix: Some(s), .. } if s == "demo-final-")
    );
    assert!(matches!(&plan.ops[1], Op::DeleteUserGroup { .. }));
    assert!(matches!(&plan.ops[2], Op::DeleteUser { .. }));
    assert!(matches!(
        plan.ops.last(),
        Some(Op::DeleteParameterGroup { .. })
    ));
    let skipped = diff_destroy(&desired, &observed, true);
    assert!(!skipped.keeps_snapshots());
    assert!(skipped.warnings[0].contains("WITHOUT a final snapshot"));
}

#[test]
fn a_second_destroy_waits_for_the_first_and_keeps_counting_its_snapshot() {
    let desired = desired("");
    let mut observed = Observed::as_applied(&desired);
    if let Some(group) = observed.replication_group.as_mut() {
        group.status = "deleting".into();
    }
    observed.final_snapshots = vec!["demo-final-20261122-080000".into()];
    let plan = diff_destroy(&desired, &observed, false);
    assert_eq!(plan.ops, [Op::AwaitDeletion { id: "demo".into() }]);
    assert!(
        plan.keeps_snapshots(),
        "the earlier snapshot still needs the key"
    );
}

#[test]
fn families_follow_engine_and_version() {
    use spec::{EngineName, EngineVersion};
    let cases = [
        (EngineName::Valkey, EngineVersion::new(8, 0, 0), "valkey8"),
        (EngineName::Valkey, EngineVersion::new(7, 2, 0), "valkey7"),
        (EngineName::Redis, EngineVersion::new(7, 1, 0), "redis7"),
        (EngineName::Redis, EngineVersion::new(6, 2, 0), "redis6.x"),
        (EngineName::Redis, EngineVersion::new(5, 0, 6), "redis5.0"),
    ];
    for (engine, version, expected) in cases {
        assert_eq!(family(engine, version), expected);
    }
}

#[test]
fn a_plan_never_shows_a_credential() {
    let plan = diff(&desired(""), &Observed::default());
    let group = group_change(&plan);
    let token = group
        .attributes
        .iter()
        .find(|a| a.name == "auth_token")
        .expect("auth_token");
    assert_eq!(token.after, Some(plan::Value::Sensitive));
}

#[test]
fn a_user_the_stack_did_not_create_is_flagged() {
    let desired = desired(
        "engine: {name: valkey, version: \"7.2\"}\nauth: {mode: iam, users: [{name: app}]}\n",
    );
    let mut observed = Observed::as_applied(&desired);
    if let Some(app) = observed.users.get_mut("app") {
        app.ours = false;
    }
    let plan = diff(&desired, &observed);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("user app exists without this stack's tag")),
        "{:?}",
        plan.warnings
    );
}
