//! Lambda entry point of the payout function (conversions queue and schedule): wiring only.

use std::sync::Arc;

use upline_domain::ports::QueueName;
use upline_payout::{Config, PayoutFunction};

#[tokio::main]
async fn main() -> Result<(), upline_lambda::Error> {
    let (config, clients) = upline_lambda::start(Config::from_env).await?;
    let deployment = upline_lambda::deployment(None, String::new());
    let sends_to = [
        (QueueName::Emails, config.emails_queue_url.as_str()),
        (
            QueueName::Conversions,
            config.conversions_queue_url.as_str(),
        ),
        (
            QueueName::PartnerPostbacks,
            config.partner_postbacks_queue_url.as_str(),
        ),
    ];
    let services = upline_lambda::services(&clients, &config.table_name, &sends_to, deployment);
    let dead_letters = upline_lambda::consumer_queue(
        &clients,
        QueueName::Conversions,
        "",
        &config.dead_letter_queue_url,
    );
    let function = Arc::new(PayoutFunction::new(services, dead_letters));
    upline_lambda::run_json(move |event| {
        let function = function.clone();
        async move { Ok(function.handle_event(event).await?) }
    })
    .await
}
