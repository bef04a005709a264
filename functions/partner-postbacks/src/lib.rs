//! The partner postback function: consumes the partner-postbacks queue and calls each
//! partner's own tracker URL, logging every attempt. Failed calls come back through the
//! queue with a growing delay until they succeed or run out of attempts.

mod config;
pub use config::Config;

use std::sync::Arc;

use async_trait::async_trait;
use upline_domain::messages::{Message, decode_for};
use upline_domain::ports::{Delivery, DeliveryOutcome, MessageHandler, PostbackCaller};
use upline_domain::services::Services;
use upline_domain::usecases::partner_postbacks::deliver;

pub struct PartnerPostbackSender {
    services: Services,
    caller: Arc<dyn PostbackCaller>,
}

impl PartnerPostbackSender {
    pub fn new(services: Services, caller: Arc<dyn PostbackCaller>) -> Self {
        PartnerPostbackSender { services, caller }
    }

    async fn one(&self, d: &Delivery) -> DeliveryOutcome {
        let (env, due) = match decode_for(&d.message_id, &d.body, |m| match m {
            Message::PartnerPostbackDue(due) => Some(due),
            _ => None,
        }) {
            Ok(decoded) => decoded,
            Err(outcome) => return outcome,
        };
        match deliver(&self.services, self.caller.as_ref(), &due, d.receive_count).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(delivery_id = %due.delivery_id, correlation_id = %env.correlation_id, error = %e, "partner postback not attempted");
                e.delivery_outcome()
            }
        }
    }
}

#[async_trait]
impl MessageHandler for PartnerPostbackSender {
    /// Calls in a batch go out at once: one slow partner server does not hold up others,
    /// and one that panics does not cut the others off half-way. One delivery id's
    /// messages go one after another, so a postback queued twice finds the first call's
    /// delivered marker instead of calling the partner twice.
    async fn handle(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        let delivery_id = |d: &Delivery| match Message::decode(&d.body) {
            Ok((_, Message::PartnerPostbackDue(due))) => Some(due.delivery_id),
            _ => None,
        };
        upline_domain::ports::queue::handle_keyed(batch, delivery_id, |d| self.one(d)).await
    }
}
