//! Lambda entry point of the click recorder: wiring only.

use std::sync::Arc;

use upline_clicks::{ClickRecorder, Config};
use upline_domain::ports::QueueName;
use upline_domain::store::Store;

#[tokio::main]
async fn main() -> Result<(), upline_lambda::Error> {
    let (config, clients) = upline_lambda::start(Config::from_env).await?;
    let store = Store::new(Arc::new(upline_lambda::table(&clients, &config.table_name)));
    let queue = upline_lambda::consumer_queue(
        &clients,
        QueueName::Clicks,
        "",
        &config.dead_letter_queue_url,
    );
    upline_lambda::run_sqs(
        Arc::new(ClickRecorder::new(store)),
        queue,
        QueueName::Clicks,
    )
    .await
}
