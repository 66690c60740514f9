//! The stack lock: one writer at a time per stack, held in AWS, the way Terraform locks
//! its state.
//!
//! The lock is the SSM parameter `/elasticache-action/locks/<stack>`. `PutParameter`
//! without `Overwrite` is an atomic create-if-absent (a second writer gets
//! `ParameterAlreadyExists`), the parameter lives in the stack's account and region, the
//! stack already uses SSM (no other service to link or to grant), and it needs no table
//! or bucket made beforehand. Its value records who holds it, since when, for what and
//! until when (the lease).
//!
//! A lock whose lease has ended belongs to a run that died: it is taken over, safely
//! against two runs finding it at once. The taker first creates a claim,
//! `…/<stack>.takeover.<old lock id>`, also create-if-absent: only one run can make it,
//! and only that run deletes the old lock and creates its own. The others see a held
//! lock and wait. `unlock` deletes a lock only when given its id.
//!
//! A lock alone does not stop a plan made before another run's apply from being applied
//! after it (its creates would duplicate what that run made). So each stack has a
//! serial, the SSM parameter `/elasticache-action/serials/<stack>`, as Terraform's state
//! has: a plan records the serial it saw, and a run that takes the lock compares it
//! with the serial then, refuses a plan whose serial has moved, and moves the serial
//! before its first write (so a run killed half-way still moves it). Destroy deletes it
//! with the stack.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_error::{AwsError, absent_if, aws_error};
use aws_sdk_ssm::types::ParameterType;
use serde::{Deserialize, Serialize};

use crate::StackError;

/// How long a lock outlives a run that died holding it, beyond the run's own waits.
pub const LOCK_LEASE_MARGIN: Duration = Duration::from_secs(15 * 60);

/// How often a run waiting for the lock asks again.
const LOCK_POLL: Duration = Duration::from_secs(5);

/// Who holds a stack's lock, as the lock records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The lock's id, for `unlock`.
    pub id: String,
    /// The user or role ARN that took it.
    pub holder: String,
    /// The machine it was taken on.
    pub host: String,
    /// What it was taken for: `apply`, `destroy`, …
    pub command: String,
    /// When it was taken (RFC 3339, UTC).
    pub since: String,
    /// When its lease ends, as seconds since the Unix epoch: after that it is taken over.
    pub expires: u64,
    /// The CI run that holds it (its URL under GitHub Actions), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} on {}) since {}",
            self.holder, self.command, self.host, self.since
        )?;
        if let Some(run) = &self.run {
            write!(f, ", run {run}")?;
        }
        write!(f, "; lock id {}", self.id)
    }
}

/// A lock this run holds; [`StackLock::release`] gives it back.
#[derive(Debug)]
pub(crate) struct StackLock {
    ssm: aws_sdk_ssm::Client,
    id: String,
}

/// What a run asks the lock for.
pub(crate) struct LockRequest<'a> {
    pub command: &'a str,
    pub holder: &'a str,
    /// How long the run may take: the lease is this plus [`LOCK_LEASE_MARGIN`].
    pub runs_for: Duration,
    /// How long to wait for a held lock (zero: fail at once).
    pub timeout: Duration,
    /// What the run does with the stack's serial.
    pub serial: SerialRule<'a>,
}

/// What a run holding the lock does with the stack's serial.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SerialRule<'a> {
    /// It applies a plan that saw this serial (`None`: no serial then): refused if the
    /// serial moved, and moves it before writing.
    Planned(Option<&'a str>),
    /// It changes nothing a plan shows (rotation): the serial is left alone.
    Untouched,
}

/// The lock parameter's name for `stack`.
pub(crate) fn lock_name(stack: &str) -> String {
    format!("/elasticache-action/locks/{stack}")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The CI run, under GitHub Actions: its URL.
fn ci_run() -> Option<String> {
    let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    let (server, repository, run) = (
        var("GITHUB_SERVER_URL")?,
        var("GITHUB_REPOSITORY")?,
        var("GITHUB_RUN_ID")?,
    );
    Some(format!("{server}/{repository}/actions/runs/{run}"))
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown host".to_owned())
}

/// A lock id no other run will pick: the time, the process and a counter.
fn new_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}-{:x}-{count}", nanos, std::process::id())
}

fn rfc3339(secs: u64) -> String {
    let time = aws_smithy_types::DateTime::from_secs(secs as i64);
    time.fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// The serial parameter's name for `stack`.
fn serial_name(stack: &str) -> String {
    format!("/elasticache-action/serials/{stack}")
}

/// What a plan records of the lock: who holds it, and the stack's serial.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LockState {
    /// The lock, if a run holds it.
    pub held: Option<LockInfo>,
    /// The stack's serial: `None` before its first apply and after its destroy.
    pub serial: Option<String>,
}

/// The lock and the serial of `stack`, in one call.
pub(crate) async fn state(ssm: &aws_sdk_ssm::Client, stack: &str) -> Result<LockState, AwsError> {
    let (lock, serial) = (lock_name(stack), serial_name(stack));
    let found = ssm
        .get_parameters()
        .names(&lock)
        .names(&serial)
        .send()
        .await
        .map_err(aws_error("GetParameters"))?;
    let value = |name: &str| {
        found
            .parameters()
            .iter()
            .find(|p| p.name() == Some(name))
            .and_then(|p| p.value().map(str::to_owned))
    };
    Ok(LockState {
        held: value(&lock).map(|text| lock_info(&text)),
        serial: value(&serial),
    })
}

/// A lock's value as it records it; a value this tool did not write still names a lock.
fn lock_info(text: &str) -> LockInfo {
    serde_json::from_str(text).unwrap_or_else(|_| LockInfo {
        id: String::new(),
        holder: "an unreadable lock".to_owned(),
        host: "unknown host".to_owned(),
        command: "unknown".to_owned(),
        since: "an unknown time".to_owned(),
        expires: 0,
        run: None,
    })
}

/// The lock on `stack` as it stands, if one is held.
pub(crate) async fn held(
    ssm: &aws_sdk_ssm::Client,
    stack: &str,
) -> Result<Option<LockInfo>, AwsError> {
    let result = ssm.get_parameter().name(lock_name(stack)).send().await;
    let found = absent_if(result, "GetParameter", |e| e.is_parameter_not_found())?;
    let value = found.and_then(|p| p.parameter().and_then(|p| p.value().map(str::to_owned)));
    Ok(value.map(|text| lock_info(&text)))
}

/// Creates parameter `name` holding `value` if it does not exist: `Ok(false)` if it does.
async fn create(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) -> Result<bool, AwsError> {
    let result = ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String)
        .description("elasticache-action: the stack's lock; see `orchestrator unlock`")
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_parameter_already_exists()) =>
        {
            Ok(false)
        }
        Err(err) => Err(aws_error("PutParameter")(err)),
    }
}

async fn delete(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<(), AwsError> {
    let result = ssm.delete_parameter().name(name).send().await;
    absent_if(result, "DeleteParameter", |e| e.is_parameter_not_found())?;
    Ok(())
}

/// Takes the lock on `stack`, waiting up to `request.timeout` for a holder to finish,
/// then checks that no run has changed the stack since the plan (its serial) and moves
/// the serial on.
pub(crate) async fn acquire(
    ssm: &aws_sdk_ssm::Client,
    stack: &str,
    request: &LockRequest<'_>,
) -> Result<StackLock, StackError> {
    let lock = lock(ssm, stack, request).await?;
    let SerialRule::Planned(planned) = request.serial else {
        return Ok(lock);
    };
    match check_and_move_serial(ssm, stack, planned, &lock.id).await {
        Ok(()) => Ok(lock),
        Err(error) => {
            lock.release(stack).await?;
            Err(error)
        }
    }
}

async fn check_and_move_serial(
    ssm: &aws_sdk_ssm::Client,
    stack: &str,
    planned: Option<&str>,
    new: &str,
) -> Result<(), StackError> {
    let name = serial_name(stack);
    let result = ssm.get_parameter().name(&name).send().await;
    let found = absent_if(result, "GetParameter", |e| e.is_parameter_not_found())?;
    let now = found.and_then(|p| p.parameter.and_then(|p| p.value));
    if now.as_deref() != planned {
        let seen = |serial: Option<&str>| serial.unwrap_or("none").to_owned();
        return Err(StackError::ChangedSincePlan {
            step: "stack",
            differences: vec![format!(
                "another run changed it after this plan was made (serial {} then, {} now)",
                seen(planned),
                seen(now.as_deref())
            )],
        });
    }
    ssm.put_parameter()
        .name(&name)
        .value(new)
        .r#type(ParameterType::String)
        .overwrite(true)
        .description("elasticache-action: the stack's serial, moved by every apply and destroy")
        .send()
        .await
        .map_err(aws_error("PutParameter"))?;
    Ok(())
}

/// Deletes the stack's serial: destroy, once the stack is gone.
pub(crate) async fn delete_serial(ssm: &aws_sdk_ssm::Client, stack: &str) -> Result<(), AwsError> {
    delete(ssm, &serial_name(stack)).await
}

/// Takes the lock on `stack`, waiting up to `request.timeout` for a holder to finish.
async fn lock(
    ssm: &aws_sdk_ssm::Client,
    stack: &str,
    request: &LockRequest<'_>,
) -> Result<StackLock, StackError> {
    let name = lock_name(stack);
    let started = now_secs();
    let info = LockInfo {
        id: new_id(),
        holder: request.holder.to_owned(),
        host: host(),
        command: request.command.to_owned(),
        since: rfc3339(started),
        expires: started + (request.runs_for + LOCK_LEASE_MARGIN).as_secs(),
        run: ci_run(),
    };
    let value = serde_json::to_string(&info).unwrap_or_default();
    let waited_since = std::time::Instant::now();
    let taken = StackLock {
        ssm: ssm.clone(),
        id: info.id.clone(),
    };
    loop {
        if create(ssm, &name, &value).await? {
            return Ok(taken);
        }
        let Some(current) = held(ssm, stack).await? else {
            continue; // Released between our create and our read: try again.
        };
        // Our own create, whose answer was lost and whose SDK retry found it made.
        let ours = current.id == info.id;
        if ours || current.expires <= now_secs() && take_over(ssm, stack, &current, &value).await? {
            return Ok(taken);
        }
        let waited = waited_since.elapsed();
        if waited >= request.timeout {
            return Err(StackError::Locked {
                stack: stack.to_owned(),
                held: Box::new(current),
                waited,
            });
        }
        let pause = LOCK_POLL.min(request.timeout - waited);
        sleep(ssm, pause).await;
    }
}

/// Replaces `expired` by our lock if this run wins the claim on it.
///
/// The lock is read again while the claim is held: a run that read the expired lock
/// before another took it over (and gave its claim back) finds the new lock there and
/// leaves it alone.
async fn take_over(
    ssm: &aws_sdk_ssm::Client,
    stack: &str,
    expired: &LockInfo,
    value: &str,
) -> Result<bool, AwsError> {
    let name = lock_name(stack);
    let claim = claim_name(stack, &expired.id);
    if !create(ssm, &claim, value).await? {
        return Ok(false);
    }
    let still_expired = held(ssm, stack)
        .await?
        .is_some_and(|now| now.id == expired.id);
    let taken = still_expired && {
        delete(ssm, &name).await?;
        create(ssm, &name, value).await?
    };
    delete(ssm, &claim).await?;
    Ok(taken)
}

/// The claim a run makes before taking over the expired lock `id`.
fn claim_name(stack: &str, id: &str) -> String {
    format!("{}.takeover.{}", lock_name(stack), claim_suffix(id))
}

/// SSM names take letters, digits and `.-_`: an unreadable lock's empty id still names
/// one claim.
fn claim_suffix(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
        .collect();
    if cleaned.is_empty() {
        "unreadable".to_owned()
    } else {
        cleaned
    }
}

async fn sleep(ssm: &aws_sdk_ssm::Client, pause: Duration) {
    use aws_smithy_async::rt::sleep::AsyncSleep;
    if let Some(sleep) = ssm.config().sleep_impl() {
        sleep.sleep(pause).await;
    }
}

impl StackLock {
    /// Gives the lock back, if it is still ours (a run that outlived its lease may have
    /// lost it to another).
    pub(crate) async fn release(self, stack: &str) -> Result<(), StackError> {
        match held(&self.ssm, stack).await? {
            Some(current) if current.id == self.id => {
                Ok(delete(&self.ssm, &lock_name(stack)).await?)
            }
            _ => Ok(()),
        }
    }
}

/// Removes the lock `id` on `stack`, left by a run that died.
pub(crate) async fn unlock(
    ssm: &aws_sdk_ssm::Client,
    stack: &str,
    id: &str,
) -> Result<LockInfo, StackError> {
    match held(ssm, stack).await? {
        Some(current) if current.id == id => {
            delete(ssm, &lock_name(stack)).await?;
            // A run that died taking the lock over left its claim: gone with the lock.
            delete(ssm, &claim_name(stack, id)).await?;
            Ok(current)
        }
        held => Err(StackError::NotThatLock {
            stack: stack.to_owned(),
            id: id.to_owned(),
            held: held.map(Box::new),
        }),
    }
}
