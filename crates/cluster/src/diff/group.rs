//! The replication group: what changes in place, in which order, and what forces a
//! replacement.

use plan::tags::{missing, tags_value};
use plan::{Change, Diff, Known, ResourceId, Value};
use spec::{EngineName, EngineVersion, TransitMode};

use super::kinds;
use crate::model::{GroupAuth, LogDelivery, ObservedGroup, ReplicationGroup};
use crate::ops::*;

/// Transit encryption turns on (or off) without downtime in two modifications, through
/// `preferred`; older engines can only be replaced.
const ONLINE_TLS_CHANGE: EngineVersion = EngineVersion::new(7, 0, 5);

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
    diff = diff.tags(&found.tags, &desired.tags);
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
    if !missing(&found.tags, &desired.tags).is_empty() {
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
        desired.security_group_ids.to_plan_set(),
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
    let mut attributes = vec![
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
            desired.security_group_ids.to_plan_set(),
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
    ];
    if let Some(snapshot) = &desired.restore_from {
        attributes.push(("restore_from", Value::from(snapshot)));
    }
    attributes
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
