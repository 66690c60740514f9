//! Connects to an ElastiCache replication group as an IAM user, keeps the connection
//! authenticated with fresh tokens, and PINGs once a minute.
//!
//! ```text
//! ELASTICACHE_ENDPOINT=master.orders-cache.abc123.euw1.cache.amazonaws.com:6379 \
//! ELASTICACHE_REPLICATION_GROUP=orders-cache ELASTICACHE_USER=orders-app \
//! AWS_REGION=eu-west-1 cargo run -p elasticache-action-iam-auth --features redis --example iam_connect
//! ```
//!
//! Credentials come from the AWS SDK's default chain (environment, profile, SSO, the
//! instance or task role); the IAM policy needs `elasticache:Connect` on the
//! replication group's ARN and on the user's ARN. `ELASTICACHE_CA_FILE` names a PEM
//! file of CA certificates to trust instead of the system's (a private CA, the local
//! emulator's).

use std::time::Duration;

use iam_auth::{RefreshPolicy, Target, TokenProvider};
use redis::{
    AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, TlsCertificates,
};

type Error = Box<dyn std::error::Error>;

fn required(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("set {name}").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let endpoint = required("ELASTICACHE_ENDPOINT")?;
    let group = required("ELASTICACHE_REPLICATION_GROUP")?;
    let user = required("ELASTICACHE_USER")?;
    let (host, port) = endpoint
        .rsplit_once(':')
        .map_or((endpoint.as_str(), "6379"), |(h, p)| (h, p));
    let port: u16 = port.parse()?;

    let aws = aws_config::load_from_env().await;
    let region = aws.region().ok_or("set AWS_REGION")?.to_string();
    let credentials = aws.credentials_provider().ok_or("no AWS credentials")?;
    let provider = TokenProvider::start(
        Target::replication_group(group),
        user,
        region,
        credentials,
        RefreshPolicy::default(),
    )
    .await?;

    // IAM authentication requires TLS. No password in the connection info: the provider
    // supplies the user and token, and sends AUTH again with each new token.
    let info: ConnectionInfo = ConnectionAddr::TcpTls {
        host: host.to_owned(),
        port,
        insecure: false,
        tls_params: None,
    }
    .into_connection_info()?;
    let certificates = TlsCertificates {
        client_tls: None,
        root_cert: std::env::var_os("ELASTICACHE_CA_FILE")
            .map(std::fs::read)
            .transpose()?,
    };
    let client = redis::Client::build_with_tls(info, certificates)?;
    let config = AsyncConnectionConfig::new().set_credentials_provider(provider);
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    loop {
        let pong: String = redis::cmd("PING").query_async(&mut connection).await?;
        println!("{pong}");
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}
