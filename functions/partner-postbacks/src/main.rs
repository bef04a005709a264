//! Lambda entry point of the partner postback function: wiring only.

use std::sync::Arc;
use std::time::Duration;

use upline_domain::ports::QueueName;
use upline_partner_postbacks::{Config, PartnerPostbackSender};
use upline_webhooks::{AddressPolicy, HttpPostbackCaller};

/// The first retry waits this long; each further one twice as long.
const RETRY_BASE: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), upline_lambda::Error> {
    let (config, clients) = upline_lambda::start(Config::from_env).await?;
    let own_queue = [(
        QueueName::PartnerPostbacks,
        config.partner_postbacks_queue_url.as_str(),
    )];
    let deployment = upline_lambda::deployment(None, String::new());
    let services = upline_lambda::services(&clients, &config.table_name, &own_queue, deployment);
    let queues = upline_lambda::consumer_queue(
        &clients,
        QueueName::PartnerPostbacks,
        &config.partner_postbacks_queue_url,
        &config.dead_letter_queue_url,
    );
    let caller = Arc::new(HttpPostbackCaller::new(AddressPolicy::PublicOnly));
    let sender = Arc::new(PartnerPostbackSender::new(services, caller));
    upline_lambda::run_sqs_with_backoff(sender, queues, QueueName::PartnerPostbacks, RETRY_BASE)
        .await
}
