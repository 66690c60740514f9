//! `Stack::rotate` on the local emulator, with a real server behind each group: the new
//! credential connects, the previous one works until it is revoked, a rotation killed
//! after any of its writes resumes, and lost answers never make it rotate twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use stack::connect::{Cause, Login};
use stack::rotation::{Done, Event, TestMethod};
use stack::{ApplyOptions, EndpointChoice, RotateOptions, RotateWhich, Stack};
use test_support::proxy::{Fault, Faults, Proxy};
use test_support::{Account, Emulator};

fn connect_options() -> stack::connect::Options {
    stack::connect::Options {
        ca_file: Some(test_support::data_plane::ca_file()),
        ..stack::connect::Options::default()
    }
}

fn options(which: RotateWhich) -> RotateOptions {
    RotateOptions {
        which,
        test: TestMethod::Connect(connect_options()),
        first_poll: Duration::from_millis(200),
        timeout: Duration::from_secs(60),
        ..RotateOptions::default()
    }
}

/// A stack `name` applied in its own account.
async fn applied(name: &str, auth: &str) -> (Account, Stack) {
    let account = Emulator::account(&format!("rotate_{name}")).await;
    let source = test_support::spec_source(name, &format!("node_type: cache.t4g.micro\n{auth}"));
    let spec = spec::parse(&source, "rotate.yaml").expect("valid spec");
    let stack = Stack::new(spec, &account.config);
    let plan = stack.plan().await.expect("plans");
    let fast = ApplyOptions {
        wait: stack::WaitOptions {
            first_poll: Duration::from_millis(200),
            ..Default::default()
        },
        ..Default::default()
    };
    Box::pin(stack.apply(&plan, fast, &|_| {}))
        .await
        .expect("applies");
    (account, stack)
}

/// The current value of `secret`'s credential.
async fn credential(stack: &Stack, user: Option<&str>) -> stack::Credential {
    let connection = stack.connection().await.expect("applied");
    stack.credential(&connection, user).await.expect("reads")
}

/// Logs in to the stack's group with `login`; `None` when it worked.
async fn log_in(stack: &Stack, login: &Login) -> Option<Cause> {
    let connection = stack.connection().await.expect("applied");
    let endpoint = stack::endpoint(&connection, EndpointChoice::Default).expect("endpoint");
    let report = stack::connect::check(&endpoint, login, &connect_options())
        .await
        .expect("the check runs");
    report.failure.map(|failure| failure.cause)
}

async fn versions(account: &Account, secret: &str) -> Vec<Vec<String>> {
    let listed = aws_sdk_secretsmanager::Client::new(&account.config)
        .list_secret_version_ids()
        .secret_id(secret)
        .send()
        .await
        .expect("lists");
    listed
        .versions()
        .iter()
        .map(|v| v.version_stages().to_vec())
        .filter(|stages| !stages.is_empty())
        .collect()
}

/// The current JSON document of `secret`, its credential left out.
async fn current_document(account: &Account, secret: &str) -> serde_json::Value {
    let value = aws_sdk_secretsmanager::Client::new(&account.config)
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
        .expect("reads");
    let mut document: serde_json::Value =
        serde_json::from_str(value.secret_string().unwrap_or_default()).expect("JSON");
    if let Some(fields) = document.as_object_mut() {
        fields.remove("password");
        fields.remove("auth_token");
    }
    document
}

fn rotated(done: &[stack::Rotated]) -> Vec<&str> {
    done.iter()
        .map(|each| match &each.done {
            Done::Rotated { version } => version.as_str(),
            other => panic!("{}: {other:?}", each.credential),
        })
        .collect()
}

#[tokio::test]
async fn data_plane_a_rotated_token_connects_and_the_previous_one_still_works() {
    let (account, stack) = applied("rottoken", "").await;
    let before = credential(&stack, None).await;
    let done = stack
        .rotate(&options(RotateWhich::All), &|_| {})
        .await
        .expect("rotates");
    assert_eq!(rotated(&done).len(), 1);
    let after = credential(&stack, None).await;
    let (old, new) = (before.login(), after.login());
    assert_eq!(log_in(&stack, &new).await, None, "the new token logs in");
    assert_eq!(log_in(&stack, &old).await, None, "previous: keep");
    let check = stack
        .check_connection(None, EndpointChoice::Default, &connect_options())
        .await
        .expect("checks");
    assert!(check.report.passed(), "{:?}", check.report.failure);
    let (outputs, changed) = stack.outputs().await.expect("outputs");
    assert!(!changed, "a rotated credential is not drift");
    assert!(
        outputs
            .entries()
            .iter()
            .any(|(name, _)| name == "last_rotated[rottoken/auth-token]"),
        "{:?}",
        outputs.entries()
    );
    assert_eq!(
        versions(&account, "rottoken/auth-token").await.len(),
        2,
        "AWSCURRENT (and AWSPENDING on it) and AWSPREVIOUS"
    );
    // Again: the token rotated in before becomes the previous one; the first is gone.
    stack
        .rotate(&options(RotateWhich::All), &|_| {})
        .await
        .expect("rotates again");
    assert!(matches!(
        log_in(&stack, &old).await,
        Some(Cause::WrongPass { .. })
    ));
    assert_eq!(log_in(&stack, &new).await, None);
    let newest = credential(&stack, None).await.login();
    assert_eq!(log_in(&stack, &newest).await, None);
}

#[tokio::test]
async fn data_plane_one_rbac_user_is_rotated_and_the_others_are_left_alone() {
    let users = "auth:\n  mode: rbac\n  users:\n    - {name: app, access: \"on ~* +@all\"}\n    - {name: report, access: \"on ~report:* +@all\"}\n";
    let (account, stack) = applied("rotrbac", users).await;
    // The secret holds what AWS's RBAC rotation template needs: the user's real ARN.
    let document = current_document(&account, "rotrbac/users/app").await;
    let user = aws_sdk_elasticache::Client::new(&account.config)
        .describe_users()
        .user_id("rotrbac-app")
        .send()
        .await
        .expect("the user exists");
    assert_eq!(document["user_arn"].as_str(), user.users()[0].arn());
    assert_eq!(document["username"], "app");
    assert!(document["host"].is_string(), "{document}");
    let before = credential(&stack, Some("app")).await;
    let report_versions = versions(&account, "rotrbac/users/report").await;
    let done = stack
        .rotate(&options(RotateWhich::User("app".into())), &|_| {})
        .await
        .expect("rotates");
    assert_eq!(done.len(), 1);
    let after = credential(&stack, Some("app")).await;
    assert_eq!(log_in(&stack, &after.login()).await, None);
    let rotated = current_document(&account, "rotrbac/users/app").await;
    assert_eq!(
        rotated["user_arn"], document["user_arn"],
        "the rotation kept the fields"
    );
    assert_eq!(
        log_in(&stack, &before.login()).await,
        None,
        "both passwords"
    );
    let report = credential(&stack, Some("report")).await;
    assert_eq!(log_in(&stack, &report.login()).await, None);
    assert_eq!(
        versions(&account, "rotrbac/users/report").await,
        report_versions,
        "the other user's secret is untouched"
    );
    let unknown = stack
        .rotate(&options(RotateWhich::User("nobody".into())), &|_| {})
        .await
        .expect_err("no such user");
    assert!(
        unknown.to_string().contains("its users: app, report"),
        "{unknown}"
    );
}

#[tokio::test]
async fn data_plane_the_previous_token_is_revoked_only_after_its_grace_period() {
    let (_account, stack) = applied(
        "rotrevoke",
        "auth:\n  rotation:\n    previous: {revoke_after: 3s}\n",
    )
    .await;
    let revoke = RotateOptions {
        revoke_due: true,
        ..options(RotateWhich::All)
    };
    let first = stack.rotate(&revoke, &|_| {}).await.expect("nothing due");
    assert!(
        matches!(first[0].done, Done::NothingToRevoke { .. }),
        "{first:?}"
    );
    let before = credential(&stack, None).await;
    stack
        .rotate(&options(RotateWhich::All), &|_| {})
        .await
        .expect("rotates");
    let not_yet = stack.rotate(&revoke, &|_| {}).await.expect("not due");
    assert!(
        matches!(not_yet[0].done, Done::RevokeNotDue { .. }),
        "{not_yet:?}"
    );
    assert_eq!(log_in(&stack, &before.login()).await, None, "still valid");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let revoked = stack.rotate(&revoke, &|_| {}).await.expect("revokes");
    assert!(
        matches!(revoked[0].done, Done::Revoked { .. }),
        "{revoked:?}"
    );
    assert!(matches!(
        log_in(&stack, &before.login()).await,
        Some(Cause::WrongPass { .. })
    ));
    let after = credential(&stack, None).await;
    assert_eq!(log_in(&stack, &after.login()).await, None);
    let again = stack
        .rotate(&revoke, &|_| {})
        .await
        .expect("revoked already");
    assert!(matches!(again[0].done, Done::Revoked { .. }), "{again:?}");
}

fn is_write(operation: &str) -> bool {
    ["Put", "Modify", "Update", "Tag", "Delete"]
        .iter()
        .any(|verb| operation.starts_with(verb))
}

/// Kills a rotation (aborts its task, as kill -9 would: no line of it runs again) the
/// moment its write number `limit + 1` arrives, which is refused.
#[derive(Default)]
struct Killer {
    writes: Mutex<usize>,
    limit: Mutex<usize>,
    victim: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Killer {
    fn fault(&self, operation: &str) -> Fault {
        if !is_write(operation) {
            return Fault::None;
        }
        let (Ok(mut writes), Ok(limit)) = (self.writes.lock(), self.limit.lock()) else {
            return Fault::None;
        };
        *writes += 1;
        if *writes <= *limit {
            return Fault::None;
        }
        if let Some(run) = self.victim.lock().ok().and_then(|mut v| v.take()) {
            run.abort();
        }
        Fault::Refuse
    }

    /// Runs one rotation of `stack`, killed after `limit` writes.
    async fn rotate(&self, stack: Stack, limit: usize) {
        if let (Ok(mut writes), Ok(mut l)) = (self.writes.lock(), self.limit.lock()) {
            (*writes, *l) = (0, limit);
        }
        let (start, started) = tokio::sync::oneshot::channel::<()>();
        let run = tokio::spawn(async move {
            let _ = started.await;
            stack.rotate(&options(RotateWhich::All), &|_| {}).await
        });
        if let Ok(mut victim) = self.victim.lock() {
            *victim = Some(run.abort_handle());
        }
        let _ = start.send(());
        let outcome = run.await;
        assert!(
            outcome.is_err(),
            "after write {limit}: killed, not {outcome:?}"
        );
    }
}

#[tokio::test]
async fn data_plane_a_rotation_killed_after_any_write_resumes_with_one_pending_version_at_most() {
    let (account, stack) = applied("rotcrash", "").await;
    let killer = Arc::new(Killer::default());
    let faults: Faults = {
        let killer = killer.clone();
        Arc::new(move |operation: &str| killer.fault(operation))
    };
    let proxy = Proxy::with_faults(&test_support::endpoint(), Duration::ZERO, faults)
        .await
        .expect("proxy");
    let through = Stack::new(stack.spec().clone(), &account.through(&proxy));
    // The writes: lock, create, set (ROTATE), finish, record; then the unlock.
    for after in 1..=5 {
        killer.rotate(through.clone(), after).await;
        let stages = versions(&account, "rotcrash/auth-token").await;
        assert!(stages.len() <= 3, "after write {after}: {stages:?}");
        if let Some(lock) = stack.lock_holder().await.expect("reads the lock") {
            stack.unlock(&lock.id).await.expect("unlocks");
        }
        let current = credential(&stack, None).await;
        assert_eq!(
            log_in(&stack, &current.login()).await,
            None,
            "after write {after}: AWSCURRENT works"
        );
        let pending = stages
            .iter()
            .any(|s| s.iter().any(|s| s == "AWSPENDING") && !s.iter().any(|s| s == "AWSCURRENT"));
        let plan = stack.plan().await.expect("plans");
        let warned = plan
            .plan()
            .warnings
            .iter()
            .any(|w| w.contains("a rotation is in progress"));
        assert_eq!(
            warned,
            pending,
            "after write {after}: {:?}",
            plan.plan().warnings
        );
        let done = stack
            .rotate(&options(RotateWhich::All), &|_| {})
            .await
            .unwrap_or_else(|err| panic!("after write {after}: rotating again: {err}"));
        assert_eq!(rotated(&done).len(), 1);
        let stages = versions(&account, "rotcrash/auth-token").await;
        let pending = stages
            .iter()
            .filter(|s| s.iter().any(|s| s == "AWSPENDING") && !s.iter().any(|s| s == "AWSCURRENT"))
            .count();
        assert_eq!(pending, 0, "after write {after}: {stages:?}");
        let current = credential(&stack, None).await;
        assert_eq!(
            log_in(&stack, &current.login()).await,
            None,
            "after write {after}"
        );
    }
}

#[tokio::test]
async fn data_plane_lost_answers_never_make_a_rotation_rotate_twice() {
    let (account, stack) = applied("rotlost", "").await;
    let lost: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = lost.clone();
    let faults: Faults = Arc::new(move |operation: &str| {
        let wanted = [
            "PutSecretValue",
            "ModifyReplicationGroup",
            "UpdateSecretVersionStage",
        ];
        let Ok(mut seen) = seen.lock() else {
            return Fault::None;
        };
        if wanted.contains(&operation) && !seen.iter().any(|s| s == operation) {
            seen.push(operation.to_owned());
            return Fault::Lose;
        }
        Fault::None
    });
    let proxy = Proxy::with_faults(&test_support::endpoint(), Duration::ZERO, faults)
        .await
        .expect("proxy");
    let before = credential(&stack, None).await;
    let steps: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let record = steps.clone();
    let on_event = move |event: Event| {
        if let (Event::Step { step, .. }, Ok(mut steps)) = (event, record.lock()) {
            steps.push(step);
        }
    };
    let done = Stack::new(stack.spec().clone(), &account.through(&proxy))
        .rotate(&options(RotateWhich::All), &on_event)
        .await
        .expect("rotates despite every write's answer lost once");
    assert_eq!(rotated(&done).len(), 1);
    assert_eq!(lost.lock().map(|l| l.len()).unwrap_or(0), 3);
    let sets = steps
        .lock()
        .map(|s| s.iter().filter(|s| **s == "set").count());
    assert_eq!(sets.unwrap_or(0), 1, "ROTATE sent once: {steps:?}");
    let after = credential(&stack, None).await;
    assert_eq!(log_in(&stack, &after.login()).await, None);
    assert_eq!(
        log_in(&stack, &before.login()).await,
        None,
        "previous: keep"
    );
}
