//! Reading what exists.

use aws_error::{AwsError, absent_if, aws_error};
use aws_sdk_kms::types::KeyMetadata;
use futures::try_join;

use crate::{Desired, Kms, KmsError, Observed, ObservedKey, Tags};

impl Kms {
    /// Observes the stack key (by its alias) or the existing key the spec names.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, KmsError> {
        let reference = match desired {
            Desired::Create { alias, .. } => alias.as_str(),
            Desired::Existing { key, .. } => key.as_str(),
        };
        let mut metadata = self.describe(reference).await?;
        let mut alias_missing = false;
        if let (None, Desired::Create { tags, .. }) = (&metadata, desired) {
            let stack = tags
                .get(spec::STACK_TAG)
                .map(String::as_str)
                .unwrap_or_default();
            metadata = self.find_unaliased_stack_key(stack).await?;
            alias_missing = metadata.is_some();
        }
        let Some(metadata) = metadata else {
            return Ok(Observed::default());
        };
        let id = metadata.key_id().to_owned();
        let own_key = matches!(desired, Desired::Create { .. });
        let (policy, rotation, tags) = try_join!(
            self.policy(&id, own_key),
            self.rotation(&id, own_key),
            async { Ok::<_, KmsError>(self.tags(&id, own_key).await?) }
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
            alias_missing,
        })
    }

    async fn describe(&self, reference: &str) -> Result<Option<KeyMetadata>, AwsError> {
        let described = self.client.describe_key().key_id(reference).send().await;
        Ok(
            absent_if(described, "DescribeKey", |e| e.is_not_found_exception())?
                .and_then(|output| output.key_metadata().cloned()),
        )
    }

    /// A key tagged for `stack` that no alias points at and that is not being deleted:
    /// what a run left that stopped between `CreateKey` and `CreateAlias`, or whose
    /// `CreateKey` answer was lost. KMS cannot be asked for keys by tag, so every key
    /// without an alias has its tags read: this runs only when the stack's alias is
    /// absent (a new stack, or one interrupted), never on a converged plan.
    pub(crate) async fn find_unaliased_stack_key(
        &self,
        stack: &str,
    ) -> Result<Option<KeyMetadata>, AwsError> {
        let mut aliased = Vec::new();
        for alias in self
            .client
            .list_aliases()
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await
        {
            let alias = alias.map_err(aws_error("ListAliases"))?;
            aliased.extend(alias.target_key_id().map(str::to_owned));
        }
        let mut keys = Vec::new();
        for key in self
            .client
            .list_keys()
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await
        {
            let key = key.map_err(aws_error("ListKeys"))?;
            keys.extend(key.key_id().map(str::to_owned));
        }
        for key in keys.iter().filter(|k| !aliased.contains(k)) {
            let tags = self.tags(key, true).await?;
            if tags.get(spec::STACK_TAG).map(String::as_str) != Some(stack) {
                continue;
            }
            let described = self.describe(key).await?;
            let usable = |m: &KeyMetadata| {
                m.key_state()
                    .is_none_or(|s| s.as_str() != "PendingDeletion")
            };
            if let Some(metadata) = described.filter(usable) {
                return Ok(Some(metadata));
            }
        }
        Ok(None)
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

    async fn tags(&self, id: &str, own_key: bool) -> Result<Tags, AwsError> {
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
}
