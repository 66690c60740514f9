/*!
[`AwsError`]: a failed AWS call, with the operation, AWS's error code and message, in one
type every step crate's error can wrap. It owns the conversion from the SDK's
`SdkError` into one readable line; it does not decide what an error means for a step (a
"not found" that means "absent" is handled where the call is made).

Each kind of failure reads once, without the SDK's `Debug` dump:

- AWS answered with an error: `CreateVpc failed: VpcLimitExceeded: The maximum number of VPCs has been reached.`
- something else answered (an HTML page, an empty body): `CreateUserGroup failed: HTTP 500 from http://127.0.0.1:5000, not an AWS answer (text/html, 265 bytes)`
- nothing answered: `DescribeVpcs failed: could not connect to http://127.0.0.1:5999 (connection refused)`

The endpoint is named when `AWS_ENDPOINT_URL` sets it (the SDK reads the same
variable); otherwise it is AWS's own endpoint for the service and region.
*/
#![deny(missing_docs)]

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// A failed AWS call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct AwsError {
    /// The API operation, such as `CreateVpc`.
    pub operation: &'static str,
    /// AWS's error code, when it gave one.
    pub code: Option<String>,
    /// AWS's message, or what went wrong on the way when AWS did not answer.
    pub message: String,
    /// Who failed: AWS, or the way to it.
    pub fault: Fault,
}

/// Where a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// AWS (or the emulator) answered with an error of its own.
    Service,
    /// Something answered that is not an AWS error document.
    NotAws {
        /// The HTTP status.
        status: u16,
    },
    /// No answer: the connection failed or timed out.
    Transport,
    /// The request could not be built (a bug or a bad configuration).
    Request,
}

impl AwsError {
    /// Whether AWS answered with this error code.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The endpoint that did not answer as AWS would, when `AWS_ENDPOINT_URL` points the
    /// SDK at one (an emulator, usually): the front end can suggest starting it.
    pub fn unreachable_override(&self) -> Option<String> {
        match self.fault {
            Fault::NotAws { .. } | Fault::Transport => endpoint_override(),
            Fault::Service | Fault::Request => None,
        }
    }
}

/// The endpoint `AWS_ENDPOINT_URL` sets, if any.
fn endpoint_override() -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

fn endpoint_text() -> String {
    endpoint_override().unwrap_or_else(|| "the AWS endpoint".to_owned())
}

/// A closure for `map_err` that names the operation: `.map_err(aws_error("CreateVpc"))`.
pub fn aws_error<E>(operation: &'static str) -> impl FnOnce(SdkError<E, Response>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    move |err| {
        let (fault, message) = describe(&err);
        AwsError {
            operation,
            code: err.code().map(str::to_owned),
            message,
            fault,
        }
    }
}

/// The fault and its one-line message.
fn describe<E>(err: &SdkError<E, Response>) -> (Fault, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let (Some(code), message) = (err.code(), err.message()) {
        let message = match message {
            Some(message) => format!("{code}: {message}"),
            None => code.to_owned(),
        };
        return (Fault::Service, message);
    }
    match err {
        SdkError::ServiceError(context) => not_aws(context.raw()),
        SdkError::ResponseError(context) => not_aws(context.raw()),
        SdkError::DispatchFailure(failure) => {
            let reason = if failure.is_timeout() {
                "timed out".to_owned()
            } else {
                innermost(err)
            };
            (
                Fault::Transport,
                format!("could not connect to {} ({reason})", endpoint_text()),
            )
        }
        SdkError::TimeoutError(_) => (
            Fault::Transport,
            format!("no answer from {} in time", endpoint_text()),
        ),
        _ => (
            Fault::Request,
            format!("the request could not be sent: {}", innermost(err)),
        ),
    }
}

/// An answer without an AWS error code: its status, type and size, never its body.
fn not_aws(raw: &Response) -> (Fault, String) {
    let status = raw.status().as_u16();
    let kind = raw
        .headers()
        .get("content-type")
        .unwrap_or("no content type");
    let size = raw.body().bytes().map_or(0, <[u8]>::len);
    (
        Fault::NotAws { status },
        format!(
            "HTTP {status} from {}, not an AWS answer ({kind}, {size} bytes)",
            endpoint_text()
        ),
    )
}

/// The deepest cause's text (`connection refused`, `dns error: …`): the layers above it
/// only repeat "dispatch failure" and "io error".
pub fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    // std's io errors read "Connection refused (os error 111)": the number helps no one.
    match text.find(" (os error") {
        Some(end) => text[..end].to_lowercase(),
        None => text,
    }
}

/// A describe call's answer, where one specific "not found" error means the resource is
/// absent rather than that the call failed: `Ok(None)` for that error, `Ok(Some(output))`
/// on success, and an [`AwsError`] naming `operation` for anything else.
pub fn absent_if<T, E>(
    result: Result<T, SdkError<E, Response>>,
    operation: &'static str,
    is_not_found: impl FnOnce(&E) -> bool,
) -> Result<Option<T>, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(err) if err.as_service_error().is_some_and(is_not_found) => Ok(None),
        Err(err) => Err(aws_error(operation)(err)),
    }
}

/// AWS error codes that mean the service failed while handling the call: it may or may
/// not have acted.
const SERVER_FAULT_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceError",
    "ServiceUnavailable",
    "Unavailable",
    "KMSInternalException",
    "InternalServiceErrorException",
    "ServiceFailure",
];

impl AwsError {
    /// Whether the call may have taken effect although it failed: the connection broke,
    /// no answer came in time, or the service failed while handling it. Retrying a
    /// create then may make a second resource; look first ([`create_once`]).
    pub fn outcome_unknown(&self) -> bool {
        match self.fault {
            Fault::Transport => true,
            Fault::NotAws { status } => status >= 500,
            Fault::Service => self
                .code
                .as_deref()
                .is_some_and(|code| SERVER_FAULT_CODES.contains(&code)),
            Fault::Request => false,
        }
    }
}

/// How many times [`create_once`] sends a create whose outcome stayed unknown.
const CREATE_ATTEMPTS: u32 = 6;

/// Creates a resource that AWS gives no idempotency token for (`CreateVpc`,
/// `CreateSubnet`, `CreateKey`), without ever making two.
///
/// `create` must send the call once, without the SDK's retries. When its outcome is
/// unknown ([`AwsError::outcome_unknown`]), `find` looks for the resource by its name or
/// tags before anything is sent again: what it finds is adopted. Lookups are repeated
/// after pauses (AWS's reads can lag its writes) before the create is sent again.
/// Any other error is returned as it is.
pub async fn create_once<T, Created, Found>(
    sleep: Option<aws_smithy_async::rt::sleep::SharedAsyncSleep>,
    create: impl Fn() -> Created,
    find: impl Fn() -> Found,
) -> Result<T, AwsError>
where
    Created: Future<Output = Result<T, AwsError>>,
    Found: Future<Output = Result<Option<T>, AwsError>>,
{
    let mut attempt = 1;
    loop {
        let unknown = match create().await {
            Ok(created) => return Ok(created),
            Err(error) if !error.outcome_unknown() => return Err(error),
            Err(error) => error,
        };
        if let Some(found) = find_after_pauses(&sleep, &find).await? {
            return Ok(found);
        }
        // Even the last attempt is looked for: its create may have been the one that
        // took effect.
        if attempt == CREATE_ATTEMPTS {
            return Err(unknown);
        }
        attempt += 1;
    }
}

/// Looks for what a create of unknown outcome may have made, at once and after two
/// pauses (AWS's reads can lag its writes).
async fn find_after_pauses<T, Found>(
    sleep: &Option<aws_smithy_async::rt::sleep::SharedAsyncSleep>,
    find: &impl Fn() -> Found,
) -> Result<Option<T>, AwsError>
where
    Found: Future<Output = Result<Option<T>, AwsError>>,
{
    for pause_ms in [0, 200, 1000] {
        if let (Some(sleep), true) = (sleep, pause_ms > 0) {
            use aws_smithy_async::rt::sleep::AsyncSleep;
            sleep
                .sleep(std::time::Duration::from_millis(pause_ms))
                .await;
        }
        if let Some(found) = find().await? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// A create's result where `code` means it was done already (a retry whose first answer
/// was lost found its own resource): `Ok(None)` then, `Ok(Some(output))` on success.
pub fn already_done<T>(result: Result<T, AwsError>, code: &str) -> Result<Option<T>, AwsError> {
    match result {
        Ok(output) => Ok(Some(output)),
        Err(error) if error.is(code) => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn lost(operation: &'static str) -> AwsError {
        AwsError {
            operation,
            code: None,
            message: "connection reset".to_owned(),
            fault: Fault::Transport,
        }
    }

    fn run<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    #[test]
    fn a_create_whose_every_answer_is_lost_is_looked_for_after_the_last_attempt() {
        let creates = Cell::new(0);
        let found = run(create_once(
            None,
            || {
                creates.set(creates.get() + 1);
                async { Err::<&str, _>(lost("CreateVpc")) }
            },
            || {
                // The last create is the one that took effect.
                let made = creates.get() == CREATE_ATTEMPTS;
                async move { Ok(made.then_some("vpc-1")) }
            },
        ));
        assert_eq!(found, Ok("vpc-1"));
        assert_eq!(creates.get(), CREATE_ATTEMPTS);
    }

    #[test]
    fn a_create_that_never_took_effect_returns_its_last_error() {
        let creates = Cell::new(0);
        let result = run(create_once(
            None,
            || {
                creates.set(creates.get() + 1);
                async { Err::<&str, _>(lost("CreateVpc")) }
            },
            || async { Ok(None) },
        ));
        assert_eq!(result, Err(lost("CreateVpc")));
        assert_eq!(creates.get(), CREATE_ATTEMPTS);
    }

    #[test]
    fn a_refused_create_is_not_sent_again_nor_looked_for() {
        let finds = Cell::new(0);
        let refused = AwsError {
            operation: "CreateVpc",
            code: Some("VpcLimitExceeded".to_owned()),
            message: "limit".to_owned(),
            fault: Fault::Service,
        };
        let result = run(create_once(
            None,
            || async { Err::<&str, _>(refused.clone()) },
            || {
                finds.set(finds.get() + 1);
                async { Ok(Some("vpc-1")) }
            },
        ));
        assert_eq!(result, Err(refused.clone()));
        assert_eq!(finds.get(), 0);
    }
}
