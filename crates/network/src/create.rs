//! Creates that must not duplicate. EC2 takes no idempotency token for `CreateVpc`,
//! `CreateSubnet` or `CreateSecurityGroup`, so each is sent once, without the SDK's
//! retries, and when its answer is lost the resource is looked for (by the stack tag
//! and CIDR, the VPC and CIDR, or the group name) before anything is sent again.

use aws_error::{AwsError, aws_error, create_once};
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::types::ResourceType;
use ipnet::Ipv4Net;

use crate::Network;
use crate::apply::tag_spec;
use crate::model::Tags;
use crate::observe::filter;

/// No SDK retries for one call: a retried create may be a second resource.
pub fn sent_once() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default().retry_config(RetryConfig::disabled())
}

impl Network {
    /// Creates the stack's VPC, or adopts the one a lost answer created: the VPC is
    /// tagged at creation, so it is found by the stack tag and its CIDR.
    pub(crate) async fn create_vpc(&self, cidr: Ipv4Net, tags: &Tags) -> Result<String, AwsError> {
        let stack = tags.get(spec::STACK_TAG).cloned().unwrap_or_default();
        let create = || async {
            let output = self
                .ec2
                .create_vpc()
                .cidr_block(cidr.to_string())
                .tag_specifications(tag_spec(ResourceType::Vpc, tags))
                .customize()
                .config_override(sent_once())
                .send()
                .await
                .map_err(aws_error("CreateVpc"))?;
            Ok(output
                .vpc()
                .and_then(|v| v.vpc_id())
                .unwrap_or_default()
                .to_owned())
        };
        let find = || async {
            let found = self
                .ec2
                .describe_vpcs()
                .filters(filter(&format!("tag:{}", spec::STACK_TAG), &stack))
                .filters(filter("cidr", &cidr.to_string()))
                .send()
                .await
                .map_err(aws_error("DescribeVpcs"))?;
            Ok(found
                .vpcs()
                .iter()
                .find_map(|v| v.vpc_id())
                .map(str::to_owned))
        };
        create_once(self.ec2.config().sleep_impl(), create, find).await
    }

    /// Creates a subnet, or adopts the one a lost answer created: a VPC holds one subnet
    /// per CIDR block.
    pub(crate) async fn create_subnet(
        &self,
        vpc_id: &str,
        availability_zone: &str,
        cidr: Ipv4Net,
        tags: &Tags,
    ) -> Result<String, AwsError> {
        let create = || async {
            let output = self
                .ec2
                .create_subnet()
                .vpc_id(vpc_id)
                .availability_zone(availability_zone)
                .cidr_block(cidr.to_string())
                .tag_specifications(tag_spec(ResourceType::Subnet, tags))
                .customize()
                .config_override(sent_once())
                .send()
                .await
                .map_err(aws_error("CreateSubnet"))?;
            Ok(output
                .subnet()
                .and_then(|s| s.subnet_id())
                .unwrap_or_default()
                .to_owned())
        };
        let find = || async {
            let found = self
                .ec2
                .describe_subnets()
                .filters(filter("vpc-id", vpc_id))
                .filters(filter("cidr-block", &cidr.to_string()))
                .send()
                .await
                .map_err(aws_error("DescribeSubnets"))?;
            Ok(found
                .subnets()
                .iter()
                .find_map(|s| s.subnet_id())
                .map(str::to_owned))
        };
        create_once(self.ec2.config().sleep_impl(), create, find).await
    }

    /// Creates the security group, or adopts the one a lost answer created: names are
    /// unique in a VPC.
    pub(crate) async fn create_security_group(
        &self,
        vpc_id: &str,
        name: &str,
        description: &str,
        tags: &Tags,
    ) -> Result<String, AwsError> {
        let create = || async {
            let output = self
                .ec2
                .create_security_group()
                .group_name(name)
                .description(description)
                .vpc_id(vpc_id)
                .tag_specifications(tag_spec(ResourceType::SecurityGroup, tags))
                .customize()
                .config_override(sent_once())
                .send()
                .await
                .map_err(aws_error("CreateSecurityGroup"))?;
            Ok(output.group_id().unwrap_or_default().to_owned())
        };
        let find = || async {
            let found = self.security_groups_named(Some(vpc_id), name).await?;
            Ok(found.first().and_then(|g| g.group_id().map(str::to_owned)))
        };
        create_once(self.ec2.config().sleep_impl(), create, find).await
    }
}
