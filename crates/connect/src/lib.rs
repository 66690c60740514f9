/*!
Reaches an ElastiCache (Valkey, Redis OSS) endpoint the way an application does and
reports each stage with its latency: DNS, TCP, TLS (the server's certificate verified
against the system's roots or a given CA), AUTH, PING, `ACL WHOAMI` and, in cluster
mode, `CLUSTER INFO`. The first stage that fails ends the check and is named with a
[`Cause`] a front end can turn into advice (is this machine in the VPC? does the
security group admit it? is the password current? does the access string allow it?).

It owns the connection check and nothing else: the caller passes the endpoint and the
credential ([`Login`]), so it reads nothing from AWS, and it never prints. Credentials
are [`secrecy::SecretString`]s, sent only inside `AUTH` and never part of a report or
an error. One connection serves every stage after DNS, so each latency is that stage's
own.

```no_run
# async fn example() -> Result<(), connect::ConnectError> {
use std::time::Duration;
use connect::{Endpoint, Login, Options, check};

let endpoint = Endpoint {
    host: "master.orders-cache.abc123.euw1.cache.amazonaws.com".into(),
    port: 6379,
    tls: true,
    cluster_mode: false,
};
let login = Login::User { name: "orders-app".into(), password: "…".to_owned().into() };
let report = check(&endpoint, &login, &Options::default()).await?;
match &report.failure {
    None => println!("ok as {}", report.stages.last().map_or("", |s| s.detail.as_str())),
    Some(failure) => println!("{} failed: {}", failure.stage.as_str(), failure.cause),
}
# Ok(()) }
```
*/
#![deny(missing_docs)]

mod check;
mod tls;

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Serialize;

pub use check::check;

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The host name (or address) the replication group reports.
    pub host: String,
    /// The port.
    pub port: u16,
    /// Whether the server speaks TLS (transit encryption on).
    pub tls: bool,
    /// Whether the group runs in cluster mode (`CLUSTER INFO` is asked).
    pub cluster_mode: bool,
}

/// How to log in.
#[derive(Debug, Clone)]
pub enum Login {
    /// No `AUTH` (a group without authentication).
    Nobody,
    /// `AUTH <token>`: the default user with the group's AUTH token.
    Token(SecretString),
    /// `AUTH <user> <password>`: an RBAC user's password, or an IAM user's token.
    User {
        /// The user name.
        name: String,
        /// The password or IAM token.
        password: SecretString,
    },
}

/// How the check runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long the whole check may take; a stage that would run past it fails as
    /// [`Cause::Timeout`].
    pub timeout: Duration,
    /// A PEM file of CA certificates to trust instead of the system's (a private CA,
    /// the local emulator's).
    pub ca_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(10),
            ca_file: None,
        }
    }
}

/// The stages, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageName {
    /// Resolving the host name.
    Dns,
    /// Opening the TCP connection.
    Tcp,
    /// The TLS handshake and the certificate check.
    Tls,
    /// `AUTH` (or nothing, for [`Login::Nobody`]).
    Auth,
    /// `PING`.
    Ping,
    /// `ACL WHOAMI`: who the server says we are.
    Whoami,
    /// `CLUSTER INFO`, in cluster mode.
    ClusterInfo,
}

impl StageName {
    /// The stage as people read it.
    pub fn as_str(self) -> &'static str {
        match self {
            StageName::Dns => "dns",
            StageName::Tcp => "tcp",
            StageName::Tls => "tls",
            StageName::Auth => "auth",
            StageName::Ping => "ping",
            StageName::Whoami => "acl whoami",
            StageName::ClusterInfo => "cluster info",
        }
    }
}

/// A stage that passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// Which.
    pub stage: StageName,
    /// How long it took.
    #[serde(rename = "latency_ms", serialize_with = "millis")]
    pub latency: Duration,
    /// What it found: the addresses, the TLS version, `PONG`, the user, the cluster state.
    pub detail: String,
}

/// The stage that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Which.
    pub stage: StageName,
    /// How long it ran before failing.
    #[serde(rename = "latency_ms", serialize_with = "millis")]
    pub latency: Duration,
    /// Why.
    pub cause: Cause,
}

/// Why a stage failed. Server messages are the server's own words; none contains a
/// credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cause {
    /// The host name does not resolve from here.
    #[error("the host name does not resolve: {detail}")]
    NoSuchHost {
        /// The resolver's words.
        detail: String,
    },
    /// No answer before the timeout.
    #[error("no answer within {}s", .after.as_secs())]
    Timeout {
        /// How long the check had waited in all.
        #[serde(rename = "after_ms", serialize_with = "millis")]
        after: Duration,
    },
    /// The address answered that nothing listens on the port.
    #[error("connection refused: nothing listens on {address}")]
    Refused {
        /// The address tried.
        address: String,
    },
    /// Another network error (no route, network unreachable).
    #[error("{detail}")]
    Network {
        /// The system's words.
        detail: String,
    },
    /// The server's certificate is not trusted or does not name the host.
    #[error("the server's certificate was rejected: {detail}")]
    CertificateRejected {
        /// Why.
        detail: String,
    },
    /// The TLS handshake failed for another reason (the server speaks no TLS).
    #[error("the TLS handshake failed: {detail}")]
    Handshake {
        /// Why.
        detail: String,
    },
    /// The server closed the connection or answered something that is not RESP.
    #[error("the server closed the connection or answered something else than Redis: {detail}")]
    Closed {
        /// What was seen.
        detail: String,
    },
    /// `WRONGPASS`: the user is unknown, disabled, or the password (token) is wrong.
    #[error("WRONGPASS: {message}")]
    WrongPass {
        /// The server's words.
        message: String,
    },
    /// `NOAUTH`: the server needs a login and none was given.
    #[error("NOAUTH: {message}")]
    NoAuth {
        /// The server's words.
        message: String,
    },
    /// `NOPERM`: the user's access string does not allow the command.
    #[error("NOPERM: {message}")]
    NoPerm {
        /// The command refused.
        command: String,
        /// The server's words.
        message: String,
    },
    /// Another error reply.
    #[error("{code}: {message}")]
    Server {
        /// The error code (`ERR`, `LOADING`, …).
        code: String,
        /// The server's words.
        message: String,
    },
    /// `CLUSTER INFO` says the cluster is not serving.
    #[error("cluster_state:{state}")]
    ClusterDown {
        /// The state reported.
        state: String,
    },
}

/// Every stage that ran, and the failure that ended the check, if one did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The stages that passed, in order.
    pub stages: Vec<Stage>,
    /// The stage that failed.
    pub failure: Option<Failure>,
}

impl Report {
    /// Whether every stage passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// What stops a check before it starts.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The CA file could not be read or holds no certificate.
    #[error("the CA file {path} cannot be used: {detail}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// No TLS configuration could be made (never expected with rustls's defaults).
    #[error("TLS cannot be set up: {0}")]
    Tls(String),
}

fn millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}
