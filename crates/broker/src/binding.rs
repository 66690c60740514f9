//! What a binding is made of before and after AWS: its key (the user's name, from the
//! binding id), the parameters a bind may pass, the user it adds to the instance's
//! spec, and the credentials a platform hands its application.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use spec::AuthMode;
use stack::{Connection, Credential};

use crate::config::Plan;

/// Hex digits of the binding id's SHA-256 in a user name: with `b-` and the stack's
/// 20 characters, the user id (`<stack>-b-<hex>`, 39) stays within ElastiCache's 40.
const KEY_DIGITS: usize = 16;

/// The key of binding `binding_id`: its record's name and its user's name. `b-` and a
/// hash of the id, so it starts with a letter and is lowercase (an IAM user's id is its
/// name) whatever the platform's ids look like. A stable interface, like
/// [`crate::instance::stack_name`].
pub fn key(binding_id: &str) -> String {
    let digest = Sha256::digest(binding_id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("b-{}", &hex[..KEY_DIGITS])
}

/// The parameters a bind passed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BindParameters {
    /// A user that may only read.
    pub read_only: bool,
}

/// Reads a bind's `parameters`; every problem is one line.
pub fn parameters(value: Option<&Value>) -> Result<BindParameters, Vec<String>> {
    let Some(object) = crate::instance::parameter_object(value)? else {
        return Ok(BindParameters::default());
    };
    let mut problems = Vec::new();
    let mut out = BindParameters::default();
    for (name, value) in object {
        match (name.as_str(), value.as_bool()) {
            ("read_only", Some(flag)) => out.read_only = flag,
            ("read_only", None) => {
                problems.push("parameter `read_only` must be true or false".to_owned())
            }
            (other, _) => problems.push(format!(
                "unknown parameter `{other}`: a bind takes read_only"
            )),
        }
    }
    match problems.is_empty() {
        true => Ok(out),
        false => Err(problems),
    }
}

/// A binding's user, as the instance's spec lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingUser {
    /// The user's name (the binding's key).
    pub name: String,
    /// Its access string: the plan's, or its read-only one.
    pub access: String,
}

impl BindingUser {
    /// The user of binding `key` with `parameters` on `plan`.
    pub fn new(plan: &Plan, key: &str, parameters: BindParameters) -> Self {
        let access = match parameters.read_only {
            true => &plan.bindings.read_only_access,
            false => &plan.bindings.access,
        };
        BindingUser {
            name: key.to_owned(),
            access: access.clone(),
        }
    }
}

/// Whether a stack of `mode` gets a user per binding (else its bindings share the
/// stack's one credential, or need none).
pub fn has_users(mode: AuthMode) -> bool {
    matches!(mode, AuthMode::Rbac | AuthMode::Iam)
}

/// The binding's `credentials` and OSB `endpoints`: where to connect and as whom. The
/// only answer that carries a secret, and only the binding's own.
pub fn credentials(
    connection: &Connection,
    user: Option<&str>,
    credential: Option<&Credential>,
) -> Value {
    let scheme = if connection.tls { "rediss" } else { "redis" };
    let (host, port) = (&connection.host, connection.port);
    let password = credential
        .and_then(|c| c.secret.as_ref())
        .map(|s| s.expose());
    let userinfo = match (user, password) {
        (Some(user), Some(password)) => format!("{}:{}@", encode(user), encode(password)),
        (None, Some(password)) => format!(":{}@", encode(password)),
        (Some(user), None) => format!("{}@", encode(user)),
        (None, None) => String::new(),
    };
    let mut credentials = json!({
        "host": host,
        "port": port,
        "tls_enabled": connection.tls,
        "cluster_mode": connection.cluster_mode,
        "uri": format!("{scheme}://{userinfo}{host}:{port}"),
    });
    if let Some(user) = user {
        credentials["username"] = json!(user);
    }
    if let Some(password) = password {
        credentials["password"] = json!(password);
    }
    if let Some(reader) = &connection.reader_host {
        credentials["reader_host"] = json!(reader);
    }
    if connection.cluster_mode {
        credentials["configuration_endpoint"] = json!(host);
    }
    if let stack::ConnectionAuth::Iam { .. } = &connection.auth {
        credentials["iam"] = json!({
            "user_id": user,
            "replication_group_id": connection.replication_group_id,
            "region": connection.region,
            "how": "the password is an IAM authentication token: a SigV4-presigned `GET http://<replication_group_id>/?Action=connect&User=<user_id>` for service `elasticache`, valid 15 minutes, signed by a role allowed `elasticache:Connect` on the group and the user",
        });
    }
    let endpoints = json!([{ "host": host, "ports": [port.to_string()], "protocol": "tcp" }]);
    json!({ "credentials": credentials, "endpoints": endpoints })
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a password
/// with `@`, `:` or `/` survives in a URI's userinfo.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_short_lowercase_user_names() {
        let key = key("5f3c1a9e-7b2d-4c8e-9f01-23456789abcd");
        assert_eq!(key, super::key("5f3c1a9e-7b2d-4c8e-9f01-23456789abcd"));
        assert_ne!(key, super::key("5f3c1a9e-7b2d-4c8e-9f01-23456789abce"));
        assert_eq!(key.len(), 18);
        let user_id = format!("{}-{key}", crate::instance::stack_name("any"));
        assert!(user_id.len() <= 40, "{user_id}");
        assert!(
            key.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }

    #[test]
    fn bind_parameters_are_read_only_or_named_as_unknown() {
        assert_eq!(parameters(None), Ok(BindParameters::default()));
        let read_only = serde_json::json!({ "read_only": true });
        assert!(parameters(Some(&read_only)).is_ok_and(|p| p.read_only));
        let bad = serde_json::json!({ "read_only": "yes", "admin": true });
        let problems = parameters(Some(&bad)).expect_err("refused");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("unknown parameter `admin`"))
        );
    }

    #[test]
    fn passwords_are_percent_encoded_in_the_uri() {
        assert_eq!(encode("a@b:c/d%e f"), "a%40b%3Ac%2Fd%25e%20f");
        assert_eq!(encode("Plain-1._~"), "Plain-1._~");
    }
}
