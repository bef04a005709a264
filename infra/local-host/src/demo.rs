//! The demo program seeded on a new store: one campaign and three partners in a referral
//! chain (Cleo recruited Bo, Bo recruited Ada), each approved with a link, and an owner
//! for the console — created through the same use cases the API runs, so the demo is a
//! real program.

use upline_domain::error::AppError;
use upline_domain::ids::PartnerId;
use upline_domain::services::Services;
use upline_domain::usecases::admin::{
    self, CampaignRequest, PayoutSettingsRequest, ProgramRequest, TermsRequest, UplineRequest,
};
use upline_domain::usecases::input::DecimalText;
use upline_domain::usecases::signup::{SignupRequest, signup};

#[derive(Debug, Clone)]
pub struct DemoPartner {
    pub name: String,
    pub id: String,
    pub api_key: String,
    pub referral_code: String,
    pub link_url: String,
}

#[derive(Debug, Clone)]
pub struct DemoProgram {
    pub postback_secret: String,
    pub campaign_id: String,
    /// A link that signs Ada in to the partner portal: once, within a day.
    pub portal_sign_in_url: String,
    /// The demo's owner, who runs the program in the console.
    pub owner_email: String,
    /// A link that signs the owner in to the console: once, within a day.
    pub console_sign_in_url: String,
    /// Recruiter first: Cleo, then Bo, then Ada.
    pub partners: Vec<DemoPartner>,
}

fn dec(s: &str) -> Option<DecimalText> {
    Some(DecimalText(s.to_string()))
}

/// The demo program's owner in the console.
pub const DEMO_OWNER: &str = "owner@demo-outfitters.example";

/// How long the printed portal sign-in link works: long enough to read the README first.
const DEMO_SIGN_IN_SECS: i64 = 24 * 3600;

pub async fn seed(services: &Services) -> Result<DemoProgram, AppError> {
    let (program, _) = admin::put_program(
        services,
        ProgramRequest {
            name: Some("Demo Outfitters".into()),
            currency: Some("USD".into()),
            hold_days: Some(30),
            upline: Some(UplineRequest {
                depth: Some(2),
                base: Some("direct_commission".into()),
                level_percents: None,
                first_level_percent: dec("50"),
                decrement_percent: dec("25"),
                decay_factor: None,
                skip: None,
            }),
            postback_secret: None,
            attribution_priority: None,
            payouts: Some(PayoutSettingsRequest {
                cadence: Some("monthly".into()),
                minimum: dec("10.00"),
            }),
            signup: None,
        }
        .parse()?,
    )
    .await?;
    let currency = program.currency;
    let (campaign, _) = admin::put_campaign(
        services,
        admin::parse_campaign_id("spring-sale")?,
        CampaignRequest {
            name: Some("Spring sale".into()),
            destination_url: Some("https://shop.example.com/spring?utm_source=upline".into()),
            allowed_domains: Some(vec!["shop.example.com".into()]),
            terms: Some(TermsRequest {
                cpa: None,
                revenue_share_percent: dec("10"),
                ..Default::default()
            }),
            upline: None,
            targeting: None,
            attribution_window_days: None,
            status: None,
        }
        .parse(currency)?,
    )
    .await?;
    let mut partners = Vec::new();
    let mut referred_by: Option<String> = None;
    for (name, email, kind) in [
        ("Cleo", "cleo@example.com", "introducing_broker"),
        ("Bo", "bo@example.com", "influencer"),
        ("Ada", "ada@example.com", "affiliate"),
    ] {
        let application = SignupRequest {
            email: Some(email.into()),
            name: Some(name.into()),
            kind: Some(kind.into()),
            referred_by: referred_by.clone(),
            fields: None,
        }
        .parse(&[], &services.store)
        .await?;
        let partner = signup(services, application, "demo-seed").await?;
        let (partner, key) = admin::approve_partner(services, &partner.id, "demo-seed").await?;
        let (link, _) = admin::create_link(
            services,
            admin::NewLink {
                partner_id: partner.id.clone(),
                campaign_id: campaign.id.clone(),
            },
        )
        .await?;
        referred_by = Some(partner.referral_code.clone());
        partners.push(DemoPartner {
            name: name.into(),
            id: partner.id.to_string(),
            api_key: key.secret,
            referral_code: partner.referral_code,
            link_url: upline_domain::public_urls::link_url(
                &services.deployment.public_base_url,
                &link.code,
            ),
        });
    }
    let ada = PartnerId::from(partners.last().expect("three partners").id.as_str());
    let (_, portal_sign_in_url) =
        upline_domain::usecases::sign_in::issue_link(services, &ada, DEMO_SIGN_IN_SECS).await?;
    let (owner, _) = upline_domain::usecases::operators::put(
        services,
        upline_domain::usecases::operators::OperatorSpec {
            email: DEMO_OWNER.into(),
            role: upline_domain::operator::Role::Owner,
        },
        "demo-seed",
    )
    .await?;
    let (_, console_sign_in_url) =
        upline_domain::usecases::console_sign_in::issue_link(services, &owner, DEMO_SIGN_IN_SECS)
            .await?;
    Ok(DemoProgram {
        portal_sign_in_url,
        owner_email: owner.email,
        console_sign_in_url,
        postback_secret: program.postback_secret.unwrap_or_default(),
        campaign_id: campaign.id.to_string(),
        partners,
    })
}
