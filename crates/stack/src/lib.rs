/*!
Plans, applies and destroys a whole stack by running the step crates in order:
network (steps 1-3), kms (4-5), logs (6) and secrets (7), with cluster and policies
joining behind them. This is the library API every front end calls (the orchestrator binary, a GitHub
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
use futures::try_join;
use kms::{Kms, KmsError};
use logs::{Logs, LogsError};
use network::{Network, NetworkError, NetworkOutputs};
use plan::{Change, Known, Plan};
use secrets::{Secrets, SecretsError};
use spec::Spec;
use spec::names::Scope;

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
    /// The KMS step failed.
    #[error("kms: {0}")]
    Kms(#[from] KmsError),
    /// The logs step failed.
    #[error("logs: {0}")]
    Logs(#[from] LogsError),
    /// The secrets step failed.
    #[error("secrets: {0}")]
    Secrets(#[from] SecretsError),
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
    /// Several steps failed during destroy; each was still attempted.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<StackError>),
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
}

/// Choices the user makes for an apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Replace resources whose attributes AWS cannot change in place.
    pub allow_replacement: bool,
}

/// Choices the user makes for a destroy.
#[derive(Debug, Clone, Copy, Default)]
pub struct DestroyOptions {
    /// Delete secrets at once instead of keeping them restorable for the recovery window.
    pub force_delete_secrets: bool,
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
    /// The stack key's ARN.
    pub kms_key_arn: Known<String>,
    /// `(log type, group name)` per enabled log type.
    pub log_groups: Vec<(&'static str, String)>,
    /// `(secret name, ARN)` per secret.
    pub secrets: Vec<(String, Known<String>)>,
}

impl StackOutputs {
    /// The outputs as name and value pairs, for display. Unknown values are left out;
    /// none is secret.
    pub fn entries(&self) -> Vec<(String, String)> {
        let network = &self.network;
        let mut entries = Vec::new();
        let mut push = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                entries.push((name.to_owned(), value));
            }
        };
        push("vpc_id", network.vpc_id.value().cloned());
        push(
            "subnet_ids",
            network.subnet_ids.value().map(|ids| ids.join(",")),
        );
        push("cache_subnet_group", Some(network.subnet_group.clone()));
        push(
            "security_group_id",
            network.security_group_id.value().cloned(),
        );
        push("kms_key_arn", self.kms_key_arn.value().cloned());
        for (log_type, group) in &self.log_groups {
            push(
                &format!("{}_group", log_type.replace('-', "_")),
                Some(group.clone()),
            );
        }
        for (name, arn) in &self.secrets {
            push(&format!("secret_arn[{name}]"), arn.value().cloned());
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
    kms: Kms,
    logs: Logs,
    secrets: Secrets,
}

impl Stack {
    /// The stack `spec` describes, acting through `config`.
    pub fn new(spec: Spec, config: &SdkConfig) -> Stack {
        Stack {
            network: Network::new(
                aws_sdk_ec2::Client::new(config),
                aws_sdk_elasticache::Client::new(config),
            ),
            kms: Kms::new(aws_sdk_kms::Client::new(config)),
            logs: Logs::new(aws_sdk_cloudwatchlogs::Client::new(config)),
            secrets: Secrets::new(aws_sdk_secretsmanager::Client::new(config)),
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

    async fn scope(&self) -> Result<Scope, StackError> {
        let identity = self.identity().await?;
        Ok(Scope::new(identity.account, identity.region))
    }

    /// Everything that would change. Reads only; the steps are observed concurrently,
    /// then diffed in order, each with the outputs the steps before it will produce.
    pub async fn plan(&self) -> Result<Plan, StackError> {
        let spec = &self.spec;
        let scope = self.scope().await?;
        let unknown = Known::AfterApply;
        let network_desired = network::Desired::from_spec(spec);
        let kms_desired = kms::Desired::from_spec(spec, &scope);
        let (network_observed, kms_observed, logs_observed, secrets_observed) = try_join!(
            async { Ok::<_, StackError>(self.network.observe(&network_desired).await?) },
            async { Ok(self.kms.observe(&kms_desired).await?) },
            async {
                Ok(self
                    .logs
                    .observe(&logs::Desired::from_spec(spec, &unknown))
                    .await?)
            },
            async {
                Ok(self
                    .secrets
                    .observe(&secrets::Desired::from_spec(spec, &unknown))
                    .await?)
            },
        )?;
        let network_plan = network::diff(&network_desired, &network_observed)?;
        let kms_plan = kms::diff(&kms_desired, &kms_observed)?;
        let key = &kms_plan.outputs.key_arn;
        let logs_plan = logs::diff(&logs::Desired::from_spec(spec, key), &logs_observed)?;
        let secrets_plan =
            secrets::diff(&secrets::Desired::from_spec(spec, key), &secrets_observed)?;
        let mut plan = Plan::new(&spec.stack);
        plan.extend(network_plan.changes, []);
        plan.extend(kms_plan.changes, kms_plan.warnings);
        plan.extend(logs_plan.changes, logs_plan.warnings);
        plan.extend(secrets_plan.changes, secrets_plan.warnings);
        Ok(plan)
    }

    /// Makes the stack match the spec, step by step: each step is observed and diffed
    /// again with the real outputs of the steps before it, then only its difference is
    /// applied. Running it twice changes nothing the second time.
    ///
    /// Before the first write the whole stack is planned, so a problem any step can see
    /// without writing (a missing existing key or subnet, a refused replacement) stops
    /// apply before anything is created.
    pub async fn apply(
        &self,
        options: ApplyOptions,
        on_event: &(dyn Fn(Event) + Sync),
    ) -> Result<StackOutputs, StackError> {
        refuse_replacements(&self.plan().await?.changes, options)?;
        let spec = &self.spec;
        let scope = self.scope().await?;
        // Events only for steps that change something: "applying 0 changes" is noise.
        let step = |name, changes: &[Change]| -> Result<bool, StackError> {
            refuse_replacements(changes, options)?;
            let count = count_changes(changes);
            if count > 0 {
                on_event(Event::StepStarted {
                    step: name,
                    changes: count,
                });
            }
            Ok(count > 0)
        };
        let finished = |name, changed: bool| {
            if changed {
                on_event(Event::StepFinished { step: name });
            }
        };

        let desired = network::Desired::from_spec(spec);
        let observed = self.network.observe(&desired).await?;
        let plan = network::diff(&desired, &observed)?;
        let changed = step("network", &plan.changes)?;
        let network = self.network.apply(&desired, &observed, &plan).await?;
        finished("network", changed);

        let desired = kms::Desired::from_spec(spec, &scope);
        let plan = kms::diff(&desired, &self.kms.observe(&desired).await?)?;
        let changed = step("kms", &plan.changes)?;
        let key = self.kms.apply(&plan).await?.key_arn;
        finished("kms", changed);

        let desired = logs::Desired::from_spec(spec, &key);
        let plan = logs::diff(&desired, &self.logs.observe(&desired).await?)?;
        let changed = step("logs", &plan.changes)?;
        let log_groups = self.logs.apply(&plan).await?.groups;
        finished("logs", changed);

        let desired = secrets::Desired::from_spec(spec, &key);
        let plan = secrets::diff(&desired, &self.secrets.observe(&desired).await?)?;
        let changed = step("secrets", &plan.changes)?;
        let secrets = self.secrets.apply(&plan).await?.secrets;
        finished("secrets", changed);

        Ok(StackOutputs {
            network,
            kms_key_arn: key,
            log_groups,
            secrets,
        })
    }

    /// What destroy would delete, and what it keeps. Reads only.
    pub async fn plan_destroy(&self, options: DestroyOptions) -> Result<Plan, StackError> {
        let plans = self.destroy_plans(options).await?;
        let mut plan = Plan::new(&self.spec.stack);
        plan.extend(plans.secrets.changes, plans.secrets.warnings);
        plan.extend(plans.logs.changes, plans.logs.warnings);
        plan.extend(plans.kms.changes, plans.kms.warnings);
        plan.extend(plans.network.changes, []);
        Ok(plan)
    }

    async fn destroy_plans(&self, options: DestroyOptions) -> Result<DestroyPlans, StackError> {
        let spec = &self.spec;
        let scope = self.scope().await?;
        let unknown = Known::AfterApply;
        let network_desired = network::Desired::from_spec(spec);
        let kms_desired = kms::Desired::from_spec(spec, &scope);
        let logs_desired = logs::Desired::from_spec(spec, &unknown);
        let secrets_desired = secrets::Desired::from_spec(spec, &unknown);
        let (network_observed, kms_observed, logs_observed, secrets_observed) = try_join!(
            async { Ok::<_, StackError>(self.network.observe(&network_desired).await?) },
            async { Ok(self.kms.observe(&kms_desired).await?) },
            async { Ok(self.logs.observe(&logs_desired).await?) },
            async { Ok(self.secrets.observe(&secrets_desired).await?) },
        )?;
        Ok(DestroyPlans {
            secrets: secrets::diff_destroy(
                &secrets_desired,
                &secrets_observed,
                options.force_delete_secrets,
            ),
            logs: logs::diff_destroy(&logs_desired, &logs_observed),
            kms: kms::diff_destroy(&kms_desired, &kms_observed),
            network: network::diff_destroy(&network_desired, &network_observed),
            network_desired,
        })
    }

    /// Deletes what the stack owns, in reverse order of creation. Every step is
    /// attempted even when one fails; all failures are reported.
    pub async fn destroy(
        &self,
        options: DestroyOptions,
        on_event: &(dyn Fn(Event) + Sync),
    ) -> Result<(), StackError> {
        let plans = self.destroy_plans(options).await?;
        let mut failures = Vec::new();
        let steps: [(&'static str, &[Change]); 4] = [
            ("secrets", &plans.secrets.changes),
            ("logs", &plans.logs.changes),
            ("kms", &plans.kms.changes),
            ("network", &plans.network.changes),
        ];
        for (name, changes) in steps {
            let count = count_changes(changes);
            if count == 0 {
                continue;
            }
            on_event(Event::StepStarted {
                step: name,
                changes: count,
            });
            let result: Result<(), StackError> = match name {
                "secrets" => self
                    .secrets
                    .destroy(&plans.secrets)
                    .await
                    .map_err(Into::into),
                "logs" => self
                    .logs
                    .apply(&plans.logs)
                    .await
                    .map(drop)
                    .map_err(Into::into),
                "kms" => self.kms.destroy(&plans.kms).await.map_err(Into::into),
                _ => self
                    .network
                    .destroy(&plans.network_desired, &plans.network)
                    .await
                    .map_err(Into::into),
            };
            match result {
                Ok(()) => on_event(Event::StepFinished { step: name }),
                Err(err) => failures.push(err),
            }
        }
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            _ => Err(StackError::Several(failures)),
        }
    }
}

struct DestroyPlans {
    secrets: secrets::SecretsPlan,
    logs: logs::LogsPlan,
    kms: kms::KmsPlan,
    network: network::NetworkPlan,
    network_desired: network::Desired,
}

fn count_changes(changes: &[Change]) -> usize {
    changes.iter().filter(|c| c.is_change()).count()
}

/// Refuses a step's replacements unless the user allowed them.
fn refuse_replacements(changes: &[Change], options: ApplyOptions) -> Result<(), StackError> {
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
