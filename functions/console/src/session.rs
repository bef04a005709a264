//! The browser side of an operator's session: the console's own cookie, the extractor
//! that turns a request into the signed-in operator with their current role, and the
//! checks every posted form passes — same origin, the session's CSRF token, and the
//! permission the action needs. A refused post changes nothing.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use upline_domain::operator::{Operator, Permission};
use upline_domain::program::Program;
use upline_domain::services::Services;
use upline_domain::usecases::admin::require_program;
use upline_domain::usecases::console_sign_in::{self, CONSOLE_SESSION_SECS};
use upline_domain::usecases::operators;
use upline_domain::usecases::sign_in::{self, BrowserSecret};
use upline_web::SessionCookie;

use crate::pages::{Abilities, Layout, message};
use crate::problem::{Console, page_error};

/// The console's session cookie name where it is served over HTTPS. Not the portal's: a
/// browser signed in to both holds two sessions, and neither door reads the other's.
pub const COOKIE: &str = "__Host-upline_console";

pub const SESSION_COOKIE: SessionCookie = SessionCookie {
    secure_name: COOKIE,
    plain_name: "upline_console",
    max_age_secs: CONSOLE_SESSION_SECS,
};

fn to_login() -> Response {
    Redirect::to("/console/login").into_response()
}

/// A signed-in operator, as they are now (a role changed since sign-in counts at once; an
/// operator removed since is signed out).
pub struct SignedInOperator {
    pub id: BrowserSecret,
    pub operator: Operator,
    pub program: Program,
    pub csrf: String,
}

impl SignedInOperator {
    pub fn layout<'a>(&'a self, page: &'a str) -> Layout<'a> {
        Layout {
            program_name: &self.program.name,
            signed_in: true,
            operator: &self.operator.email,
            role: self.operator.role.as_str(),
            csrf: &self.csrf,
            page,
            may: Abilities::of(self.operator.role),
        }
    }

    /// Who the audit log names for what this operator does.
    pub fn actor(&self) -> &str {
        &self.operator.email
    }

    /// The refusal of a posted form, or `None` when it may be acted on: it must come
    /// from the console's own pages with this session's CSRF token, and the operator's
    /// role must allow `needs`.
    pub fn refuse(
        &self,
        headers: &HeaderMap,
        services: &Services,
        token: &str,
        needs: Permission,
    ) -> Option<Response> {
        if !(upline_web::same_origin(headers, services) && sign_in::csrf_holds(&self.id, token)) {
            return Some(forbidden_form(&self.program.name));
        }
        if !self.operator.role.may(needs) {
            tracing::warn!(
                role = self.operator.role.as_str(),
                ?needs,
                "a console action refused to a role without it"
            );
            return Some(message(
                StatusCode::FORBIDDEN,
                &self.layout(""),
                "Your role does not allow this",
                &[
                    "Nothing was changed.",
                    "Ask an owner of the program if you need to do this.",
                ],
                Some(("/console", "Back to the overview")),
            ));
        }
        None
    }
}

/// The answer to a form that failed the CSRF or origin check: nothing was changed.
pub fn forbidden_form(program_name: &str) -> Response {
    upline_web::sign_in_pages::forbidden_form::<Console>(program_name)
}

impl FromRequestParts<Services> for SignedInOperator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &Services) -> Result<Self, Response> {
        let id = SESSION_COOKIE
            .read(&parts.headers, s)
            .ok_or_else(to_login)?;
        let session = console_sign_in::session(s, &id)
            .await
            .map_err(page_error)?
            .ok_or_else(to_login)?;
        let operator = operators::find(s, &session.email)
            .await
            .map_err(page_error)?
            // A session from before the operator was (re-)added is not theirs now.
            .filter(|o| o.added_at <= session.created_at)
            .ok_or_else(to_login)?;
        let program = require_program(&s.store).await.map_err(page_error)?;
        let csrf = sign_in::csrf_token(&id);
        Ok(SignedInOperator {
            id,
            operator,
            program,
            csrf,
        })
    }
}
