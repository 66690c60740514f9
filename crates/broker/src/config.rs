//! The broker's configuration file: where it listens, where its credentials come from,
//! the platform's shared stack settings, and the catalog (services and plans, each plan a
//! partial stack spec). Checked like a spec: every problem at once, with its field path
//! and line, before the broker serves anything.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use serde::Deserialize;
use serde_yaml::{Mapping, Value};
use spec::{PathIndex, SpecError, SpecErrors};

/// The largest configuration read.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// Spec fields a plan may not set: the broker derives the stack's name from the instance,
/// and the platform section owns where stacks go.
const PLATFORM_OWNED: &[&str] = &["stack", "region", "network"];

/// The broker's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// Address and port to listen on, such as `0.0.0.0:8080`.
    pub listen: String,
    /// Serve HTTPS with this certificate and key (default: plain HTTP, for a platform
    /// that terminates TLS in front of the broker).
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// Where the platform's basic-auth credentials are read from (never the values).
    pub credentials: CredentialSources,
    /// Spec fields every stack shares: `region`, `network` (an existing VPC, its subnets,
    /// who may connect), optionally `encryption.kms_key` and `tags`.
    pub platform: Mapping,
    /// The services offered.
    pub services: Vec<Service>,
}

/// The broker's TLS identity, as PEM files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain, the broker's own certificate first.
    pub cert_file: String,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: String,
}

/// Where the basic-auth username and password come from: an environment variable or a
/// file (a mounted secret), one of the two each.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSources {
    /// The variable holding the username.
    pub username_env: Option<String>,
    /// The file holding the username.
    pub username_file: Option<String>,
    /// The variable holding the password.
    pub password_env: Option<String>,
    /// The file holding the password.
    pub password_file: Option<String>,
}

/// One service in the catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Its id (a GUID is usual), unique in the catalog.
    pub id: String,
    /// Its name, as `cf marketplace` shows it: lowercase, digits and `-`.
    pub name: String,
    /// One line for people.
    pub description: String,
    /// Tags platforms show and match on.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free-form metadata (`displayName`, `documentationUrl`, …).
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    /// Whether a platform may move an instance to another plan.
    #[serde(default = "yes")]
    pub plan_updateable: bool,
    /// How long a platform should poll an operation, in seconds.
    #[serde(default)]
    pub maximum_polling_duration: Option<u64>,
    /// The plans.
    pub plans: Vec<Plan>,
}

fn yes() -> bool {
    true
}

/// One plan of a service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Its id, unique in the catalog.
    pub id: String,
    /// Its name, unique in its service.
    pub name: String,
    /// One line for people.
    pub description: String,
    /// Whether it costs nothing (default false: every plan here runs nodes).
    #[serde(default)]
    pub free: bool,
    /// Free-form metadata (`bullets`, `costs`, …).
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    /// The stack each instance of this plan gets: spec fields (`engine`, `node_type`,
    /// `cluster`, `auth`, `logs`, `destroy`, …) but not `stack`, `region` or `network`.
    pub spec: Mapping,
    /// What each binding's user may do (plans with `auth.mode: rbac` or `iam`).
    #[serde(default)]
    pub bindings: BindingAccess,
    /// Whether an update may replace what AWS cannot change in place (a new replication
    /// group: data not in a snapshot is lost). Default false: such updates are refused.
    #[serde(default)]
    pub allow_replacement: bool,
}

/// The access strings of a plan's binding users.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingAccess {
    /// A binding's user (default: every key and command ElastiCache allows).
    #[serde(default = "default_access")]
    pub access: String,
    /// A binding's user when the bind asks for `read_only` (default: every key, no
    /// command that writes).
    #[serde(default = "default_read_only_access")]
    pub read_only_access: String,
}

impl Default for BindingAccess {
    fn default() -> Self {
        BindingAccess {
            access: default_access(),
            read_only_access: default_read_only_access(),
        }
    }
}

fn default_access() -> String {
    "on ~* +@all".to_owned()
}

fn default_read_only_access() -> String {
    "on ~* +@all -@write -@dangerous".to_owned()
}

impl BrokerConfig {
    /// The address to listen on, once [`parse`] has checked it.
    pub fn listen_address(&self) -> Option<SocketAddr> {
        self.listen.parse().ok()
    }

    /// The stack spec for an instance of `plan`, named `stack`: the platform's settings,
    /// then the plan's, as YAML. An IAM plan's instance gets a user of its own, named
    /// after the stack: IAM user ids are account-wide, so a plan cannot name one.
    pub fn spec_source(&self, plan: &Plan, stack: &str) -> String {
        let mut merged = Mapping::new();
        merged.insert("stack".into(), stack.into());
        for (key, value) in self.platform.iter().chain(plan.spec.iter()) {
            merge(&mut merged, key, value);
        }
        if let Some(Value::Mapping(auth)) = merged.get_mut("auth")
            && auth.get("mode").and_then(Value::as_str) == Some("iam")
            && !auth.contains_key("users")
        {
            let mut user = Mapping::new();
            user.insert("name".into(), stack.into());
            user.insert("access".into(), plan.bindings.access.as_str().into());
            auth.insert("users".into(), Value::Sequence(vec![user.into()]));
        }
        serde_yaml::to_string(&Value::Mapping(merged)).unwrap_or_default()
    }

    /// How an instance of `plan` authenticates clients (`None` if its spec is invalid,
    /// which [`parse`] refuses).
    pub fn auth_mode(&self, plan: &Plan) -> Option<spec::AuthMode> {
        let source = self.spec_source(plan, "catalog");
        spec::parse(&source, "plan").ok().map(|spec| spec.auth.mode)
    }

    /// The plan with this id, and its service.
    pub fn plan(&self, plan_id: &str) -> Option<(&Service, &Plan)> {
        self.services
            .iter()
            .flat_map(|s| s.plans.iter().map(move |p| (s, p)))
            .find(|(_, p)| p.id == plan_id)
    }
}

/// `base` with `overlay` merged over it (see [`merge`]).
pub(crate) fn merged(base: &Mapping, overlay: &Mapping) -> Mapping {
    let mut out = base.clone();
    for (key, value) in overlay {
        merge(&mut out, key, value);
    }
    out
}

/// Puts `value` under `key`, merging mappings key by key (the plan's `encryption` adds
/// to the platform's), anything else replacing.
fn merge(into: &mut Mapping, key: &Value, value: &Value) {
    match (into.get_mut(key), value) {
        (Some(Value::Mapping(existing)), Value::Mapping(more)) => {
            for (k, v) in more {
                merge(existing, k, v);
            }
        }
        _ => {
            into.insert(key.clone(), value.clone());
        }
    }
}

/// Reads and checks a configuration; `file` names it in errors.
pub fn parse(source: &str, file: &str) -> Result<BrokerConfig, SpecErrors> {
    let fail = |errors: Vec<SpecError>| SpecErrors {
        file: file.to_owned(),
        errors,
    };
    if source.len() > MAX_CONFIG_BYTES {
        return Err(fail(vec![whole("the file is larger than 1 MiB")]));
    }
    let config: BrokerConfig = serde_yaml::from_str(source).map_err(|err| {
        let at = err.location();
        fail(vec![SpecError {
            path: String::new(),
            line: at.as_ref().map(|l| l.line()),
            column: at.as_ref().map(|l| l.column()),
            message: err.to_string(),
        }])
    })?;
    let index = PathIndex::new(source);
    let mut check = Check {
        index: &index,
        errors: Vec::new(),
    };
    check.config(&config);
    match check.errors.is_empty() {
        true => Ok(config),
        false => Err(fail(check.errors)),
    }
}

fn whole(message: &str) -> SpecError {
    SpecError {
        path: String::new(),
        line: None,
        column: None,
        message: message.to_owned(),
    }
}

/// The semantic rules, collecting every problem.
struct Check<'a> {
    index: &'a PathIndex,
    errors: Vec<SpecError>,
}

impl Check<'_> {
    fn error(&mut self, path: &str, message: impl Into<String>) {
        let at = self.index.locate(path);
        self.errors.push(SpecError {
            path: path.to_owned(),
            line: at.map(|p| p.line),
            column: at.map(|p| p.column),
            message: message.into(),
        });
    }

    fn require(&mut self, ok: bool, path: &str, message: impl Into<String>) {
        if !ok {
            self.error(path, message);
        }
    }

    fn config(&mut self, config: &BrokerConfig) {
        self.require(
            config.listen_address().is_some(),
            "listen",
            format!(
                "`{}` is not an address and port, such as 0.0.0.0:8080",
                config.listen
            ),
        );
        self.credentials(&config.credentials);
        self.require(
            !config.platform.contains_key("stack"),
            "platform.stack",
            "the broker names each stack after its instance; remove it",
        );
        self.require(
            !config.services.is_empty(),
            "services",
            "list at least one service",
        );
        let mut ids = BTreeSet::new();
        let mut names = BTreeSet::new();
        for (i, service) in config.services.iter().enumerate() {
            let path = format!("services[{i}]");
            self.id(&mut ids, &service.id, &format!("{path}.id"));
            self.require(
                is_cli_name(&service.name),
                &format!("{path}.name"),
                format!(
                    "`{}` is not a service name: lowercase letters, digits and `-`",
                    service.name
                ),
            );
            self.require(
                names.insert(service.name.clone()),
                &format!("{path}.name"),
                format!("another service is named `{}`", service.name),
            );
            self.require(
                !service.plans.is_empty(),
                &format!("{path}.plans"),
                "list at least one plan",
            );
            let mut plan_names = BTreeSet::new();
            for (j, plan) in service.plans.iter().enumerate() {
                let path = format!("{path}.plans[{j}]");
                self.id(&mut ids, &plan.id, &format!("{path}.id"));
                self.require(
                    is_cli_name(&plan.name) && plan_names.insert(plan.name.clone()),
                    &format!("{path}.name"),
                    format!("`{}` is not a plan name unique in its service (lowercase letters, digits and `-`)", plan.name),
                );
                self.plan_spec(config, plan, &path);
            }
        }
    }

    fn credentials(&mut self, sources: &CredentialSources) {
        for (what, env, file) in [
            ("username", &sources.username_env, &sources.username_file),
            ("password", &sources.password_env, &sources.password_file),
        ] {
            self.require(
                env.is_some() != file.is_some(),
                &format!("credentials.{what}_env"),
                format!("name exactly one of {what}_env and {what}_file: where the platform's {what} is read from (never the value itself)"),
            );
        }
    }

    fn id(&mut self, ids: &mut BTreeSet<String>, id: &str, path: &str) {
        self.require(
            !id.trim().is_empty(),
            path,
            "an id is needed (a GUID is usual)",
        );
        self.require(
            ids.insert(id.to_owned()),
            path,
            format!("the id `{id}` is used twice in the catalog"),
        );
    }

    /// The plan's spec, merged with the platform's, must be a valid spec; its errors are
    /// placed at the plan's or the platform's field.
    fn plan_spec(&mut self, config: &BrokerConfig, plan: &Plan, path: &str) {
        for owned in PLATFORM_OWNED {
            self.require(
                !plan.spec.contains_key(*owned),
                &format!("{path}.spec.{owned}"),
                format!("`{owned}` is the broker's (stack) or the platform section's (region, network); remove it from the plan"),
            );
        }
        let iam_users = plan.spec.get("auth").is_some_and(|auth| {
            auth.get("mode").and_then(Value::as_str) == Some("iam") && auth.get("users").is_some()
        });
        self.require(
            !iam_users,
            &format!("{path}.spec.auth.users"),
            "IAM user ids are account-wide, so every instance of this plan would need the same one: leave `users` out; each instance gets a user named after its stack, and each binding one of its own",
        );
        let source = config.spec_source(plan, "broker-check");
        let errors = match spec::parse(&source, "merged") {
            Ok(spec) => return self.binding_access(config, plan, &spec, path),
            Err(errors) => errors,
        };
        for error in errors.errors {
            let top = error.path.split(['.', '[']).next().unwrap_or_default();
            let from_plan = plan.spec.contains_key(top) || !config.platform.contains_key(top);
            let at = match (from_plan, error.path.is_empty()) {
                (_, true) => format!("{path}.spec"),
                (true, false) => format!("{path}.spec.{}", error.path),
                (false, false) => format!("platform.{}", error.path),
            };
            self.error(&at, error.message);
        }
    }
}

impl Check<'_> {
    /// The plan's binding access strings, checked as the users they become.
    fn binding_access(
        &mut self,
        config: &BrokerConfig,
        plan: &Plan,
        spec: &spec::Spec,
        path: &str,
    ) {
        if !crate::binding::has_users(spec.auth.mode) {
            return;
        }
        let users = [
            ("access", &plan.bindings.access),
            ("read_only_access", &plan.bindings.read_only_access),
        ];
        for (field, access) in users {
            let user = crate::binding::BindingUser {
                name: "b-check".to_owned(),
                access: access.clone(),
            };
            let defaults = crate::instance::InstanceParameters::default();
            let checked = crate::instance::instance_spec(config, plan, "check", &defaults, &[user]);
            if let Err(errors) = checked {
                for error in errors.errors {
                    self.error(&format!("{path}.bindings.{field}"), error.message);
                }
            }
        }
    }
}

/// Lowercase letters, digits and hyphens, starting with a letter: what CLIs type.
fn is_cli_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
