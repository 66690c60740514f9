/*!
What a stack costs a month, before and after a plan, per resource.

Owns: the [`Footprint`] (what a stack is billed for — nodes, backup storage, the KMS key,
secrets, interface endpoints, the rotation function — without prices), the
[`Product`]s that footprint needs priced and the exact Price List query for each
([`Product::query`]), reading a `GetProducts` answer ([`price::select`]), the pricing
rules ([`rules`], pure: one function per rule) and the [`Estimate`] they add up to.
With the `price-list` feature (on by default): [`PriceList`], the AWS Price List API
client, which asks `GetProducts` once per product and region and keeps the answers for
its lifetime (one run).

Does not own: deciding what a stack has (the `stack` crate builds a [`Footprint`] from
the spec and from what AWS reports), printing (front ends render an [`Estimate`]), or
whether a cost increase fails a run (the orchestrator's `--fail-on-cost-increase`).
Prices are on-demand list prices in USD; discounts, reserved nodes, data transfer and
request charges that depend on traffic are not known here, and the lines say so.
*/
#![deny(missing_docs)]

pub mod estimate;
mod footprint;
pub mod price;
mod product;
pub mod rules;

#[cfg(feature = "price-list")]
mod price_list;

pub use estimate::{Bill, CostReport, Estimate, Line, LineChange, Row};
pub use footprint::{Engine, Footprint, Nodes, RotationFunction};
pub use price::{Price, PriceListError};
pub use product::{Product, Query, Select};

#[cfg(feature = "price-list")]
pub use price_list::{CostError, PriceList, PriceListConfig};

/// The currency every price is in: the Price List API's prices outside China are USD.
pub const CURRENCY: &str = "USD";

/// Hours in the month prices are quoted for (AWS's own convention: 24 × 365 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;
