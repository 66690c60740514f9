/*!
Plans, applies and destroys a whole stack by running the step crates in order:
network (steps 1-3), kms (4-5), logs (6), secrets (7), cluster (8) and policies (SSM
connection parameters and IAM policies). This is the library API every front end calls (the orchestrator binary, a GitHub
integration, a service broker), so none of them re-implements step order.

It owns: AWS configuration for a spec ([`aws_config_for`]), the order of steps, passing
each step's outputs to the next, refusing replacements the user did not allow, and
reporting progress as [`Event`]s. It does not own what a step observes or changes (the
step crates do) and never prints (the orchestrator does).

Architecture invariant: every AWS write happens inside [`Stack::apply`] or
[`Stack::destroy`]; [`Stack::plan`] and [`Stack::plan_destroy`] only read.
*/
#![deny(missing_docs)]

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_error::{AwsError, aws_error};
use cluster::{Cluster, ClusterError, ClusterOutputs, Credentials};
pub use cluster::{Progress, WaitOptions, format_duration};
use futures::try_join;
use kms::{Kms, KmsError};
use logs::{Logs, LogsError};
use network::{Network, NetworkError, NetworkOutputs};
use plan::{Change, Known, Plan};
use policies::{Policies, PoliciesError, PoliciesOutputs};
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
    /// The cluster step failed.
    #[error("cluster: {0}")]
    Cluster(#[from] ClusterError),
    /// The policies step failed.
    #[error("policies: {0}")]
    Policies(#[from] PoliciesError),
    /// Destroy left steps alone because the replication group still exists.
    #[error("not destroyed yet: {} (they are in use until the replication group is gone; run destroy again)", .0.join(", "))]
    Skipped(Vec<&'static str>),
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
    /// The replication group's id, ARN and endpoints.
    pub cluster: ClusterOutputs,
    /// The SSM parameters and IAM policies.
    pub policies: PoliciesOutputs,
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
        let cluster = &self.cluster;
        push(
            "replication_group_id",
            Some(cluster.replication_group_id.clone()),
        );
        push("replication_group_arn", cluster.arn.value().cloned());
        if let Some(endpoints) = cluster.endpoints.value() {
            push("primary_endpoint", endpoints.primary.clone());
            push("reader_endpoint", endpoints.reader.clone());
            push("configuration_endpoint", endpoints.configuration.clone());
        }
        push("port", Some(cluster.port.to_string()));
        if !cluster.user_ids.is_empty() {
            push("user_ids", Some(cluster.user_ids.join(",")));
        }
        if !self.policies.parameters.is_empty() {
            push("ssm_parameters", Some(self.policies.parameters.join(",")));
        }
        for (name, arn) in &self.policies.policies {
            push(&format!("policy_arn[{name}]"), Some(arn.clone()));
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
    cluster: Cluster,
    policies: Policies,
    /// Who the caller is does not change while the stack is in use: asked once.
    identity: std::sync::OnceLock<Identity>,
}

impl Stack {
    /// The stack `spec` describes, acting through `config`.
    pub fn new(spec: Spec, config: &SdkConfig) -> Stack {
        let elasticache = aws_sdk_elasticache::Client::new(config);
        Stack {
            network: Network::new(aws_sdk_ec2::Client::new(config), elasticache.clone()),
            kms: Kms::new(aws_sdk_kms::Client::new(config)),
            logs: Logs::new(aws_sdk_cloudwatchlogs::Client::new(config)),
            secrets: Secrets::new(aws_sdk_secretsmanager::Client::new(config)),
            cluster: Cluster::new(elasticache),
            policies: Policies::new(
                aws_sdk_ssm::Client::new(config),
                aws_sdk_iam::Client::new(config),
            ),
            config: config.clone(),
            spec,
            identity: std::sync::OnceLock::new(),
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
            .map_err(aws_error("GetCallerIdentity"))?;
        let identity = Identity {
            account: caller.account().unwrap_or_default().to_owned(),
            region: self.spec.region.clone(),
        };
        Ok(self.identity.get_or_init(|| identity).clone())
    }

    async fn scope(&self) -> Result<Scope, StackError> {
        let identity = self.identity().await?;
        Ok(Scope::new(identity.account, identity.region))
    }

    /// Everything that would change. Reads only; the steps are observed concurrently,
    /// then diffed in order, each with the outputs the steps before it will produce.
    pub async fn plan(&self) -> Result<Plan, StackError> {
        Ok(self.plan_steps().await?.into_plan(&self.spec.stack))
    }

    /// Observes every step at once, each for the names-only desired state a plan
    /// from nothing would have (outputs of earlier steps unknown).
    async fn observe_all(&self, scope: &Scope) -> Result<Observation, StackError> {
        let spec = &self.spec;
        let unknown = Known::AfterApply;
        let network = network::Desired::from_spec(spec);
        let kms = kms::Desired::from_spec(spec, scope);
        let logs = logs::Desired::from_spec(spec, &unknown);
        let secrets = secrets::Desired::from_spec(spec, &unknown);
        let cluster = cluster::Desired::from_spec(
            spec,
            &cluster::Inputs {
                security_group_id: Known::AfterApply,
                kms_key_arn: Known::AfterApply,
            },
        );
        let policies = unknown_policies(spec, scope, &cluster);
        let observed = try_join!(
            async { Ok::<_, StackError>(self.network.observe(&network).await?) },
            async { Ok(self.kms.observe(&kms).await?) },
            async { Ok(self.logs.observe(&logs).await?) },
            async { Ok(self.secrets.observe(&secrets).await?) },
            async { Ok(self.cluster.observe(&cluster).await?) },
            async { Ok(self.policies.observe(&policies).await?) },
        )?;
        Ok(Observation {
            network: (network, observed.0),
            kms: (kms, observed.1),
            logs: (logs, observed.2),
            secrets: (secrets, observed.3),
            cluster: (cluster, observed.4),
            policies: (policies, observed.5),
        })
    }

    async fn plan_steps(&self) -> Result<StepPlans, StackError> {
        let spec = &self.spec;
        let scope = self.scope().await?;
        let Observation {
            network: (network_desired, network_observed),
            kms: (kms_desired, kms_observed),
            logs: (_, logs_observed),
            secrets: (_, secrets_observed),
            cluster: (_, cluster_observed),
            policies: (_, policies_observed),
        } = self.observe_all(&scope).await?;
        let network = network::diff(&network_desired, &network_observed)?;
        let kms = kms::diff(&kms_desired, &kms_observed)?;
        let key = &kms.outputs.key_arn;
        let logs = logs::diff(&logs::Desired::from_spec(spec, key), &logs_observed)?;
        let secrets = secrets::diff(&secrets::Desired::from_spec(spec, key), &secrets_observed)?;
        let inputs = cluster::Inputs {
            security_group_id: network.outputs.security_group_id.clone(),
            kms_key_arn: key.clone(),
        };
        let cluster = cluster::diff(
            &cluster::Desired::from_spec(spec, &inputs),
            &cluster_observed,
        );
        let inputs = policies::Inputs {
            kms_key_arn: key.clone(),
            secrets: secrets.outputs.secrets.clone(),
            cluster: cluster.outputs.clone(),
        };
        let policies = policies::diff(
            &policies::Desired::from_spec(spec, &scope, &inputs),
            &policies_observed,
        )?;
        Ok(StepPlans {
            network,
            kms,
            logs,
            secrets,
            cluster,
            policies,
        })
    }

    /// What the stack hands to applications as it stands, without changing anything:
    /// each step's outputs as observed (values of resources not created yet are
    /// unknown), and whether the stack differs from the spec.
    pub async fn outputs(&self) -> Result<(StackOutputs, bool), StackError> {
        let plans = self.plan_steps().await?;
        let drifted = [
            &plans.network.changes,
            &plans.kms.changes,
            &plans.logs.changes,
            &plans.secrets.changes,
            &plans.cluster.changes,
            &plans.policies.changes,
        ]
        .into_iter()
        .any(|changes| count_changes(changes) > 0);
        let outputs = StackOutputs {
            network: plans.network.outputs,
            kms_key_arn: plans.kms.outputs.key_arn,
            log_groups: plans.logs.outputs.groups,
            secrets: plans.secrets.outputs.secrets,
            cluster: plans.cluster.outputs,
            policies: plans.policies.outputs,
        };
        Ok((outputs, drifted))
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

        let inputs = cluster::Inputs {
            security_group_id: network.security_group_id.clone(),
            kms_key_arn: key.clone(),
        };
        let desired = cluster::Desired::from_spec(spec, &inputs);
        let plan = cluster::diff(&desired, &self.cluster.observe(&desired).await?);
        let changed = step("cluster", &plan.changes)?;
        let credentials = self.credentials(&plan).await?;
        let report = |progress: cluster::Progress| on_event(progress.into());
        let cluster = self
            .cluster
            .apply(&plan, &credentials, &options.wait, &report)
            .await?;
        finished("cluster", changed);

        let inputs = policies::Inputs {
            kms_key_arn: key.clone(),
            secrets: secrets.clone(),
            cluster: cluster.clone(),
        };
        let desired = policies::Desired::from_spec(spec, &scope, &inputs);
        let plan = policies::diff(&desired, &self.policies.observe(&desired).await?)?;
        let changed = step("policies", &plan.changes)?;
        let policies = self.policies.apply(&plan).await?;
        finished("policies", changed);

        Ok(StackOutputs {
            network,
            kms_key_arn: key,
            log_groups,
            secrets,
            cluster,
            policies,
        })
    }

    /// Reads the secret values the cluster plan sends (and only those).
    async fn credentials(&self, plan: &cluster::ClusterPlan) -> Result<Credentials, StackError> {
        let mut credentials = Credentials::new();
        for name in plan.secrets_needed() {
            let value = self.secrets.read_credential(&name).await?;
            credentials.insert(name, value);
        }
        Ok(credentials)
    }

    /// What destroy would delete, and what it keeps. Reads only.
    pub async fn plan_destroy(&self, options: DestroyOptions) -> Result<Plan, StackError> {
        let plans = self.destroy_plans(options).await?;
        let mut plan = Plan::new(&self.spec.stack);
        plan.extend(plans.policies.changes, plans.policies.warnings);
        plan.extend(plans.cluster.changes, plans.cluster.warnings);
        plan.extend(plans.secrets.changes, plans.secrets.warnings);
        plan.extend(plans.logs.changes, plans.logs.warnings);
        match plans.kms {
            Some(kms) => plan.extend(kms.changes, kms.warnings),
            None if plans.key_kept => plan.extend([], [KEY_KEPT.to_owned()]),
            None => {}
        }
        plan.extend(plans.network.changes, []);
        Ok(plan)
    }

    async fn destroy_plans(&self, options: DestroyOptions) -> Result<DestroyPlans, StackError> {
        let scope = self.scope().await?;
        let Observation {
            network: (network_desired, network_observed),
            kms: (kms_desired, kms_observed),
            logs: (logs_desired, logs_observed),
            secrets: (secrets_desired, secrets_observed),
            cluster: (cluster_desired, mut cluster_observed),
            policies: (policies_desired, policies_observed),
        } = self.observe_all(&scope).await?;
        cluster_observed.final_snapshots = self.cluster.final_snapshots(&cluster_desired).await?;
        let cluster = cluster::diff_destroy(
            &cluster_desired,
            &cluster_observed,
            options.skip_final_snapshot,
        );
        // A final snapshot is encrypted with the stack key: deleting the key would
        // make the snapshot useless, so the key stays.
        let kms = kms::diff_destroy(&kms_desired, &kms_observed);
        let key_kept = cluster.keeps_snapshots() && count_changes(&kms.changes) > 0;
        Ok(DestroyPlans {
            policies: policies::diff_destroy(&policies_desired, &policies_observed),
            cluster,
            secrets: secrets::diff_destroy(
                &secrets_desired,
                &secrets_observed,
                options.force_delete_secrets,
            ),
            logs: logs::diff_destroy(&logs_desired, &logs_observed),
            kms: (!key_kept).then_some(kms),
            key_kept,
            network: network::diff_destroy(&network_desired, &network_observed),
            network_desired,
        })
    }

    /// Deletes what the stack owns, in reverse order of creation. The replication group
    /// goes first (with its final snapshot) and is waited for; the key and the network
    /// are deleted only once it is gone. Every other step is attempted even when one
    /// fails; all failures are reported.
    pub async fn destroy(
        &self,
        options: DestroyOptions,
        on_event: &(dyn Fn(Event) + Sync),
    ) -> Result<(), StackError> {
        let plans = self.destroy_plans(options).await?;
        let mut failures = Vec::new();
        let report = |progress: cluster::Progress| on_event(progress.into());
        failures.extend(
            self.destroy_step("policies", &plans.policies.changes, on_event, async {
                Ok(self.policies.apply(&plans.policies).await.map(drop)?)
            })
            .await
            .err(),
        );
        let cluster_gone = self
            .destroy_step("cluster", &plans.cluster.changes, on_event, async {
                Ok(self
                    .cluster
                    .destroy(&plans.cluster, &options.wait, &report)
                    .await?)
            })
            .await
            .map_err(|err| failures.push(err))
            .is_ok();
        let independent = [
            self.destroy_step("secrets", &plans.secrets.changes, on_event, async {
                Ok(self.secrets.destroy(&plans.secrets).await?)
            })
            .await,
            self.destroy_step("logs", &plans.logs.changes, on_event, async {
                Ok(self.logs.apply(&plans.logs).await.map(drop)?)
            })
            .await,
        ];
        failures.extend(independent.into_iter().filter_map(Result::err));
        if cluster_gone {
            if let Some(kms) = &plans.kms {
                let result = self
                    .destroy_step("kms", &kms.changes, on_event, async {
                        Ok(self.kms.destroy(kms).await?)
                    })
                    .await;
                failures.extend(result.err());
            }
            let result = self
                .destroy_step("network", &plans.network.changes, on_event, async {
                    Ok(self
                        .network
                        .destroy(&plans.network_desired, &plans.network)
                        .await?)
                })
                .await;
            failures.extend(result.err());
        } else {
            let mut skipped = Vec::new();
            if plans
                .kms
                .as_ref()
                .is_some_and(|k| count_changes(&k.changes) > 0)
            {
                skipped.push("kms");
            }
            if count_changes(&plans.network.changes) > 0 {
                skipped.push("network");
            }
            if !skipped.is_empty() {
                failures.push(StackError::Skipped(skipped));
            }
        }
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            _ => Err(StackError::Several(failures)),
        }
    }

    /// Runs one destroy step when it has changes, reporting start and finish.
    async fn destroy_step(
        &self,
        name: &'static str,
        changes: &[Change],
        on_event: &(dyn Fn(Event) + Sync),
        run: impl Future<Output = Result<(), StackError>>,
    ) -> Result<(), StackError> {
        let count = count_changes(changes);
        if count == 0 {
            return Ok(());
        }
        on_event(Event::StepStarted {
            step: name,
            changes: count,
        });
        run.await?;
        on_event(Event::StepFinished { step: name });
        Ok(())
    }
}

const KEY_KEPT: &str = "the stack's KMS key is kept: it encrypts the final snapshot (destroy with --skip-final-snapshot, or schedule the key's deletion yourself once the snapshot is gone)";

/// Each step's names-only desired state and what was observed for it.
struct Observation {
    network: (network::Desired, network::Observed),
    kms: (kms::Desired, kms::Observed),
    logs: (logs::Desired, logs::Observed),
    secrets: (secrets::Desired, secrets::Observed),
    cluster: (cluster::Desired, cluster::Observed),
    policies: (policies::Desired, policies::Observed),
}

/// Each step's plan, in apply order.
struct StepPlans {
    network: network::NetworkPlan,
    kms: kms::KmsPlan,
    logs: logs::LogsPlan,
    secrets: secrets::SecretsPlan,
    cluster: cluster::ClusterPlan,
    policies: policies::PoliciesPlan,
}

impl StepPlans {
    fn into_plan(self, stack: &str) -> Plan {
        let mut plan = Plan::new(stack);
        plan.extend(self.network.changes, []);
        plan.extend(self.kms.changes, self.kms.warnings);
        plan.extend(self.logs.changes, self.logs.warnings);
        plan.extend(self.secrets.changes, self.secrets.warnings);
        plan.extend(self.cluster.changes, self.cluster.warnings);
        plan.extend(self.policies.changes, self.policies.warnings);
        plan
    }
}

/// The policies step's names, for observing before any output is known.
fn unknown_policies(spec: &Spec, scope: &Scope, cluster: &cluster::Desired) -> policies::Desired {
    let group = &cluster.replication_group;
    let inputs = policies::Inputs {
        kms_key_arn: Known::AfterApply,
        secrets: Vec::new(),
        cluster: cluster::ClusterOutputs {
            replication_group_id: group.id.clone(),
            arn: Known::AfterApply,
            endpoints: Known::AfterApply,
            port: group.port,
            user_ids: Vec::new(),
        },
    };
    policies::Desired::from_spec(spec, scope, &inputs)
}

struct DestroyPlans {
    policies: policies::PoliciesPlan,
    cluster: cluster::ClusterPlan,
    secrets: secrets::SecretsPlan,
    logs: logs::LogsPlan,
    kms: Option<kms::KmsPlan>,
    key_kept: bool,
    network: network::NetworkPlan,
    network_desired: network::Desired,
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
