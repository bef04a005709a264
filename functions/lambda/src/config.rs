//! The parts of reading a function's configuration that several functions share, on top
//! of `upline_domain::config::EnvReader`: the secrets keys pair, and taking a value parsed
//! while reading once the reader has reported no problem. Each function's `Config` still
//! names its own fields and variables; only these repeated steps live here.

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
