//! Lambda entry point of the portal function: wiring only.

#[tokio::main]
async fn main() -> Result<(), upline_lambda::Error> {
    upline_lambda::run_emailing_http(upline_portal::router).await
}
