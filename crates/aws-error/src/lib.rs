/*!
[`AwsError`]: a failed AWS call, with the operation, AWS's error code and message, in one
type every step crate's error can wrap. It owns the conversion from the SDK's
`SdkError`; it does not decide what an error means for a step (a "not found" that means
"absent" is handled where the call is made).
*/
#![deny(missing_docs)]

use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// A failed AWS call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct AwsError {
    /// The API operation, such as `CreateVpc`.
    pub operation: &'static str,
    /// AWS's error code, when it gave one.
    pub code: Option<String>,
    /// AWS's message, or the transport error when the call never got an answer.
    pub message: String,
}

impl AwsError {
    /// Whether AWS answered with this error code.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// A closure for `map_err` that names the operation: `.map_err(aws_error("CreateVpc"))`.
pub fn aws_error<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    move |err| {
        let code = err.code().map(str::to_owned);
        let message = match (err.code(), err.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            // No code: a transport failure, a timeout, or an emulator's HTML error page.
            _ => aws_smithy_types::error::display::DisplayErrorContext(&err).to_string(),
        };
        AwsError {
            operation,
            code,
            message,
        }
    }
}

/// A describe call's answer, where one specific "not found" error means the resource is
/// absent rather than that the call failed: `Ok(None)` for that error, `Ok(Some(output))`
/// on success, and an [`AwsError`] naming `operation` for anything else.
pub fn absent_if<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    operation: &'static str,
    is_not_found: impl FnOnce(&E) -> bool,
) -> Result<Option<T>, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(err) if err.as_service_error().is_some_and(is_not_found) => Ok(None),
        Err(err) => Err(aws_error(operation)(err)),
    }
}
