//! The clicks function's configuration: exactly the environment variables it reads (the
//! SAM template sets each of them for this function, and a test holds the two together).

use upline_domain::config::{ConfigError, EnvReader};

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    /// Where messages this function cannot handle go, with their reason.
    pub dead_letter_queue_url: String,
}

impl Config {
    /// Every variable read, required or optional.
    pub const ENV: &'static [&'static str] = &["UPLINE_TABLE_NAME", "UPLINE_DEAD_LETTER_QUEUE_URL"];

    pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(lookup);
        let table_name = env.required("UPLINE_TABLE_NAME");
        let dead_letter_queue_url = env.required("UPLINE_DEAD_LETTER_QUEUE_URL");
        env.finish()?;
        Ok(Config {
            table_name,
            dead_letter_queue_url,
        })
    }
}
