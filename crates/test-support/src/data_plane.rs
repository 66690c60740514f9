//! What a client meets at a replication group's endpoint on the emulator: the real
//! `redis-server` Local ElastiCache starts for every group, reached with `redis-cli`
//! from the same Debian package (the project's own client arrives with `connect`).
//!
//! Tests whose names start with `data_plane` need both; `scripts/test.sh` skips them,
//! and says so, where `redis-server` cannot be installed.

use std::path::PathBuf;
use std::process::Command;

/// How to log in.
#[derive(Debug, Clone, Copy)]
pub enum Login<'a> {
    /// No AUTH at all.
    Nobody,
    /// `AUTH <token>`: the `default` user with the group's AUTH token.
    Token(&'a str),
    /// `AUTH <user> <password>`: an RBAC user.
    User(&'a str, &'a str),
}

/// The local CA the emulator's servers present certificates from:
/// `ELASTICACHE_CA_FILE`, or the one `scripts/emulator.sh` makes under `.moto/tls`.
pub fn ca_file() -> PathBuf {
    std::env::var_os("ELASTICACHE_CA_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.moto/tls/ca.pem"))
}

/// Logs in to `host:port` (over TLS verified by [`ca_file`] when `tls`) and sends PING:
/// `PONG`, or what the server or redis-cli answered instead.
pub fn ping(host: &str, port: u16, tls: bool, login: Login<'_>) -> String {
    command(host, port, tls, login, &["PING"])
}

/// Logs in as [`ping`] does and sends `args`: the reply (stdout and stderr, trimmed).
pub fn command(host: &str, port: u16, tls: bool, login: Login<'_>, args: &[&str]) -> String {
    let mut command = Command::new("redis-cli");
    command
        .args(["-h", host, "-p", &port.to_string(), "--no-auth-warning"])
        .env_remove("REDISCLI_AUTH");
    if tls {
        command.arg("--tls").arg("--cacert").arg(ca_file());
    }
    match login {
        Login::Nobody => {}
        // The secret travels in the environment, not on a command line others can read.
        Login::Token(token) => {
            command.env("REDISCLI_AUTH", token);
        }
        Login::User(user, password) => {
            command
                .args(["--user", user])
                .env("REDISCLI_AUTH", password);
        }
    }
    let output = match command.args(args).output() {
        Ok(output) => output,
        Err(error) => {
            return format!("redis-cli did not run ({error}): apt-get install redis-tools");
        }
    };
    let mut text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    text.push_str(String::from_utf8_lossy(&output.stderr).trim());
    text
}
