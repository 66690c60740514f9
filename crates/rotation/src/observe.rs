//! Reading what a decision needs: the secret's versions and tags, the group, the user.
//! Reads only, all at once.

use std::time::SystemTime;

use aws_error::{AwsError, aws_error};
use aws_sdk_elasticache::types::ReplicationGroup;
use aws_smithy_types::DateTime;

use crate::apply::Which;
use crate::model::{CURRENT, GroupState, Kind, Observed, SecretState, Target, UserState, Version};
use crate::{Rotation, RotationError};

impl Rotation {
    /// The credential `secret` holds, as a target: refused unless the secret carries
    /// `stack`'s tag; the group and the user come from its current JSON document (the
    /// user's id from its `user_arn`, as AWS's RBAC rotation template finds it).
    pub async fn target_of(&self, secret: &str, stack: &str) -> Result<Target, RotationError> {
        let described = self
            .secrets
            .describe_secret()
            .secret_id(secret)
            .send()
            .await
            .map_err(aws_error("DescribeSecret"))
            .map_err(|e| no_secret(e, secret))?;
        let tags = plan::tags::from_pairs(described.tags().iter().map(|t| (t.key(), t.value())));
        check_tag(&tags, secret, stack)?;
        let value = self.value(secret, Which::Stage(CURRENT)).await?;
        let group = value
            .replication_group_id()
            .ok_or_else(|| RotationError::Unreadable {
                secret: secret.to_owned(),
                version: CURRENT.to_owned(),
            })?;
        let kind = match value.username() {
            None => Kind::AuthToken,
            Some(user_name) => Kind::UserPassword {
                user_id: (value.user_arn().as_deref())
                    .and_then(user_id_of)
                    .map(str::to_owned)
                    .ok_or_else(|| RotationError::NoUserArn(secret.to_owned()))?,
                user_name,
            },
        };
        Ok(Target {
            stack: stack.to_owned(),
            secret: secret.to_owned(),
            replication_group_id: group,
            kind,
        })
    }

    /// The secret, its group and (for a password) its user, read at once. Refuses a
    /// secret that is not tagged for the target's stack or is scheduled for deletion.
    pub async fn observe(&self, target: &Target) -> Result<Observed, RotationError> {
        let (versions, described, group, user) = futures::join!(
            self.versions(&target.secret),
            self.secrets
                .describe_secret()
                .secret_id(&target.secret)
                .send(),
            self.group(&target.replication_group_id),
            self.user(target),
        );
        let described = described
            .map_err(aws_error("DescribeSecret"))
            .map_err(|e| no_secret(e, &target.secret))?;
        let tags = plan::tags::from_pairs(described.tags().iter().map(|t| (t.key(), t.value())));
        check_tag(&tags, &target.secret, &target.stack)?;
        if described.deleted_date().is_some() {
            return Err(RotationError::SecretDeleted(target.secret.clone()));
        }
        Ok(Observed {
            secret: SecretState {
                arn: described.arn().unwrap_or_default().to_owned(),
                tags,
                versions: versions?,
            },
            group: group?,
            user: user?,
        })
    }

    /// The versions that carry a stage, with when each was made.
    async fn versions(&self, secret: &str) -> Result<Vec<Version>, AwsError> {
        let pages = self
            .secrets
            .list_secret_version_ids()
            .secret_id(secret)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut versions = Vec::new();
        for page in pages {
            let page = page.map_err(aws_error("ListSecretVersionIds"))?;
            versions.extend(page.versions().iter().filter_map(|v| {
                Some(Version {
                    id: v.version_id()?.to_owned(),
                    stages: v.version_stages().to_vec(),
                    created: v.created_date().map_or(SystemTime::UNIX_EPOCH, system_time),
                })
            }));
        }
        versions.retain(|v| !v.stages.is_empty());
        Ok(versions)
    }

    async fn group(&self, id: &str) -> Result<GroupState, RotationError> {
        let described = self
            .elasticache
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await;
        let found = aws_error::absent_if(described, "DescribeReplicationGroups", |e| {
            e.is_replication_group_not_found_fault()
        })?;
        let group = found
            .and_then(|out| out.replication_groups().first().cloned())
            .ok_or_else(|| RotationError::NoGroup(id.to_owned()))?;
        Ok(group_state(&group))
    }

    async fn user(&self, target: &Target) -> Result<Option<UserState>, RotationError> {
        let Kind::UserPassword { user_id, .. } = &target.kind else {
            return Ok(None);
        };
        let described = self
            .elasticache
            .describe_users()
            .user_id(user_id)
            .send()
            .await;
        let found =
            aws_error::absent_if(described, "DescribeUsers", |e| e.is_user_not_found_fault())?;
        let user = found
            .and_then(|out| out.users().first().cloned())
            .ok_or_else(|| RotationError::NoUser(user_id.clone()))?;
        Ok(Some(UserState {
            status: user.status().unwrap_or_default().to_owned(),
        }))
    }
}

/// The user id in a user's ARN (`arn:aws:elasticache:<region>:<account>:user:<id>`).
pub fn user_id_of(arn: &str) -> Option<&str> {
    arn.rsplit_once(":user:")
        .map(|(_, id)| id)
        .filter(|id| !id.is_empty())
}

/// A secret that does not exist is the stack's not being applied, said so.
fn no_secret(error: AwsError, secret: &str) -> RotationError {
    match error.is("ResourceNotFoundException") {
        true => RotationError::NoSecret(secret.to_owned()),
        false => error.into(),
    }
}

/// Refuses a secret that is not tagged for `stack`.
fn check_tag(tags: &plan::tags::Tags, secret: &str, stack: &str) -> Result<(), RotationError> {
    let tagged = tags.get(spec::STACK_TAG).map(String::as_str);
    if tagged == Some(stack) {
        return Ok(());
    }
    Err(RotationError::NotOurs {
        secret: secret.to_owned(),
        stack: stack.to_owned(),
        tagged: tagged.map(str::to_owned),
    })
}

fn group_state(group: &ReplicationGroup) -> GroupState {
    let pending = group.pending_modified_values();
    let auth_token_status = pending
        .and_then(|p| p.auth_token_status())
        .map(|s| s.as_str().to_owned());
    let other_pending = pending.is_some_and(|p| {
        p.primary_cluster_id().is_some()
            || p.automatic_failover_status().is_some()
            || p.resharding().is_some()
            || p.user_groups().is_some()
            || !p.log_delivery_configurations().is_empty()
            || p.transit_encryption_enabled().is_some()
            || p.transit_encryption_mode().is_some()
            || p.cluster_mode().is_some()
    });
    GroupState {
        status: group.status().unwrap_or_default().to_owned(),
        auth_token_status,
        other_pending,
        token_last_modified: group.auth_token_last_modified_date().map(system_time),
        endpoint: endpoint(group),
    }
}

/// Where a client connects: the configuration endpoint in cluster mode, else the
/// primary.
fn endpoint(group: &ReplicationGroup) -> Option<connect::Endpoint> {
    let found = group.configuration_endpoint().or_else(|| {
        group
            .node_groups()
            .first()
            .and_then(|node_group| node_group.primary_endpoint())
    })?;
    Some(connect::Endpoint {
        host: found.address()?.to_owned(),
        port: u16::try_from(found.port()?).ok()?,
        tls: group.transit_encryption_enabled().unwrap_or(false),
        cluster_mode: group.configuration_endpoint().is_some(),
    })
}

fn system_time(at: &DateTime) -> SystemTime {
    SystemTime::try_from(*at).unwrap_or(SystemTime::UNIX_EPOCH)
}
