//! The documents statement by statement, and the diff rules.

use cluster::{ClusterOutputs, Endpoints};
use plan::Known;
use serde_json::json;
use spec::names::Scope;

use crate::diff::Op;
use crate::*;

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/k1";
const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:demo/auth-token-AbCdEf";

fn scope() -> Scope {
    Scope::new("123456789012", "us-east-1")
}

fn desired(extra: &str) -> Desired {
    let spec = spec::parse(&test_support::spec_source("demo", extra), "t.yaml").expect("valid");
    let cluster = cluster::Desired::from_spec(
        &spec,
        &cluster::Inputs {
            security_group_id: Known::Value("sg-1".into()),
            kms_key_arn: Known::Value(KEY.into()),
        },
    );
    let secrets = cluster
        .secrets()
        .into_iter()
        .map(|name| (name, Known::Value(SECRET.to_owned())))
        .collect();
    let inputs = Inputs {
        scope: scope(),
        kms_key_arn: Known::Value(KEY.into()),
        secrets,
        cluster: ClusterOutputs {
            replication_group_id: "demo".into(),
            arn: Known::Value(
                "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:demo".into(),
            ),
            endpoints: Known::Value(Endpoints {
                primary: Some("master.demo.cache.amazonaws.com".into()),
                reader: Some("replica.demo.cache.amazonaws.com".into()),
                configuration: None,
                port: Some(6379),
            }),
            port: 6379,
            user_ids: cluster
                .users
                .iter()
                .filter(|u| u.name != "default")
                .map(|u| u.id.clone())
                .collect(),
        },
    };
    Desired::from_spec(&spec, &inputs)
}

#[test]
fn a_missing_role_stops_the_plan() {
    let desired = desired("outputs: {attach_to_roles: [app-role]}\n");
    let mut observed = Observed::as_applied(&desired);
    observed.missing_roles = vec!["app-role".into()];
    let error = diff(&desired, &observed).expect_err("the role is missing");
    assert!(
        error.to_string().contains("outputs.attach_to_roles"),
        "{error}"
    );
}

#[test]
fn the_read_policy_names_exact_arns_and_decrypts_only_through_ssm_and_secrets_manager() {
    let desired = desired("");
    let document = desired.policies[0]
        .document
        .value()
        .cloned()
        .expect("known");
    let statements = document["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 3);
    assert_eq!(
        statements[0]["Resource"],
        json!([
            "arn:aws:ssm:us-east-1:123456789012:parameter/demo/primary_endpoint",
            "arn:aws:ssm:us-east-1:123456789012:parameter/demo/reader_endpoint",
            "arn:aws:ssm:us-east-1:123456789012:parameter/demo/port",
            "arn:aws:ssm:us-east-1:123456789012:parameter/demo/auth_token_secret_arn",
        ])
    );
    assert_eq!(statements[1]["Resource"], json!([SECRET]));
    assert_eq!(
        statements[1]["Action"],
        json!([
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue"
        ])
    );
    assert_eq!(statements[2]["Action"], "kms:Decrypt");
    assert_eq!(statements[2]["Resource"], KEY);
    assert_eq!(
        statements[2]["Condition"]["StringEquals"]["kms:ViaService"],
        json!([
            "secretsmanager.us-east-1.amazonaws.com",
            "ssm.us-east-1.amazonaws.com"
        ])
    );
    assert!(
        !document.to_string().contains("\"*\""),
        "no wildcard resource or action"
    );
}

#[test]
fn iam_auth_gets_a_connect_policy_on_the_group_and_each_user() {
    let desired = desired(
        "engine: {name: valkey, version: \"7.2\"}\nauth: {mode: iam, users: [{name: app}, {name: jobs}]}\n",
    );
    assert_eq!(desired.policies.len(), 2);
    let document = desired.policies[1]
        .document
        .value()
        .cloned()
        .expect("known");
    assert_eq!(
        document["Statement"][0]["Resource"],
        json!([
            "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:demo",
            "arn:aws:elasticache:us-east-1:123456789012:user:app",
            "arn:aws:elasticache:us-east-1:123456789012:user:jobs",
        ])
    );
    let names: Vec<&str> = desired.parameters.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"/demo/replication_group_id") && names.contains(&"/demo/region"));
    let read = desired.policies[0]
        .document
        .value()
        .cloned()
        .expect("known");
    assert_eq!(
        read["Statement"].as_array().map(Vec::len),
        Some(2),
        "no secrets to read"
    );
}

#[test]
fn unknown_arns_make_the_document_known_after_apply() {
    let document = document::read_connection(
        &scope(),
        &[],
        &[Known::AfterApply],
        &Known::Value(KEY.into()),
    );
    assert_eq!(document, Known::AfterApply);
}

#[test]
fn an_applied_stack_plans_nothing() {
    for extra in [
        "",
        "auth: {mode: rbac, users: [{name: app}]}\noutputs: {attach_to_roles: [app-role]}\n",
    ] {
        let desired = desired(extra);
        let plan = diff(&desired, &Observed::as_applied(&desired)).expect("plans");
        assert!(!plan.has_writes(), "{extra}: {:?}", plan.ops);
    }
}

#[test]
fn a_changed_endpoint_or_an_edited_value_is_written_again() {
    let desired = desired("");
    let mut observed = Observed::as_applied(&desired);
    if let Some(port) = observed.parameters.get_mut("/demo/port") {
        port.value = "6380".into();
    }
    let plan = diff(&desired, &observed).expect("plans");
    assert_eq!(
        plan.ops,
        [Op::PutParameter {
            name: "/demo/port".into(),
            value: Known::Value("6379".into()),
            secure_with: Some(Known::Value(KEY.into())),
            tags: None,
        }]
    );
}

#[test]
fn a_parameter_turned_plain_is_written_anew() {
    let desired = desired("outputs: {ssm_secure: false}\n");
    let secure = self::desired("");
    let plan = diff(&desired, &Observed::as_applied(&secure)).expect("plans");
    assert!(matches!(&plan.ops[0], Op::DeleteParameters { names } if names.len() == 1));
    assert!(matches!(
        &plan.ops[1],
        Op::PutParameter {
            secure_with: None,
            tags: Some(_),
            ..
        }
    ));
}

#[test]
fn only_parameters_we_write_are_deleted_from_the_prefix() {
    assert!(parameter_names::is_ours("port"));
    assert!(parameter_names::is_ours("users/app/secret_arn"));
    assert!(!parameter_names::is_ours("database_url"));
    assert!(!parameter_names::is_ours("users/app/extra/secret_arn"));
}

#[test]
fn an_edited_policy_gets_a_new_default_version() {
    let desired = desired("");
    let mut observed = Observed::as_applied(&desired);
    let policy = observed
        .policies
        .get_mut("demo-read-connection")
        .expect("policy");
    if let ObservedDocument::Read(document) = &mut policy.document {
        document["Statement"][0]["Resource"] = json!("*");
    }
    let plan = diff(&desired, &observed).expect("plans");
    let arn = "arn:aws:iam::123456789012:policy/demo-read-connection".to_owned();
    // Making room at five versions is the write's own business (the emulator test
    // `a_policy_at_five_versions_still_takes_a_change`).
    assert_eq!(
        plan.ops,
        [Op::CreatePolicyVersion {
            arn,
            document: desired.policies[0].document.clone()
        }]
    );
}

/// The policy as a plan finds it when the tag says the default version is the one
/// written, holding a document with `digest`.
fn written(desired: &Desired, digest: String) -> Observed {
    let mut observed = Observed::as_applied(desired);
    if let Some(policy) = observed.policies.get_mut("demo-read-connection") {
        policy.document = ObservedDocument::Written {
            version: "v2".into(),
            digest,
        };
    }
    observed
}

#[test]
fn a_policy_whose_tag_matches_the_wanted_document_is_unchanged_unread() {
    let desired = desired("");
    let wanted = desired.policies[0].document.value().expect("known").clone();
    let observed = written(&desired, crate::document::digest(&wanted));
    let plan = diff(&desired, &observed).expect("plans");
    assert!(plan.ops.is_empty(), "{:?}", plan.ops);
}

#[test]
fn a_policy_whose_tag_records_another_document_gets_a_new_version() {
    let desired = desired("");
    let observed = written(&desired, crate::document::digest(&json!({"Statement": []})));
    let plan = diff(&desired, &observed).expect("plans");
    assert!(
        matches!(plan.ops[..], [Op::CreatePolicyVersion { .. }]),
        "{:?}",
        plan.ops
    );
}

#[test]
fn role_attachment_drift_is_corrected_both_ways() {
    let desired = desired("outputs: {attach_to_roles: [app-role]}\n");
    let mut observed = Observed::as_applied(&desired);
    if let Some(policy) = observed.policies.get_mut("demo-read-connection") {
        policy.roles = vec!["intruder-role".into()];
    }
    let plan = diff(&desired, &observed).expect("plans");
    let arn = "arn:aws:iam::123456789012:policy/demo-read-connection".to_owned();
    assert_eq!(
        plan.ops,
        [
            Op::Attach {
                arn: arn.clone(),
                role: "app-role".into()
            },
            Op::Detach {
                arn,
                role: "intruder-role".into()
            }
        ]
    );
}

#[test]
fn destroy_detaches_then_deletes_the_policy() {
    let desired = desired("outputs: {attach_to_roles: [app-role]}\n");
    let observed = Observed::as_applied(&desired);
    let plan = diff_destroy(&desired, &observed);
    let arn = "arn:aws:iam::123456789012:policy/demo-read-connection".to_owned();
    assert!(matches!(&plan.ops[0], Op::DeleteParameters { names } if names.len() == 4));
    assert_eq!(
        plan.ops[1..],
        [
            Op::Detach {
                arn: arn.clone(),
                role: "app-role".into()
            },
            Op::DeletePolicy { arn }
        ]
    );
}

#[test]
fn policies_off_removes_ours() {
    let before = desired("");
    let after = desired("outputs: {iam_policies: false}\n");
    let plan = diff(&after, &Observed::as_applied(&before)).expect("plans");
    assert_eq!(
        plan.ops.last(),
        Some(&Op::DeletePolicy {
            arn: "arn:aws:iam::123456789012:policy/demo-read-connection".into()
        })
    );
}

#[test]
fn stored_documents_are_read_url_encoded_or_plain() {
    let plain = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A+B","Effect":"Allow"}]}"#;
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Sid%22%3A%22A%2BB%22%2C%22Effect%22%3A%22Allow%22%7D%5D%7D";
    assert_eq!(
        document::parse_stored(plain),
        document::parse_stored(encoded)
    );
    assert_eq!(
        document::parse_stored(plain).expect("JSON")["Statement"][0]["Sid"],
        "A+B"
    );
}
