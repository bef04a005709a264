//! Errors as pages, for both doors: what a person sees when something a page needs failed,
//! with the status a browser and a monitor should see, and a page's query string whose
//! problems are a page too. Each door says how its pages look ([`Door`]).

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use upline_domain::error::AppError;

/// What the error pages of one set of pages (the portal, the console) need.
pub trait Door: Send + Sync + 'static {
    /// The page error pages lead back to: (path, link text).
    const HOME: (&'static str, &'static str);
    /// Who the pages are for when the program's name is not at hand.
    const UNNAMED: &'static str;
    /// What a missing page says.
    const NOT_FOUND: &'static str;

    /// A page in the door's layout with a heading, a few paragraphs and at most one link.
    fn message(
        status: StatusCode,
        program_name: &str,
        heading: &str,
        paragraphs: &[&str],
        link: Option<(&str, &str)>,
    ) -> Response;
}

/// `error` as a page. Details of internal failures go to the log, not to the page.
pub fn page_error<D: Door>(error: AppError) -> Response {
    let page = |status, heading, paragraphs: &[&str], link| {
        D::message(status, D::UNNAMED, heading, paragraphs, link)
    };
    match error {
        AppError::Unavailable(_) | AppError::Internal(_) => {
            tracing::error!(error = %error, "a page failed");
            page(
                error_status(&error),
                "Something went wrong",
                &["The page could not be shown. Try again in a moment."],
                Some(D::HOME),
            )
        }
        AppError::RateLimited { retry_after_secs } => {
            let wait = format!(
                "Too many attempts from here. Try again in {} minutes.",
                retry_after_secs.div_ceil(60)
            );
            let mut resp = page(
                StatusCode::TOO_MANY_REQUESTS,
                "Please wait a little",
                &[&wait],
                None,
            );
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
            resp
        }
        AppError::NotFound(_) => not_found::<D>(),
        other => {
            let text = other.describe();
            page(
                error_status(&other),
                "That did not work",
                &[&text],
                Some(D::HOME),
            )
        }
    }
}

fn error_status(error: &AppError) -> StatusCode {
    StatusCode::from_u16(upline_http::ApiError(error.clone()).problem().status)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `404` as a page.
pub fn not_found<D: Door>() -> Response {
    D::message(
        StatusCode::NOT_FOUND,
        D::UNNAMED,
        "Page not found",
        &[D::NOT_FOUND],
        Some(D::HOME),
    )
}

/// A page handler's failure, answered with its door's error page: handlers return
/// [`PageResult`] and use `?` on the use cases they call.
pub struct PageError<D>(AppError, PhantomData<D>);

impl<D> From<AppError> for PageError<D> {
    fn from(e: AppError) -> Self {
        PageError(e, PhantomData)
    }
}

impl<D: Door> IntoResponse for PageError<D> {
    fn into_response(self) -> Response {
        page_error::<D>(self.0)
    }
}

pub type PageResult<D> = Result<Response, PageError<D>>;

/// A page's query string, read as the API reads its own (`upline_http::Params`), but a
/// malformed one answered with an error page rather than a JSON problem.
pub struct PageParams<T, D> {
    pub query: T,
    door: PhantomData<D>,
}

impl<T, D, S> FromRequestParts<S> for PageParams<T, D>
where
    T: serde::de::DeserializeOwned,
    D: Door,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        upline_http::Params::<T>::from_request_parts(parts, state)
            .await
            .map(|upline_http::Params(query)| PageParams {
                query,
                door: PhantomData,
            })
            .map_err(|upline_http::ApiError(e)| page_error::<D>(e))
    }
}
