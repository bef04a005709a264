//! How the SDK's errors become the port's, by error code, so callers can tell a failed
//! condition from throttling, a bad request or an outage.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use upline_domain::ports::TableError;

/// Maps an SDK error by its code, so throttling, validation and outages stay distinct.
pub(super) fn map_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> TableError {
    match e.code() {
        Some("ConditionalCheckFailedException") => TableError::ConditionFailed,
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded",
        ) => TableError::Throttled,
        Some("TransactionConflictException") => TableError::TransactionConflict,
        Some("ValidationException") => {
            TableError::Invalid(e.message().unwrap_or("validation failed").to_string())
        }
        Some(code) => {
            TableError::Unavailable(format!("{code}: {}", e.message().unwrap_or_default()))
        }
        None => TableError::Unavailable(format!("{e:?}")),
    }
}

pub(super) fn build_error(e: impl std::fmt::Display) -> TableError {
    TableError::Invalid(e.to_string())
}
