//! Reading step 8's resources from ElastiCache.

use std::collections::BTreeMap;

use aws_error::{absent_if, aws_error};
use aws_sdk_elasticache::types::{ReplicationGroup as SdkGroup, User as SdkUser};
use futures::future::try_join_all;
use plan::tags::from_pairs;

use crate::{
    Cluster, ClusterError, Desired, LoginUser, Member, Observed, ObservedGroup,
    ObservedParameterGroup, ObservedUser, ObservedUserGroup, Tags,
};

use crate::apply::is_own_parameter_group;
use crate::convert::*;

impl Cluster {
    /// Observes the replication group, the stack's users, user group and parameter
    /// groups. Reads only. What the spec names is read at once; only what an answer
    /// names (a group's member cluster, a user's tags, a foreign member of the user
    /// group, a parameter group in use that the spec no longer names) waits for it.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, ClusterError> {
        // Without users in the spec, users and their group are looked for only when
        // the replication group says a user group is attached.
        let wanted_users = async {
            match desired.users.is_empty() {
                true => Ok(None),
                false => self.list_users().await.map(Some),
            }
        };
        let wanted_user_group = async {
            match desired.users.is_empty() {
                true => Ok(None),
                false => self.describe_user_group(&desired.user_group_id).await,
            }
        };
        let own_parameter_group = async {
            match &desired.parameter_group {
                Some(own) => Ok(self
                    .describe_parameter_group(&own.name)
                    .await?
                    .map(|found| (own.name.clone(), found))),
                None => Ok(None),
            }
        };
        let (group, listed_users, user_group, own_parameter_group) = futures::try_join!(
            self.describe_group(&desired.replication_group.id),
            wanted_users,
            wanted_user_group,
            own_parameter_group
        )?;
        let user_group = match user_group {
            Some(found) => Some(found),
            None if !desired.users.is_empty() => None,
            None if group
                .as_ref()
                .is_some_and(|g| g.user_group_ids.contains(&desired.user_group_id)) =>
            {
                self.describe_user_group(&desired.user_group_id).await?
            }
            None => None,
        };
        let mut parameter_groups: BTreeMap<_, _> = own_parameter_group.into_iter().collect();
        let (users, in_use) = futures::try_join!(
            self.stack_users(desired, listed_users, user_group.as_ref()),
            self.parameter_group_in_use(desired, group.as_ref(), &parameter_groups)
        )?;
        parameter_groups.extend(in_use);
        Ok(Observed {
            replication_group: group,
            parameter_groups,
            users,
            user_group,
            final_snapshots: Vec::new(),
        })
    }

    /// Snapshots named like the final snapshots destroy takes of this group. Only
    /// destroy needs them (they decide whether the stack key is kept), so `observe`
    /// does not list every snapshot of the account on each plan.
    pub async fn final_snapshots(&self, desired: &Desired) -> Result<Vec<String>, ClusterError> {
        let prefix = &desired.final_snapshot_prefix;
        let mut names = Vec::new();
        let mut pages = self
            .client
            .describe_snapshots()
            // Filtering by group fails once the group is gone; final snapshots are
            // manual ones, found by name.
            .snapshot_source("manual")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(aws_error("DescribeSnapshots"))?;
            names.extend(
                page.snapshots()
                    .iter()
                    .filter_map(|s| s.snapshot_name())
                    .filter(|name| name.starts_with(prefix.as_str()))
                    .map(str::to_owned),
            );
        }
        Ok(names)
    }

    pub(crate) async fn describe_group(
        &self,
        id: &str,
    ) -> Result<Option<ObservedGroup>, ClusterError> {
        let Some(group) = self.describe_sdk_group(id).await? else {
            return Ok(None);
        };
        let arn = group.arn().unwrap_or_default().to_owned();
        let tags = async {
            match arn.is_empty() || group.status() == Some("deleting") {
                true => Ok(Tags::new()),
                false => self.tags_of(&arn).await,
            }
        };
        let member = async {
            match group.member_clusters().first() {
                Some(member) => self.describe_member(member).await,
                None => Ok(None),
            }
        };
        let (tags, member) = futures::try_join!(tags, member)?;
        Ok(Some(observed_group(&group, arn, tags, member)))
    }

    /// The group's endpoints as it reports them, or `None` when there is no such group:
    /// one read, for connecting, without observing the whole step.
    pub async fn endpoints(&self, id: &str) -> Result<Option<crate::Endpoints>, ClusterError> {
        Ok(self
            .describe_sdk_group(id)
            .await?
            .map(|group| endpoints_of(&group)))
    }

    pub(crate) async fn describe_sdk_group(
        &self,
        id: &str,
    ) -> Result<Option<SdkGroup>, ClusterError> {
        let result = self
            .client
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await;
        let found = absent_if(result, "DescribeReplicationGroups", |e| {
            e.is_replication_group_not_found_fault()
        })?;
        Ok(found.and_then(|out| out.replication_groups().first().cloned()))
    }

    pub(crate) async fn tags_of(&self, arn: &str) -> Result<Tags, ClusterError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .map_err(aws_error("ListTagsForResource"))?;
        Ok(from_pairs(
            out.tag_list().iter().map(|t| (t.key(), t.value())),
        ))
    }

    /// What only a member cluster reports. None when it cannot be read (a member
    /// being replaced; the emulator): those settings are then not compared.
    pub(crate) async fn describe_member(&self, id: &str) -> Result<Option<Member>, ClusterError> {
        let result = self
            .client
            .describe_cache_clusters()
            .cache_cluster_id(id)
            .show_cache_node_info(true)
            .send()
            .await;
        let found = absent_if(result, "DescribeCacheClusters", |e| {
            e.is_cache_cluster_not_found_fault()
        })?;
        let Some(cluster) = found.and_then(|out| out.cache_clusters().first().cloned()) else {
            tracing::debug!(
                member = id,
                "member cluster not readable; its settings are not compared"
            );
            return Ok(None);
        };
        Ok(Some(Member {
            engine_version: cluster.engine_version().unwrap_or_default().to_owned(),
            parameter_group: cluster
                .cache_parameter_group()
                .and_then(|p| p.cache_parameter_group_name())
                .unwrap_or_default()
                .to_owned(),
            subnet_group: cluster
                .cache_subnet_group_name()
                .unwrap_or_default()
                .to_owned(),
            security_group_ids: cluster
                .security_groups()
                .iter()
                .filter_map(|g| g.security_group_id().map(str::to_owned))
                .collect(),
            maintenance_window: cluster
                .preferred_maintenance_window()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            auto_minor_version_upgrade: cluster.auto_minor_version_upgrade().unwrap_or(true),
            port: cluster
                .cache_nodes()
                .first()
                .and_then(|n| n.endpoint())
                .and_then(|e| e.port())
                .and_then(|p| u16::try_from(p).ok()),
        }))
    }

    /// Every user of the account in this region, by id: one paginated listing costs
    /// fewer calls than one `DescribeUsers` per user once a stack has two.
    async fn list_users(&self) -> Result<BTreeMap<String, SdkUser>, ClusterError> {
        let mut users = BTreeMap::new();
        let mut pages = self.client.describe_users().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(aws_error("DescribeUsers"))?;
            for user in page.users() {
                if let Some(id) = user.user_id() {
                    users.insert(id.to_owned(), user.clone());
                }
            }
        }
        Ok(users)
    }

    /// The users the spec names and the members of the stack's user group, from the
    /// listing (made here when the spec names none). A user the spec names that is
    /// already in the stack's user group is the stack's; every other one is judged by
    /// its tags, so converged stacks read no tags, and a member someone else added to
    /// the group is never taken for ours.
    async fn stack_users(
        &self,
        desired: &Desired,
        listed: Option<BTreeMap<String, SdkUser>>,
        user_group: Option<&ObservedUserGroup>,
    ) -> Result<BTreeMap<String, ObservedUser>, ClusterError> {
        let listed = match (listed, user_group) {
            (Some(listed), _) => listed,
            (None, Some(_)) => self.list_users().await?,
            (None, None) => return Ok(BTreeMap::new()),
        };
        let wanted = |id: &str| desired.users.iter().any(|u| u.id == id);
        let member = |id: &str| user_group.is_some_and(|g| g.user_ids.contains(id));
        let relevant = listed
            .into_iter()
            .filter(|(id, _)| id != "default" && (wanted(id) || member(id)));
        let observed = try_join_all(relevant.map(|(id, user)| async move {
            let in_group = user.user_group_ids().contains(&desired.user_group_id);
            let ours = match (wanted(&id) && in_group, user.arn()) {
                (true, _) => true,
                (false, Some(arn)) => {
                    self.tags_of(arn)
                        .await?
                        .get(spec::STACK_TAG)
                        .map(String::as_str)
                        == Some(desired.stack.as_str())
                }
                (false, None) => false,
            };
            Ok::<_, ClusterError>((id, observed_user(&user, ours)))
        }))
        .await?;
        Ok(observed.into_iter().collect())
    }

    /// What a failed login can be checked against: the user's status, authentication
    /// type and user groups, or `None` when there is no such user.
    pub async fn login_user(&self, id: &str) -> Result<Option<LoginUser>, ClusterError> {
        let result = self.client.describe_users().user_id(id).send().await;
        let found = absent_if(result, "DescribeUsers", |e| e.is_user_not_found_fault())?;
        Ok(found
            .and_then(|out| out.users().first().cloned())
            .map(|user| LoginUser {
                status: user.status().unwrap_or_default().to_owned(),
                authentication: observed_user(&user, false).authentication,
                user_group_ids: user.user_group_ids().to_vec(),
            }))
    }

    /// A user's status, or `None` once it is gone.
    pub(crate) async fn user_status(&self, id: &str) -> Result<Option<String>, ClusterError> {
        let result = self.client.describe_users().user_id(id).send().await;
        let found = absent_if(result, "DescribeUsers", |e| e.is_user_not_found_fault())?;
        Ok(found
            .and_then(|out| out.users().first().cloned())
            .map(|user| user.status().unwrap_or_default().to_owned()))
    }

    pub(crate) async fn describe_user_group(
        &self,
        id: &str,
    ) -> Result<Option<ObservedUserGroup>, ClusterError> {
        let result = self
            .client
            .describe_user_groups()
            .user_group_id(id)
            .send()
            .await;
        let found = absent_if(result, "DescribeUserGroups", |e| {
            e.is_user_group_not_found_fault()
        })?;
        Ok(found
            .and_then(|out| out.user_groups().first().cloned())
            .map(|group| ObservedUserGroup {
                user_ids: group.user_ids().iter().cloned().collect(),
                status: group.status().unwrap_or_default().to_owned(),
            }))
    }

    /// The parameter group the replication group uses, when it is the stack's and not
    /// already read as the one the spec names.
    async fn parameter_group_in_use(
        &self,
        desired: &Desired,
        group: Option<&ObservedGroup>,
        read: &BTreeMap<String, ObservedParameterGroup>,
    ) -> Result<Option<(String, ObservedParameterGroup)>, ClusterError> {
        let in_use = group
            .and_then(|g| g.member.as_ref())
            .map(|m| m.parameter_group.clone())
            .filter(|name| is_own_parameter_group(&desired.stack, name))
            .filter(|name| !read.contains_key(name));
        let Some(name) = in_use else {
            return Ok(None);
        };
        Ok(self
            .describe_parameter_group(&name)
            .await?
            .map(|found| (name, found)))
    }

    /// A parameter group and its user-set parameters, both read at once.
    pub(crate) async fn describe_parameter_group(
        &self,
        name: &str,
    ) -> Result<Option<ObservedParameterGroup>, ClusterError> {
        let described = async {
            let result = self
                .client
                .describe_cache_parameter_groups()
                .cache_parameter_group_name(name)
                .send()
                .await;
            absent_if(result, "DescribeCacheParameterGroups", |e| {
                e.is_cache_parameter_group_not_found_fault()
            })
        };
        let (found, parameters) = futures::try_join!(described, self.user_parameters(name))?;
        let Some(group) = found.and_then(|out| out.cache_parameter_groups().first().cloned())
        else {
            return Ok(None);
        };
        Ok(Some(ObservedParameterGroup {
            family: group
                .cache_parameter_group_family()
                .unwrap_or_default()
                .to_owned(),
            parameters: parameters.unwrap_or_default(),
        }))
    }

    /// The parameters set in a group (not its defaults), or `None` when it is absent.
    async fn user_parameters(
        &self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, aws_error::AwsError> {
        let mut parameters = BTreeMap::new();
        let mut pages = self
            .client
            .describe_cache_parameters()
            .cache_parameter_group_name(name)
            .source("user")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = absent_if(page, "DescribeCacheParameters", |e| {
                e.is_cache_parameter_group_not_found_fault()
            })?;
            let Some(page) = page else {
                return Ok(None);
            };
            for parameter in page.parameters() {
                if let (Some(key), Some(value)) =
                    (parameter.parameter_name(), parameter.parameter_value())
                {
                    parameters.insert(key.to_owned(), value.to_owned());
                }
            }
        }
        Ok(Some(parameters))
    }
}
