//! Reading what exists.

use aws_error::{AwsError, absent_if, aws_error};
use aws_sdk_kms::types::KeyMetadata;
use futures::future::try_join_all;
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
        let mut duplicate_keys = Vec::new();
        if let (None, Desired::Create { tags, .. }) = (&metadata, desired) {
            let mut found = self.unaliased_stack_keys(stack_of(tags)).await?.into_iter();
            // The oldest is adopted; any other copy is a duplicate.
            metadata = found.next();
            alias_missing = metadata.is_some();
            duplicate_keys = found.map(|m| m.key_id().to_owned()).collect();
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
            duplicate_keys,
        })
    }

    async fn describe(&self, reference: &str) -> Result<Option<KeyMetadata>, AwsError> {
        let described = self.client.describe_key().key_id(reference).send().await;
        Ok(
            absent_if(described, "DescribeKey", |e| e.is_not_found_exception())?
                .and_then(|output| output.key_metadata().cloned()),
        )
    }

    /// Copies of the stack key that no alias points at, for destroy: every stack key
    /// tagged for the stack and not being deleted, other than the one observed.
    pub async fn duplicate_keys(
        &self,
        desired: &Desired,
        observed: &Observed,
    ) -> Result<Vec<String>, KmsError> {
        let Desired::Create { tags, .. } = desired else {
            return Ok(Vec::new());
        };
        let adopted = observed.key.as_ref().map(|k| k.id.as_str());
        Ok(self
            .unaliased_stack_keys(stack_of(tags))
            .await?
            .iter()
            .map(|m| m.key_id().to_owned())
            .filter(|id| Some(id.as_str()) != adopted)
            .collect())
    }

    /// Keys tagged for `stack` that no alias points at and that are not being deleted,
    /// oldest first: what a run left that stopped between `CreateKey` and
    /// `CreateAlias`, or whose `CreateKey` answer was lost. KMS cannot be asked for
    /// keys by tag, so every key without an alias has its tags read: this runs only
    /// when the stack's alias is absent (a new stack, or one interrupted) and in
    /// destroy, never on a converged plan.
    pub(crate) async fn unaliased_stack_keys(
        &self,
        stack: &str,
    ) -> Result<Vec<KeyMetadata>, AwsError> {
        let (aliased, keys) = try_join!(self.aliased_key_ids(), self.key_ids())?;
        let unaliased = keys.iter().filter(|k| !aliased.contains(k));
        let found = try_join_all(unaliased.map(|key| async move {
            let tags = self.tags(key, true).await?;
            if tags.get(spec::STACK_TAG).map(String::as_str) != Some(stack) {
                return Ok::<_, AwsError>(None);
            }
            let usable = |m: &KeyMetadata| {
                m.key_state()
                    .is_none_or(|s| s.as_str() != "PendingDeletion")
            };
            Ok(self.describe(key).await?.filter(usable))
        }))
        .await?;
        let mut found: Vec<KeyMetadata> = found.into_iter().flatten().collect();
        found.sort_by(|a, b| {
            let created = |m: &KeyMetadata| m.creation_date().map(|d| (d.secs(), d.subsec_nanos()));
            created(a)
                .cmp(&created(b))
                .then_with(|| a.key_id().cmp(b.key_id()))
        });
        Ok(found)
    }

    async fn aliased_key_ids(&self) -> Result<Vec<String>, AwsError> {
        let mut aliased = Vec::new();
        let mut pages = self.client.list_aliases().into_paginator().items().send();
        while let Some(alias) = pages.next().await {
            let alias = alias.map_err(aws_error("ListAliases"))?;
            aliased.extend(alias.target_key_id().map(str::to_owned));
        }
        Ok(aliased)
    }

    async fn key_ids(&self) -> Result<Vec<String>, AwsError> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_keys().into_paginator().items().send();
        while let Some(key) = pages.next().await {
            let key = key.map_err(aws_error("ListKeys"))?;
            keys.extend(key.key_id().map(str::to_owned));
        }
        Ok(keys)
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

fn stack_of(tags: &Tags) -> &str {
    tags.get(spec::STACK_TAG)
        .map(String::as_str)
        .unwrap_or_default()
}
