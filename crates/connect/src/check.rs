//! The stages, one after another on one connection.

use std::net::SocketAddr;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisConnectionInfo, RedisError};
use rustls::pki_types::ServerName;
use secrecy::ExposeSecret;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;

use crate::{Cause, ConnectError, Endpoint, Failure, Login, Options, Report, Stage, StageName};

/// Runs the stages against `endpoint` as `login`, all within `options.timeout`.
pub async fn check(
    endpoint: &Endpoint,
    login: &Login,
    options: &Options,
) -> Result<Report, ConnectError> {
    // The CA file is the caller's mistake, not the server's: refused before any stage.
    let tls = match endpoint.tls {
        true => Some(crate::tls::client_config(options.ca_file.as_deref())?),
        false => None,
    };
    let mut run = Run {
        report: Report::default(),
        deadline: Instant::now() + options.timeout,
        started: Instant::now(),
    };
    let Some(addresses) = run.dns(endpoint).await else {
        return Ok(run.report);
    };
    let Some(tcp) = run.tcp(&addresses).await else {
        return Ok(run.report);
    };
    match tls {
        None => run.session(tcp, endpoint, login).await,
        Some(config) => {
            let Some(stream) = run.tls(tcp, config, &endpoint.host).await else {
                return Ok(run.report);
            };
            run.session(stream, endpoint, login).await
        }
    }
    Ok(run.report)
}

struct Run {
    report: Report,
    deadline: Instant,
    started: Instant,
}

impl Run {
    fn begin(&mut self) {
        self.started = Instant::now();
    }

    fn pass(&mut self, stage: StageName, detail: impl Into<String>) {
        self.report.stages.push(Stage {
            stage,
            latency: self.started.elapsed(),
            detail: detail.into(),
        });
    }

    fn fail(&mut self, stage: StageName, cause: Cause) {
        self.report.failure = Some(Failure {
            stage,
            latency: self.started.elapsed(),
            cause,
        });
    }

    fn timed_out(&self) -> Cause {
        let whole = self
            .report
            .stages
            .iter()
            .map(|s| s.latency)
            .sum::<Duration>();
        Cause::Timeout {
            after: whole + self.started.elapsed(),
        }
    }

    async fn dns(&mut self, endpoint: &Endpoint) -> Option<Vec<SocketAddr>> {
        self.begin();
        let lookup = tokio::net::lookup_host((endpoint.host.as_str(), endpoint.port));
        let found = match timeout_at(self.deadline, lookup).await {
            Err(_) => Err(self.timed_out()),
            Ok(Err(error)) => Err(Cause::NoSuchHost {
                detail: error.to_string(),
            }),
            Ok(Ok(addresses)) => Ok(addresses.collect::<Vec<_>>()),
        };
        match found {
            Ok(addresses) if !addresses.is_empty() => {
                let shown: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
                self.pass(StageName::Dns, shown.join(", "));
                Some(addresses)
            }
            Ok(_) => {
                let detail = "no addresses".to_owned();
                self.fail(StageName::Dns, Cause::NoSuchHost { detail });
                None
            }
            Err(cause) => {
                self.fail(StageName::Dns, cause);
                None
            }
        }
    }

    /// The first address that accepts; the last one's failure otherwise.
    async fn tcp(&mut self, addresses: &[SocketAddr]) -> Option<TcpStream> {
        self.begin();
        let mut last = None;
        for address in addresses {
            match timeout_at(self.deadline, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    // PING and friends are one small request each: no batching delay.
                    let _ = stream.set_nodelay(true);
                    self.pass(StageName::Tcp, address.to_string());
                    return Some(stream);
                }
                Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    last = Some(Cause::Refused {
                        address: address.to_string(),
                    });
                }
                Ok(Err(error)) => {
                    last = Some(Cause::Network {
                        detail: format!("{address}: {}", io_words(&error)),
                    });
                }
                Err(_) => {
                    last = Some(self.timed_out());
                    break;
                }
            }
        }
        let cause = last.unwrap_or_else(|| self.timed_out());
        self.fail(StageName::Tcp, cause);
        None
    }

    async fn tls(
        &mut self,
        tcp: TcpStream,
        config: std::sync::Arc<rustls::ClientConfig>,
        host: &str,
    ) -> Option<tokio_rustls::client::TlsStream<TcpStream>> {
        self.begin();
        let Ok(name) = ServerName::try_from(host.to_owned()) else {
            let detail = "the host is not a valid TLS server name".to_owned();
            self.fail(StageName::Tls, Cause::CertificateRejected { detail });
            return None;
        };
        let handshake = TlsConnector::from(config).connect(name, tcp);
        match timeout_at(self.deadline, handshake).await {
            Ok(Ok(stream)) => {
                let version = stream
                    .get_ref()
                    .1
                    .protocol_version()
                    .and_then(|v| v.as_str())
                    .unwrap_or("TLS")
                    .replace('_', ".")
                    .replace("TLSv1.", "TLS 1.");
                self.pass(StageName::Tls, format!("{version}, certificate verified"));
                Some(stream)
            }
            Ok(Err(error)) => {
                let cause = tls_cause(&error);
                self.fail(StageName::Tls, cause);
                None
            }
            Err(_) => {
                let cause = self.timed_out();
                self.fail(StageName::Tls, cause);
                None
            }
        }
    }

    /// AUTH, PING, ACL WHOAMI and CLUSTER INFO over the open stream.
    async fn session<S>(&mut self, stream: S, endpoint: &Endpoint, login: &Login)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.begin();
        let info = match login {
            Login::Nobody => RedisConnectionInfo::default(),
            Login::Token(token) => {
                RedisConnectionInfo::default().set_password(token.expose_secret())
            }
            Login::User { name, password } => RedisConnectionInfo::default()
                .set_username(name)
                .set_password(password.expose_secret()),
        };
        let left = self.deadline.saturating_duration_since(Instant::now());
        let config = AsyncConnectionConfig::new().set_response_timeout(Some(left));
        let opened = MultiplexedConnection::new_with_config(&info, stream, config);
        let mut connection = match timeout_at(self.deadline, opened).await {
            Ok(Ok((connection, driver))) => {
                tokio::spawn(driver);
                connection
            }
            Ok(Err(error)) => {
                self.fail(StageName::Auth, redis_cause(&error, "AUTH"));
                return;
            }
            Err(_) => {
                let cause = self.timed_out();
                self.fail(StageName::Auth, cause);
                return;
            }
        };
        let who = match login {
            Login::Nobody => "no login",
            Login::Token(_) => "the AUTH token",
            Login::User { .. } => "user and password",
        };
        self.pass(StageName::Auth, format!("accepted {who}"));
        let Some(pong) = self
            .command(&mut connection, StageName::Ping, &["PING"])
            .await
        else {
            return;
        };
        self.pass(StageName::Ping, pong);
        let Some(user) = self
            .command(&mut connection, StageName::Whoami, &["ACL", "WHOAMI"])
            .await
        else {
            return;
        };
        self.pass(StageName::Whoami, user);
        if endpoint.cluster_mode {
            self.cluster_info(&mut connection).await;
        }
    }

    async fn command(
        &mut self,
        connection: &mut MultiplexedConnection,
        stage: StageName,
        words: &[&str],
    ) -> Option<String> {
        self.begin();
        let mut command = redis::cmd(words[0]);
        command.arg(&words[1..]);
        let sent = command.query_async::<String>(connection);
        match timeout_at(self.deadline, sent).await {
            Ok(Ok(reply)) => Some(reply),
            Ok(Err(error)) => {
                self.fail(stage, redis_cause(&error, &words.join(" ")));
                None
            }
            Err(_) => {
                let cause = self.timed_out();
                self.fail(stage, cause);
                None
            }
        }
    }

    async fn cluster_info(&mut self, connection: &mut MultiplexedConnection) {
        let Some(info) = self
            .command(connection, StageName::ClusterInfo, &["CLUSTER", "INFO"])
            .await
        else {
            return;
        };
        let field = |name: &str| {
            info.lines()
                .find_map(|line| line.trim().strip_prefix(name))
                .and_then(|rest| rest.strip_prefix(':'))
                .unwrap_or("unknown")
                .to_owned()
        };
        let state = field("cluster_state");
        match state.as_str() {
            "ok" => self.pass(
                StageName::ClusterInfo,
                format!(
                    "cluster_state:ok, {} slots assigned, {} known nodes",
                    field("cluster_slots_assigned"),
                    field("cluster_known_nodes")
                ),
            ),
            _ => self.fail(StageName::ClusterInfo, Cause::ClusterDown { state }),
        }
    }
}

/// rustls's words for why a handshake failed, split into "not trusted" and the rest.
fn tls_cause(error: &std::io::Error) -> Cause {
    let certificate = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| {
            matches!(
                e,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            )
        });
    let detail = io_words(error);
    match certificate {
        true => Cause::CertificateRejected { detail },
        false => Cause::Handshake { detail },
    }
}

/// A redis error as a cause: the server's error replies by code, the rest as a closed
/// or garbled connection. `command` is what was sent (never with its arguments' values
/// beyond the command's name).
fn redis_cause(error: &RedisError, command: &str) -> Cause {
    let message = error.detail().unwrap_or_default().trim().to_owned();
    // The client turns a refused AUTH during its setup into a kind of its own.
    if error.kind() == redis::ErrorKind::AuthenticationFailed && error.code().is_none() {
        return Cause::WrongPass {
            message: "invalid username-password pair or user is disabled".to_owned(),
        };
    }
    match error.code() {
        Some("WRONGPASS") => Cause::WrongPass { message },
        Some("NOAUTH") => Cause::NoAuth { message },
        Some("NOPERM") => Cause::NoPerm {
            command: command.to_owned(),
            message,
        },
        Some(code) => Cause::Server {
            code: code.to_owned(),
            message,
        },
        None if error.is_timeout() => Cause::Timeout {
            after: Duration::ZERO,
        },
        None => Cause::Closed {
            detail: error.to_string(),
        },
    }
}

/// std's io error text without "(os error N)".
fn io_words(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}
