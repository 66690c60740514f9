//! The stack's cache parameter group.

use std::collections::BTreeMap;

use plan::{Change, Diff, ResourceId, Value};

use super::{ClusterPlan, kinds};
use crate::model::{ObservedParameterGroup, ParameterGroup};
use crate::ops::*;

pub(super) fn parameter_group_diff(
    plan: &mut ClusterPlan,
    desired: &ParameterGroup,
    observed: Option<&ObservedParameterGroup>,
) {
    let id = ResourceId::new(kinds::PARAMETER_GROUP, &desired.name);
    let shown = |parameters: &BTreeMap<String, String>| {
        Value::set(parameters.iter().map(|(k, v)| format!("{k}={v}")))
    };
    let Some(found) = observed else {
        plan.changes.push(Change::create(
            id,
            vec![
                ("family", Value::from(&desired.family)),
                ("parameters", shown(&desired.parameters)),
            ],
        ));
        plan.ops.push(Op::CreateParameterGroup(desired.clone()));
        plan.ops.push(Op::SetParameters {
            group: desired.name.clone(),
            parameters: desired.parameters.clone(),
        });
        return;
    };
    plan.changes.push(
        Diff::new(id)
            .attribute(
                "parameters",
                shown(&found.parameters),
                shown(&desired.parameters),
            )
            .finish(),
    );
    let changed: BTreeMap<String, String> = desired
        .parameters
        .iter()
        .filter(|(k, v)| found.parameters.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !changed.is_empty() {
        plan.ops.push(Op::SetParameters {
            group: desired.name.clone(),
            parameters: changed,
        });
    }
    let removed: Vec<String> = found
        .parameters
        .keys()
        .filter(|k| !desired.parameters.contains_key(*k))
        .cloned()
        .collect();
    if !removed.is_empty() {
        plan.ops.push(Op::ResetParameters {
            group: desired.name.clone(),
            names: removed,
        });
    }
}
