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
        cost: None,
    }
}

fn price(usage_type: &str, per_unit: f64) -> cost::Price {
    cost::Price {
        sku: "EAFX0123456789AB".into(),
        usage_type: usage_type.into(),
        unit: "Hrs".into(),
        per_unit,
        effective_date: "2026-11-01T00:00:00Z".into(),
        description: String::new(),
        memory_gib: Some(13.07),
    }
}

fn line(resource: &'static str, quantity: &str, monthly: f64, estimate: bool) -> cost::Line {
    cost::Line {
        resource,
        quantity: quantity.into(),
        monthly: Some(monthly),
        estimate,
        note: estimate.then(|| "13 billed snapshot(s) × 1 shard(s) × 13.07 GiB, as if the nodes were full (182.4 GB)".into()),
        prices: vec![price("EU-NodeUsage:cache.r7g.large", 0.1944)],
    }
}

/// A new stack of three Valkey nodes with backups, a key and a secret.
fn new_stack_cost() -> cost::CostReport {
    cost::CostReport::Estimated(cost::Estimate {
        region: "eu-west-1".into(),
        before: cost::Bill::default(),
        after: cost::Bill {
            lines: vec![
                line("cache nodes", "3 × cache.r7g.large (Valkey)", 425.74, false),
                line(
                    "backup storage",
                    "14 daily snapshots, one free",
                    15.50,
                    true,
                ),
                line("KMS key", "1", 1.0, false),
                line("secrets", "1", 0.4, false),
            ],
        },
    })
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
    let cost = new_stack_cost();
    let findings = failing_finding();
    let report = Report {
        cost: Some(&cost),
        ..report(&plan, &findings)
    };
    let text = render(&report, COMMENT_LIMIT);
    assert!(
        text.contains("**+$442.64/month (from $0.00 to $442.64)**"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn a_plan_without_pricing_access_says_why_and_nothing_else_changes() {
    let plan = create_everything();
    let cost = cost::CostReport::Unavailable(
        "GetProducts failed: AccessDeniedException: not authorized to perform: pricing:GetProducts"
            .into(),
    );
    let with = render(
        &Report {
            cost: Some(&cost),
            ..report(&plan, &[])
        },
        COMMENT_LIMIT,
    );
    let without = render(&report(&plan, &[]), COMMENT_LIMIT);
    let line = "**Cost unavailable:** GetProducts failed: AccessDeniedException: not authorized to perform: pricing:GetProducts\n\n";
    assert_eq!(with.replacen(line, "", 1), without);
}

#[test]
fn a_smaller_node_type_shows_the_saving_per_resource() {
    let plan = Plan::new("orders");
    let cost::CostReport::Estimated(before) = new_stack_cost() else {
        unreachable!("estimated")
    };
    let mut after = before.after.clone();
    after.lines[0] = line("cache nodes", "3 × cache.t4g.small (Valkey)", 63.07, false);
    after.lines.remove(2);
    let cost = cost::CostReport::Estimated(cost::Estimate {
        region: "eu-west-1".into(),
        before: before.after,
        after,
    });
    let text = render(
        &Report {
            cost: Some(&cost),
            ..report(&plan, &[])
        },
        COMMENT_LIMIT,
    );
    insta::assert_snapshot!(text);
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
