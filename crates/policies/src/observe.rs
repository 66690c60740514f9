//! Reading what exists.

use std::collections::BTreeMap;

use aws_error::{absent_if, aws_error};
use aws_sdk_iam::types::EntityType;
use aws_sdk_ssm::types::ParameterStringFilter;

use crate::document::parse_stored;
use crate::{
    Desired, Observed, ObservedParameter, ObservedPolicy, Policies, PoliciesError, parameter_names,
};

impl Policies {
    /// Observes the stack's parameters (only names this crate writes) and policies.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, PoliciesError> {
        let (parameters, policies, missing_roles) = futures::try_join!(
            self.parameters(&desired.prefix),
            self.policies(desired),
            self.missing_roles(desired)
        )?;
        Ok(Observed {
            parameters,
            policies,
            missing_roles,
        })
    }

    async fn missing_roles(&self, desired: &Desired) -> Result<Vec<String>, PoliciesError> {
        let mut roles: Vec<&String> = desired.policies.iter().flat_map(|p| &p.roles).collect();
        roles.sort();
        roles.dedup();
        let mut missing = Vec::new();
        for role in roles {
            let result = self.iam.get_role().role_name(role).send().await;
            if absent_if(result, "GetRole", |e| e.is_no_such_entity_exception())?.is_none() {
                missing.push(role.clone());
            }
        }
        Ok(missing)
    }

    async fn parameters(
        &self,
        prefix: &str,
    ) -> Result<BTreeMap<String, ObservedParameter>, PoliciesError> {
        let ours = |name: &str| {
            name.strip_prefix(prefix)
                .is_some_and(parameter_names::is_ours)
        };
        let mut found = BTreeMap::new();
        let mut pages = self
            .ssm
            .get_parameters_by_path()
            .path(prefix.trim_end_matches('/'))
            .recursive(true)
            .with_decryption(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(aws_error("GetParametersByPath"))?;
            for parameter in page.parameters() {
                let Some(name) = parameter.name().filter(|name| ours(name)) else {
                    continue;
                };
                found.insert(
                    name.to_owned(),
                    ObservedParameter {
                        value: parameter.value().unwrap_or_default().to_owned(),
                        kind: parameter
                            .r#type()
                            .map_or("String", |t| t.as_str())
                            .to_owned(),
                        key_id: None,
                    },
                );
            }
        }
        if found.values().any(|p| p.kind == "SecureString") {
            self.add_key_ids(prefix, &mut found).await?;
        }
        Ok(found)
    }

    /// `GetParametersByPath` does not say which key encrypts a value; `DescribeParameters`
    /// does.
    async fn add_key_ids(
        &self,
        prefix: &str,
        found: &mut BTreeMap<String, ObservedParameter>,
    ) -> Result<(), PoliciesError> {
        let filter = ParameterStringFilter::builder()
            .key("Path")
            .option("Recursive")
            .values(prefix.trim_end_matches('/'))
            .build()
            .map_err(|_| PoliciesError::Internal("a parameter filter without a key"))?;
        let mut pages = self
            .ssm
            .describe_parameters()
            .parameter_filters(filter)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(aws_error("DescribeParameters"))?;
            for metadata in page.parameters() {
                if let Some(parameter) = metadata.name().and_then(|name| found.get_mut(name)) {
                    parameter.key_id = metadata.key_id().map(str::to_owned);
                }
            }
        }
        Ok(())
    }

    async fn policies(
        &self,
        desired: &Desired,
    ) -> Result<BTreeMap<String, ObservedPolicy>, PoliciesError> {
        let mut found = BTreeMap::new();
        for (name, arn) in &desired.policy_names {
            if let Some(policy) = self.policy(name, arn).await? {
                found.insert(name.clone(), policy);
            }
        }
        Ok(found)
    }

    async fn policy(&self, name: &str, arn: &str) -> Result<Option<ObservedPolicy>, PoliciesError> {
        let result = self.iam.get_policy().policy_arn(arn).send().await;
        let Some(policy) = absent_if(result, "GetPolicy", |e| e.is_no_such_entity_exception())?
            .and_then(|out| out.policy)
        else {
            return Ok(None);
        };
        let default = policy.default_version_id().unwrap_or("v1");
        let version = self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(default)
            .send()
            .await
            .map_err(aws_error("GetPolicyVersion"))?;
        let document = version
            .policy_version()
            .and_then(|v| v.document())
            .and_then(parse_stored)
            .ok_or_else(|| PoliciesError::UnreadableDocument(name.to_owned()))?;
        let versions = self
            .iam
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .map_err(aws_error("ListPolicyVersions"))?;
        let mut versions: Vec<_> = versions
            .versions()
            .iter()
            .map(|v| {
                (
                    v.create_date().copied(),
                    v.version_id().unwrap_or_default().to_owned(),
                    v.is_default_version(),
                )
            })
            .collect();
        versions.sort_by_key(|(created, _, _)| created.map(|d| (d.secs(), d.subsec_nanos())));
        let roles = self
            .iam
            .list_entities_for_policy()
            .policy_arn(arn)
            .entity_filter(EntityType::Role)
            .send()
            .await
            .map_err(aws_error("ListEntitiesForPolicy"))?
            .policy_roles()
            .iter()
            .filter_map(|r| r.role_name().map(str::to_owned))
            .collect();
        Ok(Some(ObservedPolicy {
            document,
            versions: versions
                .into_iter()
                .map(|(_, id, default)| (id, default))
                .collect(),
            roles,
        }))
    }
}
