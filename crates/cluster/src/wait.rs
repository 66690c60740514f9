//! Waiting for ElastiCache to finish: polling with backoff, progress reports, a
//! timeout. Uses tokio's clock, so tests can run a one-hour wait in no time.

use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, sleep};

use crate::ClusterError;

/// How long and how often to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// Whether to wait after the last change (waits between changes that must follow
    /// one another happen regardless).
    pub wait: bool,
    /// How long one wait may take.
    pub timeout: Duration,
    /// The first pause between polls; it grows by half each poll.
    pub first_poll: Duration,
    /// The longest pause between polls.
    pub max_poll: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            wait: true,
            timeout: Duration::from_secs(60 * 60),
            // Short first, then growing: a quick change is seen at once, a long one
            // costs a poll a minute.
            first_poll: Duration::from_secs(1),
            max_poll: Duration::from_secs(60),
        }
    }
}

/// A report while waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// What is waited for, such as `replication group demo`.
    pub resource: String,
    /// Its status now.
    pub status: String,
    /// Time since the wait began.
    pub elapsed: Duration,
}

/// One poll's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Poll {
    /// Done.
    Ready,
    /// Not yet; the status now.
    Pending(String),
    /// It will never be ready; the status now.
    Failed(String),
}

/// Polls until ready, failed, or timed out.
pub(crate) async fn until<F, Fut>(
    resource: &str,
    options: &WaitOptions,
    on_progress: &(dyn Fn(Progress) + Sync),
    mut poll: F,
) -> Result<(), ClusterError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll, ClusterError>>,
{
    let started = Instant::now();
    let mut pause = options.first_poll;
    loop {
        let status = match poll().await? {
            Poll::Ready => return Ok(()),
            Poll::Failed(status) => {
                return Err(ClusterError::WaitFailed {
                    resource: resource.to_owned(),
                    status,
                });
            }
            Poll::Pending(status) => status,
        };
        let elapsed = started.elapsed();
        on_progress(Progress {
            resource: resource.to_owned(),
            status: status.clone(),
            elapsed,
        });
        if elapsed >= options.timeout {
            return Err(ClusterError::WaitTimedOut {
                resource: resource.to_owned(),
                status,
                waited: elapsed,
            });
        }
        // The last pause ends at the timeout, so the last poll is made then: a wait
        // gives up after the time it was given, not before.
        sleep(pause.min(options.timeout - elapsed)).await;
        pause = (pause + pause / 2).min(options.max_poll);
    }
}
