//! Performing a plan's ElastiCache operations, in order, waiting where one must finish
//! before the next.

use std::collections::BTreeMap;

use aws_error::{already_done, aws_error};
use aws_sdk_elasticache::types::{
    AuthTokenUpdateStrategyType, AuthenticationMode, ClusterMode, InputAuthenticationType,
    ParameterNameValue, ReplicationGroup as SdkGroup, TransitEncryptionMode,
};
use plan::Known;

use crate::diff::{ClusterOutputs, ClusterPlan};
use crate::ops::{AuthChange, Modification, Op};
use crate::wait::{self, Poll, Progress, WaitOptions};
use crate::{
    Authentication, Cluster, ClusterError, Credentials, ParameterGroup, ReplicationGroup, User,
    UserGroup,
};

/// ElastiCache takes at most 20 parameters per `ModifyCacheParameterGroup`.
const PARAMETERS_PER_CALL: usize = 20;

type Report<'a> = &'a (dyn Fn(Progress) + Sync);
use crate::convert::*;

impl Cluster {
    /// Performs the plan: each operation in order, waiting where the next one needs
    /// ElastiCache to have finished, and after the last one unless `options.wait` is
    /// off. Returns the group's outputs as ElastiCache reports them afterwards.
    pub async fn apply(
        &self,
        plan: &ClusterPlan,
        credentials: &Credentials,
        options: &WaitOptions,
        on_progress: Report<'_>,
    ) -> Result<ClusterOutputs, ClusterError> {
        let last_group_op = plan.ops.iter().rposition(|op| changed_group(op).is_some());
        for (index, op) in plan.ops.iter().enumerate() {
            tracing::debug!(?op, "elasticache operation");
            let group = changed_group(op);
            // A new group has nothing to settle; a replacement waits in its own way.
            if let (Some(id), false) = (
                group,
                matches!(op, Op::CreateGroup { .. } | Op::ReplaceGroup { .. }),
            ) {
                self.settle(id, options, on_progress).await?;
            }
            self.perform(op, credentials, options, on_progress).await?;
            // Clean-up needs the group to have let go of what it deletes.
            let more_follow = last_group_op.is_some_and(|last| index < last)
                || plan.ops[index + 1..].iter().any(|next| {
                    matches!(
                        next,
                        Op::DeleteUser { .. }
                            | Op::DeleteUserGroup { .. }
                            | Op::DeleteParameterGroup { .. }
                    )
                });
            if let Some(id) = group.filter(|_| options.wait || more_follow) {
                self.wait_for_group(id, Until::Available, options, on_progress)
                    .await?;
            }
        }
        let mut outputs = plan.outputs.clone();
        // Unchanged, the observation the plan came from already has the endpoints.
        if last_group_op.is_none() {
            return Ok(outputs);
        }
        if let Some(group) = self
            .describe_sdk_group(&outputs.replication_group_id)
            .await?
        {
            outputs.arn = Known::Value(group.arn().unwrap_or_default().to_owned());
            let endpoints = endpoints_of(&group);
            outputs.port = endpoints.port_or(outputs.port);
            outputs.endpoints = Known::Value(endpoints);
        }
        Ok(outputs)
    }

    /// Performs a destroy plan: the replication group goes first (with its final
    /// snapshot), and what depended on it only once it is gone.
    pub async fn destroy(
        &self,
        plan: &ClusterPlan,
        options: &WaitOptions,
        on_progress: Report<'_>,
    ) -> Result<(), ClusterError> {
        for op in &plan.ops {
            self.perform(op, &Credentials::new(), options, on_progress)
                .await?;
        }
        Ok(())
    }

    /// Waits until the group can take a change, or says it is busy under `--no-wait`.
    async fn settle(
        &self,
        id: &str,
        options: &WaitOptions,
        on_progress: Report<'_>,
    ) -> Result<(), ClusterError> {
        match Until::Available.judge(self.describe_sdk_group(id).await?.as_ref()) {
            Poll::Ready => Ok(()),
            Poll::Pending(status) if !options.wait => Err(ClusterError::Busy {
                resource: format!("replication group {id}"),
                status,
            }),
            _ => {
                self.wait_for_group(id, Until::Available, options, on_progress)
                    .await
            }
        }
    }

    /// Polls the group until it is as `until` says (or never will be).
    async fn wait_for_group(
        &self,
        id: &str,
        until: Until,
        options: &WaitOptions,
        on_progress: Report<'_>,
    ) -> Result<(), ClusterError> {
        let resource = match until {
            Until::Gone => format!("deletion of replication group {id}"),
            Until::Available | Until::Idle => format!("replication group {id}"),
        };
        wait::until(&resource, options, on_progress, || async {
            Ok(until.judge(self.describe_sdk_group(id).await?.as_ref()))
        })
        .await
    }

    /// Polls a user or user group until it is as `until` says.
    async fn wait_for_access(
        &self,
        what: Access,
        id: &str,
        until: Presence,
        options: &WaitOptions,
        on_progress: Report<'_>,
    ) -> Result<(), ClusterError> {
        wait::until(
            &until.describe(what.noun(), id),
            options,
            on_progress,
            || async {
                let status = match what {
                    Access::User => self.user_status(id).await?,
                    Access::UserGroup => self.describe_user_group(id).await?.map(|g| g.status),
                };
                Ok(until.judge(status))
            },
        )
        .await
    }

    async fn perform(
        &self,
        op: &Op,
        credentials: &Credentials,
        options: &WaitOptions,
        on_progress: Report<'_>,
    ) -> Result<(), ClusterError> {
        match op {
            Op::CreateParameterGroup(group) => self.create_parameter_group(group).await,
            Op::SetParameters { group, parameters } => self.set_parameters(group, parameters).await,
            Op::ResetParameters { group, names } => self.reset_parameters(group, names).await,
            Op::DeleteParameterGroup { name } => {
                self.client
                    .delete_cache_parameter_group()
                    .cache_parameter_group_name(name)
                    .send()
                    .await
                    .map_err(aws_error("DeleteCacheParameterGroup"))?;
                Ok(())
            }
            Op::CreateUser(user) => self.create_user(user, credentials).await,
            Op::ModifyUser { id, access } => {
                self.client
                    .modify_user()
                    .user_id(id)
                    .access_string(access)
                    .send()
                    .await
                    .map_err(aws_error("ModifyUser"))?;
                // A user that is `modifying` takes no other change, and a plan made now
                // would still see the old access string.
                self.wait_for_access(Access::User, id, Presence::Active, options, on_progress)
                    .await
            }
            Op::DeleteUser { id } => {
                self.client
                    .delete_user()
                    .user_id(id)
                    .send()
                    .await
                    .map_err(aws_error("DeleteUser"))?;
                if options.wait {
                    self.wait_for_access(Access::User, id, Presence::Gone, options, on_progress)
                        .await?;
                }
                Ok(())
            }
            Op::CreateUserGroup(group) => {
                self.create_user_group(group).await?;
                self.wait_for_access(
                    Access::UserGroup,
                    &group.id,
                    Presence::Active,
                    options,
                    on_progress,
                )
                .await
            }
            Op::ModifyUserGroup { id, add, remove } => {
                self.client
                    .modify_user_group()
                    .user_group_id(id)
                    .set_user_ids_to_add(non_empty(add))
                    .set_user_ids_to_remove(non_empty(remove))
                    .send()
                    .await
                    .map_err(aws_error("ModifyUserGroup"))?;
                self.wait_for_access(
                    Access::UserGroup,
                    id,
                    Presence::Active,
                    options,
                    on_progress,
                )
                .await
            }
            Op::DeleteUserGroup { id } => {
                self.client
                    .delete_user_group()
                    .user_group_id(id)
                    .send()
                    .await
                    .map_err(aws_error("DeleteUserGroup"))?;
                // Until it is gone it still lists its users.
                if options.wait {
                    self.wait_for_access(
                        Access::UserGroup,
                        id,
                        Presence::Gone,
                        options,
                        on_progress,
                    )
                    .await?;
                }
                Ok(())
            }
            Op::CreateGroup { group } => {
                let from = group.restore_from.as_deref();
                self.create_group(group, from, credentials).await
            }
            Op::ReplaceGroup {
                group,
                snapshot_prefix,
            } => {
                let snapshot = snapshot_name(snapshot_prefix);
                self.delete_group(&group.id, Some(&snapshot), options, on_progress)
                    .await?;
                self.create_group(group, Some(&snapshot), credentials).await
            }
            Op::ModifyGroup(modification) => self.modify_group(modification, credentials).await,
            Op::SetReplicas {
                id,
                count,
                increase,
            } => self.set_replicas(id, *count, *increase).await,
            Op::SetShards { id, count, remove } => {
                self.client
                    .modify_replication_group_shard_configuration()
                    .replication_group_id(id)
                    .node_group_count(i32::from(*count))
                    .apply_immediately(true)
                    .set_node_groups_to_remove(non_empty(remove))
                    .send()
                    .await
                    .map_err(aws_error("ModifyReplicationGroupShardConfiguration"))?;
                Ok(())
            }
            Op::TagGroup { arn, tags } => {
                self.client
                    .add_tags_to_resource()
                    .resource_name(arn)
                    .set_tags(Some(sdk_tags(tags)))
                    .send()
                    .await
                    .map_err(aws_error("AddTagsToResource"))?;
                Ok(())
            }
            Op::AwaitDeletion { id } => {
                self.wait_for_group(id, Until::Gone, options, on_progress)
                    .await
            }
            Op::DeleteGroup {
                id,
                snapshot_prefix,
            } => {
                let snapshot = snapshot_prefix.as_deref().map(snapshot_name);
                self.delete_group(id, snapshot.as_deref(), options, on_progress)
                    .await
            }
        }
    }

    /// Deletes the group (once ElastiCache lets it), with a final snapshot if named,
    /// and waits until it is gone: everything after (a new group with the same id, the
    /// subnet group, users) needs that.
    async fn delete_group(
        &self,
        id: &str,
        final_snapshot: Option<&str>,
        options: &WaitOptions,
        on_progress: Report<'_>,
    ) -> Result<(), ClusterError> {
        self.wait_for_group(id, Until::Idle, options, on_progress)
            .await?;
        self.client
            .delete_replication_group()
            .replication_group_id(id)
            .set_final_snapshot_identifier(final_snapshot.map(str::to_owned))
            .send()
            .await
            .map_err(aws_error("DeleteReplicationGroup"))?;
        self.wait_for_group(id, Until::Gone, options, on_progress)
            .await
    }

    async fn create_parameter_group(&self, group: &ParameterGroup) -> Result<(), ClusterError> {
        let created = self
            .client
            .create_cache_parameter_group()
            .cache_parameter_group_name(&group.name)
            .cache_parameter_group_family(&group.family)
            .description(&group.description)
            .set_tags(Some(sdk_tags(&group.tags)))
            .send()
            .await
            .map_err(aws_error("CreateCacheParameterGroup"));
        // Observe found none: one there now was made by this call, retried after its
        // first answer was lost.
        already_done(created, "CacheParameterGroupAlreadyExists")?;
        Ok(())
    }

    async fn set_parameters(
        &self,
        group: &str,
        parameters: &BTreeMap<String, String>,
    ) -> Result<(), ClusterError> {
        let values: Vec<ParameterNameValue> = parameters
            .iter()
            .map(|(name, value)| {
                ParameterNameValue::builder()
                    .parameter_name(name)
                    .parameter_value(value)
                    .build()
            })
            .collect();
        for chunk in values.chunks(PARAMETERS_PER_CALL) {
            self.client
                .modify_cache_parameter_group()
                .cache_parameter_group_name(group)
                .set_parameter_name_values(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(aws_error("ModifyCacheParameterGroup"))?;
        }
        Ok(())
    }

    async fn reset_parameters(&self, group: &str, names: &[String]) -> Result<(), ClusterError> {
        let values: Vec<ParameterNameValue> = names
            .iter()
            .map(|name| ParameterNameValue::builder().parameter_name(name).build())
            .collect();
        for chunk in values.chunks(PARAMETERS_PER_CALL) {
            self.client
                .reset_cache_parameter_group()
                .cache_parameter_group_name(group)
                .set_parameter_name_values(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(aws_error("ResetCacheParameterGroup"))?;
        }
        Ok(())
    }

    async fn create_user(
        &self,
        user: &User,
        credentials: &Credentials,
    ) -> Result<(), ClusterError> {
        let mode = match &user.authentication {
            Authentication::Password { secret } => AuthenticationMode::builder()
                .r#type(InputAuthenticationType::Password)
                .passwords(credentials.get(secret)?.expose())
                .build(),
            Authentication::Iam => AuthenticationMode::builder()
                .r#type(InputAuthenticationType::Iam)
                .build(),
            Authentication::NoPassword => AuthenticationMode::builder()
                .r#type(InputAuthenticationType::NoPassword)
                .build(),
        };
        let created = self
            .client
            .create_user()
            .user_id(&user.id)
            .user_name(&user.name)
            .engine(user.engine)
            .access_string(&user.access)
            .authentication_mode(mode)
            .set_tags(Some(sdk_tags(&user.tags)))
            .send()
            .await
            .map_err(aws_error("CreateUser"));
        // Observe found none: one there now was made by this call, retried after its
        // first answer was lost.
        already_done(created, "UserAlreadyExists")?;
        Ok(())
    }

    async fn create_user_group(&self, group: &UserGroup) -> Result<(), ClusterError> {
        let created = self
            .client
            .create_user_group()
            .user_group_id(&group.id)
            .engine(group.engine)
            .set_user_ids(Some(group.user_ids.iter().cloned().collect()))
            .set_tags(Some(sdk_tags(&group.tags)))
            .send()
            .await
            .map_err(aws_error("CreateUserGroup"));
        // Observe found none: one there now was made by this call, retried after its
        // first answer was lost.
        already_done(created, "UserGroupAlreadyExists")?;
        Ok(())
    }

    async fn create_group(
        &self,
        group: &ReplicationGroup,
        from_snapshot: Option<&str>,
        credentials: &Credentials,
    ) -> Result<(), ClusterError> {
        let security_groups = group
            .security_group_ids
            .value()
            .ok_or(ClusterError::Internal(
                "the security group id is not known yet",
            ))?;
        let mut request = self
            .client
            .create_replication_group()
            .replication_group_id(&group.id)
            .replication_group_description(&group.description)
            .engine(group.engine.as_str())
            .engine_version(group.engine_version.to_string())
            .cache_node_type(&group.node_type)
            .port(i32::from(group.port))
            // One shape for both modes: a cluster-mode-disabled group is one node group.
            .cluster_mode(if group.cluster_mode {
                ClusterMode::Enabled
            } else {
                ClusterMode::Disabled
            })
            .num_node_groups(i32::from(group.shards))
            .replicas_per_node_group(i32::from(group.replicas_per_shard))
            .automatic_failover_enabled(group.automatic_failover)
            .multi_az_enabled(group.multi_az)
            .cache_parameter_group_name(&group.parameter_group)
            .cache_subnet_group_name(&group.subnet_group)
            .set_security_group_ids(Some(security_groups.clone()))
            .snapshot_window(&group.snapshot_window)
            .snapshot_retention_limit(group.snapshot_retention)
            .preferred_maintenance_window(&group.maintenance_window)
            .auto_minor_version_upgrade(group.auto_minor_version_upgrade)
            .set_log_delivery_configurations(Some(
                group
                    .log_delivery
                    .iter()
                    .map(|d| log_request(&d.log_type, Some(d)))
                    .collect(),
            ))
            .set_snapshot_name(from_snapshot.map(str::to_owned))
            .set_tags(Some(sdk_tags(&group.tags)));
        if let Some(key) = &group.at_rest {
            let key = key
                .value()
                .ok_or(ClusterError::Internal("the KMS key ARN is not known yet"))?;
            request = request.at_rest_encryption_enabled(true).kms_key_id(key);
        }
        if let Some(mode) = group.transit {
            request = request
                .transit_encryption_enabled(true)
                .transit_encryption_mode(TransitEncryptionMode::from(mode.as_str()));
        }
        if group.data_tiering {
            request = request.data_tiering_enabled(true);
        }
        match &group.auth {
            crate::GroupAuth::None => {}
            crate::GroupAuth::Token { secret } => {
                request = request.auth_token(credentials.get(secret)?.expose());
            }
            crate::GroupAuth::UserGroup { id } => request = request.user_group_ids(id),
        }
        let created = request
            .send()
            .await
            .map_err(aws_error("CreateReplicationGroup"));
        // Observe found none: one there now was made by this call, retried after its
        // first answer was lost.
        already_done(created, "ReplicationGroupAlreadyExists")?;
        Ok(())
    }

    async fn modify_group(
        &self,
        m: &Modification,
        credentials: &Credentials,
    ) -> Result<(), ClusterError> {
        let security_groups = match &m.security_group_ids {
            Some(Known::Value(ids)) => Some(ids.clone()),
            Some(Known::AfterApply) => {
                return Err(ClusterError::Internal(
                    "the security group id is not known yet",
                ));
            }
            None => None,
        };
        let mut request = self
            .client
            .modify_replication_group()
            .replication_group_id(&m.id)
            .apply_immediately(m.apply_immediately)
            .set_replication_group_description(m.description.clone())
            .set_cache_node_type(m.node_type.clone())
            .set_engine(m.engine.clone())
            .set_engine_version(m.engine_version.clone())
            .set_cache_parameter_group_name(m.parameter_group.clone())
            .set_security_group_ids(security_groups)
            .set_multi_az_enabled(m.multi_az)
            .set_automatic_failover_enabled(m.automatic_failover)
            .set_snapshot_window(m.snapshot_window.clone())
            .set_snapshot_retention_limit(m.snapshot_retention)
            .set_preferred_maintenance_window(m.maintenance_window.clone())
            .set_auto_minor_version_upgrade(m.auto_minor_version_upgrade);
        if let Some(step) = m.transit {
            request = request
                .transit_encryption_enabled(step.enabled)
                .set_transit_encryption_mode(step.mode.map(TransitEncryptionMode::from));
        }
        if !m.log_delivery.is_empty() {
            request = request.set_log_delivery_configurations(Some(
                m.log_delivery
                    .iter()
                    .map(|(log_type, delivery)| log_request(log_type, delivery.as_ref()))
                    .collect(),
            ));
        }
        request = match &m.auth {
            None => request,
            Some(AuthChange::Token {
                secret,
                remove_user_groups,
            }) => request
                .auth_token(credentials.get(secret)?.expose())
                .auth_token_update_strategy(AuthTokenUpdateStrategyType::Rotate)
                .set_user_group_ids_to_remove(non_empty(remove_user_groups)),
            Some(AuthChange::UserGroup {
                id,
                delete_token,
                remove_user_groups,
            }) => {
                let request = request
                    .user_group_ids_to_add(id)
                    .set_user_group_ids_to_remove(non_empty(remove_user_groups));
                if *delete_token {
                    request.auth_token_update_strategy(AuthTokenUpdateStrategyType::Delete)
                } else {
                    request
                }
            }
            Some(AuthChange::RemoveUserGroups { ids }) => request
                .set_user_group_ids_to_remove(Some(ids.clone()))
                .remove_user_groups(true),
        };
        request
            .send()
            .await
            .map_err(aws_error("ModifyReplicationGroup"))?;
        Ok(())
    }

    async fn set_replicas(&self, id: &str, count: u16, increase: bool) -> Result<(), ClusterError> {
        let count = i32::from(count);
        if increase {
            self.client
                .increase_replica_count()
                .replication_group_id(id)
                .new_replica_count(count)
                .apply_immediately(true)
                .send()
                .await
                .map_err(aws_error("IncreaseReplicaCount"))?;
        } else {
            self.client
                .decrease_replica_count()
                .replication_group_id(id)
                .new_replica_count(count)
                .apply_immediately(true)
                .send()
                .await
                .map_err(aws_error("DecreaseReplicaCount"))?;
        }
        Ok(())
    }
}

/// What a wait on the replication group waits for.
#[derive(Debug, Clone, Copy)]
enum Until {
    /// Ready for changes: the group and every shard `available`.
    Available,
    /// Deleted.
    Gone,
    /// Not in the middle of something: ElastiCache refuses to delete a group that is
    /// creating, modifying or snapshotting; a failed group is idle.
    Idle,
}

impl Until {
    /// Judges the group as ElastiCache describes it (`None`: not found).
    fn judge(self, group: Option<&SdkGroup>) -> Poll {
        let status = group.and_then(SdkGroup::status).unwrap_or_default();
        match (self, group) {
            (Until::Available, None) => Poll::Pending("not found yet".to_owned()),
            (Until::Available, Some(group)) => {
                let shards_ready = group
                    .node_groups()
                    .iter()
                    .all(|g| g.status().is_none_or(|s| s == "available"));
                match status {
                    "available" if shards_ready => Poll::Ready,
                    "available" => Poll::Pending("available, members still changing".to_owned()),
                    "create-failed" | "deleting" => Poll::Failed(status.to_owned()),
                    _ => Poll::Pending(status.to_owned()),
                }
            }
            (Until::Gone, None) => Poll::Ready,
            (Until::Gone, Some(_)) => Poll::Pending(status.to_owned()),
            (Until::Idle, _) if matches!(status, "creating" | "modifying" | "snapshotting") => {
                Poll::Pending(status.to_owned())
            }
            (Until::Idle, _) => Poll::Ready,
        }
    }
}

/// The replication group an operation changes, for those after which apply waits
/// until the group is available again.
fn changed_group(op: &Op) -> Option<&str> {
    match op {
        Op::CreateGroup { group } | Op::ReplaceGroup { group, .. } => Some(&group.id),
        Op::ModifyGroup(m) => Some(&m.id),
        Op::SetReplicas { id, .. } | Op::SetShards { id, .. } => Some(id),
        _ => None,
    }
}

/// A final snapshot's name: the prefix and the UTC time now, `YYYYMMDD-HHMMSS`.
fn snapshot_name(prefix: &str) -> String {
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    let digits: String = now.chars().filter(char::is_ascii_digit).take(14).collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    format!("{prefix}{date}-{time}")
}

/// Whether `name` is a parameter group this stack made: `<stack>-<family>`.
pub(crate) fn is_own_parameter_group(stack: &str, name: &str) -> bool {
    name.strip_prefix(stack)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|family| family.starts_with("valkey") || family.starts_with("redis"))
}

fn non_empty(items: &[String]) -> Option<Vec<String>> {
    (!items.is_empty()).then(|| items.to_vec())
}

/// Who may log in: the two kinds of resource whose waits share one loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    User,
    UserGroup,
}

impl Access {
    fn noun(self) -> &'static str {
        match self {
            Access::User => "user",
            Access::UserGroup => "user group",
        }
    }
}

/// What a wait for a user or user group waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    /// `active`.
    Active,
    /// Not found.
    Gone,
}

impl Presence {
    fn describe(self, kind: &str, id: &str) -> String {
        match self {
            Presence::Active => format!("{kind} {id}"),
            Presence::Gone => format!("deletion of {kind} {id}"),
        }
    }

    /// Judges a status (`None`: not found).
    fn judge(self, status: Option<String>) -> Poll {
        match (self, status) {
            (Presence::Gone, None) => Poll::Ready,
            (Presence::Active, None) => Poll::Pending("not found yet".to_owned()),
            (Presence::Active, Some(status)) if status == "active" => Poll::Ready,
            (_, Some(status)) => Poll::Pending(status),
        }
    }
}
