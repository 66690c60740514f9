//! The pricing rules: a [`Footprint`] and the prices of its [`Product`]s make a [`Bill`].
//! Pure; one function per rule, each with its own test.

use crate::{Bill, Footprint, HOURS_PER_MONTH, Line, Nodes, Price, Product, RotationFunction};

/// Gigabytes in a gibibyte: node memory is stated in GiB, backup storage priced per GB.
const GB_PER_GIB: f64 = 1.073_741_824;

/// Every product `footprint` needs a price for.
pub fn products(footprint: &Footprint) -> Vec<Product> {
    let mut products = Vec::new();
    if let Some(nodes) = &footprint.nodes {
        products.push(node_product(nodes));
        if nodes.snapshot_retention_days > 1 {
            products.push(Product::BackupStorage);
        }
    }
    if footprint.kms_keys > 0 {
        products.push(Product::KmsKey);
    }
    if footprint.secrets > 0 {
        products.push(Product::Secret);
    }
    if footprint.endpoint_interfaces > 0 {
        products.push(Product::EndpointHour);
    }
    if let Some(function) = &footprint.rotation_function {
        products.push(Product::LambdaRequest {
            arm64: function.arm64,
        });
        products.push(Product::LambdaDuration {
            arm64: function.arm64,
        });
    }
    products
}

/// The bill of `footprint` in `region`, with `price` answering for each product (`None`:
/// the Price List has none; the line says so and counts for nothing).
pub fn bill(
    footprint: &Footprint,
    region: &str,
    price: &dyn Fn(&Product) -> Option<Price>,
) -> Bill {
    let missing = |product: &Product| format!("no price for {} in {region}", product.unit_name());
    let mut lines = Vec::new();
    if let Some(nodes) = &footprint.nodes {
        let node_price = price(&node_product(nodes));
        lines.push(nodes_line(nodes, node_price.as_ref(), &missing));
        if nodes.snapshot_retention_days > 0 {
            let backup_price = price(&Product::BackupStorage);
            lines.push(backup_line(
                nodes,
                node_price.as_ref(),
                backup_price.as_ref(),
                &missing,
            ));
        }
    }
    // `hours`: 1 for what is priced per month, 730 for what is priced per hour.
    let counted = |resource, count: u32, product: Product, hours: f64| {
        count_line(resource, count, price(&product), hours, &missing(&product))
    };
    if footprint.kms_keys > 0 {
        lines.push(counted("KMS key", footprint.kms_keys, Product::KmsKey, 1.0));
    }
    if footprint.secrets > 0 {
        lines.push(counted("secrets", footprint.secrets, Product::Secret, 1.0));
    }
    if footprint.endpoint_interfaces > 0 {
        let mut line = counted(
            "interface endpoints",
            footprint.endpoint_interfaces,
            Product::EndpointHour,
            HOURS_PER_MONTH,
        );
        line.quantity = format!("{} endpoint-AZs", footprint.endpoint_interfaces);
        lines.push(line);
    }
    if let Some(function) = &footprint.rotation_function {
        let requests = Product::LambdaRequest {
            arm64: function.arm64,
        };
        let duration = Product::LambdaDuration {
            arm64: function.arm64,
        };
        lines.push(function_line(
            function,
            price(&requests).as_ref(),
            price(&duration).as_ref(),
            &missing(&requests),
        ));
    }
    Bill { lines }
}

fn node_product(nodes: &Nodes) -> Product {
    Product::Node {
        engine: nodes.engine,
        node_type: nodes.node_type.clone(),
    }
}

/// Nodes: every node (shards × (replicas + 1)) runs all month at the node type's
/// on-demand price for the engine. Data tiering is in that price (r6gd's SSD).
pub fn nodes_line(
    nodes: &Nodes,
    price: Option<&Price>,
    missing: &dyn Fn(&Product) -> String,
) -> Line {
    let mut quantity = format!(
        "{} × {} ({})",
        nodes.count,
        nodes.node_type,
        nodes.engine.display_name()
    );
    if nodes.shards > 1 {
        quantity += &format!(", {} shards", nodes.shards);
    }
    let note = match (price, nodes.data_tiering) {
        (None, _) => Some(missing(&node_product(nodes))),
        (Some(_), true) => Some("data tiering: the node price includes its SSD".into()),
        (Some(_), false) => None,
    };
    Line {
        resource: "cache nodes",
        quantity,
        monthly: price.map(|p| f64::from(nodes.count) * p.per_unit * HOURS_PER_MONTH),
        estimate: false,
        note,
        prices: price.into_iter().cloned().collect(),
    }
}

/// Backup storage: ElastiCache keeps one snapshot a day for the retention period and
/// charges for all but one snapshot per cluster. A snapshot is taken as large as the
/// shards' memory (nodes full), so this is an upper estimate.
pub fn backup_line(
    nodes: &Nodes,
    node_price: Option<&Price>,
    price: Option<&Price>,
    missing: &dyn Fn(&Product) -> String,
) -> Line {
    let billed_snapshots = nodes.snapshot_retention_days.saturating_sub(1);
    let mut line = Line {
        resource: "backup storage",
        quantity: format!(
            "{} daily snapshots, one free",
            nodes.snapshot_retention_days
        ),
        monthly: Some(0.0),
        estimate: true,
        note: None,
        prices: price.into_iter().cloned().collect(),
    };
    if billed_snapshots == 0 {
        line.note = Some("within the free snapshot".into());
        return line;
    }
    let Some(memory_gib) = node_price.and_then(|p| p.memory_gib) else {
        line.monthly = None;
        line.note = Some(format!(
            "needs the memory of {} from its price",
            nodes.node_type
        ));
        return line;
    };
    let Some(price) = price else {
        line.monthly = None;
        line.note = Some(missing(&Product::BackupStorage));
        return line;
    };
    let gb = memory_gib * GB_PER_GIB * f64::from(nodes.shards) * f64::from(billed_snapshots);
    line.monthly = Some(gb * price.per_unit);
    line.note = Some(format!(
        "{billed_snapshots} billed snapshot(s) × {} shard(s) × {memory_gib} GiB, as if the nodes were full ({gb:.1} GB)",
        nodes.shards
    ));
    line
}

/// A count of things priced per month (`hours` = 1: keys, secrets) or per hour
/// (`hours` = 730: endpoint-AZs).
pub fn count_line(
    resource: &'static str,
    count: u32,
    price: Option<Price>,
    hours: f64,
    missing: &str,
) -> Line {
    Line {
        resource,
        quantity: count.to_string(),
        monthly: price
            .as_ref()
            .map(|p| f64::from(count) * p.per_unit * hours),
        estimate: false,
        note: price.is_none().then(|| missing.to_owned()),
        prices: price.into_iter().collect(),
    }
}

/// The rotation function: its requests and its duration (memory × assumed seconds per
/// invocation); an estimate, since how long a step runs is not known before it does.
pub fn function_line(
    function: &RotationFunction,
    requests: Option<&Price>,
    duration: Option<&Price>,
    missing: &str,
) -> Line {
    let invocations = function.invocations_per_month;
    let gb_seconds =
        invocations * function.seconds_per_invocation * f64::from(function.memory_mb) / 1024.0;
    let monthly = match (requests, duration) {
        (Some(r), Some(d)) => Some(invocations * r.per_unit + gb_seconds * d.per_unit),
        _ => None,
    };
    Line {
        resource: "rotation function",
        quantity: format!("{invocations:.0} invocations"),
        monthly,
        estimate: true,
        note: Some(match monthly {
            Some(_) => format!(
                "estimate: {} s each at {} MB, before the free tier",
                function.seconds_per_invocation, function.memory_mb
            ),
            None => missing.to_owned(),
        }),
        prices: requests.into_iter().chain(duration).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;

    fn price(per_unit: f64, memory_gib: Option<f64>) -> Price {
        Price {
            sku: "SKU".into(),
            usage_type: "U".into(),
            unit: "Hrs".into(),
            per_unit,
            effective_date: "2026-11-01T00:00:00Z".into(),
            description: String::new(),
            memory_gib,
        }
    }

    fn nodes(shards: u32, replicas: u32, retention: u32) -> Nodes {
        Nodes {
            engine: Engine::Valkey,
            node_type: "cache.r7g.large".into(),
            shards,
            count: shards * (replicas + 1),
            data_tiering: false,
            snapshot_retention_days: retention,
        }
    }

    fn missing(product: &Product) -> String {
        format!("no price for {}", product.unit_name())
    }

    #[test]
    fn nodes_are_shards_times_replicas_plus_one_for_all_month() {
        let line = nodes_line(&nodes(3, 2, 0), Some(&price(0.1944, Some(13.07))), &missing);
        assert_eq!(line.quantity, "9 × cache.r7g.large (Valkey), 3 shards");
        let monthly = line.monthly.expect("priced");
        assert!((monthly - 9.0 * 0.1944 * 730.0).abs() < 1e-9, "{monthly}");
        assert!(!line.estimate);
    }

    #[test]
    fn valkey_and_redis_oss_are_different_products() {
        let mut redis = nodes(1, 1, 0);
        redis.engine = Engine::Redis;
        let [valkey_query, redis_query] =
            [nodes(1, 1, 0), redis].map(|n| node_product(&n).query("eu-west-1"));
        assert!(
            valkey_query
                .filters
                .contains(&("cacheEngine", "Valkey".into()))
        );
        assert!(
            redis_query
                .filters
                .contains(&("cacheEngine", "Redis".into()))
        );
        assert!(
            valkey_query
                .filters
                .contains(&("regionCode", "eu-west-1".into()))
        );
    }

    #[test]
    fn data_tiering_is_priced_in_the_node_and_says_so() {
        let mut tiered = nodes(1, 1, 0);
        tiered.node_type = "cache.r6gd.xlarge".into();
        tiered.data_tiering = true;
        let line = nodes_line(&tiered, Some(&price(0.6248, Some(26.32))), &missing);
        assert_eq!(
            line.note.as_deref(),
            Some("data tiering: the node price includes its SSD")
        );
        assert!((line.monthly.expect("priced") - 2.0 * 0.6248 * 730.0).abs() < 1e-9);
    }

    #[test]
    fn backups_beyond_the_free_snapshot_are_estimated_from_node_memory() {
        let node = price(0.1944, Some(10.0));
        let gb_month = price(0.085, None);
        let line = backup_line(&nodes(3, 2, 14), Some(&node), Some(&gb_month), &missing);
        let gb = 10.0 * GB_PER_GIB * 3.0 * 13.0;
        assert!((line.monthly.expect("priced") - gb * 0.085).abs() < 1e-9);
        assert!(line.estimate);
        assert!(
            line.note
                .as_deref()
                .is_some_and(|n| n.starts_with("13 billed snapshot(s) × 3 shard(s)"))
        );
        let free = backup_line(&nodes(1, 1, 1), Some(&node), Some(&gb_month), &missing);
        assert_eq!(free.monthly, Some(0.0));
        let unknown_memory = backup_line(
            &nodes(1, 1, 7),
            Some(&price(0.1, None)),
            Some(&gb_month),
            &missing,
        );
        assert_eq!(unknown_memory.monthly, None);
        assert!(
            products(&Footprint {
                nodes: Some(nodes(1, 0, 1)),
                ..Default::default()
            })
            .iter()
            .all(|p| *p != Product::BackupStorage),
            "one snapshot needs no price"
        );
    }

    #[test]
    fn keys_and_secrets_are_per_month_endpoints_per_hour_and_az() {
        let key = count_line("KMS key", 1, Some(price(1.0, None)), 1.0, "");
        assert_eq!(key.monthly, Some(1.0));
        let secrets = count_line("secrets", 3, Some(price(0.4, None)), 1.0, "");
        assert!((secrets.monthly.expect("priced") - 1.2).abs() < 1e-9);
        let footprint = Footprint {
            endpoint_interfaces: 6,
            ..Default::default()
        };
        let bill = bill(&footprint, "eu-west-1", &|_| Some(price(0.011, None)));
        assert_eq!(bill.lines[0].quantity, "6 endpoint-AZs");
        assert!((bill.total() - 6.0 * 0.011 * 730.0).abs() < 1e-9);
    }

    #[test]
    fn the_rotation_function_is_requests_plus_gb_seconds() {
        let function = RotationFunction {
            invocations_per_month: 8.0,
            memory_mb: 256,
            arm64: true,
            seconds_per_invocation: 2.0,
        };
        let line = function_line(
            &function,
            Some(&price(0.0000002, None)),
            Some(&price(0.0000133334, None)),
            "",
        );
        let expected = 8.0 * 0.0000002 + 8.0 * 2.0 * 0.25 * 0.0000133334;
        assert!((line.monthly.expect("priced") - expected).abs() < 1e-12);
        assert!(line.estimate);
        assert_eq!(
            function_line(&function, None, None, "no price").monthly,
            None
        );
    }

    #[test]
    fn a_missing_price_is_a_gap_not_a_zero() {
        let footprint = Footprint {
            nodes: Some(nodes(1, 1, 0)),
            secrets: 1,
            ..Default::default()
        };
        let bill = bill(&footprint, "xx-east-9", &|p| {
            (*p == Product::Secret).then(|| price(0.4, None))
        });
        assert_eq!(bill.lines[0].monthly, None);
        assert_eq!(
            bill.lines[0].note.as_deref(),
            Some("no price for cache.r7g.large (Valkey) node-hour in xx-east-9")
        );
        assert!((bill.total() - 0.4).abs() < 1e-9);
    }

    #[test]
    fn rotations_a_month_follow_the_schedule() {
        assert!(
            (RotationFunction::rotations_per_month(Some("rate(30 days)")) - 730.0 / 24.0 / 30.0)
                .abs()
                < 1e-9
        );
        assert!(
            (RotationFunction::rotations_per_month(Some("rate(12 hours)")) - 730.0 / 12.0).abs()
                < 1e-9
        );
        let daily = 730.0 / 24.0;
        assert!(
            (RotationFunction::rotations_per_month(Some("cron(0 4 ? * SUN *)")) - daily).abs()
                < 1e-9
        );
        assert!((RotationFunction::rotations_per_month(None) - daily).abs() < 1e-9);
    }
}
