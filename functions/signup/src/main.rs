//! Lambda entry point of the signup function: wiring only.

#[tokio::main]
async fn main() -> Result<(), upline_lambda::Error> {
    upline_lambda::run_emailing_http(upline_signup::router).await
}
