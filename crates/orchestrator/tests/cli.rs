//! The orchestrator binary end to end: each test runs it as a user would, against the
//! local emulator in an account of its own. Start the emulator first:
//! `scripts/emulator.sh start`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use test_support::{Account, Emulator};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn orchestrator(account: Option<&Account>, args: &[&str]) -> Output {
    orchestrator_with(account, &[], args)
}

/// The orchestrator as [`orchestrator`] runs it, with `overrides` laid over its environment.
fn orchestrator_with(
    account: Option<&Account>,
    overrides: &[(&str, &str)],
    args: &[&str],
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orchestrator"));
    command.args(args).stdin(Stdio::null());
    for name in [
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "ELASTICACHE_CA_FILE",
        "AWS_SESSION_TOKEN",
        "RUST_LOG",
        // Under GitHub Actions, tests must not write to the real job summary.
        "GITHUB_STEP_SUMMARY",
        "GITHUB_OUTPUT",
        "GITHUB_SHA",
    ] {
        command.env_remove(name);
    }
    match account {
        Some(account) => {
            command.envs(account.env.iter().map(|(k, v)| (*k, v.as_str())));
        }
        // Nothing listens on port 9: any AWS call would fail loudly.
        None => {
            command
                .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
                .env("AWS_ACCESS_KEY_ID", "x")
                .env("AWS_SECRET_ACCESS_KEY", "x");
        }
    }
    command.envs(overrides.iter().copied());
    command.output().expect("the orchestrator runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn quickstart() -> String {
    examples().join("quickstart.yaml").display().to_string()
}

#[tokio::test]
async fn plan_apply_plan_converges_with_terraform_exit_codes() {
    let account = Emulator::account("cli_converges").await;
    let spec = quickstart();

    let first = orchestrator(Some(&account), &["plan", &spec, "--detailed-exitcode"]);
    assert_eq!(first.status.code(), Some(2), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    assert!(
        stdout.contains(&format!("account {}", account.id)),
        "{stdout}"
    );
    assert!(stdout.contains("  + vpc quickstart"), "{stdout}");
    assert!(
        stdout.contains("subnet_ids   = (known after apply)"),
        "{stdout}"
    );
    assert!(stdout.contains("  + kms_key quickstart"), "{stdout}");
    assert!(
        stdout.contains("  + log_group /aws/elasticache/quickstart/slow-log"),
        "{stdout}"
    );
    assert!(
        stdout.contains("      value        = (sensitive)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nPlan: 17 to add, 0 to change, 0 to replace, 0 to destroy.\n"),
        "{stdout}"
    );

    let refused = orchestrator(Some(&account), &["apply", &spec]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("pass --auto-approve"),
        "{}",
        text(&refused.stderr)
    );

    let applied = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    let stdout = text(&applied.stdout);
    assert!(
        stdout.contains("Apply complete! Resources: 17 added"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("  secret_arn[quickstart/auth-token] ")
                && l.contains(" = arn:aws:secretsmanager:")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("  security_group_id ") && l.contains("= sg-")),
        "{stdout}"
    );

    let again = orchestrator(Some(&account), &["plan", &spec, "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
    assert!(text(&again.stdout).contains("\nNo changes.\n"));

    let json = orchestrator(
        Some(&account),
        &["apply", &spec, "--auto-approve", "--json"],
    );
    assert_eq!(json.status.code(), Some(0));
    let document: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("one JSON document");
    assert_eq!(document["applied"], false);
    assert_eq!(document["plan"]["has_changes"], false);
    assert_eq!(
        document["outputs"]["cache_subnet_group"],
        "quickstart-subnets"
    );
}

#[tokio::test]
async fn plan_json_is_one_document_with_unknowns_marked() {
    let account = Emulator::account("cli_plan_json").await;
    let output = orchestrator(Some(&account), &["plan", &quickstart(), "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(document["stack"], "quickstart");
    assert_eq!(document["account"], account.id.as_str());
    assert_eq!(document["summary"]["add"], 17);
    let group = &document["changes"][3];
    assert_eq!(group["resource"]["kind"], "cache_subnet_group");
    assert_eq!(group["attributes"][1]["after"]["known_after_apply"], true);
}

#[tokio::test]
async fn destroy_deletes_the_stack_after_confirmation() {
    let account = Emulator::account("cli_destroy").await;
    let spec = quickstart();
    let applied = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));

    let unconfirmed = orchestrator(Some(&account), &["destroy", &spec]);
    assert_eq!(unconfirmed.status.code(), Some(1));
    assert!(text(&unconfirmed.stdout).contains("  - vpc quickstart"));

    let destroyed = orchestrator(Some(&account), &["destroy", &spec, "--auto-approve"]);
    let stderr = text(&destroyed.stderr);
    assert_eq!(destroyed.status.code(), Some(0), "{stderr}");
    let stdout = text(&destroyed.stdout);
    assert!(
        stdout.contains("  - replication_group quickstart"),
        "{stdout}"
    );
    assert!(stdout.contains("final_snapshot"), "{stdout}");
    assert!(stdout.contains("KMS key is kept"), "{stdout}");
    assert!(
        !stdout.contains("- kms_key"),
        "the key encrypts the snapshot: {stdout}"
    );
    assert!(stdout.contains("kept with its events"), "{stdout}");
    assert!(
        stderr.contains("waiting for deletion of replication group quickstart"),
        "progress while the group is deleted: {stderr}"
    );
    assert!(stderr.contains("network: done"), "{stderr}");

    let after = orchestrator(Some(&account), &["plan", &spec, "--json"]);
    let document: serde_json::Value = serde_json::from_slice(&after.stdout).expect("JSON");
    let actions: Vec<String> = document["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["action"].as_str().unwrap_or(""),
                c["resource"]["kind"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        actions.contains(&"create vpc".to_owned())
            && actions.contains(&"create replication_group".to_owned()),
        "the network and the group are gone: {actions:?}"
    );
    assert!(
        actions.contains(&"update secret".to_owned()),
        "the secret is restored, not recreated: {actions:?}"
    );
}

#[tokio::test]
async fn the_rbac_and_iam_examples_plan_their_users_and_user_group() {
    let account = Emulator::account("cli_examples").await;
    create_example_roles(&account).await;
    let missing = Emulator::account("cli_examples_no_role").await;
    let refused = orchestrator(
        Some(&missing),
        &[
            "plan",
            &examples().join("production.yaml").display().to_string(),
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr)
            .contains("IAM role orders-app-role (outputs.attach_to_roles) does not exist"),
        "{}",
        text(&refused.stderr)
    );
    for (example, users) in [
        (
            "production.yaml",
            vec![
                "orders-cache-default",
                "orders-cache-orders-app",
                "orders-cache-reporting",
            ],
        ),
        ("iam-auth.yaml", vec!["iam-cache-default", "billing-worker"]),
    ] {
        let spec = examples().join(example).display().to_string();
        let planned = orchestrator(Some(&account), &["plan", &spec, "--detailed-exitcode"]);
        let stdout = text(&planned.stdout);
        assert_eq!(
            planned.status.code(),
            Some(2),
            "{example}: {}",
            text(&planned.stderr)
        );
        for user in users {
            assert!(
                stdout.contains(&format!("  + cache_user {user}\n")),
                "{example}: {stdout}"
            );
        }
        assert!(stdout.contains("  + user_group "), "{example}: {stdout}");
        assert!(
            stdout.contains("auth_token                  = \"none\""),
            "{example}: {stdout}"
        );
    }
}

#[tokio::test]
async fn output_shows_how_to_connect_once_applied() {
    let account = Emulator::account("cli_output").await;
    let spec = quickstart();
    let early = orchestrator(Some(&account), &["output", &spec]);
    assert_eq!(early.status.code(), Some(1));
    assert!(
        text(&early.stderr).contains("run `orchestrator apply"),
        "{}",
        text(&early.stderr)
    );

    let applied = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    let shown = orchestrator(Some(&account), &["output", &spec]);
    assert_eq!(shown.status.code(), Some(0), "{}", text(&shown.stderr));
    let stdout = text(&shown.stdout);
    // The emulator's group has a real server of its own on loopback.
    assert!(stdout.contains("url       rediss://127.0.0.1:"), "{stdout}");
    assert!(
        stdout.contains("password  the `auth_token` field of secret quickstart/auth-token"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("$ orchestrator connect {spec} --check")),
        "{stdout}"
    );
    assert!(stdout.contains("/quickstart/port"), "{stdout}");
    assert!(
        stdout.contains("previous  kept valid until the next rotation"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("$ orchestrator rotate {spec}")),
        "{stdout}"
    );

    let json = orchestrator(Some(&account), &["output", &spec, "--json"]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(document["in_sync"], true);
    assert_eq!(
        document["rotation"]["commands"][0],
        format!("orchestrator rotate {spec}")
    );
    assert_eq!(
        document["outputs"]["port"].as_str(),
        document["connection"]["port"]
            .as_u64()
            .map(|p| p.to_string())
            .as_deref(),
        "the port the group reports"
    );
    assert!(
        document["outputs"]["policy_arn[quickstart-read-connection]"]
            .as_str()
            .is_some_and(|arn| arn.ends_with(":policy/quickstart-read-connection"))
    );
    assert!(
        document["connection"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("rediss://"))
    );
}

/// Runs the commands that print the most (-vv, --json, text) and checks that no
/// generated token or password, read back from the emulator, appears in any output.
#[tokio::test]
async fn no_secret_appears_in_any_output() {
    let rbac = std::env::temp_dir().join(format!("cli-rbac-{}.yaml", std::process::id()));
    let source = std::fs::read_to_string(examples().join("quickstart.yaml")).expect("example")
        + "auth:\n  mode: rbac\n  users: [{name: app}, {name: reporting, access: \"on ~* +@read\"}]\n";
    std::fs::write(&rbac, source).expect("write");
    for (test, spec, secrets) in [
        ("leak_token", quickstart(), vec!["quickstart/auth-token"]),
        (
            "leak_rbac",
            rbac.display().to_string(),
            vec!["quickstart/users/app", "quickstart/users/reporting"],
        ),
    ] {
        let account = Emulator::account(test).await;
        let mut printed = String::new();
        for args in [
            vec!["-vv", "plan", spec.as_str()],
            vec!["-vv", "apply", spec.as_str(), "--auto-approve", "--json"],
            vec!["-vv", "apply", spec.as_str(), "--auto-approve"],
            vec!["-vv", "plan", spec.as_str(), "--json"],
            vec!["-vv", "output", spec.as_str()],
            vec!["-vv", "output", spec.as_str(), "--json"],
            vec!["-vv", "destroy", spec.as_str(), "--json"],
        ] {
            let output = orchestrator(Some(&account), &args);
            printed += &text(&output.stdout);
            printed += &text(&output.stderr);
            if args[1] == "output" && args.len() == 3 {
                // Once applied, connecting sends the credential: never printed either.
                for connect in [
                    vec!["-vv", "connect", spec.as_str(), "--check"],
                    vec!["-vv", "connect", spec.as_str(), "--check", "--json"],
                    vec!["-vv", "connect", spec.as_str(), "--", "PING"],
                    vec!["-vv", "rotate", spec.as_str()],
                    vec!["-vv", "rotate", spec.as_str(), "--json"],
                ] {
                    let output = orchestrator_trusting_the_emulator(&account, &connect);
                    printed += &text(&output.stdout);
                    printed += &text(&output.stderr);
                }
            }
        }
        assert!(printed.contains("DEBUG"), "-vv logs AWS calls");
        assert!(
            printed.contains("acl whoami"),
            "connect --check ran: {printed}"
        );
        assert!(printed.contains("rotate"), "rotate ran: {printed}");
        let client = aws_sdk_secretsmanager::Client::new(&account.config);
        // The value rotated in last, and the one before it.
        for (name, stage) in secrets
            .iter()
            .flat_map(|name| [(name, "AWSCURRENT"), (name, "AWSPREVIOUS")])
        {
            let value = client
                .get_secret_value()
                .secret_id(*name)
                .version_stage(stage)
                .send()
                .await
                .expect("secret exists");
            let document: serde_json::Value =
                serde_json::from_str(value.secret_string().expect("string")).expect("JSON");
            let secret = document["auth_token"]
                .as_str()
                .or(document["password"].as_str())
                .expect("a credential");
            assert!(secret.len() >= 32);
            assert!(
                !printed.contains(secret),
                "{name}'s {stage} value was printed"
            );
            // Not even a recognisable piece of it.
            assert!(
                !printed.contains(&secret[..16]),
                "part of {name}'s {stage} value was printed"
            );
        }
    }
}

#[test]
fn bad_specs_fail_before_any_aws_call() {
    let dir = std::env::temp_dir().join(format!("cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "stack: demo\nregion: us-east-1\nengine: {name: valkey, version: 8.0}\n",
    )
    .expect("write");
    let bad = bad.display().to_string();
    for command in ["validate", "plan", "apply", "destroy"] {
        let output = orchestrator(None, &[command, &bad]);
        assert_eq!(output.status.code(), Some(1), "{command}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(&format!("{bad}:3:")), "{command}: {stderr}");
        assert!(stderr.contains("engine.version"), "{command}: {stderr}");
        assert!(
            !stderr.contains("127.0.0.1:9"),
            "{command} called AWS: {stderr}"
        );
    }
    let missing = orchestrator(None, &["plan", "no/such.yaml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("no/such.yaml: cannot read the file"));
}

#[test]
fn validate_accepts_every_example_and_speaks_json() {
    let mut args = vec!["validate".to_owned(), "--json".to_owned()];
    let mut examples: Vec<String> = std::fs::read_dir(examples())
        .expect("examples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    examples.sort();
    args.extend(examples);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = orchestrator(None, &args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    let results: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(
        results
            .as_array()
            .is_some_and(|r| r.iter().all(|r| r["valid"] == true))
    );
}

#[test]
fn validate_reads_a_spec_from_stdin_given_a_dash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orchestrator"))
        .args(["validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stdin = child.stdin.take().expect("a pipe");
    let source = std::fs::read_to_string(quickstart()).expect("the example");
    std::io::Write::write_all(&mut stdin, source.as_bytes()).expect("written");
    drop(stdin);
    let output = child.wait_with_output().expect("ends");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("<stdin>"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn schema_is_json_schema_for_the_whole_spec() {
    let output = orchestrator(None, &["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let properties = &schema["properties"];
    for field in [
        "stack",
        "region",
        "engine",
        "network",
        "cluster",
        "encryption",
        "auth",
        "logs",
        "outputs",
    ] {
        assert!(properties.get(field).is_some(), "schema lacks {field}");
    }
    assert_eq!(schema["additionalProperties"], false);
}

#[test]
fn help_teaches_the_commands_and_exit_codes() {
    let output = orchestrator(None, &["--help"]);
    let help = text(&output.stdout);
    for expected in [
        "validate",
        "plan",
        "apply",
        "destroy",
        "schema",
        "connect",
        "token",
        "Exit codes",
        "AWS_ENDPOINT_URL",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}");
    }
}

#[tokio::test]
async fn fail_on_high_fails_a_plan_with_at_rest_encryption_off() {
    let account = Emulator::account("cli_fail_on").await;
    let spec = std::env::temp_dir().join(format!("cli-no-at-rest-{}.yaml", std::process::id()));
    let source = std::fs::read_to_string(examples().join("quickstart.yaml")).expect("example")
        + "encryption:\n  at_rest: false\n";
    std::fs::write(&spec, &source).expect("write");
    let spec = spec.display().to_string();

    let failed = orchestrator(Some(&account), &["plan", &spec, "--fail-on", "high"]);
    assert_eq!(failed.status.code(), Some(3), "{}", text(&failed.stderr));
    let stdout = text(&failed.stdout);
    assert!(
        stdout.contains(
            "HIGH    CKV_AWS_29 replication_group quickstart: data at rest is not encrypted"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("fix: set encryption.at_rest: true"),
        "{stdout}"
    );

    let json = orchestrator(
        Some(&account),
        &["plan", &spec, "--json", "--fail-on", "high"],
    );
    assert_eq!(json.status.code(), Some(3));
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let failed: Vec<&serde_json::Value> = document["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["status"] == "fail")
        .collect();
    let rules: Vec<&str> = failed.iter().filter_map(|f| f["rule"].as_str()).collect();
    assert_eq!(
        rules,
        ["CKV_AWS_29", "CKV_AWS_191", "CKV2_AWS_57"],
        "{failed:?}"
    );

    let waived_spec = spec.replace(".yaml", "-waived.yaml");
    std::fs::write(
        &waived_spec,
        source + "waivers:\n  - {rule: CKV_AWS_29, reason: scratch data}\n  - {rule: CKV_AWS_191, reason: scratch data}\n  - {rule: CKV2_AWS_57, reason: rotated weekly by orchestrator rotate}\n",
    )
    .expect("write");
    let waived = orchestrator(Some(&account), &["plan", &waived_spec, "--fail-on", "low"]);
    assert_eq!(waived.status.code(), Some(0), "{}", text(&waived.stdout));
    assert!(text(&waived.stdout).contains("reason: scratch data"));

    // The defaults meet every rule above low; CKV2_AWS_57 (rotation by Secrets Manager)
    // asks for `runner: lambda`, which is not the default.
    let defaults = orchestrator(
        Some(&account),
        &["plan", &quickstart(), "--fail-on", "medium"],
    );
    assert_eq!(defaults.status.code(), Some(0));
    let low = orchestrator(Some(&account), &["plan", &quickstart(), "--fail-on", "low"]);
    assert_eq!(low.status.code(), Some(3));
    assert!(
        text(&low.stdout).contains("LOW     CKV2_AWS_57 secret quickstart/auth-token"),
        "{}",
        text(&low.stdout)
    );
}

#[tokio::test]
async fn plan_renders_the_pull_request_comment_as_markdown() {
    let account = Emulator::account("cli_markdown").await;
    let mut command_env = account.clone();
    command_env
        .env
        .push(("GITHUB_SHA", "feedfacecafe0123456789".to_owned()));
    let output = orchestrator(Some(&command_env), &["plan", &quickstart(), "--markdown"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let markdown = text(&output.stdout);
    assert!(
        markdown.starts_with("## ElastiCache stack `quickstart`"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `+` | `vpc quickstart` | create |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("\n\n**+$20.36/month (from $0.00 to $20.36)**\n\n<details><summary>Monthly cost per resource"),
        "the cost line under the count:\n{markdown}"
    );
    assert!(markdown.contains("+ value = (sensitive)"), "{markdown}");
    assert!(
        markdown.contains("Planned by elasticache-action for `feedfacecafe`"),
        "{markdown}"
    );
    assert!(
        markdown.ends_with("<!-- elasticache-action:stack=quickstart -->\n"),
        "{markdown}"
    );
}

/// Prices come from the emulator's Price List (`crates/cost/fixtures/price-list`, whose
/// `source` says where they came from): eu-west-1, Valkey, cache.r7g.large at $0.1944.
#[tokio::test]
async fn plan_shows_the_monthly_cost_and_its_change() {
    let account = Emulator::account("cli_cost").await;
    create_example_roles(&account).await;
    let production = examples().join("production.yaml").display().to_string();
    let plan = orchestrator(Some(&account), &["plan", &production]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    let out = text(&plan.stdout);
    assert!(
        out.contains("Cost: +$1,325.53/month (from $0.00 to $1,325.53)  (USD, on-demand list prices in eu-west-1, effective 2026-11-01)"),
        "{out}"
    );
    for row in [
        "9 × cache.r7g.large (Valkey), 3 shards",
        "backup storage (estimate)  14 daily snapshots, one free",
        "KMS key",
        "secrets ",
    ] {
        assert!(out.contains(row), "{row} missing:\n{out}");
    }

    let json = orchestrator(Some(&account), &["plan", &production, "--json"]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let cost = &document["cost"];
    assert_eq!(cost["available"], true, "{cost}");
    assert_eq!(cost["currency"], "USD");
    assert_eq!(cost["monthly_before"], 0.0);
    assert_eq!(cost["monthly_after"], 1325.53);
    assert_eq!(cost["monthly_change"], 1325.53);
    let nodes = &cost["resources"][0];
    assert_eq!(nodes["resource"], "cache nodes");
    assert_eq!(nodes["before"], serde_json::Value::Null);
    let price = &nodes["after"]["prices"][0];
    assert_eq!(price["usage_type"], "EU-NodeUsage:cache.r7g.large");
    assert_eq!(price["per_unit"], 0.1944);
    assert_eq!(price["effective_date"], "2026-11-01T00:00:00Z");
    assert!(price["sku"].as_str().is_some_and(|sku| !sku.is_empty()));

    let strict = orchestrator(
        Some(&account),
        &["plan", &production, "--fail-on-cost-increase", "1000"],
    );
    assert_eq!(strict.status.code(), Some(3), "{}", text(&strict.stderr));
    assert!(
        text(&strict.stderr).contains("error: the plan raises the monthly cost by $1,325.53, more than --fail-on-cost-increase $1,000.00"),
        "{}",
        text(&strict.stderr)
    );
    let lenient = orchestrator(
        Some(&account),
        &["plan", &production, "--fail-on-cost-increase", "$2000"],
    );
    assert_eq!(lenient.status.code(), Some(0), "{}", text(&lenient.stderr));

    let unpriced = orchestrator(
        Some(&account),
        &["plan", &production, "--no-cost", "--json"],
    );
    let document: serde_json::Value = serde_json::from_slice(&unpriced.stdout).expect("JSON");
    assert!(document.get("cost").is_none(), "--no-cost asks nothing");
}

#[tokio::test]
async fn a_plan_without_pricing_access_succeeds_and_says_why() {
    let account = Emulator::account("cli_no_pricing").await;
    // Nothing listens on port 9: the Price List cannot be reached, everything else can.
    let offline = [("AWS_ENDPOINT_URL_PRICING", "http://127.0.0.1:9")];
    let args = ["plan", &quickstart(), "--fail-on-cost-increase", "0"];
    let plan = orchestrator_with(Some(&account), &offline, &args);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    let out = text(&plan.stdout);
    let line = out
        .lines()
        .find(|l| l.starts_with("Cost unavailable: GetProducts failed: could not connect"))
        .unwrap_or_else(|| panic!("no reason given:\n{out}"));
    assert!(
        text(&plan.stderr)
            .contains("warning: --fail-on-cost-increase: the cost is unavailable; not checked"),
        "{}",
        text(&plan.stderr)
    );
    let without = orchestrator(Some(&account), &["plan", &quickstart(), "--no-cost"]);
    assert_eq!(
        out.replacen(&format!("{line}\n"), "", 1),
        text(&without.stdout),
        "nothing else changes"
    );
}

#[tokio::test]
async fn under_github_actions_plan_writes_the_job_summary_and_outputs() {
    let mut account = Emulator::account("cli_github").await;
    let dir = std::env::temp_dir().join(format!("cli-github-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let summary = dir.join("summary.md");
    let outputs = dir.join("outputs.txt");
    account
        .env
        .push(("GITHUB_STEP_SUMMARY", summary.display().to_string()));
    account
        .env
        .push(("GITHUB_OUTPUT", outputs.display().to_string()));
    let output = orchestrator(Some(&account), &["plan", &quickstart()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));

    let summary = std::fs::read_to_string(summary).expect("a job summary");
    assert!(
        summary.starts_with("## ElastiCache stack `quickstart`"),
        "{summary}"
    );
    assert!(summary.contains("<!-- elasticache-action:stack=quickstart -->"));
    let outputs = std::fs::read_to_string(outputs).expect("outputs");
    assert!(
        outputs.contains("has-changes<<ELASTICACHE_ACTION_EOF\ntrue\n"),
        "{outputs}"
    );
    assert!(
        outputs.contains("summary<<ELASTICACHE_ACTION_EOF\nPlan: 17 to add"),
        "{outputs}"
    );
    let json = outputs
        .split("plan-json<<ELASTICACHE_ACTION_EOF\n")
        .nth(1)
        .and_then(|rest| rest.split("\nELASTICACHE_ACTION_EOF").next())
        .expect("plan-json output");
    let document: serde_json::Value = serde_json::from_str(json).expect("JSON");
    assert_eq!(document["summary"]["add"], 17);
}

/// Runs the steps of `action.yml` as GitHub would: each `run:` script with bash, its
/// `env:` evaluated from the inputs, the `github` context and earlier steps' outputs,
/// against the emulator and a mock GitHub API.
mod action {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::process::Command;

    use test_support::Account;

    /// The outcome of running the action.
    pub struct Run {
        pub code: Option<i32>,
        pub outputs: String,
        pub summary: String,
        pub stderr: String,
    }

    fn evaluate(text: &str, context: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out += &rest[..start];
            let end = rest[start..].find("}}").expect("a closed expression") + start;
            let expression = rest[start + 3..end].trim();
            let value = context
                .get(expression)
                .unwrap_or_else(|| panic!("the test does not know `{expression}`"));
            out += &evaluate(value, context);
            rest = &rest[end + 2..];
        }
        out + rest
    }

    pub fn run(account: &Account, inputs: &[(&str, &str)], github: &[(&str, String)]) -> Run {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let root = root.canonicalize().expect("the repository");
        let action: serde_yaml::Value = serde_yaml::from_str(
            &std::fs::read_to_string(root.join("action.yml")).expect("action.yml"),
        )
        .expect("YAML");
        let mut context = BTreeMap::new();
        for (name, input) in action["inputs"].as_mapping().expect("inputs") {
            let name = name.as_str().expect("a name");
            let default = input["default"].as_str().unwrap_or_default();
            context.insert(format!("inputs.{name}"), default.to_owned());
        }
        for (name, value) in inputs {
            context.insert(format!("inputs.{name}"), (*value).to_owned());
        }
        context.insert("github.token".into(), "test-token".into());
        context.insert("github.action_ref".into(), "main".into());
        context.insert(
            "github.action_repository".into(),
            "elasticache-action/elasticache-action".into(),
        );
        context.insert("github.action_path".into(), root.display().to_string());

        let temp =
            std::env::temp_dir().join(format!("action-{}-{}", account.id, std::process::id()));
        std::fs::create_dir_all(&temp).expect("a temp dir");
        let summary = temp.join("summary.md");
        let mut last = None;
        let mut stderr = String::new();
        for step in action["runs"]["steps"].as_sequence().expect("steps") {
            let id = step["id"].as_str().expect("every step has an id");
            let outputs = temp.join(format!("{id}.out"));
            std::fs::write(&outputs, "").expect("outputs file");
            let mut command = Command::new("bash");
            command
                .arg("-c")
                .arg(evaluate(step["run"].as_str().expect("run"), &context))
                .current_dir(root.join(evaluate(
                    step["working-directory"].as_str().unwrap_or("."),
                    &context,
                )))
                .env_remove("GITHUB_TOKEN")
                .env_remove("AWS_PROFILE")
                .envs(account.env.iter().map(|(k, v)| (*k, v.as_str())))
                .envs(github.iter().map(|(k, v)| (*k, v.as_str())))
                .env("GITHUB_OUTPUT", &outputs)
                .env("GITHUB_STEP_SUMMARY", &summary)
                .env("RUNNER_TEMP", &temp)
                .env(
                    "ELASTICACHE_ACTION_ORCHESTRATOR",
                    env!("CARGO_BIN_EXE_orchestrator"),
                );
            if let Some(env) = step["env"].as_mapping() {
                for (name, value) in env {
                    let value = evaluate(value.as_str().unwrap_or_default(), &context);
                    command.env(name.as_str().expect("a name"), value);
                }
            }
            let output = command.output().expect("bash runs");
            stderr += &String::from_utf8_lossy(&output.stderr);
            stderr += &String::from_utf8_lossy(&output.stdout);
            let written = std::fs::read_to_string(&outputs).unwrap_or_default();
            for line in written.lines() {
                if let Some((name, value)) = line.split_once('=') {
                    context.insert(format!("steps.{id}.outputs.{name}"), value.to_owned());
                }
            }
            last = Some((output.status.code(), written));
            if !output.status.success() {
                break;
            }
        }
        let (code, outputs) = last.expect("at least one step");
        Run {
            code,
            outputs,
            summary: std::fs::read_to_string(summary).unwrap_or_default(),
            stderr,
        }
    }
}

#[tokio::test]
async fn the_action_steps_plan_on_a_pull_request_with_summary_outputs_and_comment() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let account = Emulator::account("cli_action").await;
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&github)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({ "id": 1 })))
        .expect(2)
        .mount(&github)
        .await;
    let event = std::env::temp_dir().join(format!("event-{}.json", account.id));
    std::fs::write(&event, r#"{"pull_request": {"number": 7}}"#).expect("event");
    let context = [
        ("GITHUB_EVENT_NAME", "pull_request".to_owned()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("GITHUB_REPOSITORY", "acme/infra".to_owned()),
        ("GITHUB_API_URL", github.uri()),
    ];
    let run = action::run(
        &account,
        &[
            ("spec", "examples/quickstart.yaml examples/valkey.yaml"),
            ("fail-on", "high"),
        ],
        &context,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.outputs.contains("has-changes=true\n"),
        "{}",
        run.outputs
    );
    assert!(
        run.outputs
            .contains("examples/quickstart.yaml: Plan: 17 to add"),
        "{}",
        run.outputs
    );
    let plan_json = run
        .outputs
        .split("plan-json<<ELASTICACHE_ACTION_EOF\n")
        .nth(1)
        .and_then(|rest| rest.split("\nELASTICACHE_ACTION_EOF").next())
        .expect("plan-json");
    let plans: serde_json::Value = serde_json::from_str(plan_json).expect("JSON");
    assert_eq!(plans.as_array().map(Vec::len), Some(2), "one plan per spec");
    assert!(
        run.summary.contains("## ElastiCache stack `quickstart`"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("<!-- elasticache-action:stack=quickstart -->")
    );
    let comments: Vec<String> = github
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    let comment = |stack: &str| {
        comments
            .iter()
            .find(|c| c.contains(&format!("stack={stack} -->")))
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        comment("quickstart").contains("**+$20.36/month (from $0.00 to $20.36)**"),
        "{comments:?}"
    );
    // valkey.yaml is in us-west-2, where the emulator has no recorded prices.
    assert!(
        comment("dev-cache").contains(
            "**Cost unavailable:** the Price List has none of this stack's prices in us-west-2"
        ),
        "{comments:?}"
    );
    // Dropped here, `expect(2)` checks that each stack posted its comment.
    drop(github);

    let at_rest_off = std::env::temp_dir().join(format!("action-no-at-rest-{}.yaml", account.id));
    let source = std::fs::read_to_string(examples().join("quickstart.yaml")).expect("example")
        + "encryption:\n  at_rest: false\n";
    std::fs::write(&at_rest_off, source).expect("write");
    let strict = action::run(
        &account,
        &[
            ("spec", &at_rest_off.display().to_string()),
            ("fail-on", "high"),
            ("comment", "false"),
        ],
        &context,
    );
    assert_eq!(strict.code, Some(3), "{}", strict.stderr);
}

#[test]
fn the_example_workflow_uses_only_what_the_action_declares() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = |path: &str| -> serde_yaml::Value {
        serde_yaml::from_str(&std::fs::read_to_string(root.join(path)).expect(path)).expect(path)
    };
    let action = read("action.yml");
    let inputs = action["inputs"].as_mapping().expect("inputs");
    let outputs = action["outputs"].as_mapping().expect("outputs");
    let workflow = read("examples/workflows/elasticache.yml");
    let text =
        std::fs::read_to_string(root.join("examples/workflows/elasticache.yml")).expect("workflow");
    let mut uses = 0;
    for (_, job) in workflow["jobs"].as_mapping().expect("jobs") {
        for step in job["steps"].as_sequence().expect("steps") {
            let Some(action_ref) = step["uses"].as_str() else {
                continue;
            };
            if !action_ref.starts_with("elasticache-action/elasticache-action@") {
                continue;
            }
            uses += 1;
            for (name, _) in step["with"].as_mapping().expect("with") {
                assert!(inputs.contains_key(name), "unknown input {name:?}");
            }
        }
    }
    assert_eq!(uses, 3, "plan, apply and the drift check");
    for output in ["has-changes", "summary"] {
        assert!(outputs.contains_key(output));
        assert!(text.contains(&format!("steps.plan.outputs.{output}")));
    }
    // Nothing by default; the plan job may comment, every job may sign in to AWS.
    assert!(
        workflow["permissions"]
            .as_mapping()
            .is_some_and(|p| p.is_empty())
    );
    let permissions = &workflow["jobs"]["plan"]["permissions"];
    assert_eq!(permissions["pull-requests"], "write");
    assert_eq!(permissions["id-token"], "write");
    assert_eq!(permissions["contents"], "read");
    for job in ["apply", "drift"] {
        let permissions = &workflow["jobs"][job]["permissions"];
        assert_eq!(permissions["id-token"], "write", "{job}");
        assert!(permissions.get("pull-requests").is_none(), "{job}");
    }
}

#[tokio::test]
async fn the_install_step_takes_the_newest_release_of_its_major_tag_and_checks_it() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let work = std::env::temp_dir().join(format!("install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("pkg")).expect("dirs");
    std::fs::write(work.join("pkg/orchestrator"), "#!/bin/sh\necho released\n").expect("binary");
    std::fs::set_permissions(
        work.join("pkg/orchestrator"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("executable");
    let asset = "orchestrator-x86_64-unknown-linux-gnu.tar.gz";
    let packed = Command::new("tar")
        .args(["-czf", asset, "-C", "pkg", "orchestrator"])
        .current_dir(&work)
        .status()
        .expect("tar");
    assert!(packed.success());
    let archive = std::fs::read(work.join(asset)).expect("archive");
    let sum = Command::new("sha256sum")
        .arg(asset)
        .current_dir(&work)
        .output()
        .expect("sha256sum");

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/elasticache-action/releases"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            { "tag_name": "v2.0.0", "draft": false },
            { "tag_name": "v1.4.0", "draft": true },
            { "tag_name": "v1.3.1", "draft": false },
            { "tag_name": "v1.3.0", "draft": false },
        ])))
        .mount(&server)
        .await;
    let download = format!("/acme/elasticache-action/releases/download/v1.3.1/{asset}");
    Mock::given(method("GET"))
        .and(path(download.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(archive))
        .mount(&server)
        .await;
    // The install step in a runner's temp dir; with `gh_exit`, a `gh` on PATH whose
    // `gh attestation verify` exits so (it records its arguments in bin/args).
    let install_with_gh = |temp: &str, gh_exit: Option<u8>| {
        let temp = work.join(temp);
        let bin = temp.join("bin");
        std::fs::create_dir_all(&bin).expect("temp");
        let mut path = std::env::var("PATH").unwrap_or_default();
        if let Some(gh_exit) = gh_exit {
            let script = format!(
                "#!/bin/sh\necho \"$*\" >\"$(dirname \"$0\")/args\"\necho 'no attestations found'\nexit {gh_exit}\n"
            );
            std::fs::write(bin.join("gh"), script).expect("gh");
            std::fs::set_permissions(
                bin.join("gh"),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .expect("executable");
            path = format!("{}:{path}", bin.display());
        }
        let outputs = temp.join("outputs");
        let status = Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/action/install.sh"))
            .env_remove("ELASTICACHE_ACTION_ORCHESTRATOR")
            .env("PATH", path)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("ACTION_REF", "v1")
            .env("ACTION_REPOSITORY", "acme/elasticache-action")
            .env("GITHUB_API_URL", server.uri())
            .env("GITHUB_SERVER_URL", server.uri())
            .env("RUNNER_TEMP", &temp)
            .env("GITHUB_OUTPUT", &outputs)
            .env("GH_TOKEN", "t")
            .output()
            .expect("bash");
        (status, std::fs::read_to_string(outputs).unwrap_or_default())
    };
    let install = |temp: &str| install_with_gh(temp, None);
    Mock::given(method("GET"))
        .and(path(format!("{download}.sha256")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(sum.stdout.clone()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let (good, outputs) = install("good");
    assert!(good.status.success(), "{}", text(&good.stderr));
    let binary = outputs
        .strip_prefix("orchestrator=")
        .map(str::trim)
        .expect("the orchestrator output");
    let ran = Command::new(binary).output().expect("runs");
    assert_eq!(text(&ran.stdout), "released\n");

    // Where gh verifies the release's build attestation, it says so; where it cannot
    // (no attestation, offline), a notice says the checksum alone vouched.
    for (temp, gh_exit, said) in [
        ("attested", Some(0), "build attestation verified"),
        ("unattested", Some(1), "::notice::"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("{download}.sha256")))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(sum.stdout.clone()))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let (run, outputs) = install_with_gh(temp, gh_exit);
        assert!(run.status.success(), "{}", text(&run.stderr));
        let all = format!("{}{}", text(&run.stdout), text(&run.stderr));
        assert!(all.contains(said), "{all}");
        assert!(outputs.starts_with("orchestrator="), "{outputs}");
        let args = std::fs::read_to_string(work.join(temp).join("bin/args")).expect("gh ran");
        assert!(args.starts_with("attestation verify "), "{args}");
        assert!(
            args.contains(&format!("{asset} --repo acme/elasticache-action")),
            "{args}"
        );
    }

    // The next download is tampered with: its checksum no longer matches.
    Mock::given(method("GET"))
        .and(path(format!("{download}.sha256")))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(format!("{}  {asset}\n", "0".repeat(64))),
        )
        .mount(&server)
        .await;
    let (bad, outputs) = install("bad");
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stdout).contains("does not match its published SHA-256"));
    assert!(outputs.is_empty(), "no binary is named");
}

/// The quickstart in region `mars-north-1`, written to a file of its own for `test`.
fn mars_spec(test: &str) -> String {
    let source = std::fs::read_to_string(quickstart())
        .expect("the example")
        .replace("us-east-1", "mars-north-1");
    let dir = std::env::temp_dir().join(format!("cli-mars-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spec = dir.join("mars.yaml");
    std::fs::write(&spec, source).expect("written");
    spec.display().to_string()
}

/// An endpoint that answers for every region name (the emulator answers a 500 for one it
/// does not know) is asked which regions it has: one line names the region and them.
#[tokio::test]
async fn a_region_the_endpoint_does_not_list_is_one_clear_line() {
    let account = Emulator::account("cli_unknown_region").await;
    let spec = mars_spec("emulator");
    let output = orchestrator(Some(&account), &["plan", &spec]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: `mars-north-1` is not a region http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("us-east-1, us-east-2"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

/// With AWS's own endpoints, a region AWS does not have has no endpoint: one line says
/// so (the name does not resolve, on any network).
#[test]
fn a_region_without_endpoints_is_one_clear_line() {
    let spec = mars_spec("aws");
    let output = Command::new(env!("CARGO_BIN_EXE_orchestrator"))
        .args(["plan", &spec])
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: cannot reach AWS in region `mars-north-1`"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn a_usage_error_exits_1_not_the_changes_code() {
    let typo = orchestrator(None, &["plan", "--detailed-exitcod", &quickstart()]);
    assert_eq!(typo.status.code(), Some(1), "{}", text(&typo.stderr));
    let timeout = orchestrator(None, &["apply", &quickstart(), "--timeout", "soon"]);
    assert_eq!(timeout.status.code(), Some(1));
    assert!(
        text(&timeout.stderr).contains("`soon` is not a duration: write it like 90s, 45m, 2h"),
        "{}",
        text(&timeout.stderr)
    );
    assert_eq!(orchestrator(None, &["--help"]).status.code(), Some(0));
}

/// Each kind of error as the user reads it: every fact once, no SDK dump, a hint where
/// there is something to do. The endpoint's port is replaced by `PORT`.
mod error_text {
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    /// `plan` of the quickstart with AWS_ENDPOINT_URL pointing at `endpoint`.
    fn plan_against(endpoint: &str) -> String {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orchestrator"));
        command
            .args(["plan", &quickstart()])
            .stdin(Stdio::null())
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("RUST_LOG")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "x")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("NO_COLOR", "1");
        let output = command.output().expect("the orchestrator runs");
        assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
        text(&output.stderr).replace(endpoint.trim_start_matches("http://"), "127.0.0.1:PORT")
    }

    async fn answering(response: ResponseTemplate) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(response)
            .mount(&server)
            .await;
        server
    }

    #[test]
    fn nothing_listening_names_the_endpoint_and_the_emulator() {
        insta::assert_snapshot!(plan_against("http://127.0.0.1:9"), @r"
        error: GetCallerIdentity failed: could not connect to http://127.0.0.1:PORT (connection refused)
        hint: AWS_ENDPOINT_URL is http://127.0.0.1:PORT: is the emulator running? `scripts/emulator.sh start`
        ");
    }

    #[tokio::test]
    async fn an_html_page_is_named_by_status_type_and_size_not_dumped() {
        let page = "<html><body><h1>500 Internal Server Error</h1></body></html>";
        let server = answering(ResponseTemplate::new(500).set_body_raw(page, "text/html")).await;
        insta::assert_snapshot!(plan_against(&server.uri()), @r"
        error: GetCallerIdentity failed: HTTP 500 from http://127.0.0.1:PORT, not an AWS answer (text/html, 60 bytes)
        hint: AWS_ENDPOINT_URL is http://127.0.0.1:PORT: is the emulator running? `scripts/emulator.sh start`
        ");
    }

    #[tokio::test]
    async fn an_aws_error_shows_its_code_and_message_once() {
        let body = "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>\
                    <Message>The security token included in the request is expired</Message>\
                    </Error><RequestId>r1</RequestId></ErrorResponse>";
        let server = answering(ResponseTemplate::new(403).set_body_raw(body, "text/xml")).await;
        insta::assert_snapshot!(plan_against(&server.uri()), @"error: GetCallerIdentity failed: ExpiredToken: The security token included in the request is expired");
    }

    #[tokio::test]
    async fn a_step_error_reads_once() {
        let account = Emulator::account("cli_error_once").await;
        let refused = orchestrator(
            Some(&account),
            &[
                "plan",
                &examples().join("production.yaml").display().to_string(),
            ],
        );
        insta::assert_snapshot!(text(&refused.stderr), @"error: policies: IAM role orders-app-role (outputs.attach_to_roles) does not exist in this account; create it first or remove it from the spec");
    }

    #[tokio::test]
    async fn a_refused_replacement_names_the_flag_in_the_hint() {
        let account = Emulator::account("cli_error_replacement").await;
        let applied = orchestrator(Some(&account), &["apply", &quickstart(), "--auto-approve"]);
        assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
        let changed = std::env::temp_dir().join(format!("at-rest-off-{}.yaml", account.id));
        let source = std::fs::read_to_string(quickstart()).expect("example")
            + "encryption:\n  at_rest: false\n";
        std::fs::write(&changed, source).expect("writes");
        let changed = changed.display().to_string();
        let refused = orchestrator(Some(&account), &["apply", &changed, "--auto-approve"]);
        assert_eq!(refused.status.code(), Some(1));
        insta::assert_snapshot!(text(&refused.stderr), @r"
        error: refusing to replace replication_group quickstart: AWS cannot change at_rest_encryption in place, and replacements were not allowed
        hint: re-run with --allow-replacement to replace them (a final snapshot seeds the new replication group)
        ");
    }
}

/// The issue's measure, through the binary: a converged `apply --auto-approve` makes no
/// more AWS calls than `plan` plus one (it applies the plan it showed, reading nothing
/// again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converged_apply_makes_no_more_calls_than_plan() {
    let account = Emulator::account("cli_apply_calls").await;
    let applied = orchestrator(Some(&account), &["apply", &quickstart(), "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    let proxy =
        test_support::proxy::Proxy::start(&test_support::endpoint(), std::time::Duration::ZERO)
            .await
            .expect("proxy starts");
    let through = [("AWS_ENDPOINT_URL", proxy.endpoint.as_str())];
    let plan = orchestrator_with(
        Some(&account),
        &through,
        &["plan", &quickstart(), "--detailed-exitcode"],
    );
    assert_eq!(
        plan.status.code(),
        Some(0),
        "converged: {}",
        text(&plan.stdout)
    );
    let planned = proxy.calls();
    proxy.reset();
    let apply = orchestrator_with(
        Some(&account),
        &through,
        &["apply", &quickstart(), "--auto-approve"],
    );
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stderr));
    let applied = proxy.calls();
    assert!(planned.len() > 10, "{planned:?}");
    assert!(
        applied.len() <= planned.len() + 1,
        "apply made {} calls, plan {}: {applied:?}",
        applied.len(),
        planned.len()
    );
}

/// The roles the examples attach their policies to; a missing one stops the plan.
async fn create_example_roles(account: &Account) {
    let iam = aws_sdk_iam::Client::new(&account.config);
    for role in ["orders-app-role", "billing-worker"] {
        iam.create_role()
            .role_name(role)
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .send()
            .await
            .expect("a role");
    }
}

/// The examples' roles and, for `existing-vpc.yaml`, a VPC to use: the example's ids are
/// placeholders, so its copy names the VPC, subnets and security group made here.
async fn prepare_examples(account: &Account, dir: &Path) -> Vec<PathBuf> {
    create_example_roles(account).await;
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.70.0.0/16")
        .send()
        .await
        .expect("a VPC");
    let vpc_id = vpc
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("its id")
        .to_owned();
    let mut subnets = Vec::new();
    for (zone, cidr) in [
        ("us-east-1a", "10.70.1.0/24"),
        ("us-east-1b", "10.70.2.0/24"),
    ] {
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .availability_zone(zone)
            .cidr_block(cidr)
            .send()
            .await
            .expect("a subnet");
        subnets.push(
            subnet
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("its id")
                .to_owned(),
        );
    }
    let web = ec2
        .create_security_group()
        .group_name("web")
        .description("the web tier")
        .vpc_id(&vpc_id)
        .send()
        .await
        .expect("a security group");
    let web = web.group_id().expect("its id").to_owned();

    // The rotation function's package: the release asset cannot be fetched here, and
    // the emulator stores a function without running it, so an empty archive serves.
    let package = dir.join("rotation-lambda.zip");
    std::fs::write(&package, b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0").expect("written");
    let mut specs = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(examples())
        .expect("examples")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    for path in names {
        let source = std::fs::read_to_string(&path).expect("readable");
        let source = source
            .replace("vpc-0a1b2c3d4e5f60718", &vpc_id)
            .replace("subnet-0a1b2c3d4e5f60718", &subnets[0])
            .replace("subnet-0f1e2d3c4b5a69788", &subnets[1])
            .replace("sg-0123456789abcdef0", &web)
            .replace(
                "package: release",
                &format!("package: {}", package.display()),
            );
        let copy = dir.join(path.file_name().expect("a file name"));
        std::fs::write(&copy, source).expect("written");
        specs.push(copy);
    }
    specs
}

/// What `output --json` says of how to connect, and the credential's value read from
/// its secret (none for IAM users, whose password is a signed token).
async fn stack_login(
    account: &Account,
    spec: &str,
) -> (String, u16, bool, Option<(Option<String>, String)>) {
    let shown = orchestrator(Some(account), &["output", spec, "--json"]);
    assert_eq!(
        shown.status.code(),
        Some(0),
        "{spec}: {}",
        text(&shown.stderr)
    );
    let document: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    let connection = &document["connection"];
    let host = connection["host"].as_str().expect("host").to_owned();
    let port = connection["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .expect("port");
    let tls = connection["tls"].as_bool().expect("tls");
    let auth = &connection["auth"];
    let (user, secret) = match auth["kind"].as_str() {
        Some("token") => (None, &auth["secret"]),
        Some("rbac") => (
            auth["users"][0]["name"].as_str().map(str::to_owned),
            &auth["users"][0]["secret"],
        ),
        _ => return (host, port, tls, None),
    };
    let name = secret["name"].as_str().expect("a secret name");
    let field = secret["field"].as_str().expect("a field");
    // The secret lives in the stack's region, which need not be the test's.
    let region = connection["region"].as_str().expect("a region").to_owned();
    let config = aws_sdk_secretsmanager::config::Builder::from(&account.config)
        .region(aws_sdk_secretsmanager::config::Region::new(region))
        .build();
    let value = aws_sdk_secretsmanager::Client::from_conf(config)
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .expect("the secret");
    let document: serde_json::Value =
        serde_json::from_str(value.secret_string().expect("a string")).expect("JSON");
    let credential = document[field].as_str().expect("the credential").to_owned();
    (host, port, tls, Some((user, credential)))
}

/// Every example applies, re-plans to "No changes." (exit 0), lets its own credential in
/// and refuses a wrong one at the group's real server, and destroys completely, with no
/// timeout flag. The examples run at once, one thread each.
#[tokio::test]
async fn data_plane_every_example_applies_converges_logs_in_and_destroys() {
    use test_support::data_plane::{Login, ping};

    let account = Emulator::account("cli_every_example").await;
    let dir = std::env::temp_dir().join(format!("examples-{}", account.id));
    std::fs::create_dir_all(&dir).expect("a folder");
    let specs = prepare_examples(&account, &dir).await;
    assert_eq!(specs.len(), 6, "{specs:?}");

    let run = |spec: &Path| {
        let spec = spec.display().to_string();
        let applied = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
        assert_eq!(
            applied.status.code(),
            Some(0),
            "{spec}: {}",
            text(&applied.stderr)
        );
        let planned = orchestrator(Some(&account), &["plan", &spec, "--detailed-exitcode"]);
        assert_eq!(
            planned.status.code(),
            Some(0),
            "{spec}: {}",
            text(&planned.stdout)
        );
        let (applied, planned) = (text(&applied.stdout), text(&planned.stdout));
        assert!(planned.contains("No changes."), "{spec}");
        // Priced before (nothing) and after; then what exists is priced as what is
        // wanted. The emulator has prices for us-east-1 and eu-west-1 only.
        let region = ["us-west-2", "eu-central-1"]
            .into_iter()
            .find(|r| applied.contains(&format!(" · {r}\n")));
        match region {
            None => {
                assert!(applied.contains("Cost: +$"), "{spec}: {applied}");
                assert!(planned.contains("Cost: no change ("), "{spec}: {planned}");
            }
            Some(region) => {
                let unavailable = format!(
                    "Cost unavailable: the Price List has none of this stack's prices in {region}"
                );
                assert!(planned.contains(&unavailable), "{spec}: {planned}");
            }
        }
        if spec.ends_with("rotation-lambda.yaml") {
            assert!(planned.contains("  interface endpoints  "), "{planned}");
            assert!(
                planned.contains("  rotation function (estimate)  "),
                "{planned}"
            );
        }
        spec
    };
    let applied: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = specs.iter().map(|spec| scope.spawn(|| run(spec))).collect();
        runs.into_iter()
            .map(|r| r.join().expect("an example ran"))
            .collect()
    });

    for spec in &applied {
        let (host, port, tls, credential) = stack_login(&account, spec).await;
        assert_eq!(host, "127.0.0.1", "{spec}: the group's own server");
        let Some((user, secret)) = credential else {
            // IAM users log in with a SigV4 token the emulator cannot check yet.
            assert!(spec.ends_with("iam-auth.yaml"), "{spec}");
            continue;
        };
        let (right, wrong) = match &user {
            Some(user) => (
                Login::User(user, &secret),
                Login::User(user, "not-the-password-0"),
            ),
            None => (Login::Token(&secret), Login::Token("not-the-token-00000")),
        };
        assert_eq!(ping(&host, port, tls, right), "PONG", "{spec}");
        let refused = ping(&host, port, tls, wrong);
        assert!(refused.contains("WRONGPASS"), "{spec}: {refused}");
    }

    let destroy = |spec: &String| {
        let destroyed = orchestrator(Some(&account), &["destroy", spec, "--auto-approve"]);
        assert_eq!(
            destroyed.status.code(),
            Some(0),
            "{spec}: {}",
            text(&destroyed.stderr)
        );
        let destroyed = text(&destroyed.stdout);
        assert!(
            destroyed.contains("Cost: -$")
                || destroyed.contains("Cost unavailable: the Price List has none"),
            "{spec}: {destroyed}"
        );
        let after = orchestrator(Some(&account), &["plan", spec, "--json"]);
        let document: serde_json::Value = serde_json::from_slice(&after.stdout).expect("JSON");
        let kept: Vec<String> = document["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .filter(|c| c["action"] != "create")
            .map(|c| format!("{} {}", c["action"], c["resource"]["kind"]))
            .collect();
        // Secrets are only scheduled for deletion (restored, not recreated) and the key
        // stays for the final snapshot; everything else is gone.
        assert!(
            kept.iter()
                .all(|k| k.ends_with("\"secret\"") || k.ends_with("\"kms_key\"")),
            "{spec}: {kept:?}"
        );
    };
    std::thread::scope(|scope| {
        for spec in &applied {
            scope.spawn(|| destroy(spec));
        }
    });
    std::fs::remove_dir_all(&dir).ok();
}

/// A lock left by a run that died: apply fails naming it with a hint, plan warns,
/// `unlock` needs its id, and apply goes on after it.
#[tokio::test]
async fn a_lock_left_by_a_dead_run_names_its_holder_and_unlock_removes_it() {
    let account = Emulator::account("cli_lock").await;
    let lock = serde_json::json!({
        "id": "dead-run-9",
        "holder": "arn:aws:iam::123456789012:user/someone",
        "host": "ci-runner-7",
        "command": "apply",
        "since": "2026-12-03T07:00:00Z",
        "expires": u64::MAX / 2,
    });
    aws_sdk_ssm::Client::new(&account.config)
        .put_parameter()
        .name("/elasticache-action/locks/quickstart")
        .value(lock.to_string())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("a lock left behind");
    let spec = quickstart();
    let holder = "locked by arn:aws:iam::123456789012:user/someone (apply on ci-runner-7) since 2026-12-03T07:00:00Z; lock id dead-run-9";

    let refused = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(holder), "{stderr}");
    assert!(
        stderr.contains("hint: wait for it with --lock-timeout 5m; if that run died, remove its lock: `orchestrator unlock <spec> dead-run-9`"),
        "{stderr}"
    );
    let plan = orchestrator(Some(&account), &["plan", &spec]);
    assert!(
        text(&plan.stdout).contains(holder),
        "{}",
        text(&plan.stdout)
    );

    let wrong = orchestrator(Some(&account), &["unlock", &spec, "dead-run-1"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong.stderr).contains("not dead-run-1; nothing was unlocked"),
        "{}",
        text(&wrong.stderr)
    );
    let unlocked = orchestrator(Some(&account), &["unlock", &spec, "dead-run-9"]);
    assert_eq!(
        unlocked.status.code(),
        Some(0),
        "{}",
        text(&unlocked.stderr)
    );
    let applied = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
}

#[test]
fn token_prints_only_the_token_and_refuses_what_is_not_an_iam_user() {
    let iam = examples().join("iam-auth.yaml").display().to_string();
    let output = orchestrator(None, &["token", &iam, "--user", "billing-worker"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("iam-cache/?Action=connect&User=billing-worker&X-Amz-"),
        "{stdout}"
    );
    assert!(stdout.contains("X-Amz-Expires=900"), "{stdout}");
    assert_eq!(text(&output.stderr), "", "nothing but the token");

    let output = orchestrator(None, &["token", &iam, "--user", "billing-worker", "--json"]);
    let document: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert!(
        document["token"]
            .as_str()
            .is_some_and(|t| t.contains("X-Amz-Signature="))
    );
    assert_eq!(document["replication_group_id"], "iam-cache");
    assert!(
        document["expires_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    // At -vv the logs go to stderr: the signature never does.
    let output = orchestrator(None, &["-vv", "token", &iam, "--user", "billing-worker"]);
    let signature = text(&output.stdout)
        .split("X-Amz-Signature=")
        .nth(1)
        .map(str::trim)
        .map(str::to_owned)
        .expect("a signature");
    assert!(!text(&output.stderr).contains(&signature[..16]));

    for (spec, user, says) in [
        (
            quickstart(),
            "app",
            "stack quickstart authenticates with `auth.mode: token`; IAM tokens are for `auth.mode: iam` stacks",
        ),
        (
            iam.clone(),
            "nobody",
            "stack iam-cache has no user `nobody`; its users: billing-worker",
        ),
    ] {
        let output = orchestrator(None, &["token", &spec, "--user", user]);
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(text(&output.stdout), "");
        assert!(
            text(&output.stderr).contains(says),
            "{}",
            text(&output.stderr)
        );
    }
}

/// The orchestrator with the emulator's CA trusted, as `scripts/emulator.sh env` sets it.
fn orchestrator_trusting_the_emulator(account: &Account, args: &[&str]) -> Output {
    let ca_file = test_support::data_plane::ca_file().display().to_string();
    orchestrator_with(Some(account), &[("ELASTICACHE_CA_FILE", &ca_file)], args)
}

/// `connect --check` passed, with the credential `source` says, and the server says
/// the login is `user`.
fn assert_connected(output: &Output, source: &str, user: &str) {
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert!(stdout.contains(source), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("acl whoami") && l.ends_with(user)),
        "{stdout}"
    );
}

#[tokio::test]
async fn data_plane_connect_checks_every_stage_with_the_stacks_own_token() {
    let account = Emulator::account("cli_connect_token").await;
    let spec = quickstart();
    let early = orchestrator_trusting_the_emulator(&account, &["connect", &spec, "--check"]);
    assert_eq!(early.status.code(), Some(1));
    assert!(
        text(&early.stderr).contains("has no replication group endpoint yet: apply it first"),
        "{}",
        text(&early.stderr)
    );
    let applied = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));

    let checked = orchestrator_trusting_the_emulator(&account, &["connect", &spec, "--check"]);
    assert_connected(
        &checked,
        "with the AUTH token in secret quickstart/auth-token",
        "default",
    );
    let stdout = text(&checked.stdout);
    for line in [
        "dns",
        "tcp",
        "certificate verified",
        "PONG",
        "OK: every stage passed",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    let json =
        orchestrator_trusting_the_emulator(&account, &["connect", &spec, "--check", "--json"]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let stages: Vec<&str> = document["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .filter_map(|s| s["stage"].as_str())
        .collect();
    assert_eq!(stages, ["dns", "tcp", "tls", "auth", "ping", "whoami"]);
    assert!(document["failure"].is_null());

    let client = orchestrator_trusting_the_emulator(&account, &["connect", &spec, "--", "PING"]);
    assert_eq!(
        text(&client.stdout).trim(),
        "PONG",
        "{}",
        text(&client.stderr)
    );

    // The system's roots do not trust the emulator's CA.
    let untrusted = orchestrator(Some(&account), &["connect", &spec, "--check"]);
    let stdout = text(&untrusted.stdout);
    assert_eq!(untrusted.status.code(), Some(1));
    assert!(
        stdout.contains("FAILED: the server's certificate was rejected"),
        "{stdout}"
    );
    assert!(stdout.contains("--ca-file"), "{stdout}");

    let user = orchestrator_trusting_the_emulator(
        &account,
        &["connect", &spec, "--check", "--user", "app"],
    );
    assert_eq!(user.status.code(), Some(1));
    assert!(text(&user.stderr).contains("has no users to pick (auth.mode: token)"));

    // A token in the secret that the group does not have.
    let secrets = aws_sdk_secretsmanager::Client::new(&account.config);
    let current = secrets
        .get_secret_value()
        .secret_id("quickstart/auth-token")
        .send()
        .await
        .expect("reads");
    let mut document: serde_json::Value =
        serde_json::from_str(current.secret_string().expect("string")).expect("JSON");
    document["auth_token"] = "not-the-token-of-this-group-000000".into();
    secrets
        .put_secret_value()
        .secret_id("quickstart/auth-token")
        .secret_string(document.to_string())
        .send()
        .await
        .expect("writes");
    let refused = orchestrator_trusting_the_emulator(&account, &["connect", &spec, "--check"]);
    let stdout = text(&refused.stdout);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stdout.contains("FAILED: WRONGPASS"), "{stdout}");
    assert!(
        stdout.contains("Likely cause: the AUTH token was refused"),
        "{stdout}"
    );
    assert!(!stdout.contains("not-the-token"), "no credential printed");

    secrets
        .delete_secret()
        .secret_id("quickstart/auth-token")
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("schedules deletion");
    let pending = orchestrator_trusting_the_emulator(&account, &["connect", &spec, "--check"]);
    assert_eq!(pending.status.code(), Some(1));
    assert!(
        text(&pending.stderr)
            .contains("the secret quickstart/auth-token is scheduled for deletion"),
        "{}",
        text(&pending.stderr)
    );
}

#[tokio::test]
async fn data_plane_connect_logs_in_as_an_rbac_user_and_names_what_its_access_string_lacks() {
    let account = Emulator::account("cli_connect_rbac").await;
    let spec = std::env::temp_dir().join(format!("cli-connect-rbac-{}.yaml", std::process::id()));
    let source = std::fs::read_to_string(examples().join("quickstart.yaml")).expect("example")
        + "auth:\n  mode: rbac\n  users: [{name: app}, {name: reporting, access: \"on ~* +@read\"}]\n";
    std::fs::write(&spec, source).expect("write");
    let spec = spec.display().to_string();
    let applied = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));

    let app = orchestrator_trusting_the_emulator(&account, &["connect", &spec, "--check"]);
    assert_connected(
        &app,
        "with user app, its password in secret quickstart/users/app",
        "app",
    );

    let reporting = orchestrator_trusting_the_emulator(
        &account,
        &["connect", &spec, "--check", "--user", "reporting"],
    );
    let stdout = text(&reporting.stdout);
    assert_eq!(reporting.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAILED: NOPERM"), "{stdout}");
    assert!(
        stdout.contains("reporting's access string does not allow"),
        "{stdout}"
    );

    let nobody = orchestrator_trusting_the_emulator(
        &account,
        &["connect", &spec, "--check", "--user", "nobody"],
    );
    assert_eq!(nobody.status.code(), Some(1));
    assert!(text(&nobody.stderr).contains("has no user `nobody`; its users: app, reporting"));
}

#[tokio::test]
async fn data_plane_connect_signs_an_iam_token_the_emulator_checks() {
    let account = Emulator::account("cli_connect_iam").await;
    create_example_roles(&account).await;
    // The role test-support signs in as, so its attached policies can be read.
    aws_sdk_iam::Client::new(&account.config)
        .create_role()
        .role_name("test")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .expect("a role");
    let spec = examples().join("iam-auth.yaml").display().to_string();
    let applied = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));

    let checked = orchestrator_trusting_the_emulator(&account, &["connect", &spec, "--check"]);
    assert_connected(
        &checked,
        "with IAM user billing-worker, a token signed just now",
        "billing-worker",
    );

    // What a script does: the token in REDISCLI_AUTH.
    let token = orchestrator(
        Some(&account),
        &["token", &spec, "--user", "billing-worker"],
    );
    let token = text(&token.stdout).trim().to_owned();
    let output = orchestrator(Some(&account), &["output", &spec, "--json"]);
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let port = document["connection"]["port"].as_u64().expect("port") as u16;
    let reply = test_support::data_plane::ping(
        "127.0.0.1",
        port,
        true,
        test_support::data_plane::Login::User("billing-worker", &token),
    );
    assert_eq!(reply, "PONG");

    // Signed with a session token that is not the credentials' own: refused, and the
    // likely cause says what is ruled out.
    let ca_file = test_support::data_plane::ca_file().display().to_string();
    let refused = orchestrator_with(
        Some(&account),
        &[
            ("ELASTICACHE_CA_FILE", &ca_file),
            ("AWS_SESSION_TOKEN", "not-this-session"),
        ],
        &["connect", &spec, "--check"],
    );
    let stdout = text(&refused.stdout);
    assert_eq!(refused.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAILED: WRONGPASS"), "{stdout}");
    assert!(stdout.contains("Ruled out: letter case"), "{stdout}");
    assert!(
        stdout
            .contains("the user (it exists, is active, authenticates with IAM and is in iam-cache"),
        "{stdout}"
    );
    // The role the test signs as has no connect policy: AWS shows that much.
    assert!(
        stdout.contains("Suspect: role test does not have"),
        "{stdout}"
    );
    assert!(
        stdout.contains("does not have the stack's iam-cache-connect policy attached"),
        "{stdout}"
    );
}

#[tokio::test]
async fn data_plane_connect_in_cluster_mode_asks_cluster_info_at_the_configuration_endpoint() {
    let account = Emulator::account("cli_connect_cluster").await;
    let spec =
        std::env::temp_dir().join(format!("cli-connect-cluster-{}.yaml", std::process::id()));
    let source = std::fs::read_to_string(examples().join("quickstart.yaml"))
        .expect("example")
        .replace("cluster:\n", "cluster:\n  mode: enabled\n  shards: 2\n");
    std::fs::write(&spec, source).expect("write");
    let spec = spec.display().to_string();
    let applied = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));

    let checked = orchestrator_trusting_the_emulator(&account, &["connect", &spec, "--check"]);
    assert_connected(&checked, "with the AUTH token", "default");
    let stdout = text(&checked.stdout);
    assert!(
        stdout.contains("cluster_state:ok, 16384 slots assigned"),
        "{stdout}"
    );
    let primary = orchestrator_trusting_the_emulator(
        &account,
        &["connect", &spec, "--check", "--endpoint", "primary"],
    );
    assert_eq!(primary.status.code(), Some(1));
    assert!(
        text(&primary.stderr)
            .contains("no primary endpoint in cluster mode (use the configuration endpoint)"),
        "{}",
        text(&primary.stderr)
    );
}

#[test]
fn connect_without_a_client_installed_says_what_to_install_before_any_aws_call() {
    let empty = std::env::temp_dir().join(format!("cli-no-clients-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("a directory");
    let path = empty.display().to_string();
    let output = orchestrator_with(
        None,
        &[("PATH", &path)],
        &["connect", &quickstart(), "--", "PING"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("neither valkey-cli nor redis-cli is installed"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("127.0.0.1:9"),
        "no AWS call was tried: {stderr}"
    );
}

#[tokio::test]
async fn data_plane_connect_checks_the_production_example_as_its_first_rbac_user() {
    let account = Emulator::account("cli_connect_production").await;
    create_example_roles(&account).await;
    let spec = examples().join("production.yaml").display().to_string();
    let applied = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    let checked = orchestrator_trusting_the_emulator(&account, &["connect", &spec, "--check"]);
    assert_connected(
        &checked,
        "with user orders-app, its password in secret orders-cache/users/orders-app",
        "orders-app",
    );
    assert!(
        text(&checked.stdout).contains("cluster_state:ok"),
        "cluster mode"
    );
}

/// `rotate` on the emulator: the token is rotated, `connect --check` passes with the
/// new one, a second run rotates again; a stack without a credential to rotate is one
/// clear line.
#[tokio::test]
async fn data_plane_rotate_then_connect_with_the_new_token() {
    let account = Emulator::account("cli_rotate").await;
    let spec = quickstart();
    let early = orchestrator(Some(&account), &["rotate", &spec]);
    assert_eq!(early.status.code(), Some(1));
    assert!(
        text(&early.stderr)
            .contains("secret quickstart/auth-token does not exist: apply the stack first"),
        "{}",
        text(&early.stderr)
    );
    let applied = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    let before = current_version(&account, "quickstart/auth-token").await;
    let rotated = orchestrator_trusting_the_emulator(&account, &["rotate", &spec]);
    let (stdout, stderr) = (text(&rotated.stdout), text(&rotated.stderr));
    assert_eq!(rotated.status.code(), Some(0), "{stdout}{stderr}");
    for step in ["create", "set", "test", "finish"] {
        assert!(stderr.contains(&format!(": {step} (version")), "{stderr}");
    }
    let after = current_version(&account, "quickstart/auth-token").await;
    assert_ne!(before, after);
    assert!(
        stdout.contains(&format!(
            "rotated; secret quickstart/auth-token now holds version {after}"
        )),
        "{stdout}"
    );
    let check = orchestrator_trusting_the_emulator(&account, &["connect", &spec, "--check"]);
    assert_connected(
        &check,
        "the AUTH token in secret quickstart/auth-token",
        "default",
    );
    let plan = orchestrator(Some(&account), &["plan", &spec, "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "a rotated token is no change");
    assert!(
        text(&plan.stdout).contains("Credential in secret quickstart/auth-token: last rotated 20"),
        "{}",
        text(&plan.stdout)
    );
    let json = orchestrator_trusting_the_emulator(
        &account,
        &["rotate", &spec, "--json", "--test", "control-plane"],
    );
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(document[0]["outcome"], "rotated");
    assert_eq!(document[0]["secret"], "quickstart/auth-token");

    let iam = examples().join("iam-auth.yaml").display().to_string();
    let refused = orchestrator(Some(&account), &["rotate", &iam]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("has no credential to rotate (auth.mode: iam)"),
        "{}",
        text(&refused.stderr)
    );
}

async fn current_version(account: &Account, secret: &str) -> String {
    let client = aws_sdk_secretsmanager::Client::new(&account.config);
    let value = client
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
        .expect("the secret exists");
    value.version_id().unwrap_or_default().to_owned()
}

/// The action's `command: rotate` as the scheduled example workflow runs it: the
/// control-plane test (a hosted runner cannot reach the cache), then a revoke-only run.
#[tokio::test]
async fn the_action_rotates_with_the_control_plane_test_and_revokes_when_asked() {
    let account = Emulator::account("cli_action_rotate").await;
    let spec = quickstart();
    let applied = orchestrator(Some(&account), &["apply", &spec, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    let before = current_version(&account, "quickstart/auth-token").await;
    let github = [("GITHUB_EVENT_NAME", "schedule".to_owned())];
    let run = action::run(
        &account,
        &[("command", "rotate"), ("spec", "examples/quickstart.yaml")],
        &github,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains(": finish (version"), "{}", run.stderr);
    assert_ne!(
        current_version(&account, "quickstart/auth-token").await,
        before
    );
    let revoke = action::run(
        &account,
        &[
            ("command", "rotate"),
            ("spec", "examples/quickstart.yaml"),
            ("revoke-due", "true"),
        ],
        &github,
    );
    assert_eq!(revoke.code, Some(0), "{}", revoke.stderr);
    assert!(
        revoke.stderr.contains("nothing to revoke: previous: keep"),
        "{}",
        revoke.stderr
    );
}

#[test]
fn the_rotation_workflow_uses_only_what_the_action_declares() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = |path: &str| -> serde_yaml::Value {
        serde_yaml::from_str(&std::fs::read_to_string(root.join(path)).expect(path)).expect(path)
    };
    let inputs = read("action.yml")["inputs"].clone();
    let workflow = read("examples/workflows/rotate.yml");
    let step = &workflow["jobs"]["rotate"]["steps"][2];
    assert_eq!(step["with"]["command"], "rotate");
    for (name, _) in step["with"].as_mapping().expect("with") {
        assert!(inputs.get(name).is_some(), "unknown input {name:?}");
    }
    let crons: Vec<&str> = workflow["on"]["schedule"]
        .as_sequence()
        .expect("a schedule")
        .iter()
        .filter_map(|entry| entry["cron"].as_str())
        .collect();
    let revoke = step["with"]["revoke-due"].as_str().expect("revoke-due");
    assert!(crons.iter().any(|cron| revoke.contains(cron)), "{revoke}");
}
