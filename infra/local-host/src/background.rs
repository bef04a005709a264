//! The host's background work, what Lambda triggers and EventBridge do on AWS: one
//! supervised consumer per queue with its stage's handler, and the payout schedule.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use upline_domain::ports::{Mailer, MessageHandler, QueueConsumer, QueueName};
use upline_domain::services::Services;

use crate::consumers::{self, ConsumerHealth, ConsumerSettings};

/// Spawns every queue's consumer, each supervised and reporting to `health`.
pub(crate) fn spawn_consumers(
    services: &Services,
    consumer: Arc<dyn QueueConsumer>,
    mailer: Arc<dyn Mailer>,
    base_url: &str,
    allow_private_postbacks: bool,
    stop: &watch::Receiver<bool>,
    health: &ConsumerHealth,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let policy = if allow_private_postbacks {
        upline_webhooks::AddressPolicy::AllowPrivate
    } else {
        upline_webhooks::AddressPolicy::PublicOnly
    };
    let caller = Arc::new(upline_webhooks::HttpPostbackCaller::new(policy));
    // Batches larger than SQS's ten are for the embedded queue: a stage handles a batch's
    // messages together, so their writes share commits.
    let handlers: [(QueueName, Arc<dyn MessageHandler>, usize); 4] = [
        // Clicks come in bulk: bigger batches mean fewer counter writes, and on the
        // embedded store one transaction for the batch (SQS hands out 10 at a time).
        (
            QueueName::Clicks,
            Arc::new(upline_clicks::ClickRecorder::new(services.store.clone())),
            1_000,
        ),
        (
            QueueName::Conversions,
            Arc::new(upline_payout::CommissionCalculator::new(services.clone())),
            100,
        ),
        (
            QueueName::Emails,
            Arc::new(upline_email::EmailSender::new(
                services.store.clone(),
                mailer,
                base_url.to_string(),
            )),
            100,
        ),
        (
            QueueName::PartnerPostbacks,
            Arc::new(upline_partner_postbacks::PartnerPostbackSender::new(
                services.clone(),
                caller,
            )),
            10,
        ),
    ];
    for (queue, handler, batch_size) in handlers {
        let settings = ConsumerSettings {
            batch_size,
            ..ConsumerSettings::default()
        };
        tasks.push(tokio::spawn(consumers::supervise(
            consumer.clone(),
            queue,
            handler,
            settings,
            stop.clone(),
            health.clone(),
        )));
    }
    tasks
}

/// The local stand-in for the hourly EventBridge schedule: the same scheduled work the
/// payout function does on AWS, first right after start, then every `every`.
pub(crate) async fn run_schedule(
    services: Services,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match upline_domain::usecases::payouts::scheduled(&services).await {
            Ok(outcome) => {
                tracing::info!(
                    requeued = outcome.requeued_conversions,
                    approved = outcome.approved_lines,
                    runs = outcome.runs.len(),
                    "schedule ran"
                );
            }
            Err(e) => tracing::warn!(error = %e, "scheduled approvals and payout runs failed"),
        }
    }
}
