//! `orchestrator rotate`: the stack's credentials rotated by the library, progress on
//! stderr, the outcome per credential on stdout (text or JSON).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use stack::rotation::{Done, TestMethod};
use stack::{RotateOptions, RotateWhich, Stack};

use crate::cli::TestArg;
use crate::progress::Reporter;

/// What the user asked of `rotate`.
pub struct RotateRequest {
    pub user: Option<String>,
    pub test: TestArg,
    pub revoke_due: bool,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub lock_timeout: Duration,
}

pub async fn rotate(
    stack: &Stack,
    request: &RotateRequest,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let options = RotateOptions {
        which: match &request.user {
            Some(user) => RotateWhich::User(user.clone()),
            None => RotateWhich::All,
        },
        revoke_due: request.revoke_due,
        test: match request.test {
            TestArg::Connect => TestMethod::Connect(stack::connect::Options {
                ca_file: request.ca_file.clone(),
                ..stack::connect::Options::default()
            }),
            TestArg::ControlPlane => TestMethod::ControlPlane,
        },
        timeout: request.timeout,
        lock_timeout: request.lock_timeout,
        ..RotateOptions::default()
    };
    let reporter = Reporter::new();
    let rotated = stack
        .rotate(&options, &|event| reporter.show_rotation(event))
        .await;
    reporter.finish();
    let rotated = rotated?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rotated)?);
        return Ok(ExitCode::SUCCESS);
    }
    for each in &rotated {
        println!("{}: {}", each.credential, outcome(&each.done, &each.secret));
    }
    Ok(ExitCode::SUCCESS)
}

fn outcome(done: &Done, secret: &str) -> String {
    match done {
        Done::Rotated { version } => {
            format!("rotated; secret {secret} now holds version {version} (AWSCURRENT)")
        }
        Done::Revoked { version } => {
            format!("the previous credential is revoked; only version {version} of {secret} works")
        }
        Done::NothingToRevoke { why } => format!("nothing to revoke: {why}"),
        Done::RevokeNotDue { due } => format!(
            "the previous credential stays valid until {} (auth.rotation.previous.revoke_after)",
            humantime::format_rfc3339_seconds(*due)
        ),
    }
}
