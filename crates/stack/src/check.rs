//! Reaching the stack as an application would: the endpoint and the credential from
//! the stack itself, the check by the `connect` crate, and what a failure most likely
//! means for this spec.

use connect::{Cause, Endpoint, Failure, Login, StageName};
use plan::Sensitive;
use spec::{AuthMode, Spec};

use crate::diagnose::IamDiagnosis;
use crate::{Connection, ConnectionAuth, Stack, StackError};

/// Which of the group's endpoints to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointChoice {
    /// The configuration endpoint in cluster mode, else the primary.
    #[default]
    Default,
    /// The primary endpoint (cluster mode disabled).
    Primary,
    /// The reader endpoint (cluster mode disabled).
    Reader,
    /// The configuration endpoint (cluster mode enabled).
    Configuration,
}

/// A credential the way the stack hands it out, with where it came from.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The user to log in as (`None`: the default user, with the AUTH token or none).
    pub user: Option<String>,
    /// The password, AUTH token or IAM token (`None`: no authentication).
    pub secret: Option<Sensitive>,
    /// Where it came from, for people: "the AUTH token in secret quickstart/auth-token".
    pub source: String,
}

impl Credential {
    /// The login the connection check sends.
    pub fn login(&self) -> Login {
        match (&self.user, &self.secret) {
            (_, None) => Login::Nobody,
            (None, Some(secret)) => Login::Token(secret.expose().to_owned().into()),
            (Some(name), Some(secret)) => Login::User {
                name: name.clone(),
                password: secret.expose().to_owned().into(),
            },
        }
    }
}

/// The outcome of a connection check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectionCheck {
    /// The endpoint reached.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Whether TLS was used.
    pub tls: bool,
    /// Where the credential came from.
    pub credential: String,
    /// The stages.
    #[serde(flatten)]
    pub report: connect::Report,
    /// What the failure most likely means for this stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likely_cause: Option<String>,
    /// For a refused IAM token: what reading AWS ruled out and what it found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_diagnosis: Option<IamDiagnosis>,
}

impl Stack {
    /// How to reach the stack as it is applied, or an error that says it is not yet.
    /// One `DescribeReplicationGroups`: the endpoints are all a connection needs.
    pub async fn connection(&self) -> Result<Connection, StackError> {
        let id = spec::names::replication_group_id(&self.spec);
        let endpoints = self.cluster.endpoints(&id).await?;
        endpoints
            .and_then(|found| Connection::from_endpoints(&self.spec, &found))
            .ok_or_else(|| StackError::NotApplied {
                stack: self.spec.stack.clone(),
            })
    }

    /// The credential of the stack's own kind: the AUTH token from its secret, an RBAC
    /// user's password from the user's secret, or a fresh IAM token. `user` picks the
    /// user (default: the spec's first); it is an error for stacks without users.
    pub async fn credential(
        &self,
        connection: &Connection,
        user: Option<&str>,
    ) -> Result<Credential, StackError> {
        let spec = &self.spec;
        let no_users = |mode: AuthMode| StackError::NoUsers {
            stack: spec.stack.clone(),
            mode: mode.as_str(),
        };
        match (&connection.auth, user) {
            (ConnectionAuth::None, None) => Ok(Credential {
                user: None,
                secret: None,
                source: "no authentication (auth.mode: none)".into(),
            }),
            (ConnectionAuth::Token { secret }, None) => Ok(Credential {
                user: None,
                secret: Some(self.read_secret(&secret.name).await?),
                source: format!("the AUTH token in secret {}", secret.name),
            }),
            (ConnectionAuth::None | ConnectionAuth::Token { .. }, Some(_)) => {
                Err(no_users(spec.auth.mode))
            }
            (ConnectionAuth::Rbac { users }, user) => {
                let found = pick(spec, users, user)?;
                let secret = found.secret.as_ref().map(|s| s.name.clone());
                let secret = secret.ok_or(StackError::NotApplied {
                    stack: spec.stack.clone(),
                })?;
                Ok(Credential {
                    user: Some(found.name.clone()),
                    secret: Some(self.read_secret(&secret).await?),
                    source: format!("user {}, its password in secret {secret}", found.name),
                })
            }
            (ConnectionAuth::Iam { users, .. }, user) => {
                let found = pick(spec, users, user)?;
                let token = self.iam_token(&found.name).await?;
                Ok(Credential {
                    user: Some(found.name.clone()),
                    secret: Some(Sensitive::new(token.expose())),
                    source: format!("IAM user {}, a token signed just now", found.name),
                })
            }
        }
    }

    async fn read_secret(&self, name: &str) -> Result<Sensitive, StackError> {
        self.secrets
            .read_credential(name)
            .await
            .map_err(|error| match error {
                // AWS says "marked for deletion", the emulator "marked deleted".
                secrets::SecretsError::Aws(aws)
                    if aws.is("InvalidRequestException") && aws.message.contains("marked") =>
                {
                    StackError::SecretPendingDeletion {
                        name: name.to_owned(),
                    }
                }
                other => other.into(),
            })
    }

    /// Connects as an application would, with `user`'s credential (see
    /// [`Stack::credential`]), and says what a failure most likely means.
    pub async fn check_connection(
        &self,
        user: Option<&str>,
        choice: EndpointChoice,
        options: &connect::Options,
    ) -> Result<ConnectionCheck, StackError> {
        let connection = self.connection().await?;
        let endpoint = endpoint(&connection, choice)?;
        let credential = self.credential(&connection, user).await?;
        let report = connect::check(&endpoint, &credential.login(), options)
            .await
            .map_err(|e| StackError::ConnectionCheck(e.to_string()))?;
        let refused_iam = report.failure.as_ref().is_some_and(|f| {
            matches!(f.cause, Cause::WrongPass { .. }) && self.spec.auth.mode == AuthMode::Iam
        });
        let iam_diagnosis = match (refused_iam, &credential.user) {
            (true, Some(user)) => Some(self.diagnose_iam(user).await),
            _ => None,
        };
        let likely_cause = report
            .failure
            .as_ref()
            .map(|failure| likely_cause(&self.spec, &credential, failure, iam_diagnosis.as_ref()));
        Ok(ConnectionCheck {
            host: endpoint.host,
            port: endpoint.port,
            tls: endpoint.tls,
            credential: credential.source,
            report,
            likely_cause,
            iam_diagnosis,
        })
    }
}

fn pick<'a>(
    spec: &Spec,
    users: &'a [crate::ConnectionUser],
    user: Option<&str>,
) -> Result<&'a crate::ConnectionUser, StackError> {
    let found = match user {
        Some(name) => users.iter().find(|u| u.name == name || u.user_id == name),
        None => users.first(),
    };
    found.ok_or_else(|| StackError::UnknownUser {
        stack: spec.stack.clone(),
        user: crate::error::cut(user.unwrap_or_default()),
        known: users.iter().map(|u| u.name.clone()).collect(),
    })
}

/// The endpoint `choice` names, where the group has one.
pub fn endpoint(connection: &Connection, choice: EndpointChoice) -> Result<Endpoint, StackError> {
    let missing = |which: &'static str| StackError::NoSuchEndpoint {
        which,
        cluster_mode: connection.cluster_mode,
    };
    let host = match (choice, connection.cluster_mode) {
        (EndpointChoice::Default, _) => connection.host.clone(),
        (EndpointChoice::Configuration, true) | (EndpointChoice::Primary, false) => {
            connection.host.clone()
        }
        (EndpointChoice::Reader, false) => connection
            .reader_host
            .clone()
            .ok_or_else(|| missing("reader"))?,
        (EndpointChoice::Configuration, false) => return Err(missing("configuration")),
        (EndpointChoice::Primary | EndpointChoice::Reader, true) => {
            return Err(missing(match choice {
                EndpointChoice::Primary => "primary",
                _ => "reader",
            }));
        }
    };
    Ok(Endpoint {
        host,
        port: connection.port,
        tls: connection.tls,
        cluster_mode: connection.cluster_mode,
    })
}

/// What a failed stage most likely means for this spec, in the spec's own terms.
pub fn likely_cause(
    spec: &Spec,
    credential: &Credential,
    failure: &Failure,
    iam: Option<&IamDiagnosis>,
) -> String {
    let allowed = || {
        let allow = &spec.network.allow;
        let mut sources: Vec<String> = allow.cidrs.iter().map(ToString::to_string).collect();
        sources.extend(allow.security_groups.iter().cloned());
        sources.join(", ")
    };
    match (failure.stage, &failure.cause) {
        (StageName::Dns, _) => "the endpoint's name does not resolve here: is this machine in the stack's VPC, or connected to it (VPN, peering, a bastion)?".into(),
        (StageName::Tcp, Cause::Timeout { .. }) => format!(
            "no answer from the port: the security group admits only network.allow ({}); is this machine's address among them, and routed into the VPC?",
            allowed()
        ),
        (StageName::Tcp, Cause::Refused { .. }) => "nothing listens at that address: is the replication group available (`plan` shows drift and status)?".into(),
        (StageName::Tcp, _) => "no route to the endpoint from here: is this machine in the stack's VPC, or connected to it?".into(),
        (StageName::Tls, Cause::CertificateRejected { .. }) => "the server's certificate is not trusted here: for a private CA (the local emulator's) give its PEM file".into(),
        (StageName::Tls, _) => format!(
            "the server did not complete a TLS handshake: the spec has encryption.in_transit: {}; a group created without transit encryption speaks no TLS",
            spec.encryption.in_transit
        ),
        (StageName::Auth, Cause::WrongPass { .. }) => wrongpass(spec, credential, iam),
        (_, Cause::NoAuth { .. }) => "the server wants a login the stack did not give: the group's authentication differs from the spec's auth.mode (apply, then check again)".into(),
        (_, Cause::NoPerm { command, .. }) => format!(
            "{}'s access string does not allow {command}: add it (+{} or a category such as +@connection) to auth.users[].access",
            credential.user.as_deref().unwrap_or("the user"),
            command.split(' ').next().unwrap_or_default().to_ascii_lowercase()
        ),
        (StageName::Auth, Cause::Closed { .. }) if !spec.encryption.in_transit => "the server closed the connection: it may require TLS while the spec says encryption.in_transit: false".into(),
        (_, Cause::ClusterDown { .. }) => "the cluster is not serving every slot: a shard is failing over or being changed; check again shortly".into(),
        (_, Cause::Timeout { .. }) => "the server accepted the connection but did not answer in time: is the group busy or being modified?".into(),
        _ => format!("the {} stage failed; the server's words are above", failure.stage.as_str()),
    }
}

fn wrongpass(spec: &Spec, credential: &Credential, iam: Option<&IamDiagnosis>) -> String {
    let user = credential.user.as_deref().unwrap_or_default();
    match spec.auth.mode {
        AuthMode::Iam => match iam {
            Some(found) => format!(
                "the token for IAM user {user} was refused. Ruled out: {}. {}",
                found.ruled_out.join("; "),
                match found.suspects.as_slice() {
                    [] => "Nothing else AWS shows explains it: a condition or a deny in another policy, or credentials the server does not accept".to_owned(),
                    suspects => format!("Suspect: {}", suspects.join("; ")),
                }
            ),
            None => format!(
                "the token for IAM user {user} was refused: the signing identity may lack elasticache:Connect on the group and the user, the user may not be in the group's user group yet (apply), or the credentials expired"
            ),
        },
        AuthMode::Rbac => format!(
            "user {}'s password was refused: the secret and the user disagree (one was changed outside the stack, or a rotation is half done)",
            credential.user.as_deref().unwrap_or_default()
        ),
        _ => "the AUTH token was refused: the secret and the group disagree (one was changed outside the stack, or a rotation is half done)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iam_spec() -> Spec {
        spec::parse(
            "stack: s\nregion: eu-west-1\nengine: {name: valkey, version: \"8.0\"}\nnode_type: cache.t4g.micro\n\
             network: {create: {vpc_cidr: 10.0.0.0/16, subnets: [{availability_zone: eu-west-1a, cidr: 10.0.1.0/24}, \
             {availability_zone: eu-west-1b, cidr: 10.0.2.0/24}]}, allow: {cidrs: [10.0.0.0/8]}}\n\
             auth: {mode: iam, users: [{name: app}]}\n",
            "t.yaml",
        )
        .expect("valid")
    }

    fn failed(stage: StageName, cause: Cause) -> Failure {
        Failure {
            stage,
            latency: std::time::Duration::ZERO,
            cause,
        }
    }

    #[test]
    fn no_answer_on_the_port_names_what_the_security_group_admits() {
        let credential = Credential {
            user: None,
            secret: None,
            source: String::new(),
        };
        let timeout = Cause::Timeout {
            after: std::time::Duration::from_secs(10),
        };
        let said = likely_cause(
            &iam_spec(),
            &credential,
            &failed(StageName::Tcp, timeout),
            None,
        );
        assert!(said.contains("network.allow (10.0.0.0/8)"), "{said}");
    }

    #[test]
    fn a_refused_iam_token_lists_what_aws_ruled_out_and_what_it_found() {
        let spec = iam_spec();
        let credential = Credential {
            user: Some("app".into()),
            secret: Some(Sensitive::new("token")),
            source: String::new(),
        };
        let failure = failed(
            StageName::Auth,
            Cause::WrongPass {
                message: String::new(),
            },
        );
        let diagnosis = IamDiagnosis {
            ruled_out: vec!["letter case".into()],
            suspects: vec!["role r does not have the stack's s-connect policy attached".into()],
        };
        let said = likely_cause(&spec, &credential, &failure, Some(&diagnosis));
        assert!(said.contains("Ruled out: letter case."), "{said}");
        assert!(said.contains("Suspect: role r does not have"), "{said}");
        let cleared = IamDiagnosis {
            suspects: Vec::new(),
            ..diagnosis
        };
        let said = likely_cause(&spec, &credential, &failure, Some(&cleared));
        assert!(
            said.contains("Nothing else AWS shows explains it"),
            "{said}"
        );
    }
}
