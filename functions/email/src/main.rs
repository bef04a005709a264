//! Lambda entry point of the email function: wiring only.

use std::sync::Arc;

use upline_aws::SesMailer;
use upline_domain::ports::QueueName;
use upline_domain::store::Store;
use upline_email::{Config, EmailSender};

#[tokio::main]
async fn main() -> Result<(), upline_lambda::Error> {
    let (config, clients) = upline_lambda::start(Config::from_env).await?;
    let mut store = Store::new(Arc::new(upline_lambda::table(&clients, &config.table_name)))
        .with_secrets_key(config.secrets_key);
    if let Some(previous) = config.previous_secrets_key {
        store = store.with_previous_secrets_key(previous);
    }
    let mailer = SesMailer::new(
        clients.ses.clone(),
        config.mail_from,
        config.ses_configuration_set,
    );
    let queue = upline_lambda::consumer_queue(
        &clients,
        QueueName::Emails,
        "",
        &config.dead_letter_queue_url,
    );
    let sender = EmailSender::new(store, Arc::new(mailer), config.public_base_url);
    upline_lambda::run_sqs(Arc::new(sender), queue, QueueName::Emails).await
}
