//! The `elasticache-broker` binary as a platform meets it: started on a configuration
//! file, killed (SIGKILL) right after accepting a provision and a bind, started again.
//! The operations complete, nothing is duplicated, and nothing either run logged at
//! `RUST_LOG=trace` holds a credential.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use test_support::{Account, Emulator};

use common::{PLAN, SERVICE, config_source, replication_groups};

const BROKER_PASSWORD: &str = "broker-password-9c1f";

/// One run of the binary on `config`, logging at trace level into `log`.
struct Running {
    child: Child,
    port: u16,
    /// Speak TLS, trusting this configuration's roots.
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Running {
    fn start(account: &Account, config: &Path, port: u16, log: &Path) -> Running {
        Self::start_with(&account.env, config, port, log, None)
    }

    fn start_with(
        env: &[(&'static str, String)],
        config: &Path,
        port: u16,
        log: &Path,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Running {
        let log = std::fs::File::create(log).expect("a log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_elasticache-broker"));
        command
            .arg(config)
            .args(["--log-format", "json"])
            .env("RUST_LOG", "trace")
            .env("BROKER_USERNAME", "cf")
            .env("BROKER_PASSWORD", BROKER_PASSWORD)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = command.spawn().expect("the broker starts");
        let running = Running { child, port, tls };
        for _ in 0..100 {
            if running.request("GET", "/healthz", None).0 == 200 {
                return running;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the broker did not answer /healthz");
    }

    /// An OSB request over a fresh connection: the status and the JSON body.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let Ok(tcp) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return (0, Value::Null);
        };
        let body = body.map(Value::to_string).unwrap_or_default();
        let auth = base64_basic("cf", BROKER_PASSWORD);
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {auth}\r\nX-Broker-API-Version: 2.17\r\nX-Broker-API-Request-Identity: test-{method}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let response = match &self.tls {
            None => exchange(tcp, &request),
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
                let Ok(client) = rustls::ClientConnection::new(config.clone(), name) else {
                    return (0, Value::Null);
                };
                exchange(rustls::StreamOwned::new(client, tcp), &request)
            }
        };
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// Polls a `last_operation` path until the state is not `in progress`.
    fn settle(&self, path: &str) -> (u16, Value) {
        for _ in 0..600 {
            let (status, body) = self.request("GET", path, None);
            if status != 200 || body["state"] != "in progress" {
                return (status, body);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("{path} still in progress after two minutes")
    }

    /// Stops it the way a crash does.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `request` and reads the answer until the server closes (empty on failure).
fn exchange(mut stream: impl Read + Write, request: &str) -> String {
    if stream.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// A directory of its own for test `test`.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("broker-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_plane_a_killed_broker_finishes_its_provision_and_bind_after_a_restart_and_logs_no_secret()
 {
    let account = Emulator::account("broker_process").await;
    let port = free_port();
    let source = config_source(&account)
        .await
        .replace("listen: 0.0.0.0:8080", &format!("listen: 127.0.0.1:{port}"));
    let dir = scratch("restart");
    let config = dir.join("config.yaml");
    std::fs::write(&config, source).expect("the configuration");
    let logs = ["first.log", "second.log", "third.log"].map(|name| dir.join(name));
    let instance = "8c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f";
    let binding = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9";
    let instance_path = format!("/v2/service_instances/{instance}");
    let binding_path = format!("{instance_path}/service_bindings/{binding}");
    let body = json!({ "service_id": SERVICE, "plan_id": PLAN });

    let first = Running::start(&account, &config, port, &logs[0]);
    let (status, provision) = first.request(
        "PUT",
        &format!("{instance_path}?accepts_incomplete=true"),
        Some(&body),
    );
    assert_eq!(status, 202, "{provision}");
    first.kill();

    let second = Running::start(&account, &config, port, &logs[1]);
    let operation = provision["operation"].as_str().expect("an operation");
    let (status, done) = second.settle(&format!(
        "{instance_path}/last_operation?operation={operation}"
    ));
    assert_eq!(
        (status, done["state"].as_str()),
        (200, Some("succeeded")),
        "{done}"
    );
    let (status, bind) = second.request(
        "PUT",
        &format!("{binding_path}?accepts_incomplete=true"),
        Some(&body),
    );
    assert_eq!(status, 202, "{bind}");
    second.kill();

    let third = Running::start(&account, &config, port, &logs[2]);
    let operation = bind["operation"].as_str().expect("an operation");
    let (status, done) = third.settle(&format!(
        "{binding_path}/last_operation?operation={operation}"
    ));
    assert_eq!(
        (status, done["state"].as_str()),
        (200, Some("succeeded")),
        "{done}"
    );
    let (status, bound) = third.request("GET", &binding_path, None);
    assert_eq!(status, 200, "{bound}");
    let password = bound["credentials"]["password"]
        .as_str()
        .expect("a password")
        .to_owned();
    let (status, resent) = third.request(
        "PUT",
        &format!("{binding_path}?accepts_incomplete=true"),
        Some(&body),
    );
    assert_eq!(
        (status, &resent["credentials"]),
        (200, &bound["credentials"])
    );
    third.kill();

    assert_eq!(replication_groups(&account).await, 1, "one stack");
    let elasticache = aws_sdk_elasticache::Client::new(&account.config);
    let users = elasticache.describe_users().send().await.expect("users");
    let binding_users = users
        .users()
        .iter()
        .filter(|u| u.user_name() == Some(&broker::binding::key(binding)))
        .count();
    assert_eq!(binding_users, 1, "one user for the binding");

    let mut lines = 0;
    for log in &logs {
        let text = std::fs::read_to_string(log).expect("the log");
        lines += text.lines().count();
        assert!(
            !text.contains(&password),
            "{} holds the binding's password",
            log.display()
        );
        assert!(
            !text.contains(BROKER_PASSWORD),
            "{} holds the broker's password",
            log.display()
        );
        let encoded = base64_basic("cf", BROKER_PASSWORD);
        assert!(
            !text.contains(&encoded),
            "{} holds the Authorization header",
            log.display()
        );
    }
    assert!(lines > 100, "trace level logs plenty ({lines} lines)");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The certificate and key the emulator's servers present (for localhost, made by
/// `scripts/emulator.sh`), and a client trusting its CA.
fn local_identity() -> (PathBuf, PathBuf, Arc<rustls::ClientConfig>) {
    use rustls::pki_types::pem::PemObject;
    let ca = test_support::data_plane::ca_file();
    let dir = ca.parent().expect("the CA's directory");
    let mut roots = rustls::RootCertStore::empty();
    for der in rustls::pki_types::CertificateDer::pem_file_iter(&ca).expect("the local CA") {
        roots.add(der.expect("a certificate")).expect("trusted");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    (
        dir.join("server.pem"),
        dir.join("server.key"),
        Arc::new(client),
    )
}

#[test]
fn with_a_certificate_and_key_the_broker_serves_only_https() {
    let dir = scratch("tls");
    let (cert, key, client) = local_identity();
    let port = free_port();
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/broker/config.yaml");
    let source = std::fs::read_to_string(example)
        .expect("the example")
        .replace(
            "listen: 0.0.0.0:8080",
            &format!(
                "listen: 127.0.0.1:{port}\ntls:\n  cert_file: {}\n  key_file: {}",
                cert.display(),
                key.display()
            ),
        );
    let config = dir.join("config.yaml");
    std::fs::write(&config, source).expect("the configuration");
    // The catalog needs no AWS call: nothing listens on port 9, so any would fail.
    let env = vec![
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
    ];
    let https = Running::start_with(&env, &config, port, &dir.join("tls.log"), Some(client));
    let (status, catalog) = https.request("GET", "/v2/catalog", None);
    assert_eq!(status, 200, "{catalog}");
    assert!(catalog["services"].is_array());
    let plain = Running {
        child: Command::new("true").spawn().expect("a placeholder"),
        port,
        tls: None,
    };
    assert_eq!(
        plain.request("GET", "/healthz", None).0,
        0,
        "no plain HTTP answer"
    );
    plain.kill();
    https.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
