//! The token: validation, the request presigned, and its life.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use secrecy::{ExposeSecret, SecretString};

/// How long ElastiCache accepts a token: 15 minutes. The signed `X-Amz-Expires` is
/// always this; ElastiCache's documentation and tools use exactly 900.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// Which cache the token opens: a replication group (what this project's stacks are)
/// or a serverless cache, whose tokens carry `ResourceType=ServerlessCache` (without
/// it the server answers only a generic `WRONGPASS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A replication group, by id.
    ReplicationGroup(String),
    /// A serverless cache, by name.
    ServerlessCache(String),
}

impl Target {
    /// A replication group, by id.
    pub fn replication_group(id: impl Into<String>) -> Self {
        Target::ReplicationGroup(id.into())
    }

    /// A serverless cache, by name.
    pub fn serverless_cache(name: impl Into<String>) -> Self {
        Target::ServerlessCache(name.into())
    }

    fn name(&self) -> &str {
        match self {
            Target::ReplicationGroup(name) | Target::ServerlessCache(name) => name,
        }
    }
}

/// A signed token: the password for `AUTH <user-id> <token>`. Its `Debug` shows only
/// when it expires.
#[derive(Clone)]
pub struct IamToken {
    value: SecretString,
    expires_at: SystemTime,
}

impl IamToken {
    /// The token itself, for the one call that sends it.
    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }

    /// When ElastiCache stops accepting it: 15 minutes after signing, or earlier when
    /// the signing credentials expire first (a token dies with its credentials).
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
}

impl fmt::Debug for IamToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamToken")
            .field("value", &"(sensitive)")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why no token was made. The messages name the input, never its value: a mistyped
/// value may be a secret pasted into the wrong place.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The cache name breaks ElastiCache's naming rule.
    #[error(
        "the cache name is not a valid ElastiCache identifier: 1 to 40 letters, digits and single hyphens, starting with a letter, not ending with a hyphen"
    )]
    InvalidCacheName,
    /// The user id breaks ElastiCache's rule for user ids.
    #[error(
        "the user id is not a valid ElastiCache user id: a letter, then letters, digits and hyphens (at most 40 characters)"
    )]
    InvalidUserId,
    /// The region does not look like an AWS region.
    #[error("the region is not an AWS region name such as eu-west-1")]
    InvalidRegion,
    /// The credentials expired before signing.
    #[error(
        "the AWS credentials have expired; refresh them (aws sso login, a new role session) and try again"
    )]
    CredentialsExpired,
    /// The signer refused (never expected for validated inputs).
    #[error("signing the token failed: {0}")]
    Signing(String),
}

/// Signs an IAM authentication token for `user_id` on `target` in `region`, at `now`.
///
/// The cache name and user id are lowercased (ElastiCache stores them so; a token for
/// `Orders-Cache` would be refused) and validated first. The token is valid for
/// [`TOKEN_LIFETIME`], or until `credentials` expire if that is sooner.
pub fn token(
    target: &Target,
    user_id: &str,
    region: &str,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<IamToken, TokenError> {
    let name = target.name().to_ascii_lowercase();
    let user_id = user_id.to_ascii_lowercase();
    if !valid_cache_name(&name) {
        return Err(TokenError::InvalidCacheName);
    }
    if !valid_user_id(&user_id) {
        return Err(TokenError::InvalidUserId);
    }
    if !valid_region(region) {
        return Err(TokenError::InvalidRegion);
    }
    let expires_at = match credentials.expiry() {
        Some(expiry) if expiry <= now => return Err(TokenError::CredentialsExpired),
        Some(expiry) => expiry.min(now + TOKEN_LIFETIME),
        None => now + TOKEN_LIFETIME,
    };
    let mut url = format!("https://{name}/?Action=connect&User={user_id}");
    if matches!(target, Target::ServerlessCache(_)) {
        url.push_str("&ResourceType=ServerlessCache");
    }
    let signed = presign(&url, region, credentials, now)?;
    // Only the host enters the signature; ElastiCache wants the token without a scheme.
    let value = signed.trim_start_matches("https://").to_owned();
    Ok(IamToken {
        value: SecretString::from(value),
        expires_at,
    })
}

/// `url` with the SigV4 query parameters appended (`X-Amz-Security-Token` among the
/// signed ones when there is a session token, as ElastiCache requires).
fn presign(
    url: &str,
    region: &str,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<String, TokenError> {
    let signing_error = |e: &dyn fmt::Display| TokenError::Signing(e.to_string());
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let identity = credentials.clone().into();
    let params: aws_sigv4::http_request::SigningParams<'_> = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("elasticache")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| signing_error(&e))?
        .into();
    let request = SignableRequest::new("GET", url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| signing_error(&e))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| signing_error(&e))?
        .into_parts();
    let mut signed = url.to_owned();
    for (name, value) in instructions.params() {
        signed.push('&');
        signed.push_str(name);
        signed.push('=');
        signed.push_str(&query_escape(value));
    }
    Ok(signed)
}

/// Percent-encodes a query value as SigV4 does (RFC 3986 unreserved characters stay).
fn query_escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                escaped.push(char::from(byte));
            }
            _ => escaped.push_str(&format!("%{byte:02X}")),
        }
    }
    escaped
}

/// ElastiCache's identifier rule for replication groups and serverless caches:
/// `^[a-z][a-z0-9]*(-[a-z0-9]+)*$`, 1 to 40 characters (lowercase by now).
fn valid_cache_name(name: &str) -> bool {
    let starts_with_letter = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    starts_with_letter
        && name.len() <= 40
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// ElastiCache's user id rule, `^(default\.)?[a-z][a-z0-9-]*$`, at most 40 characters.
fn valid_user_id(user_id: &str) -> bool {
    let id = user_id.strip_prefix("default.").unwrap_or(user_id);
    id.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && user_id.len() <= 40
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// An AWS region name: lowercase words and a number, joined by hyphens
/// (`eu-west-1`, `us-gov-west-1`, `ap-southeast-5`).
fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && region.len() <= 30
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn query(token: &IamToken) -> Vec<(String, String)> {
        let (_, query) = token.expose().split_once('?').expect("a query");
        let mut pairs: Vec<(String, String)> = query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').expect("k=v");
                (k.to_owned(), v.to_owned())
            })
            .collect();
        pairs.sort();
        pairs
    }

    fn value<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    /// A token at the Java vectors' time (2025-01-01T00:00:00Z) in eu-west-1.
    fn signed(target: Target, user: &str, credentials: &Credentials) -> IamToken {
        token(&target, user, "eu-west-1", credentials, at(1_735_689_600)).expect("signs")
    }

    // The known-answer vectors of aws-samples/elasticache-iam-auth-demo-app's
    // IAMAuthTokenRequestTest (2025-01-01T00:00:00Z, eu-west-1).
    #[test]
    fn the_java_demo_apps_vector_without_a_session_token() {
        let credentials = Credentials::from_keys("fakeAccessKeyId", "fakeSecretKey", None);
        let target = Target::replication_group("my-replication-group-id");
        let token = signed(target, "my-user-id", &credentials);
        assert!(token.expose().starts_with("my-replication-group-id/?"));
        let pairs = query(&token);
        assert_eq!(
            value(&pairs, "X-Amz-Signature"),
            "9e361603d85874bce06114c6644725ed113e3b11ae6fa92efdf10c6bcf5de8d7"
        );
        assert_eq!(value(&pairs, "Action"), "connect");
        assert_eq!(value(&pairs, "User"), "my-user-id");
        assert_eq!(value(&pairs, "X-Amz-Expires"), "900");
        assert_eq!(value(&pairs, "X-Amz-Date"), "20250101T000000Z");
        assert_eq!(value(&pairs, "X-Amz-SignedHeaders"), "host");
        assert_eq!(
            value(&pairs, "X-Amz-Credential"),
            "fakeAccessKeyId%2F20250101%2Feu-west-1%2Felasticache%2Faws4_request"
        );
    }

    #[test]
    fn the_java_demo_apps_vector_with_a_session_token() {
        let credentials = Credentials::from_keys(
            "fakeAccessKeyId",
            "fakeSecretKey",
            Some("fakeSessionToken".into()),
        );
        let target = Target::replication_group("my-replication-group-id");
        let token = signed(target, "my-user-id", &credentials);
        let pairs = query(&token);
        assert_eq!(value(&pairs, "X-Amz-Security-Token"), "fakeSessionToken");
        assert_eq!(
            value(&pairs, "X-Amz-Signature"),
            "bbce2bd61bd78461297ecb92e7001ddbeab2d85906c3cbedad6c9b81fb3466dc"
        );
    }

    #[test]
    fn names_are_lowercased_and_serverless_caches_say_so() {
        let credentials = Credentials::from_keys("AKID", "secret", None);
        let group = signed(
            Target::replication_group("Orders-Cache"),
            "Orders-App",
            &credentials,
        );
        assert!(
            group
                .expose()
                .starts_with("orders-cache/?Action=connect&User=orders-app&X-Amz-"),
            "{}",
            group.expose()
        );
        let serverless = signed(
            Target::serverless_cache("orders"),
            "orders-app",
            &credentials,
        );
        assert_eq!(
            value(&query(&serverless), "ResourceType"),
            "ServerlessCache"
        );
        assert!(!group.expose().contains("ResourceType"));
    }

    #[test]
    fn a_token_lives_fifteen_minutes_or_until_its_credentials_expire() {
        let now = at(1_735_689_600);
        let target = Target::replication_group("orders-cache");
        let long = Credentials::new(
            "AKID",
            "secret",
            Some("session".into()),
            Some(now + Duration::from_secs(3600)),
            "test",
        );
        assert_eq!(
            token(&target, "app", "eu-west-1", &long, now)
                .expect("signs")
                .expires_at(),
            now + TOKEN_LIFETIME
        );
        let short = Credentials::new(
            "AKID",
            "secret",
            Some("session".into()),
            Some(now + Duration::from_secs(120)),
            "test",
        );
        let capped = token(&target, "app", "eu-west-1", &short, now).expect("signs");
        assert_eq!(capped.expires_at(), now + Duration::from_secs(120));
        assert_eq!(
            value(&query(&capped), "X-Amz-Expires"),
            "900",
            "the format stays 900"
        );
        let expired = Credentials::new("AKID", "secret", None, Some(now), "test");
        assert_eq!(
            token(&target, "app", "eu-west-1", &expired, now).map(|_| ()),
            Err(TokenError::CredentialsExpired)
        );
    }

    #[test]
    fn bad_inputs_are_refused_without_echoing_them() {
        let credentials = Credentials::from_keys("AKID", "secret", None);
        let now = at(1_735_689_600);
        let cases = [
            ("-orders", "app", "eu-west-1", TokenError::InvalidCacheName),
            (
                "orders--cache",
                "app",
                "eu-west-1",
                TokenError::InvalidCacheName,
            ),
            ("orders-", "app", "eu-west-1", TokenError::InvalidCacheName),
            (
                "hunter2&x=1",
                "app",
                "eu-west-1",
                TokenError::InvalidCacheName,
            ),
            ("orders", "1app", "eu-west-1", TokenError::InvalidUserId),
            (
                "orders",
                "app&Action=x",
                "eu-west-1",
                TokenError::InvalidUserId,
            ),
            ("orders", "", "eu-west-1", TokenError::InvalidUserId),
            ("orders", "app", "mars", TokenError::InvalidRegion),
            ("orders", "app", "EU-WEST-1", TokenError::InvalidRegion),
            ("orders", "app", "eu-west-1/x", TokenError::InvalidRegion),
        ];
        for (name, user, region, expected) in cases {
            let target = Target::replication_group(name);
            let error = token(&target, user, region, &credentials, now).expect_err(name);
            assert_eq!(error, expected, "{name} {user} {region}");
            let message = error.to_string();
            for input in [name, user, region].iter().filter(|i| i.len() > 3) {
                assert!(!message.contains(*input), "{message} echoes {input}");
            }
        }
        assert!(
            valid_user_id("default.app"),
            "the default. prefix is allowed"
        );
    }

    #[test]
    fn debug_hides_the_token() {
        let credentials = Credentials::from_keys("AKID", "secret", None);
        let token = signed(Target::replication_group("orders"), "app", &credentials);
        let shown = format!("{token:?}");
        assert!(!shown.contains("Signature"), "{shown}");
        assert!(shown.contains("sensitive"), "{shown}");
    }
}
