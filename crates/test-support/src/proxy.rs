//! A counting, delaying, fault-injecting HTTP proxy in front of the emulator: every AWS
//! call the SDK makes through it is recorded by operation name, each waits `latency`
//! before it is forwarded (so round trips made one after another show in wall time), and
//! a [`Faults`] rule may fail a call in one of the two ways AWS calls fail:
//! [`Fault::Refuse`] answers 503 before the emulator sees the request, and
//! [`Fault::Lose`] lets the emulator act and then answers 500 in its place (the lost
//! response, after which the caller cannot know whether the call took effect).
//!
//! It understands just enough HTTP/1.1 for the SDK's requests and the emulator's
//! answers (headers, then a `Content-Length` or chunked body).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How the proxy fails one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward the call and its answer.
    None,
    /// Answer 503 without forwarding: the call never took effect.
    Refuse,
    /// Forward the call, drop the emulator's answer and answer 500: the call took
    /// effect, but the caller does not know.
    Lose,
}

/// Decides each call's fate from its operation name (`CreateVpc`).
pub type Faults = Arc<dyn Fn(&str) -> Fault + Send + Sync>;

/// One call as the proxy saw it: what it was, when it arrived and when it was answered,
/// and the request itself, so it can be sent again ([`Proxy::replay_concurrently`]).
#[derive(Debug, Clone)]
struct Call {
    operation: String,
    request: Vec<u8>,
    arrived: Instant,
    answered: Option<Instant>,
}

type Calls = Arc<Mutex<Vec<Call>>>;

/// A running proxy; it stops when dropped.
pub struct Proxy {
    /// `http://127.0.0.1:<port>`, for `endpoint_url`.
    pub endpoint: String,
    calls: Calls,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl Proxy {
    /// A proxy on a free loopback port, forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, latency: Duration) -> std::io::Result<Proxy> {
        Self::with_faults(upstream, latency, Arc::new(|_| Fault::None)).await
    }

    /// A proxy that fails calls as `faults` decides. Calls are recorded with the fault
    /// they met: `CreateVpc` when forwarded, `CreateVpc!refused` or `CreateVpc!lost`.
    pub async fn with_faults(
        upstream: &str,
        latency: Duration,
        faults: Faults,
    ) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let relay_to = Relay {
            upstream,
            latency,
            calls: calls.clone(),
            faults,
        };
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let relay_to = relay_to.clone();
                tokio::spawn(async move {
                    let _ = relay_to.serve(client).await;
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
        self.recorded()
            .into_iter()
            .map(|call| call.operation)
            .collect()
    }

    /// The round trips the calls so far needed one after another: the longest chain of
    /// calls each of which arrived after the one before it was answered. Calls made all at
    /// once are 1; a read that needs the answer of another is one more.
    pub fn round_trips(&self) -> usize {
        round_trip_of_each(&self.recorded())
            .into_iter()
            .max()
            .unwrap_or(0)
    }

    /// Each call so far with the round trip it was made in (1 for the first ones), to
    /// see which read waited for which.
    pub fn calls_by_round_trip(&self) -> Vec<(String, usize)> {
        let calls = self.recorded();
        let trips = round_trip_of_each(&calls);
        calls.into_iter().map(|c| c.operation).zip(trips).collect()
    }

    /// Sends every call recorded so far again, all at once, each on its own connection
    /// through this proxy (so each waits the same latency), and returns how long the
    /// last answer took: the time the same calls take with full concurrency. Only for
    /// reads, and only against the emulator, which does not check a request's signature
    /// date. The replayed calls are not recorded.
    pub async fn replay_concurrently(&self) -> std::io::Result<Duration> {
        let requests: Vec<Vec<u8>> = self
            .recorded()
            .into_iter()
            .map(|call| call.request)
            .collect();
        let address = self.endpoint.trim_start_matches("http://").to_owned();
        let started = Instant::now();
        let sends = requests.into_iter().map(|request| {
            let address = address.clone();
            async move {
                let mut stream = TcpStream::connect(&address).await?;
                stream.write_all(&request).await?;
                read_message(&mut BufReader::new(stream)).await.map(drop)
            }
        });
        let calls_before = self.recorded().len();
        futures::future::try_join_all(sends).await?;
        let took = started.elapsed();
        if let Ok(mut calls) = self.calls.lock() {
            calls.truncate(calls_before);
        }
        Ok(took)
    }

    fn recorded(&self) -> Vec<Call> {
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

#[derive(Clone)]
struct Relay {
    upstream: String,
    latency: Duration,
    calls: Calls,
    faults: Faults,
}

const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
const LOST: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n";

impl Relay {
    /// One client connection: each request forwarded (or failed) and answered in turn.
    async fn serve(&self, client: TcpStream) -> std::io::Result<()> {
        let server = TcpStream::connect(&self.upstream).await?;
        let (client_read, mut client_write) = client.into_split();
        let (server_read, mut server_write) = server.into_split();
        let mut client_read = BufReader::new(client_read);
        let mut server_read = BufReader::new(server_read);
        while let Some(request) = read_message(&mut client_read).await? {
            let operation = operation(&request);
            let fault = (self.faults)(&operation);
            let index = self.record(
                match fault {
                    Fault::None => operation,
                    Fault::Refuse => format!("{operation}!refused"),
                    Fault::Lose => format!("{operation}!lost"),
                },
                &request,
            );
            tokio::time::sleep(self.latency).await;
            if fault == Fault::Refuse {
                client_write.write_all(REFUSED).await?;
                self.answered(index);
                continue;
            }
            server_write.write_all(&request).await?;
            let Some(answer) = read_message(&mut server_read).await? else {
                break;
            };
            match fault {
                Fault::Lose => client_write.write_all(LOST).await?,
                _ => client_write.write_all(&answer).await?,
            }
            self.answered(index);
        }
        server_write.shutdown().await?;
        Ok(())
    }

    /// Records a call as it arrives; its index is for [`Relay::answered`].
    fn record(&self, operation: String, request: &[u8]) -> usize {
        let Ok(mut calls) = self.calls.lock() else {
            return usize::MAX;
        };
        calls.push(Call {
            operation,
            request: request.to_vec(),
            arrived: Instant::now(),
            answered: None,
        });
        calls.len() - 1
    }

    fn answered(&self, index: usize) {
        if let Ok(mut calls) = self.calls.lock()
            && let Some(call) = calls.get_mut(index)
        {
            call.answered = Some(Instant::now());
        }
    }
}

/// For each call, the longest chain of calls ending in it, each arriving after the one
/// before it was answered.
fn round_trip_of_each(calls: &[Call]) -> Vec<usize> {
    let mut depths: Vec<usize> = Vec::with_capacity(calls.len());
    for call in calls {
        let after = calls
            .iter()
            .zip(&depths)
            .filter(|(earlier, _)| earlier.answered.is_some_and(|at| at <= call.arrived))
            .map(|(_, depth)| *depth)
            .max()
            .unwrap_or(0);
        depths.push(after + 1);
    }
    depths
}

/// One whole message (head and body), or `None` when the peer closed the connection.
async fn read_message<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut message = Vec::new();
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            chunked |= name.eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked");
        }
        message.extend_from_slice(line.as_bytes());
        if line == "\r\n" {
            break;
        }
    }
    if chunked {
        read_chunks(reader, &mut message).await?;
        return Ok(Some(message));
    }
    let start = message.len();
    message.resize(start + length, 0);
    reader.read_exact(&mut message[start..]).await?;
    Ok(Some(message))
}

/// A chunked body, copied as it came, through its last (empty) chunk.
async fn read_chunks<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    message: &mut Vec<u8>,
) -> std::io::Result<()> {
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line).await?;
        message.extend_from_slice(size_line.as_bytes());
        let size_text = size_line.trim().split(';').next().unwrap_or("0");
        let size = usize::from_str_radix(size_text, 16).unwrap_or(0);
        let start = message.len();
        message.resize(start + size + 2, 0);
        reader.read_exact(&mut message[start..]).await?;
        if size == 0 {
            return Ok(());
        }
    }
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
