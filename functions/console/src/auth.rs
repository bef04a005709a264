//! Signing operators in and out: the console's part of `upline_web::sign_in_pages` (its
//! own use cases, cookie and templates: partners' links and sessions are of no use here,
//! and the answer to an address that is no operator's is the same as to one that is),
//! and the sign-out button.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use upline_domain::error::AppError;
use upline_domain::services::Services;
use upline_domain::usecases::console_sign_in;
use upline_domain::usecases::sign_in::{self, BrowserSecret};
use upline_web::SessionCookie;
use upline_web::sign_in_pages::SignInDoor;

use crate::pages::{Layout, render};
use crate::problem::{Console, page_error};
use crate::session::{SESSION_COOKIE, SignedInOperator, forbidden_form};

impl SignInDoor for Console {
    const COOKIE: SessionCookie = SESSION_COOKIE;
    const LANDING: &'static str = "/console";

    fn page(
        status: StatusCode,
        template: &str,
        program_name: &str,
        page: minijinja::Value,
    ) -> Response {
        render(status, template, &Layout::public(program_name), page)
    }

    async fn request_link(
        services: &Services,
        email: &str,
        client: Option<&str>,
        correlation_id: &str,
    ) -> Result<(), AppError> {
        console_sign_in::request_link(services, email, client, correlation_id).await
    }

    async fn spend(services: &Services, token: &BrowserSecret) -> Result<BrowserSecret, AppError> {
        console_sign_in::sign_in(services, token)
            .await
            .map(|(id, _)| id)
    }

    async fn is_open(services: &Services, id: &BrowserSecret) -> bool {
        matches!(console_sign_in::session(services, id).await, Ok(Some(_)))
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/logout`: ends the session and removes its cookie.
pub(crate) async fn sign_out(
    State(s): State<Services>,
    who: SignedInOperator,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !(upline_web::same_origin(&headers, &s) && sign_in::csrf_holds(&who.id, &form.csrf)) {
        return forbidden_form(&who.program.name);
    }
    if let Err(e) = console_sign_in::sign_out(&s, &who.id).await {
        return page_error(e);
    }
    upline_web::sign_in_pages::signed_out::<Console>(&s, "/console/login")
}
