//! The portal function's configuration: exactly the environment variables it reads (the
//! SAM template sets each of them for this function, and a test holds the two together).

use upline_domain::config::{ConfigError, EnvReader};
use upline_lambda::config::{parsed, secrets_keys};

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub emails_queue_url: String,
    /// Where the portal is served, and where its emailed sign-in links and its tracking links point.
    pub public_base_url: String,
    /// Seals the sign-in link in the queued email; keys the rate-limit counters.
    pub secrets_key: upline_domain::secrets::SecretsKey,
    /// During a rotation of the secrets key, the one before it.
    pub previous_secrets_key: Option<upline_domain::secrets::SecretsKey>,
}

impl Config {
    /// Every variable read, required or optional.
    pub const ENV: &'static [&'static str] = &[
        "UPLINE_TABLE_NAME",
        "UPLINE_EMAILS_QUEUE_URL",
        "UPLINE_PUBLIC_BASE_URL",
        "UPLINE_SECRETS_KEY",
        "UPLINE_SECRETS_KEY_PREVIOUS",
    ];

    pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(lookup);
        let table_name = env.required("UPLINE_TABLE_NAME");
        let emails_queue_url = env.required("UPLINE_EMAILS_QUEUE_URL");
        let public_base_url = env.base_url("UPLINE_PUBLIC_BASE_URL");
        let (secrets_key, previous_secrets_key) = secrets_keys(&mut env);
        env.finish()?;
        let secrets_key = parsed(secrets_key, "UPLINE_SECRETS_KEY")?;
        Ok(Config {
            table_name,
            emails_queue_url,
            public_base_url,
            secrets_key,
            previous_secrets_key,
        })
    }
}
