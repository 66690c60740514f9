//! The network step against the local emulator (moto): each test in its own account.
//! Start the emulator first: `scripts/emulator.sh start`.

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};
use network::{Desired, Network, NetworkError, Observed, diff, diff_destroy};
use plan::{Action, Known};
use test_support::Emulator;

const CREATE: &str = r#"
stack: netdemo
region: us-east-1
engine: { name: valkey, version: "8.0" }
node_type: cache.t4g.micro
network:
  create:
    vpc_cidr: 10.42.0.0/16
    subnets:
      - { availability_zone: us-east-1a, cidr: 10.42.1.0/24 }
      - { availability_zone: us-east-1b, cidr: 10.42.2.0/24 }
  allow: { cidrs: [10.42.0.0/16] }
tags: { team: platform }
"#;

struct Harness {
    network: Network,
    ec2: aws_sdk_ec2::Client,
    desired: Desired,
}

impl Harness {
    async fn new(test: &str, source: &str) -> Harness {
        let account = Emulator::account(test).await;
        let ec2 = aws_sdk_ec2::Client::new(&account.config);
        let elasticache = aws_sdk_elasticache::Client::new(&account.config);
        let spec = spec::parse(source, "test.yaml").expect("valid spec");
        Harness {
            network: Network::new(ec2.clone(), elasticache),
            ec2,
            desired: Desired::from_spec(&spec),
        }
    }

    async fn observe(&self) -> Observed {
        self.network.observe(&self.desired).await.expect("observes")
    }

    async fn converge(&self) -> network::NetworkOutputs {
        let observed = self.observe().await;
        let plan = diff(&self.desired, &observed).expect("plans");
        self.network.apply(&plan).await.expect("applies")
    }

    async fn assert_converged(&self) {
        let plan = diff(&self.desired, &self.observe().await).expect("plans");
        let changes: Vec<_> = plan.changes.iter().filter(|c| c.is_change()).collect();
        assert!(changes.is_empty(), "expected no changes, got {changes:#?}");
        assert!(
            !plan.has_writes(),
            "expected no writes, got {:?}",
            plan.operations()
        );
    }

    async fn stack_vpcs(&self) -> Vec<String> {
        let output = self
            .ec2
            .describe_vpcs()
            .filters(
                Filter::builder()
                    .name("tag:elasticache-action:stack")
                    .values("netdemo")
                    .build(),
            )
            .send()
            .await
            .expect("describes");
        output
            .vpcs()
            .iter()
            .filter_map(|v| v.vpc_id().map(str::to_owned))
            .collect()
    }
}

#[tokio::test]
async fn creates_from_nothing_then_plans_no_change() {
    let harness = Harness::new("creates_from_nothing", CREATE).await;
    let outputs = harness.converge().await;
    let Known::Value(subnets) = &outputs.subnet_ids else {
        panic!("subnets known after apply")
    };
    assert_eq!(subnets.len(), 2);
    assert_eq!(outputs.subnet_group, "netdemo-subnets");

    let observed = harness.observe().await;
    let vpc = observed.vpc.as_ref().expect("vpc");
    assert!(vpc.dns_support && vpc.dns_hostnames);
    assert_eq!(vpc.tags.get("team").map(String::as_str), Some("platform"));
    assert_eq!(
        observed.subnet_group.as_ref().map(|g| g.subnet_ids.len()),
        Some(2)
    );
    let group = observed.security_group.as_ref().expect("security group");
    assert_eq!(group.ingress.len(), 1);
    assert_eq!(group.ingress[0].description, "tcp/6379 from 10.42.0.0/16");

    harness.assert_converged().await;
}

#[tokio::test]
async fn drift_in_the_security_group_is_planned_and_repaired() {
    let harness = Harness::new("drift_in_security_group", CREATE).await;
    let outputs = harness.converge().await;
    let group_id = outputs.security_group_id.value().expect("known").clone();

    // Out of band: our rule removed, an SSH rule from anywhere added.
    harness
        .ec2
        .revoke_security_group_ingress()
        .group_id(&group_id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(6379)
                .to_port(6379)
                .ip_ranges(IpRange::builder().cidr_ip("10.42.0.0/16").build())
                .build(),
        )
        .send()
        .await
        .expect("revokes");
    harness
        .ec2
        .authorize_security_group_ingress()
        .group_id(&group_id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .expect("authorizes");

    let plan = diff(&harness.desired, &harness.observe().await).expect("plans");
    let changed: Vec<(Action, String)> = plan
        .changes
        .iter()
        .filter(|c| c.is_change())
        .map(|c| (c.action, c.resource.name.clone()))
        .collect();
    assert_eq!(
        changed,
        [
            (
                Action::Create,
                "netdemo-cache: tcp/6379 from 10.42.0.0/16".to_owned()
            ),
            (
                Action::Delete,
                "netdemo-cache: tcp/22 from 0.0.0.0/0".to_owned()
            ),
        ]
    );
    harness.converge().await;
    harness.assert_converged().await;
}

#[tokio::test]
async fn an_interrupted_apply_resumes_without_a_second_vpc() {
    let harness = Harness::new("interrupted_apply", CREATE).await;
    let observed = harness.observe().await;
    let mut plan = diff(&harness.desired, &observed).expect("plans");
    // Stop after the VPC and its first subnet exist.
    plan.stop_after(3);
    assert_eq!(plan.operations()[2], "CreateSubnet");
    let interrupted = harness.network.apply(&plan).await;
    assert!(
        matches!(interrupted, Err(NetworkError::Internal(_))),
        "{interrupted:?}"
    );
    assert_eq!(harness.stack_vpcs().await.len(), 1);

    let resumed = diff(&harness.desired, &harness.observe().await).expect("plans");
    assert_eq!(
        resumed.changes[0].action,
        Action::NoOp,
        "the VPC is found again"
    );
    assert_eq!(
        resumed.changes[1].action,
        Action::NoOp,
        "so is the first subnet"
    );
    harness.converge().await;
    assert_eq!(harness.stack_vpcs().await.len(), 1);
    harness.assert_converged().await;
}

#[tokio::test]
async fn an_existing_vpc_is_used_and_left_alone() {
    let account = Emulator::account("existing_vpc").await;
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.7.0.0/16")
        .send()
        .await
        .expect("vpc");
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).expect("id").to_owned();
    let mut subnet_ids = Vec::new();
    for (zone, cidr) in [("us-east-1a", "10.7.1.0/24"), ("us-east-1b", "10.7.2.0/24")] {
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .availability_zone(zone)
            .cidr_block(cidr)
            .send()
            .await
            .expect("subnet");
        subnet_ids.push(
            subnet
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("id")
                .to_owned(),
        );
    }
    let source = format!(
        "stack: netdemo\nregion: us-east-1\nengine: {{name: redis, version: \"7.1\"}}\nnode_type: cache.t4g.micro\n\
         network:\n  existing: {{vpc_id: {vpc_id}, subnet_ids: [{}]}}\n  allow: {{cidrs: [10.0.0.0/8]}}\n",
        subnet_ids.join(", ")
    );
    let spec = spec::parse(&source, "existing.yaml").expect("valid spec");
    let desired = Desired::from_spec(&spec);
    let network = Network::new(
        ec2.clone(),
        aws_sdk_elasticache::Client::new(&account.config),
    );

    let observed = network.observe(&desired).await.expect("observes");
    let plan = diff(&desired, &observed).expect("plans");
    let kinds: Vec<&str> = plan
        .changes
        .iter()
        .map(|c| c.resource.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "cache_subnet_group",
            "security_group",
            "security_group_rule"
        ]
    );
    let outputs = network.apply(&plan).await.expect("applies");
    assert_eq!(outputs.vpc_id, Known::Value(vpc_id.clone()));
    assert_eq!(outputs.subnet_ids, Known::Value(subnet_ids.clone()));

    let again = diff(
        &desired,
        &network.observe(&desired).await.expect("observes"),
    )
    .expect("plans");
    assert!(!again.has_writes(), "{:?}", again.operations());

    // A subnet id that does not exist is a clear error before anything is written.
    let wrong = source.replace(&subnet_ids[1], "subnet-0000000000000dead");
    let desired = Desired::from_spec(&spec::parse(&wrong, "wrong.yaml").expect("valid spec"));
    let error = diff(
        &desired,
        &network.observe(&desired).await.expect("observes"),
    )
    .expect_err("missing subnet");
    assert!(
        error.to_string().contains("subnet-0000000000000dead"),
        "{error}"
    );
}

#[tokio::test]
async fn destroy_removes_what_the_stack_created_and_nothing_else() {
    let harness = Harness::new("destroy", CREATE).await;
    harness.converge().await;
    let all_vpcs = |ec2: aws_sdk_ec2::Client| async move {
        ec2.describe_vpcs()
            .send()
            .await
            .expect("describes")
            .vpcs()
            .len()
    };
    assert_eq!(
        all_vpcs(harness.ec2.clone()).await,
        2,
        "the default VPC and ours"
    );

    let plan = diff_destroy(&harness.desired, &harness.observe().await);
    assert_eq!(plan.changes.len(), 5);
    harness.network.destroy(&plan).await.expect("destroys");
    assert!(harness.stack_vpcs().await.is_empty());
    assert!(
        harness.observe().await.subnet_group.is_none(),
        "the subnet group is deleted by name"
    );
    let remaining = harness.ec2.describe_vpcs().send().await.expect("describes");
    assert_eq!(remaining.vpcs().len(), 1);
    assert_eq!(
        remaining.vpcs()[0].is_default(),
        Some(true),
        "the default VPC survives"
    );
}

#[tokio::test]
async fn a_replaced_subnet_moves_the_subnet_group_before_the_old_subnet_goes() {
    let harness = Harness::new("replace_subnet", CREATE).await;
    let before = harness.converge().await;
    let moved = Harness {
        desired: Desired::from_spec(
            &spec::parse(&CREATE.replace("10.42.2.0/24", "10.42.9.0/24"), "test.yaml")
                .expect("valid spec"),
        ),
        ..harness
    };
    let plan = diff(&moved.desired, &moved.observe().await).expect("plans");
    let after = moved.network.apply(&plan).await.expect("applies");
    let (Known::Value(before), Known::Value(after)) = (before.subnet_ids, after.subnet_ids) else {
        panic!("subnet ids are known once applied")
    };
    assert_eq!(before[0], after[0], "subnet a stays");
    assert_ne!(before[1], after[1], "subnet b is new");
    let group = moved
        .observe()
        .await
        .subnet_group
        .expect("the subnet group");
    assert_eq!(group.subnet_ids, after, "the group holds the new subnet");
    moved.assert_converged().await;
}

/// A VPC tagged for the stack, with one tagged subnet, as a lost `CreateVpc` answer or
/// an older version left it.
async fn make_duplicate(harness: &Harness, cidr: &str) -> (String, String) {
    let tags = aws_sdk_ec2::types::TagSpecification::builder().tags(
        aws_sdk_ec2::types::Tag::builder()
            .key("elasticache-action:stack")
            .value("netdemo")
            .build(),
    );
    let vpc = harness
        .ec2
        .create_vpc()
        .cidr_block(cidr)
        .tag_specifications(
            tags.clone()
                .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
                .build(),
        )
        .send()
        .await
        .expect("a duplicate VPC");
    let vpc_id = vpc
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("an id")
        .to_owned();
    let subnet = harness
        .ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block(cidr.replace(".0.0/16", ".1.0/24"))
        .availability_zone("us-east-1a")
        .tag_specifications(
            tags.resource_type(aws_sdk_ec2::types::ResourceType::Subnet)
                .build(),
        )
        .send()
        .await
        .expect("a subnet in it");
    let subnet_id = subnet
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("an id")
        .to_owned();
    (vpc_id, subnet_id)
}

#[tokio::test]
async fn an_empty_duplicate_vpc_is_deleted_and_one_in_use_is_kept_with_the_reason() {
    let harness = Harness::new("duplicate_vpcs", CREATE).await;
    harness.converge().await;
    let ours = harness.observe().await.vpc.expect("our VPC").id;
    let (empty, _) = make_duplicate(&harness, "10.43.0.0/16").await;
    let (in_use, busy_subnet) = make_duplicate(&harness, "10.44.0.0/16").await;
    harness
        .ec2
        .create_network_interface()
        .subnet_id(&busy_subnet)
        .send()
        .await
        .expect("something running in it");

    let observed = harness.observe().await;
    assert_eq!(
        observed.vpc.as_ref().map(|v| v.id.clone()),
        Some(ours.clone())
    );
    let plan = diff(&harness.desired, &observed).expect("plans instead of refusing");
    let deleted: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| c.resource.to_string())
        .collect();
    assert_eq!(
        deleted,
        [format!("vpc {empty} (duplicate, empty)")],
        "{:#?}",
        plan.changes
    );
    let warning = plan.warnings.join("\n");
    assert!(
        warning.contains(&in_use) && warning.contains(&format!("the stack uses {ours}")),
        "{warning}"
    );
    assert!(warning.contains("cache subnet group"), "{warning}");

    harness.network.apply(&plan).await.expect("applies");
    let mut left = harness.stack_vpcs().await;
    left.sort();
    let mut expected = vec![ours, in_use];
    expected.sort();
    assert_eq!(
        left, expected,
        "the empty duplicate is gone, the one in use stays"
    );
    harness.assert_converged().await;
}
