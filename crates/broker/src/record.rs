//! Each instance's record, in AWS: the SSM parameter
//! `/elasticache-action/broker/instances/<stack>` holds what the platform asked for
//! (service, plan, parameters) and the last operation, as JSON without any secret.
//!
//! Created with `PutParameter` without `Overwrite`, an atomic create-if-absent: of two
//! replicas that receive the same provision at once, one creates the record and the
//! other finds it (the same request: the same operation; another: 409). Any replica
//! answers `last_operation` from it, and a replica that finds an operation in progress
//! that nobody runs resumes it: the stack's own lock keeps two from applying at once.

use aws_error::{AwsError, absent_if, aws_error};
use aws_sdk_ssm::types::{ParameterType, Tag};
use serde::{Deserialize, Serialize};

/// Where the records live.
pub const PREFIX: &str = "/elasticache-action/broker/instances/";

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
        let word = match kind {
            Kind::Provision => "provision",
            Kind::Update => "update",
            Kind::Deprovision => "deprovision",
        };
        Operation {
            id: format!("{word}-{millis}"),
            kind,
            state: State::InProgress,
            description: format!("{word} in progress"),
        }
    }
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

impl Records {
    /// Records kept with this client.
    pub fn new(ssm: aws_sdk_ssm::Client) -> Self {
        Records { ssm }
    }

    /// The record of `stack`, if there is one.
    pub async fn get(&self, stack: &str) -> Result<Option<Record>, RecordError> {
        let name = format!("{PREFIX}{stack}");
        let result = self.ssm.get_parameter().name(&name).send().await;
        let Some(found) = absent_if(result, "GetParameter", |e| e.is_parameter_not_found())? else {
            return Ok(None);
        };
        let text = found.parameter.and_then(|p| p.value).unwrap_or_default();
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|_| RecordError::Unreadable(name))
    }

    /// Creates the record of `stack`; `false` when one exists already.
    pub async fn create(&self, stack: &str, record: &Record) -> Result<bool, RecordError> {
        let tag = Tag::builder()
            .key(spec::STACK_TAG)
            .value(stack)
            .build()
            .map_err(|_| RecordError::Unreadable(stack.to_owned()))?;
        let result = self
            .ssm
            .put_parameter()
            .name(format!("{PREFIX}{stack}"))
            .r#type(ParameterType::String)
            .value(to_json(record))
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

    /// Replaces the record of `stack`.
    pub async fn put(&self, stack: &str, record: &Record) -> Result<(), RecordError> {
        self.ssm
            .put_parameter()
            .name(format!("{PREFIX}{stack}"))
            .r#type(ParameterType::String)
            .value(to_json(record))
            .overwrite(true)
            .send()
            .await
            .map_err(aws_error("PutParameter"))?;
        Ok(())
    }

    /// Deletes the record of `stack` (the instance is gone).
    pub async fn delete(&self, stack: &str) -> Result<(), RecordError> {
        let result = self
            .ssm
            .delete_parameter()
            .name(format!("{PREFIX}{stack}"))
            .send()
            .await;
        absent_if(result, "DeleteParameter", |e| e.is_parameter_not_found())?;
        Ok(())
    }
}

fn to_json(record: &Record) -> String {
    serde_json::to_string(record).unwrap_or_default()
}
