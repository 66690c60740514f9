//! The pure half of the step: desired and observed in, changes and operations out.
//!
//! Nothing here calls AWS, so every rule (what is in place, what forces a replacement,
//! what counts as drift) is unit-tested without an emulator.

use std::collections::BTreeSet;

use ipnet::Ipv4Net;
use plan::tags::tags_value;
use plan::{Change, Diff, Known, ResourceId, Value};

use crate::NetworkError;
use crate::model::*;

/// One AWS write, in the order apply performs them. Ids AWS has not assigned yet are
/// resolved at apply time from what earlier operations created.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// Create the VPC, tagged at creation so an interrupted apply finds it again.
    CreateVpc {
        /// CIDR block.
        cidr: Ipv4Net,
        /// Tags.
        tags: Tags,
    },
    /// Turn on DNS resolution and hostnames in the stack's VPC.
    EnableVpcDns {
        /// Whether DNS support needs turning on.
        support: bool,
        /// Whether DNS hostnames need turning on.
        hostnames: bool,
    },
    /// Add or overwrite tags on a resource that exists.
    Tag {
        /// The resource id.
        resource_id: String,
        /// The tags to set.
        tags: Tags,
    },
    /// Create a private subnet in the stack's VPC.
    CreateSubnet {
        /// Availability zone.
        availability_zone: String,
        /// CIDR block.
        cidr: Ipv4Net,
        /// Tags.
        tags: Tags,
    },
    /// Create the cache subnet group over the stack's subnets.
    CreateSubnetGroup {
        /// Name.
        name: String,
        /// Description.
        description: String,
        /// Tags.
        tags: Tags,
    },
    /// Point the cache subnet group at the stack's subnets.
    ModifySubnetGroup {
        /// Name.
        name: String,
        /// Description.
        description: String,
    },
    /// Create the security group in the stack's VPC.
    CreateSecurityGroup {
        /// Name.
        name: String,
        /// Description.
        description: String,
        /// Tags.
        tags: Tags,
    },
    /// Admit these sources on the cache port.
    AuthorizeIngress {
        /// The rules to add.
        rules: Vec<IngressRule>,
    },
    /// Remove ingress rules the spec does not ask for.
    RevokeIngress {
        /// The rules, as AWS holds them.
        rules: Vec<ExactRule>,
    },
    /// Delete a subnet (after the subnet group has moved off it).
    DeleteSubnet {
        /// The subnet id.
        id: String,
    },
    /// Delete the cache subnet group.
    DeleteSubnetGroup {
        /// Name.
        name: String,
    },
    /// Delete the security group.
    DeleteSecurityGroup {
        /// The group id.
        id: String,
    },
    /// Delete the VPC.
    DeleteVpc {
        /// The VPC id.
        id: String,
    },
    /// A replacement this tool does not automate; apply stops with this reason.
    Refuse {
        /// What to do instead.
        reason: String,
    },
}

/// The network step's plan: what a person sees, what apply does, what later steps get.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkPlan {
    /// One change per resource, in apply order.
    pub changes: Vec<Change>,
    /// What the user should know.
    pub warnings: Vec<String>,
    /// The AWS writes, in order.
    pub(crate) ops: Vec<Op>,
    /// What the plan was made from: apply resolves names and the ids of what exists
    /// from it.
    pub(crate) desired: Desired,
    pub(crate) observed: Observed,
    /// The outputs as far as they are known before apply.
    pub outputs: NetworkOutputs,
}

impl NetworkPlan {
    /// Whether apply would write anything.
    pub fn has_writes(&self) -> bool {
        !self.ops.is_empty()
    }

    /// The operations' names, in order (tests that interrupt an apply).
    #[cfg(feature = "test-util")]
    pub fn operations(&self) -> Vec<String> {
        self.ops
            .iter()
            .map(|op| {
                format!("{op:?}")
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    /// Keeps only the first `count` operations, as an apply interrupted after them.
    #[cfg(feature = "test-util")]
    pub fn stop_after(&mut self, count: usize) {
        self.ops.truncate(count);
    }
}

/// What later steps need from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkOutputs {
    /// The VPC id.
    pub vpc_id: Known<String>,
    /// The subnet ids.
    pub subnet_ids: Known<Vec<String>>,
    /// The cache subnet group name.
    pub subnet_group: String,
    /// The security group id.
    pub security_group_id: Known<String>,
}

/// Kinds of resource this step shows in plans.
pub mod kinds {
    /// A VPC.
    pub const VPC: &str = "vpc";
    /// A subnet.
    pub const SUBNET: &str = "subnet";
    /// A cache subnet group.
    pub const SUBNET_GROUP: &str = "cache_subnet_group";
    /// A security group.
    pub const SECURITY_GROUP: &str = "security_group";
    /// A security group ingress rule.
    pub const INGRESS_RULE: &str = "security_group_rule";
}

/// Plans the network: checks an existing VPC and subnets, and diffs everything the
/// stack owns.
pub fn diff(desired: &Desired, observed: &Observed) -> Result<NetworkPlan, NetworkError> {
    let mut plan = NetworkPlan {
        changes: Vec::new(),
        warnings: Vec::new(),
        ops: Vec::new(),
        desired: desired.clone(),
        observed: observed.clone(),
        outputs: NetworkOutputs {
            vpc_id: observed.vpc.as_ref().map(|v| v.id.clone()).into(),
            subnet_ids: Known::AfterApply,
            subnet_group: desired.subnet_group.name.clone(),
            security_group_id: observed
                .security_group
                .as_ref()
                .map(|g| g.id.clone())
                .into(),
        },
    };
    let mut retired_subnets = Vec::new();
    match &desired.vpc {
        DesiredVpc::Create {
            cidr,
            tags,
            subnets,
        } => {
            diff_vpc(&mut plan, desired, *cidr, tags, observed);
            retired_subnets = diff_subnets(&mut plan, subnets, observed);
        }
        DesiredVpc::Existing { vpc_id, subnet_ids } => {
            check_existing(desired, vpc_id, subnet_ids, observed)?;
            plan.outputs.subnet_ids = Known::Value(subnet_ids.clone());
        }
    }
    diff_subnet_group(&mut plan, desired, observed);
    diff_security_group(&mut plan, desired, observed);
    plan.ops.extend(
        retired_subnets
            .into_iter()
            .map(|id| Op::DeleteSubnet { id }),
    );
    diff_duplicates(&mut plan, desired, observed);
    Ok(plan)
}

/// Other VPCs tagged for the stack: an empty one is deleted with its tagged subnets
/// and security group (nothing runs there); one in use stays, and the plan says which
/// VPC the stack uses and why.
fn diff_duplicates(plan: &mut NetworkPlan, desired: &Desired, observed: &Observed) {
    let (Some(vpc), Some(because)) = (&observed.vpc, &observed.vpc_chosen_because) else {
        return;
    };
    for duplicate in &observed.duplicate_vpcs {
        if duplicate.network_interfaces > 0 {
            plan.warnings.push(format!(
                "{} is also tagged for stack {}; the stack uses {} ({because}). {} stays: {} network interface(s) are in it; move or delete what uses it, or remove its {} tag",
                duplicate.id,
                desired.stack,
                vpc.id,
                duplicate.id,
                duplicate.network_interfaces,
                spec::STACK_TAG,
            ));
            continue;
        }
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::VPC, format!("{} (duplicate, empty)", duplicate.id)),
            vec![
                ("id", Value::from(&duplicate.id)),
                ("cidr_block", Value::from(&duplicate.cidr)),
                (
                    "subnets",
                    Value::set(duplicate.subnets.iter().map(|s| s.id.clone())),
                ),
                ("kept", Value::from(format!("{} ({because})", vpc.id))),
            ],
        ));
        plan.ops.extend(delete_duplicate(duplicate));
    }
}

/// Deleting a duplicate VPC: what is in it first, as EC2 requires.
fn delete_duplicate(duplicate: &DuplicateVpc) -> Vec<Op> {
    let security_group = duplicate
        .security_group
        .iter()
        .map(|id| Op::DeleteSecurityGroup { id: id.clone() });
    let subnets = duplicate
        .subnets
        .iter()
        .map(|s| Op::DeleteSubnet { id: s.id.clone() });
    security_group
        .chain(subnets)
        .chain([Op::DeleteVpc {
            id: duplicate.id.clone(),
        }])
        .collect()
}

fn diff_vpc(
    plan: &mut NetworkPlan,
    desired: &Desired,
    cidr: Ipv4Net,
    tags: &Tags,
    observed: &Observed,
) {
    let id = ResourceId::new(kinds::VPC, &desired.stack);
    let Some(vpc) = &observed.vpc else {
        plan.changes.push(Change::create(
            id,
            vec![
                ("cidr_block", Value::from(cidr.to_string())),
                ("enable_dns_support", Value::from(true)),
                ("enable_dns_hostnames", Value::from(true)),
                ("tags", tags_value(tags)),
            ],
        ));
        plan.ops.push(Op::CreateVpc {
            cidr,
            tags: tags.clone(),
        });
        plan.ops.push(Op::EnableVpcDns {
            support: false,
            hostnames: true,
        });
        return;
    };
    let change = Diff::new(id)
        .replacing(
            "cidr_block",
            Value::from(&vpc.cidr),
            Value::from(cidr.to_string()),
        )
        .attribute(
            "enable_dns_support",
            Value::from(vpc.dns_support),
            Value::from(true),
        )
        .attribute(
            "enable_dns_hostnames",
            Value::from(vpc.dns_hostnames),
            Value::from(true),
        )
        .tags(&vpc.tags, tags)
        .finish();
    if change.action == plan::Action::Replace {
        // Replacing a VPC would take everything in it along: never done, even when
        // replacements are allowed. The plan says so before apply stops at it.
        let reason = format!(
            "the VPC's CIDR block cannot change ({} → {cidr}); destroy the stack and apply it again, \
             or use a new stack name",
            vpc.cidr
        );
        plan.warnings
            .push(format!("apply will stop here: {reason}"));
        plan.ops.push(Op::Refuse { reason });
    }
    if !vpc.dns_support || !vpc.dns_hostnames {
        plan.ops.push(Op::EnableVpcDns {
            support: !vpc.dns_support,
            hostnames: !vpc.dns_hostnames,
        });
    }
    push_tag_op(&mut plan.ops, &vpc.id, &vpc.tags, tags);
    plan.changes.push(change);
}

/// Diffs the subnets; returns the ids of subnets to delete once the subnet group no
/// longer uses them.
fn diff_subnets(
    plan: &mut NetworkPlan,
    subnets: &[DesiredSubnet],
    observed: &Observed,
) -> Vec<String> {
    let mut retired = Vec::new();
    let mut ids = Some(Vec::new());
    for subnet in subnets {
        let name = subnet.tags.get("Name").cloned().unwrap_or_default();
        let id = ResourceId::new(kinds::SUBNET, name);
        let existing = observed
            .subnets
            .iter()
            .find(|s| s.availability_zone == subnet.availability_zone);
        let create = |plan: &mut NetworkPlan| {
            plan.ops.push(Op::CreateSubnet {
                availability_zone: subnet.availability_zone.clone(),
                cidr: subnet.cidr,
                tags: subnet.tags.clone(),
            });
        };
        match existing {
            None => {
                plan.changes.push(Change::create(
                    id,
                    vec![
                        ("availability_zone", Value::from(&subnet.availability_zone)),
                        ("cidr_block", Value::from(subnet.cidr.to_string())),
                        ("tags", tags_value(&subnet.tags)),
                    ],
                ));
                create(plan);
                ids = None;
            }
            Some(found) => {
                let change = Diff::new(id)
                    .replacing(
                        "cidr_block",
                        Value::from(&found.cidr),
                        Value::from(subnet.cidr.to_string()),
                    )
                    .tags(&found.tags, &subnet.tags)
                    .finish();
                if change.action == plan::Action::Replace {
                    // New subnet first, move the subnet group, then delete the old one.
                    create(plan);
                    retired.push(found.id.clone());
                    ids = None;
                } else {
                    push_tag_op(&mut plan.ops, &found.id, &found.tags, &subnet.tags);
                    if let Some(ids) = ids.as_mut() {
                        ids.push(found.id.clone());
                    }
                }
                plan.changes.push(change);
            }
        }
    }
    let wanted: BTreeSet<&str> = subnets
        .iter()
        .map(|s| s.availability_zone.as_str())
        .collect();
    for extra in observed
        .subnets
        .iter()
        .filter(|s| !wanted.contains(s.availability_zone.as_str()))
    {
        let name = extra
            .tags
            .get("Name")
            .cloned()
            .unwrap_or_else(|| extra.id.clone());
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::SUBNET, name),
            vec![
                ("id", Value::from(&extra.id)),
                ("availability_zone", Value::from(&extra.availability_zone)),
                ("cidr_block", Value::from(&extra.cidr)),
            ],
        ));
        retired.push(extra.id.clone());
    }
    plan.outputs.subnet_ids = ids.into();
    retired
}

fn check_existing(
    desired: &Desired,
    vpc_id: &str,
    subnet_ids: &[String],
    observed: &Observed,
) -> Result<(), NetworkError> {
    if observed.vpc.is_none() {
        return Err(NetworkError::VpcNotFound(vpc_id.to_owned()));
    }
    let found: BTreeSet<&str> = observed.subnets.iter().map(|s| s.id.as_str()).collect();
    let missing: Vec<String> = subnet_ids
        .iter()
        .filter(|id| !found.contains(id.as_str()))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(NetworkError::SubnetsNotFound(missing));
    }
    let elsewhere: Vec<String> = observed
        .subnets
        .iter()
        .filter(|s| s.vpc_id != vpc_id)
        .map(|s| format!("{} (in {})", s.id, s.vpc_id))
        .collect();
    if !elsewhere.is_empty() {
        return Err(NetworkError::SubnetsOutsideVpc {
            vpc_id: vpc_id.to_owned(),
            subnets: elsewhere,
        });
    }
    let zones: BTreeSet<&str> = observed
        .subnets
        .iter()
        .map(|s| s.availability_zone.as_str())
        .collect();
    if desired.multi_az && zones.len() < 2 {
        return Err(NetworkError::SingleZone {
            zone: zones.into_iter().next().unwrap_or_default().to_owned(),
        });
    }
    Ok(())
}

fn diff_subnet_group(plan: &mut NetworkPlan, desired: &Desired, observed: &Observed) {
    let group = &desired.subnet_group;
    let id = ResourceId::new(kinds::SUBNET_GROUP, &group.name);
    let subnets = plan.outputs.subnet_ids.to_plan_set();
    let Some(found) = &observed.subnet_group else {
        plan.changes.push(Change::create(
            id,
            vec![
                ("description", Value::from(&group.description)),
                ("subnet_ids", subnets),
                ("tags", tags_value(&group.tags)),
            ],
        ));
        plan.ops.push(Op::CreateSubnetGroup {
            name: group.name.clone(),
            description: group.description.clone(),
            tags: group.tags.clone(),
        });
        return;
    };
    let change = Diff::new(id)
        .attribute(
            "description",
            Value::from(&found.description),
            Value::from(&group.description),
        )
        .attribute(
            "subnet_ids",
            Value::set(found.subnet_ids.iter().cloned()),
            subnets,
        )
        .finish();
    if change.is_change() {
        plan.ops.push(Op::ModifySubnetGroup {
            name: group.name.clone(),
            description: group.description.clone(),
        });
    }
    plan.changes.push(change);
}

fn diff_security_group(plan: &mut NetworkPlan, desired: &Desired, observed: &Observed) {
    let group = &desired.security_group;
    let id = ResourceId::new(kinds::SECURITY_GROUP, &group.name);
    let vpc_id = plan.outputs.vpc_id.to_plan_value();
    match &observed.security_group {
        None => {
            plan.changes.push(Change::create(
                id,
                vec![
                    ("description", Value::from(&group.description)),
                    ("vpc_id", vpc_id),
                    ("tags", tags_value(&group.tags)),
                ],
            ));
            plan.ops.push(Op::CreateSecurityGroup {
                name: group.name.clone(),
                description: group.description.clone(),
                tags: group.tags.clone(),
            });
        }
        Some(found) => {
            let change = Diff::new(id).tags(&found.tags, &group.tags).finish();
            push_tag_op(&mut plan.ops, &found.id, &found.tags, &group.tags);
            plan.changes.push(change);
        }
    }
    diff_ingress(plan, group, observed.security_group.as_ref());
}

fn diff_ingress(
    plan: &mut NetworkPlan,
    group: &DesiredSecurityGroup,
    found: Option<&ObservedSecurityGroup>,
) {
    let existing: Vec<&ObservedRule> = found
        .map(|g| g.ingress.iter().collect())
        .unwrap_or_default();
    let rule_id =
        |text: String| ResourceId::new(kinds::INGRESS_RULE, format!("{}: {text}", group.name));
    let missing: Vec<IngressRule> = group
        .ingress
        .iter()
        .filter(|wanted| !existing.iter().any(|r| r.rule.as_ref() == Some(*wanted)))
        .cloned()
        .collect();
    for rule in &group.ingress {
        let change = if missing.contains(rule) {
            Change::create(
                rule_id(rule.to_string()),
                vec![("rule", Value::from(rule.to_string()))],
            )
        } else {
            Diff::new(rule_id(rule.to_string())).finish()
        };
        plan.changes.push(change);
    }
    let foreign: Vec<&&ObservedRule> = existing
        .iter()
        .filter(|r| {
            r.rule
                .as_ref()
                .is_none_or(|rule| !group.ingress.contains(rule))
        })
        .collect();
    for rule in &foreign {
        plan.changes.push(Change::delete(
            rule_id(rule.description.clone()),
            vec![("rule", Value::from(&rule.description))],
        ));
    }
    if !foreign.is_empty() {
        plan.ops.push(Op::RevokeIngress {
            rules: foreign.iter().map(|r| r.exact.clone()).collect(),
        });
    }
    if !missing.is_empty() {
        plan.ops.push(Op::AuthorizeIngress { rules: missing });
    }
}

/// Plans deleting everything the stack owns; an existing VPC and its subnets stay.
pub fn diff_destroy(desired: &Desired, observed: &Observed) -> NetworkPlan {
    let mut plan = NetworkPlan {
        changes: Vec::new(),
        warnings: Vec::new(),
        ops: Vec::new(),
        desired: desired.clone(),
        observed: observed.clone(),
        outputs: NetworkOutputs {
            vpc_id: Known::AfterApply,
            subnet_ids: Known::AfterApply,
            subnet_group: desired.subnet_group.name.clone(),
            security_group_id: Known::AfterApply,
        },
    };
    if let Some(group) = &observed.security_group {
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::SECURITY_GROUP, &desired.security_group.name),
            vec![("id", Value::from(&group.id))],
        ));
        plan.ops.push(Op::DeleteSecurityGroup {
            id: group.id.clone(),
        });
    }
    if let Some(group) = &observed.subnet_group {
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::SUBNET_GROUP, &group.name),
            vec![("subnet_ids", Value::set(group.subnet_ids.iter().cloned()))],
        ));
        plan.ops.push(Op::DeleteSubnetGroup {
            name: group.name.clone(),
        });
    }
    if let DesiredVpc::Create { .. } = desired.vpc {
        for subnet in &observed.subnets {
            let name = subnet
                .tags
                .get("Name")
                .cloned()
                .unwrap_or_else(|| subnet.id.clone());
            plan.changes.push(Change::delete(
                ResourceId::new(kinds::SUBNET, name),
                vec![
                    ("id", Value::from(&subnet.id)),
                    ("cidr_block", Value::from(&subnet.cidr)),
                ],
            ));
            plan.ops.push(Op::DeleteSubnet {
                id: subnet.id.clone(),
            });
        }
        if let Some(vpc) = &observed.vpc {
            plan.changes.push(Change::delete(
                ResourceId::new(kinds::VPC, &desired.stack),
                vec![
                    ("id", Value::from(&vpc.id)),
                    ("cidr_block", Value::from(&vpc.cidr)),
                ],
            ));
            plan.ops.push(Op::DeleteVpc { id: vpc.id.clone() });
        }
        diff_duplicates(&mut plan, desired, observed);
    }
    plan
}

fn push_tag_op(ops: &mut Vec<Op>, resource_id: &str, current: &Tags, wanted: &Tags) {
    let missing = plan::tags::missing(current, wanted);
    if !missing.is_empty() {
        ops.push(Op::Tag {
            resource_id: resource_id.to_owned(),
            tags: missing,
        });
    }
}
