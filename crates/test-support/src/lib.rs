/*!
Test-only helpers for running against the local AWS emulator (moto in server mode, started
by `scripts/emulator.sh`). Each test gets an AWS account of its own, so tests run in
parallel on one emulator and never need a reset: [`Emulator::account`] assumes a role in a
fresh account and returns an `SdkConfig` whose every call lands there.

Not for production code: nothing here reads the user's AWS configuration.
*/
#![deny(missing_docs)]

pub mod data_plane;
pub mod proxy;
pub mod redis_server;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

/// The region tests use.
pub const REGION: &str = "us-east-1";

/// The emulator's address: `MOTO_ENDPOINT`, or moto's default on loopback.
pub fn endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5000".to_owned())
}

/// The emulator, as a test sees it.
#[derive(Debug, Clone, Copy)]
pub struct Emulator;

/// One test's AWS account on the emulator.
#[derive(Debug, Clone)]
pub struct Account {
    /// The 12-digit account id.
    pub id: String,
    /// An SDK configuration whose calls land in this account.
    pub config: SdkConfig,
    /// The environment a child process (the orchestrator binary) needs to act in this
    /// account on the emulator.
    pub env: Vec<(&'static str, String)>,
}

impl Account {
    /// This account's configuration with every call sent through `proxy`.
    pub fn through(&self, proxy: &proxy::Proxy) -> SdkConfig {
        self.config
            .to_builder()
            .endpoint_url(proxy.endpoint.clone())
            .build()
    }
}

impl Emulator {
    /// A fresh account for the test `name`. The id mixes the name with the time and a
    /// counter, so a rerun against the same emulator never meets what an earlier run left
    /// (stacks are not destroyed after each test).
    pub async fn account(name: &str) -> Account {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut hasher = DefaultHasher::new();
        name.hash(&mut hasher);
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            .hash(&mut hasher);
        COUNTER.fetch_add(1, Ordering::Relaxed).hash(&mut hasher);
        std::process::id().hash(&mut hasher);
        let id = format!("{:012}", hasher.finish() % 1_000_000_000_000);
        let (config, env) = Self::config_for(&id).await;
        Account { id, config, env }
    }

    /// A configuration for the emulator with static test credentials (account 123456789012).
    pub fn base_config() -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(endpoint())
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "emulator",
            )))
            .build()
    }

    async fn config_for(account: &str) -> (SdkConfig, Vec<(&'static str, String)>) {
        let base = Self::base_config();
        let sts = aws_sdk_sts::Client::new(&base);
        let assumed = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/test"))
            .role_session_name("test")
            .send()
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "the emulator at {} did not answer ({}); start it with `scripts/emulator.sh start`",
                    endpoint(),
                    aws_smithy_types::error::display::DisplayErrorContext(&err)
                )
            });
        let credentials = assumed.credentials().expect("moto returns credentials");
        let env = vec![
            ("AWS_ENDPOINT_URL", endpoint()),
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id().to_owned()),
            (
                "AWS_SECRET_ACCESS_KEY",
                credentials.secret_access_key().to_owned(),
            ),
            ("AWS_SESSION_TOKEN", credentials.session_token().to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
            ("NO_COLOR", "1".to_owned()),
        ];
        let config = base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                credentials.access_key_id(),
                credentials.secret_access_key(),
                Some(credentials.session_token().to_owned()),
                None,
                "emulator-account",
            )))
            .build();
        (config, env)
    }
}

/// The source of a valid spec for `stack`: a Valkey 8.0 stack in a new two-subnet VPC in
/// us-east-1, with `extra` appended. A top-level key in `extra` (`engine:`,
/// `node_type:`, `network:`, …) replaces the default one, so a test states only what
/// it is about.
pub fn spec_source(stack: &str, extra: &str) -> String {
    const DEFAULTS: [(&str, &str); 4] = [
        ("region", "us-east-1"),
        ("engine", "{name: valkey, version: \"8.0\"}"),
        ("node_type", "cache.r7g.large"),
        (
            "network",
            "{create: {vpc_cidr: 10.0.0.0/16, subnets: [{availability_zone: us-east-1a, cidr: 10.0.1.0/24}, \
             {availability_zone: us-east-1b, cidr: 10.0.2.0/24}]}, allow: {cidrs: [10.0.0.0/8]}}",
        ),
    ];
    let mut source = format!("stack: {stack}\n");
    for (key, value) in DEFAULTS {
        let prefix = format!("{key}:");
        if !extra.lines().any(|line| line.starts_with(&prefix)) {
            source += &format!("{key}: {value}\n");
        }
    }
    source + extra
}
