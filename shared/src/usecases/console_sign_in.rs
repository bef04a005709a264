//! Operators sign in to the console as partners sign in to the portal — an emailed link
//! whose page spends a one-time token and opens a session in a cookie — but through the
//! console's own door ([`Door::CONSOLE`]): its tokens and sessions live under their own
//! keys, so a partner's session opens no console page and an operator's no portal page.
//! A session names the operator's email only; their role is read on every request, so a
//! demotion or removal takes effect at once.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::emails::EmailTemplate;
use crate::error::AppError;
use crate::messages::{Message, OperatorEmailRequest};
use crate::operator::Operator;
use crate::partner::parse_email;
use crate::ports::QueueName;
use crate::services::Services;
use crate::usecases::admin::require_program;
use crate::usecases::operators;
use crate::usecases::sign_in::{
    BrowserSecret, Door, Expiring, LINK_VALID_SECS, SESSION_VALID_SECS, count_link_request,
    link_email_data,
};

/// How long a console session lasts from sign-in: a working day, shorter than a
/// partner's, since an operator's session can move money.
pub const CONSOLE_SESSION_SECS: i64 = 12 * 3600;

const _: () = assert!(CONSOLE_SESSION_SECS < SESSION_VALID_SECS);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingConsoleSignIn {
    email: String,
    expires_at: Timestamp,
}

impl Expiring for PendingConsoleSignIn {
    fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

/// An open console session, stored under the hash of its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// The operator's (lower-case) email.
    pub email: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Expiring for ConsoleSession {
    fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

/// Emails a console sign-in link to `email_text` if it is an operator's. The answer is
/// the same whether or not it is; only a malformed address or a rate limit is an error.
/// The portal's limits apply, counted apart (a partner asking for links does not use up
/// an operator's).
pub async fn request_link(
    services: &Services,
    email_text: &str,
    client: Option<&str>,
    correlation_id: &str,
) -> Result<(), AppError> {
    let email = parse_email(email_text).map_err(|e| AppError::field("email", e))?;
    count_link_request(services, "console\n", &email, client).await?;
    let Some(operator) = operators::find(services, &email).await? else {
        tracing::info!("console sign-in link not sent: no such operator");
        return Ok(());
    };
    let program = require_program(&services.store).await?;
    let (token, url) = issue_link(services, &operator, LINK_VALID_SECS).await?;
    let email = Message::OperatorEmailRequested(OperatorEmailRequest {
        email_id: format!("console-sign-in:{}", &token.stored_as()[..24]),
        to: operator.email.clone(),
        template: EmailTemplate::OperatorSignInLink,
        data: {
            let mut data = link_email_data(services, &program.name, &url);
            data["operator_email"] = operator.email.clone().into();
            data
        },
    });
    services
        .publish(QueueName::Emails, &[email], correlation_id)
        .await
}

/// Stores a console sign-in token for `operator`, valid for `valid_secs`; returns it and
/// the link that spends it (the local host's demo prints one).
pub async fn issue_link(
    services: &Services,
    operator: &Operator,
    valid_secs: i64,
) -> Result<(BrowserSecret, String), AppError> {
    let pending = PendingConsoleSignIn {
        email: operator.email.clone(),
        expires_at: services.now().plus_secs(valid_secs),
    };
    let token = Door::CONSOLE.store_token(services, &pending).await?;
    let url = crate::public_urls::console_sign_in_url(
        &services.deployment.public_base_url,
        token.expose(),
    );
    Ok((token, url))
}

/// Spends a console sign-in token and opens a session for its operator, if they are
/// still one (an operator removed after the link was sent signs nobody in).
pub async fn sign_in(
    services: &Services,
    token: &BrowserSecret,
) -> Result<(BrowserSecret, ConsoleSession), AppError> {
    let pending: PendingConsoleSignIn = Door::CONSOLE.spend_token(services, token).await?;
    if operators::find(services, &pending.email).await?.is_none() {
        return Err(AppError::Unauthorized(
            crate::usecases::sign_in::LINK_SPENT.into(),
        ));
    }
    let now = services.now();
    let session = ConsoleSession {
        email: pending.email,
        created_at: now,
        expires_at: now.plus_secs(CONSOLE_SESSION_SECS),
    };
    let id = Door::CONSOLE.open_session(services, &session).await?;
    tracing::info!("an operator signed in to the console by email link");
    Ok((id, session))
}

/// The console session `id` opens, if it is open and not expired.
pub async fn session(
    services: &Services,
    id: &BrowserSecret,
) -> Result<Option<ConsoleSession>, AppError> {
    Door::CONSOLE.session(services, id).await
}

/// Ends the console session `id` opened.
pub async fn sign_out(services: &Services, id: &BrowserSecret) -> Result<(), AppError> {
    Door::CONSOLE.close_session(services, id).await
}
