//! The KMS calls: observing the key and performing a plan's operations.

use aws_error::{absent_if, aws_error};
use aws_sdk_kms::types::Tag;
use futures::try_join;
use plan::Known;

use crate::diff::{KmsOutputs, KmsPlan, Op};
use crate::{Desired, Kms, KmsError, Observed, ObservedKey, Tags};

impl Kms {
    /// Observes the stack key (by its alias) or the existing key the spec names.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, KmsError> {
        let reference = match desired {
            Desired::Create { alias, .. } => alias.as_str(),
            Desired::Existing { key, .. } => key.as_str(),
        };
        let described = self.client.describe_key().key_id(reference).send().await;
        let metadata = absent_if(described, "DescribeKey", |e| e.is_not_found_exception())?
            .and_then(|output| output.key_metadata().cloned());
        let Some(metadata) = metadata else {
            return Ok(Observed::default());
        };
        let id = metadata.key_id().to_owned();
        let own_key = matches!(desired, Desired::Create { .. });
        let (policy, rotation, tags) = try_join!(
            self.policy(&id, own_key),
            self.rotation(&id, own_key),
            self.tags(&id, own_key)
        )?;
        Ok(Observed {
            key: Some(ObservedKey {
                arn: metadata.arn().unwrap_or_default().to_owned(),
                state: metadata
                    .key_state()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                key_spec: metadata
                    .key_spec()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                description: metadata.description().unwrap_or_default().to_owned(),
                id,
                policy,
                rotation,
                tags,
            }),
        })
    }

    /// The key policy. For a key the user owns, not being allowed to read it is not an
    /// error: the plan says the policy was not checked.
    async fn policy(&self, id: &str, own_key: bool) -> Result<Option<serde_json::Value>, KmsError> {
        let result = self
            .client
            .get_key_policy()
            .key_id(id)
            .policy_name("default")
            .send()
            .await;
        match result {
            Ok(output) => Ok(output
                .policy()
                .and_then(|text| serde_json::from_str(text).ok())),
            Err(_) if !own_key => Ok(None),
            Err(err) => Err(aws_error("GetKeyPolicy")(err).into()),
        }
    }

    async fn rotation(&self, id: &str, own_key: bool) -> Result<bool, KmsError> {
        if !own_key {
            return Ok(false);
        }
        let output = self
            .client
            .get_key_rotation_status()
            .key_id(id)
            .send()
            .await
            .map_err(aws_error("GetKeyRotationStatus"))?;
        Ok(output.key_rotation_enabled())
    }

    async fn tags(&self, id: &str, own_key: bool) -> Result<Tags, KmsError> {
        if !own_key {
            return Ok(Tags::new());
        }
        let output = self
            .client
            .list_resource_tags()
            .key_id(id)
            .send()
            .await
            .map_err(aws_error("ListResourceTags"))?;
        Ok(output
            .tags()
            .iter()
            .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
            .collect())
    }

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
                let output = self
                    .client
                    .create_key()
                    .description(description)
                    .policy(policy)
                    .set_tags(Some(kms_tags(tags)))
                    .send()
                    .await
                    .map_err(aws_error("CreateKey"))?;
                let metadata = output
                    .key_metadata()
                    .ok_or(KmsError::Internal("CreateKey returned no key"))?;
                key_id = Some(metadata.key_id().to_owned());
                key_arn = metadata.arn().map(str::to_owned);
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
                client
                    .create_alias()
                    .alias_name(alias)
                    .target_key_id(id)
                    .send()
                    .await
                    .map_err(aws_error("CreateAlias"))?;
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
            Op::ScheduleDeletion { days } => {
                client
                    .schedule_key_deletion()
                    .key_id(id)
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
