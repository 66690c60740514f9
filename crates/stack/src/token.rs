//! IAM authentication tokens for the stack's IAM users, signed with the credentials the
//! stack itself acts with.

use std::time::SystemTime;

use aws_credential_types::provider::ProvideCredentials;
use iam_auth::{IamToken, Target};
use spec::AuthMode;

use crate::{Stack, StackError};

impl Stack {
    /// A token for the IAM user `user` (its name, which for IAM users is also its id),
    /// valid for 15 minutes or until the credentials expire. Signed here: nothing is
    /// read from AWS but the credentials, so it does not prove the stack exists
    /// (a connection check does).
    pub async fn iam_token(&self, user: &str) -> Result<IamToken, StackError> {
        let spec = &self.spec;
        if spec.auth.mode != AuthMode::Iam {
            return Err(StackError::NotIam {
                stack: spec.stack.clone(),
                mode: spec.auth.mode.as_str(),
            });
        }
        let Some(found) = spec.auth.users.iter().find(|u| u.name == user) else {
            return Err(StackError::UnknownUser {
                stack: spec.stack.clone(),
                user: crate::error::cut(user),
                known: spec.auth.users.iter().map(|u| u.name.clone()).collect(),
            });
        };
        let provider = self
            .config
            .credentials_provider()
            .ok_or_else(|| StackError::NoCredentials("no credentials provider".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| StackError::NoCredentials(aws_error::innermost(&e)))?;
        let target = Target::replication_group(spec::names::replication_group_id(spec));
        iam_auth::token(
            &target,
            &found.name,
            &spec.region,
            &credentials,
            SystemTime::now(),
        )
        .map_err(StackError::IamToken)
    }
}
