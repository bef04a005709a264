//! Cross-crate test support: the adapter conformance suites (written once against the
//! ports, run against every adapter set), the harness that runs the local host on a
//! random loopback port for end-to-end tests with the requests scenarios share, and the
//! in-process worlds (embedded store, manual clock, the sample data) for tests that call
//! use cases and functions directly.

pub mod aws;
pub mod browser;
pub mod conformance;
pub mod faulty;
pub mod host;
pub mod pages;
pub mod policy;
pub mod receiver;
pub mod samples;
pub mod world;

use std::sync::Mutex;
use upline_aws::lambda_sqs::DeadLetters;
use upline_domain::ports::{QueueError, QueueName};

/// What a Lambda consumer dead-lettered in a test that runs it without a queue server:
/// (queue, body, reason) per message.
#[derive(Default)]
pub struct DeadLettered(Mutex<Vec<(QueueName, String, String)>>);

impl DeadLettered {
    pub fn taken(&self) -> Vec<(QueueName, String, String)> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl DeadLetters for DeadLettered {
    async fn send_to_dead_letters(
        &self,
        queue: QueueName,
        body: &str,
        reason: &str,
    ) -> Result<(), QueueError> {
        self.0
            .lock()
            .unwrap()
            .push((queue, body.to_string(), reason.to_string()));
        Ok(())
    }
}

/// Lets reqwest clients be built in tests: the workspace's reqwest takes its TLS provider
/// from the process (the outgoing-postback adapter installs ring's, as the AWS clients
/// use), so tests that build clients install it too. Safe to call any number of times.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
