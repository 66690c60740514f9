//! The AWS Price List API client: `GetProducts` once per product and region, kept for
//! the client's lifetime (one run).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_error::{AwsError, aws_error};
use aws_sdk_pricing::types::{Filter, FilterType};

use crate::{CostReport, Estimate, Footprint, Price, PriceListError, Product, Query, rules};

/// The Price List API answers in us-east-1 (also eu-central-1 and ap-south-1); prices
/// for every region come from there, filtered by `regionCode`.
const PRICE_LIST_REGION: &str = "us-east-1";

/// More pages than an exact query ever has: a guard, not a limit anyone meets.
const MAX_PAGES: usize = 10;

/// Why a price could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// The call failed: no permission (`pricing:GetProducts`), no network.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The answer was not what the Price List documents.
    #[error(transparent)]
    PriceList(#[from] PriceListError),
}

/// How long to wait for the Price List: a plan should not hang on its cost.
#[derive(Debug, Clone)]
pub struct PriceListConfig {
    /// Per `GetProducts` call, retries included.
    pub timeout: Duration,
    /// Attempts per call.
    pub attempts: u32,
}

impl Default for PriceListConfig {
    fn default() -> Self {
        PriceListConfig {
            timeout: Duration::from_secs(20),
            attempts: 2,
        }
    }
}

/// Answers by region and product; `None`: the Price List has no such product.
type Answers = BTreeMap<(String, Product), Option<Price>>;

/// Prices from the AWS Price List API. Clones share what was asked.
#[derive(Debug, Clone)]
pub struct PriceList {
    client: aws_sdk_pricing::Client,
    answers: Arc<Mutex<Answers>>,
}

impl PriceList {
    /// A client with `config`'s credentials (and endpoint override), in the Price List's
    /// own region.
    pub fn new(config: &SdkConfig, settings: &PriceListConfig) -> PriceList {
        let config = config
            .to_builder()
            .region(aws_config::Region::new(PRICE_LIST_REGION))
            .retry_config(RetryConfig::standard().with_max_attempts(settings.attempts))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(settings.timeout)
                    .build(),
            )
            .build();
        PriceList::from_client(aws_sdk_pricing::Client::new(&config))
    }

    /// A price list asking through `client` (tests hand in a mocked one).
    pub fn from_client(client: aws_sdk_pricing::Client) -> PriceList {
        PriceList {
            client,
            answers: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// `before` and `after` priced in `region`; unavailable, with the reason, when the
    /// Price List cannot be read.
    pub async fn estimate(
        &self,
        region: &str,
        before: &Footprint,
        after: &Footprint,
    ) -> CostReport {
        let mut products = rules::products(before);
        products.extend(rules::products(after));
        products.sort();
        products.dedup();
        let answers =
            futures::future::join_all(products.iter().map(|p| self.price(region, p))).await;
        let mut prices = BTreeMap::new();
        for (product, answer) in products.into_iter().zip(answers) {
            match answer {
                Ok(price) => prices.insert(product, price),
                Err(err) => return CostReport::Unavailable(err.to_string()),
            };
        }
        if !prices.is_empty() && prices.values().all(Option::is_none) {
            return CostReport::Unavailable(format!(
                "the Price List has none of this stack's prices in {region}"
            ));
        }
        let price = |product: &Product| prices.get(product).cloned().flatten();
        CostReport::Estimated(Estimate {
            region: region.to_owned(),
            before: rules::bill(before, region, &price),
            after: rules::bill(after, region, &price),
        })
    }

    /// One product's price in `region`, asked once per client.
    pub async fn price(&self, region: &str, product: &Product) -> Result<Option<Price>, CostError> {
        let key = (region.to_owned(), product.clone());
        if let Some(answer) = self.remembered(&key) {
            return Ok(answer);
        }
        let query = product.query(region);
        let entries = self.entries(&query).await?;
        let price = crate::price::select(&entries, &query.select)?;
        tracing::debug!(
            region,
            ?product,
            found = price.is_some(),
            "price list answered"
        );
        if let Ok(mut answers) = self.answers.lock() {
            answers.insert(key, price.clone());
        }
        Ok(price)
    }

    fn remembered(&self, key: &(String, Product)) -> Option<Option<Price>> {
        self.answers.lock().ok()?.get(key).cloned()
    }

    /// Every entry `GetProducts` answers `query` with, all pages, as the API sends them
    /// (JSON documents in strings).
    pub async fn entries(&self, query: &Query) -> Result<Vec<String>, CostError> {
        let filters: Vec<Filter> = query
            .filters
            .iter()
            .map(|(field, value)| {
                Filter::builder()
                    .r#type(FilterType::TermMatch)
                    .field(*field)
                    .value(value)
                    .build()
                    .map_err(|e| AwsError {
                        operation: "GetProducts",
                        code: None,
                        message: e.to_string(),
                        fault: aws_error::Fault::Request,
                    })
            })
            .collect::<Result<_, _>>()?;
        let mut entries = Vec::new();
        let mut next_token = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .get_products()
                .service_code(query.service_code)
                .format_version("aws_v1")
                .set_filters(Some(filters.clone()))
                .set_next_token(next_token)
                .send()
                .await
                .map_err(aws_error("GetProducts"))?;
            entries.extend(page.price_list.unwrap_or_default());
            next_token = page.next_token.filter(|t| !t.is_empty());
            if next_token.is_none() {
                break;
            }
        }
        Ok(entries)
    }
}
