//! What the network should be (derived from the spec) and what it is (observed in AWS).

use ipnet::Ipv4Net;
use spec::{Spec, names};

/// Tags as AWS stores them: key to value.
pub use plan::tags::Tags;

/// The network the spec asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The stack's name.
    pub stack: String,
    /// The VPC: one to create, or one that exists.
    pub vpc: DesiredVpc,
    /// The cache subnet group.
    pub subnet_group: DesiredSubnetGroup,
    /// The security group admitting clients.
    pub security_group: DesiredSecurityGroup,
    /// Whether the subnets must span two availability zones.
    pub multi_az: bool,
}

/// The VPC part of [`Desired`].
#[derive(Debug, Clone, PartialEq)]
pub enum DesiredVpc {
    /// A VPC the stack creates and owns, with its subnets.
    Create {
        /// The VPC's CIDR block.
        cidr: Ipv4Net,
        /// Its tags, `Name` and the stack tag included.
        tags: Tags,
        /// One private subnet per availability zone.
        subnets: Vec<DesiredSubnet>,
    },
    /// A VPC and subnets the user owns; the stack checks them and never changes them.
    Existing {
        /// The VPC id.
        vpc_id: String,
        /// The subnet ids.
        subnet_ids: Vec<String>,
    },
}

/// One private subnet the stack creates.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredSubnet {
    /// Its availability zone, which identifies it within the stack.
    pub availability_zone: String,
    /// Its CIDR block.
    pub cidr: Ipv4Net,
    /// Its tags, `Name` and the stack tag included.
    pub tags: Tags,
}

/// The cache subnet group.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredSubnetGroup {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its tags.
    pub tags: Tags,
}

/// The security group and the ingress it should have.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredSecurityGroup {
    /// Its name (unique within the VPC).
    pub name: String,
    /// Its description, which AWS cannot change after creation.
    pub description: String,
    /// Its tags.
    pub tags: Tags,
    /// Every ingress rule it should have, and no other.
    pub ingress: Vec<IngressRule>,
}

/// One ingress rule: TCP on one port from one source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IngressRule {
    /// The port.
    pub port: u16,
    /// Where connections may come from.
    pub source: Source,
}

/// The source of an ingress rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// An IPv4 CIDR block.
    Cidr(Ipv4Net),
    /// Another security group.
    Group(String),
    /// The members of this group itself: the rotation function, which `runner: lambda`
    /// places in the cache's group so that nothing else is admitted for it.
    Itself,
}

impl std::fmt::Display for IngressRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::Cidr(cidr) => write!(f, "tcp/{} from {cidr}", self.port),
            Source::Group(group) => write!(f, "tcp/{} from {group}", self.port),
            Source::Itself => write!(f, "tcp/{} from members of this group", self.port),
        }
    }
}

impl Desired {
    /// The network `spec` asks for.
    pub fn from_spec(spec: &Spec) -> Desired {
        let tags_named = |name: String| {
            let mut tags: Tags = spec.tags.clone();
            tags.insert(spec::STACK_TAG.to_owned(), spec.stack.clone());
            tags.insert("Name".to_owned(), name);
            tags
        };
        let vpc = match (&spec.network.create, &spec.network.existing) {
            (_, Some(existing)) => DesiredVpc::Existing {
                vpc_id: existing.vpc_id.clone(),
                subnet_ids: existing.subnet_ids.clone(),
            },
            (Some(create), None) => DesiredVpc::Create {
                cidr: create.vpc_cidr.net(),
                tags: tags_named(names::vpc(spec)),
                subnets: create
                    .subnets
                    .iter()
                    .map(|subnet| DesiredSubnet {
                        availability_zone: subnet.availability_zone.clone(),
                        cidr: subnet.cidr.net(),
                        tags: tags_named(names::subnet(spec, &subnet.availability_zone)),
                    })
                    .collect(),
            },
            // Validation guarantees one of the two; an empty VPC spec plans nothing.
            (None, None) => DesiredVpc::Existing {
                vpc_id: String::new(),
                subnet_ids: Vec::new(),
            },
        };
        let port = spec.port;
        let mut ingress: Vec<IngressRule> = spec
            .network
            .allow
            .cidrs
            .iter()
            .map(|cidr| IngressRule {
                port,
                source: Source::Cidr(cidr.net()),
            })
            .chain(
                spec.network
                    .allow
                    .security_groups
                    .iter()
                    .map(|group| IngressRule {
                        port,
                        source: Source::Group(group.clone()),
                    }),
            )
            .collect();
        if spec.auth.rotation.lambda_runner() {
            ingress.push(IngressRule {
                port,
                source: Source::Itself,
            });
        }
        ingress.sort();
        ingress.dedup();
        Desired {
            stack: spec.stack.clone(),
            vpc,
            subnet_group: DesiredSubnetGroup {
                name: names::subnet_group(spec),
                description: format!("Subnets of ElastiCache stack {}", spec.stack),
                tags: tags_named(names::subnet_group(spec)),
            },
            security_group: DesiredSecurityGroup {
                name: names::security_group(spec),
                description: format!("Clients of ElastiCache stack {}", spec.stack),
                tags: tags_named(names::security_group(spec)),
                ingress,
            },
            multi_az: spec.cluster.multi_az(),
        }
    }
}

/// The network as it is in AWS.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// The stack's VPC (create mode: found by tag; existing mode: by id).
    pub vpc: Option<ObservedVpc>,
    /// Subnets: in create mode those tagged for the stack, in existing mode the ones the
    /// spec names that exist.
    pub subnets: Vec<ObservedSubnet>,
    /// The cache subnet group, by name.
    pub subnet_group: Option<ObservedSubnetGroup>,
    /// The security group, by name within the VPC.
    pub security_group: Option<ObservedSecurityGroup>,
    /// Other VPCs tagged for the stack (create mode): copies an older version, a lost
    /// answer or two runs at once left. Empty ones are deleted; one in use stays.
    pub duplicate_vpcs: Vec<DuplicateVpc>,
    /// Why `vpc` is the stack's when others are tagged for it too.
    pub vpc_chosen_because: Option<String>,
}

/// A VPC tagged for the stack that is not the stack's VPC, with what is in it.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateVpc {
    /// Its id.
    pub id: String,
    /// Its primary CIDR block.
    pub cidr: String,
    /// Its subnets tagged for the stack.
    pub subnets: Vec<ObservedSubnet>,
    /// Its security group named like the stack's.
    pub security_group: Option<String>,
    /// Network interfaces in it (anything running there has one): with any, it is in
    /// use and stays.
    pub network_interfaces: usize,
}

/// A VPC as AWS describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedVpc {
    /// Its id.
    pub id: String,
    /// Its primary CIDR block.
    pub cidr: String,
    /// Whether DNS resolution is on (create mode only; existing VPCs are not inspected).
    pub dns_support: bool,
    /// Whether DNS hostnames are on (create mode only).
    pub dns_hostnames: bool,
    /// Its tags.
    pub tags: Tags,
}

/// A subnet as AWS describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedSubnet {
    /// Its id.
    pub id: String,
    /// The VPC it belongs to.
    pub vpc_id: String,
    /// Its availability zone.
    pub availability_zone: String,
    /// Its CIDR block.
    pub cidr: String,
    /// Its tags.
    pub tags: Tags,
}

/// A cache subnet group as ElastiCache describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedSubnetGroup {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its subnets.
    pub subnet_ids: Vec<String>,
}

/// A security group and its ingress rules.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedSecurityGroup {
    /// Its id.
    pub id: String,
    /// Its tags.
    pub tags: Tags,
    /// Its ingress rules, one per source.
    pub ingress: Vec<ObservedRule>,
}

/// An ingress rule AWS reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedRule {
    /// The rule exactly as AWS holds it, so that it can be revoked as it is.
    pub exact: ExactRule,
    /// The rule, when it is a TCP single-port rule from a CIDR or group; anything else
    /// is foreign by construction.
    pub rule: Option<IngressRule>,
    /// How the rule reads, for plans.
    pub description: String,
}

/// One ingress permission from one source, in AWS's terms. `DescribeSecurityGroups`
/// answers with these (without rule ids), and `RevokeSecurityGroupIngress` takes them
/// back, so the rules need no read of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactRule {
    /// `tcp`, `udp`, `icmp`, `-1` for all, or a protocol number.
    pub protocol: String,
    /// The first port, when the protocol has ports.
    pub from_port: Option<i32>,
    /// The last port, when the protocol has ports.
    pub to_port: Option<i32>,
    /// Where it admits traffic from.
    pub source: ExactSource,
}

/// The one source of an [`ExactRule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExactSource {
    /// An IPv4 CIDR.
    Ipv4(String),
    /// An IPv6 CIDR.
    Ipv6(String),
    /// A managed prefix list id.
    PrefixList(String),
    /// A security group id.
    Group(String),
}

impl ExactRule {
    /// The rule a desired TCP single-port rule is in AWS's terms, in the group `own_id`.
    pub fn of(rule: &IngressRule, own_id: &str) -> ExactRule {
        ExactRule {
            protocol: "tcp".to_owned(),
            from_port: Some(i32::from(rule.port)),
            to_port: Some(i32::from(rule.port)),
            source: match &rule.source {
                Source::Cidr(cidr) => ExactSource::Ipv4(cidr.to_string()),
                Source::Group(group) => ExactSource::Group(group.clone()),
                Source::Itself => ExactSource::Group(own_id.to_owned()),
            },
        }
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Observed {
    /// What AWS reports after a successful apply of `desired` (create mode: the stack's
    /// VPC and subnets; existing mode: the named VPC and subnets, one zone each).
    pub fn as_applied(desired: &Desired) -> Observed {
        let (vpc, subnets) = match &desired.vpc {
            DesiredVpc::Create {
                cidr,
                tags,
                subnets,
            } => (
                ObservedVpc {
                    id: "vpc-1".into(),
                    cidr: cidr.to_string(),
                    dns_support: true,
                    dns_hostnames: true,
                    tags: tags.clone(),
                },
                subnets
                    .iter()
                    .enumerate()
                    .map(|(i, s)| ObservedSubnet {
                        id: format!("subnet-{i}"),
                        vpc_id: "vpc-1".into(),
                        availability_zone: s.availability_zone.clone(),
                        cidr: s.cidr.to_string(),
                        tags: s.tags.clone(),
                    })
                    .collect::<Vec<_>>(),
            ),
            DesiredVpc::Existing { vpc_id, subnet_ids } => (
                ObservedVpc {
                    id: vpc_id.clone(),
                    cidr: String::new(),
                    dns_support: true,
                    dns_hostnames: true,
                    tags: Tags::new(),
                },
                subnet_ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| ObservedSubnet {
                        id: id.clone(),
                        vpc_id: vpc_id.clone(),
                        availability_zone: format!("zone-{i}"),
                        cidr: String::new(),
                        tags: Tags::new(),
                    })
                    .collect(),
            ),
        };
        Observed {
            subnet_group: Some(ObservedSubnetGroup {
                name: desired.subnet_group.name.clone(),
                description: desired.subnet_group.description.clone(),
                // Listed in another order than created: order is never drift.
                subnet_ids: subnets.iter().rev().map(|s| s.id.clone()).collect(),
            }),
            security_group: Some(ObservedSecurityGroup {
                id: "sg-1".into(),
                tags: desired.security_group.tags.clone(),
                ingress: desired
                    .security_group
                    .ingress
                    .iter()
                    .map(|rule| ObservedRule {
                        exact: ExactRule::of(rule, "sg-1"),
                        rule: Some(rule.clone()),
                        description: rule.to_string(),
                    })
                    .collect(),
            }),
            vpc: Some(vpc),
            subnets,
            ..Observed::default()
        }
    }
}
