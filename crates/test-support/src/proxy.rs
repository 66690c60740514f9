//! A counting, delaying HTTP proxy in front of the emulator: every AWS call the SDK makes
//! through it is recorded by operation name, and each waits `latency` before it is
//! forwarded, so round trips made one after another show in wall time.
//!
//! It understands just enough HTTP/1.1 for the SDK's requests (headers, then a
//! `Content-Length` body); answers are copied back untouched.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy; it stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    /// `http://127.0.0.1:<port>`, for `endpoint_url`.
    pub endpoint: String,
    calls: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// A proxy on a free loopback port, forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, latency: Duration) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = calls.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, recorded) = (upstream.clone(), recorded.clone());
                tokio::spawn(async move {
                    let _ = relay(client, &upstream, latency, recorded).await;
                });
            }
        });
        Ok(Proxy {
            endpoint,
            calls,
            task,
        })
    }

    /// The operations called so far, in the order they arrived.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Forgets the calls so far.
    pub fn reset(&self) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.clear();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection: requests forwarded one by one, answers copied back.
async fn relay(
    client: TcpStream,
    upstream: &str,
    latency: Duration,
    calls: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    let (client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let answers =
        tokio::spawn(async move { tokio::io::copy(&mut server_read, &mut client_write).await });
    let mut client_read = BufReader::new(client_read);
    while let Some(request) = read_request(&mut client_read).await? {
        if let Ok(mut calls) = calls.lock() {
            calls.push(operation(&request));
        }
        tokio::time::sleep(latency).await;
        server_write.write_all(&request).await?;
    }
    server_write.shutdown().await?;
    let _ = answers.await;
    Ok(())
}

/// One whole request (head and body), or `None` when the client closed the connection.
async fn read_request(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut request = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        request.extend_from_slice(line.as_bytes());
        if line == "\r\n" {
            break;
        }
    }
    let start = request.len();
    request.resize(start + length, 0);
    reader.read_exact(&mut request[start..]).await?;
    Ok(Some(request))
}

/// The AWS operation a request calls: `X-Amz-Target` (JSON protocols) or `Action=` (query
/// protocols).
fn operation(request: &[u8]) -> String {
    let text = String::from_utf8_lossy(request);
    let target = text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("x-amz-target").then(|| {
            value
                .trim()
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    });
    let action = || {
        let body = text.split("\r\n\r\n").nth(1)?;
        body.split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
            .map(str::to_owned)
    };
    target
        .or_else(action)
        .unwrap_or_else(|| "unknown".to_owned())
}
