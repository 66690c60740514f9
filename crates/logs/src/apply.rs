//! Performing a plan's operations, in order.

use aws_error::{already_done, aws_error};

use crate::diff::{LogsOutputs, LogsPlan, Op};
use crate::{Logs, LogsError, Tags};

impl Logs {
    /// Performs the plan's operations.
    pub async fn apply(&self, plan: &LogsPlan) -> Result<LogsOutputs, LogsError> {
        for op in &plan.ops {
            self.perform(op).await?;
        }
        Ok(plan.outputs.clone())
    }

    /// Performs a destroy plan: deletes the groups it lists.
    pub async fn destroy(&self, plan: &LogsPlan) -> Result<(), LogsError> {
        self.apply(plan).await.map(drop)
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
                let created = client
                    .create_log_group()
                    .log_group_name(&group.name)
                    .kms_key_id(key)
                    .set_tags(Some(hash_map(&group.tags)))
                    .send()
                    .await
                    .map_err(aws_error("CreateLogGroup"));
                // Observe found none: one there now was made by this call, retried
                // after its first answer was lost.
                already_done(created, "ResourceAlreadyExistsException")?;
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
