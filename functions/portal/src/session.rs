//! The browser side of a partner's session: the cookie that carries its id, the extractor
//! that turns a request into the signed-in partner, and the two checks every posted form
//! passes (the CSRF token of the session, and a same-origin request).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use upline_domain::partner::{Partner, PartnerStatus};
use upline_domain::program::Program;
use upline_domain::services::Services;
use upline_domain::usecases::admin::require_program;
use upline_domain::usecases::sign_in::{self, BrowserSecret, SESSION_VALID_SECS, Session};
use upline_web::SessionCookie;

use crate::pages::{Layout, message};
use crate::problem::page_error;

/// The session cookie's name where the portal is served over HTTPS.
pub const COOKIE: &str = "__Host-upline_portal";

/// The portal's session cookie (the console's has other names: a browser holds both
/// apart).
pub const SESSION_COOKIE: SessionCookie = SessionCookie {
    secure_name: COOKIE,
    plain_name: "upline_portal",
    max_age_secs: SESSION_VALID_SECS,
};

pub use upline_web::same_origin;

/// A request with an open session, whatever the partner's status.
pub struct SessionOf {
    pub id: BrowserSecret,
    pub session: Session,
    pub program: Program,
}

impl SessionOf {
    pub fn csrf(&self) -> String {
        sign_in::csrf_token(&self.id)
    }

    /// The refusal of a posted form whose CSRF token is not this session's, or that came
    /// from another site; `None` when the form may be acted on.
    pub fn form_refused(
        &self,
        headers: &HeaderMap,
        services: &Services,
        token: &str,
    ) -> Option<Response> {
        let holds = same_origin(headers, services) && sign_in::csrf_holds(&self.id, token);
        (!holds).then(|| forbidden_form(&self.program.name))
    }
}

/// The answer to a form that failed the CSRF or origin check: nothing was changed.
pub fn forbidden_form(program_name: &str) -> Response {
    upline_web::sign_in_pages::forbidden_form::<crate::problem::Portal>(program_name)
}

fn to_login() -> Response {
    Redirect::to("/portal/login").into_response()
}

impl FromRequestParts<Services> for SessionOf {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &Services) -> Result<Self, Response> {
        let id = SESSION_COOKIE
            .read(&parts.headers, s)
            .ok_or_else(to_login)?;
        let session = sign_in::session(s, &id)
            .await
            .map_err(page_error)?
            .ok_or_else(to_login)?;
        let program = require_program(&s.store).await.map_err(page_error)?;
        Ok(SessionOf {
            id,
            session,
            program,
        })
    }
}

/// A signed-in, approved partner. A partner who is not approved (any more) gets a page
/// saying why instead of the page asked for.
pub struct SignedIn {
    pub session: SessionOf,
    pub partner: Partner,
    pub csrf: String,
}

impl SignedIn {
    pub fn layout<'a>(&'a self, page: &'a str) -> Layout<'a> {
        Layout {
            program_name: &self.session.program.name,
            signed_in: true,
            csrf: &self.csrf,
            page,
        }
    }
}

impl FromRequestParts<Services> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &Services) -> Result<Self, Response> {
        let session = SessionOf::from_request_parts(parts, s).await?;
        let partner = s
            .store
            .require_partner(&session.session.partner_id)
            .await
            .map_err(page_error)?;
        let csrf = session.csrf();
        let signed_in = SignedIn {
            session,
            partner,
            csrf,
        };
        if signed_in.partner.status != PartnerStatus::Approved {
            return Err(not_approved(&signed_in));
        }
        Ok(signed_in)
    }
}

/// Why a partner who is not approved sees no data.
fn not_approved(who: &SignedIn) -> Response {
    let layout = who.layout("");
    let reason = who.partner.status_reason.as_deref();
    let (heading, why) = match who.partner.status {
        PartnerStatus::Pending => (
            "Your application is being reviewed",
            "The program team has not decided on your application yet. We email you when they do.",
        ),
        PartnerStatus::Rejected => (
            "Your application was not accepted",
            "The program team turned down your application.",
        ),
        PartnerStatus::Suspended => (
            "Your partnership is suspended",
            "The program team suspended your account. Write to them if you think this is a mistake.",
        ),
        PartnerStatus::Approved => ("", ""),
    };
    let reason_line = reason.map(|r| format!("Their reason: {r}"));
    let mut paragraphs = vec![why];
    if let Some(r) = &reason_line {
        paragraphs.push(r);
    }
    message(StatusCode::FORBIDDEN, &layout, heading, &paragraphs, None)
}

/// A public page (login, sign-in, join) of the portal.
pub type PublicPage = upline_web::sign_in_pages::PublicPage<crate::problem::Portal>;

/// A public form of the portal (posted from its own pages).
pub type PublicForm = upline_web::sign_in_pages::PublicForm<crate::problem::Portal>;
