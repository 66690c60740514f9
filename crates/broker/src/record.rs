//! Each instance's and binding's record, in AWS: the SSM parameters
//! `/elasticache-action/broker/instances/<stack>` and
//! `/elasticache-action/broker/bindings/<stack>/<key>` hold what the platform asked for
//! (service, plan, parameters) and the last operation, as JSON without any secret.
//!
//! Created with `PutParameter` without `Overwrite`, an atomic create-if-absent: of two
//! replicas that receive the same provision at once, one creates the record and the
//! other finds it (the same request: the same operation; another: 409). Any replica
//! answers `last_operation` from it, and a replica that finds an operation in progress
//! that nobody runs resumes it: the stack's own lock keeps two from applying at once.

use aws_error::{AwsError, absent_if, aws_error};
use aws_sdk_ssm::types::{ParameterType, Tag};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where the instances' records live.
pub const PREFIX: &str = "/elasticache-action/broker/instances/";

/// Where deprovisioned instances' tombstones live.
pub const TOMBSTONES_PREFIX: &str = "/elasticache-action/broker/deprovisioned/";

/// Where the bindings' records live: `<prefix><stack>/<key>`.
pub const BINDINGS_PREFIX: &str = "/elasticache-action/broker/bindings/";

/// What a platform asked for, and where its last operation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The platform's instance id.
    pub instance_id: String,
    /// The service.
    pub service_id: String,
    /// The plan.
    pub plan_id: String,
    /// The parameters, as the platform passed them.
    pub parameters: serde_json::Value,
    /// The `maintenance_info.version` (the broker's version) that last applied it.
    #[serde(default)]
    pub maintenance_version: Option<String>,
    /// Whose it is: the provision's `context` (Cloud Foundry's organization and space,
    /// Kubernetes' namespace and cluster). Only the same tenancy may restore its data.
    #[serde(default)]
    pub tenancy: BTreeMap<String, String>,
    /// The snapshot the stack was created from (`restore_from_snapshot`, resolved).
    #[serde(default)]
    pub restore_snapshot: Option<String>,
    /// The last operation.
    pub operation: Operation,
}

/// An asynchronous operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// What the platform polls with: `<kind>-<unix ms>`.
    pub id: String,
    /// `provision`, `update` or `deprovision`.
    pub kind: Kind,
    /// Where it stands.
    pub state: State,
    /// For people: what failed, or what it did.
    pub description: String,
}

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Create the stack.
    Provision,
    /// Apply a new plan or parameters.
    Update,
    /// Destroy the stack.
    Deprovision,
    /// Add a binding's user.
    Bind,
    /// Remove a binding's user.
    Unbind,
}

impl Kind {
    /// Its word, as operation ids start with it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Provision => "provision",
            Kind::Update => "update",
            Kind::Deprovision => "deprovision",
            Kind::Bind => "bind",
            Kind::Unbind => "unbind",
        }
    }
}

/// OSB's operation states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// Running (or to be resumed).
    #[serde(rename = "in progress")]
    InProgress,
    /// Done.
    #[serde(rename = "succeeded")]
    Succeeded,
    /// Stopped with an error.
    #[serde(rename = "failed")]
    Failed,
}

impl State {
    /// OSB's word.
    pub fn as_str(self) -> &'static str {
        match self {
            State::InProgress => "in progress",
            State::Succeeded => "succeeded",
            State::Failed => "failed",
        }
    }
}

impl Operation {
    /// A new operation of `kind`, in progress.
    pub fn start(kind: Kind) -> Operation {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let word = kind.as_str();
        Operation {
            id: format!("{word}-{millis}"),
            kind,
            state: State::InProgress,
            description: format!("{word} in progress"),
        }
    }
}

/// What is kept of a deprovisioned instance, so the same tenancy can restore its final
/// snapshot: no secret, a few hundred bytes, never deleted by the broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// The platform's instance id.
    pub instance_id: String,
    /// Its service.
    pub service_id: String,
    /// Its plan (the final snapshot's name follows from the plan's spec).
    pub plan_id: String,
    /// Whose it was.
    pub tenancy: BTreeMap<String, String>,
}

/// A binding: what the platform asked for, the user it has (none where the plan's
/// bindings share the stack's credential) and its last operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingRecord {
    /// The platform's binding id.
    pub binding_id: String,
    /// The instance it belongs to.
    pub instance_id: String,
    /// The service.
    pub service_id: String,
    /// The plan.
    pub plan_id: String,
    /// The bind parameters, as the platform passed them.
    pub parameters: serde_json::Value,
    /// The RBAC or IAM user made for it (the stack's user name), or its predecessor's.
    pub user: Option<String>,
    /// The binding this one rotates (`predecessor_binding_id`): it shares that one's
    /// user, with a password of its own beside the predecessor's.
    #[serde(default)]
    pub predecessor: Option<String>,
    /// The last operation: `bind` or `unbind`.
    pub operation: Operation,
}

/// The records, through SSM.
#[derive(Debug, Clone)]
pub struct Records {
    ssm: aws_sdk_ssm::Client,
}

/// A record that could not be read as one.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// An SSM call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The parameter is not a record this broker wrote.
    #[error("{0} does not hold a broker record; delete it by hand if nothing uses it")]
    Unreadable(String),
}

fn instance_name(stack: &str) -> String {
    format!("{PREFIX}{stack}")
}

fn bindings_path(stack: &str) -> String {
    format!("{BINDINGS_PREFIX}{stack}/")
}

fn binding_name(stack: &str, key: &str) -> String {
    format!("{}{key}", bindings_path(stack))
}

impl Records {
    /// Records kept with this client.
    pub fn new(ssm: aws_sdk_ssm::Client) -> Self {
        Records { ssm }
    }

    /// The record of `stack`, if there is one.
    pub async fn get(&self, stack: &str) -> Result<Option<Record>, RecordError> {
        self.read(&instance_name(stack)).await
    }

    /// Creates the record of `stack`; `false` when one exists already.
    pub async fn create(&self, stack: &str, record: &Record) -> Result<bool, RecordError> {
        self.create_once(stack, &instance_name(stack), &to_json(record))
            .await
    }

    /// Replaces the record of `stack`.
    pub async fn put(&self, stack: &str, record: &Record) -> Result<(), RecordError> {
        self.overwrite(&instance_name(stack), &to_json(record))
            .await
    }

    /// Deletes the record of `stack` (the instance is gone).
    pub async fn delete(&self, stack: &str) -> Result<(), RecordError> {
        self.remove(&instance_name(stack)).await
    }

    /// The tombstone of `stack`, if it was deprovisioned.
    pub async fn tombstone(&self, stack: &str) -> Result<Option<Tombstone>, RecordError> {
        self.read(&format!("{TOMBSTONES_PREFIX}{stack}")).await
    }

    /// Writes the tombstone of `stack` (its deprovision finished).
    pub async fn put_tombstone(
        &self,
        stack: &str,
        tombstone: &Tombstone,
    ) -> Result<(), RecordError> {
        self.overwrite(&format!("{TOMBSTONES_PREFIX}{stack}"), &to_json(tombstone))
            .await
    }

    /// The binding of `stack` kept under `key` (see [`crate::binding::key`]).
    pub async fn binding(
        &self,
        stack: &str,
        key: &str,
    ) -> Result<Option<BindingRecord>, RecordError> {
        self.read(&binding_name(stack, key)).await
    }

    /// Every binding of `stack`.
    pub async fn bindings(&self, stack: &str) -> Result<Vec<BindingRecord>, RecordError> {
        let mut pages = self
            .ssm
            .get_parameters_by_path()
            .path(bindings_path(stack))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(aws_error("GetParametersByPath"))?;
            for parameter in page.parameters() {
                let name = parameter.name().unwrap_or_default();
                let text = parameter.value().unwrap_or_default();
                let record = serde_json::from_str(text)
                    .map_err(|_| RecordError::Unreadable(name.to_owned()))?;
                out.push(record);
            }
        }
        Ok(out)
    }

    /// Creates a binding's record; `false` when one exists already.
    pub async fn create_binding(
        &self,
        stack: &str,
        key: &str,
        record: &BindingRecord,
    ) -> Result<bool, RecordError> {
        self.create_once(stack, &binding_name(stack, key), &to_json(record))
            .await
    }

    /// Replaces a binding's record.
    pub async fn put_binding(
        &self,
        stack: &str,
        key: &str,
        record: &BindingRecord,
    ) -> Result<(), RecordError> {
        self.overwrite(&binding_name(stack, key), &to_json(record))
            .await
    }

    /// Deletes a binding's record (the binding is gone).
    pub async fn delete_binding(&self, stack: &str, key: &str) -> Result<(), RecordError> {
        self.remove(&binding_name(stack, key)).await
    }

    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, RecordError> {
        let result = self.ssm.get_parameter().name(name).send().await;
        let Some(found) = absent_if(result, "GetParameter", |e| e.is_parameter_not_found())? else {
            return Ok(None);
        };
        let text = found.parameter.and_then(|p| p.value).unwrap_or_default();
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|_| RecordError::Unreadable(name.to_owned()))
    }

    /// `PutParameter` without `Overwrite`: atomic create-if-absent.
    async fn create_once(&self, stack: &str, name: &str, json: &str) -> Result<bool, RecordError> {
        let tag = Tag::builder()
            .key(spec::STACK_TAG)
            .value(stack)
            .build()
            .map_err(|_| RecordError::Unreadable(name.to_owned()))?;
        let result = self
            .ssm
            .put_parameter()
            .name(name)
            .r#type(ParameterType::String)
            .value(json)
            .tags(tag)
            .send()
            .await
            .map_err(aws_error("PutParameter"));
        match result {
            Ok(_) => Ok(true),
            Err(error) if error.is("ParameterAlreadyExists") => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    async fn overwrite(&self, name: &str, json: &str) -> Result<(), RecordError> {
        self.ssm
            .put_parameter()
            .name(name)
            .r#type(ParameterType::String)
            .value(json)
            .overwrite(true)
            .send()
            .await
            .map_err(aws_error("PutParameter"))?;
        Ok(())
    }

    async fn remove(&self, name: &str) -> Result<(), RecordError> {
        let result = self.ssm.delete_parameter().name(name).send().await;
        absent_if(result, "DeleteParameter", |e| e.is_parameter_not_found())?;
        Ok(())
    }
}

fn to_json<T: Serialize>(record: &T) -> String {
    serde_json::to_string(record).unwrap_or_default()
}
