//! The pure half of step 8: what differs, and which operations fix it, one file per
//! resource: [`parameter_group`], [`users`] (users and their user group) and [`group`]
//! (the replication group). This file puts them in order and cleans up after them.
//!
//! Which attributes AWS changes in place and which force a replacement is decided in
//! `group.rs` and nowhere else.

mod group;
mod parameter_group;
mod users;

use std::collections::BTreeSet;

use plan::{Change, Known, ResourceId, Value};

use crate::model::Desired;
use crate::ops::*;
use crate::{ClusterError, Endpoints, Observed};

pub(crate) use group::group_diff;
use parameter_group::parameter_group_diff;
use users::{user_group_diff, users_diff};

/// Resource kinds this step shows.
pub mod kinds {
    /// The replication group.
    pub const REPLICATION_GROUP: &str = "replication_group";
    /// A cache parameter group.
    pub const PARAMETER_GROUP: &str = "parameter_group";
    /// An ElastiCache user.
    pub const USER: &str = "cache_user";
    /// A user group.
    pub const USER_GROUP: &str = "user_group";
}

/// Step 8's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterPlan {
    /// One change per resource.
    pub changes: Vec<Change>,
    /// What the user should know.
    pub warnings: Vec<String>,
    /// The outputs as far as they are known before apply.
    pub outputs: ClusterOutputs,
    pub(crate) ops: Vec<Op>,
    snapshots_kept: bool,
}

impl ClusterPlan {
    /// Whether apply would write anything.
    pub fn has_writes(&self) -> bool {
        !self.ops.is_empty()
    }

    /// Whether data lives on in a final snapshot: this (destroy) plan takes one, or an
    /// earlier destroy or replacement left one. The stack key encrypts them.
    pub fn keeps_snapshots(&self) -> bool {
        self.snapshots_kept
    }

    /// The secrets whose values apply must read: those its creates and token changes
    /// send.
    pub fn secrets_needed(&self) -> BTreeSet<String> {
        self.ops
            .iter()
            .filter_map(Op::secret)
            .map(str::to_owned)
            .collect()
    }
}

/// What later steps and applications need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOutputs {
    /// The replication group id.
    pub replication_group_id: String,
    /// Its ARN.
    pub arn: Known<String>,
    /// Its endpoints.
    pub endpoints: Known<Endpoints>,
    /// The port clients connect to: the one the group reports, else the one asked for.
    pub port: u16,
    /// The user ids clients log in as (RBAC or IAM), without the disabled `default`.
    pub user_ids: Vec<String>,
}

fn outputs(desired: &Desired, observed: &Observed) -> ClusterOutputs {
    let group = &desired.replication_group;
    let found = observed.replication_group.as_ref();
    ClusterOutputs {
        replication_group_id: group.id.clone(),
        arn: found.map(|g| g.arn.clone()).into(),
        endpoints: found.map(|g| g.endpoints.clone()).into(),
        port: found.map_or(group.port, |g| g.endpoints.port_or(group.port)),
        user_ids: desired
            .users
            .iter()
            .filter(|u| u.name != "default")
            .map(|u| u.id.clone())
            .collect(),
    }
}

/// Plans step 8: parameter group, users, user group, then the replication group, and
/// the clean-up of what the stack no longer uses. Never fails today; it returns a
/// `Result` like every step's diff, so the driver treats all steps alike.
pub fn diff(desired: &Desired, observed: &Observed) -> Result<ClusterPlan, ClusterError> {
    let mut plan = empty_plan(desired, observed);
    if let Some(group) = &desired.parameter_group {
        parameter_group_diff(&mut plan, group, observed.parameter_groups.get(&group.name));
    }
    users_diff(&mut plan, desired, observed);
    user_group_diff(&mut plan, desired, observed);
    let deleting = observed
        .replication_group
        .as_ref()
        .filter(|g| g.status == "deleting");
    if deleting.is_some() {
        plan.warnings.push(format!(
            "replication group {} is being deleted; apply waits until it is gone, then creates it",
            desired.replication_group.id
        ));
        plan.ops.push(Op::AwaitDeletion {
            id: desired.replication_group.id.clone(),
        });
    }
    let (change, ops, warnings) = group_diff(
        &desired.replication_group,
        observed
            .replication_group
            .as_ref()
            .filter(|_| deleting.is_none()),
        &desired.final_snapshot_prefix,
    );
    plan.changes.push(change);
    plan.ops.extend(ops);
    plan.warnings.extend(warnings);
    clean_up(&mut plan, desired, observed);
    Ok(plan)
}

/// Deletes what the stack made and no longer uses: users dropped from the spec, a user
/// group no longer wanted, parameter groups of an earlier family. Runs after the
/// replication group stopped using them.
fn clean_up(plan: &mut ClusterPlan, desired: &Desired, observed: &Observed) {
    delete_unused(plan, desired, observed, Keep::Wanted);
}

/// What [`delete_unused`] leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// What the spec still wants (clean-up after apply).
    Wanted,
    /// Nothing (destroy).
    Nothing,
}

/// Deletes the stack's users, user group and parameter groups that are not kept: the
/// user group before its users, parameter groups last.
fn delete_unused(plan: &mut ClusterPlan, desired: &Desired, observed: &Observed, keep: Keep) {
    let wanted = keep == Keep::Wanted;
    if let Some(found) = observed
        .user_group
        .as_ref()
        .filter(|_| !(wanted && desired.user_group.is_some()))
    {
        let id = desired.user_group_id.clone();
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::USER_GROUP, &id),
            vec![("user_ids", Value::set(found.user_ids.iter().cloned()))],
        ));
        plan.ops.push(Op::DeleteUserGroup { id });
    }
    let wanted_user = |id: &str| wanted && desired.users.iter().any(|u| u.id == id);
    for (id, user) in observed
        .users
        .iter()
        .filter(|(id, u)| u.ours && !wanted_user(id))
    {
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::USER, id),
            vec![("user_name", Value::from(&user.name))],
        ));
        plan.ops.push(Op::DeleteUser { id: id.clone() });
    }
    let wanted_group = desired
        .parameter_group
        .as_ref()
        .filter(|_| wanted)
        .map(|g| g.name.as_str());
    for (name, found) in &observed.parameter_groups {
        if Some(name.as_str()) != wanted_group {
            plan.changes.push(Change::delete(
                ResourceId::new(kinds::PARAMETER_GROUP, name),
                vec![("family", Value::from(&found.family))],
            ));
            plan.ops
                .push(Op::DeleteParameterGroup { name: name.clone() });
        }
    }
}

fn empty_plan(desired: &Desired, observed: &Observed) -> ClusterPlan {
    ClusterPlan {
        changes: Vec::new(),
        warnings: Vec::new(),
        outputs: outputs(desired, observed),
        ops: Vec::new(),
        snapshots_kept: !observed.final_snapshots.is_empty(),
    }
}

/// Plans destroy: the replication group (with a final snapshot, as the spec says,
/// unless `skip_final_snapshot`), then the user group, the stack's users and its
/// parameter groups. A group already being deleted is waited for.
pub fn diff_destroy(
    desired: &Desired,
    observed: &Observed,
    skip_final_snapshot: bool,
) -> ClusterPlan {
    let mut plan = empty_plan(desired, observed);
    let id = &desired.replication_group.id;
    match &observed.replication_group {
        Some(found) if found.status == "deleting" => {
            plan.changes.push(Change::delete(
                ResourceId::new(kinds::REPLICATION_GROUP, id),
                vec![
                    ("arn", Value::from(&found.arn)),
                    ("status", Value::from("deleting (waiting until gone)")),
                ],
            ));
            plan.ops.push(Op::AwaitDeletion { id: id.clone() });
        }
        Some(found) => {
            let snapshot_prefix = (desired.final_snapshot && !skip_final_snapshot)
                .then(|| desired.final_snapshot_prefix.clone());
            let shown = snapshot_prefix
                .as_ref()
                .map_or(Value::from("none (skipped)"), |prefix| {
                    Value::from(format!("{prefix}<UTC time of deletion>"))
                });
            plan.changes.push(Change::delete(
                ResourceId::new(kinds::REPLICATION_GROUP, id),
                vec![("arn", Value::from(&found.arn)), ("final_snapshot", shown)],
            ));
            plan.warnings.push(match &snapshot_prefix {
                Some(prefix) => format!(
                    "replication group {id}: a final snapshot {prefix}<UTC time> is taken and kept; delete it yourself when you no longer need the data"
                ),
                None => format!(
                    "replication group {id} is deleted WITHOUT a final snapshot: its data is lost"
                ),
            });
            plan.snapshots_kept |= snapshot_prefix.is_some();
            plan.ops.push(Op::DeleteGroup {
                id: id.clone(),
                snapshot_prefix,
            });
        }
        None => {}
    }
    delete_unused(&mut plan, desired, observed, Keep::Nothing);
    plan
}
