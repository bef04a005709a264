//! `/portal/team`: the partner's referral link and code, and their downline by level
//! with what each member's conversions earned them.

use axum::extract::State;
use axum::http::StatusCode;
use minijinja::context;
use upline_domain::services::Services;
use upline_domain::usecases::partner_area::downline;

use crate::pages::render;
use crate::problem::PageResult;
use crate::session::SignedIn;

pub(crate) async fn team_page(State(s): State<Services>, who: SignedIn) -> PageResult {
    let members = downline(&s, &who.partner.id).await?;
    let levels: Vec<_> = {
        let mut by_level: std::collections::BTreeMap<u8, Vec<_>> = Default::default();
        for m in members {
            by_level.entry(m.level).or_default().push(m);
        }
        by_level
            .into_iter()
            .map(|(level, members)| context! { level, members })
            .collect()
    };
    Ok(render(
        StatusCode::OK,
        "team.html",
        &who.layout("team"),
        context! {
            referral_code => who.partner.referral_code,
            referral_url => upline_domain::public_urls::portal_join_url(
                &s.deployment.public_base_url,
                &who.partner.referral_code,
            ),
            levels,
            currency => who.session.program.currency.code(),
        },
    ))
}
