//! `upline-local`: runs the whole platform on this machine. Wiring only: read flags and
//! environment, start the host, print what a newcomer needs, stop on Ctrl-C.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use upline_aws::QueueUrls;
use upline_domain::ports::QueueName;
use upline_local::{AwsBackend, Backend, HostConfig, RunningHost, start};

const USAGE: &str =
    "upline-local [--addr 127.0.0.1:3000] [--data-dir .data] [--empty] [--admin-key KEY]
             [--public-url URL] [--store embedded|aws] [--allow-private-postbacks]
             [--schedule-every SECONDS (default 3600; 0 turns the schedule off)]
  Environment: UPLINE_ADDR, UPLINE_DATA_DIR, UPLINE_EMPTY=1, UPLINE_ADMIN_KEY (24+ characters),
               UPLINE_PUBLIC_URL, UPLINE_SECRETS_KEY (64 hex; default: the data folder's secrets.key),
               UPLINE_STORE, UPLINE_COOKIE_DOMAIN, UPLINE_COUNTRY_HEADER,
               UPLINE_ALLOW_PRIVATE_POSTBACKS=1, UPLINE_SCHEDULE_EVERY, RUST_LOG
  With --store aws (standard AWS_* variables for region, credentials and AWS_ENDPOINT_URL):
               UPLINE_TABLE_NAME, UPLINE_{CLICKS,CONVERSIONS,EMAILS,PARTNER_POSTBACKS}_QUEUE_URL,
               UPLINE_{CLICKS,CONVERSIONS,EMAILS,PARTNER_POSTBACKS}_DLQ_URL, UPLINE_MAIL_FROM,
               UPLINE_SES_CONFIGURATION_SET (optional)";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The AWS backend's settings, all from the environment; every missing name is reported.
async fn aws_backend() -> Result<AwsBackend, String> {
    let mut missing = Vec::new();
    let mut need = |name: &str| {
        env(name).unwrap_or_else(|| {
            missing.push(name.to_string());
            String::new()
        })
    };
    let table = need("UPLINE_TABLE_NAME");
    let mail_from = need("UPLINE_MAIL_FROM");
    let mut queues = HashMap::new();
    for q in QueueName::ALL {
        let upper = q.as_str().to_ascii_uppercase();
        let queue = need(&format!("UPLINE_{upper}_QUEUE_URL"));
        let dead_letters = need(&format!("UPLINE_{upper}_DLQ_URL"));
        queues.insert(
            q,
            QueueUrls {
                queue,
                dead_letters,
            },
        );
    }
    if !missing.is_empty() {
        return Err(format!("--store aws needs {}", missing.join(", ")));
    }
    Ok(AwsBackend {
        sdk: upline_aws::load_sdk_config().await,
        table,
        queues,
        mail_from,
        ses_configuration_set: env("UPLINE_SES_CONFIGURATION_SET"),
    })
}

async fn config() -> Result<HostConfig, String> {
    let mut store = env("UPLINE_STORE").unwrap_or_else(|| "embedded".into());
    let mut addr = env("UPLINE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
    let mut data_dir = env("UPLINE_DATA_DIR").unwrap_or_else(|| ".data".into());
    let mut empty = env("UPLINE_EMPTY").is_some_and(|v| v != "0");
    let mut admin_key = env("UPLINE_ADMIN_KEY");
    let mut public_url = env("UPLINE_PUBLIC_URL");
    let mut allow_private_postbacks = false;
    let mut schedule_every = env("UPLINE_SCHEDULE_EVERY").unwrap_or_else(|| "3600".into());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => addr = value("--addr")?,
            "--data-dir" => data_dir = value("--data-dir")?,
            "--empty" => empty = true,
            "--admin-key" => admin_key = Some(value("--admin-key")?),
            "--public-url" => public_url = Some(value("--public-url")?),
            "--store" => store = value("--store")?,
            "--allow-private-postbacks" => allow_private_postbacks = true,
            "--schedule-every" => schedule_every = value("--schedule-every")?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let addr: SocketAddr = addr.parse().map_err(|e| format!("--addr {addr:?}: {e}"))?;
    let mut config = HostConfig::new(addr, PathBuf::from(data_dir));
    config.backend = match store.as_str() {
        "embedded" => Backend::Embedded,
        "aws" => Backend::Aws(Box::new(aws_backend().await?)),
        other => return Err(format!("--store must be embedded or aws, got {other:?}")),
    };
    config.seed_demo = !empty;
    config.admin_key = admin_key.map(upline_domain::secrets::Secret::new);
    if let Some(key) = env("UPLINE_SECRETS_KEY") {
        config.secrets_key = Some(
            upline_domain::secrets::SecretsKey::from_hex(&key)
                .map_err(|e| format!("UPLINE_SECRETS_KEY: {e}"))?,
        );
    }
    config.public_base_url = public_url;
    config.cookie_domain = env("UPLINE_COOKIE_DOMAIN");
    config.country_header = env("UPLINE_COUNTRY_HEADER");
    config.allow_private_postbacks =
        allow_private_postbacks || env("UPLINE_ALLOW_PRIVATE_POSTBACKS").is_some_and(|v| v != "0");
    let every: u64 = schedule_every
        .parse()
        .map_err(|_| format!("--schedule-every must be whole seconds, got {schedule_every:?}"))?;
    config.schedule_every = (every > 0).then(|| std::time::Duration::from_secs(every));
    Ok(config)
}

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
    let config = match config().await {
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
    upline_local::stop_signal().await;
    host.stop().await;
}
