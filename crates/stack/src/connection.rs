//! How applications reach an applied stack: endpoints, port, TLS and which credential to
//! use. Never a credential's value: secrets are named, users listed.

use serde::Serialize;
use spec::{AuthMode, ClusterMode, Spec, names};

use crate::StackOutputs;

/// What a client needs to connect, without any credential value. The CLI's `output`
/// renders it; a service broker's bind returns it with the binding's own credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// The replication group's id.
    pub replication_group_id: String,
    /// The region (IAM tokens are signed for it).
    pub region: String,
    /// The host to connect to: the configuration endpoint in cluster mode, else the
    /// primary endpoint.
    pub host: String,
    /// The reader endpoint (cluster mode disabled), for read-only clients.
    pub reader_host: Option<String>,
    /// The port.
    pub port: u16,
    /// Whether connections must use TLS.
    pub tls: bool,
    /// Whether clients must speak the cluster protocol.
    pub cluster_mode: bool,
    /// How clients authenticate.
    pub auth: ConnectionAuth,
}

/// How clients authenticate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionAuth {
    /// No authentication.
    None,
    /// The AUTH token kept in this secret.
    Token {
        /// Where the token is.
        secret: SecretRef,
    },
    /// RBAC users, each with a password in its secret.
    Rbac {
        /// The users.
        users: Vec<ConnectionUser>,
    },
    /// IAM users: the password is a SigV4 token signed by an identity the policy allows.
    Iam {
        /// The users.
        users: Vec<ConnectionUser>,
        /// The managed policy that grants `elasticache:Connect`.
        policy: String,
    },
}

/// One user clients log in as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionUser {
    /// The user name clients send.
    pub name: String,
    /// The ElastiCache user id.
    pub user_id: String,
    /// Where the password is (RBAC); none for IAM users.
    pub secret: Option<SecretRef>,
}

/// A secret holding a credential, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRef {
    /// The secret's name.
    pub name: String,
    /// Its ARN, once it exists.
    pub arn: Option<String>,
    /// The JSON field of the secret's value that holds the credential.
    pub field: &'static str,
}

impl Connection {
    /// How to reach the stack `spec` describes, given its outputs; `None` until the
    /// replication group reports an endpoint.
    pub fn new(spec: &Spec, outputs: &StackOutputs) -> Option<Connection> {
        let endpoints = outputs.cluster.endpoints.value()?;
        let found = Found {
            replication_group_id: outputs.cluster.replication_group_id.clone(),
            // The port the group reports (ClusterOutputs falls back to the spec's).
            port: outputs.cluster.port,
            secret_arn: &|name| {
                outputs
                    .secrets
                    .iter()
                    .find(|(secret, _)| *secret == name)
                    .and_then(|(_, arn)| arn.value().cloned())
            },
            user_id: &|index, name| {
                outputs
                    .cluster
                    .user_ids
                    .get(index)
                    .cloned()
                    .unwrap_or_else(|| name.to_owned())
            },
        };
        Self::build(spec, endpoints, &found)
    }

    /// How to reach the stack from its replication group's endpoints alone, one read
    /// instead of a plan (what `connect` needs): user ids follow the stack's naming, and
    /// secrets are named without their ARNs.
    pub fn from_endpoints(spec: &Spec, endpoints: &cluster::Endpoints) -> Option<Connection> {
        let iam = spec.auth.mode == AuthMode::Iam;
        let found = Found {
            replication_group_id: names::replication_group_id(spec),
            port: endpoints.port_or(spec.port),
            secret_arn: &|_| None,
            user_id: &|_, name| match iam {
                // IAM users' ids are their names.
                true => name.to_owned(),
                false => names::rbac_user_id(spec, name),
            },
        };
        Self::build(spec, endpoints, &found)
    }

    fn build(spec: &Spec, endpoints: &cluster::Endpoints, found: &Found<'_>) -> Option<Connection> {
        let host = endpoints
            .configuration
            .clone()
            .or_else(|| endpoints.primary.clone())?;
        let secret = |name: String, field| SecretRef {
            arn: (found.secret_arn)(&name),
            name,
            field,
        };
        let users = |with_secret: bool| {
            (spec.auth.users.iter().enumerate())
                .map(|(index, user)| ConnectionUser {
                    name: user.name.clone(),
                    user_id: (found.user_id)(index, &user.name),
                    secret: with_secret.then(|| {
                        secret(
                            names::user_secret(spec, &user.name),
                            secrets::PASSWORD_FIELD,
                        )
                    }),
                })
                .collect()
        };
        let auth = match spec.auth.mode {
            AuthMode::None => ConnectionAuth::None,
            AuthMode::Token => ConnectionAuth::Token {
                secret: secret(names::token_secret(spec), secrets::TOKEN_FIELD),
            },
            AuthMode::Rbac => ConnectionAuth::Rbac { users: users(true) },
            AuthMode::Iam => ConnectionAuth::Iam {
                users: users(false),
                policy: names::connect_policy(spec),
            },
        };
        Some(Connection {
            replication_group_id: found.replication_group_id.clone(),
            region: spec.region.clone(),
            host,
            reader_host: endpoints.reader.clone(),
            port: found.port,
            tls: spec.encryption.in_transit,
            cluster_mode: spec.cluster.mode == ClusterMode::Enabled,
            auth,
        })
    }

    /// The users clients can log in as (none with an AUTH token or no authentication).
    pub fn users(&self) -> &[ConnectionUser] {
        match &self.auth {
            ConnectionAuth::Rbac { users } | ConnectionAuth::Iam { users, .. } => users,
            ConnectionAuth::None | ConnectionAuth::Token { .. } => &[],
        }
    }
}

/// What differs between a connection built from outputs and one from endpoints alone.
struct Found<'a> {
    replication_group_id: String,
    port: u16,
    secret_arn: &'a dyn Fn(&str) -> Option<String>,
    user_id: &'a dyn Fn(usize, &str) -> String,
}
