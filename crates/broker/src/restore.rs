//! `restore_from_snapshot`: which instances a provision may restore, and from which
//! snapshot. Only a deprovisioned instance of the same tenancy (Cloud Foundry space,
//! Kubernetes namespace), from the final snapshot its deprovision took: its tombstone
//! says whose it was and which plan it had, and the plan's spec names its snapshots.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::Value;

use crate::http::{Broker, OsbError};
use crate::instance::{self, InstanceParameters};

/// The context fields that say whose an instance is.
const TENANCY_FIELDS: &[&str] = &[
    "platform",
    "organization_guid",
    "space_guid",
    "namespace",
    "clusterid",
];

/// Whose a provision is: its `context`, or the top-level `organization_guid` and
/// `space_guid` older platforms send.
pub fn tenancy(body: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for source in [&body["context"], body] {
        for field in TENANCY_FIELDS {
            if let Some(value) = source[*field].as_str() {
                out.entry((*field).to_owned())
                    .or_insert_with(|| value.to_owned());
            }
        }
    }
    out
}

/// The snapshot a provision of `tenancy` restores when it names `source` (an instance
/// id): the newest final snapshot of that deprovisioned instance. Every refusal is a
/// 400 in words the platform's user can act on; another tenancy's instance is refused
/// as unknown, so nothing says it exists.
pub async fn snapshot_for(
    broker: &Broker,
    source: &str,
    tenancy: &BTreeMap<String, String>,
) -> Result<String, OsbError> {
    let refuse = |text: String| OsbError::new(StatusCode::BAD_REQUEST, text);
    let stack = instance::stack_name(source);
    let records = broker.engine.records();
    if records
        .get(&stack)
        .await?
        .is_some_and(|live| live.tenancy == *tenancy)
    {
        return Err(refuse(format!(
            "instance {source} still exists: its data is restored from the final snapshot its deprovision takes, so deprovision it first"
        )));
    }
    let tombstone = records.tombstone(&stack).await?;
    let Some(tombstone) = tombstone.filter(|t| t.tenancy == *tenancy) else {
        return Err(refuse(format!(
            "restore_from_snapshot: no deprovisioned instance {source} in this space"
        )));
    };
    let (_, plan) = broker.config.plan(&tombstone.plan_id).ok_or_else(|| {
        refuse(format!(
            "instance {source} had plan {}, which is no longer in the catalog",
            tombstone.plan_id
        ))
    })?;
    let defaults = InstanceParameters::default();
    let spec = instance::instance_spec(&broker.config, plan, source, &defaults, &[])
        .map_err(|errors| OsbError::new(StatusCode::INTERNAL_SERVER_ERROR, errors.to_string()))?;
    let snapshots = broker
        .engine
        .stack(spec)
        .final_snapshots()
        .await
        .map_err(|error| OsbError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?;
    snapshots.last().cloned().ok_or_else(|| {
        refuse(format!(
            "instance {source} was deprovisioned without a final snapshot (or the snapshot was deleted)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tenancy_is_the_context_or_the_older_top_level_fields() {
        let cf = json!({
            "organization_guid": "org-old", "space_guid": "space-old",
            "context": { "platform": "cloudfoundry", "organization_guid": "org", "space_guid": "space", "instance_name": "cache" },
        });
        let tenancy = tenancy(&cf);
        assert_eq!(tenancy.get("space_guid").map(String::as_str), Some("space"));
        assert_eq!(
            tenancy.get("organization_guid").map(String::as_str),
            Some("org")
        );
        assert!(
            !tenancy.contains_key("instance_name"),
            "names change; tenancy does not"
        );
        let old = json!({ "organization_guid": "org", "space_guid": "space" });
        assert_eq!(super::tenancy(&old).len(), 2);
        let kubernetes = json!({ "context": { "platform": "kubernetes", "namespace": "shop", "clusterid": "c1" } });
        assert_eq!(super::tenancy(&kubernetes).len(), 3);
    }
}
