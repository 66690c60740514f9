/*!
Step 7 of a stack: the Secrets Manager secret holding the generated AUTH token
(`<stack>/auth-token`), or with `auth: rbac` one secret per user holding that user's
password, each encrypted with the stack key. The value is a JSON document with what a
client or a rotation needs: the token or username and password, the replication group
id and the port.

Same contract as every step: [`Desired::from_spec`], [`Secrets::observe`], a pure
[`diff`] and [`diff_destroy`], then [`Secrets::apply`] / [`Secrets::destroy`].

Architecture invariant: a token is generated once, at apply time, inside the create
call's request; nothing in a plan, an `Op`, a log line or an error can hold it (values
travel as [`plan::Sensitive`]). Re-applies never regenerate or overwrite it.
*/
#![deny(missing_docs)]

mod aws;
mod diff;
pub mod token;

use std::collections::BTreeMap;

pub use aws_error::AwsError;
pub use diff::{SecretsOutputs, SecretsPlan, diff, diff_destroy, kinds};
use plan::Known;
use spec::{AuthMode, Spec, names};

/// Tags as Secrets Manager stores them.
pub use plan::tags::Tags;

/// The secrets the spec asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The stack's name (its secrets carry the stack tag).
    pub stack: String,
    /// One secret per credential.
    pub secrets: Vec<DesiredSecret>,
    /// Days a deleted secret stays restorable.
    pub recovery_window_days: i64,
}

/// One secret.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredSecret {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The KMS key ARN encrypting it.
    pub kms_key: Known<String>,
    /// Its tags.
    pub tags: Tags,
    /// What its value holds besides the generated credential.
    pub content: Content,
}

/// The non-secret part of a secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The RBAC user name, for a user's password; none for the AUTH token.
    pub username: Option<String>,
    /// The replication group the credential opens.
    pub replication_group_id: String,
    /// The port clients connect to.
    pub port: u16,
    /// The engine, `valkey` or `redis`.
    pub engine: &'static str,
    /// How many characters to generate.
    pub length: usize,
}

/// What a secret's value is called in its JSON document.
pub const TOKEN_FIELD: &str = "auth_token";
/// The field holding an RBAC user's password.
pub const PASSWORD_FIELD: &str = "password";

impl Desired {
    /// The secrets `spec` asks for, encrypted with `kms_key`.
    pub fn from_spec(spec: &Spec, kms_key: &Known<String>) -> Desired {
        let mut tags = spec.tags.clone();
        tags.insert(spec::STACK_TAG.to_owned(), spec.stack.clone());
        let content = |username: Option<String>, length: u16| Content {
            username,
            replication_group_id: names::replication_group_id(spec),
            port: spec.port,
            engine: spec.engine.name.as_str(),
            length: usize::from(length),
        };
        let secret = |name: String, description: String, content: Content| DesiredSecret {
            name,
            description,
            kms_key: kms_key.clone(),
            tags: tags.clone(),
            content,
        };
        let secrets = match spec.auth.mode {
            AuthMode::Token => vec![secret(
                names::token_secret(spec),
                format!("AUTH token of ElastiCache stack {}", spec.stack),
                content(None, spec.auth.token.length),
            )],
            AuthMode::Rbac => spec
                .auth
                .users
                .iter()
                .map(|user| {
                    secret(
                        names::user_secret(spec, &user.name),
                        format!(
                            "Password of user {} of ElastiCache stack {}",
                            user.name, spec.stack
                        ),
                        content(Some(user.name.clone()), 64),
                    )
                })
                .collect(),
            AuthMode::None | AuthMode::Iam => Vec::new(),
        };
        Desired {
            stack: spec.stack.clone(),
            secrets,
            recovery_window_days: i64::from(spec.destroy.secret_recovery_window_days),
        }
    }
}

/// The stack's secrets as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Secrets by name: the desired names, and any other carrying the stack tag.
    pub secrets: BTreeMap<String, ObservedSecret>,
}

/// One secret as Secrets Manager describes it (never its value).
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedSecret {
    /// Its ARN.
    pub arn: String,
    /// Its description.
    pub description: String,
    /// The KMS key encrypting it; none for the account's default key.
    pub kms_key: Option<String>,
    /// Its tags.
    pub tags: Tags,
    /// Whether it is scheduled for deletion (restorable until then).
    pub deleted: bool,
}

/// The secrets step, holding its client.
#[derive(Debug, Clone)]
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
}

impl Secrets {
    /// A secrets step using `client`.
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Secrets { client }
    }
}

/// What can go wrong in the secrets step. No variant can carry a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A secret's value is not the JSON document this step writes (edited by hand?).
    #[error(
        "secret {0} does not hold a JSON document with `auth_token` or `password`; restore its value or delete it to have a new one generated"
    )]
    Unreadable(String),
    /// Apply was called before the key's ARN was known.
    #[error("internal error: {0}")]
    Internal(&'static str),
}
