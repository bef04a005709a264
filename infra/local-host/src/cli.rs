//! The `upline-local` command line: every flag with its environment fallback and its
//! default, read by clap (which writes `--help` from the same declarations), then turned
//! into a [`HostConfig`] — the AWS backend's names read from the environment, every
//! missing one reported at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use upline_aws::QueueUrls;
use upline_domain::ports::QueueName;
use upline_domain::secrets::{Secret, SecretsKey};

use crate::{AwsBackend, Backend, HostConfig};

/// Runs the whole Upline platform in one process: every HTTP route on one address and
/// every queue consumer in the background, on an embedded store (default) or on AWS.
#[derive(Parser, Debug)]
#[command(
    name = "upline-local",
    version,
    after_help = "With --store aws, the standard AWS_* variables (region, credentials, \
AWS_ENDPOINT_URL) and: UPLINE_TABLE_NAME, \
UPLINE_{CLICKS,CONVERSIONS,EMAILS,PARTNER_POSTBACKS}_QUEUE_URL, \
UPLINE_{CLICKS,CONVERSIONS,EMAILS,PARTNER_POSTBACKS}_DLQ_URL, UPLINE_MAIL_FROM, \
UPLINE_SECRETS_KEY, UPLINE_SES_CONFIGURATION_SET (optional). Logs: RUST_LOG."
)]
pub struct Cli {
    /// Where to listen.
    #[arg(long, env = "UPLINE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// The embedded store's folder (the store file, its secrets key, the email outbox).
    #[arg(long, env = "UPLINE_DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,
    /// Start without the demo program.
    #[arg(long, env = "UPLINE_EMPTY")]
    pub empty: bool,
    /// Use this admin key (24 characters or more) instead of generating one.
    #[arg(long, env = "UPLINE_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// Base URL of tracking links (default: http://<the bound address>).
    #[arg(long, env = "UPLINE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Where state lives.
    #[arg(long, env = "UPLINE_STORE", value_enum, default_value_t = StoreKind::Embedded)]
    pub store: StoreKind,
    /// Let partners' postback URLs point at this machine or a private network.
    #[arg(long, env = "UPLINE_ALLOW_PRIVATE_POSTBACKS")]
    pub allow_private_postbacks: bool,
    /// Seconds between runs of the payout schedule; 0 turns it off.
    #[arg(long, env = "UPLINE_SCHEDULE_EVERY", default_value_t = 3600)]
    pub schedule_every: u64,
    /// The click cookie's Domain (default: the tracking host only).
    #[arg(long, env = "UPLINE_COOKIE_DOMAIN")]
    pub cookie_domain: Option<String>,
    /// The request header carrying the visitor's country.
    #[arg(long, env = "UPLINE_COUNTRY_HEADER")]
    pub country_header: Option<String>,
    /// 64 hex characters sealing the secrets in the store (default: the data folder's
    /// secrets.key; required with --store aws).
    #[arg(long, env = "UPLINE_SECRETS_KEY", hide_env_values = true)]
    pub secrets_key: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// A redb file and an outbox folder under the data folder.
    Embedded,
    /// DynamoDB, SQS (polled) and SES.
    Aws,
}

/// An optional value given empty is not given.
fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// Why the command line or environment does not make a configuration.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("--secrets-key: {0}")]
    SecretsKey(String),
    #[error("--store aws needs {}", .0.join(", "))]
    AwsSettingsMissing(Vec<String>),
}

impl Cli {
    /// The host's configuration; `aws` is read only for `--store aws`.
    pub async fn config(self) -> Result<HostConfig, CliError> {
        let mut config = HostConfig::new(self.addr, self.data_dir.clone());
        config.backend = match self.store {
            StoreKind::Embedded => Backend::Embedded,
            StoreKind::Aws => Backend::Aws(Box::new(aws_backend().await?)),
        };
        config.seed_demo = !self.empty;
        config.admin_key = given(&self.admin_key).map(Secret::new);
        config.secrets_key = given(&self.secrets_key)
            .map(|k| SecretsKey::from_hex(&k).map_err(|e| CliError::SecretsKey(e.to_string())))
            .transpose()?;
        config.public_base_url = given(&self.public_url);
        config.cookie_domain = given(&self.cookie_domain);
        config.country_header = given(&self.country_header);
        config.allow_private_postbacks = self.allow_private_postbacks;
        config.schedule_every =
            (self.schedule_every > 0).then(|| std::time::Duration::from_secs(self.schedule_every));
        Ok(config)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The AWS backend's settings, all from the environment; every missing name is reported.
async fn aws_backend() -> Result<AwsBackend, CliError> {
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
        return Err(CliError::AwsSettingsMissing(missing));
    }
    Ok(AwsBackend {
        sdk: upline_aws::load_sdk_config().await,
        table,
        queues,
        mail_from,
        ses_configuration_set: env("UPLINE_SES_CONFIGURATION_SET"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn flags_become_the_hosts_configuration() {
        let cli = Cli::try_parse_from([
            "upline-local",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            "/tmp/x",
            "--empty",
            "--admin-key",
            "upl_admin_0123456789abcdefghij",
            "--schedule-every",
            "0",
        ])
        .unwrap();
        let config = cli.config().await.unwrap();
        assert!(!config.seed_demo);
        assert_eq!(config.schedule_every, None);
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(
            config.admin_key.as_ref().map(Secret::expose),
            Some("upl_admin_0123456789abcdefghij")
        );
    }

    #[tokio::test]
    async fn bad_flags_are_refused_naming_them() {
        let err = Cli::try_parse_from(["upline-local", "--addr", "nowhere"]).unwrap_err();
        assert!(err.to_string().contains("--addr"), "{err}");
        let err = Cli::try_parse_from(["upline-local", "--store", "s3"]).unwrap_err();
        assert!(err.to_string().contains("embedded, aws"), "{err}");
        let err = Cli::try_parse_from(["upline-local", "--schedule-every", "soon"]).unwrap_err();
        assert!(err.to_string().contains("--schedule-every"), "{err}");
        let cli = Cli::try_parse_from(["upline-local", "--secrets-key", "abc"]).unwrap();
        let err = cli.config().await.unwrap_err();
        assert!(err.to_string().contains("--secrets-key"), "{err}");
    }

    #[test]
    fn help_lists_every_flag_with_its_variable() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for (flag, var) in [
            ("--addr", "UPLINE_ADDR"),
            ("--data-dir", "UPLINE_DATA_DIR"),
            ("--admin-key", "UPLINE_ADMIN_KEY"),
            ("--store", "UPLINE_STORE"),
            ("--schedule-every", "UPLINE_SCHEDULE_EVERY"),
            ("--secrets-key", "UPLINE_SECRETS_KEY"),
        ] {
            assert!(
                help.contains(flag) && help.contains(var),
                "{flag} {var}\n{help}"
            );
        }
    }
}
