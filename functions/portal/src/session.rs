//! The browser side of a session: the cookie that carries its id, the extractor that
//! turns a request into the signed-in partner, and the two checks every posted form
//! passes (the CSRF token of the session, and a same-origin request).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use upline_domain::partner::{Partner, PartnerStatus};
use upline_domain::program::Program;
use upline_domain::services::Services;
use upline_domain::usecases::admin::require_program;
use upline_domain::usecases::sign_in::{self, BrowserSecret, SESSION_VALID_SECS, Session};

use crate::pages::{Layout, message};
use crate::problem::page_error;

/// The session cookie's name where the portal is served over HTTPS. The `__Host-` prefix
/// makes browsers refuse it unless it is `Secure`, host-only and for `Path=/`, so a
/// sibling subdomain cannot plant a session of its choosing.
pub const COOKIE: &str = "__Host-upline_portal";

/// The name over plain HTTP (the local host on loopback), where `__Host-` cannot be met.
pub const PLAIN_HTTP_COOKIE: &str = "upline_portal";

fn cookie_name(services: &Services) -> &'static str {
    if secure(services) {
        COOKIE
    } else {
        PLAIN_HTTP_COOKIE
    }
}

/// The session id the request's cookie carries, if any.
pub fn cookie_secret(headers: &HeaderMap, services: &Services) -> Option<BrowserSecret> {
    let name = cookie_name(services);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| BrowserSecret::from_browser(c.value()))
}

/// `Set-Cookie` for a new session; `Secure` unless the portal is served over plain HTTP
/// (the local host on loopback), where a browser would drop a Secure cookie.
pub fn set_cookie(services: &Services, id: &BrowserSecret) -> HeaderValue {
    let cookie = Cookie::build((cookie_name(services), id.expose().to_string()))
        .http_only(true)
        .secure(secure(services))
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(time::Duration::seconds(SESSION_VALID_SECS))
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("a base32 cookie is a header value")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(services: &Services) -> HeaderValue {
    let cookie = Cookie::build((cookie_name(services), ""))
        .http_only(true)
        .secure(secure(services))
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(time::Duration::ZERO)
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("static cookie")
}

fn secure(services: &Services) -> bool {
    services.deployment.public_base_url.starts_with("https://")
}

/// Whether a posted form comes from the portal's own pages: browsers say where a request
/// comes from (`Sec-Fetch-Site`, and `Origin`, which pages cannot forge, and which every
/// current browser sends with a POST); a request from another site, or one that says
/// nothing of where it comes from, is refused before its CSRF token is looked at. The
/// public forms (sign-in, application) have no session, so this is their only guard.
pub fn same_origin(headers: &HeaderMap, services: &Services) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    let own = url_origin(&services.deployment.public_base_url);
    matches!((header("origin"), own), (Some(origin), Some(own)) if origin == own)
}

fn url_origin(base: &str) -> Option<String> {
    let (scheme, rest) = base.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}"))
}

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
    message(
        StatusCode::FORBIDDEN,
        &Layout::public(program_name),
        "This form has expired",
        &["Nothing was changed. Go back, reload the page and send the form again."],
        Some(("/portal", "Back to the portal")),
    )
}

fn to_login() -> Response {
    Redirect::to("/portal/login").into_response()
}

impl FromRequestParts<Services> for SessionOf {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &Services) -> Result<Self, Response> {
        let id = cookie_secret(&parts.headers, s).ok_or_else(to_login)?;
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

/// A public page (login, sign-in, join): the program it is for, or the error page when the
/// program cannot be read.
pub struct PublicPage(pub Program);

impl FromRequestParts<Services> for PublicPage {
    type Rejection = Response;

    async fn from_request_parts(_: &mut Parts, s: &Services) -> Result<Self, Response> {
        require_program(&s.store)
            .await
            .map(PublicPage)
            .map_err(page_error)
    }
}

/// A public form posted from the portal's own pages (there is no session yet to carry a
/// CSRF token): the program, or the refusal of a post from another site.
pub struct PublicForm(pub Program);

impl FromRequestParts<Services> for PublicForm {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &Services) -> Result<Self, Response> {
        let PublicPage(program) = PublicPage::from_request_parts(parts, s).await?;
        if same_origin(&parts.headers, s) {
            Ok(PublicForm(program))
        } else {
            Err(forbidden_form(&program.name))
        }
    }
}
