//! The `output` command's connection hint: a URL without a password, where the
//! credential is, and the `orchestrator connect` commands that use it, so no secret is
//! ever printed.

use serde::Serialize;
use stack::{Connection, ConnectionAuth, ConnectionUser};

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

/// The hint for `connection`, for its first user: the `orchestrator connect` commands
/// that check and open a connection with the stack's own credential (`spec` is how the
/// user named the spec file).
pub fn hint(connection: &Connection, spec: &str) -> Hint {
    let user = connection.users().first();
    let password = match (&connection.auth, user) {
        (ConnectionAuth::Token { secret }, _) => {
            format!("the `{}` field of secret {}", secret.field, secret.name)
        }
        (
            ConnectionAuth::Rbac { .. },
            Some(ConnectionUser {
                secret: Some(secret),
                ..
            }),
        ) => {
            format!("the `{}` field of secret {}", secret.field, secret.name)
        }
        (ConnectionAuth::Iam { policy, .. }, Some(user)) => format!(
            "an IAM auth token for user {} (SigV4, valid 15 minutes), signed with credentials allowed by policy {policy}: `orchestrator token {spec} --user {}`",
            user.name, user.name
        ),
        _ => "none".to_owned(),
    };
    let user_arg = match (&connection.auth, user) {
        (ConnectionAuth::Rbac { .. } | ConnectionAuth::Iam { .. }, Some(user)) => {
            format!(" --user {}", user.name)
        }
        _ => String::new(),
    };
    let commands = vec![
        format!("orchestrator connect {spec}{user_arg} --check"),
        format!("orchestrator connect {spec}{user_arg}"),
    ];
    let (host, port) = (&connection.host, connection.port);
    let scheme = if connection.tls { "rediss" } else { "redis" };
    let user_part = user.map(|u| format!("{}@", u.name)).unwrap_or_default();
    Hint {
        url: format!("{scheme}://{user_part}{host}:{port}"),
        commands,
        password,
        connection: connection.clone(),
    }
}

/// How the stack's credentials are rotated, for `output`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rotation {
    /// When, and who rotates: Secrets Manager with the stack's function, or whoever
    /// runs `orchestrator rotate`.
    pub schedule: String,
    /// What happens to the credential a rotation replaces.
    pub previous: String,
    /// The commands that rotate and revoke.
    pub commands: Vec<String>,
}

/// The rotation hint, for stacks with a credential to rotate (`auth.mode` token or rbac).
pub fn rotation(spec: &spec::Spec, name: &str) -> Option<Rotation> {
    if !matches!(spec.auth.mode, spec::AuthMode::Token | spec::AuthMode::Rbac) {
        return None;
    }
    let previous = &spec.auth.rotation.previous;
    let mut commands = vec![format!("orchestrator rotate {name}")];
    let previous = match previous {
        spec::PreviousCredential::Keep(_) => {
            "kept valid until the next rotation (auth.rotation.previous: keep)".to_owned()
        }
        spec::PreviousCredential::RevokeAfter { revoke_after } => {
            commands.push(format!("orchestrator rotate {name} --revoke-due"));
            format!("revoked {revoke_after} after a rotation, by `rotate --revoke-due`")
        }
    };
    let rotation = &spec.auth.rotation;
    let schedule = match (rotation.lambda_runner(), &rotation.schedule) {
        (true, Some(schedule)) => format!(
            "{schedule}, by Secrets Manager with the function {} (auth.rotation.runner: lambda)",
            spec::names::rotation_function(spec)
        ),
        (_, Some(schedule)) => format!(
            "{schedule}: run `orchestrator rotate` on it from your scheduler (auth.rotation.runner: external)"
        ),
        (_, None) => "none set (auth.rotation.schedule); rotate with the command below".to_owned(),
    };
    Some(Rotation {
        schedule,
        previous,
        commands,
    })
}
