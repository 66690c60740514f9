//! The loop: observe, decide, perform one step, until done. Waits on tokio's clock,
//! with a timeout, and tests with the `connect` crate or by the control plane alone.

use std::time::{Duration, SystemTime};

use connect::{Cause, Failure, Login};
use plan::Sensitive;
use tokio::time::Instant;

use crate::apply::{Which, Written};
use crate::decide::{Done, Goal, Memory, Next, next};
use crate::model::{Observed, Previous, Target};
use crate::{Rotation, RotationError};

/// How a run tests a credential.
#[derive(Debug, Clone)]
pub enum TestMethod {
    /// Connect with it: AUTH and PING (over TLS when the group has it). After a revoke,
    /// also prove the previous credential is refused. Needs a network path to the
    /// group (inside its VPC).
    Connect(connect::Options),
    /// Only wait until ElastiCache has applied the change (the group `available` with
    /// nothing pending, the user `active`), as AWS's RBAC rotation template does: for
    /// runners that cannot reach the group.
    ControlPlane,
}

/// Connection-test options trusting `ca_file` (a PEM file) instead of the system's
/// roots when given.
pub fn connect_options(ca_file: Option<std::path::PathBuf>) -> connect::Options {
    connect::Options {
        ca_file,
        ..connect::Options::default()
    }
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// What happens to the credential a rotation replaces.
    pub previous: Previous,
    /// How the new credential is tested.
    pub test: TestMethod,
    /// How long to wait for ElastiCache in all.
    pub timeout: Duration,
    /// The first pause between looks while ElastiCache is busy; it grows by half each
    /// time, up to `max_poll`.
    pub first_poll: Duration,
    /// The longest pause between looks.
    pub max_poll: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            previous: Previous::Keep,
            test: TestMethod::ControlPlane,
            timeout: Duration::from_secs(15 * 60),
            first_poll: Duration::from_secs(1),
            max_poll: Duration::from_secs(30),
        }
    }
}

/// Secrets Manager's four rotation steps, as its events name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `createSecret`: a new version staged AWSPENDING.
    Create,
    /// `setSecret`: the server accepts it.
    Set,
    /// `testSecret`: it works.
    Test,
    /// `finishSecret`: AWSCURRENT moves to it.
    Finish,
}

impl std::str::FromStr for Step {
    type Err = String;

    /// Both spellings: `createSecret` (every AWS template) and `create_secret` (the
    /// current user guide).
    fn from_str(text: &str) -> Result<Step, String> {
        match text {
            "createSecret" | "create_secret" => Ok(Step::Create),
            "setSecret" | "set_secret" => Ok(Step::Set),
            "testSecret" | "test_secret" => Ok(Step::Test),
            "finishSecret" | "finish_secret" => Ok(Step::Finish),
            other => Err(format!(
                "`{}` is not a rotation step (createSecret, setSecret, testSecret, finishSecret)",
                other.chars().take(40).collect::<String>()
            )),
        }
    }
}

/// Where a drive stopped.
enum Reached {
    Done(Done),
    Step(&'static str),
}

/// Progress, for the front end to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A step is about to run: `create`, `set`, `test`, `finish`, `record`, `revoke`,
    /// `test-revoked`, `record-revoked`.
    Step {
        /// Which credential.
        target: String,
        /// The step.
        step: &'static str,
        /// The version it acts on.
        version: String,
    },
    /// ElastiCache is busy.
    Waiting {
        /// Which credential.
        target: String,
        /// Why.
        why: String,
        /// Time since this wait began.
        elapsed: Duration,
    },
}

/// Steps one run may take (waits are bounded by the timeout instead): a rotation takes
/// at most eight, and each busy answer or lost write adds one; more means something
/// else keeps changing the state.
const MOST_STEPS: usize = 40;

impl Rotation {
    /// Works towards `goal` for `target` until done: resumes a pending rotation, waits
    /// while ElastiCache is busy (up to `options.timeout`), and fails at a failed test
    /// with AWSCURRENT untouched.
    pub async fn run(
        &self,
        target: &Target,
        goal: Goal<'_>,
        options: &RunOptions,
        on_event: &(dyn Fn(Event) + Sync),
    ) -> Result<Done, RotationError> {
        match self.drive(target, goal, options, None, on_event).await? {
            Reached::Done(done) => Ok(done),
            Reached::Step(step) => unreachable!("no stop was asked for, yet stopped before {step}"),
        }
    }

    /// Secrets Manager's step `step` of rotating in version `version`, as its rotation
    /// Lambda is asked for it: the engine runs towards that version and stops before
    /// the step after `step` (so `finish` runs to the end). Each invocation starts
    /// afresh: whatever an earlier one did is read from AWS, or safely done again.
    pub async fn rotation_step(
        &self,
        target: &Target,
        step: Step,
        version: &str,
        options: &RunOptions,
        on_event: &(dyn Fn(Event) + Sync),
    ) -> Result<(), RotationError> {
        let stop = match step {
            Step::Create => Some("set"),
            Step::Set => Some("test"),
            Step::Test => Some("finish"),
            Step::Finish => None,
        };
        let observed = self.observe(target).await?;
        let secret = &observed.secret;
        if secret
            .current()
            .is_some_and(|current| current.id == version)
        {
            return Ok(());
        }
        let pending = secret.pending().map(|p| p.id.as_str());
        match (step, pending) {
            (Step::Create, Some(other)) if other != version => {
                return Err(RotationError::OtherRotationPending {
                    secret: target.secret.clone(),
                    pending: other.to_owned(),
                });
            }
            (Step::Set | Step::Test | Step::Finish, pending) if pending != Some(version) => {
                return Err(RotationError::NotPending {
                    secret: target.secret.clone(),
                    version: version.to_owned(),
                });
            }
            _ => {}
        }
        let goal = Goal::Rotate { version };
        if step == Step::Test {
            let planned = next(
                target,
                &observed,
                options.previous,
                goal,
                &Memory::default(),
                SystemTime::now(),
            )?;
            if matches!(planned.name(), Some("create" | "set")) {
                // Nothing of a rotation has happened to this version: Secrets Manager
                // checks a configuration enabled with `RotateImmediately=false` by
                // running testSecret on a throwaway AWSPENDING version. The working
                // credential is tested; nothing is written.
                return self
                    .test_credential(
                        target,
                        &observed,
                        Which::Stage("AWSCURRENT"),
                        "current",
                        &options.test,
                    )
                    .await;
            }
        }
        self.drive(target, goal, options, stop, on_event).await?;
        Ok(())
    }

    /// The loop of [`Rotation::run`], stopping before a step named `stop`.
    async fn drive(
        &self,
        target: &Target,
        goal: Goal<'_>,
        options: &RunOptions,
        stop: Option<&'static str>,
        on_event: &(dyn Fn(Event) + Sync),
    ) -> Result<Reached, RotationError> {
        let mut memory = Memory::default();
        let mut waiting: Option<(Instant, Duration)> = None;
        let started = Instant::now();
        let mut steps = 0;
        loop {
            let observed = self.observe(target).await?;
            let step = next(
                target,
                &observed,
                options.previous,
                goal,
                &memory,
                SystemTime::now(),
            )?;
            if stop.is_some() && stop == step.name() {
                return Ok(Reached::Step(stop.unwrap_or_default()));
            }
            let written = match step {
                Next::Done(done) => return Ok(Reached::Done(done)),
                Next::Wait { why } => {
                    let (since, pause) =
                        *waiting.get_or_insert((Instant::now(), options.first_poll));
                    self.pause(target, &why, since, pause, started, options, on_event)
                        .await?;
                    waiting = Some((since, pause.mul_f64(1.5).min(options.max_poll)));
                    continue;
                }
                step => {
                    steps += 1;
                    if steps > MOST_STEPS {
                        return Err(RotationError::NoProgress(MOST_STEPS));
                    }
                    waiting = None;
                    memory.note(&step);
                    if let (Some(name), Some(version)) = (step.name(), step.version()) {
                        on_event(Event::Step {
                            target: target.describe(),
                            step: name,
                            version: version.to_owned(),
                        });
                    }
                    self.perform(target, &observed, step, options, &mut memory)
                        .await?
                }
            };
            if let Written::Busy = written {
                let pause = options.first_poll;
                let why = format!("{} is busy", target.replication_group_id);
                self.pause(
                    target,
                    &why,
                    Instant::now(),
                    pause,
                    started,
                    options,
                    on_event,
                )
                .await?;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn pause(
        &self,
        target: &Target,
        why: &str,
        since: Instant,
        pause: Duration,
        started: Instant,
        options: &RunOptions,
        on_event: &(dyn Fn(Event) + Sync),
    ) -> Result<(), RotationError> {
        if started.elapsed() >= options.timeout {
            return Err(RotationError::TimedOut {
                waited: whole_seconds(started.elapsed()),
                why: why.to_owned(),
            });
        }
        on_event(Event::Waiting {
            target: target.describe(),
            why: why.to_owned(),
            elapsed: since.elapsed(),
        });
        let left = options.timeout.saturating_sub(started.elapsed());
        tokio::time::sleep(pause.min(left)).await;
        Ok(())
    }

    async fn perform(
        &self,
        target: &Target,
        observed: &Observed,
        step: Next,
        options: &RunOptions,
        memory: &mut Memory,
    ) -> Result<Written, RotationError> {
        match step {
            Next::Create { version } => self.create(target, &version).await,
            Next::Set { pending, current } => {
                let written = self.set(target, &pending, &current).await?;
                if let Written::Done = written {
                    memory.set = Some(pending);
                }
                Ok(written)
            }
            Next::Test { pending } => {
                self.test_new(target, observed, &pending, &options.test)
                    .await?;
                memory.tested = Some(pending);
                Ok(Written::Done)
            }
            Next::Finish { pending, current } => self.finish(target, &pending, &current).await,
            Next::Record { current, replaced } => {
                self.record(target, &current, replaced.as_deref(), SystemTime::now())
                    .await
            }
            Next::Revoke { current } => {
                let written = self.revoke(target, &current).await?;
                if let Written::Done = written {
                    memory.revoke_set = Some(current);
                }
                Ok(written)
            }
            Next::TestRevoked { current, previous } => {
                self.test_revoked(target, observed, (&current, &previous), &options.test)
                    .await?;
                memory.revoke_tested = Some(current);
                Ok(Written::Done)
            }
            Next::RecordRevoked { current } => self.record_revoked(target, &current).await,
            Next::Wait { .. } | Next::Done(_) => Ok(Written::Done),
        }
    }

    /// The pending credential works (or, by the control plane, is applied: the
    /// decision only tests once nothing is pending).
    async fn test_new(
        &self,
        target: &Target,
        observed: &Observed,
        pending: &str,
        method: &TestMethod,
    ) -> Result<(), RotationError> {
        self.test_credential(target, observed, Which::Id(pending), "new", method)
            .await
    }

    /// The credential `which` (`what` in errors: new, current) works.
    async fn test_credential(
        &self,
        target: &Target,
        observed: &Observed,
        which: Which<'_>,
        what: &str,
        method: &TestMethod,
    ) -> Result<(), RotationError> {
        let TestMethod::Connect(options) = method else {
            return Ok(());
        };
        let value = self.value(&target.secret, which).await?;
        let login = login(value.username(), &value.credential());
        match self.try_login(observed, &login, options).await? {
            None => Ok(()),
            Some(failure) => Err(RotationError::TestFailed {
                what: format!("the {what} credential of {}", target.describe()),
                why: words(&failure),
            }),
        }
    }

    /// The current credential works and the previous one is refused.
    async fn test_revoked(
        &self,
        target: &Target,
        observed: &Observed,
        (current, previous): (&str, &str),
        method: &TestMethod,
    ) -> Result<(), RotationError> {
        let TestMethod::Connect(options) = method else {
            return Ok(());
        };
        let (now, before) = futures::try_join!(
            self.value(&target.secret, Which::Id(current)),
            self.value(&target.secret, Which::Id(previous)),
        )?;
        if let Some(failure) = self
            .try_login(observed, &login(now.username(), &now.credential()), options)
            .await?
        {
            return Err(RotationError::TestFailed {
                what: format!("the current credential of {}", target.describe()),
                why: words(&failure),
            });
        }
        let old = login(before.username(), &before.credential());
        match self.try_login(observed, &old, options).await? {
            Some(failure) if matches!(failure.cause, Cause::WrongPass { .. }) => Ok(()),
            Some(failure) => Err(RotationError::TestFailed {
                what: format!(
                    "that the previous credential of {} is refused",
                    target.describe()
                ),
                why: format!(
                    "it failed otherwise than by being refused: {}",
                    words(&failure)
                ),
            }),
            None => Err(RotationError::TestFailed {
                what: format!(
                    "that the previous credential of {} is refused",
                    target.describe()
                ),
                why: "the server still accepts it".to_owned(),
            }),
        }
    }

    /// Logs in to the group; `None` when the login worked, else the stage that failed.
    async fn try_login(
        &self,
        observed: &Observed,
        login: &Login,
        options: &connect::Options,
    ) -> Result<Option<Failure>, RotationError> {
        let endpoint = observed
            .group
            .endpoint
            .as_ref()
            .ok_or_else(|| RotationError::Connect("the group reports no endpoint".into()))?;
        let report = connect::check(endpoint, login, options)
            .await
            .map_err(|e| RotationError::Connect(e.to_string()))?;
        // A user whose access string forbids PING or ACL WHOAMI has logged in all the
        // same: the credential works.
        Ok(report
            .failure
            .filter(|failure| !matches!(failure.cause, Cause::NoPerm { .. })))
    }
}

/// A failed connection stage in words (the connection check's, which never hold a
/// credential).
fn words(failure: &Failure) -> String {
    format!(
        "the {} stage failed: {}",
        failure.stage.as_str(),
        failure.cause
    )
}

fn login(user: Option<String>, credential: &Sensitive) -> Login {
    let secret = credential.expose().to_owned().into();
    match user {
        Some(name) => Login::User {
            name,
            password: secret,
        },
        None => Login::Token(secret),
    }
}

fn whole_seconds(elapsed: Duration) -> String {
    humantime::format_duration(Duration::from_secs(elapsed.as_secs())).to_string()
}
