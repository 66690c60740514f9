//! Performing a plan's operations, in order.

use aws_error::{already_done, aws_error, create_once};
use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::types::Tag;
use plan::Known;

use crate::diff::{KmsOutputs, KmsPlan, Op};
use crate::{Kms, KmsError, Tags};

impl Kms {
    /// Performs the plan's operations and returns the key's ARN.
    pub async fn apply(&self, plan: &KmsPlan) -> Result<KmsOutputs, KmsError> {
        let mut key_id = plan.key_id.clone();
        let mut key_arn = plan.outputs.key_arn.value().cloned();
        for op in &plan.ops {
            if let Op::CreateKey {
                description,
                policy,
                tags,
            } = op
            {
                let stack = tags
                    .get(spec::STACK_TAG)
                    .map(String::as_str)
                    .unwrap_or_default();
                let (id, arn) = self.create_key(description, policy, tags, stack).await?;
                key_id = Some(id);
                key_arn = Some(arn);
                continue;
            }
            let id = key_id
                .as_deref()
                .ok_or(KmsError::Internal("the key id is not known yet"))?;
            self.perform(op, id).await?;
        }
        Ok(KmsOutputs {
            key_arn: Known::from(key_arn),
        })
    }

    /// Creates the stack key once. KMS takes no idempotency token for `CreateKey`, so it
    /// is sent without the SDK's retries; when its answer is lost, the key is looked for
    /// by the stack tag (it is tagged at creation) before another is made.
    async fn create_key(
        &self,
        description: &str,
        policy: &str,
        tags: &Tags,
        stack: &str,
    ) -> Result<(String, String), KmsError> {
        let create = || async {
            let output = self
                .client
                .create_key()
                .description(description)
                .policy(policy)
                .set_tags(Some(kms_tags(tags)))
                .customize()
                .config_override(
                    aws_sdk_kms::config::Builder::default().retry_config(RetryConfig::disabled()),
                )
                .send()
                .await
                .map_err(aws_error("CreateKey"))?;
            Ok(output.key_metadata().cloned())
        };
        let find = || async {
            let found = self.unaliased_stack_keys(stack).await?;
            Ok(found.into_iter().next().map(Some))
        };
        let created = create_once(self.client.config().sleep_impl(), create, find).await?;
        let metadata = created.ok_or(KmsError::Internal("CreateKey returned no key"))?;
        let arn = metadata.arn().unwrap_or_default().to_owned();
        Ok((metadata.key_id().to_owned(), arn))
    }

    /// Performs a destroy plan: schedules deletion and removes the alias.
    pub async fn destroy(&self, plan: &KmsPlan) -> Result<(), KmsError> {
        let Some(id) = plan.key_id.as_deref() else {
            return Ok(());
        };
        for op in &plan.ops {
            self.perform(op, id).await?;
        }
        Ok(())
    }

    async fn perform(&self, op: &Op, id: &str) -> Result<(), KmsError> {
        tracing::debug!(?op, "kms operation");
        let client = &self.client;
        match op {
            Op::CreateKey { .. } => {
                return Err(KmsError::Internal("CreateKey is handled by apply"));
            }
            Op::CreateAlias { alias } => {
                let created = client
                    .create_alias()
                    .alias_name(alias)
                    .target_key_id(id)
                    .send()
                    .await
                    .map_err(aws_error("CreateAlias"));
                // Observe found no alias: one there now is this call's, retried after
                // its first answer was lost.
                already_done(created, "AlreadyExistsException")?;
            }
            Op::EnableRotation => {
                client
                    .enable_key_rotation()
                    .key_id(id)
                    .send()
                    .await
                    .map_err(aws_error("EnableKeyRotation"))?;
            }
            Op::CancelDeletion => {
                client
                    .cancel_key_deletion()
                    .key_id(id)
                    .send()
                    .await
                    .map_err(aws_error("CancelKeyDeletion"))?;
            }
            Op::EnableKey => {
                client
                    .enable_key()
                    .key_id(id)
                    .send()
                    .await
                    .map_err(aws_error("EnableKey"))?;
            }
            Op::PutPolicy { policy } => {
                client
                    .put_key_policy()
                    .key_id(id)
                    .policy_name("default")
                    .policy(policy)
                    .send()
                    .await
                    .map_err(aws_error("PutKeyPolicy"))?;
            }
            Op::Tag { tags } => {
                client
                    .tag_resource()
                    .key_id(id)
                    .set_tags(Some(kms_tags(tags)))
                    .send()
                    .await
                    .map_err(aws_error("TagResource"))?;
            }
            Op::UpdateDescription { description } => {
                client
                    .update_key_description()
                    .key_id(id)
                    .description(description)
                    .send()
                    .await
                    .map_err(aws_error("UpdateKeyDescription"))?;
            }
            Op::ScheduleDeletion { key_id, days } => {
                client
                    .schedule_key_deletion()
                    .key_id(key_id)
                    .pending_window_in_days(*days)
                    .send()
                    .await
                    .map_err(aws_error("ScheduleKeyDeletion"))?;
            }
            Op::DeleteAlias { alias } => {
                client
                    .delete_alias()
                    .alias_name(alias)
                    .send()
                    .await
                    .map_err(aws_error("DeleteAlias"))?;
            }
        }
        Ok(())
    }
}

fn kms_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .filter_map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().ok())
        .collect()
}
