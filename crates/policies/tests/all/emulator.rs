//! Against moto: parameters and policies created, left alone, repaired after
//! out-of-band edits, attached to roles, and destroyed. (moto deletes attached policies
//! that AWS refuses to; the detach-then-delete order is asserted on the plan in the
//! unit tests.)

use cluster::{ClusterOutputs, Endpoints};
use plan::Known;
use policies::*;
use spec::names::Scope;
use test_support::{Account, Emulator};

struct Fixture {
    account: Account,
    policies: Policies,
    iam: aws_sdk_iam::Client,
    ssm: aws_sdk_ssm::Client,
    key: String,
}

impl Fixture {
    async fn new(test: &str) -> Fixture {
        let account = Emulator::account(test).await;
        let key = aws_sdk_kms::Client::new(&account.config)
            .create_key()
            .send()
            .await
            .expect("a key")
            .key_metadata
            .map(|k| k.arn.unwrap_or_default())
            .unwrap_or_default();
        let iam = aws_sdk_iam::Client::new(&account.config);
        let ssm = aws_sdk_ssm::Client::new(&account.config);
        Fixture {
            policies: Policies::new(ssm.clone(), iam.clone()),
            iam,
            ssm,
            key,
            account,
        }
    }

    fn desired(&self, extra: &str) -> Desired {
        let source = test_support::spec_source("demo", extra);
        let spec = spec::parse(&source, "emulator.yaml").expect("valid spec");
        let inputs = Inputs {
            scope: Scope::new(&self.account.id, "us-east-1"),
            kms_key_arn: Known::Value(self.key.clone()),
            secrets: vec![(
                "demo/auth-token".into(),
                Known::Value(format!(
                    "arn:aws:secretsmanager:us-east-1:{}:secret:demo/auth-token-AbCdEf",
                    self.account.id
                )),
            )],
            cluster: ClusterOutputs {
                replication_group_id: "demo".into(),
                arn: Known::AfterApply,
                endpoints: Known::Value(Endpoints {
                    primary: Some("master.demo.cache.amazonaws.com".into()),
                    ..Endpoints::default()
                }),
                port: 6379,
                user_ids: Vec::new(),
            },
        };
        Desired::from_spec(&spec, &inputs)
    }

    async fn converge(&self, desired: &Desired) {
        let observed = self.policies.observe(desired).await.expect("observes");
        let plan = diff(desired, &observed).expect("plans");
        self.policies.apply(&plan).await.expect("applies");
        let observed = self.policies.observe(desired).await.expect("observes");
        let again = diff(desired, &observed).expect("plans");
        assert!(!again.has_writes(), "{:#?}", again.changes);
    }

    async fn role(&self, name: &str) {
        self.iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .send()
            .await
            .expect("a role");
    }

    async fn attached(&self, role: &str) -> Vec<String> {
        self.iam
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await
            .expect("lists")
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_name().map(str::to_owned))
            .collect()
    }
}

#[tokio::test]
async fn parameters_and_policy_are_created_and_out_of_band_edits_repaired() {
    let fixture = Fixture::new("policies_repair").await;
    let desired = fixture.desired("");
    fixture.converge(&desired).await;
    let port = fixture
        .ssm
        .get_parameter()
        .name("/demo/port")
        .with_decryption(true)
        .send()
        .await
        .expect("the port parameter")
        .parameter
        .expect("parameter");
    assert_eq!(port.value(), Some("6379"));
    assert_eq!(port.r#type().map(|t| t.as_str()), Some("SecureString"));

    // Someone edits the parameter and widens the policy by hand.
    fixture
        .ssm
        .put_parameter()
        .name("/demo/port")
        .value("1")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .key_id(&fixture.key)
        .overwrite(true)
        .send()
        .await
        .expect("edited");
    let arn = format!(
        "arn:aws:iam::{}:policy/demo-read-connection",
        fixture.account.id
    );
    fixture
        .iam
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:*","Resource":"*"}]}"#,
        )
        .set_as_default(true)
        .send()
        .await
        .expect("widened");
    let observed = fixture.policies.observe(&desired).await.expect("observes");
    let plan = diff(&desired, &observed).expect("plans");
    let updated: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action == plan::Action::Update)
        .map(|c| c.resource.to_string())
        .collect();
    assert_eq!(
        updated,
        [
            "ssm_parameter /demo/port",
            "iam_policy demo-read-connection"
        ]
    );
    fixture.converge(&desired).await;
}

#[tokio::test]
async fn a_policy_at_five_versions_still_takes_a_change() {
    let fixture = Fixture::new("policies_versions").await;
    let desired = fixture.desired("outputs: {ssm_secure: false}\n");
    fixture.converge(&desired).await;
    let arn = format!(
        "arn:aws:iam::{}:policy/demo-read-connection",
        fixture.account.id
    );
    for n in 0..4 {
        fixture
            .iam
            .create_policy_version()
            .policy_arn(&arn)
            .policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S{n}","Effect":"Deny","Action":"ssm:GetParameter","Resource":"arn:aws:ssm:us-east-1:{}:parameter/x"}}]}}"#,
                fixture.account.id
            ))
            .set_as_default(true)
            .send()
            .await
            .expect("a version");
    }
    fixture.converge(&desired).await;
    let versions = fixture
        .iam
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .expect("lists");
    assert_eq!(versions.versions().len(), 5);
}

#[tokio::test]
async fn policies_follow_the_roles_in_the_spec_and_destroy_removes_everything() {
    let fixture = Fixture::new("policies_roles").await;
    fixture.role("app-role").await;
    fixture.role("other-role").await;
    let desired = fixture.desired("outputs: {attach_to_roles: [app-role]}\n");
    fixture.converge(&desired).await;
    assert_eq!(fixture.attached("app-role").await, ["demo-read-connection"]);

    // Attached to another role by hand: detached again. Our policy only.
    let arn = format!(
        "arn:aws:iam::{}:policy/demo-read-connection",
        fixture.account.id
    );
    fixture
        .iam
        .attach_role_policy()
        .role_name("other-role")
        .policy_arn(&arn)
        .send()
        .await
        .expect("attached");
    fixture.converge(&desired).await;
    assert!(fixture.attached("other-role").await.is_empty());

    let observed = fixture.policies.observe(&desired).await.expect("observes");
    fixture
        .policies
        .apply(&diff_destroy(&desired, &observed))
        .await
        .expect("destroys");
    let after = fixture.policies.observe(&desired).await.expect("observes");
    assert!(
        after.parameters.is_empty() && after.policies.is_empty(),
        "{after:?}"
    );
    assert!(fixture.attached("app-role").await.is_empty());
}
