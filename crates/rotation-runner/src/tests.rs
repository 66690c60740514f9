//! The diff rules, one test each, from `Observed::as_applied` changed in one place.

use plan::Known;
use spec::names::Scope;

use crate::diff::*;
use crate::model::*;
use crate::package::Package;

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
  allow: { cidrs: [10.0.0.0/16] }
auth:
  mode: rbac
  users: [{ name: app, access: "on ~app:* +@read" }]
  rotation:
    runner: lambda
    schedule: rate(30 days)
"#;

fn desired_from(source: &str) -> Desired {
    let spec = spec::parse(source, "test.yaml").expect("valid spec");
    let inputs = Inputs {
        scope: Scope::new("123456789012", "us-east-1"),
        vpc_id: Known::Value("vpc-1".into()),
        subnet_ids: Known::Value(vec!["subnet-a".into(), "subnet-b".into()]),
        cache_security_group_id: Known::Value("sg-cache".into()),
        kms_key_arn: Known::Value("arn:aws:kms:us-east-1:123456789012:key/k".into()),
        secrets: vec![(
            "demo/users/app".into(),
            Known::Value(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:demo/users/app-AbCdEf".into(),
            ),
        )],
        package: Some(Package::release("v9.9.9", "arm64")),
    };
    Desired::from_spec(&spec, &inputs)
}

fn desired() -> Desired {
    desired_from(SPEC)
}

fn op_names(plan: &RunnerPlan) -> Vec<String> {
    plan.ops
        .iter()
        .map(|op| {
            format!("{op:?}")
                .split([' ', '{', '('])
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[test]
fn from_nothing_everything_is_made_in_order_and_rotation_last() {
    let plan = diff(&desired(), &Observed::default()).expect("plans");
    assert_eq!(
        op_names(&plan),
        [
            "CreateRole",
            "PutRolePolicy",
            "CreateEndpointGroup",
            "AdmitClients",
            "CreateEndpoint",
            "CreateEndpoint",
            "CreateFunction",
            "AddPermission",
            "EnableRotation",
        ]
    );
    let Some(Op::EnableRotation {
        secret,
        schedule,
        rotate_now,
    }) = plan.ops.last()
    else {
        panic!("{:?}", plan.ops)
    };
    assert!(secret.starts_with("arn:aws:secretsmanager:"), "{secret}");
    assert_eq!(schedule, "rate(30 days)");
    assert!(
        !rotate_now,
        "turning rotation on rotates nothing unless asked"
    );
}

#[test]
fn a_converged_runner_plans_nothing() {
    let desired = desired();
    let plan = diff(&desired, &Observed::as_applied(&desired)).expect("plans");
    assert!(plan.ops.is_empty(), "{:?}", plan.ops);
    assert!(
        plan.changes.iter().all(|c| !c.is_change()),
        "{:#?}",
        plan.changes
    );
}

#[test]
fn the_role_names_exact_resources_but_for_the_describe_calls() {
    let desired = desired();
    let Known::Value(policy) = &desired.role.policy else {
        panic!("known")
    };
    for statement in policy["Statement"].as_array().expect("statements") {
        let wildcard = statement["Resource"] == "*";
        assert_eq!(
            wildcard,
            statement["Sid"] == "DescribeNetworkInterfaces",
            "{statement}"
        );
    }
    let text = policy.to_string();
    assert!(text.contains("secret:demo/users/app-AbCdEf"));
    assert!(
        text.contains("elasticache:us-east-1:123456789012:user:demo-app"),
        "{text}"
    );
    assert!(text.contains("\"kms:ViaService\":\"secretsmanager.us-east-1.amazonaws.com\""));
    assert_eq!(
        desired.role.trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"],
        "123456789012"
    );
}

#[test]
fn a_new_package_updates_the_code_only() {
    let desired = desired();
    let mut observed = Observed::as_applied(&desired);
    let function = observed.function.as_mut().expect("function");
    function.tags.insert(
        PACKAGE_TAG.into(),
        "release v9.9.8 rotation-lambda-arm64.zip".into(),
    );
    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(op_names(&plan), ["UpdateCode"]);
}

#[test]
fn a_changed_environment_updates_the_configuration_only() {
    let desired = desired();
    let mut observed = Observed::as_applied(&desired);
    let function = observed.function.as_mut().expect("function");
    function
        .environment
        .insert("ROTATION_TEST".into(), "control-plane".into());
    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(op_names(&plan), ["UpdateConfiguration"]);
}

#[test]
fn a_schedule_aws_reports_in_days_is_the_same_schedule() {
    let desired = desired();
    let mut observed = Observed::as_applied(&desired);
    for rotation in observed.rotations.values_mut() {
        rotation.schedule = None;
        rotation.after_days = Some(30);
    }
    assert!(diff(&desired, &observed).expect("plans").ops.is_empty());
    for rotation in observed.rotations.values_mut() {
        rotation.after_days = Some(7);
    }
    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(op_names(&plan), ["EnableRotation"]);
}

#[test]
fn another_runner_removes_what_lambda_left_and_only_our_rotations() {
    let lambda = desired();
    let mut observed = Observed::as_applied(&lambda);
    observed.rotations.insert(
        "someone/else".into(),
        AutomaticRotation {
            enabled: true,
            lambda_arn: Some("arn:aws:lambda:us-east-1:123456789012:function:theirs".into()),
            schedule: Some("rate(1 day)".into()),
            after_days: None,
        },
    );
    let external = desired_from(&SPEC.replace("runner: lambda", "runner: external"));
    let plan = diff(&external, &observed).expect("plans");
    assert_eq!(
        op_names(&plan),
        [
            "DisableRotation",
            "DeleteFunction",
            "DeleteRole",
            "DeleteEndpoints",
            "DeleteEndpointGroup"
        ]
    );
    let Op::DisableRotation { secret } = &plan.ops[0] else {
        panic!()
    };
    assert!(secret.contains("demo/users/app"), "{secret}");
}

#[test]
fn endpoints_the_stack_made_go_when_the_vpc_has_its_own() {
    let made = desired();
    let observed = Observed::as_applied(&made);
    let source = SPEC.replace(
        "    schedule: rate(30 days)",
        "    schedule: rate(30 days)\n    lambda: { vpc_endpoints: existing }",
    );
    let plan = diff(&desired_from(&source), &observed).expect("plans");
    assert_eq!(op_names(&plan), ["DeleteEndpoints", "DeleteEndpointGroup"]);
}

#[test]
fn existing_endpoints_are_not_made() {
    let source = SPEC.replace(
        "    schedule: rate(30 days)",
        "    schedule: rate(30 days)\n    lambda: { vpc_endpoints: existing }",
    );
    let plan = diff(&desired_from(&source), &Observed::default()).expect("plans");
    assert!(
        !op_names(&plan).iter().any(|op| op.contains("Endpoint")),
        "{:?}",
        plan.ops
    );
}

#[test]
fn rotating_on_enable_is_asked_for_and_only_the_first_time() {
    let source = SPEC.replace(
        "    schedule: rate(30 days)",
        "    schedule: rate(30 days)\n    lambda: { rotate_on_enable: true }",
    );
    let desired = desired_from(&source);
    let rotate_now = |plan: &RunnerPlan| {
        plan.ops.iter().any(|op| {
            matches!(
                op,
                Op::EnableRotation {
                    rotate_now: true,
                    ..
                }
            )
        })
    };
    assert!(rotate_now(
        &diff(&desired, &Observed::default()).expect("plans")
    ));
    let mut observed = Observed::as_applied(&desired);
    for rotation in observed.rotations.values_mut() {
        rotation.schedule = Some("rate(7 days)".into());
    }
    let rescheduled = diff(&desired, &observed).expect("plans");
    assert_eq!(op_names(&rescheduled), ["EnableRotation"]);
    assert!(
        !rotate_now(&rescheduled),
        "a new schedule rotates nothing now"
    );
}
