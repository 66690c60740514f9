//! Destroy: the steps in reverse, the replication group first.
//!
//! The stack's own rules live here: the key is kept while a final snapshot exists (it
//! encrypts it), and the key and network wait until the replication group is gone.

use std::future::Future;

use plan::{Change, Plan};

use crate::{DestroyOptions, Event, Identity, Stack, StackError, count_changes};

/// What destroy would delete and keep, to show and then hand to [`Stack::destroy`].
#[derive(Debug, Clone)]
pub struct DestroyPlan {
    identity: Identity,
    options: DestroyOptions,
    plan: Plan,
    steps: DestroySteps,
    /// The stack's serial when the plan was made (see the `lock` module).
    serial: Option<String>,
    /// What exists, as far as it is billed (for [`Stack::destroy_cost`]).
    pub(crate) footprint: cost::Footprint,
}

impl DestroyPlan {
    /// The deletions and warnings, for people and machines.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Where the plan applies.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Whether destroying would delete anything.
    pub fn has_changes(&self) -> bool {
        self.plan.has_changes()
    }

    /// Whether the stack's key stays (it encrypts the final snapshots): then destroy has
    /// no key step.
    pub(crate) fn keeps_key(&self) -> bool {
        self.steps.kms.is_none()
    }
}

#[derive(Debug, Clone)]
struct DestroySteps {
    runner: rotation_runner::RunnerPlan,
    policies: policies::PoliciesPlan,
    cluster: cluster::ClusterPlan,
    secrets: secrets::SecretsPlan,
    logs: logs::LogsPlan,
    /// `None` when the key is kept for the final snapshots.
    kms: Option<kms::KmsPlan>,
    network: network::NetworkPlan,
}

pub(crate) const KEY_KEPT: &str = "the stack's KMS key is kept: it encrypts the final snapshot (destroy without a final snapshot, or schedule the key's deletion yourself once the snapshot is gone)";

impl Stack {
    /// The final snapshots a destroy (or a replacement) of this stack left, oldest
    /// first: their names end in the UTC time they were taken. What a new stack's
    /// `cluster.snapshot.restore_from` names to bring the data back. Reads only.
    pub async fn final_snapshots(&self) -> Result<Vec<String>, StackError> {
        let account_free = self.account_free_names();
        let mut names = self.cluster.final_snapshots(&account_free.cluster).await?;
        names.sort();
        Ok(names)
    }

    /// What destroy would delete, and what it keeps. Reads only.
    pub async fn plan_destroy(&self, options: DestroyOptions) -> Result<DestroyPlan, StackError> {
        let account_free = self.account_free_names();
        let (observed, snapshots, lock) = futures::join!(
            self.observe_all(),
            self.cluster.final_snapshots(&account_free.cluster),
            crate::lock::state(&self.ssm, &self.spec.stack),
        );
        // The observation's error first: it puts who the caller is first.
        let (identity, names, observed) = match observed {
            Ok(observed) => observed,
            Err(err) => return Err(self.unknown_region_or(err).await),
        };
        let (snapshots, lock) = (snapshots?, lock?);
        let mut cluster_observed = observed.cluster;
        cluster_observed.final_snapshots = snapshots;
        let cluster = cluster::diff_destroy(
            &names.cluster,
            &cluster_observed,
            options.skip_final_snapshot,
        );
        // Copies of the key without the alias are found only here and while the alias
        // is missing: the listing reads the tags of every unaliased key in the account.
        let mut kms_observed = observed.kms;
        kms_observed.duplicate_keys = self.kms.duplicate_keys(&names.kms, &kms_observed).await?;
        let kms = kms::diff_destroy(&names.kms, &kms_observed);
        let key_kept = cluster.keeps_snapshots() && count_changes(&kms.changes) > 0;
        let footprint = crate::estimate::existing(
            &self.spec,
            crate::estimate::Observed {
                cluster: &cluster_observed,
                kms: &kms_observed,
                secrets: &observed.secrets,
                runner: &observed.runner,
            },
        );
        let steps = DestroySteps {
            runner: rotation_runner::diff_destroy(&names.runner, &observed.runner),
            policies: policies::diff_destroy(&names.policies, &observed.policies),
            cluster,
            secrets: secrets::diff_destroy(
                &names.secrets,
                &observed.secrets,
                options.force_delete_secrets,
            ),
            logs: logs::diff_destroy(&names.logs, &observed.logs),
            kms: (!key_kept).then_some(kms),
            network: network::diff_destroy(&names.network, &observed.network),
        };
        let mut plan = Plan::new(&self.spec.stack);
        plan.extend(steps.runner.changes.clone(), steps.runner.warnings.clone());
        plan.extend(
            steps.policies.changes.clone(),
            steps.policies.warnings.clone(),
        );
        plan.extend(
            steps.cluster.changes.clone(),
            steps.cluster.warnings.clone(),
        );
        plan.extend(
            steps.secrets.changes.clone(),
            steps.secrets.warnings.clone(),
        );
        plan.extend(steps.logs.changes.clone(), steps.logs.warnings.clone());
        match &steps.kms {
            Some(kms) => plan.extend(kms.changes.clone(), kms.warnings.clone()),
            None if key_kept => plan.extend([], [KEY_KEPT.to_owned()]),
            None => {}
        }
        plan.extend(
            steps.network.changes.clone(),
            steps.network.warnings.clone(),
        );
        plan.warnings
            .extend(lock.held.as_ref().map(crate::lock_warning));
        Ok(DestroyPlan {
            identity,
            options,
            plan,
            steps,
            serial: lock.serial,
            footprint,
        })
    }

    /// Deletes what `plan` showed, in reverse order of creation. The replication group
    /// goes first (with its final snapshot) and is waited for; the key and the network
    /// are deleted only once it is gone. Every other step is attempted even when one
    /// fails; all failures are reported.
    ///
    /// It holds the stack's lock throughout, and removes the lock last.
    pub async fn destroy(
        &self,
        plan: &DestroyPlan,
        on_event: &(dyn Fn(Event) + Sync),
    ) -> Result<(), StackError> {
        self.check_plan_is_mine(&plan.plan)?;
        let options = &plan.options;
        let locked = crate::LockedRun {
            command: "destroy",
            wait: options.wait.timeout,
            lock_timeout: options.lock_timeout,
            serial: crate::lock::SerialRule::Planned(plan.serial.as_deref()),
        };
        let work = async {
            // Boxed, as the walk's steps are: too deep for a 2 MiB stack inline.
            Box::pin(self.destroy_locked(plan, on_event)).await?;
            // The stack is gone: its serial goes with it, before the lock.
            Ok(crate::lock::delete_serial(&self.ssm, &self.spec.stack).await?)
        };
        self.while_locked(locked, work).await
    }

    async fn destroy_locked(
        &self,
        plan: &DestroyPlan,
        on_event: &(dyn Fn(Event) + Sync),
    ) -> Result<(), StackError> {
        let steps = &plan.steps;
        let wait = &plan.options.wait;
        let mut failures = Vec::new();
        let report = |progress: cluster::Progress| on_event(progress.into());
        // First: rotation stops before the secrets and the group it rotates go.
        let runner = destroy_step("rotation runner", &steps.runner.changes, on_event, async {
            Ok(self.runner.destroy(&steps.runner).await?)
        });
        failures.extend(runner.await.err());
        let policies = destroy_step("policies", &steps.policies.changes, on_event, async {
            Ok(self.policies.destroy(&steps.policies).await?)
        });
        failures.extend(policies.await.err());
        let cluster = destroy_step("cluster", &steps.cluster.changes, on_event, async {
            Ok(self.cluster.destroy(&steps.cluster, wait, &report).await?)
        });
        let cluster_gone = cluster.await.map_err(|err| failures.push(err)).is_ok();
        let secrets = destroy_step("secrets", &steps.secrets.changes, on_event, async {
            Ok(self.secrets.destroy(&steps.secrets).await?)
        });
        failures.extend(secrets.await.err());
        let logs = destroy_step("logs", &steps.logs.changes, on_event, async {
            Ok(self.logs.destroy(&steps.logs).await?)
        });
        failures.extend(logs.await.err());
        if cluster_gone {
            if let Some(kms) = &steps.kms {
                let result = destroy_step("kms", &kms.changes, on_event, async {
                    Ok(self.kms.destroy(kms).await?)
                });
                failures.extend(result.await.err());
            }
            let network = destroy_step("network", &steps.network.changes, on_event, async {
                Ok(self.network.destroy(&steps.network).await?)
            });
            failures.extend(network.await.err());
        } else {
            let waiting = [
                (
                    "kms",
                    steps.kms.as_ref().map_or(0, |k| count_changes(&k.changes)),
                ),
                ("network", count_changes(&steps.network.changes)),
            ];
            let skipped: Vec<&'static str> = waiting
                .into_iter()
                .filter(|(_, count)| *count > 0)
                .map(|(name, _)| name)
                .collect();
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
}

/// Runs one destroy step when it has changes, reporting start and finish.
async fn destroy_step(
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
    Box::pin(run).await?;
    on_event(Event::StepFinished { step: name });
    Ok(())
}
