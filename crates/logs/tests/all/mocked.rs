//! SDK-level test for `AssociateKmsKey`, which moto 5.2.5 does not implement: a log
//! group whose key changed is re-associated with the stack key.

use std::collections::BTreeMap;

use aws_sdk_cloudwatchlogs::operation::associate_kms_key::AssociateKmsKeyOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use logs::{Logs, Observed, ObservedLogGroup, diff};

use crate::emulator::{SPEC, desired};

#[tokio::test]
async fn a_group_under_another_key_is_associated_with_the_stack_key() {
    let desired = desired(SPEC, "arn:aws:kms:us-east-1:1:key/stack");
    let observed = Observed {
        groups: desired
            .groups
            .iter()
            .map(|g| {
                let key = if g.log_type == "slow-log" {
                    "arn:aws:kms:us-east-1:1:key/old"
                } else {
                    "arn:aws:kms:us-east-1:1:key/stack"
                };
                (
                    g.name.clone(),
                    ObservedLogGroup {
                        arn: format!("arn:aws:logs:us-east-1:1:log-group:{}", g.name),
                        retention_days: Some(g.retention_days),
                        kms_key: Some(key.to_owned()),
                        tags: g.tags.clone().into_iter().collect::<BTreeMap<_, _>>(),
                    },
                )
            })
            .collect(),
    };
    let associate = mock!(aws_sdk_cloudwatchlogs::Client::associate_kms_key)
        .match_requests(|r| {
            r.log_group_name() == Some("/aws/elasticache/logdemo/slow-log")
                && r.kms_key_id() == Some("arn:aws:kms:us-east-1:1:key/stack")
        })
        .then_output(|| AssociateKmsKeyOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::Sequential, [&associate]);

    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(plan.changes[0].attributes[0].name, "kms_key_id");
    Logs::new(client).apply(&plan).await.expect("applies");
    assert_eq!(associate.num_calls(), 1);
}
