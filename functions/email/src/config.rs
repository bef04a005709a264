//! The email function's configuration: exactly the environment variables it reads (the
//! SAM template sets each of them for this function, and a test holds the two together).

use upline_domain::config::{ConfigError, EnvReader};
use upline_lambda::config::{parsed, secrets_keys};

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    /// Where messages this function cannot handle go, with their reason.
    pub dead_letter_queue_url: String,
    pub mail_from: String,
    pub ses_configuration_set: Option<String>,
    /// Where unsubscribe links point (the API's public address).
    pub public_base_url: String,
    /// Opens the secrets an email carries sealed (a new partner's API key).
    pub secrets_key: upline_domain::secrets::SecretsKey,
    /// During a rotation of the secrets key, the one before it.
    pub previous_secrets_key: Option<upline_domain::secrets::SecretsKey>,
}

impl Config {
    /// Every variable read, required or optional.
    pub const ENV: &'static [&'static str] = &[
        "UPLINE_TABLE_NAME",
        "UPLINE_DEAD_LETTER_QUEUE_URL",
        "UPLINE_MAIL_FROM",
        "UPLINE_SES_CONFIGURATION_SET",
        "UPLINE_PUBLIC_BASE_URL",
        "UPLINE_SECRETS_KEY",
        "UPLINE_SECRETS_KEY_PREVIOUS",
    ];

    pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(lookup);
        let table_name = env.required("UPLINE_TABLE_NAME");
        let dead_letter_queue_url = env.required("UPLINE_DEAD_LETTER_QUEUE_URL");
        let mail_from = env.required("UPLINE_MAIL_FROM");
        let ses_configuration_set = env.optional("UPLINE_SES_CONFIGURATION_SET");
        let public_base_url = env.base_url("UPLINE_PUBLIC_BASE_URL");
        let (secrets_key, previous_secrets_key) = secrets_keys(&mut env);
        env.finish()?;
        let secrets_key = parsed(secrets_key, "UPLINE_SECRETS_KEY")?;
        Ok(Config {
            table_name,
            dead_letter_queue_url,
            mail_from,
            ses_configuration_set,
            public_base_url,
            secrets_key,
            previous_secrets_key,
        })
    }
}
