//! The redirect function's configuration: exactly the environment variables it reads (the
//! SAM template sets each of them for this function, and a test holds the two together).

use upline_domain::click_id::ClickSecret;
use upline_domain::config::{ConfigError, EnvReader};
use upline_lambda::config::parsed;

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub clicks_queue_url: String,
    pub click_secret: ClickSecret,
    /// The header carrying the visitor's country; CloudFront's by default.
    pub country_header: Option<String>,
    /// The click cookie's `Domain`, e.g. `example.com` to share it with the shop.
    pub cookie_domain: Option<String>,
}

impl Config {
    /// Every variable read, required or optional.
    pub const ENV: &'static [&'static str] = &[
        "UPLINE_TABLE_NAME",
        "UPLINE_CLICKS_QUEUE_URL",
        "UPLINE_CLICK_SECRET",
        "UPLINE_COUNTRY_HEADER",
        "UPLINE_COOKIE_DOMAIN",
    ];

    pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(lookup);
        let table_name = env.required("UPLINE_TABLE_NAME");
        let clicks_queue_url = env.required("UPLINE_CLICKS_QUEUE_URL");
        let click_secret = env.click_secret("UPLINE_CLICK_SECRET");
        let country_header = env.optional("UPLINE_COUNTRY_HEADER");
        let cookie_domain = env.optional("UPLINE_COOKIE_DOMAIN");
        env.finish()?;
        let click_secret = parsed(click_secret, "UPLINE_CLICK_SECRET")?;
        Ok(Config {
            table_name,
            clicks_queue_url,
            click_secret,
            country_header,
            cookie_domain,
        })
    }
}

impl Config {
    /// The tracking settings these variables describe. Lambda is behind HTTPS, so the
    /// cookie is always `Secure`.
    pub fn tracking(&self) -> crate::TrackingSettings {
        let defaults = crate::TrackingSettings::default();
        crate::TrackingSettings {
            country_header: self
                .country_header
                .as_deref()
                .map_or(defaults.country_header, |h| h.trim().to_ascii_lowercase()),
            cookie_domain: self.cookie_domain.clone(),
            secure_cookie: true,
            ..defaults
        }
    }
}
