//! Reading what exists, by name and the stack tag, all at once.

use std::collections::BTreeMap;

use aws_error::{absent_if, aws_error};
use aws_sdk_ec2::types::Filter;
use futures::future::try_join_all;
use futures::try_join;

use crate::model::*;
use crate::{Runner, RunnerError};

impl Runner {
    /// Reads the role, the function, the endpoints and each desired secret's rotation
    /// configuration.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, RunnerError> {
        let (deployment, rotations) = try_join!(self.observe_deployment(desired), async {
            self.rotations(desired).await
        })?;
        Ok(Observed {
            rotations,
            ..deployment
        })
    }

    /// Reads all but the rotation configurations, which a plan takes from the secrets
    /// step's listing ([`secrets::RotationSeen::automatic`]).
    pub async fn observe_deployment(&self, desired: &Desired) -> Result<Observed, RunnerError> {
        let (role, function, (endpoint_group, endpoints)) = try_join!(
            self.role(&desired.name),
            self.function(&desired.name),
            self.endpoints(desired),
        )?;
        Ok(Observed {
            role,
            function,
            endpoint_group,
            endpoints,
            rotations: BTreeMap::new(),
        })
    }

    async fn role(&self, name: &str) -> Result<Option<ObservedRole>, RunnerError> {
        let role = async {
            let result = self.iam.get_role().role_name(name).send().await;
            absent_if(result, "GetRole", |e| e.is_no_such_entity_exception())
        };
        let policy = async {
            let result = (self.iam.get_role_policy())
                .role_name(name)
                .policy_name(name)
                .send()
                .await;
            absent_if(result, "GetRolePolicy", |e| e.is_no_such_entity_exception())
        };
        let (role, policy) = try_join!(role, policy)?;
        let Some(role) = role.and_then(|output| output.role) else {
            return Ok(None);
        };
        let policy = match policy {
            Some(output) => Some(
                policies::document::parse_stored(output.policy_document()).ok_or_else(|| {
                    RunnerError::UnreadableDocument(format!("role policy {name}"))
                })?,
            ),
            None => None,
        };
        Ok(Some(ObservedRole {
            arn: role.arn().to_owned(),
            trust: role
                .assume_role_policy_document()
                .and_then(policies::document::parse_stored),
            policy,
            tags: plan::tags::from_pairs(
                role.tags().iter().map(|t| (Some(t.key()), Some(t.value()))),
            ),
        }))
    }

    async fn function(&self, name: &str) -> Result<Option<ObservedFunction>, RunnerError> {
        let function = async {
            let result = self.lambda.get_function().function_name(name).send().await;
            absent_if(result, "GetFunction", |e| {
                e.is_resource_not_found_exception()
            })
        };
        let policy = async {
            let result = self.lambda.get_policy().function_name(name).send().await;
            absent_if(result, "GetPolicy", |e| e.is_resource_not_found_exception())
        };
        let (function, policy) = try_join!(function, policy)?;
        let Some(function) = function else {
            return Ok(None);
        };
        let invokable = policy
            .and_then(|p| p.policy)
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|doc| doc["Statement"].as_array().cloned())
            .is_some_and(|statements| statements.iter().any(|s| s["Sid"] == INVOKE_STATEMENT));
        let tags: Tags = function
            .tags
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let Some(config) = function.configuration else {
            return Ok(None);
        };
        let vpc = config.vpc_config.as_ref();
        Ok(Some(ObservedFunction {
            arn: config.function_arn.clone().unwrap_or_default(),
            code_sha256: config.code_sha256.clone().unwrap_or_default(),
            architecture: config
                .architectures()
                .first()
                .map_or("x86_64", |a| a.as_str())
                .to_owned(),
            runtime: config
                .runtime
                .as_ref()
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            role: config.role.clone().unwrap_or_default(),
            environment: config
                .environment
                .as_ref()
                .and_then(|e| e.variables.clone())
                .unwrap_or_default()
                .into_iter()
                .collect(),
            subnet_ids: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
            security_group_ids: vpc
                .map(|v| v.security_group_ids().to_vec())
                .unwrap_or_default(),
            timeout: config.timeout.unwrap_or_default(),
            memory: config.memory_size.unwrap_or_default(),
            tags,
            invokable,
        }))
    }

    async fn endpoints(
        &self,
        desired: &Desired,
    ) -> Result<(Option<ObservedEndpointGroup>, Vec<ObservedEndpoint>), RunnerError> {
        let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
        let stack_tag = format!("tag:{}", spec::STACK_TAG);
        let group_name = format!("{}-endpoints", desired.stack);
        let groups = self
            .ec2
            .describe_security_groups()
            .filters(filter("group-name", &group_name))
            .filters(filter(&stack_tag, &desired.stack))
            .send();
        let endpoints = self
            .ec2
            .describe_vpc_endpoints()
            .filters(filter(&stack_tag, &desired.stack))
            .send();
        let (groups, endpoints) = try_join!(
            async { groups.await.map_err(aws_error("DescribeSecurityGroups")) },
            async { endpoints.await.map_err(aws_error("DescribeVpcEndpoints")) },
        )?;
        let group = groups
            .security_groups()
            .first()
            .map(|group| ObservedEndpointGroup {
                id: group.group_id().unwrap_or_default().to_owned(),
                admitted: group
                    .ip_permissions()
                    .iter()
                    .filter(|p| p.from_port() == Some(443))
                    .flat_map(|p| p.user_id_group_pairs())
                    .filter_map(|pair| pair.group_id().map(str::to_owned))
                    .collect(),
            });
        let gone =
            |state: &str| matches!(state.to_ascii_lowercase().as_str(), "deleted" | "deleting");
        let endpoints = endpoints
            .vpc_endpoints()
            .iter()
            .filter(|e| !e.state().is_some_and(|s| gone(s.as_str())))
            .map(|e| ObservedEndpoint {
                id: e.vpc_endpoint_id().unwrap_or_default().to_owned(),
                service: e.service_name().unwrap_or_default().to_owned(),
            })
            .collect();
        Ok((group, endpoints))
    }

    async fn rotations(
        &self,
        desired: &Desired,
    ) -> Result<BTreeMap<String, AutomaticRotation>, RunnerError> {
        let reads = desired.rotations.iter().map(|rotation| async move {
            let result = self
                .secrets
                .describe_secret()
                .secret_id(&rotation.secret)
                .send()
                .await;
            let found = absent_if(result, "DescribeSecret", |e| {
                e.is_resource_not_found_exception()
            })?;
            Ok::<_, RunnerError>(found.map(|output| {
                let rotation_seen = AutomaticRotation::of(
                    output.rotation_enabled(),
                    output.rotation_lambda_arn(),
                    output.rotation_rules(),
                );
                (rotation.secret.clone(), rotation_seen)
            }))
        });
        Ok(try_join_all(reads).await?.into_iter().flatten().collect())
    }
}
