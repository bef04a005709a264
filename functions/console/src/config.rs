//! The console function's configuration: exactly the environment variables it reads (the
//! SAM template sets each of them for this function, and a test holds the two together).

use upline_domain::config::{ConfigError, EnvReader};
use upline_domain::ports::QueueName;
use upline_lambda::config::{parsed, secrets_keys};

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    /// Seals the sign-in link in a queued email, the postback secret shown once, and
    /// keys the rate-limit counters.
    pub secrets_key: upline_domain::secrets::SecretsKey,
    /// During a rotation of the secrets key, the one before it.
    pub previous_secrets_key: Option<upline_domain::secrets::SecretsKey>,
    /// Sign-in links and the partners' emails the console's actions send.
    pub emails_queue_url: String,
    /// A conversion approved or rejected in the console calls its partner's postback.
    pub partner_postbacks_queue_url: String,
    /// The console's own address: sign-in links, Secure cookies, same-origin checks.
    pub public_base_url: String,
    /// The dead-letter queues whose messages the overview counts.
    pub dead_letter_queue_urls: Vec<(QueueName, String)>,
}

/// The variable naming each queue's dead-letter queue.
const DEAD_LETTER_VARS: [(QueueName, &str); 4] = [
    (QueueName::Clicks, "UPLINE_CLICKS_DEAD_LETTER_QUEUE_URL"),
    (
        QueueName::Conversions,
        "UPLINE_CONVERSIONS_DEAD_LETTER_QUEUE_URL",
    ),
    (QueueName::Emails, "UPLINE_EMAILS_DEAD_LETTER_QUEUE_URL"),
    (
        QueueName::PartnerPostbacks,
        "UPLINE_PARTNER_POSTBACKS_DEAD_LETTER_QUEUE_URL",
    ),
];

impl Config {
    /// Every variable read, required or optional.
    pub const ENV: &'static [&'static str] = &[
        "UPLINE_TABLE_NAME",
        "UPLINE_SECRETS_KEY",
        "UPLINE_SECRETS_KEY_PREVIOUS",
        "UPLINE_EMAILS_QUEUE_URL",
        "UPLINE_PARTNER_POSTBACKS_QUEUE_URL",
        "UPLINE_PUBLIC_BASE_URL",
        "UPLINE_CLICKS_DEAD_LETTER_QUEUE_URL",
        "UPLINE_CONVERSIONS_DEAD_LETTER_QUEUE_URL",
        "UPLINE_EMAILS_DEAD_LETTER_QUEUE_URL",
        "UPLINE_PARTNER_POSTBACKS_DEAD_LETTER_QUEUE_URL",
    ];

    pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(lookup);
        let table_name = env.required("UPLINE_TABLE_NAME");
        let (secrets_key, previous_secrets_key) = secrets_keys(&mut env);
        let emails_queue_url = env.required("UPLINE_EMAILS_QUEUE_URL");
        let partner_postbacks_queue_url = env.required("UPLINE_PARTNER_POSTBACKS_QUEUE_URL");
        let public_base_url = env.base_url("UPLINE_PUBLIC_BASE_URL");
        let dead_letter_queue_urls = DEAD_LETTER_VARS
            .iter()
            .map(|(queue, var)| (*queue, env.required(var)))
            .collect();
        env.finish()?;
        let secrets_key = parsed(secrets_key, "UPLINE_SECRETS_KEY")?;
        Ok(Config {
            table_name,
            secrets_key,
            previous_secrets_key,
            emails_queue_url,
            partner_postbacks_queue_url,
            public_base_url,
            dead_letter_queue_urls,
        })
    }
}
