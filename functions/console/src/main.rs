//! Lambda entry point of the console function: wiring only.

use upline_console::{Config, router};
use upline_domain::ports::QueueName;

#[tokio::main]
async fn main() -> Result<(), upline_lambda::Error> {
    let (config, clients) = upline_lambda::start(Config::from_env).await?;
    let deployment = upline_lambda::deployment(None, config.public_base_url);
    let sends_to = [
        (QueueName::Emails, config.emails_queue_url.as_str()),
        (
            QueueName::PartnerPostbacks,
            config.partner_postbacks_queue_url.as_str(),
        ),
    ];
    let dead_letters: Vec<(QueueName, &str)> = config
        .dead_letter_queue_urls
        .iter()
        .map(|(q, url)| (*q, url.as_str()))
        .collect();
    let queues = upline_lambda::queues_watching(&clients, &sends_to, &dead_letters);
    let services = upline_lambda::services_on(&clients, &config.table_name, queues, deployment)
        .with_secrets_key(config.secrets_key, config.previous_secrets_key);
    upline_lambda::run_http(router(services)).await
}
