//! The operator console's pages through the console function's router, in process, on a
//! manual clock: operators sign in by emailed link through the console's own door (a
//! partner's session opens nothing here, an operator's nothing in the portal); every
//! form is held to the role matrix (allowed, or 403 with nothing changed), to the
//! session's CSRF token and to a same-origin post; each page shows what it promises, and
//! every change is audited under the operator's email. Every table and queue call is
//! held to the `ConsoleFunction` policy in `template.yaml`.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use upline_domain::operator::Role;
use upline_domain::partner::PartnerStatus;
use upline_domain::ports::{QueueConsumer, QueueName};
use upline_domain::services::Services;
use upline_domain::usecases::console_sign_in::{self, CONSOLE_SESSION_SECS};
use upline_domain::usecases::operators::{self, OperatorSpec};
use upline_domain::usecases::sign_in::{LINK_VALID_SECS, issue_link};
use upline_tests::pages::{Page, Pages, deliver_queued, policed};
use upline_tests::policy::Policy;
use upline_tests::samples::{CLICK_SECRET_BYTE, NOW, commission_sample, seed};
use upline_tests::world::EmbeddedWorld;

const BASE: &str = "https://go.example.com";
const OWNER: &str = "olive@example.com";
const MANAGER: &str = "max@example.com";
const ANALYST: &str = "ann@example.com";

struct Console {
    world: EmbeddedWorld,
    pages: Pages,
    policy: Arc<Policy>,
}

/// The sample program with an owner, a manager and an analyst.
async fn console() -> Console {
    let world = EmbeddedWorld::open(NOW, CLICK_SECRET_BYTE, BASE);
    seed(&world.services).await;
    for (email, role) in [
        (OWNER, Role::Owner),
        (MANAGER, Role::Manager),
        (ANALYST, Role::Analyst),
    ] {
        let spec = OperatorSpec {
            email: email.into(),
            role,
        };
        operators::put(&world.services, spec, "samples")
            .await
            .unwrap();
    }
    let (services, policy) = policed(&world.services, "ConsoleFunction");
    Console {
        pages: Pages {
            router: upline_console::router(services),
            base: BASE.into(),
            cookie_name: upline_console::COOKIE,
        },
        world,
        policy,
    }
}

impl Console {
    fn services(&self) -> &Services {
        &self.world.services
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Page {
        self.pages.get(path, cookie).await
    }

    async fn post(&self, path: &str, cookie: Option<&str>, form: &str) -> Page {
        self.pages.post(path, cookie, form).await
    }

    /// Signs `email` in with a fresh link; returns the console session cookie's value.
    async fn signed_in(&self, email: &str) -> String {
        let operator = operators::find(self.services(), email)
            .await
            .unwrap()
            .expect("an operator");
        let (token, _) = console_sign_in::issue_link(self.services(), &operator, LINK_VALID_SECS)
            .await
            .unwrap();
        let page = self
            .post("/console/auth", None, &format!("token={}", token.expose()))
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
        page.cookie(upline_console::COOKIE)
            .expect("a session cookie")
    }

    /// Posts `form` to `path` with the session's CSRF token (every page carries it).
    async fn post_form(&self, path: &str, cookie: &str, form: &str) -> Page {
        let csrf = self.get("/console", Some(cookie)).await.csrf();
        self.post(path, Some(cookie), &format!("csrf={csrf}&{form}"))
            .await
    }

    async fn partner_status(&self, id: &str) -> PartnerStatus {
        self.services()
            .store
            .require_partner(&id.into())
            .await
            .unwrap()
            .status
    }

    /// The audit entries of today: (actor, action, target).
    async fn audited(&self) -> Vec<(String, String, String)> {
        let day = NOW.day();
        upline_domain::usecases::audit::entries_between(self.services(), day, day, 1000, |_| true)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.actor, e.action, e.target))
            .collect()
    }

    /// The console sign-in emails queued so far, delivered through the email stage:
    /// (to, text).
    async fn delivered_sign_in_emails(&self) -> Vec<(String, String)> {
        deliver_queued(&self.world, BASE, "operator_sign_in_link").await
    }

    fn assert_policy_kept(&self) {
        assert_eq!(self.policy.violations(), Vec::<String>::new());
    }
}

/// The sign-in link in an email's text.
fn link_in(text: &str) -> String {
    let at = text
        .find(&format!("{BASE}/console/auth?token="))
        .expect("a console sign-in link");
    text[at..].split_whitespace().next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_signs_in_by_emailed_link_and_the_two_doors_never_mix() {
    let c = console().await;
    let page = c.get("/console", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/console/login");
    // The same answer for an operator, a partner and a stranger; only the operator is
    // emailed, and at their own address.
    let mut answers = Vec::new();
    for email in [OWNER, "p-ada@example.com", "nobody@example.com"] {
        let page = c
            .pages
            .send(
                Method::POST,
                "/console/login",
                None,
                Some(format!("email={}", email.replace('@', "%40"))),
                &[("x-forwarded-for", "203.0.113.9")],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{email}");
        answers.push(page.text.replace(email, "EMAIL"));
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    let emails = c.delivered_sign_in_emails().await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0].0, OWNER);
    assert!(
        emails[0]
            .1
            .contains("operator console as olive@example.com")
    );
    let link = link_in(&emails[0].1);
    let path = link.strip_prefix(BASE).unwrap();
    // Opening the link only shows a button; the button spends it, once.
    let page = c.get(path, None).await;
    assert!(page.text.contains("Press the button to sign in"));
    let token = path.split("token=").nth(1).unwrap();
    let page = c
        .post("/console/auth", None, &format!("token={token}"))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/console");
    let set = page.headers["set-cookie"].to_str().unwrap();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "__Host-upline_console=",
    ] {
        assert!(set.contains(attribute), "{attribute} missing from {set}");
    }
    assert!(
        set.contains(&format!("Max-Age={CONSOLE_SESSION_SECS}")),
        "{set}"
    );
    let cookie = page.cookie(upline_console::COOKIE).unwrap();
    let overview = c.get("/console", Some(&cookie)).await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.text);
    assert!(overview.text.contains("olive@example.com"));
    let again = c
        .post("/console/auth", None, &format!("token={token}"))
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    // A partner's link and session open nothing here, and the operator's nothing there.
    let (partner_token, _) = issue_link(c.services(), &"p-ada".into(), LINK_VALID_SECS)
        .await
        .unwrap();
    let page = c
        .post(
            "/console/auth",
            None,
            &format!("token={}", partner_token.expose()),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "a partner's link");
    let portal = Pages {
        router: upline_portal::router(c.services().clone()),
        base: BASE.into(),
        cookie_name: upline_portal::COOKIE,
    };
    let page = portal
        .post(
            "/portal/auth",
            None,
            &format!("token={}", partner_token.expose()),
        )
        .await;
    let partner_session = page
        .cookie(upline_portal::COOKIE)
        .expect("a portal session");
    let page = c.get("/console", Some(&partner_session)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "a partner session");
    assert_eq!(page.location(), "/console/login");
    let page = portal.get("/portal", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "an operator session");
    assert_eq!(page.location(), "/portal/login");
    // An operator removed is signed out at their next page.
    operators::remove(c.services(), OWNER, "samples")
        .await
        .unwrap_err(); // the only owner stays …
    let max = c.signed_in(MANAGER).await;
    operators::remove(c.services(), MANAGER, "samples")
        .await
        .unwrap();
    let page = c.get("/console", Some(&max)).await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "… a removed manager does not"
    );
    // Added again, they sign in afresh: the old session stays closed.
    c.world.clock.advance_secs(60);
    let spec = OperatorSpec {
        email: MANAGER.into(),
        role: Role::Manager,
    };
    operators::put(c.services(), spec, "samples").await.unwrap();
    assert_eq!(
        c.get("/console", Some(&max)).await.status,
        StatusCode::SEE_OTHER
    );
    // Sessions end by the clock.
    c.world.clock.advance_secs(CONSOLE_SESSION_SECS);
    assert_eq!(
        c.get("/console", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER
    );
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_may_exactly_its_actions_and_a_refusal_changes_nothing() {
    let c = console().await;
    let owner = c.signed_in(OWNER).await;
    let manager = c.signed_in(MANAGER).await;
    let analyst = c.signed_in(ANALYST).await;
    // What each sees: analysts no decision buttons, managers no operator forms.
    let page = c.get("/console/applications", Some(&analyst)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains(">dan<"), "{}", page.text);
    assert!(!page.text.contains("value=\"approve:p-dan\""));
    let page = c.get("/console/applications", Some(&manager)).await;
    assert!(page.text.contains("value=\"approve:p-dan\""));
    let page = c.get("/console/settings/operators", Some(&manager)).await;
    assert!(
        page.text.contains(ANALYST),
        "managers see who runs the program"
    );
    assert!(!page.text.contains("Add operator"));
    let page = c.get("/console/settings/operators", Some(&owner)).await;
    assert!(page.text.contains("Add operator"));
    let page = c.get("/console/partners/p-ada", Some(&analyst)).await;
    assert!(!page.text.contains("Rotate API key"));

    // Each action × each role: allowed, or 403 with nothing changed.
    let approve = ("/console/applications", "one=approve%3Ap-dan");
    let suspend = (
        "/console/partners/p-bo",
        "action=suspend&reason=Brand+bidding",
    );
    let add = (
        "/console/settings/operators",
        "action=save&email=new%40example.com&role=analyst",
    );
    for (role, cookie, allowed) in [
        ("analyst", &analyst, [false, false, false]),
        ("manager", &manager, [true, true, false]),
    ] {
        for ((path, form), allowed) in [approve, suspend, add].into_iter().zip(allowed) {
            let before = c.audited().await.len();
            let page = c.post_form(path, cookie, form).await;
            if allowed {
                assert_eq!(page.status, StatusCode::OK, "{role} {path}: {}", page.text);
            } else {
                assert_eq!(page.status, StatusCode::FORBIDDEN, "{role} {path}");
                assert!(page.text.contains("Your role does not allow this"));
                assert_eq!(
                    c.audited().await.len(),
                    before,
                    "{role} {path} changed nothing"
                );
            }
        }
        if role == "analyst" {
            assert_eq!(c.partner_status("p-dan").await, PartnerStatus::Pending);
            assert_eq!(c.partner_status("p-bo").await, PartnerStatus::Approved);
        }
    }
    assert_eq!(c.partner_status("p-dan").await, PartnerStatus::Approved);
    assert_eq!(c.partner_status("p-bo").await, PartnerStatus::Suspended);
    assert!(
        operators::find(c.services(), "new@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let page = c.post_form(add.0, &owner, add.1).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("new@example.com is added as analyst."));
    // Each change is in the audit log under the operator who made it.
    let audited = c.audited().await;
    for expected in [
        (MANAGER, "partner.approved", "p-dan"),
        (MANAGER, "partner.suspended", "p-bo"),
        (OWNER, "operator.added", "new@example.com"),
    ] {
        assert!(
            audited
                .iter()
                .any(|(a, w, t)| (a.as_str(), w.as_str(), t.as_str()) == expected),
            "{expected:?} not in {audited:?}"
        );
    }
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_needs_the_sessions_csrf_token_and_a_same_origin_post() {
    let c = console().await;
    let owner = c.signed_in(OWNER).await;
    let manager = c.signed_in(MANAGER).await;
    let others_csrf = c.get("/console", Some(&manager)).await.csrf();
    for (path, form) in [
        ("/console/applications", "one=approve%3Ap-dan"),
        ("/console/partners/p-bo", "action=reinstate"),
        (
            "/console/settings/operators",
            "action=remove&email=ann%40example.com",
        ),
        ("/console/logout", ""),
    ] {
        let page = c.post(path, Some(&owner), form).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} without a token");
        let page = c
            .post(path, Some(&owner), &format!("csrf={others_csrf}&{form}"))
            .await;
        assert_eq!(
            page.status,
            StatusCode::FORBIDDEN,
            "{path}, another session's token"
        );
        let csrf = c.get("/console", Some(&owner)).await.csrf();
        let page = c
            .pages
            .send(
                Method::POST,
                path,
                Some(&owner),
                Some(format!("csrf={csrf}&{form}")),
                &[("origin", "https://evil.example")],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::FORBIDDEN,
            "{path} from another site"
        );
    }
    assert_eq!(c.partner_status("p-dan").await, PartnerStatus::Pending);
    assert!(
        operators::find(c.services(), ANALYST)
            .await
            .unwrap()
            .is_some()
    );
    assert!(c.audited().await.iter().all(|(a, _, _)| a == "samples"));
    // Signing out with the token works and closes the pages.
    let page = c.post_form("/console", &owner, "").await;
    assert_eq!(
        page.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "the overview takes no posts"
    );
    let csrf = c.get("/console", Some(&owner)).await.csrf();
    let page = c
        .post("/console/logout", Some(&owner), &format!("csrf={csrf}"))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/console/login?signed_out=1");
    assert_eq!(
        c.get("/console", Some(&owner)).await.status,
        StatusCode::SEE_OTHER
    );
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_are_decided_one_by_one_or_together_and_a_rejection_needs_a_reason() {
    let c = console().await;
    // Two more applicants: one recruited by Ada, with answers to the signup form.
    for (id, email, referral) in [
        ("p-eve", "eve@example.com", Some("adaref01")),
        ("p-fay", "fay@example.com", None),
    ] {
        let mut p =
            upline_tests::samples::partner(id, PartnerStatus::Pending, None, &format!("{id}ref"));
        p.email = email.into();
        p.recruited_by = referral.map(|_| "p-ada".into());
        p.fields
            .insert("website".into(), serde_json::json!("https://eve.example"));
        upline_tests::samples::insert_partner(c.services(), &p).await;
    }
    let manager = c.signed_in(MANAGER).await;
    let page = c.get("/console/applications", Some(&manager)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("3 applicants waiting"), "{}", page.text);
    assert!(page.decoded().contains("https://eve.example"));
    assert!(
        page.text
            .contains("href=\"/console/partners/p-ada\">ada</a>"),
        "the recruiter"
    );
    // One applicant rejected without a reason: said at that applicant's reason field.
    let page = c
        .post_form(
            "/console/applications",
            &manager,
            "one=reject%3Ap-eve&reason-p-eve=",
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text.contains("id=\"reason-p-eve-error\""),
        "{}",
        page.text
    );
    assert!(!page.text.contains("id=\"reason-error\""));
    // Rejecting several without a reason rejects nobody, and says so at the field.
    let page = c
        .post_form(
            "/console/applications",
            &manager,
            "bulk=reject&ids=p-eve&ids=p-fay&reason=+",
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("id=\"reason-error\""), "{}", page.text);
    assert!(
        page.text
            .contains("value=\"p-fay\" id=\"pick-p-fay\" aria-label=\"Select fay\" checked"),
        "ticked boxes stay ticked"
    );
    assert_eq!(c.partner_status("p-eve").await, PartnerStatus::Pending);
    // With a reason, both are rejected and each is told it.
    let page = c
        .post_form(
            "/console/applications",
            &manager,
            "bulk=reject&ids=p-eve&ids=p-fay&reason=Not+a+fit+for+outdoor+gear",
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("Rejected: eve, fay."), "{}", page.text);
    let eve = c
        .services()
        .store
        .require_partner(&"p-eve".into())
        .await
        .unwrap();
    assert_eq!(eve.status, PartnerStatus::Rejected);
    assert_eq!(
        eve.status_reason.as_deref(),
        Some("Not a fit for outdoor gear")
    );
    // One by one: Dan approved; approving him again is refused with the reason.
    let page = c
        .post_form("/console/applications", &manager, "one=approve%3Ap-dan")
        .await;
    assert!(page.text.contains("Approved: dan."));
    assert!(page.text.contains("No applications are waiting."));
    let page = c
        .post_form("/console/applications", &manager, "bulk=approve&ids=p-dan")
        .await;
    assert!(
        page.text.contains("only pending partners can be approved"),
        "{}",
        page.text
    );
    let dan = c
        .services()
        .store
        .require_partner(&"p-dan".into())
        .await
        .unwrap();
    let history: Vec<_> = dan.status_history.iter().map(|h| h.status).collect();
    assert_eq!(history, [PartnerStatus::Approved]);
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partners_page_shows_all_about_them_and_refuses_a_recruitment_cycle() {
    let c = console().await;
    commission_sample(c.services()).await;
    let owner = c.signed_in(OWNER).await;
    // The list filters by text and status.
    let page = c.get("/console/partners?q=ada", Some(&owner)).await;
    assert!(page.text.contains("1 of 4 partners"), "{}", page.text);
    let page = c
        .get("/console/partners?status=pending", Some(&owner))
        .await;
    assert!(page.text.contains("href=\"/console/partners/p-dan\""));
    assert!(!page.text.contains("href=\"/console/partners/p-ada\""));
    // Bo's page: his recruiter, his recruit and what he earned from her, his lines.
    let page = c.get("/console/partners/p-bo", Some(&owner)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let text = page.decoded();
    assert!(
        text.contains("Recruited by: <a href=\"/console/partners/p-cleo\">cleo</a>"),
        "{text}"
    );
    assert!(text.contains("<a href=\"/console/partners/p-ada\">ada</a>"));
    assert!(text.contains("5.00 USD"), "his line of the sample sale");
    // Making Ada Bo's recruiter would be a cycle: refused at the field, with the reason.
    let page = c
        .post_form(
            "/console/partners/p-bo",
            &owner,
            "action=recruiter&recruiter=p-ada",
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("id=\"recruiter-error\""));
    assert!(page.text.contains("recruitment cycle"), "{}", page.text);
    assert!(
        page.text
            .contains("name=\"recruiter\" type=\"text\" value=\"p-ada\""),
        "what was typed stays"
    );
    let bo = c
        .services()
        .store
        .require_partner(&"p-bo".into())
        .await
        .unwrap();
    assert_eq!(bo.recruited_by.as_deref(), Some("p-cleo"));
    // By referral code, to nobody's downline: done.
    let page = c
        .post_form(
            "/console/partners/p-dan",
            &owner,
            "action=recruiter&recruiter=ADAREF01",
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    // Suspending needs a reason; then reinstating; each in the status history.
    let page = c
        .post_form("/console/partners/p-ada", &owner, "action=suspend")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("id=\"reason-error\""));
    c.post_form(
        "/console/partners/p-ada",
        &owner,
        "action=suspend&reason=Coupon+sites",
    )
    .await;
    let page = c
        .post_form("/console/partners/p-ada", &owner, "action=reinstate")
        .await;
    assert!(page.text.contains("The partner is reinstated."));
    assert!(
        page.text.contains("suspended: Coupon sites"),
        "{}",
        page.text
    );
    // A new key is shown once.
    let page = c
        .post_form("/console/partners/p-ada", &owner, "action=rotate_key")
        .await;
    assert!(page.text.contains("shown this once"));
    assert!(page.text.contains("upl_partner_"));
    assert!(
        !c.get("/console/partners/p-ada", Some(&owner))
            .await
            .text
            .contains("upl_partner_")
    );
    let audited = c.audited().await;
    let actions: Vec<_> = audited
        .iter()
        .filter(|(a, _, _)| a == OWNER)
        .map(|(_, w, t)| format!("{w} {t}"))
        .collect();
    assert_eq!(
        actions,
        [
            "partner.key_rotated p-ada",
            "partner.reinstated p-ada",
            "partner.suspended p-ada",
            "partner.recruiter_changed p-dan",
        ],
        "newest first"
    );
    assert_eq!(
        c.get("/console/partners/p-nobody", Some(&owner))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_compares_the_period_and_lists_what_needs_attention() {
    let c = console().await;
    // The sample sale pays 10.00 to Ada, 5.00 to Bo and 2.50 to Cleo on a 100.00 sale.
    commission_sample(c.services()).await;
    let analyst = c.signed_in(ANALYST).await;
    let page = c.get("/console?days=7", Some(&analyst)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let text = page.text.clone();
    assert!(text.contains("aria-current=\"true\">7 days"));
    assert!(text.contains("<dt>Commission</dt><dd>17.50"), "{text}");
    assert!(text.contains("<dt>Revenue</dt><dd>100.00"), "{text}");
    assert!(
        text.contains("<span class=\"change-up\">new</span> (was 0.00)"),
        "{text}"
    );
    assert!(
        text.contains(
            "<strong>1</strong>\n    <a href=\"/console/applications\">application waiting"
        ),
        "{text}"
    );
    assert!(text.contains("<svg"), "the chart");
    assert!(
        text.contains("<strong>0</strong>\n    conversions without commission"),
        "{text}"
    );
    assert!(
        text.contains("<strong>0</strong>\n    messages in dead-letter queues</li>"),
        "{text}"
    );
    // A message the email stage gave up on is counted.
    c.services()
        .queue
        .send(QueueName::Emails, vec!["poison".into()])
        .await
        .unwrap();
    let received = c
        .world
        .store
        .receive(QueueName::Emails, 10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let poison = received.iter().find(|d| d.body == "poison").unwrap();
    c.world
        .store
        .dead_letter(QueueName::Emails, poison, "undecodable")
        .await
        .unwrap();
    let text = c.get("/console?days=7", Some(&analyst)).await.text;
    assert!(
        text.contains("<strong>1</strong>\n    message in dead-letter queues: 1 emails</li>"),
        "{text}"
    );
    // Top partners by commission: Ada first.
    let ada = text.find("href=\"/console/partners/p-ada\"").expect(&text);
    let bo = text.find("href=\"/console/partners/p-bo\"").unwrap();
    assert!(ada < bo);
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_page_filters_by_who_what_and_when() {
    let c = console().await;
    let owner = c.signed_in(OWNER).await;
    c.post_form("/console/partners/p-ada", &owner, "action=group&group=gold")
        .await;
    let page = c.get("/console/audit?who=olive", Some(&owner)).await;
    assert!(page.text.contains("partner.group_set"), "{}", page.text);
    assert!(
        !page.text.contains("operator.added"),
        "the seeding's entries are someone else's"
    );
    let page = c.get("/console/audit?what=operator", Some(&owner)).await;
    assert!(page.text.contains("operator.added"));
    assert!(!page.text.contains("partner.group_set"));
    let page = c
        .get("/console/audit?from=2020-01-01&to=2020-01-02", Some(&owner))
        .await;
    assert!(page.text.contains("Nothing recorded that matches."));
    let page = c.get("/console/audit?from=someday", Some(&owner)).await;
    assert!(page.text.contains("id=\"range-error\""), "{}", page.text);
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_is_created_with_its_terms_checked_field_by_field_and_previewed() {
    let c = console().await;
    let manager = c.signed_in(MANAGER).await;
    let analyst = c.signed_in(ANALYST).await;
    let form = "id=autumn&name=Autumn+sale&destination_url=https%3A%2F%2Fshop.example.com%2Fautumn\
        &allowed_domains=blog.example.com&status=active&attribution_window_days=45\
        &revenue_share_percent=12.5&cpa=&upline_levels=50%2C+25&upline_base=direct_commission\
        &more_terms=&targeting=";
    // Bad input: each problem at its field, nothing stored.
    let bad = form
        .replace("revenue_share_percent=12.5", "revenue_share_percent=lots")
        .replace(
            "destination_url=https%3A%2F%2Fshop.example.com%2Fautumn",
            "destination_url=shop",
        )
        .replace(
            "more_terms=",
            "more_terms=%7B%22caps%22%3A+%5B%7B%22period%22%3A+%22year%22%7D%5D%7D",
        );
    let page = c.post_form("/console/campaigns", &manager, &bad).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.text
    );
    for field in ["revenue_share_percent", "destination_url", "more_terms"] {
        assert!(
            page.text.contains(&format!("id=\"{field}-error\"")),
            "{field}: {}",
            page.text
        );
    }
    assert!(
        page.text.contains("terms.caps[0].period"),
        "the box names its member"
    );
    assert!(
        page.decoded().contains("value=\"Autumn sale\""),
        "what was typed is kept"
    );
    assert!(
        c.services()
            .store
            .campaign(&"autumn".into())
            .await
            .unwrap()
            .is_none()
    );
    // A JSON box's problem is named at that box, by the member's path in it.
    let bad = form.replace("targeting=", "targeting=%7B%22countries%22%3A+%22US%22%7D");
    let page = c.post_form("/console/campaigns", &manager, &bad).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text.contains("id=\"targeting-error\""),
        "{}",
        page.text
    );
    assert!(page.text.contains("targeting.countries"), "{}", page.text);
    assert!(!page.text.contains("id=\"more_terms-error\""));
    // An analyst may not create one.
    let page = c.post_form("/console/campaigns", &analyst, form).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        c.services()
            .store
            .campaign(&"autumn".into())
            .await
            .unwrap()
            .is_none()
    );
    // Created, then shown as stored.
    let page = c.post_form("/console/campaigns", &manager, form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    assert_eq!(page.location(), "/console/campaigns/autumn?saved=1");
    let stored = c
        .services()
        .store
        .campaign(&"autumn".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.attribution_window_days, 45);
    assert_eq!(stored.upline.as_ref().unwrap().depth, 2);
    let page = c
        .get("/console/campaigns/autumn?saved=1", Some(&manager))
        .await;
    assert!(page.text.contains("The campaign is saved."));
    assert!(
        page.text.contains("Pays 12.5% of the sale."),
        "{}",
        page.text
    );
    assert!(
        page.decoded()
            .contains("id=\"upline_levels\" name=\"upline_levels\" type=\"text\" value=\"50, 25\""),
        "{}",
        page.text
    );
    // The same id again is refused.
    let page = c.post_form("/console/campaigns", &manager, form).await;
    assert!(page.text.contains("is taken by another campaign"));
    // The preview of a 100.00 sale by Ada: her 12.50, Bo's half of it, Cleo's quarter
    // (3.125, rounded half to even as the engine rounds).
    let page = c
        .get(
            "/console/campaigns/autumn?partner_id=p-ada&amount=100.00&items=",
            Some(&analyst),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let text = page.text.clone();
    for amount in ["12.50 USD", "6.25 USD", "3.12 USD"] {
        assert!(text.contains(amount), "{amount}: {text}");
    }
    assert!(text.contains("with nothing stored"));
    // … and nothing was: no conversion, no line, no counter.
    let lines = c
        .services()
        .store
        .lines_of_partner(&"p-ada".into(), &upline_domain::store::PageQuery::first(50))
        .await
        .unwrap();
    assert!(lines.items.is_empty());
    // A preview with items pays on them; bad items and amounts are named.
    let page = c
        .get(
            "/console/campaigns/autumn?partner_id=p-ada&amount=abc&items=BOOT%2C+two%2C+10.00",
            Some(&analyst),
        )
        .await;
    assert!(
        page.text.contains("id=\"preview-amount-error\""),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("line_items[0].quantity"),
        "{}",
        page.text
    );
    // Editing: a bad upline level is named and the stored campaign stays.
    let edit = form
        .replace("id=autumn&", "")
        .replace("upline_levels=50%2C+25", "upline_levels=50%2C+x");
    let page = c
        .post_form("/console/campaigns/autumn", &manager, &edit)
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text.contains("upline.level_percents[1]"),
        "{}",
        page.text
    );
    let edit = form
        .replace("id=autumn&", "")
        .replace("revenue_share_percent=12.5", "revenue_share_percent=15")
        .replace(
            "more_terms=",
            "more_terms=%7B%22sku_rates%22%3A+%7B%22BOOT%22%3A+%2220%22%7D%7D",
        );
    let page = c
        .post_form("/console/campaigns/autumn", &manager, &edit)
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let stored = c
        .services()
        .store
        .campaign(&"autumn".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.terms.revenue_share.unwrap().to_string(), "15%");
    let page = c.get("/console/campaigns/autumn", Some(&manager)).await;
    assert!(
        page.decoded().contains("\"BOOT\": \"20\""),
        "the other terms round-trip: {}",
        page.text
    );
    let audited = c.audited().await;
    assert!(
        audited
            .iter()
            .any(|(a, w, t)| a == MANAGER && w == "campaign.created" && t == "autumn")
    );
    assert!(
        audited
            .iter()
            .any(|(a, w, t)| a == MANAGER && w == "campaign.terms_changed" && t == "autumn")
    );
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversions_are_listed_approved_rejected_and_refunded_with_their_reversals() {
    let c = console().await;
    // The sample sale: pending lines of 10.00 (Ada), 5.00 (Bo), 2.50 (Cleo).
    commission_sample(c.services()).await;
    let manager = c.signed_in(MANAGER).await;
    let analyst = c.signed_in(ANALYST).await;
    let page = c.get("/console/conversions", Some(&analyst)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("order-2026-000001"), "{}", page.text);
    assert!(page.text.contains("status-pending"));
    assert!(
        page.text.contains("17.50 USD"),
        "the commission of all its lines"
    );
    let page = c
        .get("/console/conversions?status=approved", Some(&analyst))
        .await;
    assert!(!page.text.contains("order-2026-000001"));
    let page = c
        .get("/console/conversions?from=2020-02-30", Some(&analyst))
        .await;
    assert!(page.text.contains("id=\"range-error\""));
    let path = "/console/conversions/conv-sample-1";
    let page = c.get(path, Some(&analyst)).await;
    assert!(!page.text.contains(">Approve<"), "analysts see no buttons");
    assert_eq!(
        c.post_form(path, &analyst, "action=approve").await.status,
        StatusCode::FORBIDDEN
    );
    // A partial refund takes its share back from every line, shown at once.
    let page = c
        .post_form(
            path,
            &manager,
            "action=refund&amount=40.00&kind=refund&reference=r-1",
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("Refunded 40.00 USD"), "{}", page.text);
    for reversal in [
        "ada, level 0: -4.00 USD",
        "bo, level 1: -2.00 USD",
        "cleo, level 2: -1.00 USD",
    ] {
        assert!(page.text.contains(reversal), "{reversal}: {}", page.text);
    }
    // More than is left is refused at the field, and nothing changes.
    let page = c
        .post_form(path, &manager, "action=refund&amount=70.00")
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.text
    );
    assert!(page.text.contains("id=\"amount-error\""));
    let conversion = c
        .services()
        .store
        .conversion(&"conv-sample-1".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversion.amounts.refunded.minor(), 4000);
    // Approved early; then rejecting is refused, with the reason.
    let page = c.post_form(path, &manager, "action=approve").await;
    assert!(page.text.contains("Approved:"), "{}", page.text);
    let lines = c
        .services()
        .store
        .lines_of_conversion(&"conv-sample-1".into())
        .await
        .unwrap();
    assert!(
        lines
            .iter()
            .filter(|l| l.reverses.is_none())
            .all(|l| l.status == upline_domain::commission::LineStatus::Approved)
    );
    let page = c
        .post_form(path, &manager, "action=reject&reason=Fraud")
        .await;
    assert!(
        !page.text.contains(">Reject<"),
        "no reject button once approved"
    );
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text.contains("refund the conversion instead"),
        "{}",
        page.text
    );
    let audited = c.audited().await;
    assert!(
        audited
            .iter()
            .any(|(a, w, _)| a == MANAGER && w == "conversion.refunded")
    );
    assert!(
        audited
            .iter()
            .any(|(a, w, _)| a == MANAGER && w == "conversion.approved")
    );
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_runs_payouts_downloads_the_paypal_file_and_marks_them_paid() {
    let c = console().await;
    commission_sample(c.services()).await;
    upline_domain::usecases::partner_area::set_payout_details(
        c.services(),
        &"p-ada".into(),
        upline_domain::payout::PayoutDetails::Paypal {
            email: "ada-pays@example.com".into(),
        },
    )
    .await
    .unwrap();
    let owner = c.signed_in(OWNER).await;
    let manager = c.signed_in(MANAGER).await;
    c.post_form(
        "/console/conversions/conv-sample-1",
        &owner,
        "action=approve",
    )
    .await;
    // Managers read payouts but may not run or settle them.
    let page = c.get("/console/payouts", Some(&manager)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains("Run payouts</button>"));
    let today = NOW.day().to_string();
    let page = c
        .post_form("/console/payouts", &manager, &format!("period={today}"))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // A bad period is named; a good one runs and shows the run.
    let page = c
        .post_form("/console/payouts", &owner, "period=someday")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("id=\"period-error\""));
    let page = c
        .post_form("/console/payouts", &owner, &format!("period={today}"))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let run_path = page.location().to_string();
    assert_eq!(run_path, format!("/console/payouts/runs/{today}"));
    let page = c.get(&run_path, Some(&owner)).await;
    assert!(page.text.contains("10.00 USD"), "{}", page.text);
    assert!(page.text.contains("paypal: ada-pays@example.com"));
    // The PayPal file, one currency per file.
    let file = c
        .get(
            &format!("{run_path}/export.csv?format=paypal&currency=USD"),
            Some(&manager),
        )
        .await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        file.text.contains("ada-pays@example.com,10.00,USD"),
        "{}",
        file.text
    );
    // Marking paid: refused to the manager, done for the owner, and the partner's
    // balance moves.
    let payout_id = format!("{today}:p-ada:USD");
    let settle = format!("/console/payouts/{payout_id}");
    let csrf = c.get(&run_path, Some(&manager)).await.csrf();
    let page = c
        .post(
            &settle,
            Some(&manager),
            &format!("csrf={csrf}&action=paid&reference=PP-1"),
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let csrf = c.get(&run_path, Some(&owner)).await.csrf();
    let page = c
        .post(
            &settle,
            Some(&owner),
            &format!("csrf={csrf}&action=paid&reference=PP-1"),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("The payout to ada is paid."),
        "{}",
        page.text
    );
    let payout =
        upline_domain::usecases::payouts::payout(&c.services().store, &payout_id.as_str().into())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(payout.status, upline_domain::payout::PayoutStatus::Paid);
    assert_eq!(payout.note.as_deref(), Some("PP-1"));
    let page = c.get(&settle, Some(&owner)).await;
    assert!(
        page.text.contains("10% revenue share"),
        "the statement's lines: {}",
        page.text
    );
    let audited = c.audited().await;
    assert!(
        audited
            .iter()
            .any(|(a, w, _)| a == OWNER && w == "payout_run.started")
    );
    assert!(
        audited
            .iter()
            .any(|(a, w, t)| a == OWNER && w == "payout.marked_paid" && *t == payout_id)
    );
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_group_the_counters_and_download_as_csv() {
    let c = console().await;
    commission_sample(c.services()).await;
    let analyst = c.signed_in(ANALYST).await;
    let page = c
        .get("/console/reports?group_by=partner", Some(&analyst))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("<th scope=\"row\">p-bo</th>"),
        "{}",
        page.text
    );
    assert!(page.text.contains("<svg"));
    let csv = c
        .get("/console/reports.csv?group_by=partner", Some(&analyst))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines[0],
        "partner,clicks,unique_clicks,bot_clicks,rejected_clicks,impressions,conversions,revenue,commission,currency"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("p-ada,") && l.ends_with(",1,100.00,10.00,USD")),
        "{lines:?}"
    );
    assert!(lines.last().unwrap().starts_with("total,"));
    assert!(lines.last().unwrap().ends_with(",17.50,USD"), "{lines:?}");
    // Sub-ids are per partner: asked without one, the field says so.
    let page = c
        .get("/console/reports?group_by=sub1", Some(&analyst))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("id=\"group_by-error\""), "{}", page.text);
    let page = c
        .get(
            "/console/reports?group_by=sub1&partner=p-ada",
            Some(&analyst),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_saved_field_by_field_and_the_postback_secret_is_shown_once() {
    let c = console().await;
    let owner = c.signed_in(OWNER).await;
    let manager = c.signed_in(MANAGER).await;
    let page = c.get("/console/settings", Some(&manager)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        !page.text.contains("Save settings"),
        "managers may not change settings"
    );
    assert!(!page.text.contains("Replace the postback secret"));
    let settings = "name=Demo+Outfitters&hold_days=14&upline_levels=40%2C+20&upline_base=direct_commission\
        &upline_skip=compress&attribution_priority=click&cadence=monthly&minimum=25.00&auto_approve=yes\
        &signup_form=%5B%7B%22name%22%3A+%22website%22%2C+%22label%22%3A+%22Your+website%22%2C+%22type%22%3A+%22url%22%2C+%22required%22%3A+true%7D%5D\
        &action=save";
    assert_eq!(
        c.post_form("/console/settings", &manager, settings)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Every role may preview the signup form: it changes nothing.
    let page = c
        .post_form(
            "/console/settings",
            &manager,
            &settings.replace("action=save", "action=preview"),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    // Bad values are named, and nothing is saved.
    let bad = settings
        .replace("minimum=25.00", "minimum=lots")
        .replace("%22url%22", "%22photo%22");
    let page = c.post_form("/console/settings", &owner, &bad).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.text
    );
    assert!(page.text.contains("id=\"minimum-error\""), "{}", page.text);
    assert!(page.text.contains("signup.form[0].type"), "{}", page.text);
    let program = upline_domain::usecases::admin::require_program(&c.services().store)
        .await
        .unwrap();
    assert_eq!(program.hold_days, 30);
    // The preview shows the form as typed without saving it.
    let preview = settings.replace("action=save", "action=preview");
    let page = c.post_form("/console/settings", &owner, &preview).await;
    assert!(
        page.text.contains(
            "<strong>Your website</strong> <span class=\"required\">(required)</span> — url"
        ),
        "{}",
        page.text
    );
    assert!(
        upline_domain::usecases::admin::require_program(&c.services().store)
            .await
            .unwrap()
            .signup
            .form
            .is_empty()
    );
    let page = c.post_form("/console/settings", &owner, settings).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("The settings are saved."));
    let program = upline_domain::usecases::admin::require_program(&c.services().store)
        .await
        .unwrap();
    assert_eq!(program.hold_days, 14);
    assert_eq!(program.upline.depth, 2);
    assert_eq!(program.payouts.minimum_minor, 2500);
    assert!(program.signup.auto_approve);
    assert_eq!(program.signup.form.len(), 1);
    // The secret: shown once, then never again; the old one is gone.
    let old = program.postback_secret.clone();
    assert_eq!(
        c.post_form("/console/settings/postback-secret", &manager, "")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let page = c
        .post_form("/console/settings/postback-secret", &owner, "")
        .await;
    let program = upline_domain::usecases::admin::require_program(&c.services().store)
        .await
        .unwrap();
    assert_ne!(program.postback_secret, old);
    assert!(page.text.contains(&program.postback_secret), "shown once");
    assert!(
        !c.get("/console/settings", Some(&owner))
            .await
            .text
            .contains(&program.postback_secret)
    );
    // An exchange rate.
    let page = c
        .post_form(
            "/console/settings/exchange-rates",
            &owner,
            "currency=eur&rate=abc",
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("id=\"rate-error\""));
    let page = c
        .post_form(
            "/console/settings/exchange-rates",
            &owner,
            "currency=eur&rate=1.08",
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("<th scope=\"row\">EUR</th>"),
        "{}",
        page.text
    );
    let audited = c.audited().await;
    for action in [
        "program.updated",
        "program.postback_secret_rotated",
        "exchange_rate.set",
    ] {
        assert!(
            audited.iter().any(|(a, w, _)| a == OWNER && w == action),
            "{action}"
        );
    }
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_templates_are_previewed_checked_saved_and_reset() {
    let c = console().await;
    let manager = c.signed_in(MANAGER).await;
    let analyst = c.signed_in(ANALYST).await;
    let page = c.get("/console/settings/emails", Some(&analyst)).await;
    assert!(page.text.contains("operator_sign_in_link"));
    let path = "/console/settings/emails/partner_approved";
    let page = c.get(path, Some(&analyst)).await;
    assert!(page.text.contains("Preview, with sample data"));
    assert!(
        page.text.contains("Ada Lovelace"),
        "rendered with the sample: {}",
        page.text
    );
    let broken = "subject=Welcome+{{+partner_name+&text=Hi&html=%3Cp%3EHi%3C%2Fp%3E&action=save";
    assert_eq!(
        c.post_form(path, &analyst, broken).await.status,
        StatusCode::FORBIDDEN
    );
    let page = c.post_form(path, &manager, broken).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.text
    );
    assert!(
        page.text.contains("the subject does not render"),
        "{}",
        page.text
    );
    assert!(
        upline_domain::usecases::emails::template_override(&c.services().store, "partner_approved")
            .await
            .unwrap()
            .is_none()
    );
    let good = "subject=You+are+in%2C+{{+partner_name+}}&text=Welcome+to+{{+program_name+}}&html=%3Cp%3EWelcome%3C%2Fp%3E&action=save";
    let page = c.post_form(path, &manager, good).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("You are in, Ada Lovelace"),
        "{}",
        page.text
    );
    let html = c.get(&format!("{path}/preview.html"), Some(&analyst)).await;
    assert_eq!(html.text, "<p>Welcome</p>");
    assert!(
        html.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    let page = c.post_form(path, &manager, "action=reset").await;
    assert!(page.text.contains("The shipped template is used again."));
    // The welcome email carries the partner's API key: an owner's to word, not a manager's.
    let welcome = "/console/settings/emails/welcome";
    let page = c
        .post_form(
            welcome,
            &manager,
            "subject=Hi&text={{+api_key+}}&html=x&action=save",
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        !c.get(welcome, Some(&manager))
            .await
            .text
            .contains("value=\"save\"")
    );
    // The emails that carry a sign-in link are fixed: a manager who could edit them could
    // send an owner's link to themselves.
    let leak = "subject=Sign+in&text={{+sign_in_url+}}&html=%3Cimg+src%3D%22https%3A%2F%2Fevil.example%2F{{+sign_in_url+}}%22%3E&action=save";
    for fixed in ["operator_sign_in_link", "sign_in_link"] {
        let path = format!("/console/settings/emails/{fixed}");
        let page = c.get(&path, Some(&manager)).await;
        assert!(page.text.contains("its text is fixed"), "{}", page.text);
        assert!(!page.text.contains("value=\"save\""), "no save button");
        let page = c.post_form(&path, &manager, leak).await;
        assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.text);
        assert!(
            upline_domain::usecases::emails::template_override(&c.services().store, fixed)
                .await
                .unwrap()
                .is_none()
        );
    }
    // One stored before they were fixed is never sent.
    c.services()
        .store
        .table()
        .put(
            upline_domain::store::encode(
                upline_domain::store::keys::email_template("operator_sign_in_link"),
                &upline_domain::emails::TemplateSource {
                    subject: "x".into(),
                    text: "{{ sign_in_url }}".into(),
                    html: "<img src=\"https://evil.example/{{ sign_in_url }}\">".into(),
                },
            ),
            upline_domain::ports::Condition::None,
        )
        .await
        .unwrap();
    let page = c
        .pages
        .send(
            Method::POST,
            "/console/login",
            None,
            Some(format!("email={}", OWNER.replace('@', "%40"))),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let sent = c.delivered_sign_in_emails().await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].1.contains("operator console as olive@example.com"),
        "the shipped text: {}",
        sent[0].1
    );
    assert!(
        upline_domain::usecases::emails::template_override(&c.services().store, "partner_approved")
            .await
            .unwrap()
            .is_none()
    );
    c.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_is_in_the_program_currency_and_taken_once_however_often_it_is_sent() {
    use upline_domain::conversion::OriginalAmount;
    use upline_domain::money::{Currency, ExchangeRate, Money};
    let c = console().await;
    // The sample sale, as if it had been 80.00 GBP converted at 1.25 into 100.00 USD.
    let store = &c.services().store;
    let mut sale = store
        .conversion(&"conv-sample-1".into())
        .await
        .unwrap()
        .unwrap();
    let gbp = Currency::from_code("GBP").unwrap();
    sale.original = Some(OriginalAmount {
        amount: Money::from_minor(8_000, gbp),
        rate: ExchangeRate {
            from: gbp,
            to: Currency::from_code("USD").unwrap(),
            rate: rust_decimal::Decimal::new(125, 2),
        },
    });
    store
        .table()
        .transact(vec![upline_domain::store::Store::conversion_put(
            &sale,
            upline_domain::ports::Condition::None,
        )])
        .await
        .unwrap();
    commission_sample(c.services()).await;
    let manager = c.signed_in(MANAGER).await;
    let path = "/console/conversions/conv-sample-1";
    let page = c.get(path, Some(&manager)).await;
    assert!(page.text.contains("Amount refunded (USD)"));
    let at = page
        .text
        .find("name=\"refund_id\" value=\"")
        .expect("a refund id in the form");
    let refund_id = &page.text[at + 24..];
    let refund_id = refund_id[..refund_id.find('"').unwrap()].to_string();
    // The form sent twice (a reload, a double click): refunded once, in dollars.
    let form = format!("action=refund&amount=40.00&kind=refund&refund_id={refund_id}");
    let first = c.post_form(path, &manager, &form).await;
    assert!(first.text.contains("Refunded 40.00 USD"), "{}", first.text);
    let again = c.post_form(path, &manager, &form).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(
        again.text.contains("was already recorded; nothing changed"),
        "{}",
        again.text
    );
    let sale = store
        .conversion(&"conv-sample-1".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sale.amounts.refunded.minor(), 4_000);
    // What was typed stays when the amount is refused.
    let page = c
        .post_form(path, &manager, "action=refund&amount=999.00&reference=r-9")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("value=\"999.00\""), "{}", page.text);
    assert!(page.text.contains("value=\"r-9\""));
    c.assert_policy_kept();
}

/// Every action the console offers, as a role posts it: (what, path, form, permission).
const ACTIONS: &[(&str, &str, &str, upline_domain::operator::Permission)] = {
    use upline_domain::operator::Permission::*;
    &[
        (
            "approve an applicant",
            "/console/applications",
            "one=approve%3Ap-dan",
            ManagePartners,
        ),
        (
            "reject an applicant",
            "/console/applications",
            "one=reject%3Ap-dan&reason-p-dan=No+site",
            ManagePartners,
        ),
        (
            "put a partner in a group",
            "/console/partners/p-bo",
            "action=group&group=gold",
            ManagePartners,
        ),
        (
            "suspend a partner",
            "/console/partners/p-bo",
            "action=suspend&reason=Spam",
            ManagePartners,
        ),
        (
            "reinstate a partner",
            "/console/partners/p-bo",
            "action=reinstate",
            ManagePartners,
        ),
        (
            "rotate a partner's key",
            "/console/partners/p-bo",
            "action=rotate_key",
            ManagePartners,
        ),
        (
            "change a recruiter",
            "/console/partners/p-dan",
            "action=recruiter&recruiter=p-ada",
            ManagePartners,
        ),
        (
            "create a campaign",
            "/console/campaigns",
            "id=autumn&name=Autumn&destination_url=https%3A%2F%2Fshop.example.com%2F&revenue_share_percent=5&upline_mode=program",
            ManageCampaigns,
        ),
        (
            "save a campaign",
            "/console/campaigns/spring-sale",
            "name=Spring+sale&destination_url=https%3A%2F%2Fshop.example.com%2Fspring&revenue_share_percent=11&upline_mode=program",
            ManageCampaigns,
        ),
        (
            "approve a conversion",
            "/console/conversions/conv-sample-1",
            "action=approve",
            ManageConversions,
        ),
        (
            "reject a conversion",
            "/console/conversions/conv-sample-1",
            "action=reject&reason=Fraud",
            ManageConversions,
        ),
        (
            "refund a conversion",
            "/console/conversions/conv-sample-1",
            "action=refund&amount=10.00",
            ManageConversions,
        ),
        (
            "run payouts",
            "/console/payouts",
            "period=2026-11",
            ManagePayouts,
        ),
        (
            "mark a payout failed",
            "/console/payouts/2026-11:p-ada:USD",
            "action=failed&reason=Bounced",
            ManagePayouts,
        ),
        (
            "save the settings",
            "/console/settings",
            "name=Demo+Outfitters&hold_days=14&upline_levels=50&upline_base=direct_commission&upline_skip=forfeit&attribution_priority=promo_code&cadence=manual&minimum=0.00&action=save",
            ManageSettings,
        ),
        (
            "set an exchange rate",
            "/console/settings/exchange-rates",
            "currency=EUR&rate=1.08",
            ManageSettings,
        ),
        (
            "replace the postback secret",
            "/console/settings/postback-secret",
            "",
            ManageSecrets,
        ),
        (
            "save an email",
            "/console/settings/emails/partner_approved",
            "subject=Hi&text=Hi&html=Hi&action=save",
            ManageEmails,
        ),
        (
            "reset an email",
            "/console/settings/emails/partner_approved",
            "action=reset",
            ManageEmails,
        ),
        (
            "save the welcome email",
            "/console/settings/emails/welcome",
            "subject=Hi&text=Hi&html=Hi&action=save",
            ManageSecrets,
        ),
        (
            "add an operator",
            "/console/settings/operators",
            "action=save&email=new%40example.com&role=analyst",
            ManageOperators,
        ),
        (
            "change an operator's role",
            "/console/settings/operators",
            "action=save&email=ann%40example.com&role=manager",
            ManageOperators,
        ),
        (
            "remove an operator",
            "/console/settings/operators",
            "action=remove&email=ann%40example.com",
            ManageOperators,
        ),
    ]
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_matrix_holds_for_every_action_and_a_refusal_changes_nothing() {
    let mut matrix = Vec::new();
    for (role, email) in [
        (Role::Owner, OWNER),
        (Role::Manager, MANAGER),
        (Role::Analyst, ANALYST),
    ] {
        for (what, path, form, needs) in ACTIONS {
            // Each action on a program of its own, so one cannot prepare another.
            let c = console().await;
            commission_sample(c.services()).await;
            let cookie = c.signed_in(email).await;
            let before = c.audited().await;
            let program = upline_domain::usecases::admin::require_program(&c.services().store)
                .await
                .unwrap();
            let page = c.post_form(path, &cookie, form).await;
            let allowed = role.may(*needs);
            if allowed {
                assert_ne!(
                    page.status,
                    StatusCode::FORBIDDEN,
                    "{role:?} may {what}: {}",
                    page.text
                );
            } else {
                assert_eq!(
                    page.status,
                    StatusCode::FORBIDDEN,
                    "{role:?} may not {what}"
                );
                assert!(
                    page.text.contains("Your role does not allow this"),
                    "{what}"
                );
                assert_eq!(
                    c.audited().await,
                    before,
                    "{role:?} {what}: nothing audited"
                );
                let after = upline_domain::usecases::admin::require_program(&c.services().store)
                    .await
                    .unwrap();
                assert_eq!(after.postback_secret, program.postback_secret, "{what}");
                assert_eq!(after.hold_days, program.hold_days, "{what}");
            }
            matrix.push(format!(
                "{:<8} {:<28} {}",
                role.as_str(),
                what,
                if allowed { "allowed" } else { "403" }
            ));
            c.assert_policy_kept();
        }
    }
    // The matrix as checked, for the record (`--nocapture`).
    eprintln!("{}", matrix.join("\n"));
}
