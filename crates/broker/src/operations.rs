//! Running an instance's operation: the stack's idempotent apply or destroy in a
//! background task, the outcome written to the record. Any replica may start one (a
//! request, or a poll that finds an operation nobody here runs); the stack's lock lets
//! only one apply at a time, and the loser leaves the record as it is.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use stack::{ApplyOptions, DestroyOptions, Stack, StackError};

use crate::config::BrokerConfig;
use crate::instance;
use crate::record::{Kind, Record, Records, State};

/// How long an operation waits for another run's lock before leaving the work to it.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// How many times an apply refused as stale (another run applied since its plan) plans
/// again.
const REPLANS: u32 = 3;

/// The operations this replica runs, and what they need.
#[derive(Debug)]
pub struct Engine {
    aws: SdkConfig,
    records: Records,
    running: Mutex<HashSet<String>>,
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

    /// Runs the record's operation in the background unless this replica runs it already.
    pub fn ensure_running(
        self: &Arc<Self>,
        config: Arc<BrokerConfig>,
        stack: String,
        record: Record,
    ) {
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
            let outcome = Box::pin(engine.run(&config, &stack, record)).await;
            if let Err(error) = outcome {
                tracing::warn!(%stack, %error, "could not record an operation's outcome");
            }
            if let Ok(mut running) = engine.running.lock() {
                running.remove(&stack);
            }
        });
    }

    async fn run(
        &self,
        config: &BrokerConfig,
        stack: &str,
        mut record: Record,
    ) -> Result<(), crate::record::RecordError> {
        let outcome = self.perform(config, &record).await;
        let operation = &mut record.operation;
        match outcome {
            Ok(()) if operation.kind == Kind::Deprovision => {
                return self.records.delete(stack).await;
            }
            Ok(()) => {
                operation.state = State::Succeeded;
                operation.description = "the stack is applied".to_owned();
            }
            // Another replica (or an earlier run of this one) holds the stack: it
            // finishes, or a later poll resumes.
            Err(Failure::Stack(StackError::Locked { .. })) => return Ok(()),
            Err(failure) => {
                tracing::warn!(%stack, error = %failure, "operation failed");
                operation.state = State::Failed;
                operation.description = failure.to_string();
            }
        }
        self.records.put(stack, &record).await
    }

    async fn perform(&self, config: &BrokerConfig, record: &Record) -> Result<(), Failure> {
        let (_, plan) = config
            .plan(&record.plan_id)
            .ok_or_else(|| Failure::Plan(record.plan_id.clone()))?;
        let parameters = instance::parameters(Some(&record.parameters))
            .map_err(|problems| Failure::Spec(problems.join("; ")))?;
        let spec = instance::instance_spec(config, plan, &record.instance_id, &parameters)
            .map_err(|errors| Failure::Spec(errors.to_string()))?;
        let stack = Stack::new(spec, &self.aws);
        // Another replica's run may write between a plan and its apply: the stack then
        // refuses the stale plan, and a new one shows what is left (nothing, when that
        // run finished the work).
        let mut attempts = 0;
        loop {
            match Box::pin(once(&stack, record.operation.kind)).await {
                Err(StackError::ChangedSincePlan { .. }) if attempts < REPLANS => attempts += 1,
                outcome => return Ok(outcome?),
            }
        }
    }
}

/// One plan of the operation, and its apply or destroy.
async fn once(stack: &Stack, kind: Kind) -> Result<(), StackError> {
    match kind {
        Kind::Provision | Kind::Update => {
            let options = ApplyOptions {
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
enum Failure {
    #[error("the plan {0} is no longer in the broker's catalog")]
    Plan(String),
    #[error("the instance's spec is not valid: {0}")]
    Spec(String),
    #[error("{0}")]
    Stack(#[from] StackError),
}
