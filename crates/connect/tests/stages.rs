//! Each stage's success and each failure cause, against real servers on loopback:
//! a throwaway `redis-server` (tests named `data_plane_*` need one), a port nothing
//! listens on, a listener that never answers. TLS success and certificate trust are
//! proven against the emulator's TLS servers in `orchestrator`'s tests.

use std::time::Duration;

use connect::{Cause, Endpoint, Login, Options, StageName, check};
use test_support::redis_server::{RedisServer, free_port};

fn plain(port: u16) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port,
        tls: false,
        cluster_mode: false,
    }
}

fn user(name: &str, password: &str) -> Login {
    Login::User {
        name: name.into(),
        password: password.to_owned().into(),
    }
}

fn quick() -> Options {
    Options {
        timeout: Duration::from_millis(1500),
        ca_file: None,
    }
}

fn stages(report: &connect::Report) -> Vec<&'static str> {
    report.stages.iter().map(|s| s.stage.as_str()).collect()
}

#[tokio::test]
async fn data_plane_a_good_login_passes_every_stage_and_says_who() {
    let server = RedisServer::start(&["--user", "app", "on", ">app-password-1", "~*", "+@all"]);
    let report = check(
        &plain(server.port),
        &user("app", "app-password-1"),
        &quick(),
    )
    .await
    .expect("runs");
    assert!(report.passed(), "{report:?}");
    assert_eq!(
        stages(&report),
        ["dns", "tcp", "auth", "ping", "acl whoami"]
    );
    assert_eq!(report.stages[3].detail, "PONG");
    assert_eq!(report.stages[4].detail, "app");
    let json = serde_json::to_value(&report).expect("JSON");
    assert!(json["stages"][0]["latency_ms"].is_u64(), "{json}");
}

#[tokio::test]
async fn data_plane_server_refusals_are_named_by_stage() {
    let server = RedisServer::start(&[
        "--requirepass",
        "the-token-0123456789",
        "--user",
        "narrow",
        "on",
        ">narrow-password",
        "~*",
        "+ping",
    ]);
    let endpoint = plain(server.port);
    let cases = [
        (user("app", "wrong"), StageName::Auth, "WRONGPASS"),
        (
            Login::Token("not-the-token".to_owned().into()),
            StageName::Auth,
            "WRONGPASS",
        ),
        (Login::Nobody, StageName::Ping, "NOAUTH"),
        (
            user("narrow", "narrow-password"),
            StageName::Whoami,
            "NOPERM",
        ),
    ];
    for (login, stage, code) in cases {
        let report = check(&endpoint, &login, &quick()).await.expect("runs");
        let failure = report.failure.as_ref().expect("fails");
        assert_eq!(failure.stage, stage, "{report:?}");
        assert!(
            failure.cause.to_string().starts_with(code),
            "{}",
            failure.cause
        );
        assert!(
            !format!("{report:?}").contains("wrong\""),
            "no password in the report"
        );
    }
    let report = check(
        &endpoint,
        &Login::Token("the-token-0123456789".to_owned().into()),
        &quick(),
    )
    .await
    .expect("runs");
    assert!(report.passed(), "{report:?}");
    assert_eq!(report.stages[4].detail, "default");
}

#[tokio::test]
async fn data_plane_tls_to_a_server_without_it_fails_at_the_tls_stage() {
    let server = RedisServer::start(&[]);
    let endpoint = Endpoint {
        tls: true,
        ..plain(server.port)
    };
    let report = check(&endpoint, &Login::Nobody, &quick())
        .await
        .expect("runs");
    let failure = report.failure.expect("fails");
    assert_eq!(failure.stage, StageName::Tls);
    // A plain server reads the ClientHello as the start of a command and waits.
    assert!(
        matches!(
            failure.cause,
            Cause::Handshake { .. } | Cause::Timeout { .. }
        ),
        "{:?}",
        failure.cause
    );
}

#[tokio::test]
async fn nothing_listening_is_refused_and_an_unknown_host_fails_dns() {
    let report = check(&plain(free_port()), &Login::Nobody, &quick())
        .await
        .expect("runs");
    let failure = report.failure.expect("fails");
    assert_eq!(failure.stage, StageName::Tcp);
    assert!(
        matches!(failure.cause, Cause::Refused { .. }),
        "{:?}",
        failure.cause
    );

    let endpoint = Endpoint {
        host: "no-such-cache.invalid".into(),
        ..plain(6379)
    };
    let report = check(&endpoint, &Login::Nobody, &quick())
        .await
        .expect("runs");
    let failure = report.failure.expect("fails");
    assert_eq!(failure.stage, StageName::Dns);
    assert!(
        matches!(failure.cause, Cause::NoSuchHost { .. }),
        "{:?}",
        failure.cause
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_limit() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let port = listener.local_addr().expect("address").port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    for tls in [true, false] {
        let endpoint = Endpoint { tls, ..plain(port) };
        let started = std::time::Instant::now();
        let report = check(&endpoint, &Login::Nobody, &quick())
            .await
            .expect("runs");
        let failure = report.failure.expect("fails");
        let expected = if tls { StageName::Tls } else { StageName::Auth };
        // With no login, the redis client's first request is its own: AUTH's stage.
        assert_eq!(failure.stage, expected, "{:?}", failure);
        assert!(
            matches!(failure.cause, Cause::Timeout { .. }),
            "{:?}",
            failure.cause
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
    held.abort();
}

#[tokio::test]
async fn an_unreadable_ca_file_is_refused_before_any_stage() {
    let endpoint = Endpoint {
        tls: true,
        ..plain(6379)
    };
    let options = Options {
        ca_file: Some("/nonexistent/ca.pem".into()),
        ..quick()
    };
    let error = check(&endpoint, &Login::Nobody, &options)
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
}

#[tokio::test]
async fn a_port_that_drops_connections_times_out_at_the_tcp_stage() {
    // A listener that never accepts, its backlog full: Linux then drops new SYNs, as a
    // security group that does not admit this address does.
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("binds");
    let listener = socket.listen(0).expect("listens");
    let port = listener.local_addr().expect("address").port();
    let mut queued = Vec::new();
    for _ in 0..4 {
        let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
        if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_millis(200), connect).await {
            queued.push(stream);
        }
    }
    let started = std::time::Instant::now();
    let report = check(&plain(port), &Login::Nobody, &quick())
        .await
        .expect("runs");
    let failure = report.failure.expect("fails");
    assert_eq!(failure.stage, StageName::Tcp, "{failure:?}");
    assert!(
        matches!(failure.cause, Cause::Timeout { .. }),
        "{:?}",
        failure.cause
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    drop((listener, queued));
}
