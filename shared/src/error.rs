//! The domain's error type: what went wrong in words a caller can act on. HTTP functions
//! map it to `application/problem+json` in one place; consumers map it to retry or poison.

use crate::ports::{QueueError, TableError};

/// A problem with one field of a request, named as the caller spelled it.
/// Why a value was refused, in words for whoever sent it ("must be a three-letter ISO 4217
/// code, got \"EURO\""). Parse functions return it; the edge names the field it was for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<String> for Invalid {
    fn from(message: String) -> Self {
        Invalid(message)
    }
}

impl From<&str> for Invalid {
    fn from(message: &str) -> Self {
        Invalid(message.to_string())
    }
}

// Reading the message as text (tests look for words in it) needs no unwrapping.
impl std::ops::Deref for Invalid {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<Invalid> for String {
    fn from(invalid: Invalid) -> String {
        invalid.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The most characters of a field error's message (and name) an answer carries: a
/// message may quote what was sent, and a megabyte sent must not come back, twice.
pub const MAX_MESSAGE_CHARS: usize = 200;

/// `text` cut to `max` characters, marked with an ellipsis where it was cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// Field errors in one line, `field message; field message`: how logs, problem
/// documents and delivery logs say what was wrong.
pub fn describe_fields(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{} {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl AppError {
    /// The error in one line, its fields named when it has them.
    pub fn describe(&self) -> String {
        match self {
            AppError::Invalid(fields) => describe_fields(fields),
            other => other.to_string(),
        }
    }
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        FieldError {
            field: clip(&field.into(), MAX_MESSAGE_CHARS),
            message: clip(&message.to_string(), MAX_MESSAGE_CHARS),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The request is well-formed but some fields are wrong (422).
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// The request cannot be read at all: bad JSON, wrong content type (400).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The body is over the route's limit (413).
    #[error("body over the limit of {limit_bytes} bytes")]
    TooLarge { limit_bytes: usize },
    /// Too many attempts from this caller or at this target (429).
    #[error("rate limited for {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The request clashes with what is stored (409), optionally naming the field.
    #[error("conflict: {detail}")]
    Conflict {
        field: Option<String>,
        detail: String,
    },
    /// A dependency failed in a way worth retrying (503).
    #[error("temporarily unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// A bug or corrupt data; details go to the log, not the caller.
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

/// What went wrong inside, in words, with the error that caused it when there was one, so
/// logs and `Diagnostic`s can follow the chain (`source()`) down to the SDK or the codec.
#[derive(Debug, Clone)]
pub struct Cause {
    message: String,
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl Cause {
    /// `error` as the cause, its text as the message.
    pub fn of(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Cause {
            message: error.to_string(),
            source: Some(std::sync::Arc::new(error)),
        }
    }

    /// `error` as the cause of what `message` says.
    pub fn with(
        message: impl Into<String>,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Cause {
            message: message.into(),
            source: Some(std::sync::Arc::new(error)),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

// Two causes are the same problem when they say the same thing; the chain is for logs.
impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl Eq for Cause {}

impl From<String> for Cause {
    fn from(message: String) -> Self {
        Cause {
            message,
            source: None,
        }
    }
}

impl From<&str> for Cause {
    fn from(message: &str) -> Self {
        message.to_string().into()
    }
}

impl AppError {
    pub fn field(field: &str, message: impl std::fmt::Display) -> Self {
        AppError::Invalid(vec![FieldError::new(field, message)])
    }

    /// Whether a consumer should try the message again.
    pub fn is_transient(&self) -> bool {
        matches!(self, AppError::Unavailable(_))
    }

    /// What a queue consumer does with a message that failed with this error: retry what
    /// time can fix (an unavailable dependency, a race, a program not set up yet); what it
    /// cannot (missing records, bad data, a bug) goes to the dead-letter area with this
    /// error as its reason, where an operator sees it and can redrive it once fixed.
    pub fn delivery_outcome(&self) -> crate::ports::DeliveryOutcome {
        use crate::ports::DeliveryOutcome;
        match self {
            AppError::Unavailable(_) | AppError::Conflict { .. } => DeliveryOutcome::Retry,
            other => DeliveryOutcome::DeadLetter(other.to_string()),
        }
    }
}

impl From<TableError> for AppError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::Throttled
            | TableError::Unavailable(_)
            | TableError::TransactionConflict => AppError::Unavailable(Cause::of(e)),
            TableError::ConditionFailed | TableError::TransactionCancelled { .. } => {
                AppError::Conflict {
                    field: None,
                    detail: "the record changed while this request was processed".into(),
                }
            }
            TableError::Invalid(m) => AppError::Internal(m.into()),
            // Cursors come from callers: a bad one is their mistake, not ours.
            TableError::BadCursor => AppError::field("cursor", "is not a cursor this API returned"),
        }
    }
}

impl From<crate::partner::IllegalTransition> for AppError {
    fn from(e: crate::partner::IllegalTransition) -> Self {
        AppError::Conflict {
            field: Some("status".into()),
            detail: e.0,
        }
    }
}

impl From<QueueError> for AppError {
    fn from(e: QueueError) -> Self {
        AppError::Unavailable(Cause::of(e))
    }
}

/// Collects field errors so a request reports all of its problems at once.
#[derive(Default, Debug)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, field: &str, message: impl std::fmt::Display) {
        self.0.push(FieldError::new(field, message));
    }

    /// Records the error of `result` under `field` and gives back its value if it had one.
    pub fn take<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(field, e);
                None
            }
        }
    }

    /// A required field: records "is required" when absent.
    pub fn required<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.push(field, "is required");
        }
        value
    }

    /// The names of the fields with errors, in the order they were found.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|e| e.field.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values of a request's fields once every one was read: each `None` in `fields`
    /// is a field that already pushed its error (that is what [`FieldErrors::required`]
    /// and [`FieldErrors::take`] do), so no errors means every value is there.
    pub fn finish<F: Complete>(self, fields: F) -> Result<F::Values, AppError> {
        self.into_result()?;
        fields
            .complete()
            .ok_or_else(|| AppError::Internal("a field was refused without saying why".into()))
    }

    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_never_echo_more_than_a_bounded_part_of_what_was_sent() {
        let huge = "9".repeat(1_000_000);
        let e = FieldError::new("amount", format!("must be a decimal, got {huge:?}"));
        assert_eq!(e.message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(e.message.ends_with('…'));
        assert!(e.message.starts_with("must be a decimal, got \"999"));
        assert_eq!(
            FieldError::new("amount", "is required").message,
            "is required"
        );
        assert_eq!(clip("héllo", 2), "hé…");
    }
}

/// A tuple of optional field values that is complete when every one is there; see
/// [`FieldErrors::finish`].
pub trait Complete {
    type Values;
    fn complete(self) -> Option<Self::Values>;
}

macro_rules! complete_tuple {
    ($($name:ident),+) => {
        impl<$($name),+> Complete for ($(Option<$name>,)+) {
            type Values = ($($name,)+);
            #[allow(non_snake_case)]
            fn complete(self) -> Option<Self::Values> {
                let ($($name,)+) = self;
                Some(($($name?,)+))
            }
        }
    };
}

complete_tuple!(A);
complete_tuple!(A, B);
complete_tuple!(A, B, C);
complete_tuple!(A, B, C, D);
complete_tuple!(A, B, C, D, E);
complete_tuple!(A, B, C, D, E, F);

#[cfg(test)]
mod finish_tests {
    use super::*;

    #[test]
    fn a_finished_request_has_every_value_or_every_field_error() {
        let mut errors = FieldErrors::default();
        let a = errors.required("a", Some(1));
        let b = errors.take("b", "7".parse::<u8>());
        assert_eq!(errors.finish((a, b)).unwrap(), (1, 7));

        let mut errors = FieldErrors::default();
        let a: Option<i32> = errors.required("a", None);
        let b = errors.take("b", "x".parse::<u8>());
        match errors.finish((a, b)) {
            Err(AppError::Invalid(fields)) => {
                let named: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
                assert_eq!(named, ["a", "b"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
