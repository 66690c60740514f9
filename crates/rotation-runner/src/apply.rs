//! Performing a plan's operations, in order.

use std::time::Duration;

use aws_error::{absent_if, already_done, aws_error, create_once};
use aws_sdk_ec2::types::{Filter, IpPermission, ResourceType, UserIdGroupPair, VpcEndpointType};
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, LastUpdateStatus, Runtime, State, VpcConfig,
};
use aws_sdk_secretsmanager::types::RotationRulesType;
use plan::Known;
use tokio::time::{Instant, sleep};

use crate::diff::{Op, RUNTIME, RunnerOutputs, RunnerPlan};
use crate::model::*;
use crate::{Runner, RunnerError};

/// How long a function may take to become active, and endpoints' interfaces to go.
const READY_WITHIN: Duration = Duration::from_secs(600);

/// How long a new role or policy may take to reach Lambda (IAM is eventually
/// consistent): until then Lambda says it cannot assume the role, or that the role
/// lacks the network-interface permissions.
const ROLE_PROPAGATION: Duration = Duration::from_secs(120);

/// Between two looks at something that is not ready yet.
const POLL: Duration = Duration::from_secs(3);

/// Ids learned while applying.
#[derive(Default)]
struct Context {
    role_arn: Option<String>,
    function_arn: Option<String>,
    endpoint_group: Option<String>,
}

impl Context {
    fn role(&self) -> Result<String, RunnerError> {
        (self.role_arn.clone()).ok_or(RunnerError::Internal("no role for the function"))
    }
}

/// The package of a function, which a desired state built for apply always has.
fn package_of(function: &DesiredFunction) -> Result<&crate::package::Package, RunnerError> {
    (function.package.as_ref()).ok_or(RunnerError::Internal("no package for the function"))
}

impl Runner {
    /// Performs the plan.
    pub async fn apply(&self, plan: &RunnerPlan) -> Result<RunnerOutputs, RunnerError> {
        let observed = &plan.observed;
        let mut context = Context {
            role_arn: observed.role.as_ref().map(|r| r.arn.clone()),
            function_arn: observed.function.as_ref().map(|f| f.arn.clone()),
            endpoint_group: observed.endpoint_group.as_ref().map(|g| g.id.clone()),
        };
        for op in &plan.ops {
            tracing::debug!(op = op_name(op), "rotation runner operation");
            self.perform(op, &mut context).await?;
        }
        let mut outputs = plan.outputs.clone();
        if outputs.function_arn.is_some() {
            outputs.function_arn = Some(context.function_arn.into());
        }
        Ok(outputs)
    }

    /// Performs a destroy plan.
    pub async fn destroy(&self, plan: &RunnerPlan) -> Result<(), RunnerError> {
        self.apply(plan).await.map(drop)
    }

    async fn perform(&self, op: &Op, context: &mut Context) -> Result<(), RunnerError> {
        match op {
            Op::CreateRole { name, trust, tags } => {
                context.role_arn = Some(self.create_role(name, trust, tags).await?);
            }
            Op::UpdateTrust { name, trust } => {
                (self.iam.update_assume_role_policy())
                    .role_name(name)
                    .policy_document(trust.to_string())
                    .send()
                    .await
                    .map_err(aws_error("UpdateAssumeRolePolicy"))?;
            }
            Op::PutRolePolicy { name, document } => {
                let Known::Value(document) = document else {
                    return Err(RunnerError::Internal(
                        "the role's policy is unknown at apply",
                    ));
                };
                (self.iam.put_role_policy())
                    .role_name(name)
                    .policy_name(name)
                    .policy_document(document.to_string())
                    .send()
                    .await
                    .map_err(aws_error("PutRolePolicy"))?;
            }
            Op::CreateEndpointGroup { name, vpc_id, tags } => {
                let vpc_id = known(vpc_id, "the VPC id")?;
                context.endpoint_group = Some(self.create_group(name, vpc_id, tags).await?);
            }
            Op::AdmitClients { clients } => {
                let group = context
                    .endpoint_group
                    .as_deref()
                    .ok_or(RunnerError::Internal(
                        "no endpoint group to admit clients to",
                    ))?;
                self.admit(group, known(clients, "the cache's security group")?)
                    .await?;
            }
            Op::CreateEndpoint {
                service,
                vpc_id,
                subnet_ids,
                tags,
            } => {
                let group = context
                    .endpoint_group
                    .clone()
                    .ok_or(RunnerError::Internal("no endpoint group for the endpoint"))?;
                let vpc_id = known(vpc_id, "the VPC id")?;
                let subnets = known(subnet_ids, "the subnet ids")?;
                self.create_endpoint(service, vpc_id, subnets, &group, tags)
                    .await?;
            }
            Op::CreateFunction {
                function,
                name,
                tags,
            } => {
                let role = context.role()?;
                let arn = self.create_function(name, function, &role, tags).await?;
                context.function_arn = Some(arn);
                self.wait_ready(name).await?;
            }
            Op::UpdateCode { name, function } => {
                self.wait_ready(name).await?;
                self.update_code(name, function, context).await?;
                self.wait_ready(name).await?;
            }
            Op::UpdateConfiguration { name, function } => {
                let role = context.role()?;
                self.wait_ready(name).await?;
                self.update_configuration(name, function, &role).await?;
                self.wait_ready(name).await?;
            }
            Op::AddPermission { name, account } => {
                let added = (self.lambda.add_permission())
                    .function_name(name)
                    .statement_id(INVOKE_STATEMENT)
                    .action("lambda:InvokeFunction")
                    .principal("secretsmanager.amazonaws.com")
                    .source_account(account)
                    .send()
                    .await
                    .map_err(aws_error("AddPermission"));
                already_done(added, "ResourceConflictException")?;
            }
            Op::EnableRotation {
                secret,
                schedule,
                rotate_now,
            } => {
                let function = context
                    .function_arn
                    .clone()
                    .ok_or(RunnerError::Internal("no function to rotate with"))?;
                (self.secrets.rotate_secret())
                    .secret_id(secret)
                    .rotation_lambda_arn(function)
                    .rotation_rules(
                        RotationRulesType::builder()
                            .schedule_expression(schedule)
                            .build(),
                    )
                    .rotate_immediately(*rotate_now)
                    .send()
                    .await
                    .map_err(aws_error("RotateSecret"))?;
            }
            Op::DisableRotation { secret } => {
                (self.secrets.cancel_rotate_secret())
                    .secret_id(secret)
                    .send()
                    .await
                    .map_err(aws_error("CancelRotateSecret"))?;
            }
            Op::DeleteFunction { name } => {
                let result = self
                    .lambda
                    .delete_function()
                    .function_name(name)
                    .send()
                    .await;
                absent_if(result, "DeleteFunction", |e| {
                    e.is_resource_not_found_exception()
                })?;
            }
            Op::DeleteRole { name, with_policy } => self.delete_role(name, *with_policy).await?,
            Op::DeleteEndpoints { ids } => {
                (self.ec2.delete_vpc_endpoints())
                    .set_vpc_endpoint_ids(Some(ids.clone()))
                    .send()
                    .await
                    .map_err(aws_error("DeleteVpcEndpoints"))?;
            }
            Op::DeleteEndpointGroup { id } => self.delete_group(id).await?,
        }
        Ok(())
    }

    async fn create_role(
        &self,
        name: &str,
        trust: &serde_json::Value,
        tags: &Tags,
    ) -> Result<String, RunnerError> {
        let iam_tags = tags
            .iter()
            .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build());
        let created = (self.iam.create_role())
            .role_name(name)
            .description("Runs the rotation function of an ElastiCache stack")
            .assume_role_policy_document(trust.to_string())
            .set_tags(Some(
                iam_tags
                    .collect::<Result<_, _>>()
                    .map_err(|_| RunnerError::Internal("a tag without a key"))?,
            ))
            .send()
            .await
            .map_err(aws_error("CreateRole"));
        // A retry whose first answer was lost finds the role it made.
        if let Some(arn) = already_done(created, "EntityAlreadyExists")?
            .and_then(|output| output.role)
            .map(|role| role.arn)
        {
            return Ok(arn);
        }
        let role =
            (self.iam.get_role().role_name(name).send().await).map_err(aws_error("GetRole"))?;
        role.role
            .map(|role| role.arn)
            .ok_or(RunnerError::Internal("GetRole answered without the role"))
    }

    async fn delete_role(&self, name: &str, with_policy: bool) -> Result<(), RunnerError> {
        if with_policy {
            let result = (self.iam.delete_role_policy())
                .role_name(name)
                .policy_name(name)
                .send()
                .await;
            absent_if(result, "DeleteRolePolicy", |e| {
                e.is_no_such_entity_exception()
            })?;
        }
        let result = self.iam.delete_role().role_name(name).send().await;
        absent_if(result, "DeleteRole", |e| e.is_no_such_entity_exception())?;
        Ok(())
    }

    async fn create_group(
        &self,
        name: &str,
        vpc_id: &str,
        tags: &Tags,
    ) -> Result<String, RunnerError> {
        let create = || async {
            let output = (self.ec2.create_security_group())
                .group_name(name)
                .description("HTTPS to the Secrets Manager and ElastiCache endpoints of an ElastiCache stack")
                .vpc_id(vpc_id)
                .tag_specifications(network::ec2::tag_spec(ResourceType::SecurityGroup, tags))
                .customize()
                .config_override(network::ec2::sent_once())
                .send()
                .await
                .map_err(aws_error("CreateSecurityGroup"))?;
            Ok(output.group_id().unwrap_or_default().to_owned())
        };
        let find = || async {
            let found = (self.ec2.describe_security_groups())
                .filters(Filter::builder().name("group-name").values(name).build())
                .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
                .send()
                .await
                .map_err(aws_error("DescribeSecurityGroups"))?;
            Ok(found
                .security_groups()
                .first()
                .and_then(|g| g.group_id().map(str::to_owned)))
        };
        Ok(create_once(self.ec2.config().sleep_impl(), create, find).await?)
    }

    async fn admit(&self, group: &str, clients: &str) -> Result<(), RunnerError> {
        let permission = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(clients)
                    .description("the rotation function (in the cache's group)")
                    .build(),
            )
            .build();
        let authorized = (self.ec2.authorize_security_group_ingress())
            .group_id(group)
            .ip_permissions(permission)
            .send()
            .await
            .map_err(aws_error("AuthorizeSecurityGroupIngress"));
        already_done(authorized, "InvalidPermission.Duplicate")?;
        Ok(())
    }

    async fn create_endpoint(
        &self,
        service: &str,
        vpc_id: &str,
        subnets: &[String],
        group: &str,
        tags: &Tags,
    ) -> Result<(), RunnerError> {
        let create = || async {
            (self.ec2.create_vpc_endpoint())
                .vpc_endpoint_type(VpcEndpointType::Interface)
                .vpc_id(vpc_id)
                .service_name(service)
                .set_subnet_ids(Some(subnets.to_vec()))
                .security_group_ids(group)
                .private_dns_enabled(true)
                .tag_specifications(network::ec2::tag_spec(ResourceType::VpcEndpoint, tags))
                .customize()
                .config_override(network::ec2::sent_once())
                .send()
                .await
                .map_err(aws_error("CreateVpcEndpoint"))
                .map(drop)
        };
        let find = || async {
            let found = (self.ec2.describe_vpc_endpoints())
                .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
                .send()
                .await
                .map_err(aws_error("DescribeVpcEndpoints"))?;
            let exists = found.vpc_endpoints().iter().any(|e| {
                e.service_name() == Some(service)
                    && !e
                        .state()
                        .is_some_and(|s| s.as_str().eq_ignore_ascii_case("deleted"))
            });
            Ok(exists.then_some(()))
        };
        Ok(create_once(self.ec2.config().sleep_impl(), create, find).await?)
    }

    async fn delete_group(&self, id: &str) -> Result<(), RunnerError> {
        // The endpoints' interfaces go some time after the endpoints.
        let started = Instant::now();
        loop {
            let result = self.ec2.delete_security_group().group_id(id).send().await;
            match absent_if(result, "DeleteSecurityGroup", |e| {
                e.meta().code() == Some("InvalidGroup.NotFound")
            }) {
                Ok(_) => return Ok(()),
                Err(error)
                    if error.is("DependencyViolation") && started.elapsed() < READY_WITHIN =>
                {
                    sleep(POLL).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    async fn create_function(
        &self,
        name: &str,
        function: &DesiredFunction,
        role: &str,
        tags: &Tags,
    ) -> Result<String, RunnerError> {
        let package = package_of(function)?;
        let zip = package.bytes().await?;
        let mut tags = tags.clone();
        tags.insert(PACKAGE_TAG.to_owned(), package.identity());
        let started = Instant::now();
        loop {
            let created = (self.lambda.create_function())
                .function_name(name)
                .description("Rotates the credentials of an ElastiCache stack (elasticache-action)")
                .runtime(Runtime::from(RUNTIME))
                .handler("bootstrap")
                .role(role)
                .architectures(Architecture::from(function.architecture))
                .code(
                    FunctionCode::builder()
                        .zip_file(Blob::new(zip.clone()))
                        .build(),
                )
                .timeout(FUNCTION_TIMEOUT_SECONDS)
                .memory_size(FUNCTION_MEMORY_MB)
                .environment(environment(function))
                .vpc_config(vpc_config(function)?)
                .set_tags(Some(tags.clone().into_iter().collect()))
                .send()
                .await
                .map_err(aws_error("CreateFunction"));
            match created {
                Ok(output) => return Ok(output.function_arn.unwrap_or_default()),
                // A retry whose first answer was lost finds the function it made.
                Err(error) if error.is("ResourceConflictException") => {
                    return self.function_arn(name).await;
                }
                // A role IAM has just made (or its policy) has not reached Lambda yet.
                Err(error)
                    if error.is("InvalidParameterValueException")
                        && error.message.contains("role")
                        && started.elapsed() < ROLE_PROPAGATION =>
                {
                    sleep(POLL).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    async fn function_arn(&self, name: &str) -> Result<String, RunnerError> {
        Ok(self
            .configuration(name)
            .await?
            .function_arn
            .unwrap_or_default())
    }

    async fn configuration(
        &self,
        name: &str,
    ) -> Result<GetFunctionConfigurationOutput, RunnerError> {
        let request = self.lambda.get_function_configuration().function_name(name);
        Ok(request
            .send()
            .await
            .map_err(aws_error("GetFunctionConfiguration"))?)
    }

    async fn update_code(
        &self,
        name: &str,
        function: &DesiredFunction,
        context: &mut Context,
    ) -> Result<(), RunnerError> {
        let package = package_of(function)?;
        let zip = package.bytes().await?;
        let updated = (self.lambda.update_function_code())
            .function_name(name)
            .zip_file(Blob::new(zip))
            .architectures(Architecture::from(function.architecture))
            .send()
            .await
            .map_err(aws_error("UpdateFunctionCode"))?;
        let arn = updated.function_arn.unwrap_or_default();
        (self.lambda.tag_resource())
            .resource(&arn)
            .tags(PACKAGE_TAG, package.identity())
            .send()
            .await
            .map_err(aws_error("TagResource"))?;
        context.function_arn = Some(arn);
        Ok(())
    }

    async fn update_configuration(
        &self,
        name: &str,
        function: &DesiredFunction,
        role: &str,
    ) -> Result<(), RunnerError> {
        (self.lambda.update_function_configuration())
            .function_name(name)
            .runtime(Runtime::from(RUNTIME))
            .handler("bootstrap")
            .role(role)
            .timeout(FUNCTION_TIMEOUT_SECONDS)
            .memory_size(FUNCTION_MEMORY_MB)
            .environment(environment(function))
            .vpc_config(vpc_config(function)?)
            .send()
            .await
            .map_err(aws_error("UpdateFunctionConfiguration"))?;
        Ok(())
    }

    /// Waits until the function is active and not being updated (Lambda refuses
    /// another change meanwhile).
    async fn wait_ready(&self, name: &str) -> Result<(), RunnerError> {
        let started = Instant::now();
        loop {
            let found = self.configuration(name).await?;
            let state = found.state.clone().unwrap_or(State::Active);
            let updating = found.last_update_status == Some(LastUpdateStatus::InProgress);
            if state == State::Active && !updating {
                return Ok(());
            }
            if state == State::Failed || started.elapsed() >= READY_WITHIN {
                return Err(RunnerError::NotReady {
                    function: name.to_owned(),
                    state: format!(
                        "{}{}",
                        state.as_str(),
                        found
                            .state_reason
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ),
                    waited_seconds: started.elapsed().as_secs(),
                });
            }
            sleep(POLL).await;
        }
    }
}

fn environment(function: &DesiredFunction) -> Environment {
    Environment::builder()
        .set_variables(Some(function.environment.clone().into_iter().collect()))
        .build()
}

fn vpc_config(function: &DesiredFunction) -> Result<VpcConfig, RunnerError> {
    Ok(VpcConfig::builder()
        .set_subnet_ids(Some(known(&function.subnet_ids, "the subnet ids")?.clone()))
        .set_security_group_ids(Some(
            known(&function.security_group_ids, "the cache's security group")?.clone(),
        ))
        .build())
}

fn known<'a, T>(value: &'a Known<T>, what: &'static str) -> Result<&'a T, RunnerError> {
    value.value().ok_or(RunnerError::Internal(what))
}

fn op_name(op: &Op) -> &'static str {
    match op {
        Op::CreateRole { .. } => "CreateRole",
        Op::UpdateTrust { .. } => "UpdateAssumeRolePolicy",
        Op::PutRolePolicy { .. } => "PutRolePolicy",
        Op::CreateEndpointGroup { .. } => "CreateSecurityGroup",
        Op::AdmitClients { .. } => "AuthorizeSecurityGroupIngress",
        Op::CreateEndpoint { .. } => "CreateVpcEndpoint",
        Op::CreateFunction { .. } => "CreateFunction",
        Op::UpdateCode { .. } => "UpdateFunctionCode",
        Op::UpdateConfiguration { .. } => "UpdateFunctionConfiguration",
        Op::AddPermission { .. } => "AddPermission",
        Op::EnableRotation { .. } => "RotateSecret",
        Op::DisableRotation { .. } => "CancelRotateSecret",
        Op::DeleteFunction { .. } => "DeleteFunction",
        Op::DeleteRole { .. } => "DeleteRole",
        Op::DeleteEndpoints { .. } => "DeleteVpcEndpoints",
        Op::DeleteEndpointGroup { .. } => "DeleteSecurityGroup",
    }
}
