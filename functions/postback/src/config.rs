//! The postback function's configuration: exactly the environment variables it reads (the
//! SAM template sets each of them for this function, and a test holds the two together).

use upline_domain::click_id::ClickSecret;
use upline_domain::config::{ConfigError, EnvReader};
use upline_lambda::config::{parsed, secrets_keys};

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    /// Seals and opens the program's postback secret in the table.
    pub secrets_key: upline_domain::secrets::SecretsKey,
    /// During a rotation of the secrets key, the one before it.
    pub previous_secrets_key: Option<upline_domain::secrets::SecretsKey>,
    pub conversions_queue_url: String,
    pub partner_postbacks_queue_url: String,
    /// Commission-approved notices, for lines a store's won dispute releases.
    pub emails_queue_url: String,
    pub click_secret: ClickSecret,
}

impl Config {
    /// Every variable read, required or optional.
    pub const ENV: &'static [&'static str] = &[
        "UPLINE_TABLE_NAME",
        "UPLINE_SECRETS_KEY",
        "UPLINE_SECRETS_KEY_PREVIOUS",
        "UPLINE_CONVERSIONS_QUEUE_URL",
        "UPLINE_PARTNER_POSTBACKS_QUEUE_URL",
        "UPLINE_EMAILS_QUEUE_URL",
        "UPLINE_CLICK_SECRET",
    ];

    pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(lookup);
        let table_name = env.required("UPLINE_TABLE_NAME");
        let (secrets_key, previous_secrets_key) = secrets_keys(&mut env);
        let conversions_queue_url = env.required("UPLINE_CONVERSIONS_QUEUE_URL");
        let partner_postbacks_queue_url = env.required("UPLINE_PARTNER_POSTBACKS_QUEUE_URL");
        let emails_queue_url = env.required("UPLINE_EMAILS_QUEUE_URL");
        let click_secret = env.click_secret("UPLINE_CLICK_SECRET");
        env.finish()?;
        let secrets_key = parsed(secrets_key, "UPLINE_SECRETS_KEY")?;
        let click_secret = parsed(click_secret, "UPLINE_CLICK_SECRET")?;
        Ok(Config {
            table_name,
            secrets_key,
            previous_secrets_key,
            conversions_queue_url,
            partner_postbacks_queue_url,
            emails_queue_url,
            click_secret,
        })
    }
}
