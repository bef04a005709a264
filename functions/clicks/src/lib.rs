//! The click recorder: consumes the clicks queue, stores each raw click once (with a TTL)
//! and adds the batch to the counters with one update per (day, campaign, partner), so a
//! popular partner costs one counter write per batch, not one per click.

mod config;
pub use config::Config;

use async_trait::async_trait;
use upline_domain::messages::{Message, decode_for};
use upline_domain::ports::{Delivery, DeliveryOutcome, MessageHandler};
use upline_domain::store::Store;
use upline_domain::tracking::Click;
use upline_domain::usecases::tracking::record_clicks;

pub struct ClickRecorder {
    store: Store,
}

impl ClickRecorder {
    pub fn new(store: Store) -> Self {
        ClickRecorder { store }
    }
}

#[async_trait]
impl MessageHandler for ClickRecorder {
    async fn handle(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        let mut outcomes = vec![DeliveryOutcome::Done; batch.len()];
        let mut clicks: Vec<(usize, Click)> = Vec::new();
        for (i, d) in batch.iter().enumerate() {
            match decode_for(&d.message_id, &d.body, |m| match m {
                Message::ClickRecorded(click) => Some(click),
                _ => None,
            }) {
                Ok((_, click)) => clicks.push((i, click)),
                Err(outcome) => outcomes[i] = outcome,
            }
        }
        let only: Vec<Click> = clicks.iter().map(|(_, c)| c.clone()).collect();
        match record_clicks(&self.store, &only).await {
            Ok(n) => tracing::info!(received = only.len(), recorded = n, "clicks recorded"),
            Err(e) => {
                tracing::warn!(error = %e, "click batch failed; retrying");
                for (i, _) in clicks {
                    outcomes[i] = e.delivery_outcome();
                }
            }
        }
        outcomes
    }
}
