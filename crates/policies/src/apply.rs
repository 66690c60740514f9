//! Performing a plan's operations, in order.

use aws_error::{already_done, aws_error};
use aws_sdk_iam::types::Tag as IamTag;
use aws_sdk_ssm::types::{ParameterType, Tag as SsmTag};
use plan::Known;
use plan::tags::Tags;

use crate::diff::{Op, PoliciesOutputs, PoliciesPlan};
use crate::{DOCUMENT_TAG, Policies, PoliciesError};

/// SSM deletes at most ten parameters per call.
const PARAMETERS_PER_DELETE: usize = 10;

/// IAM keeps at most five versions of a managed policy.
const MAX_POLICY_VERSIONS: usize = 5;

impl Policies {
    /// Performs the plan.
    pub async fn apply(&self, plan: &PoliciesPlan) -> Result<PoliciesOutputs, PoliciesError> {
        for op in &plan.ops {
            tracing::debug!(?op, "ssm/iam operation");
            self.perform(op).await?;
        }
        Ok(plan.outputs.clone())
    }

    /// Performs a destroy plan: detaches, deletes old versions, then the policies, and
    /// the parameters.
    pub async fn destroy(&self, plan: &PoliciesPlan) -> Result<(), PoliciesError> {
        self.apply(plan).await.map(drop)
    }

    async fn perform(&self, op: &Op) -> Result<(), PoliciesError> {
        match op {
            Op::PutParameter {
                name,
                value,
                secure_with,
                tags,
            } => {
                self.put_parameter(name, value, secure_with.as_ref(), tags.as_ref())
                    .await
            }
            Op::DeleteParameters { names } => {
                for chunk in names.chunks(PARAMETERS_PER_DELETE) {
                    self.ssm
                        .delete_parameters()
                        .set_names(Some(chunk.to_vec()))
                        .send()
                        .await
                        .map_err(aws_error("DeleteParameters"))?;
                }
                Ok(())
            }
            Op::CreatePolicy {
                name,
                description,
                document,
                tags,
            } => {
                let document = known_value(document)?;
                let mut tags = iam_tags(tags)?;
                // A new policy's only version is `v1`.
                tags.push(document_tag("v1", document)?);
                let created = self
                    .iam
                    .create_policy()
                    .policy_name(name)
                    .description(description)
                    .policy_document(document.to_string())
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(aws_error("CreatePolicy"));
                // Observe found none: one there now was made by this call, retried
                // after its first answer was lost.
                already_done(created, "EntityAlreadyExists")?;
                Ok(())
            }
            Op::CreatePolicyVersion { arn, document } => {
                let old = self.non_default_versions(arn).await?;
                // IAM refuses a sixth version: make room by dropping the oldest other one.
                if old.len() + 1 >= MAX_POLICY_VERSIONS
                    && let Some(oldest) = old.first()
                {
                    self.delete_policy_version(arn, oldest).await?;
                }
                let document = known_value(document)?;
                let created = self
                    .iam
                    .create_policy_version()
                    .policy_arn(arn)
                    .policy_document(document.to_string())
                    .set_as_default(true)
                    .send()
                    .await
                    .map_err(aws_error("CreatePolicyVersion"))?;
                let version = created
                    .policy_version()
                    .and_then(|v| v.version_id())
                    .ok_or(PoliciesError::Internal("a policy version without an id"))?;
                // Stopped before this, the next plan finds the tag behind the default
                // version and reads the document instead.
                self.iam
                    .tag_policy()
                    .policy_arn(arn)
                    .tags(document_tag(version, document)?)
                    .send()
                    .await
                    .map_err(aws_error("TagPolicy"))?;
                Ok(())
            }
            Op::Attach { arn, role } => {
                self.iam
                    .attach_role_policy()
                    .policy_arn(arn)
                    .role_name(role)
                    .send()
                    .await
                    .map_err(aws_error("AttachRolePolicy"))?;
                Ok(())
            }
            Op::Detach { arn, role } => {
                self.iam
                    .detach_role_policy()
                    .policy_arn(arn)
                    .role_name(role)
                    .send()
                    .await
                    .map_err(aws_error("DetachRolePolicy"))?;
                Ok(())
            }
            Op::DeletePolicy { arn } => {
                // IAM refuses to delete a policy that has other versions.
                for version in self.non_default_versions(arn).await? {
                    self.delete_policy_version(arn, &version).await?;
                }
                self.iam
                    .delete_policy()
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(aws_error("DeletePolicy"))?;
                Ok(())
            }
        }
    }

    /// The policy's versions other than the default, oldest first. Read only here, by
    /// the writes that need them, so that a plan does not.
    async fn non_default_versions(&self, arn: &str) -> Result<Vec<String>, PoliciesError> {
        let listed = self
            .iam
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .map_err(aws_error("ListPolicyVersions"))?;
        let mut versions: Vec<_> = listed
            .versions()
            .iter()
            .filter(|v| !v.is_default_version())
            .map(|v| {
                let created = v.create_date().map(|d| (d.secs(), d.subsec_nanos()));
                (created, v.version_id().unwrap_or_default().to_owned())
            })
            .collect();
        versions.sort();
        Ok(versions.into_iter().map(|(_, id)| id).collect())
    }

    async fn delete_policy_version(&self, arn: &str, version: &str) -> Result<(), PoliciesError> {
        let deleted = self
            .iam
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(aws_error("DeletePolicyVersion"));
        // A retry after a lost answer finds the version gone.
        already_done(deleted, "NoSuchEntity")?;
        Ok(())
    }

    async fn put_parameter(
        &self,
        name: &str,
        value: &Known<String>,
        secure_with: Option<&Known<String>>,
        tags: Option<&Tags>,
    ) -> Result<(), PoliciesError> {
        let value = value.value().ok_or(PoliciesError::Internal(
            "a parameter value is not known yet",
        ))?;
        let mut request = self.ssm.put_parameter().name(name).value(value);
        request = match secure_with {
            Some(key) => request.r#type(ParameterType::SecureString).key_id(
                key.value()
                    .ok_or(PoliciesError::Internal("the key ARN is not known yet"))?,
            ),
            None => request.r#type(ParameterType::String),
        };
        // SSM takes tags only when creating, and `Overwrite` only when not.
        let Some(tags) = tags else {
            request
                .overwrite(true)
                .send()
                .await
                .map_err(aws_error("PutParameter"))?;
            return Ok(());
        };
        let created = request
            .clone()
            .set_tags(Some(ssm_tags(tags)?))
            .send()
            .await
            .map_err(aws_error("PutParameter"));
        // Observe found none: one there now was made, tags and all, by this call retried
        // after its first answer was lost. Writing the value again settles it.
        if already_done(created, "ParameterAlreadyExists")?.is_none() {
            request
                .overwrite(true)
                .send()
                .await
                .map_err(aws_error("PutParameter"))?;
        }
        Ok(())
    }
}

fn known_value(document: &Known<serde_json::Value>) -> Result<&serde_json::Value, PoliciesError> {
    document.value().ok_or(PoliciesError::Internal(
        "a policy document is not known yet",
    ))
}

/// The [`DOCUMENT_TAG`] for `version` holding `document`.
fn document_tag(version: &str, document: &serde_json::Value) -> Result<IamTag, PoliciesError> {
    IamTag::builder()
        .key(DOCUMENT_TAG)
        .value(crate::document::document_tag(version, document))
        .build()
        .map_err(|_| PoliciesError::Internal("a tag without a key"))
}

fn ssm_tags(tags: &Tags) -> Result<Vec<SsmTag>, PoliciesError> {
    tags.iter()
        .map(|(k, v)| {
            SsmTag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|_| PoliciesError::Internal("a tag without a key"))
        })
        .collect()
}

fn iam_tags(tags: &Tags) -> Result<Vec<IamTag>, PoliciesError> {
    tags.iter()
        .map(|(k, v)| {
            IamTag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|_| PoliciesError::Internal("a tag without a key"))
        })
        .collect()
}
