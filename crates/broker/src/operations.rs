//! Running operations: a background task brings a stack to what its records ask for
//! (the instance's plan and parameters, a user per binding) with the stack's idempotent
//! apply, or destroys it, and writes each operation's outcome to its record. Any replica
//! may start one (a request, or a poll that finds an operation nobody here runs); the
//! stack's lock lets only one apply at a time, and the loser leaves the records as they
//! are for the winner or a later poll.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use stack::{ApplyOptions, DestroyOptions, RotateOptions, RotateWhich, Stack, StackError};

use crate::binding::{self, BindingUser};
use crate::config::BrokerConfig;
use crate::instance;
use crate::record::{
    BindingRecord, Kind, Operation, Record, RecordError, Records, State, Tombstone,
};

/// How long an operation waits for another run's lock before leaving the work to it.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// How many times an apply refused as stale (another run applied since its plan) plans
/// again.
const REPLANS: u32 = 3;

/// Passes one run makes at most: each settles every operation it saw, so a second is
/// needed only for requests that came during the first.
const MAX_PASSES: u32 = 10;

/// The operations this replica runs, and what they need.
#[derive(Debug)]
pub struct Engine {
    aws: SdkConfig,
    records: Records,
    running: Mutex<HashSet<String>>,
}

/// What one pass over a stack's records did.
enum Pass {
    /// Nothing was in progress.
    Idle,
    /// It settled the operations it saw; others may have come since.
    Worked,
    /// Another run holds the stack's lock: it, or a later poll, finishes.
    Locked,
}

impl Engine {
    /// An engine acting through `aws` (the platform's account and region).
    pub fn new(aws: SdkConfig) -> Self {
        Engine {
            records: Records::new(aws_sdk_ssm::Client::new(&aws)),
            aws,
            running: Mutex::new(HashSet::new()),
        }
    }

    /// The records.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// A stack of `spec` acting through the engine's AWS configuration.
    pub fn stack(&self, spec: spec::Spec) -> Stack {
        Stack::new(spec, &self.aws)
    }

    /// Brings `stack` to what its records ask for, in the background, unless this
    /// replica does so already: every operation in progress (the instance's and its
    /// bindings') is settled by one apply or destroy.
    pub fn ensure_running(self: &Arc<Self>, config: Arc<BrokerConfig>, stack: String) {
        let fresh = self
            .running
            .lock()
            .map(|mut running| running.insert(stack.clone()))
            .unwrap_or(false);
        if !fresh {
            return;
        }
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            for _ in 0..MAX_PASSES {
                match Box::pin(engine.pass(&config, &stack)).await {
                    Ok(Pass::Worked) => continue,
                    Ok(Pass::Idle | Pass::Locked) => break,
                    Err(error) => {
                        tracing::warn!(%stack, %error, "could not record an operation's outcome");
                        break;
                    }
                }
            }
            if let Ok(mut running) = engine.running.lock() {
                running.remove(&stack);
            }
        });
    }

    async fn pass(&self, config: &BrokerConfig, stack: &str) -> Result<Pass, RecordError> {
        let Some(instance) = self.records.get(stack).await? else {
            return Ok(Pass::Idle);
        };
        let bindings = self.records.bindings(stack).await?;
        let instance_pending = instance.operation.state == State::InProgress;
        let pending: Vec<&BindingRecord> = bindings
            .iter()
            .filter(|b| b.operation.state == State::InProgress)
            .collect();
        if !instance_pending && pending.is_empty() {
            return Ok(Pass::Idle);
        }
        let destroying = instance_pending && instance.operation.kind == Kind::Deprovision;
        let outcome = self.perform(config, &instance, &bindings, destroying).await;
        let failure = match outcome {
            Err(Failure::Stack(StackError::Locked { .. })) => return Ok(Pass::Locked),
            Ok(()) if destroying => {
                let tombstone = Tombstone {
                    instance_id: instance.instance_id.clone(),
                    service_id: instance.service_id.clone(),
                    plan_id: instance.plan_id.clone(),
                    tenancy: instance.tenancy.clone(),
                };
                self.records.put_tombstone(stack, &tombstone).await?;
                for binding in &bindings {
                    let key = binding::key(&binding.binding_id);
                    self.records.delete_binding(stack, &key).await?;
                }
                self.records.delete(stack).await?;
                return Ok(Pass::Worked);
            }
            Ok(()) => None,
            Err(failure) => {
                tracing::warn!(%stack, error = %failure, "operation failed");
                Some(failure.to_string())
            }
        };
        if instance_pending {
            self.settle_instance(stack, &instance.operation.id, failure.as_deref())
                .await?;
        }
        for binding in pending {
            self.settle_binding(stack, binding, failure.as_deref())
                .await?;
        }
        Ok(Pass::Worked)
    }

    /// Writes an instance operation's outcome, unless a newer operation replaced it.
    async fn settle_instance(
        &self,
        stack: &str,
        operation_id: &str,
        failure: Option<&str>,
    ) -> Result<(), RecordError> {
        let Some(mut record) = self.records.get(stack).await? else {
            return Ok(());
        };
        if record.operation.id != operation_id {
            return Ok(());
        }
        settle(&mut record.operation, failure, "the stack is applied");
        self.records.put(stack, &record).await
    }

    /// Writes a binding operation's outcome (a finished unbind deletes the record),
    /// unless a newer operation replaced it.
    async fn settle_binding(
        &self,
        stack: &str,
        seen: &BindingRecord,
        failure: Option<&str>,
    ) -> Result<(), RecordError> {
        let key = binding::key(&seen.binding_id);
        let Some(mut record) = self.records.binding(stack, &key).await? else {
            return Ok(());
        };
        if record.operation.id != seen.operation.id {
            return Ok(());
        }
        if failure.is_none() && record.operation.kind == Kind::Unbind {
            return self.records.delete_binding(stack, &key).await;
        }
        settle(
            &mut record.operation,
            failure,
            "the binding's user is in the stack's user group",
        );
        self.records.put_binding(stack, &key, &record).await
    }

    async fn perform(
        &self,
        config: &BrokerConfig,
        instance: &Record,
        bindings: &[BindingRecord],
        destroying: bool,
    ) -> Result<(), Failure> {
        let spec = record_spec(config, instance, bindings)?;
        let stack = self.stack(spec);
        let kind = match destroying {
            true => Kind::Deprovision,
            false => Kind::Update,
        };
        let allow_replacement = config
            .plan(&instance.plan_id)
            .is_some_and(|(_, plan)| plan.allow_replacement);
        // Another replica's run may write between a plan and its apply: the stack then
        // refuses the stale plan, and a new one shows what is left (nothing, when that
        // run finished the work).
        let mut attempts = 0;
        loop {
            match Box::pin(once(&stack, kind, allow_replacement)).await {
                Err(StackError::ChangedSincePlan { .. }) if attempts < REPLANS => attempts += 1,
                outcome => break outcome?,
            }
        }
        if destroying || stack.spec().auth.mode != spec::AuthMode::Rbac {
            return Ok(());
        }
        for change in password_changes(bindings) {
            for options in change.steps() {
                Box::pin(stack.rotate(&options, &|_| {})).await?;
            }
        }
        Ok(())
    }
}

/// A password change a pass makes after its apply, on a user that rotated bindings
/// share (RBAC plans).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange {
    /// A successor's new password, beside its predecessor's.
    Rotate {
        /// The user.
        user: String,
        /// The new version's id, derived from the operation: a resumed pass finishes
        /// it instead of rotating twice.
        version: String,
    },
    /// An unbound predecessor's password (the previous one) revoked; the successor's
    /// stays.
    RevokePrevious {
        /// The user.
        user: String,
    },
    /// An unbound successor's password (the current one) replaced and the previous
    /// revoked: the predecessor then holds the new one (its GET binding shows it).
    RotateAndRevoke {
        /// The user.
        user: String,
        /// As for `Rotate`.
        version: String,
    },
}

impl PasswordChange {
    /// The stack rotations that make it.
    fn steps(&self) -> Vec<RotateOptions> {
        let base = |user: &str| RotateOptions {
            which: RotateWhich::User(user.to_owned()),
            lock_timeout: LOCK_WAIT,
            ..RotateOptions::default()
        };
        let rotate = |user: &str, version: &str| RotateOptions {
            version: Some(version.to_owned()),
            ..base(user)
        };
        let revoke = |user: &str| RotateOptions {
            revoke_due: true,
            revoke_now: true,
            ..base(user)
        };
        match self {
            PasswordChange::Rotate { user, version } => vec![rotate(user, version)],
            PasswordChange::RevokePrevious { user } => vec![revoke(user)],
            PasswordChange::RotateAndRevoke { user, version } => {
                vec![rotate(user, version), revoke(user)]
            }
        }
    }
}

/// The password changes the bindings in progress need: a successor's bind rotates the
/// shared user's password; an unbind whose user another binding keeps revokes the
/// unbound binding's password (an unbind whose user nobody keeps needs none: the user
/// leaves the spec and is deleted).
pub fn password_changes(bindings: &[BindingRecord]) -> Vec<PasswordChange> {
    let mut changes = Vec::new();
    let pending = bindings
        .iter()
        .filter(|b| b.operation.state == State::InProgress);
    for binding in pending {
        let Some(user) = binding.user.clone() else {
            continue;
        };
        let version = version_id(&binding.operation.id, &binding.binding_id);
        match binding.operation.kind {
            Kind::Bind if binding.predecessor.is_some() => {
                changes.push(PasswordChange::Rotate { user, version });
            }
            Kind::Unbind => {
                let keepers: Vec<&BindingRecord> = bindings
                    .iter()
                    .filter(|o| o.operation.kind == Kind::Bind)
                    .filter(|o| o.binding_id != binding.binding_id)
                    .filter(|o| o.user.as_deref() == Some(user.as_str()))
                    .collect();
                if keepers.is_empty() {
                    continue;
                }
                let succeeded = keepers
                    .iter()
                    .any(|o| o.predecessor.as_deref() == Some(binding.binding_id.as_str()));
                changes.push(match succeeded {
                    true => PasswordChange::RevokePrevious { user },
                    false => PasswordChange::RotateAndRevoke { user, version },
                });
            }
            _ => {}
        }
    }
    changes
}

/// A secret version id (UUID-shaped, as Secrets Manager's `ClientRequestToken`) derived
/// from an operation, so the same operation always asks for the same version.
fn version_id(operation: &str, binding: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{binding}/{operation}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The spec the records ask for: the instance's plan and parameters, and a user for
/// each binding not being unbound.
pub fn record_spec(
    config: &BrokerConfig,
    instance: &Record,
    bindings: &[BindingRecord],
) -> Result<spec::Spec, Failure> {
    let (_, plan) = config
        .plan(&instance.plan_id)
        .ok_or_else(|| Failure::Plan(instance.plan_id.clone()))?;
    let mut parameters = instance::parameters(Some(&instance.parameters))
        .map_err(|problems| Failure::Spec(problems.join("; ")))?;
    parameters.restore_snapshot = instance.restore_snapshot.clone();
    let mut users: Vec<BindingUser> = Vec::new();
    // A rotation's successor shares its predecessor's user: listed once.
    for binding in bindings.iter().filter(|b| b.operation.kind == Kind::Bind) {
        let Some(name) = binding.user.as_deref() else {
            continue;
        };
        if users.iter().any(|u| u.name == name) {
            continue;
        }
        let parameters = binding::parameters(Some(&binding.parameters)).unwrap_or_default();
        users.push(BindingUser::new(plan, name, parameters));
    }
    instance::instance_spec(config, plan, &instance.instance_id, &parameters, &users)
        .map_err(|errors| Failure::Spec(errors.to_string()))
}

fn settle(operation: &mut Operation, failure: Option<&str>, done: &str) {
    match failure {
        None => {
            operation.state = State::Succeeded;
            operation.description = done.to_owned();
        }
        Some(failure) => {
            operation.state = State::Failed;
            operation.description = failure.to_owned();
        }
    }
}

/// One plan of the operation, and its apply or destroy.
async fn once(stack: &Stack, kind: Kind, allow_replacement: bool) -> Result<(), StackError> {
    match kind {
        Kind::Provision | Kind::Update | Kind::Bind | Kind::Unbind => {
            let options = ApplyOptions {
                allow_replacement,
                lock_timeout: LOCK_WAIT,
                ..ApplyOptions::default()
            };
            let planned = Box::pin(stack.plan()).await?;
            Box::pin(stack.apply(&planned, options, &|_| {})).await?;
        }
        Kind::Deprovision => {
            let options = DestroyOptions {
                skip_final_snapshot: !stack.spec().destroy.final_snapshot,
                lock_timeout: LOCK_WAIT,
                ..DestroyOptions::default()
            };
            let planned = Box::pin(stack.plan_destroy(options)).await?;
            Box::pin(stack.destroy(&planned, &|_| {})).await?;
        }
    }
    Ok(())
}

/// Why an operation failed, in words a platform shows its user.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The record's plan left the catalog.
    #[error("the plan {0} is no longer in the broker's catalog")]
    Plan(String),
    /// The records make an invalid spec.
    #[error("the instance's spec is not valid: {0}")]
    Spec(String),
    /// The stack refused or failed.
    #[error("{0}")]
    Stack(#[from] StackError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(
        id: &str,
        user: &str,
        predecessor: Option<&str>,
        kind: Kind,
        state: State,
    ) -> BindingRecord {
        let mut operation = Operation::start(kind);
        operation.state = state;
        BindingRecord {
            binding_id: id.to_owned(),
            instance_id: "i".to_owned(),
            service_id: "s".to_owned(),
            plan_id: "p".to_owned(),
            parameters: serde_json::Value::Null,
            user: Some(user.to_owned()),
            predecessor: predecessor.map(str::to_owned),
            operation,
        }
    }

    #[test]
    fn a_successor_rotates_its_predecessors_user_and_the_same_operation_asks_the_same_version() {
        let bindings = [
            binding("p", "b-p", None, Kind::Bind, State::Succeeded),
            binding("s", "b-p", Some("p"), Kind::Bind, State::InProgress),
        ];
        let changes = password_changes(&bindings);
        let [PasswordChange::Rotate { user, version }] = changes.as_slice() else {
            panic!("{changes:?}");
        };
        assert_eq!(user, "b-p");
        assert_eq!(changes, password_changes(&bindings), "stable");
        assert_eq!(version.len(), 36);
    }

    #[test]
    fn an_unbound_binding_revokes_only_its_own_password() {
        // The predecessor goes: its (previous) password is revoked.
        let predecessor_goes = [
            binding("p", "b-p", None, Kind::Unbind, State::InProgress),
            binding("s", "b-p", Some("p"), Kind::Bind, State::Succeeded),
        ];
        assert_eq!(
            password_changes(&predecessor_goes),
            [PasswordChange::RevokePrevious { user: "b-p".into() }]
        );
        // The successor goes first: its (current) password is replaced.
        let successor_goes = [
            binding("p", "b-p", None, Kind::Bind, State::Succeeded),
            binding("s", "b-p", Some("p"), Kind::Unbind, State::InProgress),
        ];
        assert!(matches!(
            password_changes(&successor_goes).as_slice(),
            [PasswordChange::RotateAndRevoke { .. }]
        ));
        // Nobody keeps the user: it leaves the spec, no password change.
        let alone = [binding("a", "b-a", None, Kind::Unbind, State::InProgress)];
        assert!(password_changes(&alone).is_empty());
        let settled = [binding("a", "b-a", None, Kind::Bind, State::Succeeded)];
        assert!(password_changes(&settled).is_empty());
    }
}
