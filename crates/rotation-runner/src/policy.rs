//! The role's trust and permission documents, from exact ARNs.

use plan::Known;
use serde_json::{Value, json};
use spec::names::Scope;

/// Who may assume the function's role: Lambda, on behalf of this account only.
pub fn trust(account: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "lambda.amazonaws.com" },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "aws:SourceAccount": account } }
        }]
    })
}

/// What the permissions name: outputs of earlier steps and deterministic names.
#[derive(Debug, Clone, PartialEq)]
pub struct Arns {
    /// The credential secrets' ARNs.
    pub secrets: Vec<Known<String>>,
    /// The stack key.
    pub key: Known<String>,
    /// The replication group id.
    pub replication_group: String,
    /// The RBAC user ids (empty for an AUTH token).
    pub users: Vec<String>,
    /// The function's log group name.
    pub log_group: String,
    /// The stack's subnets, where Lambda makes the function's network interfaces.
    pub subnets: Known<Vec<String>>,
    /// The stack's VPC (the policy waits for it: interfaces are made once it exists).
    pub vpc: Known<String>,
    /// The cache's security group, which the interfaces join.
    pub security_group: Known<String>,
}

/// The function's permissions: exactly what the rotation engine calls, on the stack's
/// resources. Unknown until every ARN is known.
pub fn permissions(scope: &Scope, arns: &Arns) -> Known<Value> {
    let secrets: Option<Vec<String>> = arns.secrets.iter().map(|a| a.value().cloned()).collect();
    let (
        Some(secrets),
        Known::Value(key),
        Known::Value(subnets),
        Known::Value(_),
        Known::Value(group),
    ) = (
        secrets,
        &arns.key,
        &arns.subnets,
        &arns.vpc,
        &arns.security_group,
    )
    else {
        return Known::AfterApply;
    };
    let arn = |service: &str, resource: String| {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            scope.partition, scope.region, scope.account
        )
    };
    let mut cache = vec![arn(
        "elasticache",
        format!("replicationgroup:{}", arns.replication_group),
    )];
    cache.extend(
        arns.users
            .iter()
            .map(|id| arn("elasticache", format!("user:{id}"))),
    );
    let mut interface_targets = vec![
        arn("ec2", "network-interface/*".to_owned()),
        arn("ec2", format!("security-group/{group}")),
    ];
    interface_targets.extend(subnets.iter().map(|s| arn("ec2", format!("subnet/{s}"))));
    let log_group = arn("logs", format!("log-group:{}", arns.log_group));
    Known::Value(json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RotateTheStacksSecrets",
                "Effect": "Allow",
                "Action": [
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:ListSecretVersionIds",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                    "secretsmanager:TagResource"
                ],
                "Resource": secrets,
            },
            {
                "Sid": "UseTheStackKeyThroughSecretsManager",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key,
                "Condition": { "StringEquals": { "kms:ViaService": scope.service_host("secretsmanager") } }
            },
            {
                "Sid": "ChangeTheStacksCredentials",
                "Effect": "Allow",
                "Action": [
                    "elasticache:DescribeReplicationGroups",
                    "elasticache:ModifyReplicationGroup",
                    "elasticache:DescribeUsers",
                    "elasticache:ModifyUser"
                ],
                "Resource": cache,
            },
            {
                "Sid": "WriteItsLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group.clone(), format!("{log_group}:log-stream:*")],
            },
            {
                "Sid": "NetworkInterfacesInTheStacksSubnets",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": interface_targets,
            },
            {
                "Sid": "ItsOwnNetworkInterfaces",
                "Effect": "Allow",
                "Action": [
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses"
                ],
                // No `ec2:Vpc` condition: Lambda checks these permissions when the function
                // is made without a VPC in the request's context, and would refuse it.
                "Resource": arn("ec2", "network-interface/*".to_owned()),
            },
            {
                // EC2's Describe calls have no resource ARN: `*` is the only form IAM takes.
                "Sid": "DescribeNetworkInterfaces",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                "Resource": "*",
            }
        ]
    }))
}
