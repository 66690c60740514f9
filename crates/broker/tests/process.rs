//! The `elasticache-broker` binary as a platform meets it: started on a configuration
//! file, killed (SIGKILL) right after accepting a provision and a bind, started again.
//! The operations complete, nothing is duplicated, and nothing either run logged at
//! `RUST_LOG=trace` holds a credential.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use test_support::{Account, Emulator};

use common::{PLAN, SERVICE, config_source, replication_groups};

const BROKER_PASSWORD: &str = "broker-password-9c1f";

/// One run of the binary on `config`, logging at trace level into `log`.
struct Running {
    child: Child,
    port: u16,
}

impl Running {
    fn start(account: &Account, config: &Path, port: u16, log: &Path) -> Running {
        let log = std::fs::File::create(log).expect("a log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_elasticache-broker"));
        command
            .arg(config)
            .args(["--log-format", "json"])
            .env("RUST_LOG", "trace")
            .env("BROKER_USERNAME", "cf")
            .env("BROKER_PASSWORD", BROKER_PASSWORD)
            .envs(account.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = command.spawn().expect("the broker starts");
        let running = Running { child, port };
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
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return (0, Value::Null);
        };
        let body = body.map(Value::to_string).unwrap_or_default();
        let auth = base64_basic("cf", BROKER_PASSWORD);
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {auth}\r\nX-Broker-API-Version: 2.17\r\nX-Broker-API-Request-Identity: test-{method}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return (0, Value::Null);
        }
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
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

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("broker-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir.join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_plane_a_killed_broker_finishes_its_provision_and_bind_after_a_restart_and_logs_no_secret()
 {
    let account = Emulator::account("broker_process").await;
    let port = free_port();
    let source = config_source(&account)
        .await
        .replace("listen: 0.0.0.0:8080", &format!("listen: 127.0.0.1:{port}"));
    let config = scratch("config.yaml");
    std::fs::write(&config, source).expect("the configuration");
    let logs = [
        scratch("first.log"),
        scratch("second.log"),
        scratch("third.log"),
    ];
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
    if let Some(dir) = config.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}
