//! The shapes of answer many routes give, written once so they stay alike: a list (one
//! page, with the cursor of the next), and something saved, which is `201 Created` when
//! the request made it and `200 OK` when it was already there.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use upline_http::{Listing, json};

/// `items` as one page of a list; `next_cursor` is `None` on the last page and for the
/// lists that are never paged.
pub(crate) fn list<T: Serialize>(items: Vec<T>, next_cursor: Option<String>) -> Response {
    json(StatusCode::OK, &Listing { items, next_cursor })
}

/// `view` of what a create-or-replace route saved.
pub(crate) fn saved<T: Serialize>(created: bool, view: &T) -> Response {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json(status, view)
}
