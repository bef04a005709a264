//! What the host is told before it starts: which backend holds the state, where it
//! listens, and every knob a deployment may turn. Plain data; `start` acts on it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use upline_aws::QueueUrls;
use upline_domain::ports::QueueName;
use upline_domain::secrets::{Secret, SecretsKey};

use crate::serve;

/// Where the host keeps its state and sends its mail.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A redb file and an outbox folder under the data folder.
    Embedded,
    Aws(Box<AwsBackend>),
}

#[derive(Clone, Debug)]
pub struct AwsBackend {
    pub sdk: aws_config::SdkConfig,
    pub table: String,
    pub queues: HashMap<QueueName, QueueUrls>,
    pub mail_from: String,
    pub ses_configuration_set: Option<String>,
}

#[derive(Clone, Debug)]
pub struct HostConfig {
    pub addr: SocketAddr,
    pub backend: Backend,
    /// The embedded backend's folder (ignored on AWS).
    pub data_dir: PathBuf,
    /// Seed the demo program when the store is new.
    pub seed_demo: bool,
    /// Use this admin key instead of generating one on first start.
    pub admin_key: Option<Secret>,
    /// The key secrets in the store are sealed with; on the embedded backend the data
    /// folder's `secrets.key` when not given.
    pub secrets_key: Option<SecretsKey>,
    /// Base URL of tracking links; defaults to `http://<bound address>`.
    pub public_base_url: Option<String>,
    pub mail_from: String,
    /// The click cookie's `Domain` (none: the tracking host only).
    pub cookie_domain: Option<String>,
    /// The header carrying the visitor's country (CloudFront's by default).
    pub country_header: Option<String>,
    /// Lets partners' postback URLs point at this machine or a private network, for
    /// trying postbacks locally. Off by default, as in production.
    pub allow_private_postbacks: bool,
    /// Per-caller limits (failed authentication, signups); production's by default.
    pub rate_limits: upline_domain::services::RateLimits,
    /// The HTTP server's deadlines for request heads, bodies and answers.
    pub timeouts: serve::Timeouts,
    /// How often the payout schedule runs (approvals past the hold, payout runs on the
    /// program's cadence), as EventBridge does hourly on AWS; `None` turns it off.
    pub schedule_every: Option<std::time::Duration>,
    /// How clicks are gathered before they are written to the clicks queue.
    pub click_buffer: crate::click_buffer::ClickBufferSettings,
}

impl HostConfig {
    pub fn new(addr: SocketAddr, data_dir: PathBuf) -> Self {
        HostConfig {
            addr,
            backend: Backend::Embedded,
            data_dir,
            seed_demo: true,
            admin_key: None,
            secrets_key: None,
            public_base_url: None,
            mail_from: "Upline <partners@upline.local>".into(),
            cookie_domain: None,
            country_header: None,
            allow_private_postbacks: false,
            rate_limits: Default::default(),
            timeouts: Default::default(),
            schedule_every: Some(std::time::Duration::from_secs(3600)),
            click_buffer: Default::default(),
        }
    }
}
