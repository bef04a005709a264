//! The console's page templates, the layout every page shares (who is signed in, what
//! their role lets them do), and the page that says one thing.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use upline_domain::operator::{Permission, Role};
use upline_web::Templates;

macro_rules! templates {
    ($($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),+]
    };
}

pub(crate) const TEMPLATES: &[(&str, &str)] = templates!(
    "base.html",
    "macros.html",
    "message.html",
    "login.html",
    "link_sent.html",
    "auth.html",
    "overview.html",
    "applications.html",
    "partners.html",
    "partner.html",
    "forms.html",
    "campaign_fields.html",
    "campaigns.html",
    "campaign.html",
    "conversions.html",
    "conversion.html",
    "payouts.html",
    "payout_run.html",
    "statement.html",
    "reports.html",
    "settings.html",
    "emails.html",
    "email.html",
    "audit.html",
    "operators.html",
);

static ENVIRONMENT: LazyLock<Templates> = LazyLock::new(|| Templates::new(TEMPLATES));

/// The stylesheet: the pages' shared one and the console's few rules.
static STYLESHEET: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}{}",
        upline_web::STYLESHEET,
        include_str!("../assets/console.css")
    )
});

/// What each role may do, as the templates ask it: a button a role may not use is not
/// shown (and its post is refused).
#[derive(Serialize, Default, Clone, Copy)]
pub struct Abilities {
    pub partners: bool,
    pub campaigns: bool,
    pub conversions: bool,
    pub emails: bool,
    pub payouts: bool,
    pub settings: bool,
    pub secrets: bool,
    pub operators: bool,
}

impl Abilities {
    pub fn of(role: Role) -> Self {
        Abilities {
            partners: role.may(Permission::ManagePartners),
            campaigns: role.may(Permission::ManageCampaigns),
            conversions: role.may(Permission::ManageConversions),
            emails: role.may(Permission::ManageEmails),
            payouts: role.may(Permission::ManagePayouts),
            settings: role.may(Permission::ManageSettings),
            secrets: role.may(Permission::ManageSecrets),
            operators: role.may(Permission::ManageOperators),
        }
    }
}

/// What every page's layout needs: the program's name and, once signed in, who is, with
/// the session's CSRF token for the forms and what they may do.
#[derive(Serialize)]
pub struct Layout<'a> {
    pub program_name: &'a str,
    pub signed_in: bool,
    pub operator: &'a str,
    pub role: &'a str,
    pub csrf: &'a str,
    /// Which page of the navigation this is.
    pub page: &'a str,
    pub may: Abilities,
}

impl<'a> Layout<'a> {
    pub fn public(program_name: &'a str) -> Self {
        Layout {
            program_name,
            signed_in: false,
            operator: "",
            role: "",
            csrf: "",
            page: "",
            may: Abilities::default(),
        }
    }
}

/// Renders `template` with the layout's variables and the page's own.
pub fn render(
    status: StatusCode,
    template: &str,
    layout: &Layout,
    page: impl Serialize,
) -> Response {
    ENVIRONMENT.render(status, template, layout, page)
}

/// A page with a heading, a few paragraphs and at most one link onwards.
pub fn message(
    status: StatusCode,
    layout: &Layout,
    heading: &str,
    paragraphs: &[&str],
    link: Option<(&str, &str)>,
) -> Response {
    ENVIRONMENT.message(status, layout, heading, paragraphs, link)
}

/// `GET /console/assets/console.css`.
pub async fn stylesheet() -> Response {
    upline_web::asset("text/css; charset=utf-8", STYLESHEET.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_the_roles_see_their_own_buttons() {
        for (name, _) in TEMPLATES {
            assert!(ENVIRONMENT.has(name), "{name}");
        }
        let analyst = Abilities::of(Role::Analyst);
        assert!(!analyst.partners && !analyst.payouts && !analyst.operators);
        let manager = Abilities::of(Role::Manager);
        assert!(manager.partners && manager.conversions && !manager.payouts && !manager.secrets);
        let owner = Abilities::of(Role::Owner);
        assert!(owner.payouts && owner.operators && owner.secrets);
    }
}
