//! Signing in by emailed link, the same at both doors: the login page that emails a link,
//! the link's page whose button spends it (mail scanners open links, and opening one
//! must not spend it), and the extractors of the public pages and forms. Each door says
//! which use cases, cookie and templates are its own ([`SignInDoor`]); the door's
//! `login.html`, `link_sent.html` and `auth.html` are rendered with the same variables.

use std::future::Future;
use std::marker::PhantomData;

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use upline_domain::error::AppError;
use upline_domain::program::Program;
use upline_domain::services::Services;
use upline_domain::usecases::admin::require_program;
use upline_domain::usecases::rate_limits::after_failed_auth;
use upline_domain::usecases::sign_in::{BrowserSecret, LINK_VALID_SECS};
use upline_http::auth::ClientAddress;
use upline_http::correlation_id;

use crate::SessionCookie;
use crate::problem::{Door, PageParams, page_error};

/// What one door's sign-in is made of.
pub trait SignInDoor: Door {
    const COOKIE: SessionCookie;
    /// Where a person lands once signed in.
    const LANDING: &'static str;

    /// `template` of this door with the program's name and the page's variables.
    fn page(
        status: StatusCode,
        template: &str,
        program_name: &str,
        page: minijinja::Value,
    ) -> Response;

    /// Emails a sign-in link to `email` if it belongs to someone this door lets in.
    fn request_link(
        services: &Services,
        email: &str,
        client: Option<&str>,
        correlation_id: &str,
    ) -> impl Future<Output = Result<(), AppError>> + Send;

    /// Spends a sign-in token; the new session's id.
    fn spend(
        services: &Services,
        token: &BrowserSecret,
    ) -> impl Future<Output = Result<BrowserSecret, AppError>> + Send;

    /// Whether `id` is an open session at this door.
    fn is_open(services: &Services, id: &BrowserSecret) -> impl Future<Output = bool> + Send;
}

/// A public page (login, sign-in, join): the program it is for, or the error page when
/// the program cannot be read.
pub struct PublicPage<D> {
    pub program: Program,
    door: PhantomData<D>,
}

impl<D: Door> FromRequestParts<Services> for PublicPage<D> {
    type Rejection = Response;

    async fn from_request_parts(_: &mut Parts, s: &Services) -> Result<Self, Response> {
        require_program(&s.store)
            .await
            .map(|program| PublicPage {
                program,
                door: PhantomData,
            })
            .map_err(page_error::<D>)
    }
}

/// A public form posted from the door's own pages (there is no session yet to carry a
/// CSRF token): the program, or the refusal of a post from another site.
pub struct PublicForm<D> {
    pub program: Program,
    door: PhantomData<D>,
}

impl<D: Door> FromRequestParts<Services> for PublicForm<D> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &Services) -> Result<Self, Response> {
        let PublicPage { program, .. } = PublicPage::<D>::from_request_parts(parts, s).await?;
        if crate::same_origin(&parts.headers, s) {
            Ok(PublicForm {
                program,
                door: PhantomData,
            })
        } else {
            Err(forbidden_form::<D>(&program.name))
        }
    }
}

/// The answer to a form that failed the CSRF or origin check: nothing was changed.
pub fn forbidden_form<D: Door>(program_name: &str) -> Response {
    D::message(
        StatusCode::FORBIDDEN,
        program_name,
        "This form has expired",
        &["Nothing was changed. Go back, reload the page and send the form again."],
        Some(D::HOME),
    )
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    /// Set after signing out, to say so.
    #[serde(default)]
    signed_out: Option<String>,
}

/// `GET …/login`: the email form; straight to the landing page when signed in.
pub async fn login_page<D: SignInDoor>(
    State(s): State<Services>,
    PublicPage { program, .. }: PublicPage<D>,
    headers: HeaderMap,
    PageParams { query, .. }: PageParams<LoginQuery, D>,
) -> Response {
    if let Some(id) = D::COOKIE.read(&headers, &s)
        && D::is_open(&s, &id).await
    {
        return Redirect::to(D::LANDING).into_response();
    }
    let notice = query.signed_out.map(|_| "You are signed out.");
    D::page(
        StatusCode::OK,
        "login.html",
        &program.name,
        context! { email => "", error => (), notice, notice_kind => "good" },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
}

/// `POST …/login`: emails a link when the address is one the door lets in; the page
/// that follows is the same either way.
pub async fn request_link<D: SignInDoor>(
    State(s): State<Services>,
    PublicForm { program, .. }: PublicForm<D>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let correlation = correlation_id(&headers, || s.new_id());
    match D::request_link(&s, &form.email, client.as_deref(), &correlation).await {
        Ok(()) => D::page(
            StatusCode::OK,
            "link_sent.html",
            &program.name,
            context! { email => form.email.trim(), valid_minutes => LINK_VALID_SECS / 60 },
        ),
        Err(AppError::Invalid(errors)) => {
            let error = errors.first().map(|e| e.message.clone());
            D::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "login.html",
                &program.name,
                context! { email => form.email, error, notice => (), notice_kind => () },
            )
        }
        Err(e) => page_error::<D>(e),
    }
}

#[derive(Deserialize, Default)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET …/auth?token=…`: the emailed link's page. It only shows a button.
pub async fn auth_page<D: SignInDoor>(
    PublicPage { program, .. }: PublicPage<D>,
    PageParams { query, .. }: PageParams<TokenQuery, D>,
) -> Response {
    let error = query
        .token
        .trim()
        .is_empty()
        .then_some("This sign-in link is incomplete. Copy the whole link from the email, or ask for a new one.");
    D::page(
        StatusCode::OK,
        "auth.html",
        &program.name,
        context! { token => query.token.trim(), error },
    )
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

/// `POST …/auth`: spends the token and opens a session in the door's cookie.
pub async fn sign_in<D: SignInDoor>(
    State(s): State<Services>,
    PublicForm { program, .. }: PublicForm<D>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<TokenForm>,
) -> Response {
    match D::spend(&s, &BrowserSecret::from_browser(&form.token)).await {
        Ok(id) => {
            let mut resp = Redirect::to(D::LANDING).into_response();
            resp.headers_mut()
                .insert(header::SET_COOKIE, D::COOKIE.set(&s, &id));
            resp
        }
        Err(AppError::Unauthorized(why)) => {
            // Counted like any failed credential: a flood of guesses is slowed, and seen.
            let refused =
                after_failed_auth(&s, client.as_deref(), AppError::Unauthorized(why.clone())).await;
            if let AppError::RateLimited { .. } = refused {
                return page_error::<D>(refused);
            }
            D::page(
                StatusCode::UNAUTHORIZED,
                "auth.html",
                &program.name,
                context! { token => "", error => why },
            )
        }
        Err(e) => page_error::<D>(e),
    }
}

/// The answer to signing out: to the login page, saying so, with the cookie removed.
pub fn signed_out<D: SignInDoor>(services: &Services, login: &str) -> Response {
    let mut resp = Redirect::to(&format!("{login}?signed_out=1")).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, D::COOKIE.clear(services));
    resp
}
