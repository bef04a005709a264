//! The payout function: its commission stage consumes the conversions queue and turns
//! each conversion into commission lines (direct and upline levels) in one transaction,
//! idempotently, then queues the partners' emails; its scheduled stage approves lines
//! past their hold and runs payouts on the program's cadence.

mod config;
pub use config::Config;

use std::sync::Arc;

use async_trait::async_trait;
use upline_aws::lambda_sqs::DeadLetters;
use upline_domain::error::AppError;
use upline_domain::messages::{Message, decode_for};
use upline_domain::ports::queue::handle_keyed;
use upline_domain::ports::{Delivery, DeliveryOutcome, MessageHandler, QueueName};
use upline_domain::services::Services;
use upline_domain::store::BatchReads;
use upline_domain::usecases::commissions::commission_conversion;
use upline_lambda::queue_or_schedule;

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
    /// The batch's conversions are handled together (their writes share the embedded
    /// store's commits; on AWS their calls overlap), but one conversion's messages one
    /// after another, so a conversion queued twice is commissioned once and announced
    /// from what is stored. The batch reads each setting (program, campaign, terms) once
    /// (`BatchReads`).
    async fn handle(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        let store = &self.services.store;
        let services = Services {
            store: store.over(Arc::new(BatchReads::new(store.table().clone()))),
            ..self.services.clone()
        };
        let conversion = |d: &Delivery| match Message::decode(&d.body) {
            Ok((_, Message::ConversionRecorded { conversion_id })) => {
                Some(conversion_id.to_string())
            }
            _ => None,
        };
        handle_keyed(batch, conversion, |d| handle_one(&services, d)).await
    }
}

async fn handle_one(services: &Services, d: &Delivery) -> DeliveryOutcome {
    let decoded = decode_for(&d.message_id, &d.body, |m| match m {
        Message::ConversionRecorded { conversion_id } => Some(conversion_id),
        _ => None,
    });
    match decoded {
        Ok((env, conversion_id)) => {
            match commission_conversion(services, &conversion_id, &env.correlation_id).await {
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
    }
}

/// What the hourly schedule does: hands stuck conversions back to the queue, approves
/// the lines past their hold period, and finishes or starts payout runs on the program's
/// cadence; answered with what it did.
pub async fn scheduled(services: &Services) -> Result<serde_json::Value, AppError> {
    let outcome = upline_domain::usecases::payouts::scheduled(services).await?;
    tracing::info!(
        requeued = outcome.requeued_conversions,
        approved = outcome.approved_lines,
        runs = outcome.runs.len(),
        "scheduled approvals and payout runs done"
    );
    Ok(serde_json::json!({
        "requeued_conversions": outcome.requeued_conversions,
        "approved_lines": outcome.approved_lines,
        "payout_runs": outcome.runs.iter().map(|r| &r.id).collect::<Vec<_>>(),
    }))
}

/// The payout Lambda's entry point, for its `main` and for tests that invoke it with
/// sample events: the conversions queue's batches go through the [`CommissionCalculator`],
/// the schedule through [`scheduled`]. Which event is which is decided by
/// `upline_lambda::queue_or_schedule`.
pub struct PayoutFunction {
    calculator: CommissionCalculator,
    services: Services,
    dead_letters: Arc<dyn DeadLetters>,
}

impl PayoutFunction {
    pub fn new(services: Services, dead_letters: Arc<dyn DeadLetters>) -> Self {
        PayoutFunction {
            calculator: CommissionCalculator::new(services.clone()),
            services,
            dead_letters,
        }
    }

    /// Answers an SQS batch with its batch item failures, a scheduled event with what the
    /// run did; anything else is refused with a clear error.
    pub async fn handle_event(
        &self,
        event: serde_json::Value,
    ) -> Result<serde_json::Value, AppError> {
        queue_or_schedule::handle(
            event,
            "payout",
            &self.calculator,
            self.dead_letters.as_ref(),
            QueueName::Conversions,
            || scheduled(&self.services),
        )
        .await
    }
}
