//! How to connect to an applied stack: a URL and ready `redis-cli` commands that read
//! the credential from Secrets Manager themselves, so no secret is ever printed.

use serde::Serialize;
use spec::{AuthMode, ClusterMode, Spec, names};
use stack::StackOutputs;

/// A connection hint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// `rediss://[user@]host:port`, without a password.
    pub url: String,
    /// Shell commands, in order.
    pub commands: Vec<String>,
    /// Where the password comes from.
    pub password: String,
}

/// The hint for `spec`'s stack, once its endpoint is known.
pub fn connection(spec: &Spec, outputs: &StackOutputs) -> Option<Connection> {
    let endpoints = outputs.cluster.endpoints.value()?;
    let host = endpoints
        .configuration
        .clone()
        .or_else(|| endpoints.primary.clone())?;
    let port = endpoints.port.unwrap_or(spec.port);
    let tls = spec.encryption.in_transit;
    let scheme = if tls { "rediss" } else { "redis" };
    let mut cli = String::from("redis-cli");
    if tls {
        cli += " --tls";
    }
    if spec.cluster.mode == ClusterMode::Enabled {
        cli += " -c";
    }
    let read_secret = |secret: &str, field: &str| {
        format!(
            "export REDISCLI_AUTH=\"$(aws secretsmanager get-secret-value --secret-id {secret} \
             --query SecretString --output text | jq -r .{field})\""
        )
    };
    let (user, commands, password) = match spec.auth.mode {
        AuthMode::None => (None, vec![], "none".to_owned()),
        AuthMode::Token => {
            let secret = names::token_secret(spec);
            (
                None,
                vec![read_secret(&secret, secrets::TOKEN_FIELD)],
                format!("the `auth_token` field of secret {secret}"),
            )
        }
        AuthMode::Rbac => {
            let user = spec.auth.users.first()?.name.clone();
            let secret = names::user_secret(spec, &user);
            (
                Some(user),
                vec![read_secret(&secret, secrets::PASSWORD_FIELD)],
                format!("the `password` field of secret {secret}"),
            )
        }
        AuthMode::Iam => {
            let user = spec.auth.users.first()?.name.clone();
            (
                Some(user.clone()),
                vec![],
                format!(
                    "an IAM auth token for user {user} (SigV4, valid 15 minutes), signed with credentials allowed by policy {}",
                    names::connect_policy(spec)
                ),
            )
        }
    };
    let mut commands = commands;
    let user_arg = user
        .as_ref()
        .map(|u| format!(" --user {u}"))
        .unwrap_or_default();
    commands.push(format!("{cli}{user_arg} -h {host} -p {port}"));
    let user_part = user.map(|u| format!("{u}@")).unwrap_or_default();
    Some(Connection {
        url: format!("{scheme}://{user_part}{host}:{port}"),
        commands,
        password,
    })
}
