//! SDK-level tests for an error the local emulator does not produce: ElastiCache
//! refusing a subnet group change (`InvalidSubnet`). Responses are shaped like the AWS
//! API reference, and the assertions are on the requests this crate sends.

use aws_sdk_ec2::operation::create_subnet::CreateSubnetOutput;
use aws_sdk_ec2::operation::delete_subnet::DeleteSubnetOutput;
use aws_sdk_elasticache::operation::modify_cache_subnet_group::ModifyCacheSubnetGroupError;
use aws_sdk_elasticache::types::error::InvalidSubnet;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use network::*;

const SPEC: &str = r#"
stack: mocked
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
"#;

fn desired() -> Desired {
    Desired::from_spec(&spec::parse(SPEC, "mocked.yaml").expect("valid spec"))
}

/// The stack as applied, except that subnet b has an old CIDR block.
fn observed_with_old_subnet(desired: &Desired) -> Observed {
    let DesiredVpc::Create { tags, subnets, .. } = &desired.vpc else {
        panic!("create mode")
    };
    Observed {
        vpc: Some(ObservedVpc {
            id: "vpc-1".into(),
            cidr: "10.0.0.0/16".into(),
            dns_support: true,
            dns_hostnames: true,
            tags: tags.clone(),
        }),
        subnets: vec![
            ObservedSubnet {
                id: "subnet-a".into(),
                vpc_id: "vpc-1".into(),
                availability_zone: "us-east-1a".into(),
                cidr: "10.0.1.0/24".into(),
                tags: subnets[0].tags.clone(),
            },
            ObservedSubnet {
                id: "subnet-b-old".into(),
                vpc_id: "vpc-1".into(),
                availability_zone: "us-east-1b".into(),
                cidr: "10.0.9.0/24".into(),
                tags: subnets[1].tags.clone(),
            },
        ],
        subnet_group: Some(ObservedSubnetGroup {
            name: "mocked-subnets".into(),
            description: desired.subnet_group.description.clone(),
            subnet_ids: vec!["subnet-a".into(), "subnet-b-old".into()],
        }),
        security_group: Some(ObservedSecurityGroup {
            id: "sg-1".into(),
            tags: desired.security_group.tags.clone(),
            ingress: vec![ObservedRule {
                exact: ExactRule::of(&desired.security_group.ingress[0], "sg-1"),
                rule: Some(desired.security_group.ingress[0].clone()),
                description: String::new(),
            }],
        }),
        ..Observed::default()
    }
}

#[tokio::test]
async fn a_failed_subnet_group_change_stops_before_the_old_subnet_is_deleted() {
    let create_subnet = mock!(aws_sdk_ec2::Client::create_subnet).then_output(|| {
        CreateSubnetOutput::builder()
            .subnet(
                aws_sdk_ec2::types::Subnet::builder()
                    .subnet_id("subnet-b-new")
                    .build(),
            )
            .build()
    });
    let delete_subnet = mock!(aws_sdk_ec2::Client::delete_subnet)
        .then_output(|| DeleteSubnetOutput::builder().build());
    let modify_group =
        mock!(aws_sdk_elasticache::Client::modify_cache_subnet_group).then_error(|| {
            ModifyCacheSubnetGroupError::InvalidSubnet(
                InvalidSubnet::builder()
                    .message("subnet-b-new is in use")
                    .build(),
            )
        });
    let ec2 = mock_client!(
        aws_sdk_ec2,
        RuleMode::MatchAny,
        [&create_subnet, &delete_subnet]
    );
    let elasticache = mock_client!(aws_sdk_elasticache, RuleMode::Sequential, [&modify_group]);

    let desired = desired();
    let observed = observed_with_old_subnet(&desired);
    let plan = diff(&desired, &observed).expect("plans");
    let error = Network::new(ec2, elasticache)
        .apply(&plan)
        .await
        .expect_err("the modification fails");
    assert!(
        error
            .to_string()
            .starts_with("ModifyCacheSubnetGroup failed"),
        "{error}"
    );
    assert_eq!(delete_subnet.num_calls(), 0, "the old subnet is kept");
}
