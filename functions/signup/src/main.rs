//! Lambda entry point of the signup function: wiring only.

use upline_domain::config::process_env;
use upline_domain::ports::QueueName;
use upline_domain::services::Deployment;
use upline_signup::{Config, router};

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
    let sends_to = [(QueueName::Emails, config.emails_queue_url.as_str())];
    let services = upline_lambda::services(&clients, &config.table_name, &sends_to, deployment)
        .with_secrets_key(
            config.secrets_key.clone(),
            config.previous_secrets_key.clone(),
        );
    upline_lambda::run_http(router(services)).await
}
