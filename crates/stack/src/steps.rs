//! The one shape the driver calls: every step crate's four parts (observe, a pure diff,
//! the plan's changes and outputs, apply) behind one trait, so the driver handles all seven
//! steps the same way.

use std::future::Future;

use cluster::{Cluster, Credentials};
use kms::Kms;
use logs::Logs;
use network::Network;
use plan::Change;
use policies::Policies;
use rotation_runner::Runner;
use secrets::Secrets;
use secrets::document::{self, Documents};

use crate::{ApplyOptions, Event, StackError};

/// What apply hands every step besides its own plan.
pub(crate) struct ApplyContext<'a> {
    pub options: ApplyOptions,
    pub on_event: &'a (dyn Fn(Event) + Sync),
    /// The secrets step's client: the cluster step reads the credentials it sends.
    pub secrets: &'a Secrets,
}

/// One step of the stack, as the driver sees it.
pub(crate) trait Step: Sync {
    /// The step's name in events and errors.
    const NAME: &'static str;
    type Desired: Sync;
    type Observed: Clone + Send + Sync;
    type Plan: Clone + Send + Sync;
    type Outputs: Clone + Send;

    /// Reads what exists, by the desired state's names and the stack tag.
    fn observe(
        &self,
        desired: &Self::Desired,
    ) -> impl Future<Output = Result<Self::Observed, StackError>> + Send;

    /// Reads what only the whole desired state shows to be needed (known once the
    /// steps before are diffed; observation had names only): the policies' documents
    /// whose recorded digest differs. Most steps need nothing more.
    fn refine(
        &self,
        _desired: &Self::Desired,
        observed: Self::Observed,
    ) -> impl Future<Output = Result<Self::Observed, StackError>> + Send {
        std::future::ready(Ok(observed))
    }

    /// Compares without calling AWS.
    fn diff(desired: &Self::Desired, observed: &Self::Observed) -> Result<Self::Plan, StackError>;

    /// The plan's changes, for people.
    fn changes(plan: &Self::Plan) -> &[Change];

    /// The plan's warnings, for people.
    fn warnings(plan: &Self::Plan) -> &[String];

    /// The outputs as far as they are known before apply.
    fn planned_outputs(plan: &Self::Plan) -> Self::Outputs;

    /// Performs the plan and returns the real outputs.
    fn apply(
        &self,
        plan: &Self::Plan,
        context: &ApplyContext<'_>,
    ) -> impl Future<Output = Result<Self::Outputs, StackError>> + Send;
}

/// The parts of `Step` that read the same in every step crate's plan type.
macro_rules! plan_parts {
    () => {
        fn changes(plan: &Self::Plan) -> &[Change] {
            &plan.changes
        }

        fn warnings(plan: &Self::Plan) -> &[String] {
            &plan.warnings
        }

        fn planned_outputs(plan: &Self::Plan) -> Self::Outputs {
            plan.outputs.clone()
        }
    };
}

/// A step whose apply needs only its plan (all but the cluster, which also reads the
/// credentials it sends).
macro_rules! plan_only_step {
    ($client:ident, $name:literal, $module:ident :: $plan:ident, $outputs:ident
        $(, refine: $refine:ident)?) => {
        impl Step for $client {
            const NAME: &'static str = $name;
            type Desired = $module::Desired;
            type Observed = $module::Observed;
            type Plan = $module::$plan;
            type Outputs = $module::$outputs;

            async fn observe(&self, desired: &Self::Desired) -> Result<Self::Observed, StackError> {
                Ok($client::observe(self, desired).await?)
            }

            $(
                async fn refine(
                    &self,
                    desired: &Self::Desired,
                    observed: Self::Observed,
                ) -> Result<Self::Observed, StackError> {
                    Ok($client::$refine(self, desired, observed).await?)
                }
            )?

            fn diff(
                desired: &Self::Desired,
                observed: &Self::Observed,
            ) -> Result<Self::Plan, StackError> {
                Ok($module::diff(desired, observed)?)
            }

            plan_parts!();

            async fn apply(
                &self,
                plan: &Self::Plan,
                _: &ApplyContext<'_>,
            ) -> Result<Self::Outputs, StackError> {
                Ok($client::apply(self, plan).await?)
            }
        }
    };
}

plan_only_step!(Network, "network", network::NetworkPlan, NetworkOutputs);
plan_only_step!(Kms, "kms", kms::KmsPlan, KmsOutputs);
plan_only_step!(Logs, "logs", logs::LogsPlan, LogsOutputs);
plan_only_step!(Secrets, "secrets", secrets::SecretsPlan, SecretsOutputs);
plan_only_step!(
    Documents,
    "secret fields",
    document::DocumentsPlan,
    DocumentsOutputs
);
plan_only_step!(
    Runner,
    "rotation runner",
    rotation_runner::RunnerPlan,
    RunnerOutputs
);
plan_only_step!(
    Policies,
    "policies",
    policies::PoliciesPlan,
    PoliciesOutputs,
    refine: read_documents
);

impl Step for Cluster {
    const NAME: &'static str = "cluster";
    type Desired = cluster::Desired;
    type Observed = cluster::Observed;
    type Plan = cluster::ClusterPlan;
    type Outputs = cluster::ClusterOutputs;

    async fn observe(&self, desired: &Self::Desired) -> Result<Self::Observed, StackError> {
        Ok(Cluster::observe(self, desired).await?)
    }

    fn diff(desired: &Self::Desired, observed: &Self::Observed) -> Result<Self::Plan, StackError> {
        Ok(cluster::diff(desired, observed)?)
    }

    plan_parts!();

    async fn apply(
        &self,
        plan: &Self::Plan,
        context: &ApplyContext<'_>,
    ) -> Result<Self::Outputs, StackError> {
        // Only the values this plan sends are read, right before they are sent.
        let mut credentials = Credentials::new();
        for name in plan.secrets_needed() {
            let value = context.secrets.read_credential(&name).await?;
            credentials.insert(name, value);
        }
        let report = |progress: cluster::Progress| (context.on_event)(progress.into());
        Ok(Cluster::apply(self, plan, &credentials, &context.options.wait, &report).await?)
    }
}
