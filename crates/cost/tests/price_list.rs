//! `PriceList` against recorded `GetProducts` answers (`fixtures/price-list/*.json`),
//! served through aws-smithy-mocks: the emulator serves the same files, but these tests
//! need no server and can also make the Price List refuse (no permission), which the
//! emulator cannot. Where the fixtures came from is each file's `source`: transcribed
//! by hand into the answer's format from AWS's published prices, not recorded from the
//! API (the machine they were written on could not reach AWS); `record` below, run with
//! credentials, replaces them with a real recording.

use std::sync::Arc;

use aws_sdk_pricing::Client;
use aws_sdk_pricing::operation::get_products::{
    GetProductsError, GetProductsInput, GetProductsOutput,
};
use aws_sdk_pricing::types::error::AccessDeniedException;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use cost::{CostReport, Engine, Estimate, Footprint, Nodes, PriceList, Product, RotationFunction};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/price-list");
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// Every recorded entry of every region.
fn recorded() -> Vec<Value> {
    REGIONS
        .iter()
        .flat_map(|region| {
            let path = format!("{FIXTURES}/{region}.json");
            let text = std::fs::read_to_string(&path).expect("fixture");
            let document: Value = serde_json::from_str(&text).expect("fixture JSON");
            document["entries"].as_array().expect("entries").clone()
        })
        .collect()
}

/// What `GetProducts` answers: the entries of the service matching every filter.
fn answer(entries: &[Value], input: &GetProductsInput) -> GetProductsOutput {
    let matching = entries.iter().filter(|entry| {
        entry["serviceCode"].as_str() == input.service_code()
            && input.filters().iter().all(|f| {
                let product = &entry["product"];
                let actual = match f.field() {
                    "productFamily" => &product["productFamily"],
                    field => &product["attributes"][field],
                };
                actual.as_str() == Some(f.value())
            })
    });
    GetProductsOutput::builder()
        .format_version("aws_v1")
        .set_price_list(Some(matching.map(Value::to_string).collect()))
        .build()
}

fn serving_fixtures() -> (Rule, PriceList) {
    let entries = Arc::new(recorded());
    let rule =
        mock!(Client::get_products).then_compute_output(move |input| answer(&entries, input));
    let client = mock_client!(aws_sdk_pricing, RuleMode::MatchAny, &[&rule]);
    (rule, PriceList::from_client(client))
}

fn nodes(engine: Engine, node_type: &str, shards: u32, replicas: u32, retention: u32) -> Nodes {
    Nodes {
        engine,
        node_type: node_type.into(),
        shards,
        count: shards * (replicas + 1),
        data_tiering: false,
        snapshot_retention_days: retention,
    }
}

fn estimate(report: CostReport) -> Estimate {
    match report {
        CostReport::Estimated(estimate) => estimate,
        CostReport::Unavailable(reason) => panic!("cost unavailable: {reason}"),
    }
}

/// The estimate of a stack that does not exist yet.
async fn from_nothing(prices: &PriceList, region: &str, after: &Footprint) -> Estimate {
    estimate(prices.estimate(region, &Footprint::default(), after).await)
}

fn close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("priced");
    assert!((actual - expected).abs() < 1e-6, "{actual} != {expected}");
}

#[tokio::test]
async fn production_valkey_in_eu_west_1_from_nothing() {
    let (_, prices) = serving_fixtures();
    let after = Footprint {
        nodes: Some(nodes(Engine::Valkey, "cache.r7g.large", 3, 2, 14)),
        kms_keys: 1,
        secrets: 2,
        ..Footprint::default()
    };
    let estimate = from_nothing(&prices, "eu-west-1", &after).await;
    let lines = &estimate.after.lines;
    let names: Vec<_> = lines.iter().map(|l| l.resource).collect();
    assert_eq!(
        names,
        ["cache nodes", "backup storage", "KMS key", "secrets"]
    );
    close(lines[0].monthly, 9.0 * 0.1944 * 730.0);
    let price = &lines[0].prices[0];
    assert_eq!(
        price.usage_type, "EU-NodeUsage:cache.r7g.large",
        "not the durability meter"
    );
    assert_eq!(price.effective_date, "2026-11-01T00:00:00Z");
    assert!(price.sku.starts_with("EAFX"));
    close(lines[1].monthly, 13.07 * 1.073_741_824 * 3.0 * 13.0 * 0.085);
    close(lines[2].monthly, 1.0);
    close(lines[3].monthly, 0.8);
    assert!(estimate.gaps().is_empty());
    let total = estimate.after.total();
    assert_eq!(
        estimate.headline(),
        format!(
            "{}/month (from $0.00 to {})",
            cost::estimate::signed_dollars(total),
            cost::estimate::dollars(total)
        )
    );
}

#[tokio::test]
async fn valkey_and_redis_oss_prices_in_both_regions() {
    let (_, prices) = serving_fixtures();
    for (region, redis, valkey) in [("us-east-1", 0.219, 0.1752), ("eu-west-1", 0.243, 0.1944)] {
        for (engine, hourly) in [(Engine::Redis, redis), (Engine::Valkey, valkey)] {
            let after = Footprint {
                nodes: Some(nodes(engine, "cache.r7g.large", 1, 1, 0)),
                ..Footprint::default()
            };
            let estimate = from_nothing(&prices, region, &after).await;
            close(estimate.after.lines[0].monthly, 2.0 * hourly * 730.0);
        }
    }
}

#[tokio::test]
async fn a_resize_shows_before_and_after_per_resource() {
    let (_, prices) = serving_fixtures();
    let before = Footprint {
        nodes: Some(nodes(Engine::Redis, "cache.t4g.medium", 1, 1, 1)),
        kms_keys: 1,
        secrets: 1,
        ..Footprint::default()
    };
    let after = Footprint {
        nodes: Some(nodes(Engine::Redis, "cache.r7g.large", 1, 2, 1)),
        ..before.clone()
    };
    let estimate = estimate(prices.estimate("us-east-1", &before, &after).await);
    let changes = estimate.changes();
    close(
        Some(changes[0].change()),
        3.0 * 0.219 * 730.0 - 2.0 * 0.065 * 730.0,
    );
    assert_eq!(changes[1].resource, "backup storage");
    close(Some(changes[1].change()), 0.0);
    close(Some(estimate.change()), changes[0].change());
}

#[tokio::test]
async fn the_rotation_runner_adds_endpoints_and_the_function() {
    let (_, prices) = serving_fixtures();
    let after = Footprint {
        endpoint_interfaces: 6,
        rotation_function: Some(RotationFunction {
            invocations_per_month: 8.0,
            memory_mb: 256,
            arm64: true,
            seconds_per_invocation: 2.0,
        }),
        ..Footprint::default()
    };
    let estimate = from_nothing(&prices, "eu-west-1", &after).await;
    close(estimate.after.lines[0].monthly, 6.0 * 0.011 * 730.0);
    let function = &estimate.after.lines[1];
    close(
        function.monthly,
        8.0 * 0.0000002 + 8.0 * 2.0 * 0.25 * 0.0000133334,
    );
    assert_eq!(function.prices[1].usage_type, "EU-Lambda-GB-Second-ARM");
}

#[tokio::test]
async fn each_product_is_asked_once_per_run() {
    let (rule, prices) = serving_fixtures();
    let footprint = Footprint {
        nodes: Some(nodes(Engine::Valkey, "cache.r7g.large", 1, 1, 7)),
        kms_keys: 1,
        secrets: 1,
        ..Footprint::default()
    };
    estimate(prices.estimate("eu-west-1", &footprint, &footprint).await);
    assert_eq!(rule.num_calls(), 4, "node, backup, key, secret");
    from_nothing(&prices, "eu-west-1", &footprint).await;
    assert_eq!(rule.num_calls(), 4, "answers are kept for the run");
}

#[tokio::test]
async fn a_node_type_without_a_price_is_a_gap_named_in_the_estimate() {
    let (_, prices) = serving_fixtures();
    let after = Footprint {
        nodes: Some(nodes(Engine::Valkey, "cache.t4g.micro", 1, 0, 0)),
        secrets: 1,
        ..Footprint::default()
    };
    let estimate = from_nothing(&prices, "eu-west-1", &after).await;
    assert_eq!(
        estimate.gaps(),
        ["cache nodes: no price for cache.t4g.micro (Valkey) node-hour in eu-west-1"]
    );
    assert_eq!(
        estimate.headline(),
        "+$0.40/month (from $0.00 to $0.40), without cache nodes (no price)"
    );
}

#[tokio::test]
async fn a_region_without_any_price_is_unavailable_not_free() {
    let (_, prices) = serving_fixtures();
    let after = Footprint {
        nodes: Some(nodes(Engine::Valkey, "cache.t4g.micro", 1, 0, 0)),
        secrets: 1,
        ..Footprint::default()
    };
    let report = prices
        .estimate("us-west-2", &Footprint::default(), &after)
        .await;
    assert_eq!(
        report.headline(),
        "cost unavailable: the Price List has none of this stack's prices in us-west-2"
    );
}

const DENIED: &str = "User: arn:aws:sts::123456789012:assumed-role/ci/run is not authorized to perform: pricing:GetProducts";

#[tokio::test]
async fn without_permission_the_cost_is_unavailable_and_says_why() {
    let refused = mock!(Client::get_products).then_error(|| {
        GetProductsError::AccessDeniedException(
            AccessDeniedException::builder()
                .message(DENIED)
                .meta(
                    aws_sdk_pricing::error::ErrorMetadata::builder()
                        .code("AccessDeniedException")
                        .message(DENIED)
                        .build(),
                )
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_pricing, RuleMode::MatchAny, &[&refused]);
    let prices = PriceList::from_client(client);
    let after = Footprint {
        secrets: 1,
        ..Footprint::default()
    };
    let report = prices
        .estimate("eu-west-1", &Footprint::default(), &after)
        .await;
    let CostReport::Unavailable(reason) = &report else {
        panic!("priced without permission: {report:?}");
    };
    assert!(reason.starts_with("GetProducts failed: "), "{reason}");
    assert!(reason.contains("pricing:GetProducts"), "{reason}");
    assert!(
        report
            .headline()
            .starts_with("cost unavailable: GetProducts failed")
    );
}

/// Records the fixtures from the real Price List: every product they hold, asked with
/// exactly the queries `PriceList` sends. Needs credentials allowed `pricing:GetProducts`
/// (free of charge); checks that each query finds its product before writing.
#[tokio::test]
#[ignore = "needs AWS credentials: ELASTICACHE_ACTION_LIVE_AWS=1 cargo test -p elasticache-action-cost --test price_list record -- --ignored"]
async fn record() {
    assert_eq!(
        std::env::var("ELASTICACHE_ACTION_LIVE_AWS").as_deref(),
        Ok("1"),
        "set ELASTICACHE_ACTION_LIVE_AWS=1"
    );
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let prices = PriceList::new(&config, &cost::PriceListConfig::default());
    let entries = recorded();
    for region in REGIONS {
        let mut products: Vec<Product> = entries
            .iter()
            .filter(|e| e["product"]["attributes"]["regionCode"] == region)
            .filter_map(product_of)
            .collect();
        products.sort();
        products.dedup();
        let mut recorded = Vec::new();
        for product in &products {
            let query = product.query(region);
            let answer = prices.entries(&query).await.expect("GetProducts");
            let price = cost::price::select(&answer, &query.select).expect("valid answer");
            assert!(
                price.is_some(),
                "{product:?} not found in {region}: the query is wrong"
            );
            recorded.extend(
                answer
                    .iter()
                    .map(|e| serde_json::from_str::<Value>(e).expect("JSON")),
            );
        }
        let when = unix_seconds_now();
        let document = serde_json::json!({
            "source": format!("Recorded from the AWS Price List API (GetProducts) on {when} by this test's `record`."),
            "region": region,
            "entries": recorded,
        });
        let text = serde_json::to_string_pretty(&document).expect("JSON") + "\n";
        std::fs::write(format!("{FIXTURES}/{region}.json"), text).expect("write fixture");
    }
}

/// The product a recorded entry is the price of.
fn product_of(entry: &Value) -> Option<Product> {
    let attributes = &entry["product"]["attributes"];
    let usage = attributes["usagetype"].as_str()?;
    let is = |wanted: &str| cost::price::usage_type_is(usage, wanted);
    Some(match entry["serviceCode"].as_str()? {
        "AmazonElastiCache" if entry["product"]["productFamily"] == "Storage Snapshot" => {
            Product::BackupStorage
        }
        "AmazonElastiCache" => {
            let node_type = attributes["instanceType"].as_str()?;
            if !is(&format!("NodeUsage:{node_type}")) {
                return None;
            }
            let engine = match attributes["cacheEngine"].as_str()? {
                "Valkey" => Engine::Valkey,
                _ => Engine::Redis,
            };
            Product::Node {
                engine,
                node_type: node_type.into(),
            }
        }
        "awskms" => Product::KmsKey,
        "AWSSecretsManager" => Product::Secret,
        "AmazonVPC" => Product::EndpointHour,
        "AWSLambda" if is("Request") => Product::LambdaRequest { arm64: false },
        "AWSLambda" if is("Request-ARM") => Product::LambdaRequest { arm64: true },
        "AWSLambda" if is("Lambda-GB-Second") => Product::LambdaDuration { arm64: false },
        "AWSLambda" => Product::LambdaDuration { arm64: true },
        _ => return None,
    })
}

fn unix_seconds_now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{} (Unix seconds)", seconds)
}
