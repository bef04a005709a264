//! Errors as pages: what an operator sees when something a page needs failed, with the
//! status a browser and a monitor should see; and the query string of a page, whose
//! problems are a page too.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use upline_domain::error::AppError;

use crate::pages::{Layout, message};

/// `error` as a page. Details of internal failures go to the log, not to the page.
pub fn page_error(error: AppError) -> Response {
    let layout = Layout::public("Upline");
    let back = Some(("/console", "Back to the console"));
    match error {
        AppError::Unavailable(_) | AppError::Internal(_) => {
            tracing::error!(error = %error, "a console page failed");
            message(
                error_status(&error),
                &layout,
                "Something went wrong",
                &["The page could not be shown. Try again in a moment."],
                back,
            )
        }
        AppError::RateLimited { retry_after_secs } => {
            let wait = format!(
                "Too many attempts from here. Try again in {} minutes.",
                retry_after_secs.div_ceil(60)
            );
            let mut resp = message(
                StatusCode::TOO_MANY_REQUESTS,
                &layout,
                "Please wait a little",
                &[&wait],
                None,
            );
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
            resp
        }
        AppError::NotFound(_) => not_found(),
        other => {
            let text = other.describe();
            message(
                error_status(&other),
                &layout,
                "That did not work",
                &[&text],
                back,
            )
        }
    }
}

fn error_status(error: &AppError) -> StatusCode {
    StatusCode::from_u16(upline_http::ApiError(error.clone()).problem().status)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `404` as a page.
pub fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        &Layout::public("Upline"),
        "Page not found",
        &["There is no such page in the console."],
        Some(("/console", "Back to the console")),
    )
}

/// The handler of console paths that are no page.
pub async fn not_found_page() -> Response {
    not_found()
}

/// A page handler's failure, answered with its error page: handlers return
/// [`PageResult`] and use `?` on the use cases they call.
pub struct PageError(AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        page_error(self.0)
    }
}

pub type PageResult = Result<Response, PageError>;

/// A page's query string, read as the API reads its own, but a malformed one answered
/// with an error page.
pub struct PageParams<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for PageParams<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Response> {
        upline_http::Params::<T>::from_request_parts(parts, state)
            .await
            .map(|upline_http::Params(q)| PageParams(q))
            .map_err(|upline_http::ApiError(e)| page_error(e))
    }
}
