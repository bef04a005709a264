//! Lambda entry point of the admin and partner API: wiring only.

use upline_api::{Config, router};
use upline_domain::config::process_env;
use upline_domain::ports::QueueName;
use upline_domain::services::Deployment;
use upline_domain::usecases::admin::register_admin_key_hash;

#[tokio::main]
async fn main() -> Result<(), upline_lambda::Error> {
    upline_lambda::init_tracing();
    let config = Config::from_env(&process_env)?;
    let clients = upline_lambda::clients().await;
    let deployment = Deployment {
        click_secret: None,
        public_base_url: config.public_base_url.clone(),
        allow_private_postbacks: false,
    };
    let sends_to = [
        (QueueName::Emails, config.emails_queue_url.as_str()),
        (
            QueueName::PartnerPostbacks,
            config.partner_postbacks_queue_url.as_str(),
        ),
    ];
    let services = upline_lambda::services(&clients, &config.table_name, &sends_to, deployment)
        .with_secrets_key(
            config.secrets_key.clone(),
            config.previous_secrets_key.clone(),
        );
    if let Some(hash) = &config.bootstrap_admin_key_hash {
        register_admin_key_hash(&services.store, "bootstrap", hash).await?;
    }
    upline_lambda::run_http(router(services)).await
}
