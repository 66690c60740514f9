//! The diff rules, one test each.

use plan::{Action, Known};

use crate::diff::*;
use crate::*;

fn desired(extra: &str) -> Desired {
    let source = format!(
        "stack: demo\nregion: us-east-1\nengine: {{name: valkey, version: \"8.0\"}}\nnode_type: cache.t4g.micro\n\
             network: {{create: {{vpc_cidr: 10.0.0.0/16, subnets: [{{availability_zone: us-east-1a, cidr: 10.0.1.0/24}}, \
             {{availability_zone: us-east-1b, cidr: 10.0.2.0/24}}]}}, allow: {{cidrs: [10.0.0.0/8]}}}}\n{extra}"
    );
    let spec = spec::parse(&source, "t.yaml").expect("valid");
    Desired::from_spec(
        &spec,
        &Inputs {
            kms_key_arn: Known::Value("arn:key".into()),
        },
    )
}

#[test]
fn one_group_per_log_type_with_distinct_names() {
    let desired = desired("");
    let names: Vec<&str> = desired.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "/aws/elasticache/demo/slow-log",
            "/aws/elasticache/demo/engine-log"
        ]
    );
    let plan = diff(&desired, &Observed::default()).expect("plans");
    assert_eq!(
        plan.changes
            .iter()
            .filter(|c| c.action == Action::Create)
            .count(),
        2
    );
}

#[test]
fn a_converged_group_plans_nothing_and_drift_is_repaired() {
    let desired = desired("");
    assert!(
        !diff(&desired, &Observed::as_applied(&desired))
            .expect("plans")
            .has_writes()
    );
    let mut observed = Observed::as_applied(&desired);
    if let Some(group) = observed.groups.get_mut("/aws/elasticache/demo/slow-log") {
        group.retention_days = Some(7);
        group.kms_key = None;
        group.tags.remove("elasticache-action:stack");
    }
    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(plan.changes[0].action, Action::Update);
    assert_eq!(plan.ops.len(), 3, "{:?}", plan.ops);
}

#[test]
fn a_group_no_longer_wanted_is_kept_unless_deleting_is_allowed() {
    let observed = Observed::as_applied(&desired(""));
    let plan = diff(&desired("logs: {engine: {enabled: false}}\n"), &observed).expect("plans");
    assert!(!plan.has_writes());
    assert_eq!(plan.warnings.len(), 1);
    let plan = diff(
        &desired("logs: {engine: {enabled: false}}\ndestroy: {delete_log_groups: true}\n"),
        &observed,
    )
    .expect("plans");
    assert_eq!(
        plan.ops,
        [Op::Delete {
            name: "/aws/elasticache/demo/engine-log".into()
        }]
    );
}

#[test]
fn destroy_keeps_logs_by_default() {
    let desired = desired("");
    let plan = diff_destroy(&desired, &Observed::as_applied(&desired));
    assert!(plan.ops.is_empty());
    assert_eq!(plan.warnings.len(), 2);
}
