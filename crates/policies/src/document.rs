//! The policy documents, built from exact ARNs, and how IAM's stored form is read back.

use percent_encoding::percent_decode_str;
use plan::Known;
use serde_json::{Value, json};
use spec::names::Scope;

/// The SHA-256 of a document's compact JSON (keys sorted), in hex: what
/// [`crate::DOCUMENT_TAG`] records.
pub fn digest(document: &Value) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(document.to_string().as_bytes());
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The [`crate::DOCUMENT_TAG`] value for a version holding `document`.
pub fn document_tag(version: &str, document: &Value) -> String {
    format!("{version}:{}", digest(document))
}

/// The ARN of an SSM parameter named `name` (which starts with `/`).
pub fn parameter_arn(scope: &Scope, name: &str) -> String {
    format!(
        "arn:{}:ssm:{}:{}:parameter/{}",
        scope.partition,
        scope.region,
        scope.account,
        name.trim_start_matches('/')
    )
}

/// `<stack>-read-connection`: the parameters, the secrets, and the key only through SSM
/// and Secrets Manager. Unknown until every ARN in it is known.
pub fn read_connection(
    scope: &Scope,
    parameter_arns: &[String],
    secret_arns: &[Known<String>],
    key_arn: &Known<String>,
) -> Known<Value> {
    let (Some(secrets), Known::Value(key)) = (
        secret_arns
            .iter()
            .map(|arn| arn.value().cloned())
            .collect::<Option<Vec<String>>>(),
        key_arn,
    ) else {
        return Known::AfterApply;
    };
    let mut statements = vec![json!({
        "Sid": "ReadConnectionParameters",
        "Effect": "Allow",
        "Action": ["ssm:GetParameter", "ssm:GetParameters"],
        "Resource": parameter_arns,
    })];
    if !secrets.is_empty() {
        statements.push(json!({
            "Sid": "ReadCredentials",
            "Effect": "Allow",
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Resource": secrets,
        }));
    }
    statements.push(json!({
        "Sid": "DecryptThroughSsmAndSecretsManager",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": key,
        "Condition": {
            "StringEquals": {
                "kms:ViaService": [scope.service_host("secretsmanager"), scope.service_host("ssm")]
            }
        }
    }));
    Known::Value(json!({ "Version": "2012-10-17", "Statement": statements }))
}

/// `<stack>-connect`: `elasticache:Connect` on the replication group and each IAM user
/// (IAM authentication needs both).
pub fn connect(scope: &Scope, replication_group_id: &str, user_ids: &[String]) -> Value {
    let arn = |kind: &str, id: &str| {
        format!(
            "arn:{}:elasticache:{}:{}:{kind}:{id}",
            scope.partition, scope.region, scope.account
        )
    };
    let mut resources = vec![arn("replicationgroup", replication_group_id)];
    resources.extend(user_ids.iter().map(|id| arn("user", id)));
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ConnectWithIamAuthentication",
            "Effect": "Allow",
            "Action": "elasticache:Connect",
            "Resource": resources,
        }]
    })
}

/// A document as IAM returns it: URL-encoded on AWS, plain on some emulators.
/// Percent-decoding (not form-decoding: `+` stays `+`) handles both.
pub fn parse_stored(text: &str) -> Option<Value> {
    let decoded = percent_decode_str(text).decode_utf8().ok()?;
    serde_json::from_str(&decoded).ok()
}

/// One line per statement, for plans: `Sid: actions on resources`.
pub fn statements(document: &Value) -> Vec<String> {
    let list = |value: &Value| match value {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(text) => text.clone(),
        _ => String::new(),
    };
    document["Statement"]
        .as_array()
        .map(|statements| {
            statements
                .iter()
                .map(|s| {
                    format!(
                        "{}: {} on {}",
                        s["Sid"].as_str().unwrap_or("(no Sid)"),
                        list(&s["Action"]),
                        list(&s["Resource"])
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
