//! The bundle of ports and deployment settings a use case runs over. Every function builds
//! one at start (from AWS clients or embedded adapters) and passes it to its router or
//! handler; nothing in the domain knows which adapters are behind it.

use std::sync::Arc;

use crate::click_id::ClickSecret;
use crate::clock::{Clock, Timestamp};
use crate::error::AppError;
use crate::ids::Ids;
use crate::messages::Message;
use crate::ports::{Queue, QueueName, Table};
use crate::secrets::SecretsKey;
use crate::store::Store;

/// Settings of one deployment of Upline (not of the program, which lives in the table).
/// Each function is given only what it uses: the click secret goes to the functions that
/// issue or verify click ids, nowhere else.
#[derive(Debug)]
pub struct Deployment {
    pub click_secret: Option<ClickSecret>,
    /// Where tracking links are served, e.g. `https://go.example.com`; no trailing slash.
    pub public_base_url: String,
    /// Lets partners' postback URLs point at private addresses: for local development and
    /// tests only, never set on AWS.
    pub allow_private_postbacks: bool,
}

impl Deployment {
    pub fn click_secret(&self) -> Result<&ClickSecret, AppError> {
        self.click_secret.as_ref().ok_or_else(|| {
            AppError::Internal("this function is not configured with the click secret".into())
        })
    }
}

#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn Ids>,
    pub deployment: Arc<Deployment>,
    /// The per-caller limits in force (production's unless a host sets others).
    pub rate_limits: RateLimits,
}

/// The per-caller limits a deployment enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub failed_auth: crate::usecases::rate_limits::RateLimit,
    pub signups: crate::usecases::rate_limits::RateLimit,
    pub sign_in_per_email: crate::usecases::rate_limits::RateLimit,
    pub sign_in_per_email_from_address: crate::usecases::rate_limits::RateLimit,
    pub sign_in_per_address: crate::usecases::rate_limits::RateLimit,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            failed_auth: crate::usecases::rate_limits::FAILED_AUTH,
            signups: crate::usecases::rate_limits::SIGNUPS_PER_ADDRESS,
            sign_in_per_email: crate::usecases::sign_in::LINKS_PER_EMAIL,
            sign_in_per_email_from_address: crate::usecases::sign_in::LINKS_PER_EMAIL_FROM_ADDRESS,
            sign_in_per_address: crate::usecases::sign_in::LINKS_PER_ADDRESS,
        }
    }
}

impl Services {
    pub fn new(
        table: Arc<dyn Table>,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn Ids>,
        deployment: Deployment,
    ) -> Self {
        Services {
            store: Store::new(table),
            queue,
            clock,
            ids,
            deployment: Arc::new(deployment),
            rate_limits: RateLimits::default(),
        }
    }

    /// These services with secrets in the table sealed under `key`, and during a rotation
    /// also opened with `previous`.
    pub fn with_secrets_key(mut self, key: SecretsKey, previous: Option<SecretsKey>) -> Self {
        self.store = self.store.with_secrets_key(key);
        if let Some(previous) = previous {
            self.store = self.store.with_previous_secrets_key(previous);
        }
        self
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn new_id(&self) -> String {
        self.ids.new_id(self.clock.now())
    }

    /// Sends messages, each in its own envelope carrying `correlation_id`.
    pub async fn publish(
        &self,
        queue: QueueName,
        messages: &[Message],
        correlation_id: &str,
    ) -> Result<(), AppError> {
        if messages.is_empty() {
            return Ok(());
        }
        Ok(self
            .queue
            .send(queue, self.envelopes(messages, correlation_id))
            .await?)
    }

    /// Messages as queue bodies, each in its own envelope carrying `correlation_id`.
    pub fn envelopes(&self, messages: &[Message], correlation_id: &str) -> Vec<String> {
        let now = self.now();
        messages
            .iter()
            .map(|m| m.encode(&self.ids.new_id(now), now, correlation_id))
            .collect()
    }

    /// The messages waiting in each dead-letter queue this deployment can see: (queue,
    /// how many). A queue whose count cannot be read is logged and left out, so a page
    /// that shows them still shows the rest.
    pub async fn dead_letters_waiting(&self) -> Vec<(QueueName, u64)> {
        let mut out = Vec::new();
        for queue in QueueName::ALL {
            match self.queue.dead_letter_count(queue).await {
                Ok(Some(n)) => out.push((queue, n)),
                Ok(None) => {}
                Err(e) => tracing::warn!(%queue, error = %e, "dead letters not counted"),
            }
        }
        out
    }
}
