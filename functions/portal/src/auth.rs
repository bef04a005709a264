//! Signing in and out: the login page that emails a link, the link's page whose button
//! spends it, and the sign-out button.

use crate::problem::PageParams;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use upline_domain::error::AppError;
use upline_domain::services::Services;
use upline_domain::usecases::rate_limits::after_failed_auth;
use upline_domain::usecases::sign_in::{self, BrowserSecret, LINK_VALID_SECS};
use upline_http::auth::ClientAddress;
use upline_http::correlation_id;

use crate::pages::{Layout, render};
use crate::problem::page_error;
use crate::session::{PublicForm, PublicPage, SESSION_COOKIE, SessionOf};

#[derive(Deserialize, Default)]
pub(crate) struct LoginQuery {
    /// Set after signing out, to say so.
    #[serde(default)]
    signed_out: Option<String>,
}

/// `GET /portal/login`: the email form; straight to the dashboard when signed in.
pub(crate) async fn login_page(
    State(s): State<Services>,
    PublicPage(program): PublicPage,
    headers: HeaderMap,
    PageParams(q): PageParams<LoginQuery>,
) -> Response {
    if let Some(id) = SESSION_COOKIE.read(&headers, &s)
        && matches!(sign_in::session(&s, &id).await, Ok(Some(_)))
    {
        return Redirect::to("/portal").into_response();
    }
    let notice = q.signed_out.map(|_| "You are signed out.");
    render(
        StatusCode::OK,
        "login.html",
        &Layout::public(&program.name),
        context! { email => "", error => (), notice, notice_kind => "good" },
    )
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    email: String,
}

/// `POST /portal/login`: emails a link when the address is an approved partner's; the
/// page that follows is the same either way.
pub(crate) async fn request_link(
    State(s): State<Services>,
    PublicForm(program): PublicForm,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let correlation = correlation_id(&headers, || s.new_id());
    let layout = Layout::public(&program.name);
    match sign_in::request_link(&s, &form.email, client.as_deref(), &correlation).await {
        Ok(()) => render(
            StatusCode::OK,
            "link_sent.html",
            &layout,
            context! { email => form.email.trim(), valid_minutes => LINK_VALID_SECS / 60 },
        ),
        Err(AppError::Invalid(errors)) => {
            let error = errors.first().map(|e| e.message.clone());
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                "login.html",
                &layout,
                context! { email => form.email, error, notice => (), notice_kind => () },
            )
        }
        Err(e) => page_error(e),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /portal/auth?token=…`: the emailed link's page. It only shows a button: mail
/// scanners open links, and opening one must not spend it.
pub(crate) async fn auth_page(
    PublicPage(program): PublicPage,
    PageParams(q): PageParams<TokenQuery>,
) -> Response {
    let error = q
        .token
        .trim()
        .is_empty()
        .then_some("This sign-in link is incomplete. Copy the whole link from the email, or ask for a new one.");
    render(
        StatusCode::OK,
        "auth.html",
        &Layout::public(&program.name),
        context! { token => q.token.trim(), error },
    )
}

#[derive(Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    token: String,
}

/// `POST /portal/auth`: spends the token and opens a session in a cookie.
pub(crate) async fn sign_in(
    State(s): State<Services>,
    PublicForm(program): PublicForm,
    ClientAddress(client): ClientAddress,
    Form(form): Form<TokenForm>,
) -> Response {
    match sign_in::sign_in(&s, &BrowserSecret::from_browser(&form.token)).await {
        Ok((id, _)) => {
            let mut resp = Redirect::to("/portal").into_response();
            resp.headers_mut()
                .insert(header::SET_COOKIE, SESSION_COOKIE.set(&s, &id));
            resp
        }
        Err(AppError::Unauthorized(why)) => {
            // Counted like any failed credential: a flood of guesses is slowed, and seen.
            let refused =
                after_failed_auth(&s, client.as_deref(), AppError::Unauthorized(why.clone())).await;
            if let AppError::RateLimited { .. } = refused {
                return page_error(refused);
            }
            render(
                StatusCode::UNAUTHORIZED,
                "auth.html",
                &Layout::public(&program.name),
                context! { token => "", error => why },
            )
        }
        Err(e) => page_error(e),
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
    let mut resp = Redirect::to("/portal/login?signed_out=1").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, SESSION_COOKIE.clear(&s));
    resp
}
