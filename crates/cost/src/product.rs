//! What needs a price, and the exact Price List query that finds it.

use serde::Serialize;

use crate::Engine;

/// One priced unit a [`Footprint`](crate::Footprint) uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "product", rename_all = "snake_case")]
pub enum Product {
    /// A cache node-hour of `node_type` running `engine`.
    Node {
        /// The engine.
        engine: Engine,
        /// The node type.
        node_type: String,
    },
    /// A GB-month of ElastiCache backup storage.
    BackupStorage,
    /// A customer managed KMS key-month.
    KmsKey,
    /// A Secrets Manager secret-month.
    Secret,
    /// An interface endpoint's hour in one availability zone.
    EndpointHour,
    /// A Lambda request.
    LambdaRequest {
        /// arm64 rather than x86_64.
        arm64: bool,
    },
    /// A Lambda GB-second.
    LambdaDuration {
        /// arm64 rather than x86_64.
        arm64: bool,
    },
}

/// A `GetProducts` request (every filter `TERM_MATCH`) and how to pick the one price
/// from its answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Query {
    /// The Price List service code, `AmazonElastiCache`.
    pub service_code: &'static str,
    /// `(field, value)` pairs, all of which a product must match.
    pub filters: Vec<(&'static str, String)>,
    /// Which of the matching products is the one.
    pub select: Select,
}

/// Which product of an answer is meant: filters narrow by attributes, but one node type
/// also has extended-support and durability meters, so the usage type decides.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Select {
    /// The product whose `usagetype` is this, with or without a region prefix
    /// (`NodeUsage:cache.r7g.large` in us-east-1, `EU-NodeUsage:cache.r7g.large` in
    /// eu-west-1) and nothing else before it.
    UsageType(String),
    /// The product priced in this unit (`GB-Mo`).
    Unit(&'static str),
}

impl Product {
    /// The query for this product's on-demand price in `region`.
    pub fn query(&self, region: &str) -> Query {
        let region_filter = ("regionCode", region.to_owned());
        let (service_code, family, select, mut extra) = match self {
            Product::Node { engine, node_type } => (
                "AmazonElastiCache",
                "Cache Instance",
                Select::UsageType(format!("NodeUsage:{node_type}")),
                vec![
                    ("instanceType", node_type.clone()),
                    ("cacheEngine", engine.price_list_name().to_owned()),
                ],
            ),
            Product::BackupStorage => (
                "AmazonElastiCache",
                "Storage Snapshot",
                Select::Unit("GB-Mo"),
                vec![],
            ),
            Product::KmsKey => (
                "awskms",
                "Encryption Key",
                Select::UsageType("KMS-Keys".into()),
                vec![],
            ),
            Product::Secret => (
                "AWSSecretsManager",
                "Secret",
                Select::UsageType("AWSSecretsManager-Secrets".into()),
                vec![],
            ),
            Product::EndpointHour => (
                "AmazonVPC",
                "VpcEndpoint",
                Select::UsageType("VpcEndpoint-Hours".into()),
                vec![],
            ),
            Product::LambdaRequest { arm64 } => (
                "AWSLambda",
                "Serverless",
                Select::UsageType(arm_suffixed("Request", *arm64)),
                vec![],
            ),
            Product::LambdaDuration { arm64 } => (
                "AWSLambda",
                "Serverless",
                Select::UsageType(arm_suffixed("Lambda-GB-Second", *arm64)),
                vec![],
            ),
        };
        let mut filters = vec![region_filter, ("productFamily", family.to_owned())];
        filters.append(&mut extra);
        Query {
            service_code,
            filters,
            select,
        }
    }

    /// How a line names one unit of it.
    pub fn unit_name(&self) -> String {
        match self {
            Product::Node { engine, node_type } => {
                format!("{node_type} ({}) node-hour", engine.display_name())
            }
            Product::BackupStorage => "backup GB-month".into(),
            Product::KmsKey => "KMS key-month".into(),
            Product::Secret => "secret-month".into(),
            Product::EndpointHour => "endpoint AZ-hour".into(),
            Product::LambdaRequest { .. } => "Lambda request".into(),
            Product::LambdaDuration { .. } => "Lambda GB-second".into(),
        }
    }
}

fn arm_suffixed(usage: &str, arm64: bool) -> String {
    match arm64 {
        true => format!("{usage}-ARM"),
        false => usage.to_owned(),
    }
}
