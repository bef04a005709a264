//! `upline-local`: runs the whole platform on this machine. Wiring only: read the
//! command line (`cli`), start the host, print what a newcomer needs, stop on Ctrl-C or
//! SIGTERM.

use clap::Parser;

/// mimalloc instead of glibc's malloc: the click path allocates per request, and malloc
/// and free took a sixth of the host's CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use upline_local::cli::Cli;
use upline_local::{RunningHost, start};

fn print_welcome(host: &RunningHost) {
    let base = &host.base_url;
    match &host.outbox {
        Some(outbox) => println!(
            "Upline is running at {base}  (emails go to {})",
            outbox.display()
        ),
        None => println!("Upline is running at {base}  (on DynamoDB, SQS and SES)"),
    }
    let first = &host.first_start;
    if let Some(key) = &first.admin_key {
        println!("\nAdmin key (shown once, keep it):\n  {key}");
    }
    if let Some(demo) = &first.demo {
        println!(
            "\nDemo program seeded: campaign '{}', postback secret (shown once):\n  {}",
            demo.campaign_id, demo.postback_secret
        );
        println!("\nPartners (recruiter first), with their partner keys and links:");
        for p in &demo.partners {
            println!(
                "  {:<5} key {}  link {}  referral code {}",
                p.name, p.api_key, p.link_url, p.referral_code
            );
        }
        let ada = demo.partners.last().expect("three partners");
        println!(
            "\nPartner portal: {base}/portal  — sign in as Ada with this link (works once, for a day):\n  {}",
            demo.portal_sign_in_url
        );
        println!(
            "\nOperator console: {base}/console  — sign in as the owner, {}, with this link (works once, for a day):\n  {}",
            demo.owner_email, demo.console_sign_in_url
        );
        println!("\nTry it:");
        println!("  curl -si {} | grep -i location", ada.link_url);
        println!("  # take click_id from the Location header, then report a 100.00 USD sale:");
        println!(
            "  curl -s {base}/v1/postbacks -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' \\\n    -d '{{\"click_id\":\"<click_id>\",\"order_id\":\"o-1\",\"amount\":\"100.00\",\"currency\":\"USD\"}}'",
            demo.postback_secret
        );
        if let Some(key) = &first.admin_key {
            println!("  curl -s {base}/v1/admin/commissions -H 'Authorization: Bearer {key}'");
        }
    }
    println!("\nStop with Ctrl-C (or SIGTERM); data stays in the data folder.");
}

#[tokio::main]
async fn main() {
    tracing::subscriber::set_global_default(upline_local::logging::subscriber(
        "info",
        std::io::stderr,
    ))
    .expect("the only subscriber");
    let config = match Cli::parse().config().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("upline-local: {e}");
            std::process::exit(2);
        }
    };
    let host = match start(config).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("upline-local: {e}");
            std::process::exit(1);
        }
    };
    let stopped = upline_local::stop_signal();
    print_welcome(&host);
    stopped.await;
    host.stop().await;
}
