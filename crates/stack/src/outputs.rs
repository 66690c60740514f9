//! What a stack hands to applications and later steps.

use cluster::ClusterOutputs;
use network::NetworkOutputs;
use plan::Known;
use policies::PoliciesOutputs;

/// What a stack hands to applications and later steps after apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutputs {
    /// The network's ids.
    pub network: NetworkOutputs,
    /// The stack key's ARN.
    pub kms_key_arn: Known<String>,
    /// `(log type, group name)` per enabled log type.
    pub log_groups: Vec<(&'static str, String)>,
    /// `(secret name, ARN)` per secret.
    pub secrets: Vec<(String, Known<String>)>,
    /// `(secret name, when it was last rotated)` per rotated secret.
    pub last_rotated: Vec<(String, std::time::SystemTime)>,
    /// The replication group's id, ARN and endpoints.
    pub cluster: ClusterOutputs,
    /// The SSM parameters and IAM policies.
    pub policies: PoliciesOutputs,
    /// The rotation function, with `runner: lambda`.
    pub rotation: rotation_runner::RunnerOutputs,
}

impl StackOutputs {
    /// The outputs as name and value pairs, for display. Unknown values are left out;
    /// none is secret.
    pub fn entries(&self) -> Vec<(String, String)> {
        let network = &self.network;
        let mut entries = Vec::new();
        let mut push = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                entries.push((name.to_owned(), value));
            }
        };
        push("vpc_id", network.vpc_id.value().cloned());
        push(
            "subnet_ids",
            network.subnet_ids.value().map(|ids| ids.join(",")),
        );
        push("cache_subnet_group", Some(network.subnet_group.clone()));
        push(
            "security_group_id",
            network.security_group_id.value().cloned(),
        );
        push("kms_key_arn", self.kms_key_arn.value().cloned());
        for (log_type, group) in &self.log_groups {
            push(
                &format!("{}_group", log_type.replace('-', "_")),
                Some(group.clone()),
            );
        }
        for (name, arn) in &self.secrets {
            push(&format!("secret_arn[{name}]"), arn.value().cloned());
        }
        for (name, at) in &self.last_rotated {
            let at = humantime::format_rfc3339_seconds(*at).to_string();
            push(&format!("last_rotated[{name}]"), Some(at));
        }
        let cluster = &self.cluster;
        push(
            "replication_group_id",
            Some(cluster.replication_group_id.clone()),
        );
        push("replication_group_arn", cluster.arn.value().cloned());
        if let Some(endpoints) = cluster.endpoints.value() {
            push("primary_endpoint", endpoints.primary.clone());
            push("reader_endpoint", endpoints.reader.clone());
            push("configuration_endpoint", endpoints.configuration.clone());
        }
        push("port", Some(cluster.port.to_string()));
        if !cluster.user_ids.is_empty() {
            push("user_ids", Some(cluster.user_ids.join(",")));
        }
        if !self.policies.parameters.is_empty() {
            push("ssm_parameters", Some(self.policies.parameters.join(",")));
        }
        for (name, arn) in &self.policies.policies {
            push(&format!("policy_arn[{name}]"), Some(arn.clone()));
        }
        let function = self.rotation.function_arn.as_ref();
        push(
            "rotation_function_arn",
            function.and_then(|arn| arn.value().cloned()),
        );
        push("rotation_schedule", self.rotation.schedule.clone());
        entries
    }
}
