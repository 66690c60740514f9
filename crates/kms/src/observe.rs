//! Reading what exists.

use aws_error::{absent_if, aws_error};
use futures::try_join;

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
}
