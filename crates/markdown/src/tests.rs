use findings::{Finding, Severity, Status};
use plan::{Change, Diff, Plan, ResourceId, Value};

use super::*;

fn report<'a>(plan: &'a Plan, findings: &'a [Finding]) -> Report<'a> {
    Report {
        plan,
        account: "123456789012",
        region: "eu-west-1",
        findings,
        spec_path: "stacks/orders.yaml",
        commit: Some("0123456789abcdef0123"),
        full_plan_at: "the job summary",
    }
}

fn create_everything() -> Plan {
    let mut plan = Plan::new("orders");
    plan.extend(
        [
            Change::create(
                ResourceId::new("vpc", "orders"),
                vec![("cidr_block", Value::from("10.0.0.0/16"))],
            ),
            Change::create(
                ResourceId::new("cache_subnet_group", "orders-subnets"),
                vec![("subnet_ids", Value::Unknown)],
            ),
            Change::create(
                ResourceId::new("secret", "orders/auth-token"),
                vec![("value", Value::Sensitive), ("kms_key_id", Value::Unknown)],
            ),
        ],
        [],
    );
    plan
}

fn failing_finding() -> Vec<Finding> {
    vec![
        Finding {
            rule: "CKV_AWS_29",
            severity: Severity::High,
            resource: "replication_group orders".into(),
            message: "data at rest is not encrypted".into(),
            fix: "set encryption.at_rest: true",
            status: Status::Fail,
        },
        Finding {
            rule: "CKV2_AWS_50",
            severity: Severity::Medium,
            resource: "replication_group orders".into(),
            message: "no failover".into(),
            fix: "add a replica",
            status: Status::Waived("dev stack".into()),
        },
    ]
}

#[test]
fn a_create_everything_plan() {
    let plan = create_everything();
    insta::assert_snapshot!(render(&report(&plan, &failing_finding()), COMMENT_LIMIT));
}

#[test]
fn a_no_change_plan() {
    let plan = Plan::new("orders");
    let findings = [Finding {
        rule: "CKV_AWS_29",
        severity: Severity::High,
        resource: "replication_group orders".into(),
        message: "data at rest is not encrypted".into(),
        fix: "x",
        status: Status::Pass,
    }];
    insta::assert_snapshot!(render(&report(&plan, &findings), COMMENT_LIMIT));
}

#[test]
fn a_plan_with_a_replacement_and_a_deletion() {
    let mut plan = Plan::new("orders");
    plan.extend(
        [
            Diff::new(ResourceId::new("subnet", "orders-eu-west-1a"))
                .replacing(
                    "cidr_block",
                    Value::from("10.0.1.0/24"),
                    Value::from("10.0.9.0/24"),
                )
                .finish(),
            Change::delete(
                ResourceId::new("security_group_rule", "orders-cache: tcp/22 from 0.0.0.0/0"),
                vec![("id", Value::from("sgr-1"))],
            ),
            Diff::new(ResourceId::new(
                "log_group",
                "/aws/elasticache/orders/slow-log",
            ))
            .attribute("retention_days", Value::from(7), Value::from(365))
            .finish(),
        ],
        ["log group /aws/elasticache/orders/engine-log is kept".to_owned()],
    );
    let text = render(&report(&plan, &[]), COMMENT_LIMIT);
    let warning = text.find("[!WARNING]").expect("deletions are called out");
    let table = text.find("| | resource | action |").expect("a table");
    assert!(warning < table, "called out first");
    insta::assert_snapshot!(text);
}

#[test]
fn a_plan_over_the_limit_is_truncated_and_says_where_the_rest_is() {
    let mut plan = Plan::new("huge");
    let changes: Vec<Change> = (0..3000)
        .map(|i| {
            Change::create(
                ResourceId::new("secret", format!("huge/users/user-{i:04}")),
                vec![
                    ("description", Value::from("x".repeat(40))),
                    ("value", Value::Sensitive),
                ],
            )
        })
        .collect();
    plan.extend(changes, []);
    let text = render(&report(&plan, &[]), COMMENT_LIMIT);
    assert!(text.chars().count() <= COMMENT_LIMIT);
    assert!(text.contains("read it in the job summary"));
    assert!(
        text.ends_with(&format!("{}\n", marker("huge"))),
        "the marker survives truncation"
    );
    assert!(text.contains("Plan: 3000 to add"));
    let tiny = render(&report(&plan, &[]), 600);
    assert!(tiny.chars().count() <= 600, "{}", tiny.len());
    assert!(tiny.ends_with(&format!("{}\n", marker("huge"))));
}
