//! The plan as machines read it: one documented, versioned JSON document.

use plan::{Change, Plan, Summary};
use serde::Serialize;

use crate::Identity;

/// The version of [`StackReport`]'s JSON. Fields are only ever added within a version;
/// a removal or change of meaning makes the next one.
pub const REPORT_FORMAT_VERSION: &str = "1";

/// A plan with where it applies and the policy findings on the spec: what `plan --json`
/// prints and the Action's `plan-json` output holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackReport {
    /// [`REPORT_FORMAT_VERSION`].
    pub format_version: &'static str,
    /// The stack's name.
    pub stack: String,
    /// The AWS account id.
    pub account: String,
    /// The region.
    pub region: String,
    /// Whether applying would change anything.
    pub has_changes: bool,
    /// Resources to add, change, replace and destroy.
    pub summary: Summary,
    /// Only the resources that change, in apply order.
    pub changes: Vec<Change>,
    /// What the user should know before applying.
    pub warnings: Vec<String>,
    /// Every policy rule with its status (pass, fail, waived); absent when not judged
    /// (destroy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<Vec<findings::Finding>>,
    /// The monthly cost before and after, per resource (`available: false` with the
    /// reason when the Price List could not be read); absent when not asked (`--no-cost`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<cost::CostReport>,
}

impl StackReport {
    /// The report of `plan` in `identity`'s account and region.
    pub fn new(plan: &Plan, identity: &Identity, findings: Option<Vec<findings::Finding>>) -> Self {
        StackReport {
            format_version: REPORT_FORMAT_VERSION,
            stack: plan.stack.clone(),
            account: identity.account.clone(),
            region: identity.region.clone(),
            has_changes: plan.has_changes(),
            summary: plan.summary(),
            changes: plan
                .changes
                .iter()
                .filter(|c| c.is_change())
                .cloned()
                .collect(),
            warnings: plan.warnings.clone(),
            findings,
            cost: None,
        }
    }

    /// The report with its cost.
    pub fn with_cost(self, cost: Option<cost::CostReport>) -> Self {
        StackReport { cost, ..self }
    }
}

#[cfg(test)]
mod tests {
    use plan::{Diff, ResourceId, Value};

    use super::*;

    #[test]
    fn json_lists_only_changes_and_marks_unknowns() {
        let mut plan = Plan::new("demo");
        plan.extend(
            [
                Change::create(
                    ResourceId::new("cache_subnet_group", "g"),
                    vec![("subnet_ids", Value::Unknown)],
                ),
                Diff::new(ResourceId::new("vpc", "demo")).finish(),
            ],
            [],
        );
        let identity = Identity {
            account: "123456789012".into(),
            region: "us-east-1".into(),
        };
        let json = serde_json::to_value(StackReport::new(&plan, &identity, None)).expect("json");
        assert_eq!(json["format_version"], "1");
        assert_eq!(json["has_changes"], true);
        assert_eq!(json["summary"]["add"], 1);
        assert_eq!(json["changes"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            json["changes"][0]["attributes"][0]["after"]["known_after_apply"],
            true
        );
        assert!(json.get("findings").is_none(), "not judged: absent");
    }
}
