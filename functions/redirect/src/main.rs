//! Lambda entry point of the redirect function: wiring only.

use upline_domain::ports::QueueName;
use upline_redirect::{Config, router, state};

#[tokio::main]
async fn main() -> Result<(), upline_lambda::Error> {
    let (config, clients) = upline_lambda::start(Config::from_env).await?;
    let tracking = config.tracking();
    let deployment = upline_lambda::deployment(Some(config.click_secret), String::new());
    let sends_to = [(QueueName::Clicks, config.clicks_queue_url.as_str())];
    let services = upline_lambda::services(&clients, &config.table_name, &sends_to, deployment);
    upline_lambda::run_http(router(state(services, tracking))).await
}
