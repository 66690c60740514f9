//! The one driver: walks the steps in dependency order, building each step's desired
//! state once from the outputs of the steps before it, in two modes.
//!
//! - **Plan**: every step is observed at once (names do not depend on earlier outputs),
//!   then each is diffed in order with the outputs the earlier ones will produce.
//! - **Apply** a plan the user saw: each step is diffed again with the real outputs of
//!   the steps before it, against what the plan observed, or, when the step changes
//!   something that already existed, against a fresh observation made right before its
//!   writes. If the result is not what the plan showed, apply stops
//!   ([`StackError::ChangedSincePlan`]) instead of applying something else.
//!
//! A step of which nothing existed (every change a create) is not observed again: its
//! creates use the stack's deterministic names, so a resource that appeared since the
//! plan makes the create fail rather than be duplicated.

use futures::try_join;
use plan::{Action, AttributeChange, Change, Known, Plan, Value};
use spec::Spec;
use spec::names::Scope;

use crate::steps::{ApplyContext, Step};
use crate::{Identity, Stack, StackError, StackOutputs, count_changes, refuse_replacements};

/// One step's part of a walk: what was observed, the plan, and the outputs (planned ones
/// in a plan, real ones after apply).
#[derive(Debug, Clone)]
pub(crate) struct Walked<O, P, T> {
    pub observed: O,
    pub plan: P,
    pub outputs: T,
}

type WalkedStep<S> = Walked<<S as Step>::Observed, <S as Step>::Plan, <S as Step>::Outputs>;

/// Every step's part, in apply order.
#[derive(Debug, Clone)]
pub(crate) struct Walk {
    pub network: WalkedStep<network::Network>,
    pub kms: WalkedStep<kms::Kms>,
    pub logs: WalkedStep<logs::Logs>,
    pub secrets: WalkedStep<secrets::Secrets>,
    pub cluster: WalkedStep<cluster::Cluster>,
    pub documents: WalkedStep<secrets::document::Documents>,
    pub policies: WalkedStep<policies::Policies>,
    pub runner: WalkedStep<rotation_runner::Runner>,
}

impl Walk {
    /// The changes and warnings of every step, as one plan.
    pub fn plan(&self, stack: &str) -> Plan {
        fn add<S: Step>(plan: &mut Plan, step: &WalkedStep<S>) {
            plan.extend(
                S::changes(&step.plan).to_vec(),
                S::warnings(&step.plan).to_vec(),
            );
        }
        let mut plan = Plan::new(stack);
        add::<network::Network>(&mut plan, &self.network);
        add::<kms::Kms>(&mut plan, &self.kms);
        add::<logs::Logs>(&mut plan, &self.logs);
        add::<secrets::Secrets>(&mut plan, &self.secrets);
        add::<cluster::Cluster>(&mut plan, &self.cluster);
        add::<secrets::document::Documents>(&mut plan, &self.documents);
        add::<policies::Policies>(&mut plan, &self.policies);
        add::<rotation_runner::Runner>(&mut plan, &self.runner);
        plan
    }

    /// The outputs the walk ended with.
    pub fn outputs(&self) -> StackOutputs {
        StackOutputs {
            network: self.network.outputs.clone(),
            kms_key_arn: self.kms.outputs.key_arn.clone(),
            log_groups: self.logs.outputs.groups.clone(),
            secrets: self.secrets.outputs.secrets.clone(),
            last_rotated: self.secrets.outputs.last_rotated.clone(),
            cluster: self.cluster.outputs.clone(),
            policies: self.policies.outputs.clone(),
            rotation: self.runner.outputs.clone(),
        }
    }
}

/// Each step's observation, made before any output is known.
#[derive(Debug)]
pub(crate) struct Observation {
    pub network: network::Observed,
    pub kms: kms::Observed,
    pub logs: logs::Observed,
    pub secrets: secrets::Observed,
    pub cluster: cluster::Observed,
    /// The secrets again: one listing serves both parts of the secrets step.
    pub documents: secrets::Observed,
    pub policies: policies::Observed,
    pub runner: rotation_runner::Observed,
}

/// A plan the user can look at, then hand to [`Stack::apply`], which applies exactly
/// it (or stops if the stack changed since). Holds no secret.
#[derive(Debug, Clone)]
pub struct StackPlan {
    pub(crate) identity: Identity,
    pub(crate) walk: Walk,
    pub(crate) plan: Plan,
    /// The stack's serial when the plan was made (see the `lock` module).
    pub(crate) serial: Option<String>,
}

impl StackPlan {
    /// The changes and warnings, for people and machines.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Where the plan applies.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Whether applying it would change anything.
    pub fn has_changes(&self) -> bool {
        self.plan.has_changes()
    }

    /// The outputs as far as they are known before apply.
    pub fn outputs(&self) -> StackOutputs {
        self.walk.outputs()
    }
}

/// How the driver walks.
pub(crate) enum Mode<'a> {
    /// Diff what was just observed.
    Plan(Box<Observation>),
    /// Apply this walk's plans, checking each still holds.
    Apply(&'a Walk, ApplyContext<'a>),
}

/// Where one step's observation comes from.
enum Source<'a, S: Step> {
    Observed(&'a S::Observed),
    Planned(&'a WalkedStep<S>, &'a ApplyContext<'a>),
}

/// Each step's desired state, from the outputs of the steps before it. The only place
/// that wires steps together.
pub(crate) struct Wiring<'a> {
    pub spec: &'a Spec,
    pub scope: &'a Scope,
}

impl Wiring<'_> {
    pub fn network(&self) -> network::Desired {
        network::Desired::from_spec(self.spec)
    }

    pub fn kms(&self) -> kms::Desired {
        let inputs = kms::Inputs {
            scope: self.scope.clone(),
        };
        kms::Desired::from_spec(self.spec, &inputs)
    }

    pub fn logs(&self, key: &Known<String>) -> logs::Desired {
        let inputs = logs::Inputs {
            kms_key_arn: key.clone(),
        };
        logs::Desired::from_spec(self.spec, &inputs)
    }

    pub fn secrets(&self, key: &Known<String>) -> secrets::Desired {
        let inputs = secrets::Inputs {
            kms_key_arn: key.clone(),
        };
        secrets::Desired::from_spec(self.spec, &inputs)
    }

    pub fn cluster(
        &self,
        security_group_id: &Known<String>,
        key: &Known<String>,
    ) -> cluster::Desired {
        let inputs = cluster::Inputs {
            security_group_id: security_group_id.clone(),
            kms_key_arn: key.clone(),
        };
        cluster::Desired::from_spec(self.spec, &inputs)
    }

    pub fn documents(&self, cluster: &cluster::ClusterOutputs) -> secrets::document::Desired {
        let host = cluster.endpoints.value().and_then(|endpoints| {
            (endpoints.configuration.clone()).or_else(|| endpoints.primary.clone())
        });
        let inputs = secrets::document::Inputs {
            scope: self.scope.clone(),
            host: host.into(),
            port: cluster.port,
        };
        secrets::document::Desired::from_spec(self.spec, &inputs)
    }

    pub fn policies(
        &self,
        key: &Known<String>,
        secrets: &[(String, Known<String>)],
        cluster: &cluster::ClusterOutputs,
    ) -> policies::Desired {
        let inputs = policies::Inputs {
            scope: self.scope.clone(),
            kms_key_arn: key.clone(),
            secrets: secrets.to_vec(),
            cluster: cluster.clone(),
        };
        policies::Desired::from_spec(self.spec, &inputs)
    }

    /// The rotation runner, from the network, the key and the secrets; the package is
    /// read (a local zip) only when `package` is asked for.
    pub fn runner(
        &self,
        network: &network::NetworkOutputs,
        key: &Known<String>,
        secrets: &[(String, Known<String>)],
        with_package: bool,
    ) -> Result<rotation_runner::Desired, StackError> {
        let wanted = with_package && self.spec.auth.rotation.lambda_runner();
        let package = match wanted {
            true => Some(rotation_runner::package::Package::for_spec(self.spec)?),
            false => None,
        };
        let inputs = rotation_runner::Inputs {
            scope: self.scope.clone(),
            vpc_id: network.vpc_id.clone(),
            subnet_ids: network.subnet_ids.clone(),
            cache_security_group_id: network.security_group_id.clone(),
            kms_key_arn: key.clone(),
            secrets: secrets.to_vec(),
            package,
        };
        Ok(rotation_runner::Desired::from_spec(self.spec, &inputs))
    }

    /// Every step's desired state before any output is known: enough to find what
    /// exists, since names never depend on earlier outputs.
    pub fn names_only(&self) -> NamesOnly {
        let unknown = Known::AfterApply;
        let cluster = self.cluster(&unknown, &unknown);
        let group = &cluster.replication_group;
        let cluster_outputs = cluster::ClusterOutputs {
            replication_group_id: group.id.clone(),
            arn: Known::AfterApply,
            endpoints: Known::AfterApply,
            port: group.port,
            user_ids: Vec::new(),
        };
        let network = self.network();
        let secrets = self.secrets(&unknown);
        let secret_names: Vec<(String, Known<String>)> = (secrets.secrets.iter())
            .map(|s| (s.name.clone(), Known::AfterApply))
            .collect();
        let runner = rotation_runner::Desired::from_spec(
            self.spec,
            &rotation_runner::Inputs {
                scope: self.scope.clone(),
                vpc_id: Known::AfterApply,
                subnet_ids: Known::AfterApply,
                cache_security_group_id: Known::AfterApply,
                kms_key_arn: Known::AfterApply,
                secrets: secret_names,
                package: None,
            },
        );
        NamesOnly {
            kms: self.kms(),
            logs: self.logs(&unknown),
            policies: self.policies(&unknown, &[], &cluster_outputs),
            network,
            secrets,
            cluster,
            runner,
        }
    }
}

/// Every step's desired state with unknown outputs.
pub(crate) struct NamesOnly {
    pub network: network::Desired,
    pub kms: kms::Desired,
    pub logs: logs::Desired,
    pub secrets: secrets::Desired,
    pub cluster: cluster::Desired,
    pub policies: policies::Desired,
    pub runner: rotation_runner::Desired,
}

impl Stack {
    /// Every step's desired state before any output is known, in `scope`.
    pub(crate) fn names_only(&self, scope: &Scope) -> NamesOnly {
        Wiring {
            spec: &self.spec,
            scope,
        }
        .names_only()
    }

    /// Names that do not depend on the account: every step's but the policies' (whose
    /// ARNs hold it). The desired states diffed are built again in the real scope.
    pub(crate) fn account_free_names(&self) -> NamesOnly {
        self.names_only(&Scope::new("", &self.spec.region))
    }

    /// Observes every step at once, while STS says which account this is: only IAM's
    /// reads (policy ARNs hold the account) wait for it. Returns the identity and the
    /// names in its scope.
    pub(crate) async fn observe_all(
        &self,
    ) -> Result<(Identity, NamesOnly, Observation), StackError> {
        let account_free = self.account_free_names();
        let iam = async {
            let identity = self.identity().await?;
            let names = self.names_only(&identity.scope());
            let access = self.policies.observe_access(&names.policies).await;
            Ok::<_, StackError>((identity, names, access))
        };
        // Boxed: six observations inline are a large future (see `walk`).
        let others = async {
            try_join!(
                Box::pin(Step::observe(&self.network, &account_free.network)),
                Box::pin(Step::observe(&self.kms, &account_free.kms)),
                Box::pin(Step::observe(&self.logs, &account_free.logs)),
                Box::pin(Step::observe(&self.secrets, &account_free.secrets)),
                Box::pin(Step::observe(&self.cluster, &account_free.cluster)),
                async {
                    let policies = &account_free.policies;
                    Ok(self.policies.observe_parameters(policies).await?)
                },
                Box::pin(async {
                    // Only a stack that runs the function reads it in every plan; a
                    // former one's leftovers show in the secrets' listing (below).
                    let runner = &account_free.runner;
                    match runner.enabled {
                        true => Ok(self.runner.observe_deployment(runner).await?),
                        false => Ok(rotation_runner::Observed::default()),
                    }
                }),
            )
        };
        let (iam, others) = futures::join!(Box::pin(iam), others);
        // Who the caller is fails first and clearest (an unreachable region).
        let (identity, names, access) = iam?;
        let (network, kms, logs, secrets, cluster, parameters, runner) = others?;
        let runner = Box::pin(self.with_rotations(&account_free.runner, runner, &secrets)).await?;
        let policies = policies::Observed {
            parameters,
            ..access?
        };
        let observation = Observation {
            network,
            kms,
            logs,
            documents: secrets.clone(),
            secrets,
            cluster,
            policies,
            runner,
        };
        Ok((identity, names, observation))
    }

    /// The runner's observation with each secret's rotation configuration from the
    /// secrets' listing. A stack whose spec no longer runs the function reads the rest
    /// only when a secret still names the function: what a former `runner: lambda` left.
    async fn with_rotations(
        &self,
        desired: &rotation_runner::Desired,
        observed: rotation_runner::Observed,
        secrets: &secrets::Observed,
    ) -> Result<rotation_runner::Observed, StackError> {
        let rotations: std::collections::BTreeMap<_, _> = (secrets.secrets.iter())
            .map(|(name, secret)| (name.clone(), secret.rotation.automatic.clone()))
            .collect();
        let function = format!(":function:{}", desired.name);
        let left_over = rotations.values().any(|r| {
            r.lambda_arn
                .as_deref()
                .is_some_and(|a| a.ends_with(&function))
        });
        let observed = match !desired.enabled && left_over {
            true => self.runner.observe_deployment(desired).await?,
            false => observed,
        };
        Ok(rotation_runner::Observed {
            rotations,
            ..observed
        })
    }
    /// Walks the steps in order: the stack's one piece of wiring.
    pub(crate) async fn walk(&self, scope: &Scope, mode: Mode<'_>) -> Result<Walk, StackError> {
        let wiring = Wiring {
            spec: &self.spec,
            scope,
        };
        macro_rules! source {
            ($step:ident) => {
                match &mode {
                    Mode::Plan(observed) => Source::Observed(&observed.$step),
                    Mode::Apply(planned, context) => Source::Planned(&planned.$step, context),
                }
            };
        }
        // Each step boxed: a whole walk inline is deeper than a 2 MiB thread's stack
        // (tokio's workers, test threads) in a debug build.
        let network =
            Box::pin(self.step(&self.network, wiring.network(), source!(network))).await?;
        let kms = Box::pin(self.step(&self.kms, wiring.kms(), source!(kms))).await?;
        let key = &kms.outputs.key_arn;
        let logs = Box::pin(self.step(&self.logs, wiring.logs(key), source!(logs))).await?;
        let secrets =
            Box::pin(self.step(&self.secrets, wiring.secrets(key), source!(secrets))).await?;
        let cluster_desired = wiring.cluster(&network.outputs.security_group_id, key);
        let cluster = Box::pin(self.step(&self.cluster, cluster_desired, source!(cluster))).await?;
        let documents_desired = wiring.documents(&cluster.outputs);
        let documents =
            Box::pin(self.step(&self.documents, documents_desired, source!(documents))).await?;
        let policies_desired = wiring.policies(key, &secrets.outputs.secrets, &cluster.outputs);
        let policies =
            Box::pin(self.step(&self.policies, policies_desired, source!(policies))).await?;
        let runner_desired =
            wiring.runner(&network.outputs, key, &secrets.outputs.secrets, true)?;
        let runner = Box::pin(self.step(&self.runner, runner_desired, source!(runner))).await?;
        Ok(Walk {
            network,
            kms,
            logs,
            secrets,
            cluster,
            documents,
            policies,
            runner,
        })
    }

    /// One step of a walk.
    async fn step<S: Step>(
        &self,
        step: &S,
        desired: S::Desired,
        source: Source<'_, S>,
    ) -> Result<WalkedStep<S>, StackError> {
        let (planned, context) = match source {
            Source::Observed(observed) => {
                let observed = step.refine(&desired, observed.clone()).await?;
                let plan = S::diff(&desired, &observed)?;
                return Ok(Walked {
                    observed,
                    outputs: S::planned_outputs(&plan),
                    plan,
                });
            }
            Source::Planned(planned, context) => (planned, context),
        };
        let observed = if changes_existing(S::changes(&planned.plan)) {
            let observed = step.observe(&desired).await?;
            step.refine(&desired, observed).await?
        } else {
            planned.observed.clone()
        };
        let plan = S::diff(&desired, &observed)?;
        let differences = differences(S::changes(&planned.plan), S::changes(&plan));
        if !differences.is_empty() {
            return Err(StackError::ChangedSincePlan {
                step: S::NAME,
                differences,
            });
        }
        refuse_replacements(S::changes(&plan), context.options)?;
        let count = count_changes(S::changes(&plan));
        if count > 0 {
            (context.on_event)(crate::Event::StepStarted {
                step: S::NAME,
                changes: count,
            });
        }
        let outputs = step.apply(&plan, context).await?;
        if count > 0 {
            (context.on_event)(crate::Event::StepFinished { step: S::NAME });
        }
        Ok(Walked {
            observed,
            plan,
            outputs,
        })
    }
}

/// Whether a step writes where something of it existed when it was planned (a step
/// lists what exists as no-op changes): then what exists is read again before writing.
fn changes_existing(changes: &[Change]) -> bool {
    changes.iter().any(Change::is_change) && !changes.iter().all(|c| c.action == Action::Create)
}

/// How the changes a step would make now differ from those the plan showed, one line per
/// resource; empty when the plan still holds. A value the plan showed as known after
/// apply matches whatever it turned out to be, and a planned change that is no longer
/// needed is no difference (apply does less, never more, than it showed).
pub(crate) fn differences(planned: &[Change], now: &[Change]) -> Vec<String> {
    now.iter()
        .filter(|change| change.is_change())
        .filter_map(|change| {
            let Some(shown) = planned
                .iter()
                .find(|p| p.resource == change.resource && p.is_change())
            else {
                return Some(format!(
                    "{} {} was not in the plan",
                    change.action.sign(),
                    change.resource
                ));
            };
            if shown.action != change.action {
                return Some(format!(
                    "{} {} was planned as {}",
                    change.action.sign(),
                    change.resource,
                    shown.action.sign()
                ));
            }
            let changed: Vec<&str> = change
                .attributes
                .iter()
                .filter(|attribute| !shown.attributes.iter().any(|s| covers(s, attribute)))
                .map(|attribute| attribute.name.as_str())
                .collect();
            (!changed.is_empty()).then(|| {
                format!(
                    "{} {}: {} not as planned",
                    change.action.sign(),
                    change.resource,
                    changed.join(", ")
                )
            })
        })
        .collect()
}

/// Whether the planned attribute change `shown` covers the one found now.
fn covers(shown: &AttributeChange, now: &AttributeChange) -> bool {
    let matches = |planned: &Option<Value>, actual: &Option<Value>| match (planned, actual) {
        (Some(Value::Unknown), _) => true,
        (planned, actual) => planned == actual,
    };
    shown.name == now.name
        && matches(&shown.before, &now.before)
        && matches(&shown.after, &now.after)
}

#[cfg(test)]
mod tests {
    use plan::{Diff, ResourceId};

    use super::*;

    fn rule(name: &str) -> ResourceId {
        ResourceId::new("security_group_rule", name)
    }

    #[test]
    fn the_same_changes_hold() {
        let changes = vec![Change::create(
            rule("a"),
            vec![("cidr", Value::from("10.0.0.0/8"))],
        )];
        assert!(differences(&changes, &changes).is_empty());
    }

    #[test]
    fn a_value_known_after_apply_matches_what_it_became() {
        let planned = vec![Change::create(rule("a"), vec![("group", Value::Unknown)])];
        let now = vec![Change::create(
            rule("a"),
            vec![("group", Value::from("sg-1"))],
        )];
        assert!(differences(&planned, &now).is_empty());
    }

    #[test]
    fn a_change_no_longer_needed_is_no_difference() {
        let planned = vec![Change::create(rule("a"), vec![])];
        assert!(differences(&planned, &[]).is_empty());
    }

    #[test]
    fn a_change_the_plan_did_not_show_is_a_difference() {
        let planned = vec![Change::create(rule("a"), vec![])];
        let now = vec![
            Change::create(rule("a"), vec![]),
            Change::create(rule("b"), vec![]),
        ];
        assert_eq!(
            differences(&planned, &now),
            ["+ security_group_rule b was not in the plan"]
        );
    }

    #[test]
    fn another_before_value_is_a_difference() {
        let planned = vec![
            Diff::new(rule("a"))
                .attribute("port", Value::from(6379), Value::from(6380))
                .finish(),
        ];
        let now = vec![
            Diff::new(rule("a"))
                .attribute("port", Value::from(7000), Value::from(6380))
                .finish(),
        ];
        assert_eq!(
            differences(&planned, &now),
            ["~ security_group_rule a: port not as planned"]
        );
    }

    #[test]
    fn another_action_is_a_difference() {
        let planned = vec![Change::create(rule("a"), vec![])];
        let now = vec![
            Diff::new(rule("a"))
                .replacing("cidr", Value::from("a"), Value::from("b"))
                .finish(),
        ];
        assert_eq!(
            differences(&planned, &now),
            ["-/+ security_group_rule a was planned as +"]
        );
    }
}
