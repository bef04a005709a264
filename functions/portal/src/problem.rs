//! Errors as pages, in the portal's layout (`upline_web::problem` decides what each error
//! says and answers).

use axum::http::StatusCode;
use axum::response::Response;
use upline_domain::error::AppError;
use upline_web::problem::Door;

use crate::pages::{Layout, message};

/// The partner portal's pages.
pub struct Portal;

impl Door for Portal {
    const HOME: (&'static str, &'static str) = ("/portal", "Back to the portal");
    const UNNAMED: &'static str = "Partner";
    const NOT_FOUND: &'static str = "There is no such page, or it is not yours to see.";

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

pub type PageResult = upline_web::problem::PageResult<Portal>;
pub type PageParams<T> = upline_web::problem::PageParams<T, Portal>;

/// `error` as a page.
pub fn page_error(error: AppError) -> Response {
    upline_web::problem::page_error::<Portal>(error)
}

/// `404` as a page.
pub fn not_found() -> Response {
    upline_web::problem::not_found::<Portal>()
}

/// The handler of portal paths that are no page.
pub async fn not_found_page() -> Response {
    not_found()
}
