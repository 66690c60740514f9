//! `elasticache-broker CONFIG`: serves the Open Service Broker API with the
//! configuration in CONFIG. The library does the work; this reads the configuration and
//! the credentials, sets up logging and serves until SIGTERM or Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

mod tls;

use anyhow::Context;
use broker::config::CredentialSources;
use broker::{BasicAuth, Broker};
use clap::Parser;

/// An Open Service Broker (API 2.17) for ElastiCache stacks.
///
/// CONFIG is the broker's YAML file: where it listens (HTTPS when it names a `tls`
/// certificate and key), where the platform's basic-auth credentials are read from
/// (environment variables or files, never the values), the platform's shared stack
/// settings, and the catalog of services and plans. It is checked before anything is
/// served; every problem is printed with its line.
///
/// State lives in AWS (SSM parameters under /elasticache-action/broker/), so the broker
/// can be stopped at any moment and run as several replicas: an operation a stopped
/// broker left is resumed by the next poll of its last_operation.
///
/// Example:
///   BROKER_USERNAME=cf BROKER_PASSWORD=… elasticache-broker examples/broker/config.yaml
#[derive(Debug, Parser)]
#[command(name = "elasticache-broker", version, verbatim_doc_comment)]
struct Args {
    /// The broker's configuration file.
    config: PathBuf,
    /// Check the configuration and exit (0 valid, 1 not).
    #[arg(long)]
    check: bool,
    /// Log lines as `text` (default) or `json` (one object per line, for a log
    /// pipeline). The level comes from RUST_LOG (default `info`). No log line holds a
    /// credential.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format.as_str() {
        "json" => logs.json().init(),
        _ => logs.init(),
    }
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let file = args.config.display().to_string();
    let source =
        std::fs::read_to_string(&args.config).with_context(|| format!("cannot read {file}"))?;
    let config = broker::parse(&source, &file).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    if args.check {
        println!("{file}: valid");
        return Ok(());
    }
    let auth = read_credentials(&config.credentials)?;
    let tls = match &config.tls {
        Some(files) => Some(tls::server_config(
            files.cert_file.as_ref(),
            files.key_file.as_ref(),
        )?),
        None => None,
    };
    let address = config
        .listen_address()
        .context("the configuration's listen address")?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%address, scheme, "serving the Open Service Broker API");
    let region = config
        .platform
        .get("region")
        .and_then(|r| r.as_str())
        .context("platform.region")?
        .to_owned();
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .retry_config(stack::retry_config())
        .load()
        .await;
    let app = broker::router(Arc::new(Broker::new(config, auth, aws)));
    // Operations still running when the broker stops are in progress in their records:
    // the next poll, here or at another replica, resumes them.
    match tls {
        Some(tls) => {
            let listener = tls::TlsListener::new(listener, tls).context("TLS listener")?;
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown())
                .await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown())
                .await
        }
    }
    .context("serving")
}

fn read_credentials(sources: &CredentialSources) -> anyhow::Result<BasicAuth> {
    let read = |env: &Option<String>, file: &Option<String>| -> anyhow::Result<String> {
        match (env, file) {
            (Some(name), _) => std::env::var(name)
                .with_context(|| format!("environment variable {name} is not set")),
            (None, Some(path)) => Ok(std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {path}"))?
                .trim_end()
                .to_owned()),
            (None, None) => anyhow::bail!("no source for a credential"),
        }
    };
    let username = read(&sources.username_env, &sources.username_file)?;
    let password = read(&sources.password_env, &sources.password_file)?;
    anyhow::ensure!(!password.is_empty(), "the broker's password is empty");
    Ok(BasicAuth::new(username, password))
}

/// Resolves on SIGTERM (how platforms stop a process) or Ctrl-C.
async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
