//! Reading what exists.

use aws_error::{absent_if, aws_error};
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use futures::future::try_join_all;
use plan::Sensitive;

use std::time::SystemTime;

use aws_smithy_types::DateTime;

use crate::{
    AutomaticRotation, Desired, Observed, ObservedSecret, PASSWORD_FIELD, PendingRotation,
    RotationSeen, STUCK_AFTER, Secrets, SecretsError, TOKEN_FIELD, Tags, rotated_at,
};

impl Secrets {
    /// Observes every secret carrying the stack tag (including ones pending deletion)
    /// with one listing, then describes by name each desired secret the listing did
    /// not return: one without the tag, or one too new for `ListSecrets`, which is
    /// eventually consistent where `DescribeSecret` is not. Never reads a value.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, SecretsError> {
        let names: Vec<&str> = desired.secrets.iter().map(|s| s.name.as_str()).collect();
        self.observe_named(&desired.stack, &names).await
    }

    /// [`Secrets::observe`] for the secrets `names` of `stack`.
    pub(crate) async fn observe_named(
        &self,
        stack: &str,
        names: &[&str],
    ) -> Result<Observed, SecretsError> {
        let mut secrets: std::collections::BTreeMap<String, ObservedSecret> =
            self.tagged(stack).await?.into_iter().collect();
        let unlisted = (names.iter())
            .filter(|name| !secrets.contains_key(**name))
            .map(|name| self.describe(name));
        secrets.extend(try_join_all(unlisted).await?.into_iter().flatten());
        Ok(Observed { secrets })
    }

    async fn describe(&self, name: &str) -> Result<Option<(String, ObservedSecret)>, SecretsError> {
        let result = self.client.describe_secret().secret_id(name).send().await;
        let Some(output) = absent_if(result, "DescribeSecret", |e| {
            e.is_resource_not_found_exception()
        })?
        else {
            return Ok(None);
        };
        Ok(Some((
            name.to_owned(),
            ObservedSecret {
                arn: output.arn().unwrap_or_default().to_owned(),
                description: output.description().unwrap_or_default().to_owned(),
                kms_key: output.kms_key_id().map(str::to_owned),
                tags: tags_of(output.tags()),
                deleted: output.deleted_date().is_some(),
                rotation: RotationSeen {
                    automatic: AutomaticRotation::of(
                        output.rotation_enabled(),
                        output.rotation_lambda_arn(),
                        output.rotation_rules(),
                    ),
                    ..rotation_seen(
                        &tags_of(output.tags()),
                        output.version_ids_to_stages(),
                        output.last_changed_date(),
                        output.last_rotated_date(),
                    )
                },
            },
        )))
    }

    async fn tagged(&self, stack: &str) -> Result<Vec<(String, ObservedSecret)>, SecretsError> {
        let filter = |key: FilterNameStringType, value: &str| {
            Filter::builder().key(key).values(value).build()
        };
        let mut found = Vec::new();
        let mut pages = self
            .client
            .list_secrets()
            .filters(filter(FilterNameStringType::TagKey, spec::STACK_TAG))
            .filters(filter(FilterNameStringType::TagValue, stack))
            .include_planned_deletion(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(aws_error("ListSecrets"))?;
            for secret in page.secret_list() {
                let tags = tags_of(secret.tags());
                // Tag filters match key and value separately; require the pair.
                if tags.get(spec::STACK_TAG).map(String::as_str) != Some(stack) {
                    continue;
                }
                found.push((
                    secret.name().unwrap_or_default().to_owned(),
                    ObservedSecret {
                        arn: secret.arn().unwrap_or_default().to_owned(),
                        description: secret.description().unwrap_or_default().to_owned(),
                        kms_key: secret.kms_key_id().map(str::to_owned),
                        rotation: RotationSeen {
                            automatic: AutomaticRotation::of(
                                secret.rotation_enabled(),
                                secret.rotation_lambda_arn(),
                                secret.rotation_rules(),
                            ),
                            ..rotation_seen(
                                &tags,
                                secret.secret_versions_to_stages(),
                                secret.last_changed_date(),
                                secret.last_rotated_date(),
                            )
                        },
                        tags,
                        deleted: secret.deleted_date().is_some(),
                    },
                ));
            }
        }
        Ok(found)
    }

    /// The credential a secret holds (the AUTH token or a user's password), for the
    /// cluster step to send. The rest of the document is not returned.
    pub async fn read_credential(&self, name: &str) -> Result<Sensitive, SecretsError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map_err(aws_error("GetSecretValue"))?;
        let document: serde_json::Value = output
            .secret_string()
            .and_then(|text| serde_json::from_str(text).ok())
            .ok_or_else(|| SecretsError::Unreadable(name.to_owned()))?;
        [TOKEN_FIELD, PASSWORD_FIELD]
            .iter()
            .find_map(|field| document.get(field).and_then(|v| v.as_str()))
            .map(Sensitive::new)
            .ok_or_else(|| SecretsError::Unreadable(name.to_owned()))
    }
}

/// What the listing or description shows of a secret's rotation. Whether a pending
/// rotation is stuck is judged against the time now, once, here.
fn rotation_seen(
    tags: &Tags,
    stages: Option<&std::collections::HashMap<String, Vec<String>>>,
    changed: Option<&DateTime>,
    rotated: Option<&DateTime>,
) -> RotationSeen {
    let time = |at: &DateTime| SystemTime::try_from(*at).ok();
    let has = |stages: &Vec<String>, stage: &str| stages.iter().any(|s| s == stage);
    let pending = (stages.into_iter().flatten())
        .find(|(_, stages)| has(stages, "AWSPENDING") && !has(stages, "AWSCURRENT"));
    let current = (stages.into_iter().flatten()).find(|(_, stages)| has(stages, "AWSCURRENT"));
    let since = changed.and_then(time).unwrap_or(SystemTime::UNIX_EPOCH);
    RotationSeen {
        last_rotated: rotated_at(tags)
            .map(|(_, at)| at)
            .or_else(|| rotated.and_then(time)),
        pending: pending.map(|(version, _)| PendingRotation {
            version: version.clone(),
            since,
            stuck: since.elapsed().is_ok_and(|waited| waited >= STUCK_AFTER),
        }),
        current_version: current.map(|(version, _)| version.clone()),
        automatic: AutomaticRotation::default(),
    }
}

fn tags_of(tags: &[Tag]) -> Tags {
    plan::tags::from_pairs(tags.iter().map(|t| (t.key(), t.value())))
}
