//! The whole stack through the library API, against the local emulator.

use stack::{ApplyOptions, Stack, StackError};
use test_support::Emulator;

fn quickstart_with(extra: &str) -> spec::Spec {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart.yaml");
    let source = std::fs::read_to_string(path).expect("example") + extra;
    spec::parse(&source, "quickstart.yaml").expect("valid spec")
}

#[tokio::test]
async fn a_missing_existing_key_stops_apply_before_anything_is_created() {
    let account = Emulator::account("stack_missing_key").await;
    let stack = Stack::new(
        quickstart_with("encryption:\n  kms_key: alias/not-there\n"),
        &account.config,
    );
    let error = stack
        .apply(ApplyOptions::default(), &|_| {})
        .await
        .expect_err("the key is missing");
    assert!(
        matches!(error, StackError::Kms(kms::KmsError::KeyNotFound(_))),
        "{error}"
    );
    assert!(error.to_string().contains("encryption.kms_key"), "{error}");
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let vpcs = ec2.describe_vpcs().send().await.expect("describes");
    assert_eq!(
        vpcs.vpcs().len(),
        1,
        "only the default VPC: nothing was created"
    );
}

#[tokio::test]
async fn apply_twice_then_plan_is_empty() {
    let account = Emulator::account("stack_twice").await;
    let stack = Stack::new(quickstart_with(""), &account.config);
    let outputs = stack
        .apply(ApplyOptions::default(), &|_| {})
        .await
        .expect("applies");
    assert!(outputs.kms_key_arn.value().is_some());
    assert_eq!(outputs.log_groups.len(), 2);
    let again = stack
        .apply(ApplyOptions::default(), &|_| {})
        .await
        .expect("applies again");
    assert_eq!(again, outputs, "the same resources, found again");
    let plan = stack.plan().await.expect("plans");
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
}
