//! The payout function's commission stage: consumes the conversions queue and turns each
//! conversion into commission lines (direct and upline levels) in one transaction,
//! idempotently, then queues the partners' emails.

use async_trait::async_trait;
use upline_domain::messages::{Message, decode_for};
use upline_domain::ports::{Delivery, DeliveryOutcome, MessageHandler};
use upline_domain::services::Services;
use upline_domain::usecases::commissions::commission_conversion;

pub struct CommissionCalculator {
    services: Services,
}

impl CommissionCalculator {
    pub fn new(services: Services) -> Self {
        CommissionCalculator { services }
    }
}

#[async_trait]
impl MessageHandler for CommissionCalculator {
    async fn handle(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for d in batch {
            let decoded = decode_for(&d.message_id, &d.body, |m| match m {
                Message::ConversionRecorded { conversion_id } => Some(conversion_id),
                _ => None,
            });
            let outcome = match decoded {
                Ok((env, conversion_id)) => {
                    match commission_conversion(&self.services, &conversion_id, &env.correlation_id)
                        .await
                    {
                        Ok(lines) => {
                            tracing::info!(%conversion_id, lines = lines.len(), correlation_id = %env.correlation_id, "conversion commissioned");
                            DeliveryOutcome::Done
                        }
                        Err(e) => {
                            tracing::warn!(%conversion_id, error = %e, receive_count = d.receive_count, "conversion not commissioned");
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
