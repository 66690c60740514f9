//! The refresh rules on tokio's paused clock, and live re-authentication against a
//! real redis-server (tests named `data_plane_*` need one; `scripts/test.sh` skips
//! them, and says so, where it cannot be installed).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use redis::{AsyncConnectionConfig, BasicAuth, StreamingCredentialsProvider};
use test_support::redis_server::RedisServer;

use super::*;

/// Logins in the order the test scripts them; once they run out, every refresh fails.
#[derive(Clone, Default)]
struct Script(Arc<Mutex<VecDeque<(&'static str, &'static str)>>>);

impl Script {
    fn new(logins: &[(&'static str, &'static str)]) -> Self {
        Script(Arc::new(Mutex::new(logins.iter().copied().collect())))
    }
}

impl Source for Script {
    async fn issue(&self) -> Result<Issued, StartError> {
        let next = self.0.lock().map(|mut logins| logins.pop_front());
        match next {
            Ok(Some((user, password))) => Ok(Issued {
                auth: BasicAuth::new(user.into(), password.into()),
                expires_at: SystemTime::now() + Duration::from_secs(900),
            }),
            _ => Err(StartError::Credentials("the script ran out".into())),
        }
    }
}

fn user_of(item: Option<redis::RedisResult<BasicAuth>>) -> String {
    match item {
        Some(Ok(auth)) => auth.username().to_owned(),
        Some(Err(error)) => format!("error: {error}"),
        None => "ended".to_owned(),
    }
}

#[tokio::test(start_paused = true)]
async fn each_subscriber_gets_the_current_login_then_one_every_five_minutes() {
    let script = Script::new(&[("first", "p1"), ("second", "p2"), ("third", "p3")]);
    let provider = TokenProvider::start_with(script, RefreshPolicy::default())
        .await
        .expect("starts");
    let started = Instant::now();
    let mut stream = provider.subscribe();
    assert_eq!(user_of(stream.next().await), "first");
    assert_eq!(user_of(stream.next().await), "second");
    assert_eq!(started.elapsed(), Duration::from_secs(300));
    let mut late = provider.subscribe();
    assert_eq!(
        user_of(late.next().await),
        "second",
        "a new stream starts with the current one"
    );
    assert_eq!(user_of(stream.next().await), "third");
    assert_eq!(user_of(late.next().await), "third");
}

#[tokio::test(start_paused = true)]
async fn a_failing_refresh_keeps_the_valid_token_until_twenty_seconds_before_expiry() {
    let provider =
        TokenProvider::start_with(Script::new(&[("only", "p1")]), RefreshPolicy::default())
            .await
            .expect("starts");
    let started = Instant::now();
    let mut stream = provider.subscribe();
    assert_eq!(user_of(stream.next().await), "only");
    // Refreshes fail from 300 s on; nothing is news while the token may be served.
    let quiet = tokio::time::timeout(Duration::from_secs(870), stream.next()).await;
    assert!(quiet.is_err(), "no item while the token is valid");
    assert_eq!(
        user_of(provider.subscribe().next().await),
        "only",
        "new connections still get the valid token"
    );
    let failed = user_of(stream.next().await);
    assert!(
        failed.contains("no valid ElastiCache IAM token"),
        "{failed}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(880),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn bad_inputs_fail_at_start_not_in_a_connection() {
    let credentials = SharedCredentialsProvider::new(aws_credential_types::Credentials::from_keys(
        "AKID", "secret", None,
    ));
    let error = TokenProvider::start(
        Target::replication_group("orders"),
        "1-not-an-id",
        "eu-west-1",
        credentials,
        RefreshPolicy::default(),
    )
    .await
    .expect_err("refused");
    assert!(
        matches!(error, StartError::Token(TokenError::InvalidUserId)),
        "{error}"
    );
}

async fn admin(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{}", server.port)).expect("url");
    client
        .get_multiplexed_async_connection()
        .await
        .expect("the admin connection")
}

async fn whoami(connection: &mut redis::aio::MultiplexedConnection) -> String {
    redis::cmd("ACL")
        .arg("WHOAMI")
        .query_async(connection)
        .await
        .unwrap_or_else(|e| format!("error: {e}"))
}

#[tokio::test]
async fn data_plane_a_live_connection_logs_in_again_with_each_new_token_and_keeps_the_last_one() {
    let server = RedisServer::start(&[]);
    let mut admin = admin(&server).await;
    for (user, password) in [("alice", "pw-a"), ("bob", "pw-b")] {
        let _: () = redis::cmd("ACL")
            .arg(
                &[
                    "SETUSER",
                    user,
                    "on",
                    &format!(">{password}"),
                    "~*",
                    "+@all",
                ][..],
            )
            .query_async(&mut admin)
            .await
            .expect("adds a user");
    }
    let policy = RefreshPolicy {
        refresh_after: Duration::from_millis(300),
        ..RefreshPolicy::default()
    };
    let provider =
        TokenProvider::start_with(Script::new(&[("alice", "pw-a"), ("bob", "pw-b")]), policy)
            .await
            .expect("starts");
    let client = redis::Client::open(format!("redis://127.0.0.1:{}", server.port)).expect("url");
    let config = AsyncConnectionConfig::new().set_credentials_provider(provider.clone());
    let mut live = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("connects with the first login");
    assert_eq!(whoami(&mut live).await, "alice");

    let mut switched = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if whoami(&mut live).await == "bob" {
            switched = true;
            break;
        }
    }
    assert!(
        switched,
        "the live connection was re-authenticated with the new login"
    );

    // From here every refresh fails: the connection and new ones keep the last login.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(whoami(&mut live).await, "bob");
    let mut fresh = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("a new connection still gets the valid token");
    assert_eq!(whoami(&mut fresh).await, "bob");
}
