//! Sign-in by email for the browser pages, and the sessions it opens.
//!
//! A partner asks for a link at the login page; if the email belongs to an approved
//! partner, a one-time token is emailed as a link. Its page POSTs the token (mail
//! scanners fetch GET links, and must not spend it), which opens a session: a random id
//! in a cookie. Tokens and session ids carry 256 random bits and are stored only as their
//! SHA-256, so a copy of the table signs nobody in; both expire by TTL in the table and by
//! the clock here (TTL deletion on DynamoDB can lag by days). Forms posted in a session
//! carry a CSRF token derived from the session id, so nothing about it is stored.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::emails::EmailTemplate;
use crate::error::AppError;
use crate::ids::{PartnerId, base32, hash_api_key};
use crate::messages::{EmailRequest, Message};
use crate::partner::{PartnerStatus, parse_email};
use crate::ports::{Condition, QueueName, TableError};
use crate::services::Services;
use crate::store::{decode, encode, keys};
use crate::usecases::admin::require_program;
use crate::usecases::rate_limits::{RateLimit, count};

/// How long an emailed sign-in link works.
pub const LINK_VALID_SECS: i64 = 15 * 60;

/// How long a session lasts from sign-in; signing out ends it sooner.
pub const SESSION_VALID_SECS: i64 = 14 * 24 * 3600;

/// Sign-in links asked for one email address from one client address: what a person
/// retrying needs, and no more. Counted per pair, so a stranger asking for someone's
/// links from elsewhere does not lock them out.
pub const LINKS_PER_EMAIL_FROM_ADDRESS: RateLimit = RateLimit {
    name: "sign-in-email-address",
    max: 5,
    window_secs: 3600,
};

/// Sign-in links asked for one email address from anywhere: each sends an email to that
/// inbox, so a flood from many addresses stops here.
pub const LINKS_PER_EMAIL: RateLimit = RateLimit {
    name: "sign-in-email",
    max: 30,
    window_secs: 3600,
};

/// Sign-in links asked for from one client address, whatever the emails.
pub const LINKS_PER_ADDRESS: RateLimit = RateLimit {
    name: "sign-in-address",
    max: 20,
    window_secs: 3600,
};

/// A secret handed to the browser (a sign-in token or a session id). Never in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct BrowserSecret(String);

impl BrowserSecret {
    pub(crate) fn mint(services: &Services) -> Self {
        BrowserSecret(base32(&services.ids.random_bytes(32)))
    }

    /// A secret as the browser sent it back (a cookie, a form field).
    pub fn from_browser(text: &str) -> Self {
        BrowserSecret(text.trim().to_string())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn stored_as(&self) -> String {
        hash_api_key(&self.0)
    }
}

impl std::fmt::Debug for BrowserSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrowserSecret(…)")
    }
}

/// A pending sign-in, stored under the hash of its token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingSignIn {
    partner_id: PartnerId,
    expires_at: Timestamp,
}

/// An open session, stored under the hash of its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub partner_id: PartnerId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Emails a sign-in link to `email_text` if it belongs to an approved partner. The
/// answer is the same whether or not it does; only a malformed address or a rate limit
/// (per client address, per email from that address, per email; counted either way) is
/// an error.
pub async fn request_link(
    services: &Services,
    email_text: &str,
    client: Option<&str>,
    correlation_id: &str,
) -> Result<(), AppError> {
    let email = parse_email(email_text).map_err(|e| AppError::field("email", e))?;
    count_link_request(services, "", &email, client).await?;
    let Some(partner_id) = services.store.partner_id_by_email(&email).await? else {
        return Ok(());
    };
    let Some(partner) = services.store.partner(&partner_id).await? else {
        return Ok(());
    };
    if partner.status != PartnerStatus::Approved {
        tracing::info!(partner_id = %partner.id, status = ?partner.status, "sign-in link not sent: the partner is not approved");
        return Ok(());
    }
    let program = require_program(&services.store).await?;
    let (token, url) = issue_link(services, &partner.id, LINK_VALID_SECS).await?;
    let email = Message::EmailRequested(EmailRequest {
        // Unique per link: the hash's head names the email without revealing the token.
        email_id: format!("sign-in:{}", &token.stored_as()[..24]),
        partner_id: partner.id.clone(),
        template: EmailTemplate::SignInLink,
        data: link_email_data(services, &program.name, &url),
    });
    services
        .publish(QueueName::Emails, &[email], correlation_id)
        .await
}

/// Counts a request for a sign-in link against the three limits (per client address, per
/// email from that address, per email), counted either way; `door` keeps each door's
/// counts apart (empty for the portal's, as they always were).
pub(crate) async fn count_link_request(
    services: &Services,
    door: &str,
    email: &str,
    client: Option<&str>,
) -> Result<(), AppError> {
    let limits = &services.rate_limits;
    if let Some(client) = client {
        count(
            services,
            &limits.sign_in_per_address,
            &format!("{door}{client}"),
        )
        .await?;
        let pair = format!("{door}{email}\n{client}");
        count(services, &limits.sign_in_per_email_from_address, &pair).await?;
    }
    count(
        services,
        &limits.sign_in_per_email,
        &format!("{door}{email}"),
    )
    .await
}

/// What a sign-in email is rendered with: the program, the link (sealed: it travels
/// through the queue) and how long it works.
pub(crate) fn link_email_data(
    services: &Services,
    program_name: &str,
    url: &str,
) -> serde_json::Value {
    serde_json::json!({
        "program_name": program_name,
        "sign_in_url": services.store.seal(
            &crate::usecases::emails::email_secret_purpose("sign_in_url"),
            url,
        ),
        "valid_minutes": LINK_VALID_SECS / 60,
    })
}

/// Stores a sign-in token for `partner_id` valid for `valid_secs`; returns it and the
/// link that spends it. The emailed links last [`LINK_VALID_SECS`]; the local host's demo
/// prints one that lasts a day.
pub async fn issue_link(
    services: &Services,
    partner_id: &PartnerId,
    valid_secs: i64,
) -> Result<(BrowserSecret, String), AppError> {
    let pending = PendingSignIn {
        partner_id: partner_id.clone(),
        expires_at: services.now().plus_secs(valid_secs),
    };
    let token = Door::PORTAL.store_token(services, &pending).await?;
    let url = crate::public_urls::portal_sign_in_url(
        &services.deployment.public_base_url,
        token.expose(),
    );
    Ok((token, url))
}

/// Something stored with an end: a pending sign-in, a session. Past it, it opens nothing,
/// whether or not the table's TTL has removed it yet.
pub(crate) trait Expiring: Serialize + serde::de::DeserializeOwned {
    fn expires_at(&self) -> Timestamp;
}

impl Expiring for PendingSignIn {
    fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

impl Expiring for Session {
    fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

/// Which door a token or session opens: the partner portal's or the operator console's.
/// Each keeps its tokens and sessions under its own keys, so a partner's session id looked
/// up at the console's door (or the reverse) finds nothing.
#[derive(Clone, Copy)]
pub(crate) struct Door {
    token: fn(&str) -> crate::ports::Key,
    session: fn(&str) -> crate::ports::Key,
}

impl Door {
    pub(crate) const PORTAL: Door = Door {
        token: keys::sign_in_token,
        session: keys::session,
    };
    pub(crate) const CONSOLE: Door = Door {
        token: keys::operator_sign_in_token,
        session: keys::operator_session,
    };

    /// Stores `pending` under a new token's hash; returns the token.
    pub(crate) async fn store_token<T: Expiring>(
        self,
        services: &Services,
        pending: &T,
    ) -> Result<BrowserSecret, AppError> {
        let token = BrowserSecret::mint(services);
        let item = encode((self.token)(&token.stored_as()), pending)
            .with("ttl", pending.expires_at().secs());
        services
            .store
            .table()
            .put(item, Condition::NotExists)
            .await?;
        Ok(token)
    }

    /// Spends `token`: what it was stored with, once, and only before it expires. Of two
    /// requests racing with one token, one wins.
    pub(crate) async fn spend_token<T: Expiring>(
        self,
        services: &Services,
        token: &BrowserSecret,
    ) -> Result<T, AppError> {
        let key = (self.token)(&token.stored_as());
        let spent = || AppError::Unauthorized(LINK_SPENT.into());
        let Some(item) = services.store.table().get(&key).await? else {
            return Err(spent());
        };
        let pending: T = decode(&item)?;
        match services.store.table().delete(&key, Condition::Exists).await {
            Ok(()) => {}
            Err(TableError::ConditionFailed) => return Err(spent()),
            Err(e) => return Err(e.into()),
        }
        if services.now() >= pending.expires_at() {
            return Err(AppError::Unauthorized(LINK_EXPIRED.into()));
        }
        Ok(pending)
    }

    /// Stores `session` under a new id's hash; returns the id for the cookie.
    pub(crate) async fn open_session<T: Expiring>(
        self,
        services: &Services,
        session: &T,
    ) -> Result<BrowserSecret, AppError> {
        let id = BrowserSecret::mint(services);
        let item = encode((self.session)(&id.stored_as()), session)
            .with("ttl", session.expires_at().secs());
        services
            .store
            .table()
            .put(item, Condition::NotExists)
            .await?;
        Ok(id)
    }

    /// The session `id` opens at this door, if it is open and not expired.
    pub(crate) async fn session<T: Expiring>(
        self,
        services: &Services,
        id: &BrowserSecret,
    ) -> Result<Option<T>, AppError> {
        if id.expose().is_empty() {
            return Ok(None);
        }
        let Some(item) = services
            .store
            .table()
            .get(&(self.session)(&id.stored_as()))
            .await?
        else {
            return Ok(None);
        };
        let session: T = decode(&item)?;
        Ok((services.now() < session.expires_at()).then_some(session))
    }

    /// Ends the session `id` opened; ending one already ended is not an error.
    pub(crate) async fn close_session(
        self,
        services: &Services,
        id: &BrowserSecret,
    ) -> Result<(), AppError> {
        match services
            .store
            .table()
            .delete(&(self.session)(&id.stored_as()), Condition::None)
            .await
        {
            Ok(()) | Err(TableError::ConditionFailed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Why a sign-in link did not sign anyone in.
pub const LINK_SPENT: &str =
    "This sign-in link was already used or is not one we sent. Ask for a new one.";
pub const LINK_EXPIRED: &str = "This sign-in link has expired. Ask for a new one.";

/// Spends a sign-in token and opens a session for its partner; the session id is for
/// the cookie. A token works once: of two requests racing with it, one wins.
pub async fn sign_in(
    services: &Services,
    token: &BrowserSecret,
) -> Result<(BrowserSecret, Session), AppError> {
    let pending: PendingSignIn = Door::PORTAL.spend_token(services, token).await?;
    let now = services.now();
    let session = Session {
        partner_id: pending.partner_id,
        created_at: now,
        expires_at: now.plus_secs(SESSION_VALID_SECS),
    };
    let id = Door::PORTAL.open_session(services, &session).await?;
    tracing::info!(partner_id = %session.partner_id, "signed in by email link");
    Ok((id, session))
}

/// The session `id` opens, if it is open and not expired.
pub async fn session(services: &Services, id: &BrowserSecret) -> Result<Option<Session>, AppError> {
    Door::PORTAL.session(services, id).await
}

/// Ends the session `id` opened; ending one already ended is not an error.
pub async fn sign_out(services: &Services, id: &BrowserSecret) -> Result<(), AppError> {
    Door::PORTAL.close_session(services, id).await
}

/// The CSRF token of the session `id` opened: a MAC of the id, so a page of another
/// origin, which cannot read the cookie, cannot make it.
pub fn csrf_token(id: &BrowserSecret) -> String {
    hex::encode(crate::signing::tag(
        id.expose().as_bytes(),
        &[b"upline-csrf"],
    ))
}

/// Whether `given` is the CSRF token of the session `id` opened (in constant time).
pub fn csrf_holds(id: &BrowserSecret, given: &str) -> bool {
    let Ok(given) = hex::decode(given.trim()) else {
        return false;
    };
    crate::signing::verify(id.expose().as_bytes(), &[b"upline-csrf"], &given)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_belongs_to_its_session_only() {
        let a = BrowserSecret::from_browser("SESSIONA");
        let b = BrowserSecret::from_browser("SESSIONB");
        let token = csrf_token(&a);
        assert!(csrf_holds(&a, &token));
        assert!(!csrf_holds(&b, &token), "another session's token");
        assert!(!csrf_holds(&a, ""), "no token");
        assert!(!csrf_holds(&a, &token[..token.len() - 2]), "a cut token");
        assert!(!csrf_holds(&a, "not hex"));
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let s = BrowserSecret::from_browser("TOPSECRET");
        assert!(!format!("{s:?}").contains("TOPSECRET"));
        assert_eq!(s.stored_as(), hash_api_key("TOPSECRET"));
    }
}
