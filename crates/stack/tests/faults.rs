//! Applies through a fault-injecting proxy: calls refused before the emulator sees them
//! and answers lost after it acted. Whatever fails, an apply never leaves two of
//! anything: every resource of each kind in the account is counted (tagged or not, by
//! our names or not) and compared with a clean apply's count.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stack::{ApplyOptions, Stack, StackError};
use test_support::proxy::{Fault, Faults, Proxy};
use test_support::{Account, Emulator};

fn quickstart() -> spec::Spec {
    spec::parse(&quickstart_source(), "quickstart.yaml").expect("valid spec")
}

fn quickstart_source() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart.yaml");
    std::fs::read_to_string(path).expect("example")
}

/// The stack's retries, with short pauses so a test with many faults ends soon.
fn through(account: &Account, proxy: &Proxy) -> aws_config::SdkConfig {
    let retries = stack::retry_config().with_initial_backoff(Duration::from_millis(20));
    account
        .through(proxy)
        .to_builder()
        .retry_config(retries)
        .build()
}

async fn apply_once(config: &aws_config::SdkConfig) -> Result<(), StackError> {
    let stack = Stack::new(quickstart(), config);
    let plan = stack.plan().await?;
    stack.apply(&plan, ApplyOptions::default(), &|_| {}).await?;
    Ok(())
}

async fn converged(config: &aws_config::SdkConfig) -> bool {
    let plan = Stack::new(quickstart(), config)
        .plan()
        .await
        .expect("plans");
    !plan.has_changes()
}

/// How many resources of each kind the account holds, AWS's defaults aside.
async fn census(config: &aws_config::SdkConfig) -> BTreeMap<&'static str, usize> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let kms = aws_sdk_kms::Client::new(config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let cache = aws_sdk_elasticache::Client::new(config);
    let iam = aws_sdk_iam::Client::new(config);
    let ssm = aws_sdk_ssm::Client::new(config);
    let vpcs = ec2.describe_vpcs().send().await.expect("vpcs");
    let subnets = ec2.describe_subnets().send().await.expect("subnets");
    let groups = ec2.describe_security_groups().send().await.expect("groups");
    let rules = ec2
        .describe_security_group_rules()
        .send()
        .await
        .expect("rules");
    let keys = kms.list_keys().send().await.expect("keys");
    let aliases = kms.list_aliases().send().await.expect("aliases");
    let log_groups = logs.describe_log_groups().send().await.expect("log groups");
    let listed_secrets = secrets.list_secrets().send().await.expect("secrets");
    let replication_groups = cache
        .describe_replication_groups()
        .send()
        .await
        .expect("rgs");
    let subnet_groups = cache
        .describe_cache_subnet_groups()
        .send()
        .await
        .expect("sngs");
    let parameter_groups = cache
        .describe_cache_parameter_groups()
        .send()
        .await
        .expect("pgs");
    let users = cache.describe_users().send().await.expect("users");
    let user_groups = cache
        .describe_user_groups()
        .send()
        .await
        .expect("user groups");
    let policies = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .expect("policies");
    let parameters = ssm.describe_parameters().send().await.expect("parameters");
    let default_vpcs: HashSet<&str> = vpcs
        .vpcs()
        .iter()
        .filter(|v| v.is_default() == Some(true))
        .filter_map(|v| v.vpc_id())
        .collect();
    let outside_defaults = |vpc: Option<&str>| !vpc.is_some_and(|id| default_vpcs.contains(id));
    BTreeMap::from([
        ("vpc", vpcs.vpcs().len() - default_vpcs.len()),
        (
            "subnet",
            subnets
                .subnets()
                .iter()
                .filter(|s| outside_defaults(s.vpc_id()))
                .count(),
        ),
        (
            "security_group",
            groups
                .security_groups()
                .iter()
                .filter(|g| outside_defaults(g.vpc_id()) && g.group_name() != Some("default"))
                .count(),
        ),
        (
            "ingress_rule",
            rules
                .security_group_rules()
                .iter()
                .filter(|r| r.is_egress() == Some(false))
                .count(),
        ),
        ("kms_key", keys.keys().len()),
        (
            "kms_alias",
            aliases
                .aliases()
                .iter()
                .filter(|a| !a.alias_name().unwrap_or_default().starts_with("alias/aws/"))
                .count(),
        ),
        ("log_group", log_groups.log_groups().len()),
        ("secret", listed_secrets.secret_list().len()),
        (
            "replication_group",
            replication_groups.replication_groups().len(),
        ),
        (
            "cache_subnet_group",
            subnet_groups
                .cache_subnet_groups()
                .iter()
                .filter(|g| g.cache_subnet_group_name() != Some("default"))
                .count(),
        ),
        (
            "cache_parameter_group",
            parameter_groups
                .cache_parameter_groups()
                .iter()
                .filter(|g| {
                    !g.cache_parameter_group_name()
                        .unwrap_or_default()
                        .starts_with("default.")
                })
                .count(),
        ),
        (
            "user",
            users
                .users()
                .iter()
                .filter(|u| u.user_id() != Some("default"))
                .count(),
        ),
        ("user_group", user_groups.user_groups().len()),
        ("iam_policy", policies.policies().len()),
        ("ssm_parameter", parameters.parameters().len()),
    ])
}

/// What one clean apply of the quickstart leaves.
async fn clean_census() -> BTreeMap<&'static str, usize> {
    let account = Emulator::account("faults_clean").await;
    apply_once(&account.config).await.expect("a clean apply");
    census(&account.config).await
}

/// Loses the first answer of every create, once per operation.
fn lose_each_create_once() -> Faults {
    let seen = Mutex::new(HashSet::new());
    Arc::new(move |operation: &str| {
        let create = operation.starts_with("Create") || operation.starts_with("Authorize");
        let first = seen
            .lock()
            .map(|mut seen| seen.insert(operation.to_owned()))
            .unwrap_or(false);
        if create && first {
            Fault::Lose
        } else {
            Fault::None
        }
    })
}

#[tokio::test]
async fn every_create_losing_its_answer_once_makes_nothing_twice() {
    let clean = clean_census().await;
    let account = Emulator::account("faults_lost_creates").await;
    let proxy = Proxy::with_faults(
        &test_support::endpoint(),
        Duration::ZERO,
        lose_each_create_once(),
    )
    .await
    .expect("proxy");
    apply_once(&through(&account, &proxy))
        .await
        .expect("converges in one run");
    let lost: Vec<String> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.ends_with("!lost"))
        .collect();
    assert!(lost.iter().any(|c| c == "CreateVpc!lost"), "{lost:?}");
    assert!(lost.iter().any(|c| c == "CreateKey!lost"), "{lost:?}");
    assert_eq!(census(&account.config).await, clean, "lost: {lost:?}");
    assert!(converged(&account.config).await);
}

/// A small deterministic generator, so a failing trial can be run again as it was.
fn random_faults(seed: u64, percent: u64) -> Faults {
    let state = Mutex::new(seed.wrapping_mul(6_364_136_223_846_793_005) | 1);
    Arc::new(move |_operation: &str| {
        let Ok(mut state) = state.lock() else {
            return Fault::None;
        };
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        match (*state >> 33) % 100 {
            roll if roll < percent / 2 => Fault::Refuse,
            roll if roll < percent => Fault::Lose,
            _ => Fault::None,
        }
    })
}

#[tokio::test]
async fn under_one_call_in_five_failing_applies_converge_without_duplicates() {
    const TRIALS: u64 = 20;
    let clean = clean_census().await;
    let trials = (0..TRIALS).map(|seed| async move {
        let account = Emulator::account("faults_random").await;
        let faults = random_faults(seed, 20);
        let proxy = Proxy::with_faults(&test_support::endpoint(), Duration::ZERO, faults)
            .await
            .expect("proxy");
        let first_run = apply_once(&through(&account, &proxy)).await;
        if first_run.is_err() {
            apply_once(&account.config)
                .await
                .expect("a second run converges");
        }
        let census = census(&account.config).await;
        (
            seed,
            first_run.err().map(|e| e.to_string()),
            census,
            converged(&account.config).await,
        )
    });
    let results = futures::future::join_all(trials).await;
    let mut failed_first = Vec::new();
    for (seed, error, census, converged) in results {
        assert_eq!(census, clean, "trial {seed} ({error:?})");
        assert!(converged, "trial {seed}");
        if let Some(error) = error {
            failed_first.push(format!("trial {seed}: {error}"));
        }
    }
    assert!(failed_first.len() <= 1, "{failed_first:#?}");
}

/// A run killed between `CreateKey` and `CreateAlias` leaves a tagged key no alias
/// points at: the next apply adopts it instead of making a second.
#[tokio::test]
async fn a_key_left_without_its_alias_is_adopted() {
    let clean = clean_census().await;
    let account = Emulator::account("faults_unaliased_key").await;
    let kms = aws_sdk_kms::Client::new(&account.config);
    let tag = aws_sdk_kms::types::Tag::builder()
        .tag_key(spec::STACK_TAG)
        .tag_value("quickstart")
        .build()
        .expect("a tag");
    let left = kms.create_key().tags(tag).send().await.expect("a key");
    let left_id = left.key_metadata().map(|m| m.key_id().to_owned());
    let plan = Stack::new(quickstart(), &account.config)
        .plan()
        .await
        .expect("plans");
    let key_change = plan
        .plan()
        .changes
        .iter()
        .find(|c| c.resource.kind == kms::kinds::KEY)
        .expect("the key is in the plan");
    assert_ne!(key_change.action, plan::Action::Create, "{key_change:?}");
    apply_once(&account.config).await.expect("applies");
    assert_eq!(census(&account.config).await, clean);
    let alias = kms
        .describe_key()
        .key_id("alias/quickstart")
        .send()
        .await
        .expect("the alias resolves");
    assert_eq!(alias.key_metadata().map(|m| m.key_id().to_owned()), left_id);
}

/// Two applies started at the same moment: one takes the lock, the other fails at once
/// naming the holder, or, given a lock timeout, waits and then finds its plan stale.
/// Either way the account holds one stack.
#[tokio::test]
async fn two_applies_at_once_leave_one_stack() {
    let clean = Box::pin(clean_census()).await;
    for lock_timeout in [Duration::ZERO, Duration::from_secs(300)] {
        let account = Emulator::account("faults_two_applies").await;
        let (first, second) = (
            Stack::new(quickstart(), &account.config),
            Stack::new(quickstart(), &account.config),
        );
        // Boxed: two whole plans side by side are too big for the test thread's stack.
        let plans = Box::pin(async { tokio::join!(first.plan(), second.plan()) });
        let (first_plan, second_plan) = plans.await;
        let (first_plan, second_plan) = (first_plan.expect("plans"), second_plan.expect("plans"));
        let options = ApplyOptions {
            lock_timeout,
            ..ApplyOptions::default()
        };
        // Each apply in a task of its own, as two processes would run them.
        let run = |stack: Stack, plan: stack::StackPlan| {
            tokio::spawn(async move { stack.apply(&plan, options, &|_| {}).await })
        };
        let (a, b) = tokio::join!(run(first, first_plan), run(second, second_plan));
        let (a, b) = (a.expect("runs"), b.expect("runs"));
        let lost = match (a, b) {
            (Ok(_), Err(lost)) | (Err(lost), Ok(_)) => lost,
            other => panic!("one apply wins, one loses: {other:?}"),
        };
        match (&lost, lock_timeout.is_zero()) {
            (StackError::Locked { held, .. }, true) => {
                assert!(held.holder.starts_with("arn:aws:sts::"), "{lost}");
                assert_eq!(held.command, "apply");
                assert!(lost.to_string().contains("lock id"), "{lost}");
            }
            (StackError::ChangedSincePlan { .. }, false) => {}
            _ => panic!("lock timeout {lock_timeout:?}: {lost}"),
        }
        assert_eq!(census(&account.config).await, clean);
        assert!(converged(&account.config).await);
        let stack = Stack::new(quickstart(), &account.config);
        assert_eq!(stack.lock_holder().await.expect("reads"), None, "released");
    }
}

fn lock_value(id: &str, expires: u64) -> String {
    serde_json::json!({
        "id": id,
        "holder": "arn:aws:iam::123456789012:user/someone",
        "host": "ci-runner-7",
        "command": "apply",
        "since": "2026-12-03T07:00:00Z",
        "expires": expires,
        "run": "https://github.com/acme/infra/actions/runs/42",
    })
    .to_string()
}

async fn leave_lock(config: &aws_config::SdkConfig, value: String) {
    aws_sdk_ssm::Client::new(config)
        .put_parameter()
        .name("/elasticache-action/locks/quickstart")
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("a lock left behind");
}

/// A lock left by a live (or not yet expired) run: plan says so, apply refuses naming it,
/// unlock removes only that lock, and then apply goes on.
#[tokio::test]
async fn a_held_lock_is_reported_refused_and_removed_only_by_its_id() {
    let account = Emulator::account("faults_held_lock").await;
    leave_lock(&account.config, lock_value("dead-run-1", u64::MAX / 2)).await;
    let stack = Stack::new(quickstart(), &account.config);
    let plan = stack.plan().await.expect("plan never locks");
    let warning = plan.plan().warnings.join("\n");
    assert!(warning.contains("locked by arn:aws:iam::123456789012:user/someone (apply on ci-runner-7) since 2026-12-03T07:00:00Z, run https://github.com/acme/infra/actions/runs/42; lock id dead-run-1"), "{warning}");
    let refused = stack
        .apply(&plan, ApplyOptions::default(), &|_| {})
        .await
        .expect_err("locked");
    assert!(matches!(refused, StackError::Locked { .. }), "{refused}");
    assert_eq!(
        refused.hint(),
        Some(stack::Hint::LockHeld {
            id: "dead-run-1".to_owned()
        })
    );
    let wrong = stack.unlock("another-id").await.expect_err("not that lock");
    assert!(matches!(wrong, StackError::NotThatLock { .. }), "{wrong}");
    let removed = stack.unlock("dead-run-1").await.expect("unlocks");
    assert_eq!(removed.host, "ci-runner-7");
    let plan = stack.plan().await.expect("plans");
    stack
        .apply(&plan, ApplyOptions::default(), &|_| {})
        .await
        .expect("applies once unlocked");
}

/// A lock whose lease ended belongs to a run that died: the next apply takes it over.
#[tokio::test]
async fn an_expired_lock_is_taken_over() {
    let account = Emulator::account("faults_expired_lock").await;
    leave_lock(&account.config, lock_value("dead-run-2", 1)).await;
    apply_once(&account.config)
        .await
        .expect("takes the lock over");
    let stack = Stack::new(quickstart(), &account.config);
    assert_eq!(stack.lock_holder().await.expect("reads"), None);
}

/// Whether an operation changes something (by AWS's naming of its actions).
fn is_write(operation: &str) -> bool {
    const VERBS: [&str; 14] = [
        "Create",
        "Put",
        "Modify",
        "Delete",
        "Authorize",
        "Revoke",
        "Enable",
        "Disable",
        "Attach",
        "Detach",
        "Tag",
        "Untag",
        "Schedule",
        "Update",
    ];
    VERBS.iter().any(|verb| operation.starts_with(verb))
}

/// The writes of a clean apply from nothing, in order.
async fn writes_of_a_clean_apply() -> Vec<String> {
    let account = Emulator::account("faults_crash_census").await;
    let proxy = Proxy::start(&test_support::endpoint(), Duration::ZERO)
        .await
        .expect("proxy");
    let config = through(&account, &proxy);
    let stack = Stack::new(quickstart(), &config);
    let plan = stack.plan().await.expect("plans");
    proxy.reset();
    stack
        .apply(&plan, ApplyOptions::default(), &|_| {})
        .await
        .expect("applies");
    proxy.calls().into_iter().filter(|c| is_write(c)).collect()
}

/// One crash trial: an apply killed (its task aborted, so no line of it runs again)
/// the moment its write number `after + 1` arrives, so `after` writes took effect; then
/// the dead run's lock is removed by its id, as `orchestrator unlock` would, and apply
/// runs again. Returns the account's census.
async fn crash_after(after: usize) -> BTreeMap<&'static str, usize> {
    let account = Emulator::account(&format!("faults_crash_{after}")).await;
    let victim: Arc<Mutex<Option<tokio::task::AbortHandle>>> = Arc::default();
    let writes = Mutex::new(0usize);
    let kill = victim.clone();
    let faults: Faults = Arc::new(move |operation: &str| {
        if !is_write(operation) {
            return Fault::None;
        }
        let Ok(mut writes) = writes.lock() else {
            return Fault::None;
        };
        *writes += 1;
        if *writes <= after {
            return Fault::None;
        }
        if let Some(run) = kill.lock().ok().and_then(|mut run| run.take()) {
            run.abort();
        }
        Fault::Refuse
    });
    let proxy = Proxy::with_faults(&test_support::endpoint(), Duration::ZERO, faults)
        .await
        .expect("proxy");
    let stack = Stack::new(quickstart(), &through(&account, &proxy));
    let plan = stack.plan().await.expect("plans");
    let (start, started) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(async move {
        let _ = started.await;
        stack.apply(&plan, ApplyOptions::default(), &|_| {}).await
    });
    if let Ok(mut slot) = victim.lock() {
        *slot = Some(run.abort_handle());
    }
    let _ = start.send(());
    let outcome = run.await;
    assert!(
        outcome.is_err(),
        "after write {after}: the run was killed, not {outcome:?}"
    );

    let stack = Stack::new(quickstart(), &account.config);
    let lock = stack.lock_holder().await.expect("reads the lock");
    let lock = lock.unwrap_or_else(|| panic!("after write {after}: the dead run's lock"));
    stack.unlock(&lock.id).await.expect("unlocks");
    Box::pin(apply_once(&account.config))
        .await
        .unwrap_or_else(|err| panic!("after write {after}: apply again: {err}"));
    assert!(converged(&account.config).await, "after write {after}");
    census(&account.config).await
}

/// kill -9 after every write of a full apply, then apply again: never a duplicate, and
/// the stack converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_any_write_then_apply_again_leaves_one_stack() {
    use futures::StreamExt;
    let clean = Box::pin(clean_census()).await;
    let writes = Box::pin(writes_of_a_clean_apply()).await;
    assert!(writes.len() > 15, "a full apply writes: {writes:?}");
    // The last write gives the lock back: a crash after it is no crash.
    let points = 1..writes.len();
    let trials = futures::stream::iter(points.map(|after| async move {
        let census = tokio::spawn(crash_after(after))
            .await
            .expect("a trial runs");
        (after, census)
    }))
    .buffer_unordered(3)
    .collect::<Vec<_>>()
    .await;
    for (after, census) in trials {
        assert_eq!(
            census,
            clean,
            "crash after write {after} ({})",
            writes[after - 1]
        );
    }
}

/// Destroy without keeping anything back, so that what is left is easy to compare.
fn destroy_everything() -> stack::DestroyOptions {
    stack::DestroyOptions {
        skip_final_snapshot: true,
        force_delete_secrets: true,
        ..stack::DestroyOptions::default()
    }
}

async fn destroy_once(config: &aws_config::SdkConfig) -> Result<(), StackError> {
    let stack = Stack::new(quickstart(), config);
    let plan = stack.plan_destroy(destroy_everything()).await?;
    stack.destroy(&plan, &|_| {}).await
}

/// An apply with changes (new tags) started at the same moment as a destroy: one
/// takes the lock and the other fails naming it, so the account ends as a clean destroy
/// or a clean apply leaves it, never half of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_during_a_destroy_leaves_a_whole_stack_or_none() {
    let after_destroy = {
        let account = Emulator::account("faults_destroyed").await;
        Box::pin(apply_once(&account.config))
            .await
            .expect("applies");
        Box::pin(destroy_once(&account.config))
            .await
            .expect("destroys");
        census(&account.config).await
    };
    let account = Emulator::account("faults_apply_during_destroy").await;
    Box::pin(apply_once(&account.config))
        .await
        .expect("a stack to destroy");
    let retagged = quickstart_source().replace("team: platform", "team: payments");
    let retagged = spec::parse(&retagged, "quickstart.yaml").expect("valid spec");
    let (destroying, changing) = (
        Stack::new(quickstart(), &account.config),
        Stack::new(retagged.clone(), &account.config),
    );
    let destroy_plan = destroying
        .plan_destroy(destroy_everything())
        .await
        .expect("plans");
    let apply_plan = changing.plan().await.expect("plans");
    assert!(apply_plan.has_changes(), "the new tags are changes");
    let destroy = tokio::spawn(async move { destroying.destroy(&destroy_plan, &|_| {}).await });
    let apply = tokio::spawn(async move {
        changing
            .apply(&apply_plan, ApplyOptions::default(), &|_| {})
            .await
            .map(drop)
    });
    let (destroyed, applied) = tokio::join!(destroy, apply);
    let (destroyed, applied) = (destroyed.expect("runs"), applied.expect("runs"));
    let refused = |err: &StackError| {
        matches!(
            err,
            StackError::Locked { .. } | StackError::ChangedSincePlan { .. }
        )
    };
    match (&destroyed, &applied) {
        (Ok(()), Err(lost)) if refused(lost) => {
            assert_eq!(
                census(&account.config).await,
                after_destroy,
                "apply lost: {lost}"
            );
        }
        (Err(lost), Ok(())) if refused(lost) => {
            let plan = Stack::new(retagged, &account.config)
                .plan()
                .await
                .expect("plans");
            assert!(
                !plan.has_changes(),
                "destroy lost ({lost}); the apply converged"
            );
        }
        other => panic!("one of them runs, the other is refused: {other:?}"),
    }
    let stack = Stack::new(quickstart(), &account.config);
    assert_eq!(stack.lock_holder().await.expect("reads"), None, "released");
}
