//! Signing in and out of the portal: the door's part of `upline_web::sign_in_pages`
//! (the use cases, the cookie, the templates), and the sign-out button.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use upline_domain::error::AppError;
use upline_domain::services::Services;
use upline_domain::usecases::sign_in::{self, BrowserSecret};
use upline_web::SessionCookie;
use upline_web::sign_in_pages::SignInDoor;

use crate::pages::{Layout, render};
use crate::problem::{Portal, page_error};
use crate::session::{SESSION_COOKIE, SessionOf};

impl SignInDoor for Portal {
    const COOKIE: SessionCookie = SESSION_COOKIE;
    const LANDING: &'static str = "/portal";

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
        sign_in::request_link(services, email, client, correlation_id).await
    }

    async fn spend(services: &Services, token: &BrowserSecret) -> Result<BrowserSecret, AppError> {
        sign_in::sign_in(services, token).await.map(|(id, _)| id)
    }

    async fn is_open(services: &Services, id: &BrowserSecret) -> bool {
        matches!(sign_in::session(services, id).await, Ok(Some(_)))
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /portal/logout`: ends the session and removes its cookie.
pub(crate) async fn sign_out(
    State(s): State<Services>,
    session: SessionOf,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = session.form_refused(&headers, &s, &form.csrf) {
        return refused;
    }
    if let Err(e) = sign_in::sign_out(&s, &session.id).await {
        return page_error(e);
    }
    upline_web::sign_in_pages::signed_out::<Portal>(&s, "/portal/login")
}
