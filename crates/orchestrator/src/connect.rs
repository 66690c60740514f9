//! `connect`: the connection check printed stage by stage, or `valkey-cli`/`redis-cli`
//! started with the stack's endpoint, TLS settings and credential (in the environment,
//! never on its command line).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use std::time::Duration;

use anyhow::bail;
use stack::connect::{Cause, Options, Report};
use stack::{ConnectionCheck, EndpointChoice, Stack};

use crate::render::Style;

/// What `connect` was asked.
pub struct ConnectRequest<'a> {
    pub user: Option<&'a str>,
    pub endpoint: EndpointChoice,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

/// `connect --check`: one line per stage, the likely cause of a failure, exit 1 on one.
pub async fn check(
    stack: &Stack,
    request: &ConnectRequest<'_>,
    json: bool,
    style: Style,
) -> anyhow::Result<ExitCode> {
    let options = Options {
        timeout: request.timeout,
        ca_file: request.ca_file.clone(),
    };
    let checked = stack
        .check_connection(request.user, request.endpoint, &options)
        .await?;
    let code = match checked.report.passed() {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(crate::EXIT_ERROR),
    };
    match json {
        true => println!("{}", serde_json::to_string_pretty(&checked)?),
        false => print!("{}", text(stack, &checked, style)),
    }
    Ok(code)
}

fn text(stack: &Stack, checked: &ConnectionCheck, style: Style) -> String {
    let tls = if checked.tls { " over TLS" } else { "" };
    let mut out = format!(
        "Connecting to stack {} at {}:{}{tls} with {}\n",
        stack.spec().stack,
        checked.host,
        checked.port,
        checked.credential
    );
    for stage in &checked.report.stages {
        out += &format!(
            "  {:<13}{:>6} ms  {}\n",
            stage.stage.as_str(),
            stage.latency.as_millis(),
            stage.detail
        );
    }
    let Some(failure) = &checked.report.failure else {
        out += &format!(
            "{} every stage passed in {} ms.\n",
            style.bold("OK:"),
            total(&checked.report)
        );
        return out;
    };
    out += &format!(
        "  {:<13}{:>6} ms  {} {}\n",
        failure.stage.as_str(),
        failure.latency.as_millis(),
        style.bold("FAILED:"),
        failure.cause
    );
    if let Some(cause) = &checked.likely_cause {
        let flag = match failure.cause {
            Cause::CertificateRejected { .. } => " (--ca-file, or ELASTICACHE_CA_FILE)",
            _ => "",
        };
        out += &format!("{} {cause}{flag}.\n", style.bold("Likely cause:"));
    }
    out
}

fn total(report: &Report) -> u128 {
    report.stages.iter().map(|s| s.latency.as_millis()).sum()
}

/// `connect [-- ARGS]`: the engine's own client, as an interactive shell or for one
/// command. The credential travels in REDISCLI_AUTH and VALKEYCLI_AUTH.
pub async fn client(
    stack: &Stack,
    request: &ConnectRequest<'_>,
    args: &[String],
) -> anyhow::Result<ExitCode> {
    // Before any AWS call: without a client there is nothing to hand the credential to.
    let Some(program) = find_client(stack.spec().engine.name.as_str()) else {
        bail!(
            "neither valkey-cli nor redis-cli is installed: install one (Debian and Ubuntu: apt-get install redis-tools; macOS: brew install valkey), or check the connection with `orchestrator connect SPEC --check`"
        );
    };
    let connection = stack.connection().await?;
    let endpoint = stack::endpoint(&connection, request.endpoint)?;
    let credential = stack.credential(&connection, request.user).await?;
    let mut command = Command::new(&program);
    command.args(["-h", &endpoint.host, "-p", &endpoint.port.to_string()]);
    if endpoint.tls {
        command.arg("--tls");
        if let Some(ca_file) = &request.ca_file {
            command.arg("--cacert").arg(ca_file);
        }
    }
    if endpoint.cluster_mode {
        command.arg("-c");
    }
    if let Some(user) = &credential.user {
        command.args(["--user", user]);
    }
    command
        .env_remove("REDISCLI_AUTH")
        .env_remove("VALKEYCLI_AUTH");
    if let Some(secret) = &credential.secret {
        command
            .env("REDISCLI_AUTH", secret.expose())
            .env("VALKEYCLI_AUTH", secret.expose());
    }
    command.args(args);
    // The client takes over this process: its exit code is the command's.
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    bail!("{} did not start: {error}", program.display())
}

/// The engine's own client first, the other one if only it is installed.
fn find_client(engine: &str) -> Option<PathBuf> {
    let order = match engine {
        "valkey" => ["valkey-cli", "redis-cli"],
        _ => ["redis-cli", "valkey-cli"],
    };
    let path = std::env::var_os("PATH")?;
    order.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
