//! Carrying out a plan's operations, in order, filling in ids as AWS assigns them.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, Tag,
    TagSpecification, UserIdGroupPair,
};
use plan::Known;

use crate::diff::{NetworkOutputs, NetworkPlan, Op};
use crate::model::*;
use crate::{Network, NetworkError, aws_error};
use aws_error::already_done;

/// Ids known so far: observed ones, then those created by earlier operations.
struct Context {
    vpc_id: Option<String>,
    subnets_by_zone: BTreeMap<String, String>,
    security_group_id: Option<String>,
}

impl Network {
    /// Performs `plan.ops` in order and returns the network's outputs. Safe to re-run:
    /// an interrupted apply leaves tagged resources that the next observe finds.
    pub async fn apply(&self, plan: &NetworkPlan) -> Result<NetworkOutputs, NetworkError> {
        let (desired, observed) = (&plan.desired, &plan.observed);
        let mut context = Context {
            vpc_id: observed.vpc.as_ref().map(|v| v.id.clone()),
            subnets_by_zone: observed
                .subnets
                .iter()
                .map(|s| (s.availability_zone.clone(), s.id.clone()))
                .collect(),
            security_group_id: observed.security_group.as_ref().map(|g| g.id.clone()),
        };
        for op in &plan.ops {
            self.perform(op, desired, &mut context).await?;
        }
        let vpc_id = context
            .vpc_id
            .clone()
            .ok_or(NetworkError::Internal("no VPC after apply"))?;
        let security_group_id = context
            .security_group_id
            .clone()
            .ok_or(NetworkError::Internal("no security group after apply"))?;
        Ok(NetworkOutputs {
            vpc_id: Known::Value(vpc_id),
            subnet_ids: Known::Value(subnet_ids(desired, &context)?),
            subnet_group: desired.subnet_group.name.clone(),
            security_group_id: Known::Value(security_group_id),
        })
    }

    /// Performs a destroy plan's deletions. Each is attempted even when an earlier one
    /// failed, so one stuck resource does not keep the rest alive; every failure is
    /// reported.
    pub async fn destroy(&self, plan: &NetworkPlan) -> Result<(), NetworkError> {
        let desired = &plan.desired;
        let mut context = Context {
            vpc_id: None,
            subnets_by_zone: BTreeMap::new(),
            security_group_id: None,
        };
        let mut failures = Vec::new();
        for op in &plan.ops {
            if let Err(err) = self.perform(op, desired, &mut context).await {
                failures.push(err);
            }
        }
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            _ => Err(NetworkError::Several(failures)),
        }
    }

    async fn perform(
        &self,
        op: &Op,
        desired: &Desired,
        context: &mut Context,
    ) -> Result<(), NetworkError> {
        tracing::debug!(?op, "network operation");
        match op {
            Op::CreateVpc { cidr, tags } => {
                context.vpc_id = Some(self.create_vpc(*cidr, tags).await?);
            }
            Op::EnableVpcDns { support, hostnames } => {
                let vpc_id = context.vpc_id()?;
                // AWS takes one attribute per call.
                if *support {
                    self.ec2
                        .modify_vpc_attribute()
                        .vpc_id(vpc_id)
                        .enable_dns_support(on())
                        .send()
                        .await
                        .map_err(aws_error("ModifyVpcAttribute"))?;
                }
                if *hostnames {
                    self.ec2
                        .modify_vpc_attribute()
                        .vpc_id(vpc_id)
                        .enable_dns_hostnames(on())
                        .send()
                        .await
                        .map_err(aws_error("ModifyVpcAttribute"))?;
                }
            }
            Op::Tag { resource_id, tags } => {
                self.ec2
                    .create_tags()
                    .resources(resource_id)
                    .set_tags(Some(ec2_tags(tags)))
                    .send()
                    .await
                    .map_err(aws_error("CreateTags"))?;
            }
            Op::CreateSubnet {
                availability_zone,
                cidr,
                tags,
            } => {
                let vpc_id = context.vpc_id()?;
                let id = self
                    .create_subnet(vpc_id, availability_zone, *cidr, tags)
                    .await?;
                context
                    .subnets_by_zone
                    .insert(availability_zone.clone(), id);
            }
            Op::CreateSubnetGroup {
                name,
                description,
                tags,
            } => {
                let created = self
                    .elasticache
                    .create_cache_subnet_group()
                    .cache_subnet_group_name(name)
                    .cache_subnet_group_description(description)
                    .set_subnet_ids(Some(subnet_ids(desired, context)?))
                    .set_tags(Some(elasticache_tags(tags)))
                    .send()
                    .await
                    .map_err(aws_error("CreateCacheSubnetGroup"));
                // Names are unique per account and region, and observe found none: one
                // there now is ours, made by a retry whose first answer was lost.
                already_done(created, "CacheSubnetGroupAlreadyExists")?;
            }
            Op::ModifySubnetGroup { name, description } => {
                self.elasticache
                    .modify_cache_subnet_group()
                    .cache_subnet_group_name(name)
                    .cache_subnet_group_description(description)
                    .set_subnet_ids(Some(subnet_ids(desired, context)?))
                    .send()
                    .await
                    .map_err(aws_error("ModifyCacheSubnetGroup"))?;
            }
            Op::CreateSecurityGroup {
                name,
                description,
                tags,
            } => {
                let vpc_id = context.vpc_id()?;
                let id = self
                    .create_security_group(vpc_id, name, description, tags)
                    .await?;
                context.security_group_id = Some(id);
            }
            Op::AuthorizeIngress { rules } => {
                let group_id = context.security_group_id()?;
                let authorized = self
                    .ec2
                    .authorize_security_group_ingress()
                    .group_id(group_id)
                    .set_ip_permissions(Some(
                        rules
                            .iter()
                            .map(|rule| permission(&ExactRule::of(rule, group_id), Some(OUR_RULE)))
                            .collect(),
                    ))
                    .send()
                    .await
                    .map_err(aws_error("AuthorizeSecurityGroupIngress"));
                // A retry after a lost answer finds the rules it added.
                already_done(authorized, "InvalidPermission.Duplicate")?;
            }
            Op::RevokeIngress { rules } => {
                self.ec2
                    .revoke_security_group_ingress()
                    .group_id(context.security_group_id()?)
                    .set_ip_permissions(Some(
                        rules.iter().map(|rule| permission(rule, None)).collect(),
                    ))
                    .send()
                    .await
                    .map_err(aws_error("RevokeSecurityGroupIngress"))?;
            }
            Op::DeleteSubnet { id } => {
                self.ec2
                    .delete_subnet()
                    .subnet_id(id)
                    .send()
                    .await
                    .map_err(aws_error("DeleteSubnet"))?;
            }
            Op::DeleteSubnetGroup { name } => {
                self.elasticache
                    .delete_cache_subnet_group()
                    .cache_subnet_group_name(name)
                    .send()
                    .await
                    .map_err(aws_error("DeleteCacheSubnetGroup"))?;
            }
            Op::DeleteSecurityGroup { id } => {
                self.ec2
                    .delete_security_group()
                    .group_id(id)
                    .send()
                    .await
                    .map_err(aws_error("DeleteSecurityGroup"))?;
            }
            Op::DeleteVpc { id } => {
                self.ec2
                    .delete_vpc()
                    .vpc_id(id)
                    .send()
                    .await
                    .map_err(aws_error("DeleteVpc"))?;
            }
            Op::Refuse { reason } => return Err(NetworkError::Refused(reason.clone())),
        }
        Ok(())
    }
}

impl Context {
    fn vpc_id(&self) -> Result<&str, NetworkError> {
        self.vpc_id
            .as_deref()
            .ok_or(NetworkError::Internal("the VPC id is not known yet"))
    }

    fn security_group_id(&self) -> Result<&str, NetworkError> {
        self.security_group_id
            .as_deref()
            .ok_or(NetworkError::Internal(
                "the security group id is not known yet",
            ))
    }
}

/// The subnet group's subnets: the desired ones, in spec order.
fn subnet_ids(desired: &Desired, context: &Context) -> Result<Vec<String>, NetworkError> {
    match &desired.vpc {
        DesiredVpc::Existing { subnet_ids, .. } => Ok(subnet_ids.clone()),
        DesiredVpc::Create { subnets, .. } => subnets
            .iter()
            .map(|s| {
                context
                    .subnets_by_zone
                    .get(&s.availability_zone)
                    .cloned()
                    .ok_or(NetworkError::Internal("a subnet was not created"))
            })
            .collect(),
    }
}

fn on() -> AttributeBooleanValue {
    AttributeBooleanValue::builder().value(true).build()
}

/// The description our own rules carry.
const OUR_RULE: &str = "elasticache-action";

/// A rule in the request shape; revoking matches on everything but the description.
fn permission(rule: &ExactRule, description: Option<&str>) -> IpPermission {
    let builder = IpPermission::builder()
        .ip_protocol(&rule.protocol)
        .set_from_port(rule.from_port)
        .set_to_port(rule.to_port);
    let description = description.map(str::to_owned);
    match &rule.source {
        ExactSource::Ipv4(cidr) => builder.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(description)
                .build(),
        ),
        ExactSource::Ipv6(cidr) => builder.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(cidr)
                .set_description(description)
                .build(),
        ),
        ExactSource::PrefixList(id) => builder.prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(id)
                .set_description(description)
                .build(),
        ),
        ExactSource::Group(group) => builder.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group)
                .set_description(description)
                .build(),
        ),
    }
    .build()
}

fn ec2_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// EC2's tags at creation, for a resource of `resource_type`.
pub fn tag_spec(resource_type: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(ec2_tags(tags)))
        .build()
}

fn elasticache_tags(tags: &Tags) -> Vec<aws_sdk_elasticache::types::Tag> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_elasticache::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect()
}
