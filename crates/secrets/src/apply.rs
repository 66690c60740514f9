//! Performing a plan's operations, in order.

use aws_error::{already_done, aws_error};
use aws_sdk_secretsmanager::types::Tag;
use plan::{Known, Sensitive};

use crate::diff::{Op, SecretsOutputs, SecretsPlan};
use crate::{
    Content, DesiredSecret, PASSWORD_FIELD, Secrets, SecretsError, TOKEN_FIELD, Tags, token,
};

impl Secrets {
    /// Performs the plan's operations and returns the secrets' ARNs.
    pub async fn apply(&self, plan: &SecretsPlan) -> Result<SecretsOutputs, SecretsError> {
        let mut outputs = plan.outputs.clone();
        for op in &plan.ops {
            let created = self.perform(op).await?;
            if let (Some(arn), Op::Create { secret }) = (created, op) {
                for (name, known) in &mut outputs.secrets {
                    if *name == secret.name {
                        *known = Known::Value(arn.clone());
                    }
                }
            }
        }
        Ok(outputs)
    }

    /// Performs a destroy plan.
    pub async fn destroy(&self, plan: &SecretsPlan) -> Result<(), SecretsError> {
        for op in &plan.ops {
            self.perform(op).await?;
        }
        Ok(())
    }

    /// Performs one operation; a create returns the new secret's ARN.
    async fn perform(&self, op: &Op) -> Result<Option<String>, SecretsError> {
        tracing::debug!(?op, "secrets operation");
        let client = &self.client;
        match op {
            Op::Create { secret } => return self.create(secret).await.map(Some),
            Op::Restore { name } => {
                client
                    .restore_secret()
                    .secret_id(name)
                    .send()
                    .await
                    .map_err(aws_error("RestoreSecret"))?;
            }
            Op::Update {
                name,
                description,
                kms_key,
            } => {
                let key = kms_key
                    .value()
                    .ok_or(SecretsError::Internal("the key ARN is not known yet"))?;
                client
                    .update_secret()
                    .secret_id(name)
                    .description(description)
                    .kms_key_id(key)
                    .send()
                    .await
                    .map_err(aws_error("UpdateSecret"))?;
            }
            Op::Tag { name, tags } => {
                client
                    .tag_resource()
                    .secret_id(name)
                    .set_tags(Some(sdk_tags(tags)))
                    .send()
                    .await
                    .map_err(aws_error("TagResource"))?;
            }
            Op::Delete {
                name,
                recovery_window_days,
            } => {
                let request = client.delete_secret().secret_id(name);
                let request = match recovery_window_days {
                    Some(days) => request.recovery_window_in_days(*days),
                    None => request.force_delete_without_recovery(true),
                };
                request.send().await.map_err(aws_error("DeleteSecret"))?;
            }
        }
        Ok(None)
    }

    async fn create(&self, secret: &DesiredSecret) -> Result<String, SecretsError> {
        let key = secret
            .kms_key
            .value()
            .ok_or(SecretsError::Internal("the key ARN is not known yet"))?;
        let value = secret_value(&secret.content, &token::generate(secret.content.length));
        // The SDK gives CreateSecret an idempotency token (ClientRequestToken) and
        // reuses it on retries, so a retry after a lost answer is answered, not
        // duplicated. A service that still says the name exists (the emulator) made it
        // in this call: observe found none, and names are unique.
        let created = self
            .client
            .create_secret()
            .name(&secret.name)
            .description(&secret.description)
            .kms_key_id(key)
            .secret_string(value.expose())
            .set_tags(Some(sdk_tags(&secret.tags)))
            .send()
            .await
            .map_err(aws_error("CreateSecret"));
        if let Some(output) = already_done(created, "ResourceExistsException")? {
            return Ok(output.arn().unwrap_or_default().to_owned());
        }
        let described = self
            .client
            .describe_secret()
            .secret_id(&secret.name)
            .send()
            .await
            .map_err(aws_error("DescribeSecret"))?;
        Ok(described.arn().unwrap_or_default().to_owned())
    }
}

/// The secret's JSON document: the credential and what a client needs with it.
fn secret_value(content: &Content, credential: &Sensitive) -> Sensitive {
    let mut document = serde_json::json!({
        "engine": content.engine,
        "replication_group_id": content.replication_group_id,
        "port": content.port,
    });
    match &content.username {
        Some(user) => {
            document["username"] = serde_json::Value::from(user.as_str());
            document[PASSWORD_FIELD] = serde_json::Value::from(credential.expose());
        }
        None => document[TOKEN_FIELD] = serde_json::Value::from(credential.expose()),
    }
    Sensitive::new(document.to_string())
}

/// Tags as Secrets Manager's requests take them.
pub fn sdk_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}
