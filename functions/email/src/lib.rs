//! The email function: consumes the emails queue, renders each requested email for its
//! partner and sends it through the Mailer port at most once per email id.

mod config;
pub use config::Config;

use std::sync::Arc;

use async_trait::async_trait;
use upline_domain::emails::EmailTemplates;
use upline_domain::messages::{Message, decode_for};
use upline_domain::ports::{Delivery, DeliveryOutcome, Mailer, MessageHandler};
use upline_domain::store::Store;
use upline_domain::usecases::emails::deliver;

pub struct EmailSender {
    store: Store,
    mailer: Arc<dyn Mailer>,
    templates: EmailTemplates,
    public_base_url: String,
}

impl EmailSender {
    pub fn new(store: Store, mailer: Arc<dyn Mailer>, public_base_url: String) -> Self {
        EmailSender {
            store,
            mailer,
            templates: EmailTemplates,
            public_base_url,
        }
    }
}

#[async_trait]
impl MessageHandler for EmailSender {
    async fn handle(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for d in batch {
            let decoded = decode_for(&d.message_id, &d.body, |m| match m {
                Message::EmailRequested(request) => Some(request),
                _ => None,
            });
            let outcome = match decoded {
                Ok((env, request)) => {
                    match deliver(
                        &self.store,
                        self.mailer.as_ref(),
                        &self.templates,
                        &self.public_base_url,
                        &request,
                    )
                    .await
                    {
                        Ok(result) => {
                            tracing::info!(email_id = %request.email_id, ?result, correlation_id = %env.correlation_id, "email handled");
                            DeliveryOutcome::Done
                        }
                        Err(e) => {
                            tracing::warn!(email_id = %request.email_id, error = %e, "email not sent");
                            e.delivery_outcome()
                        }
                    }
                }
                Err(outcome) => outcome,
            };
            outcomes.push(outcome);
        }
        outcomes
    }
}
