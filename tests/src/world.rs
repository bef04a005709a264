//! In-process worlds for the tests that call the use cases and the consumer stages
//! directly, with no HTTP in between: services over one embedded store in a temporary
//! folder, on a manual clock; and the admin use cases fed the JSON the admin API takes.

use std::sync::Arc;

use serde_json::{Value, json};
use upline_domain::click_id::ClickSecret;
use upline_domain::clock::{ManualClock, Timestamp};
use upline_domain::ids::SequentialIds;
use upline_domain::partner::Partner;
use upline_domain::services::{Deployment, Services};
use upline_domain::usecases::admin;
use upline_domain::usecases::tracking::{ResolvedLink, resolve_link};
use upline_embedded::EmbeddedStore;

/// Services over one embedded store, as a function or the local host has them.
pub struct EmbeddedWorld {
    pub services: Services,
    /// The services' clock: stopped until a test moves it.
    pub clock: Arc<ManualClock>,
    /// The same store as the services', for its queue-consumer side and direct reads.
    pub store: EmbeddedStore,
    /// The temporary folder the store lives in, removed when the world is dropped.
    pub dir: tempfile::TempDir,
}

impl EmbeddedWorld {
    /// An empty store in a new temporary folder, with the clock stopped at `now`,
    /// sequential ids, click ids signed with `click_secret_byte` (32 times) and links under
    /// `public_base_url`. Nothing is set up: no program, no partners.
    pub fn open(now: Timestamp, click_secret_byte: u8, public_base_url: &str) -> EmbeddedWorld {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at(now));
        let store = EmbeddedStore::open(&dir.path().join("store.redb"), clock.clone(), 3).unwrap();
        let services = Services::new(
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            clock.clone(),
            Arc::new(SequentialIds::default()),
            deployment(Some(click_secret_byte), public_base_url),
        );
        EmbeddedWorld {
            services,
            clock,
            store,
            dir,
        }
    }
}

/// What a deployment is configured with in tests: the click secret (`click_secret_byte`
/// 32 times, or none), the public URL links are made under, and partner postbacks to
/// private addresses refused.
pub fn deployment(click_secret_byte: Option<u8>, public_base_url: &str) -> Deployment {
    Deployment {
        click_secret: click_secret_byte.map(|b| ClickSecret::new(vec![b; 32]).unwrap()),
        public_base_url: public_base_url.into(),
        allow_private_postbacks: false,
    }
}

/// A use-case request (of the type the context needs) read from the JSON its API route
/// takes: `request!(json!({"name": "Acme", "currency": "USD"}))`. Panics when it does not
/// read, e.g. on an unknown field.
#[macro_export]
macro_rules! request {
    ($json:expr) => {{
        let json: ::serde_json::Value = $json;
        ::serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{json}: {e}"))
    }};
}

/// Creates or replaces the program from the JSON of `PUT /v1/admin/program`.
pub async fn put_program(s: &Services, program: Value) {
    let settings: admin::ProgramRequest = crate::request!(program);
    admin::put_program(s, settings.parse().unwrap())
        .await
        .unwrap();
}

/// Creates or replaces campaign `id` from the JSON of `PUT /v1/admin/campaigns/{id}`.
pub async fn put_campaign(s: &Services, id: &str, campaign: Value) {
    let currency = s.store.program().await.unwrap().unwrap().currency;
    let campaign: admin::CampaignRequest = crate::request!(campaign);
    admin::put_campaign(s, id.into(), campaign.parse(currency).unwrap())
        .await
        .unwrap();
}

/// Signs up `application` (the JSON of `POST /v1/partners`) and approves the applicant;
/// returns the partner, approved and with a link to every active campaign.
pub async fn approved_partner(s: &Services, application: Value) -> Partner {
    let form = s.store.program().await.unwrap().unwrap().signup.form;
    let application: upline_domain::usecases::signup::SignupRequest = crate::request!(application);
    let application = application.parse(&form, &s.store).await.unwrap();
    let applicant = upline_domain::usecases::signup::signup(s, application, "t")
        .await
        .unwrap();
    admin::approve_partner(s, &applicant.id, "t")
        .await
        .unwrap()
        .0
}

/// The partner's link to `campaign` as the operator asks for it (the one approval made, or
/// a new one): its code.
pub async fn link_code(s: &Services, partner_id: &str, campaign: &str) -> String {
    let req: admin::LinkRequest =
        crate::request!(json!({"partner_id": partner_id, "campaign_id": campaign}));
    let (link, _) = admin::create_link(s, req.parse().unwrap()).await.unwrap();
    link.code.to_string()
}

/// The link with `code` as the redirect resolves it: with its campaign as it is now
/// (panics when there is no such link).
pub async fn resolve(s: &Services, code: &str) -> ResolvedLink {
    resolve_link(&s.store, code)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no link {code}"))
}
