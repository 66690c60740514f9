/*!
Plans, applies and destroys a whole stack by running the step crates in order:
network (steps 1-3), kms (4-5), logs (6), secrets (7), cluster (8) and policies (SSM
connection parameters and IAM policies). This is the library API every front end calls
(the orchestrator binary, the GitHub Action through it, credential rotation, a service
broker), so none of them re-implements step order.

It owns: AWS configuration for a spec ([`aws_config_for`]), the order of steps and
passing each step's outputs to the next (one driver for plan and apply), applying
exactly the plan the user saw ([`StackPlan`]), refusing replacements the user did not
allow, progress as [`Event`]s, and what front ends hand on: the versioned plan JSON
([`StackReport`]), how to connect ([`Connection`]) and errors with a [`Hint`] each
front end words for itself. It does not own what a step observes or changes (the step
crates do) and owns no runtime: every operation is a `Send + 'static`-spawnable future.
It never prints.

Architecture invariant: every AWS write happens inside [`Stack::apply`],
[`Stack::destroy`] or [`Stack::rotate`]; [`Stack::plan`], [`Stack::plan_destroy`] and [`Stack::outputs`]
only read.

```no_run
use stack::{ApplyOptions, Stack, StackError};

async fn converge(path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let spec = spec::load(path)?;
    let config = stack::aws_config_for(&spec).await;
    let stack = Stack::new(spec, &config);
    let plan = stack.plan().await?;
    println!("{}", plan.plan().summary());
    if plan.has_changes() {
        // Show the plan, ask, then apply exactly it.
        match stack.apply(&plan, ApplyOptions::default(), &|_event| {}).await {
            Err(error @ StackError::ChangedSincePlan { .. }) => eprintln!("{error}: plan again"),
            other => drop(other?),
        }
    }
    Ok(())
}
```
*/
#![deny(missing_docs)]

mod check;
mod connection;
mod destroy;
mod diagnose;
mod driver;
mod error;
mod estimate;
mod lock;
mod outputs;
mod preflight;
mod report;
mod rotate;
mod steps;
mod token;

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_error::aws_error;
use cluster::Cluster;
pub use cluster::{Progress, WaitOptions, format_duration};
use kms::Kms;
use logs::Logs;
use network::Network;
use plan::Change;
use policies::Policies;
use secrets::Secrets;
use spec::Spec;
use spec::names::Scope;

pub use check::{ConnectionCheck, Credential, EndpointChoice, endpoint, likely_cause};
/// The connection check's own types ([`connect::Options`], [`connect::Report`]).
pub use connect;
pub use connection::{Connection, ConnectionAuth, ConnectionUser, SecretRef};
pub use destroy::DestroyPlan;
pub use diagnose::IamDiagnosis;
use driver::Mode;
pub use driver::StackPlan;
pub use error::{Hint, StackError};
pub use lock::{LOCK_LEASE_MARGIN, LockInfo};
pub use outputs::StackOutputs;
pub use report::{REPORT_FORMAT_VERSION, StackReport};
pub use rotate::{RotateOptions, RotateWhich, Rotated};
/// The rotation engine's types ([`rotation::TestMethod`], [`rotation::Event`], [`rotation::Done`]).
pub use rotation;
use steps::ApplyContext;

/// Loads AWS configuration the way the AWS CLI does (environment, profiles, SSO, web
/// identity for GitHub OIDC, `AWS_ENDPOINT_URL`), in the spec's region, with the SDK's
/// standard retries ([`retry_config`]).
pub async fn aws_config_for(spec: &Spec) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(spec.region.clone()))
        .retry_config(retry_config())
        .load()
        .await
}

/// How many times a call that failed on the way (throttled, a 5xx, no answer) is sent
/// in all. The SDK's standard is 3; a stack's apply makes about a hundred calls, and with
/// 3 a bad minute of AWS (one call in five failing) would stop half the applies, where 6
/// stops almost none. Terraform's AWS provider allows 25. Creates that AWS cannot make
/// idempotent are never retried by the SDK: the step crates look before sending again.
pub const AWS_MAX_ATTEMPTS: u32 = 6;

/// The SDK's standard retries (exponential backoff with jitter), [`AWS_MAX_ATTEMPTS`]
/// attempts.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(AWS_MAX_ATTEMPTS)
}

/// Progress as apply and destroy go, for the front end to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A step with changes starts writing (steps with none send no events).
    StepStarted {
        /// The step's name.
        step: &'static str,
        /// How many resources it changes.
        changes: usize,
    },
    /// A step finished its changes without error.
    StepFinished {
        /// The step's name.
        step: &'static str,
    },
    /// Still waiting for ElastiCache.
    Waiting {
        /// What is waited for.
        resource: String,
        /// Its status now.
        status: String,
        /// Time since the wait began.
        elapsed: Duration,
    },
}

impl From<cluster::Progress> for Event {
    fn from(progress: cluster::Progress) -> Self {
        Event::Waiting {
            resource: progress.resource,
            status: progress.status,
            elapsed: progress.elapsed,
        }
    }
}

/// Choices the user makes for an apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Replace resources whose attributes AWS cannot change in place.
    pub allow_replacement: bool,
    /// How long to wait for ElastiCache, and whether to wait after the last change.
    pub wait: WaitOptions,
    /// How long to wait for another run's lock on the stack (zero: fail at once).
    pub lock_timeout: Duration,
}

/// Choices the user makes for a destroy.
#[derive(Debug, Clone, Copy, Default)]
pub struct DestroyOptions {
    /// Delete secrets at once instead of keeping them restorable for the recovery window.
    pub force_delete_secrets: bool,
    /// Delete the replication group without a final snapshot.
    pub skip_final_snapshot: bool,
    /// How long to wait for the replication group to be deleted.
    pub wait: WaitOptions,
    /// How long to wait for another run's lock on the stack (zero: fail at once).
    pub lock_timeout: Duration,
}

/// Who the stack acts as: the caller's account and the region.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// The AWS account id.
    pub account: String,
    /// The region.
    pub region: String,
}

impl Identity {
    fn scope(&self) -> Scope {
        Scope::new(&self.account, &self.region)
    }
}

/// A stack: a validated spec and the clients its steps use.
#[derive(Debug, Clone)]
pub struct Stack {
    spec: Spec,
    config: SdkConfig,
    network: Network,
    kms: Kms,
    logs: Logs,
    secrets: Secrets,
    cluster: Cluster,
    /// The secrets' connection fields, written after the cluster step.
    documents: secrets::document::Documents,
    /// The credential rotation engine.
    rotation: rotation::Rotation,
    policies: Policies,
    /// The rotation function and what it needs (`auth.rotation.runner: lambda`).
    runner: rotation_runner::Runner,
    /// Who the caller is does not change while the stack is in use: asked once.
    identity: OnceLock<Identity>,
    /// The caller's ARN, for the lock to record.
    caller: OnceLock<String>,
    ssm: aws_sdk_ssm::Client,
    /// Prices, asked once per product for the stack's lifetime (one run); the client
    /// is made by the first front end that prices, not by every `Stack::new`.
    prices: OnceLock<cost::PriceList>,
}

impl Stack {
    /// The stack `spec` describes, acting through `config`.
    pub fn new(spec: Spec, config: &SdkConfig) -> Stack {
        let elasticache = aws_sdk_elasticache::Client::new(config);
        let secrets_client = aws_sdk_secretsmanager::Client::new(config);
        let secrets = Secrets::new(secrets_client.clone());
        Stack {
            rotation: rotation::Rotation::new(secrets_client.clone(), elasticache.clone()),
            network: Network::new(aws_sdk_ec2::Client::new(config), elasticache.clone()),
            kms: Kms::new(aws_sdk_kms::Client::new(config)),
            logs: Logs::new(aws_sdk_cloudwatchlogs::Client::new(config)),
            documents: secrets::document::Documents::new(secrets.clone()),
            secrets,
            cluster: Cluster::new(elasticache),
            policies: Policies::new(
                aws_sdk_ssm::Client::new(config),
                aws_sdk_iam::Client::new(config),
            ),
            runner: rotation_runner::Runner::new(
                aws_sdk_iam::Client::new(config),
                aws_sdk_ec2::Client::new(config),
                aws_sdk_lambda::Client::new(config),
                secrets_client.clone(),
            ),
            ssm: aws_sdk_ssm::Client::new(config),
            prices: OnceLock::new(),
            caller: OnceLock::new(),
            config: config.clone(),
            spec,
            identity: OnceLock::new(),
        }
    }

    /// The spec.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The account and region the stack would be applied in (asked of STS once).
    pub async fn identity(&self) -> Result<Identity, StackError> {
        if let Some(identity) = self.identity.get() {
            return Ok(identity.clone());
        }
        let sts = aws_sdk_sts::Client::new(&self.config);
        let caller = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(aws_error("GetCallerIdentity"))
            .map_err(|cause| self.unreachable_region(cause))?;
        let identity = Identity {
            account: caller.account().unwrap_or_default().to_owned(),
            region: self.spec.region.clone(),
        };
        let arn = caller.arn().unwrap_or("an unknown identity");
        self.caller.get_or_init(|| arn.to_owned());
        Ok(self.identity.get_or_init(|| identity).clone())
    }

    /// Everything that would change. Reads only: the steps are observed concurrently,
    /// then diffed in order, each with the outputs the steps before it will produce.
    pub async fn plan(&self) -> Result<StackPlan, StackError> {
        let (observed, lock) =
            futures::join!(self.observe_all(), lock::state(&self.ssm, &self.spec.stack));
        // The observation's error first: it puts who the caller is first.
        let (identity, _, observation) = match observed {
            Ok(observed) => observed,
            Err(err) => return Err(self.unknown_region_or(err).await),
        };
        let lock = lock?;
        let scope = identity.scope();
        let walk = self.walk(&scope, Mode::Plan(Box::new(observation))).await?;
        let mut plan = walk.plan(&self.spec.stack);
        preflight::check(&self.spec, &self.config, &plan).await?;
        plan.warnings.extend(lock.held.as_ref().map(lock_warning));
        Ok(StackPlan {
            plan,
            identity,
            serial: lock.serial,
            walk,
        })
    }

    /// `err`, or, when an endpoint answered with something that is not AWS's (as the
    /// emulator does for a region it does not know), that the spec's region is not one
    /// it lists. Asked only after a failure, so a plan pays nothing for it.
    pub(crate) async fn unknown_region_or(&self, err: StackError) -> StackError {
        let Some(cause) = err
            .aws()
            .filter(|e| matches!(e.fault, aws_error::Fault::NotAws { .. }))
        else {
            return err;
        };
        let endpoint = cause
            .unreachable_override()
            .unwrap_or_else(|| "AWS".to_owned());
        let home = self
            .config
            .to_builder()
            .region(aws_config::Region::from_static("us-east-1"))
            .build();
        let listed = aws_sdk_ec2::Client::new(&home)
            .describe_regions()
            .all_regions(true)
            .send()
            .await;
        let Ok(listed) = listed else {
            return err;
        };
        let mut regions: Vec<String> = listed
            .regions()
            .iter()
            .filter_map(|r| r.region_name().map(str::to_owned))
            .collect();
        if regions.is_empty() || regions.contains(&self.spec.region) {
            return err;
        }
        regions.sort();
        StackError::UnknownRegion {
            region: self.spec.region.clone(),
            endpoint,
            regions,
        }
    }

    /// The first call to AWS failing on the way, with AWS's own endpoints, means the
    /// region's endpoints do not answer: say so instead of naming a host.
    fn unreachable_region(&self, cause: aws_error::AwsError) -> StackError {
        let own_endpoints = cause.unreachable_override().is_none();
        if cause.fault == aws_error::Fault::Transport && own_endpoints {
            return StackError::RegionUnreachable {
                region: self.spec.region.clone(),
                cause,
            };
        }
        StackError::Aws(cause)
    }

    /// What the stack hands to applications as it stands, without changing anything:
    /// each step's outputs as observed (values of resources not created yet are
    /// unknown), and whether the stack differs from the spec.
    pub async fn outputs(&self) -> Result<(StackOutputs, bool), StackError> {
        let plan = self.plan().await?;
        Ok((plan.outputs(), plan.has_changes()))
    }

    /// Applies `plan`, which [`Stack::plan`] made and the user saw, step by step: each
    /// step is diffed again with the real outputs of the steps before it and applied
    /// only if that is what the plan showed ([`StackError::ChangedSincePlan`] if not;
    /// plan again). Steps that change existing resources are observed again right before
    /// their writes; nothing else is read again. Running it twice changes nothing the
    /// second time.
    ///
    /// Replacements in the plan are refused before the first write unless
    /// `options.allow_replacement`.
    pub async fn apply(
        &self,
        plan: &StackPlan,
        options: ApplyOptions,
        on_event: &(dyn Fn(Event) + Sync),
    ) -> Result<StackOutputs, StackError> {
        self.check_plan_is_mine(&plan.plan)?;
        refuse_replacements(&plan.plan.changes, options)?;
        let context = ApplyContext {
            options,
            on_event,
            secrets: &self.secrets,
        };
        let scope = plan.identity.scope();
        let walk = self.walk(&scope, Mode::Apply(&plan.walk, context));
        if !plan.has_changes() {
            // Nothing to write: no lock to take, nothing a stale plan could duplicate.
            return Ok(walk.await?.outputs());
        }
        let locked = LockedRun {
            command: "apply",
            wait: options.wait.timeout,
            lock_timeout: options.lock_timeout,
            serial: lock::SerialRule::Planned(plan.serial.as_deref()),
        };
        Ok(self.while_locked(locked, walk).await?.outputs())
    }

    /// Runs `work` holding the stack's lock, given back whatever `work` returns, once
    /// the stack's serial shows no other run changed it since the plan. The lease covers
    /// two ElastiCache waits of `wait` each, plus [`LOCK_LEASE_MARGIN`].
    async fn while_locked<T>(
        &self,
        locked: LockedRun<'_>,
        work: impl Future<Output = Result<T, StackError>>,
    ) -> Result<T, StackError> {
        self.identity().await?;
        let holder = self.caller.get().map(String::as_str).unwrap_or_default();
        let request = lock::LockRequest {
            command: locked.command,
            holder,
            runs_for: locked.wait * 2,
            timeout: locked.lock_timeout,
            serial: locked.serial,
        };
        let held = lock::acquire(&self.ssm, &self.spec.stack, &request).await?;
        let result = work.await;
        let released = held.release(&self.spec.stack).await;
        let value = result?;
        released?;
        Ok(value)
    }

    /// Removes the lock `id` that a run left on this stack when it died (`terraform
    /// force-unlock`): only that lock, so a lock taken since is never removed. Returns
    /// what the lock recorded.
    pub async fn unlock(&self, id: &str) -> Result<LockInfo, StackError> {
        lock::unlock(&self.ssm, &self.spec.stack, id).await
    }

    /// The lock on this stack, if a run holds one.
    pub async fn lock_holder(&self) -> Result<Option<LockInfo>, StackError> {
        Ok(lock::held(&self.ssm, &self.spec.stack).await?)
    }

    fn check_plan_is_mine(&self, plan: &plan::Plan) -> Result<(), StackError> {
        if plan.stack == self.spec.stack {
            return Ok(());
        }
        Err(StackError::WrongPlan {
            planned: plan.stack.clone(),
            stack: self.spec.stack.clone(),
        })
    }
}

/// What a run holding the lock is, for the lock to record and check.
pub(crate) struct LockedRun<'a> {
    pub command: &'static str,
    /// How long each ElastiCache wait may take.
    pub wait: Duration,
    pub lock_timeout: Duration,
    /// What the run does with the stack's serial.
    pub serial: lock::SerialRule<'a>,
}

/// What a plan says about a held lock: apply will wait for it or fail.
pub(crate) fn lock_warning(held: &LockInfo) -> String {
    format!(
        "the stack is locked by {held}: an apply or destroy now waits for it (--lock-timeout) or fails"
    )
}

fn count_changes(changes: &[Change]) -> usize {
    changes.iter().filter(|c| c.is_change()).count()
}

/// Refuses the replacements among `changes` unless the user allowed them. [`Stack::apply`]
/// checks every step with it; front ends call it to refuse before asking the user.
pub fn refuse_replacements(changes: &[Change], options: ApplyOptions) -> Result<(), StackError> {
    let replaced: Vec<&Change> = changes
        .iter()
        .filter(|c| c.action == plan::Action::Replace)
        .collect();
    if replaced.is_empty() || options.allow_replacement {
        return Ok(());
    }
    Err(StackError::ReplacementRefused {
        resources: replaced.iter().map(|c| c.resource.to_string()).collect(),
        attributes: replaced
            .iter()
            .flat_map(|c| c.replaced_by())
            .map(str::to_owned)
            .collect(),
    })
}

/// Compile-time check that a server can `tokio::spawn` every operation: each future is
/// `Send + 'static` once it owns its stack and plan.
#[allow(dead_code)]
fn operations_are_spawnable(stack: Stack, plan: StackPlan, destroy: DestroyPlan) {
    fn spawnable<T>(_: impl Future<Output = T> + Send + 'static) {}
    let (first, second, third) = (stack.clone(), stack.clone(), stack.clone());
    let (sixth, priced) = (stack.clone(), plan.clone());
    let (fourth, fifth) = (stack.clone(), stack);
    spawnable(async move { first.plan().await });
    spawnable(async move { sixth.cost(&priced).await });
    spawnable(async move { second.outputs().await });
    spawnable(async move { third.apply(&plan, ApplyOptions::default(), &|_| {}).await });
    spawnable(async move { fifth.rotate(&RotateOptions::default(), &|_| {}).await });
    spawnable(async move {
        let planned = fourth.plan_destroy(DestroyOptions::default()).await?;
        fourth.destroy_cost(&planned).await;
        fourth.destroy(&planned, &|_| {}).await?;
        fourth.destroy(&destroy, &|_| {}).await
    });
}
