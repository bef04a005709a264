//! A function invoked both by an SQS trigger and by an EventBridge schedule (the payout
//! function: its conversions queue and the hourly approvals and payout runs). The two
//! kinds of event are told apart here, once, by type: an SQS batch deserializes as
//! `aws_lambda_events`' `SqsEvent` (it has `Records`), the schedule as an EventBridge
//! event whose `detail-type` is "Scheduled Event"; anything else is refused.

use std::future::Future;
use upline_domain::error::Cause;

use aws_lambda_events::event::sqs::SqsEvent;
use serde::Deserialize;
use upline_aws::lambda_sqs::DeadLetters;
use upline_domain::error::AppError;
use upline_domain::ports::{MessageHandler, QueueName};

/// The events such a function is invoked with.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum QueueOrSchedule {
    /// A batch from the function's queue.
    Batch(SqsEvent),
    /// The schedule firing.
    Schedule(ScheduledEvent),
}

/// An EventBridge scheduled event; only its kind is read, since the work it starts
/// decides for itself what is due.
#[derive(Deserialize)]
pub struct ScheduledEvent {
    #[serde(rename = "detail-type")]
    #[allow(dead_code)] // matched for its value, to refuse other EventBridge events
    detail_type: ScheduledKind,
}

#[derive(Deserialize)]
enum ScheduledKind {
    #[serde(rename = "Scheduled Event")]
    ScheduledEvent,
}

/// One invocation of such a function: an SQS batch of `queue` goes through `handler` and
/// is answered with its batch item failures (dead letters go to `dead_letters`); the
/// schedule is answered with what `scheduled` reports; any other event is refused as
/// malformed, the refusal naming `function`.
pub async fn handle<F, Fut>(
    event: serde_json::Value,
    function: &str,
    handler: &dyn MessageHandler,
    dead_letters: &dyn DeadLetters,
    queue: QueueName,
    scheduled: F,
) -> Result<serde_json::Value, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<serde_json::Value, AppError>>,
{
    let event: QueueOrSchedule = serde_json::from_value(event).map_err(|_| {
        AppError::Malformed(format!(
            "the {function} function takes SQS batches and scheduled events only"
        ))
    })?;
    match event {
        QueueOrSchedule::Batch(batch) => {
            let response = upline_aws::handle_sqs_event(handler, batch, dead_letters, queue).await;
            serde_json::to_value(response).map_err(|e| AppError::Internal(Cause::of(e)))
        }
        QueueOrSchedule::Schedule(_) => scheduled().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(event: serde_json::Value) -> Option<&'static str> {
        match serde_json::from_value::<QueueOrSchedule>(event).ok()? {
            QueueOrSchedule::Batch(_) => Some("batch"),
            QueueOrSchedule::Schedule(_) => Some("schedule"),
        }
    }

    #[test]
    fn each_event_is_told_apart_by_its_type() {
        assert_eq!(kind(serde_json::json!({"Records": []})), Some("batch"));
        let schedule = serde_json::json!({
            "version": "0",
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler",
            "detail": {}
        });
        assert_eq!(kind(schedule), Some("schedule"));
        let other = serde_json::json!({"detail-type": "EC2 Instance State-change Notification"});
        assert_eq!(kind(other), None);
        assert_eq!(kind(serde_json::json!({"hello": 1})), None);
    }
}
