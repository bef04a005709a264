//! The public unsubscribe link of partner emails: a page with one button, and the
//! RFC 8058 one-click POST.

use upline_domain::ids::PartnerId;
use upline_http::Params;

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use upline_domain::services::Services;
use upline_domain::usecases::partner_area::{self};
use upline_http::ApiResult;

pub(crate) fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    );
    let mut r = Html(html).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    r
}

/// What an unsubscribe link carries: whose, and the token that proves it came from one of
/// their emails. Missing values fail the token check, with the same answer as wrong ones.
#[derive(serde::Deserialize)]
pub(crate) struct LinkParams {
    #[serde(default)]
    partner: String,
    #[serde(default)]
    token: String,
}

pub(crate) fn link_params(q: LinkParams) -> (String, String) {
    (q.partner, q.token)
}

/// The link in an email: a page with one button, because mail scanners follow links and
/// must not unsubscribe anyone by doing so.
pub(crate) async fn unsubscribe_page(Params(q): Params<LinkParams>) -> Response {
    let (partner, token) = link_params(q);
    let esc = |v: &str| {
        v.chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
            .collect::<String>()
    };
    page(
        "Unsubscribe from notifications",
        &format!(
            "<p>Stop the notification emails (new conversions, approved commissions)? \
             Emails about your account and your payouts still come.</p>\
             <form method=\"post\" action=\"?partner={}&amp;token={}\">\
             <button type=\"submit\">Unsubscribe</button></form>",
            esc(&partner),
            esc(&token)
        ),
    )
}

/// The button and RFC 8058 one-click unsubscribe (`List-Unsubscribe-Post`).
pub(crate) async fn unsubscribe(
    State(s): State<Services>,
    Params(q): Params<LinkParams>,
) -> ApiResult<Response> {
    let (partner, token) = link_params(q);
    partner_area::unsubscribe(&s, &PartnerId::new(partner), &token).await?;
    Ok(page(
        "You are unsubscribed",
        "<p>No more notification emails. Emails about your account and your payouts still \
         come. You can switch notifications back on in the partner area.</p>",
    ))
}
