//! Reading what exists.

use std::collections::BTreeMap;

use aws_error::{absent_if, aws_error};
use aws_sdk_iam::types::EntityType;
use aws_sdk_ssm::types::ParameterStringFilter;
use futures::future::try_join_all;

use crate::document::{digest as digest_of, parse_stored};
use crate::{
    DOCUMENT_TAG, Desired, Observed, ObservedDocument, ObservedParameter, ObservedPolicy, Policies,
    PoliciesError, parameter_names,
};

impl Policies {
    /// Observes the stack's parameters (only names this crate writes) and policies.
    /// Every read that does not need another's answer runs at once.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, PoliciesError> {
        let (parameters, access) = futures::try_join!(
            self.observe_parameters(desired),
            self.observe_access(desired)
        )?;
        Ok(Observed {
            parameters,
            ..access
        })
    }

    /// The SSM half of [`Policies::observe`]: the values, and (read at the same time,
    /// when the spec wants `SecureString`s) the keys that encrypt them. It needs no
    /// account id (the policies' ARNs do), so a caller still asking STS can start it.
    pub async fn observe_parameters(
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

    /// The IAM half of [`Policies::observe`]: the policies and the missing roles, with
    /// no parameters.
    pub async fn observe_access(&self, desired: &Desired) -> Result<Observed, PoliciesError> {
        let policies = self.policies(desired).await?;
        let missing_roles = self.missing_roles(desired, &policies).await?;
        Ok(Observed {
            parameters: BTreeMap::new(),
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

    /// Each policy the stack may own. For a policy the spec wants, the roles it is
    /// attached to are listed at the same time as it is looked up (it usually exists);
    /// for one it no longer wants, only once it is found.
    async fn policies(
        &self,
        desired: &Desired,
    ) -> Result<BTreeMap<String, ObservedPolicy>, PoliciesError> {
        let lookups = desired.policy_names.iter().map(|(name, arn)| async move {
            let wanted = desired.policies.iter().any(|p| &p.name == name);
            let found = self.policy(arn, wanted).await?;
            Ok::<_, PoliciesError>(found.map(|policy| (name.clone(), policy)))
        });
        Ok(try_join_all(lookups).await?.into_iter().flatten().collect())
    }

    async fn policy(
        &self,
        arn: &str,
        wanted: bool,
    ) -> Result<Option<ObservedPolicy>, PoliciesError> {
        let described = async {
            let result = self.iam.get_policy().policy_arn(arn).send().await;
            Ok::<_, PoliciesError>(
                absent_if(result, "GetPolicy", |e| e.is_no_such_entity_exception())?
                    .and_then(|out| out.policy),
            )
        };
        let early_roles = async {
            match wanted {
                true => self.attached_roles(arn).await,
                false => Ok(None),
            }
        };
        let (policy, early_roles) = futures::try_join!(described, early_roles)?;
        let Some(policy) = policy else {
            return Ok(None);
        };
        let default = policy.default_version_id().unwrap_or("v1").to_owned();
        let written = policy
            .tags()
            .iter()
            .find(|tag| tag.key() == DOCUMENT_TAG)
            .and_then(|tag| tag.value().split_once(':'))
            .filter(|(version, _)| *version == default)
            .map(|(_, digest)| digest.to_owned());
        let roles = match early_roles {
            Some(roles) => roles,
            None => self.attached_roles(arn).await?.unwrap_or_default(),
        };
        let document = match written {
            Some(digest) => ObservedDocument::Written {
                version: default,
                digest,
            },
            None => ObservedDocument::Read(self.default_document(arn, &default).await?),
        };
        Ok(Some(ObservedPolicy { document, roles }))
    }

    /// The document of a policy's version.
    async fn default_document(
        &self,
        arn: &str,
        version: &str,
    ) -> Result<serde_json::Value, PoliciesError> {
        let read = self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(aws_error("GetPolicyVersion"))?;
        read.policy_version()
            .and_then(|v| v.document())
            .and_then(parse_stored)
            .ok_or_else(|| PoliciesError::UnreadableDocument(arn.to_owned()))
    }

    /// Reads the documents a plan needs after all: those recorded as written whose
    /// digest differs from what `desired` now asks for (or whose desired document is
    /// not known yet), so the plan can show what changes.
    pub async fn read_documents(
        &self,
        desired: &Desired,
        mut observed: Observed,
    ) -> Result<Observed, PoliciesError> {
        let stale = desired.policies.iter().filter_map(|policy| {
            let found = observed.policies.get(&policy.name)?;
            let ObservedDocument::Written { version, digest } = &found.document else {
                return None;
            };
            let current = policy.document.value().map(digest_of);
            (current.as_ref() != Some(digest)).then(|| (policy, version.clone()))
        });
        let reads = stale.map(|(policy, version)| async move {
            let document = self.default_document(&policy.arn, &version).await?;
            Ok::<_, PoliciesError>((policy.name.clone(), document))
        });
        for (name, document) in try_join_all(reads.collect::<Vec<_>>()).await? {
            if let Some(found) = observed.policies.get_mut(&name) {
                found.document = ObservedDocument::Read(document);
            }
        }
        Ok(observed)
    }

    /// The roles a policy is attached to; `None` when the policy does not exist.
    async fn attached_roles(&self, arn: &str) -> Result<Option<Vec<String>>, PoliciesError> {
        let result = self
            .iam
            .list_entities_for_policy()
            .policy_arn(arn)
            .entity_filter(EntityType::Role)
            .send()
            .await;
        let Some(listed) = absent_if(result, "ListEntitiesForPolicy", |e| {
            e.is_no_such_entity_exception()
        })?
        else {
            return Ok(None);
        };
        Ok(Some(
            listed
                .policy_roles()
                .iter()
                .filter_map(|r| r.role_name().map(str::to_owned))
                .collect(),
        ))
    }
}
