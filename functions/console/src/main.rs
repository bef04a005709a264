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
    let services = upline_lambda::services(&clients, &config.table_name, &sends_to, deployment)
        .with_secrets_key(config.secrets_key, config.previous_secrets_key);
    upline_lambda::run_http(router(services)).await
}
