//! What a rotation acts on, what it finds, and the rules it keeps.

use std::time::{Duration, SystemTime};

use plan::tags::Tags;

/// Secrets Manager's stage for the value applications use.
pub const CURRENT: &str = "AWSCURRENT";
/// The stage of a value being rotated in.
pub const PENDING: &str = "AWSPENDING";
/// The stage Secrets Manager moves to the value AWSCURRENT leaves.
pub const PREVIOUS: &str = "AWSPREVIOUS";

pub use secrets::{REPLACED_TAG, REVOKED_TAG, ROTATED_TAG, rotated_tag};

/// One credential to rotate: its secret and what it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The stack the secret must be tagged for (`elasticache-action:stack`).
    pub stack: String,
    /// The secret's name or ARN.
    pub secret: String,
    /// The replication group the credential opens.
    pub replication_group_id: String,
    /// The AUTH token, or a user's password.
    pub kind: Kind,
}

/// What kind of credential a secret holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The group's AUTH token (`ModifyReplicationGroup` with `ROTATE`, later `SET`).
    AuthToken,
    /// An RBAC user's password (`ModifyUser` with the new and the current password).
    UserPassword {
        /// The user's id.
        user_id: String,
        /// The name it logs in with.
        user_name: String,
    },
}

impl Target {
    /// How people name it: `the AUTH token of group demo` or `user app's password`.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::AuthToken => format!("the AUTH token of {}", self.replication_group_id),
            Kind::UserPassword { user_name, .. } => format!("user {user_name}'s password"),
        }
    }
}

/// What happens to the credential a rotation replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Previous {
    /// It stays valid until the next rotation replaces it (ElastiCache keeps two).
    #[default]
    Keep,
    /// It is revoked once it has been the previous one this long.
    RevokeAfter(Duration),
}

/// One version of the secret (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Its id: the `ClientRequestToken` that made it.
    pub id: String,
    /// Its staging labels.
    pub stages: Vec<String>,
    /// When Secrets Manager made it.
    pub created: SystemTime,
}

impl Version {
    /// Whether it carries `stage`.
    pub fn is(&self, stage: &str) -> bool {
        self.stages.iter().any(|s| s == stage)
    }
}

/// The secret as Secrets Manager describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretState {
    /// Its ARN.
    pub arn: String,
    /// Its tags.
    pub tags: Tags,
    /// Its versions that carry a stage.
    pub versions: Vec<Version>,
}

impl SecretState {
    /// The version applications read.
    pub fn current(&self) -> Option<&Version> {
        self.versions.iter().find(|v| v.is(CURRENT))
    }

    /// A version being rotated in: AWSPENDING on a version that is not AWSCURRENT.
    pub fn pending(&self) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.is(PENDING) && !v.is(CURRENT))
    }

    /// The version AWSCURRENT left last.
    pub fn previous(&self) -> Option<&Version> {
        self.versions.iter().find(|v| v.is(PREVIOUS))
    }

    /// Which version became current when, as the last rotation recorded it: the start
    /// of a grace period.
    pub fn rotated(&self) -> Option<(&str, SystemTime)> {
        secrets::rotated_at(&self.tags)
    }

    /// The version the last rotation replaced (the previous credential).
    pub fn replaced(&self) -> Option<&str> {
        self.tags.get(REPLACED_TAG).map(String::as_str)
    }

    /// The current version whose predecessor was revoked.
    pub fn revoked(&self) -> Option<&str> {
        self.tags.get(REVOKED_TAG).map(String::as_str)
    }
}

/// The replication group as ElastiCache describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    /// `available`, `modifying`, …
    pub status: String,
    /// `PendingModifiedValues.AuthTokenStatus`: `ROTATING` or `SETTING` while a token
    /// change is applied.
    pub auth_token_status: Option<String>,
    /// Whether any other modification is pending.
    pub other_pending: bool,
    /// When the group's AUTH tokens last changed.
    pub token_last_modified: Option<SystemTime>,
    /// Where a connection test reaches it (`None` while it has no endpoint).
    pub endpoint: Option<connect::Endpoint>,
}

/// An RBAC user as ElastiCache describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserState {
    /// `active`, `modifying`, …
    pub status: String,
}

/// Everything a decision needs: the secret, the group and (for a password) the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The secret.
    pub secret: SecretState,
    /// The replication group.
    pub group: GroupState,
    /// The user, for a password.
    pub user: Option<UserState>,
}

impl Observed {
    /// Why nothing may be modified now (ElastiCache refuses while a change is applied),
    /// or `None` when the group is available with nothing pending and the user active.
    pub fn busy(&self, target: &Target) -> Option<String> {
        let group = &self.group;
        let id = &target.replication_group_id;
        if group.status != "available" {
            return Some(format!("replication group {id} is {}", group.status));
        }
        if let Some(status) = &group.auth_token_status {
            return Some(format!(
                "replication group {id} is applying an AUTH token change ({status})"
            ));
        }
        if group.other_pending {
            return Some(format!("replication group {id} has a modification pending"));
        }
        match (&self.user, &target.kind) {
            (Some(user), Kind::UserPassword { user_name, .. }) if user.status != "active" => {
                Some(format!("user {user_name} is {}", user.status))
            }
            _ => None,
        }
    }
}
