//! `auth.rotation.runner: lambda` on the local emulator: `apply` deploys the rotation
//! function, its role, the endpoints and each secret's rotation configuration; a second
//! plan is empty; a new package is deployed; going back to `external`, or destroying,
//! removes all of it. (The emulator records the function but cannot run it: Secrets
//! Manager invoking it is in the live-AWS suite.)

use std::path::{Path, PathBuf};

use stack::{ApplyOptions, Stack};
use test_support::{Account, Emulator};

/// An empty zip archive: enough for Lambda to store, never run here.
const EMPTY_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// Another empty archive, with a one-byte comment: other bytes, another digest.
const COMMENTED_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\0x";

fn package(test: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("runner-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("rotation.zip");
    std::fs::write(&path, bytes).expect("writes the package");
    path
}

fn spec(name: &str, runner: &str, package: &Path) -> spec::Spec {
    let auth = format!(
        "node_type: cache.t4g.micro\nauth:\n  rotation:\n    schedule: rate(30 days)\n    runner: {runner}\n{}",
        match runner {
            "lambda" => format!("    lambda: {{package: {}}}\n", package.display()),
            _ => String::new(),
        }
    );
    let source = test_support::spec_source(name, &auth);
    spec::parse(&source, "runner.yaml").expect("valid spec")
}

async fn converge(stack: &Stack) -> Vec<String> {
    let plan = Box::pin(stack.plan()).await.expect("plans");
    let shown: Vec<String> = (plan.plan().changes.iter())
        .filter(|c| c.is_change())
        .map(|c| format!("{} {}", c.action.sign(), c.resource))
        .collect();
    Box::pin(stack.apply(&plan, ApplyOptions::default(), &|_| {}))
        .await
        .expect("applies");
    let again = Box::pin(stack.plan()).await.expect("plans again");
    let left: Vec<String> = (again.plan().changes.iter())
        .filter(|c| c.is_change())
        .map(|c| c.resource.to_string())
        .collect();
    assert!(left.is_empty(), "a second plan changes {left:?}");
    shown
}

async fn function(
    account: &Account,
    name: &str,
) -> Option<aws_sdk_lambda::types::FunctionConfiguration> {
    let lambda = aws_sdk_lambda::Client::new(&account.config);
    match lambda.get_function().function_name(name).send().await {
        Ok(found) => found.configuration,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(err) => panic!("GetFunction: {err:?}"),
    }
}

async fn rotation(account: &Account, secret: &str) -> (bool, Option<String>) {
    let secrets = aws_sdk_secretsmanager::Client::new(&account.config);
    let described = secrets
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .expect("describes");
    (
        described.rotation_enabled() == Some(true),
        described
            .rotation_rules()
            .and_then(|r| r.schedule_expression())
            .map(str::to_owned),
    )
}

#[tokio::test]
async fn a_lambda_runner_is_deployed_kept_in_sync_and_removed() {
    let account = Emulator::account("runner_lifecycle").await;
    let first = package("lifecycle", EMPTY_ZIP);
    let stack = Stack::new(spec("rotor", "lambda", &first), &account.config);
    let shown = converge(&stack).await;
    for expected in [
        "+ iam_role rotor-rotation",
        "+ iam_role_policy rotor-rotation",
        "+ security_group rotor-endpoints",
        "+ vpc_endpoint com.amazonaws.us-east-1.secretsmanager",
        "+ vpc_endpoint com.amazonaws.us-east-1.elasticache",
        "+ lambda_function rotor-rotation",
        "+ lambda_permission rotor-rotation: secretsmanager",
        "+ secret_rotation rotor/auth-token",
        "+ log_group /aws/lambda/rotor-rotation",
        "+ security_group_rule rotor-cache: tcp/6379 from members of this group",
    ] {
        assert!(
            shown.iter().any(|s| s == expected),
            "{expected} not in {shown:#?}"
        );
    }
    let deployed = function(&account, "rotor-rotation")
        .await
        .expect("deployed");
    let outputs = Box::pin(stack.outputs()).await.expect("outputs").0;
    assert_eq!(
        deployed
            .vpc_config()
            .map(|v| v.security_group_ids().to_vec()),
        Some(
            outputs
                .network
                .security_group_id
                .value()
                .cloned()
                .into_iter()
                .collect()
        )
    );
    let environment = deployed
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        environment
            .get("ELASTICACHE_ACTION_STACK")
            .map(String::as_str),
        Some("rotor")
    );
    assert_eq!(
        rotation(&account, "rotor/auth-token").await,
        (true, Some("rate(30 days)".to_owned()))
    );
    let policy = aws_sdk_lambda::Client::new(&account.config)
        .get_policy()
        .function_name("rotor-rotation")
        .send()
        .await
        .expect("has a policy");
    assert!(
        policy
            .policy()
            .is_some_and(|p| p.to_lowercase().contains("aws:sourceaccount")),
        "{policy:?}"
    );
    assert_eq!(outputs.rotation.schedule.as_deref(), Some("rate(30 days)"));

    // A new build of the function is deployed, and only that changes.
    let second = package("lifecycle-2", COMMENTED_ZIP);
    let updated = Stack::new(spec("rotor", "lambda", &second), &account.config);
    let shown = converge(&updated).await;
    assert_eq!(shown, ["~ lambda_function rotor-rotation"]);

    // Back to `external`: rotation is turned off and the deployment removed.
    let external = Stack::new(spec("rotor", "external", &second), &account.config);
    let shown = converge(&external).await;
    for expected in [
        "- secret_rotation rotor/auth-token",
        "- lambda_function rotor-rotation",
        "- iam_role rotor-rotation",
        "- vpc_endpoint com.amazonaws.us-east-1.secretsmanager",
        "- security_group rotor-endpoints",
        // The rule for the cache group's own members, as AWS lists it: by group id.
        "- security_group_rule rotor-cache: tcp/6379 from sg-",
    ] {
        assert!(
            shown.iter().any(|s| s.starts_with(expected)),
            "{expected} not in {shown:#?}"
        );
    }
    assert!(function(&account, "rotor-rotation").await.is_none());
    assert!(
        !rotation(&account, "rotor/auth-token").await.0,
        "rotation is off"
    );
}

#[tokio::test]
async fn destroy_removes_the_rotation_function_first() {
    let account = Emulator::account("runner_destroy").await;
    let zip = package("destroy", EMPTY_ZIP);
    let stack = Stack::new(spec("rotgone", "lambda", &zip), &account.config);
    converge(&stack).await;
    let options = stack::DestroyOptions {
        skip_final_snapshot: true,
        ..Default::default()
    };
    let planned = Box::pin(stack.plan_destroy(options))
        .await
        .expect("plans destroy");
    let kinds: Vec<&str> = (planned.plan().changes.iter())
        .filter(|c| c.is_change())
        .map(|c| c.resource.kind.as_str())
        .collect();
    for kind in [
        "secret_rotation",
        "lambda_function",
        "iam_role",
        "vpc_endpoint",
    ] {
        assert!(kinds.contains(&kind), "{kind} not in {kinds:?}");
    }
    Box::pin(stack.destroy(&planned, &|_| {}))
        .await
        .expect("destroys");
    assert!(function(&account, "rotgone-rotation").await.is_none());
    let iam = aws_sdk_iam::Client::new(&account.config);
    assert!(
        iam.get_role()
            .role_name("rotgone-rotation")
            .send()
            .await
            .is_err()
    );
}
