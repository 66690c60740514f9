/*!
Plans, applies and destroys a whole stack by running the step crates in order:
network (steps 1-3) today, with kms, logs, secrets, cluster and policies joining behind
it. This is the library API every front end calls (the orchestrator binary, a GitHub
integration, a service broker), so none of them re-implements step order.

It owns: AWS configuration for a spec ([`aws_config_for`]), the order of steps, passing
each step's outputs to the next, refusing replacements the user did not allow, and
reporting progress as [`Event`]s. It does not own what a step observes or changes (the
step crates do) and never prints (the orchestrator does).

Architecture invariant: every AWS write happens inside [`Stack::apply`] or
[`Stack::destroy`]; [`Stack::plan`] and [`Stack::plan_destroy`] only read.
*/
#![deny(missing_docs)]

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_error::{AwsError, aws_error};
use network::{Network, NetworkError, NetworkOutputs};
use plan::{Known, Plan};
use spec::Spec;

/// Loads AWS configuration the way the AWS CLI does (environment, profiles, SSO, web
/// identity for GitHub OIDC, `AWS_ENDPOINT_URL`), in the spec's region, with the SDK's
/// standard retries (exponential backoff on throttling).
pub async fn aws_config_for(spec: &Spec) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(spec.region.clone()))
        .retry_config(RetryConfig::standard())
        .load()
        .await
}

/// What went wrong while planning or applying a stack.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The network step failed.
    #[error("network: {0}")]
    Network(#[from] NetworkError),
    /// An AWS call outside the steps failed (the caller's identity).
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The plan replaces resources and the user did not allow replacements.
    #[error(
        "refusing to replace {}: AWS cannot change {} in place. Re-run with --allow-replacement to replace them",
        .resources.join(", "),
        .attributes.join(", ")
    )]
    ReplacementRefused {
        /// The resources that would be replaced.
        resources: Vec<String>,
        /// The attributes forcing it.
        attributes: Vec<String>,
    },
}

/// Progress as apply and destroy go, for the front end to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A step starts writing.
    StepStarted {
        /// The step's name.
        step: &'static str,
        /// How many resources it changes.
        changes: usize,
    },
    /// A step finished.
    StepFinished {
        /// The step's name.
        step: &'static str,
    },
}

/// Choices the user makes for an apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Replace resources whose attributes AWS cannot change in place.
    pub allow_replacement: bool,
}

/// Who the stack acts as: the caller's account and the region.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// The AWS account id.
    pub account: String,
    /// The region.
    pub region: String,
}

/// What a stack hands to applications and later steps after apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutputs {
    /// The network's ids.
    pub network: NetworkOutputs,
}

impl StackOutputs {
    /// The outputs as name and value pairs, for display. Unknown values are left out.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let network = &self.network;
        let mut entries = Vec::new();
        if let Known::Value(id) = &network.vpc_id {
            entries.push(("vpc_id", id.clone()));
        }
        if let Known::Value(ids) = &network.subnet_ids {
            entries.push(("subnet_ids", ids.join(",")));
        }
        entries.push(("cache_subnet_group", network.subnet_group.clone()));
        if let Known::Value(id) = &network.security_group_id {
            entries.push(("security_group_id", id.clone()));
        }
        entries
    }
}

/// A stack: a validated spec and the clients its steps use.
#[derive(Debug, Clone)]
pub struct Stack {
    spec: Spec,
    config: SdkConfig,
    network: Network,
}

impl Stack {
    /// The stack `spec` describes, acting through `config`.
    pub fn new(spec: Spec, config: &SdkConfig) -> Stack {
        Stack {
            network: Network::new(
                aws_sdk_ec2::Client::new(config),
                aws_sdk_elasticache::Client::new(config),
            ),
            config: config.clone(),
            spec,
        }
    }

    /// The spec.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The account and region the stack would be applied in.
    pub async fn identity(&self) -> Result<Identity, StackError> {
        let sts = aws_sdk_sts::Client::new(&self.config);
        let caller = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(aws_error("GetCallerIdentity"))?;
        Ok(Identity {
            account: caller.account().unwrap_or_default().to_owned(),
            region: self.spec.region.clone(),
        })
    }

    /// Everything that would change. Reads only.
    pub async fn plan(&self) -> Result<Plan, StackError> {
        let desired = network::Desired::from_spec(&self.spec);
        let observed = self.network.observe(&desired).await?;
        let network_plan = network::diff(&desired, &observed)?;
        let mut plan = Plan::new(&self.spec.stack);
        plan.extend(network_plan.changes, []);
        Ok(plan)
    }

    /// Makes the stack match the spec, step by step: each step is observed and diffed
    /// again with the real outputs of the steps before it, then only its difference is
    /// applied. Running it twice changes nothing the second time.
    pub async fn apply(
        &self,
        options: ApplyOptions,
        on_event: &(dyn Fn(Event) + Sync),
    ) -> Result<StackOutputs, StackError> {
        let desired = network::Desired::from_spec(&self.spec);
        let observed = self.network.observe(&desired).await?;
        let network_plan = network::diff(&desired, &observed)?;
        refuse_replacements(&network_plan.changes, options)?;
        let changes = network_plan
            .changes
            .iter()
            .filter(|c| c.is_change())
            .count();
        on_event(Event::StepStarted {
            step: "network",
            changes,
        });
        let network = self
            .network
            .apply(&desired, &observed, &network_plan)
            .await?;
        on_event(Event::StepFinished { step: "network" });
        Ok(StackOutputs { network })
    }

    /// What destroy would delete. Reads only.
    pub async fn plan_destroy(&self) -> Result<Plan, StackError> {
        let desired = network::Desired::from_spec(&self.spec);
        let observed = self.network.observe(&desired).await?;
        let mut plan = Plan::new(&self.spec.stack);
        plan.extend(network::diff_destroy(&desired, &observed).changes, []);
        Ok(plan)
    }

    /// Deletes what the stack owns, in reverse order of creation.
    pub async fn destroy(&self, on_event: &(dyn Fn(Event) + Sync)) -> Result<(), StackError> {
        let desired = network::Desired::from_spec(&self.spec);
        let observed = self.network.observe(&desired).await?;
        let network_plan = network::diff_destroy(&desired, &observed);
        on_event(Event::StepStarted {
            step: "network",
            changes: network_plan.changes.len(),
        });
        self.network.destroy(&desired, &network_plan).await?;
        on_event(Event::StepFinished { step: "network" });
        Ok(())
    }
}

/// Refuses a step's replacements unless the user allowed them.
fn refuse_replacements(changes: &[plan::Change], options: ApplyOptions) -> Result<(), StackError> {
    let replaced: Vec<&plan::Change> = changes
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
