//! The email function: consumes the emails queue, renders each requested email for its
//! partner (or, for the console's sign-in links, its operator) and sends it through the
//! Mailer port at most once per email id.

mod config;
pub use config::Config;

use std::sync::Arc;

use async_trait::async_trait;
use upline_domain::emails::EmailTemplates;
use upline_domain::messages::{EmailRequest, OperatorEmailRequest};
use upline_domain::messages::{Message, decode_for};
use upline_domain::ports::queue::handle_keyed;
use upline_domain::ports::{Delivery, DeliveryOutcome, Mailer, MessageHandler};
use upline_domain::store::Store;
use upline_domain::usecases::emails::{deliver, deliver_to_operator};

/// The two kinds of message on the emails queue: to a partner, to an operator.
enum Requested {
    ToPartner(EmailRequest),
    ToOperator(OperatorEmailRequest),
}

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
    /// The batch's emails are handled together (their writes share the embedded store's
    /// commits; on AWS their calls overlap), but one email id's requests one after
    /// another, so a request delivered twice finds the first's sent marker.
    async fn handle(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        let email_id = |d: &Delivery| match Message::decode(&d.body) {
            Ok((_, Message::EmailRequested(r))) => Some(r.email_id),
            Ok((_, Message::OperatorEmailRequested(r))) => Some(r.email_id),
            _ => None,
        };
        handle_keyed(batch, email_id, |d| self.handle_one(d)).await
    }
}

impl EmailSender {
    async fn handle_one(&self, d: &Delivery) -> DeliveryOutcome {
        let decoded = decode_for(&d.message_id, &d.body, |m| match m {
            Message::EmailRequested(request) => Some(Requested::ToPartner(request)),
            Message::OperatorEmailRequested(request) => Some(Requested::ToOperator(request)),
            _ => None,
        });
        match decoded {
            Ok((env, requested)) => {
                let (email_id, sent) = match &requested {
                    Requested::ToPartner(request) => (
                        &request.email_id,
                        deliver(
                            &self.store,
                            self.mailer.as_ref(),
                            &self.templates,
                            &self.public_base_url,
                            request,
                        )
                        .await,
                    ),
                    Requested::ToOperator(request) => (
                        &request.email_id,
                        deliver_to_operator(
                            &self.store,
                            self.mailer.as_ref(),
                            &self.templates,
                            request,
                        )
                        .await,
                    ),
                };
                match sent {
                    Ok(result) => {
                        tracing::info!(%email_id, ?result, correlation_id = %env.correlation_id, "email handled");
                        DeliveryOutcome::Done
                    }
                    Err(e) => {
                        tracing::warn!(%email_id, error = %e, "email not sent");
                        e.delivery_outcome()
                    }
                }
            }
            Err(outcome) => outcome,
        }
    }
}
