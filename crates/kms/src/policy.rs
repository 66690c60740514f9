//! The stack key's policy, and comparing policies as documents rather than text.

use serde_json::{Value, json};
use spec::names::Scope;

/// The key policy the stack wants:
/// 1. the account root administers the key (otherwise it can become unmanageable);
/// 2. CloudWatch Logs may use it, only for this stack's log groups;
/// 3. principals of the account may use it only through ElastiCache, Secrets Manager
///    and SSM, which create grants on their behalf.
pub fn key_policy(stack: &str, scope: &Scope, log_group_arns: &[String]) -> Value {
    let root = scope.account_root();
    let mut statements = vec![json!({
        "Sid": "AccountAdministersKey",
        "Effect": "Allow",
        "Principal": { "AWS": root },
        "Action": "kms:*",
        "Resource": "*"
    })];
    if !log_group_arns.is_empty() {
        statements.push(json!({
            "Sid": "CloudWatchLogsForStackLogGroups",
            "Effect": "Allow",
            "Principal": { "Service": scope.service_host("logs") },
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": { "ArnLike": { "kms:EncryptionContext:aws:logs:arn": log_group_arns } }
        }));
    }
    statements.push(json!({
        "Sid": "AccountUsesKeyThroughStackServices",
        "Effect": "Allow",
        "Principal": { "AWS": root },
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:ListGrants", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:CallerAccount": scope.account,
                "kms:ViaService": [
                    scope.service_host("elasticache"),
                    scope.service_host("secretsmanager"),
                    scope.service_host("ssm")
                ]
            }
        }
    }));
    json!({ "Version": "2012-10-17", "Id": format!("{stack}-key-policy"), "Statement": statements })
}

/// A policy in a canonical form: arrays sorted, one-element arrays as their element, so
/// that the order of statements, actions or principals never shows as a difference.
pub fn normalize(policy: &Value) -> Value {
    match policy {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalize).collect();
            items.sort_by_key(|item| item.to_string());
            items.dedup();
            if items.len() == 1 {
                items.remove(0)
            } else {
                Value::Array(items)
            }
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

/// Whether two policies mean the same, statement for statement.
pub fn same_policy(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

/// The statements as a plan shows them: one compact, canonical JSON text each.
pub fn statements_for_plan(policy: &Value) -> plan::Value {
    plan::Value::List(
        statements(&normalize(policy))
            .iter()
            .map(|s| plan::Value::Text(s.to_string()))
            .collect(),
    )
}

/// The statements' ids, for showing a policy that is created whole.
pub fn statement_ids(policy: &Value) -> plan::Value {
    plan::Value::List(
        statements(policy)
            .iter()
            .map(|s| {
                let sid = s.get("Sid").and_then(Value::as_str);
                plan::Value::Text(sid.unwrap_or("(no Sid)").to_owned())
            })
            .collect(),
    )
}

/// A policy's statements: IAM allows one statement object as well as a list.
fn statements(policy: &Value) -> Vec<Value> {
    match policy.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(single) => vec![single.clone()],
        None => Vec::new(),
    }
}

/// Whether a policy lets CloudWatch Logs in this region use the key, which encrypted log
/// groups need.
pub fn allows_cloudwatch_logs(policy: &Value, scope: &Scope) -> bool {
    let service = scope.service_host("logs");
    let statements = match normalize(policy).get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(single) => vec![single.clone()],
        None => Vec::new(),
    };
    statements.iter().any(|s| {
        s.get("Effect") == Some(&json!("Allow"))
            && match s.pointer("/Principal/Service") {
                Some(Value::String(name)) => *name == service,
                Some(Value::Array(names)) => names.contains(&json!(service)),
                _ => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope::new("111122223333", "eu-west-1")
    }

    #[test]
    fn order_does_not_matter_content_does() {
        let policy = key_policy("demo", &scope(), &["arn:a".into(), "arn:b".into()]);
        let mut shuffled = policy.clone();
        if let Some(Value::Array(statements)) = shuffled.get_mut("Statement") {
            statements.reverse();
            if let Some(Value::Array(actions)) = statements[0].get_mut("Action") {
                actions.reverse();
            }
        }
        assert!(same_policy(&policy, &shuffled));
        let mut widened = policy.clone();
        widened["Statement"][0]["Principal"]["AWS"] = json!("*");
        assert!(!same_policy(&policy, &widened));
    }

    #[test]
    fn a_single_element_array_equals_its_element() {
        assert_eq!(
            normalize(&json!({"Action": ["kms:*"]})),
            json!({"Action": "kms:*"})
        );
    }

    #[test]
    fn the_policy_has_no_wildcard_principal_and_scopes_logs_to_the_stack() {
        let policy = key_policy(
            "demo",
            &scope(),
            &["arn:aws:logs:eu-west-1:111122223333:log-group:/x".into()],
        );
        let text = policy.to_string();
        assert!(!text.contains(r#""AWS":"*""#));
        assert!(text.contains("logs.eu-west-1.amazonaws.com"));
        assert!(text.contains("kms:EncryptionContext:aws:logs:arn"));
        assert!(text.contains("elasticache.eu-west-1.amazonaws.com"));
        assert!(allows_cloudwatch_logs(&policy, &scope()));
        assert!(!allows_cloudwatch_logs(
            &key_policy("demo", &scope(), &[]),
            &scope()
        ));
    }
}
