//! The writes: one AWS call per step, each sent once (the engine observes again after
//! an answer that was lost, instead of letting the SDK repeat it), and the reads of
//! values a step or a test needs.

use std::time::SystemTime;

use aws_error::{AwsError, aws_error};
use aws_sdk_elasticache::types::AuthTokenUpdateStrategyType;
use aws_smithy_types::retry::RetryConfig;
use plan::Sensitive;
use plan::tags::Tags;
use secrets::{PASSWORD_FIELD, TOKEN_FIELD};

use crate::model::{
    CURRENT, Kind, PENDING, REPLACED_TAG, REVOKED_TAG, ROTATED_TAG, Target, rotated_tag,
};
use crate::{Rotation, RotationError};

/// How a write ended, as far as the engine needs to know.
pub(crate) enum Written {
    /// AWS accepted it.
    Done,
    /// ElastiCache refused because it is busy: wait and decide again.
    Busy,
    /// No answer, or a server fault: it may have taken effect; observe and decide again.
    Unknown,
}

/// A credential and the JSON document it sits in.
pub(crate) struct Value {
    document: serde_json::Map<String, serde_json::Value>,
    field: &'static str,
}

impl Value {
    pub(crate) fn credential(&self) -> Sensitive {
        Sensitive::new(self.document[self.field].as_str().unwrap_or_default())
    }

    pub(crate) fn replication_group_id(&self) -> Option<String> {
        self.document
            .get("replication_group_id")
            .and_then(|u| u.as_str())
            .map(str::to_owned)
    }

    pub(crate) fn user_arn(&self) -> Option<String> {
        self.document
            .get("user_arn")
            .and_then(|u| u.as_str())
            .map(str::to_owned)
    }

    pub(crate) fn username(&self) -> Option<String> {
        self.document
            .get("username")
            .and_then(|u| u.as_str())
            .map(str::to_owned)
    }
}

/// Which version of a secret to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which<'a> {
    Id(&'a str),
    Stage(&'a str),
}

fn once() -> aws_sdk_secretsmanager::config::Builder {
    aws_sdk_secretsmanager::config::Builder::default().retry_config(RetryConfig::disabled())
}

fn once_elasticache() -> aws_sdk_elasticache::config::Builder {
    aws_sdk_elasticache::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// A write's result as [`Written`]: `busy` codes mean ElastiCache is applying another
/// change.
fn written<T>(result: Result<T, AwsError>, busy: &[&str]) -> Result<Written, RotationError> {
    match result {
        Ok(_) => Ok(Written::Done),
        Err(error) if busy.iter().any(|code| error.is(code)) => Ok(Written::Busy),
        Err(error) if error.outcome_unknown() => Ok(Written::Unknown),
        Err(error) => Err(error.into()),
    }
}

impl Rotation {
    /// The credential of one version and its document.
    pub(crate) async fn value(
        &self,
        secret: &str,
        which: Which<'_>,
    ) -> Result<Value, RotationError> {
        let request = self.secrets.get_secret_value().secret_id(secret);
        let request = match which {
            Which::Id(id) => request.version_id(id),
            Which::Stage(stage) => request.version_stage(stage),
        };
        let output = request.send().await.map_err(aws_error("GetSecretValue"))?;
        let unreadable = || RotationError::Unreadable {
            secret: secret.to_owned(),
            version: output.version_id().unwrap_or_default().to_owned(),
        };
        let document = output
            .secret_string()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .and_then(|value| value.as_object().cloned())
            .ok_or_else(unreadable)?;
        let field = [TOKEN_FIELD, PASSWORD_FIELD]
            .into_iter()
            .find(|field| document.get(*field).is_some_and(|v| v.is_string()))
            .ok_or_else(unreadable)?;
        Ok(Value { document, field })
    }

    /// create: a new credential of the current one's length, in a copy of the current
    /// document, as version `version` staged AWSPENDING.
    pub(crate) async fn create(
        &self,
        target: &Target,
        version: &str,
    ) -> Result<Written, RotationError> {
        let mut value = self.value(&target.secret, Which::Stage(CURRENT)).await?;
        let length = value.credential().expose().len();
        let fresh = secrets::token::generate(length);
        value.document.insert(
            value.field.to_owned(),
            serde_json::Value::String(fresh.expose().to_owned()),
        );
        let document = Sensitive::new(serde_json::Value::Object(value.document).to_string());
        let result = self
            .secrets
            .put_secret_value()
            .secret_id(&target.secret)
            .client_request_token(version)
            .secret_string(document.expose())
            .version_stages(PENDING)
            .customize()
            .config_override(once())
            .send()
            .await
            .map_err(aws_error("PutSecretValue"));
        // A version with this id exists already: an earlier attempt made it.
        written(
            aws_error::already_done(result, "ResourceExistsException"),
            &[],
        )
    }

    /// set: the server accepts the pending credential beside the current one.
    pub(crate) async fn set(
        &self,
        target: &Target,
        pending: &str,
        current: &str,
    ) -> Result<Written, RotationError> {
        self.accept(target, pending, Some(current)).await
    }

    /// revoke: the server accepts the current credential alone.
    pub(crate) async fn revoke(
        &self,
        target: &Target,
        current: &str,
    ) -> Result<Written, RotationError> {
        self.accept(target, current, None).await
    }

    /// The server accepts version `version`'s credential, beside version `beside`'s
    /// (`ROTATE`, or both passwords) or alone (`SET`, or one password).
    async fn accept(
        &self,
        target: &Target,
        version: &str,
        beside: Option<&str>,
    ) -> Result<Written, RotationError> {
        let new = self.value(&target.secret, Which::Id(version)).await?;
        let Kind::UserPassword { user_id, .. } = &target.kind else {
            let strategy = match beside {
                Some(_) => AuthTokenUpdateStrategyType::Rotate,
                None => AuthTokenUpdateStrategyType::Set,
            };
            return self.modify_token(target, &new.credential(), strategy).await;
        };
        let mut passwords = vec![new.credential()];
        if let Some(beside) = beside {
            let old = self.value(&target.secret, Which::Id(beside)).await?;
            passwords.push(old.credential());
        }
        self.modify_passwords(user_id, &passwords).await
    }

    async fn modify_token(
        &self,
        target: &Target,
        token: &Sensitive,
        strategy: AuthTokenUpdateStrategyType,
    ) -> Result<Written, RotationError> {
        let result = self
            .elasticache
            .modify_replication_group()
            .replication_group_id(&target.replication_group_id)
            .auth_token(token.expose())
            .auth_token_update_strategy(strategy)
            .apply_immediately(true)
            .customize()
            .config_override(once_elasticache())
            .send()
            .await
            .map_err(aws_error("ModifyReplicationGroup"));
        written(result, &["InvalidReplicationGroupState"])
    }

    async fn modify_passwords(
        &self,
        user_id: &str,
        passwords: &[Sensitive],
    ) -> Result<Written, RotationError> {
        let mut request = self.elasticache.modify_user().user_id(user_id);
        for password in passwords {
            request = request.passwords(password.expose());
        }
        let result = request
            .customize()
            .config_override(once_elasticache())
            .send()
            .await
            .map_err(aws_error("ModifyUser"));
        written(
            result,
            &["InvalidUserState", "InvalidReplicationGroupState"],
        )
    }

    /// finish: AWSCURRENT moves to the pending version (AWSPREVIOUS follows by itself).
    pub(crate) async fn finish(
        &self,
        target: &Target,
        pending: &str,
        current: &str,
    ) -> Result<Written, RotationError> {
        let result = self
            .secrets
            .update_secret_version_stage()
            .secret_id(&target.secret)
            .version_stage(CURRENT)
            .move_to_version_id(pending)
            .remove_from_version_id(current)
            .customize()
            .config_override(once())
            .send()
            .await
            .map_err(aws_error("UpdateSecretVersionStage"));
        written(result, &[])
    }

    /// Records on the secret that `current` became current `at`, and which version it
    /// replaced when that is known (one `TagResource`).
    pub(crate) async fn record(
        &self,
        target: &Target,
        current: &str,
        replaced: Option<&str>,
        at: SystemTime,
    ) -> Result<Written, RotationError> {
        let mut tags = Tags::from([(ROTATED_TAG.to_owned(), rotated_tag(current, at))]);
        tags.extend(replaced.map(|version| (REPLACED_TAG.to_owned(), version.to_owned())));
        self.tag(target, &tags).await
    }

    /// Records on the secret that `current`'s predecessor is revoked.
    pub(crate) async fn record_revoked(
        &self,
        target: &Target,
        current: &str,
    ) -> Result<Written, RotationError> {
        let tags = Tags::from([(REVOKED_TAG.to_owned(), current.to_owned())]);
        self.tag(target, &tags).await
    }

    async fn tag(&self, target: &Target, tags: &Tags) -> Result<Written, RotationError> {
        let result = (self.secrets.tag_resource())
            .secret_id(&target.secret)
            .set_tags(Some(secrets::sdk_tags(tags)))
            .send()
            .await
            .map_err(aws_error("TagResource"));
        written(result, &[])
    }
}
