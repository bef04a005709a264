//! Reading a function's typed configuration from its environment at start: every
//! variable is read through one [`EnvReader`], which collects every missing or invalid
//! name so a misconfigured deployment fails fast with the whole list. The lookup is passed
//! in, so configurations are built from maps in tests. Values are never echoed, because
//! some are secrets.

use crate::click_id::ClickSecret;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {}", .problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

pub struct EnvReader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<String>,
}

impl<'a> EnvReader<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        EnvReader {
            lookup,
            problems: Vec::new(),
        }
    }

    /// A variable that must be set and non-empty.
    pub fn required(&mut self, name: &str) -> String {
        match (self.lookup)(name).filter(|v| !v.trim().is_empty()) {
            Some(v) => v.trim().to_string(),
            None => {
                self.problems.push(format!("{name} is not set"));
                String::new()
            }
        }
    }

    pub fn optional(&mut self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// The click secret, given as hex of at least 32 bytes.
    pub fn click_secret(&mut self, name: &str) -> Option<ClickSecret> {
        let text = self.required(name);
        if text.is_empty() {
            return None;
        }
        match hex::decode(&text).ok().map(ClickSecret::new) {
            Some(Ok(secret)) => Some(secret),
            _ => {
                self.problems.push(format!(
                    "{name} must be at least 64 hex characters (32 bytes)"
                ));
                None
            }
        }
    }

    /// The key secrets in the table are sealed with: 64 hex characters.
    pub fn secrets_key(&mut self, name: &str) -> Option<crate::secrets::SecretsKey> {
        let text = self.required(name);
        self.parse_secrets_key(name, &text)
    }

    /// An optional secrets key (the previous one, during a rotation).
    pub fn optional_secrets_key(&mut self, name: &str) -> Option<crate::secrets::SecretsKey> {
        let text = self.optional(name)?;
        self.parse_secrets_key(name, &text)
    }

    fn parse_secrets_key(&mut self, name: &str, text: &str) -> Option<crate::secrets::SecretsKey> {
        if text.is_empty() {
            return None;
        }
        match crate::secrets::SecretsKey::from_hex(text) {
            Ok(key) => Some(key),
            Err(e) => {
                self.problems.push(format!("{name}: {e}"));
                None
            }
        }
    }

    /// An http(s) base URL without a trailing slash.
    pub fn base_url(&mut self, name: &str) -> String {
        let text = self.required(name);
        let has_scheme = text.starts_with("https://") || text.starts_with("http://");
        if !text.is_empty() && !has_scheme {
            self.problems
                .push(format!("{name} must start with https://"));
        }
        text.trim_end_matches('/').to_string()
    }

    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

/// A lookup over the process environment, for `main`.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_problem_is_reported_at_once_without_values() {
        let vars = HashMap::from([
            ("UPLINE_CLICK_SECRET", "c0ffee"),
            ("UPLINE_PUBLIC_BASE_URL", "go.example.com"),
        ]);
        let lookup = |n: &str| vars.get(n).map(|v| v.to_string());
        let mut env = EnvReader::new(&lookup);
        env.required("UPLINE_TABLE_NAME");
        env.click_secret("UPLINE_CLICK_SECRET");
        env.base_url("UPLINE_PUBLIC_BASE_URL");
        let e = env.finish().unwrap_err();
        assert_eq!(e.problems.len(), 3);
        assert!(e.problems[0].contains("UPLINE_TABLE_NAME is not set"));
        assert!(
            !e.to_string().contains("c0ffee"),
            "secrets are never echoed"
        );
    }
}
