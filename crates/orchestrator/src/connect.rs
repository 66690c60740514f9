//! The `output` command's connection hint: a URL and ready `redis-cli` commands built
//! from the stack's [`Connection`], which read the credential from Secrets Manager
//! themselves, so no secret is ever printed.

use std::path::Path;

use serde::Serialize;
use stack::{Connection, ConnectionAuth};

/// A connection hint: the facts, and how to use them from a shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hint {
    /// `rediss://[user@]host:port`, without a password.
    pub url: String,
    /// Shell commands, in order.
    pub commands: Vec<String>,
    /// Where the password comes from.
    pub password: String,
    /// The facts the hint is built from.
    #[serde(flatten)]
    pub connection: Connection,
}

/// The hint for `connection`, for its first user; `ca_file` is a private CA the
/// server's certificate comes from (the local emulator's), if any.
pub fn hint(connection: &Connection, ca_file: Option<&Path>) -> Hint {
    let mut cli = String::from("redis-cli");
    if connection.tls {
        cli += " --tls";
        if let Some(ca_file) = ca_file {
            cli += &format!(" --cacert {}", ca_file.display());
        }
    }
    if connection.cluster_mode {
        cli += " -c";
    }
    let read_secret = |secret: &str, field: &str| {
        format!(
            "export REDISCLI_AUTH=\"$(aws secretsmanager get-secret-value --secret-id {secret} \
             --query SecretString --output text | jq -r .{field})\""
        )
    };
    let user = connection.users().first();
    let (mut commands, password) = match (&connection.auth, user) {
        (ConnectionAuth::Token { secret }, _) => (
            vec![read_secret(&secret.name, secret.field)],
            format!("the `{}` field of secret {}", secret.field, secret.name),
        ),
        (ConnectionAuth::Rbac { .. }, Some(user)) => match &user.secret {
            Some(secret) => (
                vec![read_secret(&secret.name, secret.field)],
                format!("the `{}` field of secret {}", secret.field, secret.name),
            ),
            None => (vec![], "none".to_owned()),
        },
        (ConnectionAuth::Iam { policy, .. }, Some(user)) => (
            vec![],
            format!(
                "an IAM auth token for user {} (SigV4, valid 15 minutes), signed with credentials allowed by policy {policy}",
                user.name
            ),
        ),
        _ => (vec![], "none".to_owned()),
    };
    let user_arg = user
        .map(|u| format!(" --user {}", u.name))
        .unwrap_or_default();
    let (host, port) = (&connection.host, connection.port);
    commands.push(format!("{cli}{user_arg} -h {host} -p {port}"));
    let scheme = if connection.tls { "rediss" } else { "redis" };
    let user_part = user.map(|u| format!("{}@", u.name)).unwrap_or_default();
    Hint {
        url: format!("{scheme}://{user_part}{host}:{port}"),
        commands,
        password,
        connection: connection.clone(),
    }
}
