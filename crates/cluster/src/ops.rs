//! The vocabulary of step 8's writes: what apply does, in the order the diff chose.

use std::collections::BTreeMap;

use plan::Known;

use crate::Tags;
use crate::model::{GroupAuth, LogDelivery, ParameterGroup, ReplicationGroup, User, UserGroup};

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
    pub(crate) fn is_empty(&self) -> bool {
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

impl Op {
    /// The secret whose value this operation sends (a new user's password, a group's
    /// AUTH token), read at apply time: the one answer to what apply must read.
    pub(crate) fn secret(&self) -> Option<&str> {
        match self {
            Op::CreateUser(user) => match &user.authentication {
                crate::Authentication::Password { secret } => Some(secret),
                _ => None,
            },
            Op::CreateGroup { group } | Op::ReplaceGroup { group, .. } => match &group.auth {
                GroupAuth::Token { secret } => Some(secret),
                _ => None,
            },
            Op::ModifyGroup(modification) => match &modification.auth {
                Some(AuthChange::Token { secret, .. }) => Some(secret),
                _ => None,
            },
            _ => None,
        }
    }
}
