//! Reading the network as it is: by the stack tag and deterministic names, never by
//! anything remembered from an earlier run.

use aws_sdk_ec2::types::{Filter, Vpc, VpcAttributeName};
use futures::try_join;

use crate::model::*;
use crate::{Network, NetworkError, absent_if, aws_error};

impl Network {
    /// Observes the stack's network. Lookups that do not depend on each other run
    /// concurrently: the VPC and the subnet group first, then everything in the VPC.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, NetworkError> {
        let (vpc, subnet_group) =
            try_join!(self.find_vpc(desired), self.find_subnet_group(desired))?;
        let Some(vpc) = vpc else {
            let subnets = match &desired.vpc {
                DesiredVpc::Existing { subnet_ids, .. } => {
                    self.find_subnets_by_id(subnet_ids).await?
                }
                DesiredVpc::Create { .. } => Vec::new(),
            };
            return Ok(Observed {
                vpc: None,
                subnets,
                subnet_group,
                security_group: None,
            });
        };
        let vpc_id = vpc.vpc_id().unwrap_or_default();
        let subnets = async {
            match &desired.vpc {
                DesiredVpc::Create { .. } => self.find_stack_subnets(vpc_id, &desired.stack).await,
                DesiredVpc::Existing { subnet_ids, .. } => {
                    self.find_subnets_by_id(subnet_ids).await
                }
            }
        };
        let (vpc, subnets, security_group) = try_join!(
            self.describe_vpc(desired, &vpc),
            subnets,
            self.find_security_group(vpc_id, &desired.security_group.name)
        )?;
        Ok(Observed {
            vpc: Some(vpc),
            subnets,
            subnet_group,
            security_group,
        })
    }

    async fn find_vpc(&self, desired: &Desired) -> Result<Option<Vpc>, NetworkError> {
        let request = self.ec2.describe_vpcs();
        let request = match &desired.vpc {
            DesiredVpc::Create { .. } => request.filters(tag_filter(&desired.stack)),
            DesiredVpc::Existing { vpc_id, .. } => request.filters(filter("vpc-id", vpc_id)),
        };
        let output = request.send().await.map_err(aws_error("DescribeVpcs"))?;
        let vpcs = output.vpcs();
        if vpcs.len() > 1 {
            return Err(NetworkError::Ambiguous {
                what: "VPCs",
                stack: desired.stack.clone(),
                ids: vpcs
                    .iter()
                    .filter_map(|v| v.vpc_id().map(str::to_owned))
                    .collect(),
            });
        }
        Ok(vpcs.first().cloned())
    }

    /// The VPC's DNS flags, which `DescribeVpcs` does not report. An existing VPC's are
    /// not ours to check.
    async fn describe_vpc(
        &self,
        desired: &Desired,
        vpc: &Vpc,
    ) -> Result<ObservedVpc, NetworkError> {
        let id = vpc.vpc_id().unwrap_or_default().to_owned();
        let (dns_support, dns_hostnames) = match desired.vpc {
            DesiredVpc::Create { .. } => try_join!(
                self.vpc_flag(&id, VpcAttributeName::EnableDnsSupport),
                self.vpc_flag(&id, VpcAttributeName::EnableDnsHostnames)
            )?,
            DesiredVpc::Existing { .. } => (true, true),
        };
        Ok(ObservedVpc {
            cidr: vpc.cidr_block().unwrap_or_default().to_owned(),
            tags: tags_of(vpc.tags()),
            id,
            dns_support,
            dns_hostnames,
        })
    }

    async fn vpc_flag(
        &self,
        vpc_id: &str,
        attribute: VpcAttributeName,
    ) -> Result<bool, NetworkError> {
        let output = self
            .ec2
            .describe_vpc_attribute()
            .vpc_id(vpc_id)
            .attribute(attribute.clone())
            .send()
            .await
            .map_err(aws_error("DescribeVpcAttribute"))?;
        let flag = match attribute {
            VpcAttributeName::EnableDnsHostnames => output.enable_dns_hostnames(),
            _ => output.enable_dns_support(),
        };
        Ok(flag.and_then(|f| f.value()).unwrap_or(false))
    }

    async fn find_stack_subnets(
        &self,
        vpc_id: &str,
        stack: &str,
    ) -> Result<Vec<ObservedSubnet>, NetworkError> {
        let output = self
            .ec2
            .describe_subnets()
            .filters(filter("vpc-id", vpc_id))
            .filters(tag_filter(stack))
            .send()
            .await
            .map_err(aws_error("DescribeSubnets"))?;
        Ok(output.subnets().iter().map(subnet_of).collect())
    }

    async fn find_subnets_by_id(
        &self,
        ids: &[String],
    ) -> Result<Vec<ObservedSubnet>, NetworkError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // A filter, unlike SubnetIds, answers with the subnets that exist instead of
        // failing on the first that does not, so the error can list every missing one.
        let output = self
            .ec2
            .describe_subnets()
            .filters(
                Filter::builder()
                    .name("subnet-id")
                    .set_values(Some(ids.to_vec()))
                    .build(),
            )
            .send()
            .await
            .map_err(aws_error("DescribeSubnets"))?;
        Ok(output.subnets().iter().map(subnet_of).collect())
    }

    async fn find_subnet_group(
        &self,
        desired: &Desired,
    ) -> Result<Option<ObservedSubnetGroup>, NetworkError> {
        let name = &desired.subnet_group.name;
        let result = self
            .elasticache
            .describe_cache_subnet_groups()
            .cache_subnet_group_name(name)
            .send()
            .await;
        let Some(output) = absent_if(result, "DescribeCacheSubnetGroups", |e| {
            e.is_cache_subnet_group_not_found_fault()
        })?
        else {
            return Ok(None);
        };
        Ok(output
            .cache_subnet_groups()
            .first()
            .map(|group| ObservedSubnetGroup {
                name: group.cache_subnet_group_name().unwrap_or(name).to_owned(),
                description: group
                    .cache_subnet_group_description()
                    .unwrap_or_default()
                    .to_owned(),
                subnet_ids: group
                    .subnets()
                    .iter()
                    .filter_map(|s| s.subnet_identifier().map(str::to_owned))
                    .collect(),
            }))
    }

    /// The security group called `name` in the VPC (names are unique in a VPC).
    pub(crate) async fn security_group_named(
        &self,
        vpc_id: &str,
        name: &str,
    ) -> Result<Option<aws_sdk_ec2::types::SecurityGroup>, aws_error::AwsError> {
        let output = self
            .ec2
            .describe_security_groups()
            .filters(filter("vpc-id", vpc_id))
            .filters(filter("group-name", name))
            .send()
            .await
            .map_err(aws_error("DescribeSecurityGroups"))?;
        Ok(output.security_groups().first().cloned())
    }

    async fn find_security_group(
        &self,
        vpc_id: &str,
        name: &str,
    ) -> Result<Option<ObservedSecurityGroup>, NetworkError> {
        let Some(group) = self.security_group_named(vpc_id, name).await? else {
            return Ok(None);
        };
        let ingress = group.ip_permissions().iter().flat_map(rules_of).collect();
        Ok(Some(ObservedSecurityGroup {
            id: group.group_id().unwrap_or_default().to_owned(),
            tags: tags_of(group.tags()),
            ingress,
        }))
    }
}

/// A permission as `DescribeSecurityGroups` gives it, one rule per source.
fn rules_of(permission: &aws_sdk_ec2::types::IpPermission) -> Vec<ObservedRule> {
    let ipv4 = permission
        .ip_ranges()
        .iter()
        .filter_map(|r| r.cidr_ip())
        .map(|cidr| ExactSource::Ipv4(cidr.to_owned()));
    let ipv6 = permission
        .ipv6_ranges()
        .iter()
        .filter_map(|r| r.cidr_ipv6())
        .map(|cidr| ExactSource::Ipv6(cidr.to_owned()));
    let prefix_lists = permission
        .prefix_list_ids()
        .iter()
        .filter_map(|p| p.prefix_list_id())
        .map(|id| ExactSource::PrefixList(id.to_owned()));
    let groups = permission
        .user_id_group_pairs()
        .iter()
        .filter_map(|p| p.group_id())
        .map(|id| ExactSource::Group(id.to_owned()));
    ipv4.chain(ipv6)
        .chain(prefix_lists)
        .chain(groups)
        .map(|source| {
            rule_of(ExactRule {
                protocol: permission.ip_protocol().unwrap_or("-1").to_owned(),
                from_port: permission.from_port(),
                to_port: permission.to_port(),
                source,
            })
        })
        .collect()
}

fn rule_of(exact: ExactRule) -> ObservedRule {
    let (from, to) = (exact.from_port.unwrap_or(-1), exact.to_port.unwrap_or(-1));
    let (source, source_text) = match &exact.source {
        ExactSource::Ipv4(cidr) => (cidr.parse().ok().map(Source::Cidr), cidr),
        ExactSource::Group(group) => (Some(Source::Group(group.clone())), group),
        ExactSource::Ipv6(text) | ExactSource::PrefixList(text) => (None, text),
    };
    let ports = if from == to {
        from.to_string()
    } else {
        format!("{from}-{to}")
    };
    let protocol_text = if exact.protocol == "-1" {
        "all"
    } else {
        &exact.protocol
    };
    let single_tcp_port = exact.protocol == "tcp" && from == to;
    ObservedRule {
        description: format!("{protocol_text}/{ports} from {source_text}"),
        rule: match (single_tcp_port, u16::try_from(from), source) {
            (true, Ok(port), Some(source)) => Some(IngressRule { port, source }),
            _ => None,
        },
        exact,
    }
}

fn subnet_of(subnet: &aws_sdk_ec2::types::Subnet) -> ObservedSubnet {
    ObservedSubnet {
        id: subnet.subnet_id().unwrap_or_default().to_owned(),
        vpc_id: subnet.vpc_id().unwrap_or_default().to_owned(),
        availability_zone: subnet.availability_zone().unwrap_or_default().to_owned(),
        cidr: subnet.cidr_block().unwrap_or_default().to_owned(),
        tags: tags_of(subnet.tags()),
    }
}

pub(crate) fn tags_of(tags: &[aws_sdk_ec2::types::Tag]) -> Tags {
    plan::tags::from_pairs(tags.iter().map(|t| (t.key(), t.value())))
}

pub(crate) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn tag_filter(stack: &str) -> Filter {
    filter(&format!("tag:{}", spec::STACK_TAG), stack)
}
