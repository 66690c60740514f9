//! The diff rules, one test each: what is in place, what forces a replacement, what
//! counts as drift.

use plan::tags::Tags;
use plan::{Action, Known, Value};

use crate::NetworkError;
use crate::diff::*;
use crate::model::*;

const SPEC: &str = r#"
stack: demo
region: us-east-1
engine: { name: valkey, version: "8.0" }
node_type: cache.t4g.micro
network:
  create:
    vpc_cidr: 10.0.0.0/16
    subnets:
      - { availability_zone: us-east-1a, cidr: 10.0.1.0/24 }
      - { availability_zone: us-east-1b, cidr: 10.0.2.0/24 }
  allow: { cidrs: [10.0.0.0/16], security_groups: [sg-0123456789abcdef0] }
tags: { team: platform }
"#;

fn desired() -> Desired {
    Desired::from_spec(&spec::parse(SPEC, "test.yaml").expect("valid spec"))
}

fn actions(plan: &NetworkPlan) -> Vec<(Action, String)> {
    plan.changes
        .iter()
        .map(|c| (c.action, c.resource.to_string()))
        .collect()
}

#[test]
fn from_nothing_everything_is_created_in_order() {
    let plan = diff(&desired(), &Observed::default()).expect("plans");
    assert_eq!(
        actions(&plan),
        [
            (Action::Create, "vpc demo".into()),
            (Action::Create, "subnet demo-us-east-1a".into()),
            (Action::Create, "subnet demo-us-east-1b".into()),
            (Action::Create, "cache_subnet_group demo-subnets".into()),
            (Action::Create, "security_group demo-cache".into()),
            (
                Action::Create,
                "security_group_rule demo-cache: tcp/6379 from 10.0.0.0/16".into()
            ),
            (
                Action::Create,
                "security_group_rule demo-cache: tcp/6379 from sg-0123456789abcdef0".into()
            ),
        ]
    );
    assert!(matches!(plan.ops[0], Op::CreateVpc { .. }));
    assert_eq!(plan.outputs.vpc_id, Known::AfterApply);
    assert_eq!(plan.outputs.subnet_ids, Known::AfterApply);
    let group = &plan.changes[3];
    assert_eq!(
        group.attributes[1].after,
        Some(Value::Unknown),
        "subnet ids are known after apply"
    );
}

#[test]
fn a_converged_network_plans_nothing() {
    let desired = desired();
    let plan = diff(&desired, &Observed::as_applied(&desired)).expect("plans");
    assert!(
        plan.changes.iter().all(|c| c.action == Action::NoOp),
        "{:#?}",
        plan.changes
    );
    assert!(plan.ops.is_empty(), "{:?}", plan.ops);
    assert_eq!(
        plan.outputs.subnet_ids,
        Known::Value(vec!["subnet-0".into(), "subnet-1".into()])
    );
    assert_eq!(plan.outputs.security_group_id, Known::Value("sg-1".into()));
}

#[test]
fn foreign_rules_are_revoked_and_missing_ones_added() {
    let desired = desired();
    let mut observed = Observed::as_applied(&desired);
    let group = observed.security_group.as_mut().expect("group");
    group.ingress.remove(0);
    let ssh = ExactRule {
        protocol: "tcp".into(),
        from_port: Some(22),
        to_port: Some(22),
        source: ExactSource::Ipv4("0.0.0.0/0".into()),
    };
    group.ingress.push(ObservedRule {
        exact: ssh.clone(),
        rule: None,
        description: "tcp/22 from 0.0.0.0/0".into(),
    });
    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(
        plan.ops,
        [
            Op::RevokeIngress { rules: vec![ssh] },
            Op::AuthorizeIngress {
                rules: vec![desired.security_group.ingress[0].clone()]
            },
        ]
    );
    assert_eq!(
        plan.changes
            .iter()
            .filter(|c| c.action == Action::Delete)
            .count(),
        1
    );
    assert_eq!(
        plan.changes
            .iter()
            .filter(|c| c.action == Action::Create)
            .count(),
        1
    );
}

#[test]
fn a_rule_on_another_port_is_foreign() {
    let desired = desired();
    let mut observed = Observed::as_applied(&desired);
    let group = observed.security_group.as_mut().expect("group");
    let mut moved = group.ingress[0].clone();
    if let Some(rule) = moved.rule.as_mut() {
        rule.port = 6380;
        moved.exact = ExactRule::of(rule, "sg-1");
    }
    let old_port = moved.exact.clone();
    group.ingress.push(moved);
    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(
        plan.ops,
        [Op::RevokeIngress {
            rules: vec![old_port]
        }]
    );
}

#[test]
fn a_changed_vpc_cidr_is_a_refused_replacement() {
    let desired = desired();
    let mut observed = Observed::as_applied(&desired);
    observed.vpc.as_mut().expect("vpc").cidr = "10.9.0.0/16".into();
    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(plan.changes[0].action, Action::Replace);
    assert_eq!(
        plan.changes[0].replaced_by().collect::<Vec<_>>(),
        ["cidr_block"]
    );
    assert!(matches!(plan.ops[0], Op::Refuse { .. }));
}

#[test]
fn a_changed_subnet_cidr_replaces_the_subnet_and_moves_the_group_first() {
    let desired = desired();
    let mut observed = Observed::as_applied(&desired);
    observed.subnets[1].cidr = "10.0.9.0/24".into();
    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(plan.changes[2].action, Action::Replace);
    assert_eq!(
        plan.changes[3].action,
        Action::Update,
        "the subnet group moves"
    );
    let kinds: Vec<&str> = plan
        .ops
        .iter()
        .map(|op| match op {
            Op::CreateSubnet { .. } => "create",
            Op::ModifySubnetGroup { .. } => "modify",
            Op::DeleteSubnet { .. } => "delete",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["create", "modify", "delete"]);
}

#[test]
fn dns_and_tag_drift_are_updates() {
    let desired = desired();
    let mut observed = Observed::as_applied(&desired);
    let vpc = observed.vpc.as_mut().expect("vpc");
    vpc.dns_hostnames = false;
    vpc.tags.remove("team");
    vpc.tags.insert("owner".into(), "someone".into());
    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(plan.changes[0].action, Action::Update);
    assert_eq!(
        plan.ops,
        [
            Op::EnableVpcDns {
                support: false,
                hostnames: true
            },
            Op::Tag {
                resource_id: "vpc-1".into(),
                tags: [("team".to_owned(), "platform".to_owned())].into(),
            },
        ]
    );
}

#[test]
fn a_subnet_the_spec_dropped_is_deleted_after_the_group_moves() {
    let desired = desired();
    let mut observed = Observed::as_applied(&desired);
    let mut extra = observed.subnets[0].clone();
    extra.id = "subnet-extra".into();
    extra.availability_zone = "us-east-1c".into();
    observed.subnets.push(extra);
    observed
        .subnet_group
        .as_mut()
        .expect("group")
        .subnet_ids
        .push("subnet-extra".into());
    let plan = diff(&desired, &observed).expect("plans");
    assert!(matches!(plan.ops.last(), Some(Op::DeleteSubnet { id }) if id == "subnet-extra"));
    assert!(
        plan.ops
            .iter()
            .any(|op| matches!(op, Op::ModifySubnetGroup { .. }))
    );
}

fn existing_desired(multi_az: bool) -> Desired {
    let mut desired = desired();
    desired.vpc = DesiredVpc::Existing {
        vpc_id: "vpc-9".into(),
        subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
    };
    desired.multi_az = multi_az;
    desired
}

fn existing_subnet(id: &str, vpc: &str, zone: &str) -> ObservedSubnet {
    ObservedSubnet {
        id: id.into(),
        vpc_id: vpc.into(),
        availability_zone: zone.into(),
        cidr: "10.0.0.0/24".into(),
        tags: Tags::new(),
    }
}

fn existing_vpc() -> Option<ObservedVpc> {
    Some(ObservedVpc {
        id: "vpc-9".into(),
        cidr: "10.0.0.0/16".into(),
        dns_support: true,
        dns_hostnames: true,
        tags: Tags::new(),
    })
}

#[test]
fn an_existing_network_is_checked_not_changed() {
    let observed = Observed {
        vpc: existing_vpc(),
        subnets: vec![
            existing_subnet("subnet-a", "vpc-9", "us-east-1a"),
            existing_subnet("subnet-b", "vpc-9", "us-east-1b"),
        ],
        ..Observed::default()
    };
    let plan = diff(&existing_desired(true), &observed).expect("plans");
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| c.resource.kind == kinds::VPC || c.resource.kind == kinds::SUBNET)
    );
    assert_eq!(
        plan.outputs.subnet_ids,
        Known::Value(vec!["subnet-a".into(), "subnet-b".into()])
    );
}

#[test]
fn an_existing_network_that_is_not_there_is_an_error() {
    let missing_vpc = diff(&existing_desired(false), &Observed::default());
    assert!(matches!(missing_vpc, Err(NetworkError::VpcNotFound(id)) if id == "vpc-9"));

    let one_subnet = Observed {
        vpc: existing_vpc(),
        subnets: vec![existing_subnet("subnet-a", "vpc-9", "us-east-1a")],
        ..Observed::default()
    };
    let missing = diff(&existing_desired(false), &one_subnet);
    assert!(matches!(missing, Err(NetworkError::SubnetsNotFound(ids)) if ids == ["subnet-b"]));

    let elsewhere = Observed {
        vpc: existing_vpc(),
        subnets: vec![
            existing_subnet("subnet-a", "vpc-9", "us-east-1a"),
            existing_subnet("subnet-b", "vpc-other", "us-east-1b"),
        ],
        ..Observed::default()
    };
    assert!(matches!(
        diff(&existing_desired(false), &elsewhere),
        Err(NetworkError::SubnetsOutsideVpc { .. })
    ));

    let one_zone = Observed {
        vpc: existing_vpc(),
        subnets: vec![
            existing_subnet("subnet-a", "vpc-9", "us-east-1a"),
            existing_subnet("subnet-b", "vpc-9", "us-east-1a"),
        ],
        ..Observed::default()
    };
    assert!(matches!(
        diff(&existing_desired(true), &one_zone),
        Err(NetworkError::SingleZone { .. })
    ));
    assert!(diff(&existing_desired(false), &one_zone).is_ok());
}

#[test]
fn destroy_deletes_only_what_the_stack_owns() {
    let desired = desired();
    let plan = diff_destroy(&desired, &Observed::as_applied(&desired));
    assert_eq!(
        plan.changes
            .iter()
            .map(|c| c.resource.kind.as_str())
            .collect::<Vec<_>>(),
        [
            "security_group",
            "cache_subnet_group",
            "subnet",
            "subnet",
            "vpc"
        ]
    );
    assert!(plan.changes.iter().all(|c| c.action == Action::Delete));

    let existing = existing_desired(false);
    let observed = Observed {
        vpc: existing_vpc(),
        subnets: vec![existing_subnet("subnet-a", "vpc-9", "us-east-1a")],
        subnet_group: Observed::as_applied(&desired).subnet_group,
        security_group: Observed::as_applied(&desired).security_group,
        ..Observed::default()
    };
    let plan = diff_destroy(&existing, &observed);
    assert_eq!(
        plan.changes
            .iter()
            .map(|c| c.resource.kind.as_str())
            .collect::<Vec<_>>(),
        ["security_group", "cache_subnet_group"]
    );
}

#[test]
fn a_lambda_runner_is_admitted_as_a_member_of_the_cache_group() {
    let source = SPEC.replace(
        "tags: { team: platform }",
        "auth: { rotation: { runner: lambda, schedule: rate(30 days) } }\ntags: { team: platform }",
    );
    let desired = Desired::from_spec(&spec::parse(&source, "test.yaml").expect("valid spec"));
    let itself = IngressRule {
        port: 6379,
        source: Source::Itself,
    };
    assert!(desired.security_group.ingress.contains(&itself));
    let plan = diff(&desired, &Observed::default()).expect("plans");
    assert!(actions(&plan).contains(&(
        Action::Create,
        "security_group_rule demo-cache: tcp/6379 from members of this group".into()
    )));
    // AWS names the group itself by id; that is the same rule.
    let applied = Observed::as_applied(&desired);
    let exact = &applied.security_group.as_ref().expect("group").ingress;
    assert!(
        exact
            .iter()
            .any(|r| r.exact.source == ExactSource::Group("sg-1".into()))
    );
    let again = diff(&desired, &applied).expect("plans");
    assert!(!again.has_writes(), "{:?}", again.changes);
}
