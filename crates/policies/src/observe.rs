//! Reading what exists.

use std::collections::BTreeMap;

use aws_error::{absent_if, aws_error};
use aws_sdk_iam::types::EntityType;
use aws_sdk_ssm::types::ParameterStringFilter;
use futures::future::try_join_all;

use crate::document::parse_stored;
use crate::{
    Desired, Observed, ObservedParameter, ObservedPolicy, Policies, PoliciesError, parameter_names,
};

impl Policies {
    /// Observes the stack's parameters (only names this crate writes) and policies.
    /// Every read that does not need another's answer runs at once.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, PoliciesError> {
        let (parameters, policies) =
            futures::try_join!(self.parameters(desired), self.policies(desired))?;
        let missing_roles = self.missing_roles(desired, &policies).await?;
        Ok(Observed {
            parameters,
            policies,
            missing_roles,
        })
    }

    /// The roles to attach to that do not exist. A role one of our policies is attached
    /// to exists (IAM deletes no role with policies attached), so a converged plan
    /// looks up none.
    async fn missing_roles(
        &self,
        desired: &Desired,
        found: &BTreeMap<String, ObservedPolicy>,
    ) -> Result<Vec<String>, PoliciesError> {
        let attached: Vec<&String> = found.values().flat_map(|p| &p.roles).collect();
        let mut roles: Vec<&String> = desired
            .policies
            .iter()
            .flat_map(|p| &p.roles)
            .filter(|role| !attached.contains(role))
            .collect();
        roles.sort();
        roles.dedup();
        let lookups = roles.into_iter().map(|role| async move {
            let result = self.iam.get_role().role_name(role).send().await;
            let found = absent_if(result, "GetRole", |e| e.is_no_such_entity_exception())?;
            Ok::<_, PoliciesError>(found.is_none().then(|| role.clone()))
        });
        Ok(try_join_all(lookups).await?.into_iter().flatten().collect())
    }

    /// The values, and (read at the same time, when the spec wants `SecureString`s) the
    /// keys that encrypt them.
    async fn parameters(
        &self,
        desired: &Desired,
    ) -> Result<BTreeMap<String, ObservedParameter>, PoliciesError> {
        let prefix = desired.prefix.as_str();
        let key_ids = async {
            match desired.secure_with {
                Some(_) => self.key_ids(prefix).await,
                None => Ok(BTreeMap::new()),
            }
        };
        let (mut found, key_ids) = futures::try_join!(self.values(prefix), key_ids)?;
        for (name, parameter) in &mut found {
            parameter.key_id = key_ids.get(name).cloned();
        }
        Ok(found)
    }

    async fn values(
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
        Ok(found)
    }

    /// `GetParametersByPath` does not say which key encrypts a value; `DescribeParameters`
    /// does.
    async fn key_ids(&self, prefix: &str) -> Result<BTreeMap<String, String>, PoliciesError> {
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
        let mut key_ids = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(aws_error("DescribeParameters"))?;
            for metadata in page.parameters() {
                if let (Some(name), Some(key_id)) = (metadata.name(), metadata.key_id()) {
                    key_ids.insert(name.to_owned(), key_id.to_owned());
                }
            }
        }
        Ok(key_ids)
    }

    async fn policies(
        &self,
        desired: &Desired,
    ) -> Result<BTreeMap<String, ObservedPolicy>, PoliciesError> {
        let lookups = desired.policy_names.iter().map(|(name, arn)| async move {
            let found = self.policy(name, arn).await?;
            Ok::<_, PoliciesError>(found.map(|policy| (name.clone(), policy)))
        });
        Ok(try_join_all(lookups).await?.into_iter().flatten().collect())
    }

    async fn policy(&self, name: &str, arn: &str) -> Result<Option<ObservedPolicy>, PoliciesError> {
        let result = self.iam.get_policy().policy_arn(arn).send().await;
        let Some(policy) = absent_if(result, "GetPolicy", |e| e.is_no_such_entity_exception())?
            .and_then(|out| out.policy)
        else {
            return Ok(None);
        };
        let default = policy.default_version_id().unwrap_or("v1");
        let version = async {
            self.iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(default)
                .send()
                .await
                .map_err(|e| PoliciesError::from(aws_error("GetPolicyVersion")(e)))
        };
        let (version, roles) = futures::try_join!(version, self.attached_roles(arn))?;
        let document = version
            .policy_version()
            .and_then(|v| v.document())
            .and_then(parse_stored)
            .ok_or_else(|| PoliciesError::UnreadableDocument(name.to_owned()))?;
        Ok(Some(ObservedPolicy { document, roles }))
    }

    async fn attached_roles(&self, arn: &str) -> Result<Vec<String>, PoliciesError> {
        let listed = self
            .iam
            .list_entities_for_policy()
            .policy_arn(arn)
            .entity_filter(EntityType::Role)
            .send()
            .await
            .map_err(aws_error("ListEntitiesForPolicy"))?;
        Ok(listed
            .policy_roles()
            .iter()
            .filter_map(|r| r.role_name().map(str::to_owned))
            .collect())
    }
}
