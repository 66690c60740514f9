//! One on-demand price out of a `GetProducts` answer.
//!
//! Each entry of the answer's `PriceList` is a JSON document in a string: the product
//! (`sku`, `productFamily`, `attributes` such as `usagetype` and, for nodes, `memory`)
//! and its `terms`; the `OnDemand` term holds price dimensions, each with a unit, a
//! `pricePerUnit` by currency and, for tiered prices, a `beginRange`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::{CURRENCY, Select};

/// An on-demand price as the Price List states it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Price {
    /// The product's SKU.
    pub sku: String,
    /// Its usage type, `EU-NodeUsage:cache.r7g.large`.
    pub usage_type: String,
    /// The unit priced: `Hrs`, `GB-Mo`, `Keys`, `Requests`, `Lambda-GB-Second`, …
    pub unit: String,
    /// USD per unit.
    pub per_unit: f64,
    /// When the price took effect (the term's `effectiveDate`).
    pub effective_date: String,
    /// AWS's words for the price dimension.
    pub description: String,
    /// A node type's memory in GiB (the product's `memory` attribute), for the backup
    /// estimate; `None` for other products.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_gib: Option<f64>,
}

/// A `PriceList` entry that is not what the Price List documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceListError {
    /// Not a price list document.
    #[error("a price list entry is not a product document: {0}")]
    Malformed(String),
    /// Several products match one query: the filters are not exact.
    #[error("{count} products match usage type {usage_type}; expected one")]
    Ambiguous {
        /// How many.
        count: usize,
        /// The usage type or unit sought.
        usage_type: String,
    },
}

#[derive(Deserialize)]
struct Item {
    product: ItemProduct,
    #[serde(default)]
    terms: BTreeMap<String, BTreeMap<String, Term>>,
}

#[derive(Deserialize)]
struct ItemProduct {
    sku: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Term {
    #[serde(default)]
    effective_date: String,
    #[serde(default)]
    price_dimensions: BTreeMap<String, Dimension>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Dimension {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    begin_range: Option<String>,
    #[serde(default)]
    price_per_unit: BTreeMap<String, String>,
}

/// The one price `select` picks out of a `GetProducts` answer's entries; `None` when no
/// product matches (the Price List has no such product in the region).
pub fn select(entries: &[String], select: &Select) -> Result<Option<Price>, PriceListError> {
    let mut found = Vec::new();
    for entry in entries {
        let item: Item =
            serde_json::from_str(entry).map_err(|e| PriceListError::Malformed(e.to_string()))?;
        if let Some(price) = on_demand(&item).filter(|p| matches(p, select)) {
            found.push(price);
        }
    }
    match found.len() {
        0 | 1 => Ok(found.pop()),
        count => Err(PriceListError::Ambiguous {
            count,
            usage_type: match select {
                Select::UsageType(u) => u.clone(),
                Select::Unit(u) => (*u).to_owned(),
            },
        }),
    }
}

fn matches(price: &Price, select: &Select) -> bool {
    match select {
        Select::UsageType(wanted) => usage_type_is(&price.usage_type, wanted),
        Select::Unit(unit) => price.unit == *unit,
    }
}

/// `usage_type` is `wanted`, or `wanted` behind a region prefix — a billing code such as
/// `EU-` or `USE1-`, or the region's name (`us-east-1-KMS-Keys`, as KMS writes it) —
/// and not behind another meter's name (`USE1-SyncDurability-NodeUsage:…`,
/// `ExtendedSupportYr3-NodeUsage:…`).
pub fn usage_type_is(usage_type: &str, wanted: &str) -> bool {
    if usage_type == wanted {
        return true;
    }
    usage_type
        .strip_suffix(wanted)
        .and_then(|prefix| prefix.strip_suffix('-'))
        .is_some_and(|region| billing_code(region) || region_name(region))
}

/// `USE1`, `EU`, `APN1`.
fn billing_code(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// `us-east-1`, `us-gov-west-1`: lowercase words and a number, joined by hyphens.
fn region_name(prefix: &str) -> bool {
    let parts: Vec<&str> = prefix.split('-').collect();
    parts.len() >= 3
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
}

/// The item's on-demand price: the first tier (`beginRange` 0) of its one on-demand
/// term, in USD.
fn on_demand(item: &Item) -> Option<Price> {
    let term = item.terms.get("OnDemand")?.values().next()?;
    let dimension = term
        .price_dimensions
        .values()
        .find(|d| d.begin_range.as_deref().is_none_or(|b| b == "0"))?;
    let per_unit = dimension.price_per_unit.get(CURRENCY)?.parse().ok()?;
    let attributes = &item.product.attributes;
    Some(Price {
        sku: item.product.sku.clone(),
        usage_type: attributes.get("usagetype").cloned().unwrap_or_default(),
        unit: dimension.unit.clone(),
        per_unit,
        effective_date: term.effective_date.clone(),
        description: dimension.description.clone(),
        memory_gib: attributes.get("memory").and_then(|m| gib(m)),
    })
}

/// `"13.07 GiB"` → 13.07.
fn gib(memory: &str) -> Option<f64> {
    memory.strip_suffix("GiB")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(usage_type: &str, unit: &str, price: &str) -> String {
        serde_json::json!({
            "product": {
                "productFamily": "Cache Instance",
                "sku": format!("SKU-{usage_type}"),
                "attributes": { "usagetype": usage_type, "memory": "13.07 GiB" }
            },
            "serviceCode": "AmazonElastiCache",
            "terms": { "OnDemand": { "T": {
                "effectiveDate": "2026-11-01T00:00:00Z",
                "priceDimensions": {
                    "T.1": { "unit": unit, "beginRange": "0", "endRange": "Inf",
                             "description": "d", "pricePerUnit": { "USD": price } }
                }
            } } }
        })
        .to_string()
    }

    #[test]
    fn a_region_prefix_is_the_same_usage_type_another_meter_is_not() {
        let wanted = "NodeUsage:cache.r7g.large";
        assert!(usage_type_is("NodeUsage:cache.r7g.large", wanted));
        assert!(usage_type_is("EU-NodeUsage:cache.r7g.large", wanted));
        assert!(usage_type_is("USE1-NodeUsage:cache.r7g.large", wanted));
        assert!(!usage_type_is(
            "EU-SyncDurability-NodeUsage:cache.r7g.large",
            wanted
        ));
        assert!(!usage_type_is(
            "ExtendedSupportYr3-NodeUsage:cache.r7g.large",
            wanted
        ));
        assert!(!usage_type_is("NodeUsage:cache.r7g.xlarge", wanted));
        assert!(usage_type_is("us-east-1-KMS-Keys", "KMS-Keys"));
        assert!(usage_type_is("us-gov-west-1-KMS-Keys", "KMS-Keys"));
        assert!(usage_type_is(
            "USE1-AWSSecretsManager-Secrets",
            "AWSSecretsManager-Secrets"
        ));
        assert!(!usage_type_is("us-east-1-Other-KMS-Keys", "KMS-Keys"));
        assert!(!usage_type_is("Yr1-Yr2-NodeUsage:cache.r7g.large", wanted));
    }

    #[test]
    fn the_node_meter_is_chosen_over_durability_and_memory_is_read() {
        let entries = [
            entry(
                "EU-SyncDurability-NodeUsage:cache.r7g.large",
                "Hrs",
                "0.035",
            ),
            entry("EU-NodeUsage:cache.r7g.large", "Hrs", "0.1944000000"),
        ];
        let price = select(
            &entries,
            &Select::UsageType("NodeUsage:cache.r7g.large".into()),
        )
        .expect("valid")
        .expect("found");
        assert_eq!(price.per_unit, 0.1944);
        assert_eq!(price.memory_gib, Some(13.07));
        assert_eq!(price.effective_date, "2026-11-01T00:00:00Z");
        assert_eq!(price.sku, "SKU-EU-NodeUsage:cache.r7g.large");
    }

    #[test]
    fn no_match_is_none_two_matches_an_error_garbage_an_error() {
        let entries = [entry("NodeUsage:cache.t4g.micro", "Hrs", "0.016")];
        let wanted = Select::UsageType("NodeUsage:cache.r7g.large".into());
        assert_eq!(select(&entries, &wanted), Ok(None));
        let twice = [entries[0].clone(), entries[0].clone()];
        let micro = Select::UsageType("NodeUsage:cache.t4g.micro".into());
        assert!(matches!(
            select(&twice, &micro),
            Err(PriceListError::Ambiguous { count: 2, .. })
        ));
        assert!(matches!(
            select(&["not json".into()], &micro),
            Err(PriceListError::Malformed(_))
        ));
    }

    #[test]
    fn a_unit_selects_among_the_family() {
        let entries = [entry("EU-BackupUsage", "GB-Mo", "0.085")];
        let price = select(&entries, &Select::Unit("GB-Mo")).expect("valid");
        assert_eq!(price.map(|p| p.per_unit), Some(0.085));
    }
}
