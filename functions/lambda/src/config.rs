//! The parts of reading a function's configuration that several functions share, on top
//! of `upline_domain::config::EnvReader`: the secrets keys pair, and taking a value parsed
//! while reading once the reader has reported no problem. Each function's `Config` still
//! names its own fields and variables; only these repeated steps live here — and the one
//! configuration two functions read alike, [`EmailingConfig`].

use upline_domain::config::{ConfigError, EnvReader};
use upline_domain::secrets::SecretsKey;

/// `UPLINE_SECRETS_KEY` (required) and `UPLINE_SECRETS_KEY_PREVIOUS` (set only during a
/// rotation), read in that order so their problems are listed in that order.
pub fn secrets_keys(env: &mut EnvReader<'_>) -> (Option<SecretsKey>, Option<SecretsKey>) {
    let current = env.secrets_key("UPLINE_SECRETS_KEY");
    let previous = env.optional_secrets_key("UPLINE_SECRETS_KEY_PREVIOUS");
    (current, previous)
}

/// A value parsed while reading `name` (a key or a secret), taken after
/// [`EnvReader::finish`] passed. A missing or malformed value was already reported as a
/// problem there, so this error only stands in for an `unwrap`.
pub fn parsed<T>(value: Option<T>, name: &str) -> Result<T, ConfigError> {
    value.ok_or_else(|| ConfigError {
        problems: vec![format!("{name} is invalid")],
    })
}

/// The configuration of an HTTP function that works on the table, queues emails and
/// seals secrets, and reads nothing else: the signup and portal functions.
#[derive(Debug)]
pub struct EmailingConfig {
    pub table_name: String,
    pub emails_queue_url: String,
    /// Where the links the function hands out and emails point; for the portal also its
    /// own origin, which posted forms must come from.
    pub public_base_url: String,
    /// Seals what waits in the table or a queue (an idempotent replay's answer, a
    /// sign-in link in a queued email) and keys the rate-limit counters.
    pub secrets_key: SecretsKey,
    /// During a rotation of the secrets key, the one before it.
    pub previous_secrets_key: Option<SecretsKey>,
}

impl EmailingConfig {
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
        Ok(EmailingConfig {
            table_name,
            emails_queue_url,
            public_base_url,
            secrets_key,
            previous_secrets_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY: &str = "5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2";

    #[test]
    fn the_secrets_keys_are_read_with_their_problems_in_order() {
        let vars = HashMap::from([("UPLINE_SECRETS_KEY_PREVIOUS", "not hex")]);
        let lookup = |n: &str| vars.get(n).map(|v| v.to_string());
        let mut env = EnvReader::new(&lookup);
        let (current, previous) = secrets_keys(&mut env);
        assert!(current.is_none() && previous.is_none());
        let problems = env.finish().unwrap_err().problems;
        assert_eq!(problems[0], "UPLINE_SECRETS_KEY is not set");
        assert!(problems[1].starts_with("UPLINE_SECRETS_KEY_PREVIOUS: "));
    }

    #[test]
    fn a_rotation_reads_both_keys() {
        let vars = HashMap::from([
            ("UPLINE_SECRETS_KEY", KEY),
            ("UPLINE_SECRETS_KEY_PREVIOUS", KEY),
        ]);
        let lookup = |n: &str| vars.get(n).map(|v| v.to_string());
        let mut env = EnvReader::new(&lookup);
        let (current, previous) = secrets_keys(&mut env);
        env.finish().unwrap();
        assert!(parsed(current, "UPLINE_SECRETS_KEY").is_ok());
        assert!(previous.is_some());
    }

    #[test]
    fn a_value_missing_after_the_checks_is_named() {
        let e = parsed::<()>(None, "UPLINE_CLICK_SECRET").unwrap_err();
        assert_eq!(e.problems, ["UPLINE_CLICK_SECRET is invalid"]);
    }
}
