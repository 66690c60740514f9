/*!
The rotation Lambda's handler: Secrets Manager invokes it with one of the four rotation
steps for a secret, and it runs the `rotation` engine for that step. It owns reading
the event (both step spellings, the secret as name or ARN) and its settings from the
environment; everything else is the engine's, so the Lambda, `orchestrator rotate` and
the Action rotate the same way.

Settings (environment variables of the function):
- `ELASTICACHE_ACTION_STACK` (required): the stack whose secrets it may rotate. A secret
  without that stack's tag is refused, so one function cannot be pointed at another
  stack's secrets.
- `ROTATION_TEST`: `connect` (default: AUTH and PING over TLS with the new credential;
  the function runs in the stack's subnets) or `control-plane`.
- `ROTATION_PREVIOUS`: `keep` (default) or a grace period such as `24h` (recorded for
  `orchestrator rotate --revoke-due`).
- `ROTATION_CA_FILE`: a PEM file of CA certificates to trust instead of the system's.
- `ROTATION_TIMEOUT`: how long one step may wait for ElastiCache (default `10m`; keep
  it under the function's timeout, at most 15 minutes).

It logs each step and wait (never a value) on stderr, which Lambda sends to CloudWatch
Logs, and fails the invocation on any error so Secrets Manager retries the rotation.
*/
#![deny(missing_docs)]

use std::time::Duration;

use rotation::{Event, Previous, Rotation, RunOptions, Step, TestMethod};
use serde::Deserialize;

/// The event Secrets Manager sends (`RotationToken` is read but not needed: the
/// function acts with its own role).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct RotationEvent {
    /// `createSecret`, `setSecret`, `testSecret`, `finishSecret` (or `create_secret`…).
    pub step: String,
    /// The secret's ARN (or, from moto and some tools, its name).
    pub secret_id: String,
    /// The version being rotated in.
    pub client_request_token: String,
    /// Present for cross-account or assumed-role rotation.
    #[serde(default)]
    pub rotation_token: Option<String>,
}

/// The function's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The stack whose secrets it rotates.
    pub stack: String,
    /// How steps run.
    pub run: RunOptions,
}

/// What stops an invocation. Never holds a credential.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A setting is missing or malformed.
    #[error("setting {name}: {problem}")]
    Setting {
        /// The environment variable.
        name: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The event is not a rotation step.
    #[error("{0}")]
    Event(String),
    /// The rotation stopped.
    #[error(transparent)]
    Rotation(#[from] rotation::RotationError),
}

impl Settings {
    /// The settings from `variable` (the environment, in the function).
    pub fn from_env(variable: impl Fn(&str) -> Option<String>) -> Result<Settings, HandlerError> {
        let setting = |name: &'static str, problem: String| HandlerError::Setting { name, problem };
        let stack = variable("ELASTICACHE_ACTION_STACK")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| setting("ELASTICACHE_ACTION_STACK", "is required".into()))?;
        let test = match variable("ROTATION_TEST").as_deref().unwrap_or("connect") {
            "connect" => TestMethod::Connect(rotation::connect_options(
                variable("ROTATION_CA_FILE").map(Into::into),
            )),
            "control-plane" => TestMethod::ControlPlane,
            other => {
                return Err(setting(
                    "ROTATION_TEST",
                    format!("`{other}` is neither connect nor control-plane"),
                ));
            }
        };
        let duration = |name: &'static str, text: &str| {
            humantime::parse_duration(text)
                .map_err(|_| setting(name, format!("`{text}` is not a duration such as 24h")))
        };
        let previous = match variable("ROTATION_PREVIOUS").as_deref().unwrap_or("keep") {
            "keep" => Previous::Keep,
            text => Previous::RevokeAfter(duration("ROTATION_PREVIOUS", text)?),
        };
        let timeout = match variable("ROTATION_TIMEOUT") {
            Some(text) => duration("ROTATION_TIMEOUT", &text)?,
            None => Duration::from_secs(10 * 60),
        };
        Ok(Settings {
            stack,
            run: RunOptions {
                previous,
                test,
                timeout,
                ..RunOptions::default()
            },
        })
    }
}

/// Runs the step `event` names for its secret, writing what it does to `log` (the
/// function writes it to stderr, which Lambda sends to CloudWatch Logs). No line can
/// hold a credential: events name versions, never values.
pub async fn handle(
    engine: &Rotation,
    settings: &Settings,
    event: &RotationEvent,
    log: &(dyn Fn(String) + Sync),
) -> Result<(), HandlerError> {
    let step: Step = event.step.parse().map_err(HandlerError::Event)?;
    let target = engine.target_of(&event.secret_id, &settings.stack).await?;
    let on_event = |event: Event| log(describe(&event));
    let version = &event.client_request_token;
    engine
        .rotation_step(&target, step, version, &settings.run, &on_event)
        .await?;
    log(format!(
        "{}: {} done for version {version}",
        target.describe(),
        event.step
    ));
    Ok(())
}

/// An event as a log line (no value can be in one).
fn describe(event: &Event) -> String {
    match event {
        Event::Step {
            target,
            step,
            version,
        } => format!("{target}: {step} (version {version})"),
        Event::Waiting {
            target,
            why,
            elapsed,
        } => format!("{target}: waiting, {why} ({}s)", elapsed.as_secs()),
    }
}
