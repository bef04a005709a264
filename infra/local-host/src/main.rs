//! `upline-local`: runs the whole platform on this machine. Wiring only: read flags and
//! environment, start the host, print what a newcomer needs, stop on Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use upline_local::{HostConfig, RunningHost, start};

const USAGE: &str = "upline-local [--addr 127.0.0.1:3000] [--data-dir .data] [--empty] [--admin-key KEY] [--public-url URL]
  Environment: UPLINE_ADDR, UPLINE_DATA_DIR, UPLINE_EMPTY=1, UPLINE_ADMIN_KEY, UPLINE_PUBLIC_URL, RUST_LOG";

fn config() -> Result<HostConfig, String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut addr = env("UPLINE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
    let mut data_dir = env("UPLINE_DATA_DIR").unwrap_or_else(|| ".data".into());
    let mut empty = env("UPLINE_EMPTY").is_some_and(|v| v != "0");
    let mut admin_key = env("UPLINE_ADMIN_KEY");
    let mut public_url = env("UPLINE_PUBLIC_URL");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => addr = value("--addr")?,
            "--data-dir" => data_dir = value("--data-dir")?,
            "--empty" => empty = true,
            "--admin-key" => admin_key = Some(value("--admin-key")?),
            "--public-url" => public_url = Some(value("--public-url")?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let addr: SocketAddr = addr.parse().map_err(|e| format!("--addr {addr:?}: {e}"))?;
    let mut config = HostConfig::new(addr, PathBuf::from(data_dir));
    config.seed_demo = !empty;
    config.admin_key = admin_key;
    config.public_base_url = public_url;
    Ok(config)
}

fn print_welcome(host: &RunningHost) {
    let base = &host.base_url;
    println!(
        "Upline is running at {base}  (emails go to {})",
        host.outbox.display()
    );
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
    println!("\nStop with Ctrl-C; data stays in the data folder.");
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
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
    print_welcome(&host);
    let _ = tokio::signal::ctrl_c().await;
    host.stop().await;
}
