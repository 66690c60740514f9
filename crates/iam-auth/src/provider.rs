//! A `redis::StreamingCredentialsProvider` serving fresh IAM tokens.
//!
//! One background task per provider signs a token, sleeps until it is due for refresh,
//! and publishes the next one on a watch channel; every subscriber's stream yields the
//! current token first (the redis crate takes a connection's first credentials from a
//! stream of its own) and then each new one, which the redis crate sends as `AUTH` on
//! every live connection. The task stops once the provider and every stream are gone.

use std::pin::Pin;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use futures_util::Stream;
use rand::Rng;
use redis::{BasicAuth, ErrorKind, RedisError, RedisResult, StreamingCredentialsProvider};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::{Target, TokenError, token};

/// When tokens are renewed. The defaults are AWS's own toolkit's
/// (`aws/developer-toolkit-elasticache`): a new token after 5 minutes, none served
/// within 20 seconds of its expiry, retries with jittered backoff from 0.1 to 5 s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// How long after signing a token the next is signed.
    pub refresh_after: Duration,
    /// How close to its expiry a token is still served.
    pub serve_margin: Duration,
    /// The first retry's delay after a failed refresh.
    pub backoff_min: Duration,
    /// The longest delay between retries.
    pub backoff_max: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            refresh_after: Duration::from_secs(300),
            serve_margin: Duration::from_secs(20),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
        }
    }
}

/// What subscribers get: the token in use, or why there is none that may be served.
#[derive(Clone)]
enum Served {
    Token(BasicAuth),
    Failed(String),
}

/// Fresh IAM tokens for one user of one cache, for the redis crate's
/// `AsyncConnectionConfig::set_credentials_provider` (and the cluster and connection
/// manager equivalents). Cloning shares the one refresh task.
///
/// ```no_run
/// # async fn example(credentials: aws_credential_types::provider::SharedCredentialsProvider) -> Result<(), Box<dyn std::error::Error>> {
/// use iam_auth::{RefreshPolicy, Target, TokenProvider};
/// let provider = TokenProvider::start(
///     Target::replication_group("orders-cache"),
///     "orders-app",
///     "eu-west-1",
///     credentials,
///     RefreshPolicy::default(),
/// )
/// .await?;
/// let config = redis::AsyncConnectionConfig::new().set_credentials_provider(provider);
/// # let _ = config; Ok(()) }
/// ```
#[derive(Clone)]
pub struct TokenProvider {
    current: watch::Receiver<Served>,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenProvider").finish_non_exhaustive()
    }
}

/// Why a provider could not start: its first token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The inputs or the credentials' expiry.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The credentials provider failed.
    #[error("no AWS credentials to sign with: {0}")]
    Credentials(String),
}

/// What the refresh task serves: a login, and when it stops being accepted.
pub(crate) struct Issued {
    pub(crate) auth: BasicAuth,
    pub(crate) expires_at: SystemTime,
}

/// Where logins come from: IAM signing here, a scripted sequence in the tests (a local
/// redis-server cannot check SigV4, so they prove the refresh with plain passwords).
pub(crate) trait Source: Send + Sync + 'static {
    fn issue(&self) -> impl Future<Output = Result<Issued, StartError>> + Send;
}

/// Everything needed to sign again.
struct Signer {
    target: Target,
    user_id: String,
    region: String,
    credentials: SharedCredentialsProvider,
}

impl Source for Signer {
    async fn issue(&self) -> Result<Issued, StartError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| StartError::Credentials(e.to_string()))?;
        let token = token(
            &self.target,
            &self.user_id,
            &self.region,
            &credentials,
            SystemTime::now(),
        )?;
        Ok(Issued {
            // IAM users log in with their id, lowercased like the signed one.
            auth: BasicAuth::new(self.user_id.to_ascii_lowercase(), token.expose().to_owned()),
            expires_at: token.expires_at(),
        })
    }
}

impl TokenProvider {
    /// Signs the first token (so bad inputs and missing credentials fail here, not in a
    /// connection) and starts the refresh task on the current tokio runtime.
    pub async fn start(
        target: Target,
        user_id: impl Into<String>,
        region: impl Into<String>,
        credentials: SharedCredentialsProvider,
        policy: RefreshPolicy,
    ) -> Result<TokenProvider, StartError> {
        let signer = Signer {
            target,
            user_id: user_id.into(),
            region: region.into(),
            credentials,
        };
        Self::start_with(signer, policy).await
    }

    pub(crate) async fn start_with(
        source: impl Source,
        policy: RefreshPolicy,
    ) -> Result<TokenProvider, StartError> {
        let first = source.issue().await?;
        let serve_until = serve_deadline(first.expires_at, &policy);
        let (sender, current) = watch::channel(Served::Token(first.auth));
        tokio::spawn(refresh(source, policy, serve_until, sender));
        Ok(TokenProvider { current })
    }
}

/// The refresh loop: one token ahead of expiry, for as long as anyone listens.
async fn refresh(
    source: impl Source,
    policy: RefreshPolicy,
    mut serve_until: Instant,
    sender: watch::Sender<Served>,
) {
    let mut next = (Instant::now() + policy.refresh_after).min(serve_until);
    let mut delay = policy.backoff_min;
    let mut failure_published = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = sender.closed() => return,
        }
        match source.issue().await {
            Ok(fresh) => {
                serve_until = serve_deadline(fresh.expires_at, &policy);
                next = (Instant::now() + policy.refresh_after).min(serve_until);
                delay = policy.backoff_min;
                failure_published = false;
                sender.send_replace(Served::Token(fresh.auth));
            }
            Err(error) => {
                tracing::warn!(%error, "refreshing the ElastiCache IAM token failed; retrying");
                // The token in use stays served while it is valid: a failed refresh
                // is news only once there is nothing left to serve.
                if Instant::now() >= serve_until && !failure_published {
                    sender.send_replace(Served::Failed(error.to_string()));
                    failure_published = true;
                }
                next = Instant::now() + jittered(delay);
                delay = (delay * 2).min(policy.backoff_max);
            }
        }
    }
}

/// When a token stops being served: its expiry less the margin, on tokio's clock.
fn serve_deadline(expires_at: SystemTime, policy: &RefreshPolicy) -> Instant {
    let left = expires_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    Instant::now() + left.saturating_sub(policy.serve_margin)
}

/// Full jitter: anywhere between none and `delay`, so many clients do not retry at once.
fn jittered(delay: Duration) -> Duration {
    let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

impl StreamingCredentialsProvider for TokenProvider {
    fn subscribe(&self) -> Pin<Box<dyn Stream<Item = RedisResult<BasicAuth>> + Send + 'static>> {
        let mut current = self.current.clone();
        current.mark_changed();
        Box::pin(futures_util::stream::unfold(
            current,
            |mut current| async move {
                if current.changed().await.is_err() {
                    // The refresh task is gone (its runtime shut down). An ended stream
                    // makes the redis crate give up on the connection, so it stays open.
                    std::future::pending::<()>().await;
                }
                let served = current.borrow_and_update().clone();
                let item = match served {
                    Served::Token(auth) => Ok(auth),
                    Served::Failed(reason) => Err(RedisError::from((
                        ErrorKind::AuthenticationFailed,
                        "no valid ElastiCache IAM token",
                        reason,
                    ))),
                };
                Some((item, current))
            },
        ))
    }
}

#[cfg(test)]
#[path = "provider_tests.rs"]
mod tests;
