//! The pure half of step 8: what differs, and which operations fix it.
//!
//! Which attributes AWS changes in place and which force a replacement is decided
//! here, in [`group_diff`], and nowhere else.

use std::collections::{BTreeMap, BTreeSet};

use plan::tags::{merged, tags_value};
use plan::{Change, Diff, Known, ResourceId, Value};
use spec::{EngineName, EngineVersion, TransitMode};

use crate::model::{
    Desired, GroupAuth, LogDelivery, ObservedGroup, ObservedParameterGroup, ParameterGroup,
    ReplicationGroup, User, UserGroup,
};
use crate::{ClusterError, Endpoints, Observed, Tags};

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

/// Transit encryption turns on (or off) without downtime in two modifications, through
/// `preferred`; older engines can only be replaced.
const ONLINE_TLS_CHANGE: EngineVersion = EngineVersion::new(7, 0, 5);

/// One ElastiCache write. None carries a secret: creates and token changes name the
/// secret, and apply reads its value when it sends the request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    CreateParameterGroup(ParameterGroup),
    SetParameters {
        group: String,
        parameters: BTreeMap<String, String>,
    },
    ResetParameters {
        group: String,
        names: Vec<String>,
    },
    DeleteParameterGroup {
        name: String,
    },
    CreateUser(User),
    ModifyUser {
        id: String,
        access: String,
    },
    DeleteUser {
        id: String,
    },
    CreateUserGroup(UserGroup),
    ModifyUserGroup {
        id: String,
        add: Vec<String>,
        remove: Vec<String>,
    },
    DeleteUserGroup {
        id: String,
    },
    CreateGroup {
        group: Box<ReplicationGroup>,
    },
    /// Delete with a final snapshot named `<snapshot_prefix><UTC time>`, wait until
    /// gone, create anew from that snapshot.
    ReplaceGroup {
        group: Box<ReplicationGroup>,
        snapshot_prefix: String,
    },
    ModifyGroup(Box<Modification>),
    SetReplicas {
        id: String,
        count: u16,
        increase: bool,
    },
    SetShards {
        id: String,
        count: u16,
        remove: Vec<String>,
    },
    TagGroup {
        arn: String,
        tags: Tags,
    },
    /// With a final snapshot named `<snapshot_prefix><UTC time of deletion>`, unless
    /// the prefix is `None`.
    DeleteGroup {
        id: String,
        snapshot_prefix: Option<String>,
    },
    /// Wait for a deletion an earlier run started.
    AwaitDeletion {
        id: String,
    },
}

/// The in-place changes of one `ModifyReplicationGroup` call: `None` leaves a setting
/// as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Modification {
    pub id: String,
    pub apply_immediately: bool,
    pub description: Option<String>,
    pub node_type: Option<String>,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub parameter_group: Option<String>,
    pub security_group_ids: Option<Known<Vec<String>>>,
    pub multi_az: Option<bool>,
    pub automatic_failover: Option<bool>,
    pub snapshot_window: Option<String>,
    pub snapshot_retention: Option<i32>,
    pub maintenance_window: Option<String>,
    pub auto_minor_version_upgrade: Option<bool>,
    pub transit: Option<TransitStep>,
    pub auth: Option<AuthChange>,
    /// Per log type: the new configuration, or `None` to turn delivery off.
    pub log_delivery: Vec<(String, Option<LogDelivery>)>,
}

impl Modification {
    fn is_empty(&self) -> bool {
        *self
            == Modification {
                id: self.id.clone(),
                apply_immediately: self.apply_immediately,
                ..Modification::default()
            }
    }
}

/// One step of turning TLS on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TransitStep {
    pub enabled: bool,
    pub mode: Option<&'static str>,
}

/// A change of how clients authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthChange {
    /// Set the token kept in `secret` with `ROTATE`, detaching user groups in the same
    /// call (the migration from RBAC back to a token).
    Token {
        secret: String,
        remove_user_groups: Vec<String>,
    },
    /// Attach the user group; with `delete_token` the token goes in the same call
    /// (`DELETE`, the migration from a token to RBAC).
    UserGroup {
        id: String,
        delete_token: bool,
        remove_user_groups: Vec<String>,
    },
    /// Detach every user group.
    RemoveUserGroups { ids: Vec<String> },
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
        let mut needed = BTreeSet::new();
        for op in &self.ops {
            match op {
                Op::CreateUser(user) => {
                    if let crate::Authentication::Password { secret } = &user.authentication {
                        needed.insert(secret.clone());
                    }
                }
                Op::CreateGroup { group } | Op::ReplaceGroup { group, .. } => {
                    if let GroupAuth::Token { secret } = &group.auth {
                        needed.insert(secret.clone());
                    }
                }
                Op::ModifyGroup(m) => {
                    if let Some(AuthChange::Token { secret, .. }) = &m.auth {
                        needed.insert(secret.clone());
                    }
                }
                _ => {}
            }
        }
        needed
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
    /// The port clients connect to.
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
        port: group.port,
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

fn parameter_group_diff(
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

fn users_diff(plan: &mut ClusterPlan, desired: &Desired, observed: &Observed) {
    for user in &desired.users {
        let id = ResourceId::new(kinds::USER, &user.id);
        let Some(found) = observed.users.get(&user.id) else {
            plan.changes.push(Change::create(
                id,
                vec![
                    ("user_name", Value::from(&user.name)),
                    ("access_string", Value::from(&user.access)),
                    ("authentication", Value::from(user.authentication.as_str())),
                    (
                        "password",
                        match user.authentication {
                            crate::Authentication::Password { .. } => Value::Sensitive,
                            _ => Value::from("none"),
                        },
                    ),
                ],
            ));
            plan.ops.push(Op::CreateUser(user.clone()));
            continue;
        };
        if !found.ours {
            plan.warnings.push(format!(
                "user {} exists without this stack's tag: another stack or person may use it too",
                user.id
            ));
        }
        // User name and authentication type cannot change: a new user is created.
        let change = Diff::new(id)
            .replacing(
                "user_name",
                Value::from(&found.name),
                Value::from(&user.name),
            )
            .replacing(
                "authentication",
                Value::from(&found.authentication),
                Value::from(user.authentication.as_str()),
            )
            .attribute(
                "access_string",
                Value::from(&found.access),
                Value::from(&user.access),
            )
            .finish();
        if change.action == plan::Action::Replace {
            plan.ops.push(Op::DeleteUser {
                id: user.id.clone(),
            });
            plan.ops.push(Op::CreateUser(user.clone()));
        } else if found.access != user.access {
            plan.ops.push(Op::ModifyUser {
                id: user.id.clone(),
                access: user.access.clone(),
            });
        }
        plan.changes.push(change);
    }
}

fn user_group_diff(plan: &mut ClusterPlan, desired: &Desired, observed: &Observed) {
    let Some(group) = &desired.user_group else {
        return;
    };
    let id = ResourceId::new(kinds::USER_GROUP, &group.id);
    let Some(found) = &observed.user_group else {
        plan.changes.push(Change::create(
            id,
            vec![
                ("engine", Value::from(group.engine)),
                ("user_ids", Value::set(group.user_ids.iter().cloned())),
            ],
        ));
        plan.ops.push(Op::CreateUserGroup(group.clone()));
        return;
    };
    plan.changes.push(
        Diff::new(id)
            .attribute(
                "user_ids",
                Value::set(found.user_ids.iter().cloned()),
                Value::set(group.user_ids.iter().cloned()),
            )
            .finish(),
    );
    let add: Vec<String> = group
        .user_ids
        .difference(&found.user_ids)
        .cloned()
        .collect();
    let remove: Vec<String> = found
        .user_ids
        .difference(&group.user_ids)
        .cloned()
        .collect();
    if !add.is_empty() || !remove.is_empty() {
        plan.ops.push(Op::ModifyUserGroup {
            id: group.id.clone(),
            add,
            remove,
        });
    }
}

/// Deletes what the stack made and no longer uses: users dropped from the spec, a user
/// group no longer wanted, parameter groups of an earlier family. Runs after the
/// replication group stopped using them.
fn clean_up(plan: &mut ClusterPlan, desired: &Desired, observed: &Observed) {
    let wanted_user = |id: &str| desired.users.iter().any(|u| u.id == id);
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
    if desired.user_group.is_none()
        && let Some(found) = &observed.user_group
    {
        let id = desired.user_group_id.clone();
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::USER_GROUP, &id),
            vec![("user_ids", Value::set(found.user_ids.iter().cloned()))],
        ));
        // The group goes before its users.
        let at = plan
            .ops
            .iter()
            .position(|op| matches!(op, Op::DeleteUser { .. }))
            .unwrap_or(plan.ops.len());
        plan.ops.insert(at, Op::DeleteUserGroup { id });
    }
    let wanted_group = desired.parameter_group.as_ref().map(|g| g.name.as_str());
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

fn transit_text(mode: Option<TransitMode>) -> &'static str {
    mode.map_or("off", TransitMode::as_str)
}

fn auth_text(auth: &GroupAuth) -> String {
    match auth {
        GroupAuth::None => "none".to_owned(),
        GroupAuth::Token { secret } => format!("AUTH token (secret {secret})"),
        GroupAuth::UserGroup { id } => format!("user group {id}"),
    }
}

fn observed_auth_text(found: &ObservedGroup, desired: &GroupAuth) -> String {
    match (found.auth_token, found.user_group_ids.as_slice()) {
        (true, []) => match desired {
            // The secret's name is ours; what AWS knows is that a token is set.
            GroupAuth::Token { .. } => auth_text(desired),
            _ => "AUTH token".to_owned(),
        },
        (false, []) => "none".to_owned(),
        (_, ids) => format!("user group {}", ids.join(", ")),
    }
}

/// How the engine version moves: `Equal`, an in-place upgrade, or a downgrade AWS
/// cannot make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VersionMove {
    Equal,
    Upgrade,
    Downgrade,
}

fn version_move(observed: &str, desired: EngineVersion) -> VersionMove {
    let Ok(found) = observed.parse::<EngineVersion>() else {
        return VersionMove::Upgrade;
    };
    let found_patch = found.patch.unwrap_or(0);
    let wanted = (
        desired.major,
        desired.minor,
        desired.patch.unwrap_or(found_patch),
    );
    let have = (found.major, found.minor, found_patch);
    match wanted.cmp(&have) {
        std::cmp::Ordering::Equal => VersionMove::Equal,
        // "7.1" is satisfied by any 7.1.x.
        _ if desired.patch.is_none()
            && (desired.major, desired.minor) == (found.major, found.minor) =>
        {
            VersionMove::Equal
        }
        std::cmp::Ordering::Greater => VersionMove::Upgrade,
        std::cmp::Ordering::Less => VersionMove::Downgrade,
    }
}

fn shown_replicas(replicas: &[u16]) -> Value {
    match replicas {
        [first, rest @ ..] if rest.iter().all(|r| r == first) => Value::from(i64::from(*first)),
        _ => Value::from(
            replicas
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
    }
}

fn log_value(deliveries: &[LogDelivery]) -> Value {
    Value::set(deliveries.iter().map(LogDelivery::describe))
}

/// The replication group's change and the operations making it, in order. Public to
/// the crate's tests through [`diff`].
pub(crate) fn group_diff(
    desired: &ReplicationGroup,
    observed: Option<&ObservedGroup>,
    snapshot_prefix: &str,
) -> (Change, Vec<Op>, Vec<String>) {
    let id = ResourceId::new(kinds::REPLICATION_GROUP, &desired.id);
    let Some(found) = observed else {
        return (
            Change::create(id, creation_attributes(desired)),
            vec![Op::CreateGroup {
                group: Box::new(desired.clone()),
            }],
            Vec::new(),
        );
    };
    let mut warnings = Vec::new();
    if !found.is_available() {
        warnings.push(format!(
            "replication group {} is `{}`; apply waits for it to become available before changing it",
            desired.id, found.status
        ));
    }
    // Redis OSS upgrades to Valkey in place; there is no way back.
    let engine_in_place = desired.engine == EngineName::Valkey;
    let mut diff = Diff::new(id)
        .attribute(
            "description",
            Value::from(&found.description),
            Value::from(&desired.description),
        )
        .attribute(
            "node_type",
            Value::from(&found.node_type),
            Value::from(&desired.node_type),
        );
    diff = if engine_in_place {
        diff.attribute(
            "engine",
            Value::from(&found.engine),
            Value::from(desired.engine.as_str()),
        )
    } else {
        diff.replacing(
            "engine",
            Value::from(&found.engine),
            Value::from(desired.engine.as_str()),
        )
    };
    let mode_text = |on: bool| Value::from(if on { "enabled" } else { "disabled" });
    diff = diff
        .replacing(
            "cluster_mode",
            mode_text(found.cluster_mode),
            mode_text(desired.cluster_mode),
        )
        .attribute(
            "shards",
            Value::from(found.replicas.len() as i64),
            Value::from(i64::from(desired.shards)),
        )
        .attribute(
            "replicas_per_shard",
            shown_replicas(&found.replicas),
            Value::from(i64::from(desired.replicas_per_shard)),
        )
        .attribute(
            "automatic_failover",
            Value::from(found.automatic_failover),
            Value::from(desired.automatic_failover),
        )
        .attribute(
            "multi_az",
            Value::from(found.multi_az),
            Value::from(desired.multi_az),
        )
        .replacing(
            "at_rest_encryption",
            Value::from(found.at_rest),
            Value::from(desired.at_rest.is_some()),
        );
    if let (true, Some(key)) = (found.at_rest, &desired.at_rest) {
        diff = diff.replacing(
            "kms_key",
            Value::from(found.kms_key.clone()),
            key.to_plan_value(),
        );
    }
    let found_transit = match (found.in_transit, found.transit_mode.as_deref()) {
        (false, _) => None,
        (true, Some("preferred")) => Some(TransitMode::Preferred),
        (true, _) => Some(TransitMode::Required),
    };
    let member = found.member.as_ref();
    let version_move = member.map(|m| version_move(&m.engine_version, desired.engine_version));
    let version_now = member.and_then(|m| m.engine_version.parse::<EngineVersion>().ok());
    let online_tls = version_now
        .unwrap_or(desired.engine_version)
        .at_least(ONLINE_TLS_CHANGE);
    let transit_before = Value::from(transit_text(found_transit));
    let transit_after = Value::from(transit_text(desired.transit));
    diff = if online_tls {
        diff.attribute("transit_encryption", transit_before, transit_after)
    } else {
        diff.replacing("transit_encryption", transit_before, transit_after)
    };
    let auth_after = Value::from(auth_text(&desired.auth));
    let auth_before = Value::from(observed_auth_text(found, &desired.auth));
    // A token can only be dropped by moving to RBAC.
    diff = if found.auth_token && desired.auth == GroupAuth::None {
        diff.replacing("auth", auth_before, auth_after)
    } else {
        diff.attribute("auth", auth_before, auth_after)
    };
    diff = diff
        .attribute(
            "log_delivery",
            log_value(&found.log_delivery),
            log_value(&desired.log_delivery),
        )
        .attribute(
            "snapshot_window",
            Value::from(&found.snapshot_window),
            Value::from(&desired.snapshot_window),
        )
        .attribute(
            "snapshot_retention_days",
            Value::from(i64::from(found.snapshot_retention)),
            Value::from(i64::from(desired.snapshot_retention)),
        )
        .replacing(
            "data_tiering",
            Value::from(found.data_tiering),
            Value::from(desired.data_tiering),
        );
    if let Some(member) = member {
        diff = member_attributes(diff, desired, member, version_move);
    }
    let tags = merged(&found.tags, &desired.tags);
    diff = diff.attribute("tags", tags_value(&found.tags), tags_value(&tags));
    let change = diff.finish();

    // Refused by the stack unless the user allows it.
    if change.action == plan::Action::Replace {
        let replace = Op::ReplaceGroup {
            group: Box::new(desired.clone()),
            snapshot_prefix: snapshot_prefix.to_owned(),
        };
        return (change, vec![replace], warnings);
    }
    let mut ops = update_ops(desired, found, found_transit, version_move, &mut warnings);
    if tags != found.tags {
        ops.push(Op::TagGroup {
            arn: found.arn.clone(),
            tags: desired.tags.clone(),
        });
    }
    if !desired.apply_immediately && ops.iter().any(|op| matches!(op, Op::ModifyGroup(_))) {
        warnings.push(format!(
            "replication group {}: apply_immediately is false, so changes wait for the maintenance window ({}) and show in plans until then",
            desired.id, desired.maintenance_window
        ));
    }
    (change, ops, warnings)
}

fn member_attributes(
    diff: Diff,
    desired: &ReplicationGroup,
    member: &crate::Member,
    version_move: Option<VersionMove>,
) -> Diff {
    let version_before = Value::from(&member.engine_version);
    let version_after = if version_move == Some(VersionMove::Equal) {
        version_before.clone()
    } else {
        Value::from(desired.engine_version.to_string())
    };
    let diff = if version_move == Some(VersionMove::Downgrade) {
        diff.replacing("engine_version", version_before, version_after)
    } else {
        diff.attribute("engine_version", version_before, version_after)
    };
    let diff = match member.port {
        Some(port) => diff.replacing(
            "port",
            Value::from(i64::from(port)),
            Value::from(i64::from(desired.port)),
        ),
        None => diff,
    };
    diff.attribute(
        "parameter_group",
        Value::from(&member.parameter_group),
        Value::from(&desired.parameter_group),
    )
    .replacing(
        "subnet_group",
        Value::from(&member.subnet_group),
        Value::from(&desired.subnet_group),
    )
    .attribute(
        "security_group_ids",
        Value::set(member.security_group_ids.iter().cloned()),
        match &desired.security_group_ids {
            Known::Value(ids) => Value::set(ids.iter().cloned()),
            Known::AfterApply => Value::Unknown,
        },
    )
    .attribute(
        "maintenance_window",
        Value::from(&member.maintenance_window),
        Value::from(&desired.maintenance_window),
    )
    .attribute(
        "auto_minor_version_upgrade",
        Value::from(member.auto_minor_version_upgrade),
        Value::from(desired.auto_minor_version_upgrade),
    )
}

fn creation_attributes(desired: &ReplicationGroup) -> Vec<(&'static str, Value)> {
    vec![
        ("engine", Value::from(desired.engine.as_str())),
        (
            "engine_version",
            Value::from(desired.engine_version.to_string()),
        ),
        ("node_type", Value::from(&desired.node_type)),
        (
            "cluster_mode",
            Value::from(if desired.cluster_mode {
                "enabled"
            } else {
                "disabled"
            }),
        ),
        ("shards", Value::from(i64::from(desired.shards))),
        (
            "replicas_per_shard",
            Value::from(i64::from(desired.replicas_per_shard)),
        ),
        ("multi_az", Value::from(desired.multi_az)),
        (
            "automatic_failover",
            Value::from(desired.automatic_failover),
        ),
        ("port", Value::from(i64::from(desired.port))),
        ("parameter_group", Value::from(&desired.parameter_group)),
        ("subnet_group", Value::from(&desired.subnet_group)),
        (
            "security_group_ids",
            match &desired.security_group_ids {
                Known::Value(ids) => Value::set(ids.iter().cloned()),
                Known::AfterApply => Value::Unknown,
            },
        ),
        ("at_rest_encryption", Value::from(desired.at_rest.is_some())),
        (
            "kms_key",
            desired
                .at_rest
                .as_ref()
                .map_or(Value::from("none"), Known::to_plan_value),
        ),
        (
            "transit_encryption",
            Value::from(transit_text(desired.transit)),
        ),
        ("auth", Value::from(auth_text(&desired.auth))),
        (
            "auth_token",
            if matches!(desired.auth, GroupAuth::Token { .. }) {
                Value::Sensitive
            } else {
                Value::from("none")
            },
        ),
        ("log_delivery", log_value(&desired.log_delivery)),
        ("snapshot_window", Value::from(&desired.snapshot_window)),
        (
            "snapshot_retention_days",
            Value::from(i64::from(desired.snapshot_retention)),
        ),
        (
            "maintenance_window",
            Value::from(&desired.maintenance_window),
        ),
        (
            "auto_minor_version_upgrade",
            Value::from(desired.auto_minor_version_upgrade),
        ),
        ("data_tiering", Value::from(desired.data_tiering)),
        ("tags", tags_value(&desired.tags)),
        ("primary_endpoint", Value::Unknown),
    ]
}

/// The in-place operations, ordered so every intermediate state is one AWS accepts:
/// more nodes before failover is turned on, failover off before nodes are removed.
fn update_ops(
    desired: &ReplicationGroup,
    found: &ObservedGroup,
    found_transit: Option<TransitMode>,
    version_move: Option<VersionMove>,
    warnings: &mut Vec<String>,
) -> Vec<Op> {
    let mut grow = Vec::new();
    let mut shrink = Vec::new();
    let shards_now = found.replicas.len();
    let shards_wanted = usize::from(desired.shards);
    if desired.cluster_mode && shards_now != shards_wanted {
        let op = Op::SetShards {
            id: desired.id.clone(),
            count: desired.shards,
            remove: found
                .node_group_ids
                .iter()
                .skip(shards_wanted)
                .cloned()
                .collect(),
        };
        if shards_wanted > shards_now {
            grow.push(op);
        } else {
            shrink.push(op);
        }
    }
    let wanted = desired.replicas_per_shard;
    if found.replicas.iter().any(|r| *r < wanted) {
        grow.push(Op::SetReplicas {
            id: desired.id.clone(),
            count: wanted,
            increase: true,
        });
    }
    if found.replicas.iter().any(|r| *r > wanted) {
        shrink.push(Op::SetReplicas {
            id: desired.id.clone(),
            count: wanted,
            increase: false,
        });
    }
    let modification = modification(desired, found, found_transit, version_move, warnings);
    let mut ops = grow;
    if !modification.is_empty() {
        ops.push(Op::ModifyGroup(Box::new(modification)));
    }
    ops.extend(shrink);
    ops
}

fn changed<T: PartialEq + Clone>(found: &T, wanted: &T) -> Option<T> {
    (found != wanted).then(|| wanted.clone())
}

fn modification(
    desired: &ReplicationGroup,
    found: &ObservedGroup,
    found_transit: Option<TransitMode>,
    version_move: Option<VersionMove>,
    warnings: &mut Vec<String>,
) -> Modification {
    let mut m = Modification {
        id: desired.id.clone(),
        apply_immediately: desired.apply_immediately,
        description: changed(&found.description, &desired.description),
        node_type: changed(&found.node_type, &desired.node_type),
        engine: changed(&found.engine, &desired.engine.as_str().to_owned()),
        multi_az: changed(&found.multi_az, &desired.multi_az),
        automatic_failover: changed(&found.automatic_failover, &desired.automatic_failover),
        snapshot_window: changed(&found.snapshot_window, &desired.snapshot_window),
        snapshot_retention: changed(&found.snapshot_retention, &desired.snapshot_retention),
        transit: transit_step(found_transit, desired.transit, &desired.id, warnings),
        auth: auth_change(found, &desired.auth),
        log_delivery: log_changes(&found.log_delivery, &desired.log_delivery),
        ..Modification::default()
    };
    if m.engine.is_some() || version_move == Some(VersionMove::Upgrade) {
        m.engine_version = Some(desired.engine_version.to_string());
    }
    if let Some(member) = &found.member {
        m.parameter_group = changed(&member.parameter_group, &desired.parameter_group);
        m.maintenance_window = changed(&member.maintenance_window, &desired.maintenance_window);
        m.auto_minor_version_upgrade = changed(
            &member.auto_minor_version_upgrade,
            &desired.auto_minor_version_upgrade,
        );
        let mut current = member.security_group_ids.clone();
        current.sort();
        m.security_group_ids = match &desired.security_group_ids {
            Known::Value(ids) => {
                let mut ids = ids.clone();
                ids.sort();
                (ids != current).then_some(Known::Value(ids))
            }
            Known::AfterApply => Some(Known::AfterApply),
        };
    }
    m
}

/// The next of at most two steps toward the wanted TLS setting.
fn transit_step(
    found: Option<TransitMode>,
    wanted: Option<TransitMode>,
    group: &str,
    warnings: &mut Vec<String>,
) -> Option<TransitStep> {
    let mut second_step = || {
        warnings.push(format!(
            "replication group {group}: transit encryption changes in two steps through `preferred`; run apply again once this one finishes"
        ));
    };
    match (found, wanted) {
        (None, None) => None,
        (a, b) if a == b => None,
        (None, Some(TransitMode::Required)) => {
            second_step();
            Some(TransitStep {
                enabled: true,
                mode: Some("preferred"),
            })
        }
        (None, Some(TransitMode::Preferred)) => Some(TransitStep {
            enabled: true,
            mode: Some("preferred"),
        }),
        (Some(TransitMode::Required), None) => {
            second_step();
            Some(TransitStep {
                enabled: true,
                mode: Some("preferred"),
            })
        }
        (Some(TransitMode::Preferred), None) => Some(TransitStep {
            enabled: false,
            mode: None,
        }),
        (Some(_), Some(mode)) => Some(TransitStep {
            enabled: true,
            mode: Some(mode.as_str()),
        }),
    }
}

fn auth_change(found: &ObservedGroup, wanted: &GroupAuth) -> Option<AuthChange> {
    let attached = found.user_group_ids.clone();
    match wanted {
        GroupAuth::None if !attached.is_empty() => {
            Some(AuthChange::RemoveUserGroups { ids: attached })
        }
        GroupAuth::None => None,
        GroupAuth::Token { .. } if found.auth_token && attached.is_empty() => None,
        GroupAuth::Token { secret } => Some(AuthChange::Token {
            secret: secret.clone(),
            remove_user_groups: attached,
        }),
        GroupAuth::UserGroup { id } if attached == [id.clone()] => None,
        GroupAuth::UserGroup { id } => Some(AuthChange::UserGroup {
            id: id.clone(),
            delete_token: found.auth_token,
            remove_user_groups: attached.into_iter().filter(|g| g != id).collect(),
        }),
    }
}

fn log_changes(
    found: &[LogDelivery],
    wanted: &[LogDelivery],
) -> Vec<(String, Option<LogDelivery>)> {
    let mut changes = Vec::new();
    for delivery in wanted {
        if !found.contains(delivery) {
            changes.push((delivery.log_type.clone(), Some(delivery.clone())));
        }
    }
    for delivery in found {
        if !wanted.iter().any(|w| w.log_type == delivery.log_type) {
            changes.push((delivery.log_type.clone(), None));
        }
    }
    changes
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
    if let Some(found) = &observed.user_group {
        let id = desired.user_group_id.clone();
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::USER_GROUP, &id),
            vec![("user_ids", Value::set(found.user_ids.iter().cloned()))],
        ));
        plan.ops.push(Op::DeleteUserGroup { id });
    }
    for (id, user) in observed.users.iter().filter(|(_, u)| u.ours) {
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::USER, id),
            vec![("user_name", Value::from(&user.name))],
        ));
        plan.ops.push(Op::DeleteUser { id: id.clone() });
    }
    for (name, found) in &observed.parameter_groups {
        plan.changes.push(Change::delete(
            ResourceId::new(kinds::PARAMETER_GROUP, name),
            vec![("family", Value::from(&found.family))],
        ));
        plan.ops
            .push(Op::DeleteParameterGroup { name: name.clone() });
    }
    plan
}
