//! Errors as pages, in the console's layout (`upline_web::problem` decides what each error
//! says and answers).

use axum::http::StatusCode;
use axum::response::Response;
use upline_domain::error::AppError;
use upline_web::problem::Door;

use crate::pages::{Layout, message};

/// The operator console's pages.
pub struct Console;

impl Door for Console {
    const HOME: (&'static str, &'static str) = ("/console", "Back to the console");
    const UNNAMED: &'static str = "Upline";
    const NOT_FOUND: &'static str = "There is no such page in the console.";

    fn message(
        status: StatusCode,
        program_name: &str,
        heading: &str,
        paragraphs: &[&str],
        link: Option<(&str, &str)>,
    ) -> Response {
        message(
            status,
            &Layout::public(program_name),
            heading,
            paragraphs,
            link,
        )
    }
}

pub type PageResult = upline_web::problem::PageResult<Console>;
pub type PageError = upline_web::problem::PageError<Console>;
pub type PageParams<T> = upline_web::problem::PageParams<T, Console>;

/// `error` as a page.
pub fn page_error(error: AppError) -> Response {
    upline_web::problem::page_error::<Console>(error)
}

/// The handler of console paths that are no page.
pub async fn not_found_page() -> Response {
    upline_web::problem::not_found::<Console>()
}
