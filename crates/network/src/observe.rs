//! Reading the network as it is: by the stack tag and deterministic names, never by
//! anything remembered from an earlier run.

use aws_sdk_ec2::types::{Filter, Vpc, VpcAttributeName};
use futures::try_join;

use crate::model::*;
use crate::{Network, NetworkError, absent_if, aws_error};

impl Network {
    /// Observes the stack's network. Everything findable by the stack tag or a name is
    /// looked up at once (subnets and the security group across VPCs, then kept only
    /// in the stack's VPC); only the VPC's DNS flags wait for its id.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, NetworkError> {
        let subnets = async {
            match &desired.vpc {
                DesiredVpc::Create { .. } => self.find_tagged_subnets(&desired.stack).await,
                DesiredVpc::Existing { subnet_ids, .. } => {
                    self.find_subnets_by_id(subnet_ids).await
                }
            }
        };
        let known_vpc = match &desired.vpc {
            DesiredVpc::Existing { vpc_id, .. } => Some(vpc_id.as_str()),
            DesiredVpc::Create { .. } => None,
        };
        let groups = async {
            let name = &desired.security_group.name;
            Ok::<_, NetworkError>(self.security_groups_named(known_vpc, name).await?)
        };
        let (vpcs, subnet_group, mut subnets, groups) = try_join!(
            self.find_vpc(desired),
            self.find_subnet_group(desired),
            subnets,
            groups
        )?;
        let is_create = matches!(desired.vpc, DesiredVpc::Create { .. });
        let Some((vpc, because)) = stack_vpc(&vpcs, &subnets, subnet_group.as_ref()) else {
            if is_create {
                subnets.clear();
            }
            return Ok(Observed {
                subnets,
                subnet_group,
                ..Observed::default()
            });
        };
        let vpc_id = vpc.vpc_id().unwrap_or_default();
        let in_vpc = |id: &str| {
            let security_group = groups.iter().find(|g| g.vpc_id() == Some(id));
            let subnets = subnets.iter().filter(|s| s.vpc_id == id).cloned().collect();
            (subnets, security_group)
        };
        let duplicates = vpcs
            .iter()
            .filter(|other| other.vpc_id() != Some(vpc_id))
            .map(|other| self.describe_duplicate(other, in_vpc));
        let (described, duplicate_vpcs) = try_join!(
            self.describe_vpc(desired, vpc),
            futures::future::try_join_all(duplicates)
        )?;
        let (subnets, security_group) = match is_create {
            true => in_vpc(vpc_id),
            false => (
                subnets.clone(),
                groups.iter().find(|g| g.vpc_id() == Some(vpc_id)),
            ),
        };
        Ok(Observed {
            vpc: Some(described),
            subnets,
            subnet_group,
            security_group: security_group.map(security_group_of),
            duplicate_vpcs,
            vpc_chosen_because: because,
        })
    }

    /// A duplicate VPC and whether anything runs in it.
    async fn describe_duplicate<'a>(
        &self,
        vpc: &Vpc,
        in_vpc: impl Fn(
            &str,
        ) -> (
            Vec<ObservedSubnet>,
            Option<&'a aws_sdk_ec2::types::SecurityGroup>,
        ),
    ) -> Result<DuplicateVpc, NetworkError> {
        let id = vpc.vpc_id().unwrap_or_default();
        let interfaces = self
            .ec2
            .describe_network_interfaces()
            .filters(filter("vpc-id", id))
            .send()
            .await
            .map_err(aws_error("DescribeNetworkInterfaces"))?;
        let (subnets, security_group) = in_vpc(id);
        Ok(DuplicateVpc {
            id: id.to_owned(),
            cidr: vpc.cidr_block().unwrap_or_default().to_owned(),
            subnets,
            security_group: security_group.and_then(|g| g.group_id()).map(str::to_owned),
            network_interfaces: interfaces.network_interfaces().len(),
        })
    }

    /// The VPCs tagged for the stack (create mode), or the spec's (existing mode).
    async fn find_vpc(&self, desired: &Desired) -> Result<Vec<Vpc>, NetworkError> {
        let request = self.ec2.describe_vpcs();
        let request = match &desired.vpc {
            DesiredVpc::Create { .. } => request.filters(tag_filter(&desired.stack)),
            DesiredVpc::Existing { vpc_id, .. } => request.filters(filter("vpc-id", vpc_id)),
        };
        let output = request.send().await.map_err(aws_error("DescribeVpcs"))?;
        Ok(output.vpcs().to_vec())
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

    /// The subnets tagged for the stack, in any VPC.
    async fn find_tagged_subnets(&self, stack: &str) -> Result<Vec<ObservedSubnet>, NetworkError> {
        let output = self
            .ec2
            .describe_subnets()
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

    /// The security groups called `name`: in `vpc_id` when it is known, else in every
    /// VPC (names are unique only within one).
    pub(crate) async fn security_groups_named(
        &self,
        vpc_id: Option<&str>,
        name: &str,
    ) -> Result<Vec<aws_sdk_ec2::types::SecurityGroup>, aws_error::AwsError> {
        let output = self
            .ec2
            .describe_security_groups()
            .set_filters(vpc_id.map(|id| vec![filter("vpc-id", id)]))
            .filters(filter("group-name", name))
            .send()
            .await
            .map_err(aws_error("DescribeSecurityGroups"))?;
        Ok(output.security_groups().to_vec())
    }
}

/// Which of the VPCs found is the stack's, and why when there is more than one: the
/// one its cache subnet group's subnets are in, else the one with most of its subnets,
/// else the first by id (so every run picks the same one).
fn stack_vpc<'a>(
    vpcs: &'a [Vpc],
    subnets: &[ObservedSubnet],
    subnet_group: Option<&ObservedSubnetGroup>,
) -> Option<(&'a Vpc, Option<String>)> {
    let mut sorted: Vec<&Vpc> = vpcs.iter().collect();
    sorted.sort_by_key(|vpc| vpc.vpc_id());
    let [first, ..] = sorted[..] else {
        return None;
    };
    if sorted.len() == 1 {
        return Some((first, None));
    }
    let ours = |vpc: &Vpc, s: &ObservedSubnet| Some(s.vpc_id.as_str()) == vpc.vpc_id();
    let holds_group = |vpc: &Vpc| {
        subnet_group.is_some_and(|group| {
            subnets
                .iter()
                .any(|s| ours(vpc, s) && group.subnet_ids.contains(&s.id))
        })
    };
    let subnet_count = |vpc: &Vpc| subnets.iter().filter(|s| ours(vpc, s)).count();
    if let Some(vpc) = sorted.iter().find(|vpc| holds_group(vpc)) {
        return Some((
            vpc,
            Some("its subnets hold the cache subnet group".to_owned()),
        ));
    }
    // The first of those with the most subnets: `max_by_key` keeps the last maximum.
    let most = sorted
        .iter()
        .rev()
        .max_by_key(|vpc| subnet_count(vpc))
        .filter(|vpc| subnet_count(vpc) > 0);
    Some(match most {
        Some(vpc) => (
            vpc,
            Some("it has the most of the stack's subnets".to_owned()),
        ),
        None => (
            first,
            Some("it is the first by id; none has the stack's subnets".to_owned()),
        ),
    })
}

fn security_group_of(group: &aws_sdk_ec2::types::SecurityGroup) -> ObservedSecurityGroup {
    let id = group.group_id().unwrap_or_default().to_owned();
    let ingress = group
        .ip_permissions()
        .iter()
        .flat_map(rules_of)
        .map(|mut observed| {
            if let Some(rule) = &mut observed.rule
                && rule.source == Source::Group(id.clone())
            {
                rule.source = Source::Itself;
            }
            observed
        })
        .collect();
    ObservedSecurityGroup {
        id,
        tags: tags_of(group.tags()),
        ingress,
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
