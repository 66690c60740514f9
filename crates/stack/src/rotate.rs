//! Rotating the stack's credentials: which secrets the spec gives it, each rotated by
//! the `rotation` engine while the stack's lock is held (so a rotation never meets an
//! apply's modification of the same group).

use std::time::Duration;

use rotation::{Done, Goal, Kind, Previous, RunOptions, Target, TestMethod};
use spec::{AuthMode, names};

use crate::lock::SerialRule;
use crate::{LockedRun, Stack, StackError};

/// Which of the stack's credentials to rotate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RotateWhich {
    /// Every credential the stack has: its AUTH token, or every RBAC user's password.
    #[default]
    All,
    /// One RBAC user's password.
    User(String),
}

/// How `Stack::rotate` runs.
#[derive(Debug, Clone)]
pub struct RotateOptions {
    /// Which credentials.
    pub which: RotateWhich,
    /// Rotate (resuming a pending rotation), or only revoke previous credentials
    /// whose grace period (`auth.rotation.previous.revoke_after`) has passed.
    pub revoke_due: bool,
    /// With `revoke_due`: revoke the previous credential now, whatever the spec's
    /// grace period (a service broker revoking an unbound binding's password).
    pub revoke_now: bool,
    /// The new version's id (its `ClientRequestToken`; default: a fresh one). The same
    /// id again finds that version current and finishes instead of rotating twice:
    /// a caller that may repeat itself (a broker resuming an operation) passes one.
    pub version: Option<String>,
    /// How each new credential is tested.
    pub test: TestMethod,
    /// How long to wait for ElastiCache, per credential.
    pub timeout: Duration,
    /// The first pause between looks while ElastiCache is busy.
    pub first_poll: Duration,
    /// How long to wait for another run's lock on the stack (zero: fail at once).
    pub lock_timeout: Duration,
}

impl Default for RotateOptions {
    fn default() -> Self {
        RotateOptions {
            which: RotateWhich::All,
            revoke_due: false,
            revoke_now: false,
            version: None,
            test: TestMethod::ControlPlane,
            timeout: Duration::from_secs(15 * 60),
            first_poll: Duration::from_secs(1),
            lock_timeout: Duration::ZERO,
        }
    }
}

/// How one credential's rotation ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rotated {
    /// The credential, in words (`the AUTH token of demo`, `user app's password`).
    pub credential: String,
    /// Its secret.
    pub secret: String,
    /// What happened.
    #[serde(flatten)]
    pub done: Done,
}

impl Stack {
    /// The credentials `which` names, as the rotation engine's targets.
    pub fn rotation_targets(&self, which: &RotateWhich) -> Result<Vec<Target>, StackError> {
        let spec = &self.spec;
        let target = |secret: String, kind: Kind| Target {
            stack: spec.stack.clone(),
            secret,
            replication_group_id: names::replication_group_id(spec),
            kind,
        };
        let nothing = || StackError::NothingToRotate {
            stack: spec.stack.clone(),
            mode: spec.auth.mode.as_str(),
        };
        match (spec.auth.mode, which) {
            (AuthMode::Token, RotateWhich::All) => {
                Ok(vec![target(names::token_secret(spec), Kind::AuthToken)])
            }
            (AuthMode::Token, RotateWhich::User(_)) => Err(StackError::NoUsers {
                stack: spec.stack.clone(),
                mode: spec.auth.mode.as_str(),
            }),
            (AuthMode::Rbac, which) => {
                let users = spec.auth.users.iter().filter(|user| match which {
                    RotateWhich::All => true,
                    RotateWhich::User(name) => &user.name == name,
                });
                let targets: Vec<Target> = users
                    .map(|user| {
                        let kind = Kind::UserPassword {
                            user_id: names::rbac_user_id(spec, &user.name),
                            user_name: user.name.clone(),
                        };
                        target(names::user_secret(spec, &user.name), kind)
                    })
                    .collect();
                match (targets.is_empty(), which) {
                    (true, RotateWhich::User(name)) => Err(StackError::UnknownUser {
                        stack: spec.stack.clone(),
                        user: crate::error::cut(name),
                        known: spec.auth.users.iter().map(|u| u.name.clone()).collect(),
                    }),
                    _ => Ok(targets),
                }
            }
            (AuthMode::None | AuthMode::Iam, _) => Err(nothing()),
        }
    }

    /// Rotates the credentials `options.which` names one after another, holding the
    /// stack's lock (it does not move the stack's serial: a plan made before stays
    /// valid). A rotation left pending by a run that died is resumed. Stops at the
    /// first credential that fails; those rotated before it stay rotated.
    pub async fn rotate(
        &self,
        options: &RotateOptions,
        on_event: &(dyn Fn(rotation::Event) + Sync),
    ) -> Result<Vec<Rotated>, StackError> {
        let targets = self.rotation_targets(&options.which)?;
        let engine = &self.rotation;
        let run = RunOptions {
            previous: match (
                options.revoke_now,
                self.spec.auth.rotation.previous.revoke_after(),
            ) {
                (true, _) => Previous::RevokeAfter(Duration::ZERO),
                (false, Some(grace)) => Previous::RevokeAfter(grace),
                (false, None) => Previous::Keep,
            },
            test: options.test.clone(),
            timeout: options.timeout,
            first_poll: options.first_poll,
            ..RunOptions::default()
        };
        let new_version = options
            .version
            .clone()
            .unwrap_or_else(rotation::new_version_id);
        let goal = match options.revoke_due {
            true => Goal::RevokeDue,
            false => Goal::Rotate {
                version: &new_version,
            },
        };
        let work = async {
            let mut rotated = Vec::new();
            for target in &targets {
                let done = engine.run(target, goal, &run, on_event).await?;
                rotated.push(Rotated {
                    credential: target.describe(),
                    secret: target.secret.clone(),
                    done,
                });
            }
            Ok(rotated)
        };
        let locked = LockedRun {
            command: if options.revoke_due {
                "rotate --revoke-due"
            } else {
                "rotate"
            },
            wait: options.timeout * u32::try_from(targets.len()).unwrap_or(u32::MAX),
            lock_timeout: options.lock_timeout,
            serial: SerialRule::Untouched,
        };
        self.while_locked(locked, work).await
    }
}
