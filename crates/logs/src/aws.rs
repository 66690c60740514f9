//! The CloudWatch Logs calls.

use aws_error::aws_error;
use futures::future::try_join_all;

use crate::diff::{LogsOutputs, LogsPlan, Op};
use crate::{Desired, Logs, LogsError, Observed, ObservedLogGroup, Tags};

impl Logs {
    /// Observes every log group of the stack's names, wanted or not, concurrently.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, LogsError> {
        let lookups = desired.all_names().map(|name| self.find(name));
        let found = try_join_all(lookups).await?;
        Ok(Observed {
            groups: found.into_iter().flatten().collect(),
        })
    }

    async fn find(&self, name: &str) -> Result<Option<(String, ObservedLogGroup)>, LogsError> {
        let output = self
            .client
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .map_err(aws_error("DescribeLogGroups"))?;
        let Some(group) = output
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
        else {
            return Ok(None);
        };
        let arn = group
            .log_group_arn()
            .map(str::to_owned)
            .or_else(|| group.arn().map(|a| a.trim_end_matches(":*").to_owned()))
            .unwrap_or_default();
        let tags = self
            .client
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .map_err(aws_error("ListTagsForResource"))?;
        Ok(Some((
            name.to_owned(),
            ObservedLogGroup {
                retention_days: group.retention_in_days(),
                kms_key: group.kms_key_id().map(str::to_owned),
                tags: tags
                    .tags()
                    .map(|t| t.clone().into_iter().collect())
                    .unwrap_or_default(),
                arn,
            },
        )))
    }

    /// Performs the plan's operations.
    pub async fn apply(&self, plan: &LogsPlan) -> Result<LogsOutputs, LogsError> {
        for op in &plan.ops {
            self.perform(op).await?;
        }
        Ok(plan.outputs.clone())
    }

    async fn perform(&self, op: &Op) -> Result<(), LogsError> {
        tracing::debug!(?op, "logs operation");
        let client = &self.client;
        match op {
            Op::Create { group } => {
                let key = group
                    .kms_key
                    .value()
                    .ok_or(LogsError::Internal("the key ARN is not known yet"))?;
                // The key goes on at creation: AssociateKmsKey later would leave the first
                // events unencrypted.
                client
                    .create_log_group()
                    .log_group_name(&group.name)
                    .kms_key_id(key)
                    .set_tags(Some(hash_map(&group.tags)))
                    .send()
                    .await
                    .map_err(aws_error("CreateLogGroup"))?;
                self.set_retention(&group.name, group.retention_days)
                    .await?;
            }
            Op::SetRetention { name, days } => self.set_retention(name, *days).await?,
            Op::AssociateKey { name, key } => {
                let key = key
                    .value()
                    .ok_or(LogsError::Internal("the key ARN is not known yet"))?;
                client
                    .associate_kms_key()
                    .log_group_name(name)
                    .kms_key_id(key)
                    .send()
                    .await
                    .map_err(aws_error("AssociateKmsKey"))?;
            }
            Op::Tag { arn, tags } => {
                client
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(hash_map(tags)))
                    .send()
                    .await
                    .map_err(aws_error("TagResource"))?;
            }
            Op::Delete { name } => {
                client
                    .delete_log_group()
                    .log_group_name(name)
                    .send()
                    .await
                    .map_err(aws_error("DeleteLogGroup"))?;
            }
        }
        Ok(())
    }
}

impl Logs {
    async fn set_retention(&self, name: &str, days: i32) -> Result<(), LogsError> {
        self.client
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(days)
            .send()
            .await
            .map_err(aws_error("PutRetentionPolicy"))?;
        Ok(())
    }
}

fn hash_map(tags: &Tags) -> std::collections::HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
