//! The payout function: its commission stage consumes the conversions queue and turns
//! each conversion into commission lines (direct and upline levels) in one transaction,
//! idempotently, then queues the partners' emails; its scheduled stage approves lines
//! past their hold and runs payouts on the program's cadence.

mod config;
pub use config::Config;

use async_trait::async_trait;
use upline_domain::error::AppError;
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

/// The payout Lambda's two kinds of event: SQS batches from the conversions queue, and
/// the EventBridge schedule that approves lines past their hold period and runs payouts
/// on the program's cadence.
/// The two events the payout function is invoked with, told apart by their shape: an SQS
/// batch has `Records`; the hourly schedule is an EventBridge "Scheduled Event".
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum PayoutEvent {
    Conversions(aws_lambda_events::event::sqs::SqsEvent),
    Schedule(ScheduledEvent),
}

#[derive(serde::Deserialize)]
struct ScheduledEvent {
    #[serde(rename = "detail-type")]
    #[allow(dead_code)] // matched for its value, to refuse other events
    detail_type: ScheduledKind,
}

#[derive(serde::Deserialize)]
enum ScheduledKind {
    #[serde(rename = "Scheduled Event")]
    ScheduledEvent,
}

pub struct PayoutFunction {
    calculator: CommissionCalculator,
    services: Services,
    dead_letters: std::sync::Arc<dyn upline_aws::lambda_sqs::DeadLetters>,
}

impl PayoutFunction {
    pub fn new(
        services: Services,
        dead_letters: std::sync::Arc<dyn upline_aws::lambda_sqs::DeadLetters>,
    ) -> Self {
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
        let event: PayoutEvent = serde_json::from_value(event).map_err(|_| {
            AppError::Malformed(
                "the payout function takes SQS batches and scheduled events only".into(),
            )
        })?;
        match event {
            PayoutEvent::Conversions(batch) => {
                let response = upline_aws::handle_sqs_event(
                    &self.calculator,
                    batch,
                    self.dead_letters.as_ref(),
                    upline_domain::ports::QueueName::Conversions,
                )
                .await;
                serde_json::to_value(response).map_err(|e| AppError::Internal(e.to_string()))
            }
            PayoutEvent::Schedule(_) => {
                let outcome = upline_domain::usecases::payouts::scheduled(&self.services).await?;
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
        }
    }
}
