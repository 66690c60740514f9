//! The connection fields of each credential secret's JSON document: `host`, `port`,
//! `engine` and `replication_group_id`, and for an RBAC user `username` and `user_arn`
//! (AWS's own RBAC rotation template finds the user by it). They are written once the
//! replication group exists, so this part runs after the cluster step, and rewritten
//! when they change, never touching the credential: a new version carries the current
//! value with the new fields. The tag [`DOCUMENT_TAG`] records a digest of the fields
//! written last, so a plan knows whether they are current without reading a value.
//!
//! Same shape as a step: [`Desired::from_spec`], [`Documents::observe`] (the secrets
//! listing, shared with the secrets step in a plan), a pure [`diff`], [`Documents::apply`].

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_error::aws_error;
use plan::{Change, Diff, Known, ResourceId, Value};
use sha2::{Digest, Sha256};
use spec::names::Scope;
use spec::{AuthMode, Spec, names};

use crate::{ROTATED_TAG, Secrets, SecretsError, rotated_at};

/// The secret's tag holding a digest of the connection fields last written.
pub const DOCUMENT_TAG: &str = "elasticache-action:document";

/// The resource kind plans show for a secret's connection fields.
pub const KIND: &str = "secret_fields";

/// The part of the secrets step that writes connection fields, holding its client.
#[derive(Debug, Clone)]
pub struct Documents {
    secrets: Secrets,
}

impl Documents {
    /// The connection fields' part, using the secrets step's client.
    pub fn new(secrets: Secrets) -> Self {
        Documents { secrets }
    }
}

/// What the cluster step hands to this part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The account and region (for user ARNs).
    pub scope: Scope,
    /// The endpoint clients connect to: the configuration endpoint in cluster mode,
    /// else the primary.
    pub host: Known<String>,
    /// The port the group reports.
    pub port: u16,
}

/// The fields each secret should hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The stack (its secrets carry the stack tag).
    pub stack: String,
    /// One entry per credential secret.
    pub documents: Vec<DesiredDocument>,
}

/// One secret's fields (unknown until the group has an endpoint).
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredDocument {
    /// The secret's name.
    pub name: String,
    /// The fields besides the credential.
    pub fields: Known<Fields>,
}

/// Connection fields, by name.
pub type Fields = BTreeMap<&'static str, serde_json::Value>;

/// The secrets as the secrets step observes them (one listing serves both).
pub type Observed = crate::Observed;

impl Desired {
    /// The fields of every credential secret `spec` has.
    pub fn from_spec(spec: &Spec, inputs: &Inputs) -> Desired {
        let group = names::replication_group_id(spec);
        let fields = |user: Option<&str>| -> Known<Fields> {
            let Known::Value(host) = &inputs.host else {
                return Known::AfterApply;
            };
            let mut fields = Fields::new();
            fields.insert("engine", spec.engine.name.as_str().into());
            fields.insert("replication_group_id", group.clone().into());
            fields.insert("host", host.clone().into());
            fields.insert("port", inputs.port.into());
            if let Some(user) = user {
                let id = names::rbac_user_id(spec, user);
                let scope = &inputs.scope;
                let arn = format!(
                    "arn:{}:elasticache:{}:{}:user:{id}",
                    scope.partition, scope.region, scope.account
                );
                fields.insert("username", user.into());
                fields.insert("user_arn", arn.into());
            }
            Known::Value(fields)
        };
        let documents = match spec.auth.mode {
            AuthMode::Token => vec![DesiredDocument {
                name: names::token_secret(spec),
                fields: fields(None),
            }],
            AuthMode::Rbac => (spec.auth.users.iter())
                .map(|user| DesiredDocument {
                    name: names::user_secret(spec, &user.name),
                    fields: fields(Some(&user.name)),
                })
                .collect(),
            AuthMode::None | AuthMode::Iam => Vec::new(),
        };
        Desired {
            stack: spec.stack.clone(),
            documents,
        }
    }
}

/// The digest [`DOCUMENT_TAG`] records for `fields`.
pub fn digest(fields: &Fields) -> String {
    let canonical = serde_json::to_string(fields).unwrap_or_default();
    let hash = Sha256::digest(canonical.as_bytes());
    let hex: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("v1:{hex}")
}

/// One write: the fields into the secret's current document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Write {
    name: String,
    fields: Fields,
    /// The rotation record to move onto the new version: `(version it names, when)`.
    rotated: Option<(String, SystemTime)>,
}

/// This part's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentsPlan {
    /// One change per existing secret.
    pub changes: Vec<Change>,
    /// What the user should know.
    pub warnings: Vec<String>,
    /// Nothing later steps need.
    pub outputs: DocumentsOutputs,
    pub(crate) writes: Vec<Write>,
}

/// This part hands nothing on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DocumentsOutputs;

impl DocumentsPlan {
    /// Whether apply would write anything.
    pub fn has_writes(&self) -> bool {
        !self.writes.is_empty()
    }
}

/// The fields as one line, for a plan.
fn summary(fields: &Fields) -> String {
    let pairs: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(" ")
}

/// Plans the fields. A secret created in this apply is written without a change of its
/// own (the secret's creation is the change people see); an existing one whose recorded
/// digest differs shows as an update. Nothing is written while a rotation is pending:
/// its new version copies the current document, and the next apply writes the fields.
pub fn diff(desired: &Desired, observed: &Observed) -> Result<DocumentsPlan, SecretsError> {
    let mut plan = DocumentsPlan {
        changes: Vec::new(),
        warnings: Vec::new(),
        outputs: DocumentsOutputs,
        writes: Vec::new(),
    };
    for document in &desired.documents {
        let found = observed.secrets.get(&document.name);
        let id = ResourceId::new(KIND, &document.name);
        let written = |found: &crate::ObservedSecret| found.tags.get(DOCUMENT_TAG).cloned();
        let Known::Value(fields) = &document.fields else {
            if let Some(found) = found.filter(|f| !f.deleted) {
                let before = match written(found) {
                    Some(_) => "(other values)",
                    None => "(none)",
                };
                let change = Diff::new(id)
                    .attribute("fields", Value::from(before), Value::Unknown)
                    .finish();
                plan.changes.push(change);
            }
            continue;
        };
        let write = |rotated| Write {
            name: document.name.clone(),
            fields: fields.clone(),
            rotated,
        };
        let Some(found) = found.filter(|f| !f.deleted) else {
            plan.writes.push(write(None));
            continue;
        };
        let wanted = digest(fields);
        let written = written(found);
        let before = match &written {
            Some(tag) if *tag == wanted => summary(fields),
            Some(_) => "(other values)".to_owned(),
            None => "(none)".to_owned(),
        };
        let change = Diff::new(id)
            .attribute("fields", Value::from(before), Value::from(summary(fields)))
            .finish();
        let in_sync = written.as_ref() == Some(&wanted);
        plan.changes.push(change);
        if in_sync {
            continue;
        }
        if found.rotation.pending.is_some() {
            plan.warnings.push(format!(
                "secret {}: its connection fields are written by the next apply, once the rotation in progress finishes",
                document.name
            ));
            continue;
        }
        let rotated = rotated_at(&found.tags)
            .filter(|(version, _)| Some(*version) == found.rotation.current_version.as_deref())
            .map(|(version, at)| (version.to_owned(), at));
        plan.writes.push(write(rotated));
    }
    Ok(plan)
}

impl Documents {
    /// The secrets, as the secrets step finds them.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, SecretsError> {
        let names: Vec<&str> = desired.documents.iter().map(|d| d.name.as_str()).collect();
        self.secrets.observe_named(&desired.stack, &names).await
    }

    /// Writes the planned fields.
    pub async fn apply(&self, plan: &DocumentsPlan) -> Result<DocumentsOutputs, SecretsError> {
        for write in &plan.writes {
            self.write(write).await?;
        }
        Ok(DocumentsOutputs)
    }

    /// The fields into the current document: a new version (id derived from the
    /// current one and the fields, so a retried call is the same call) when any
    /// differs, then the digest tag, with the rotation record moved onto the new version.
    async fn write(&self, write: &Write) -> Result<(), SecretsError> {
        let client = &self.secrets.client;
        let current = client
            .get_secret_value()
            .secret_id(&write.name)
            .send()
            .await
            .map_err(aws_error("GetSecretValue"))?;
        let current_id = current.version_id().unwrap_or_default().to_owned();
        let mut document: serde_json::Map<String, serde_json::Value> = current
            .secret_string()
            .and_then(|text| serde_json::from_str(text).ok())
            .ok_or_else(|| SecretsError::Unreadable(write.name.clone()))?;
        let stale = (write.fields.iter()).any(|(key, value)| document.get(*key) != Some(value));
        let digest = digest(&write.fields);
        let mut version = current_id.clone();
        if stale {
            for (key, value) in &write.fields {
                document.insert((*key).to_owned(), value.clone());
            }
            version = version_id(&current_id, &digest);
            let value = plan::Sensitive::new(serde_json::Value::Object(document).to_string());
            client
                .put_secret_value()
                .secret_id(&write.name)
                .client_request_token(&version)
                .secret_string(value.expose())
                .send()
                .await
                .map_err(aws_error("PutSecretValue"))?;
        }
        let mut tags = crate::Tags::from([(DOCUMENT_TAG.to_owned(), digest)]);
        if let Some((_, at)) = (write.rotated.as_ref()).filter(|(named, _)| *named == current_id) {
            tags.insert(ROTATED_TAG.to_owned(), crate::rotated_tag(&version, *at));
        }
        let request = client
            .tag_resource()
            .secret_id(&write.name)
            .set_tags(Some(crate::sdk_tags(&tags)));
        request.send().await.map_err(aws_error("TagResource"))?;
        Ok(())
    }
}

/// The id of the version that adds `digest`'s fields to version `current`.
fn version_id(current: &str, digest: &str) -> String {
    let hash = Sha256::digest(format!("{current}/{digest}").as_bytes());
    hash.iter().take(16).map(|b| format!("{b:02x}")).collect()
}
