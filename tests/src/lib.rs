//! Cross-crate test support: the adapter conformance suites (written once against the
//! ports, run against every adapter set) and the harness that runs the local host on a
//! random loopback port for end-to-end tests.

pub mod aws;
pub mod conformance;
pub mod host;
pub mod receiver;
pub mod samples;

/// Lets reqwest clients be built in tests: the workspace's reqwest takes its TLS provider
/// from the process (the outgoing-postback adapter installs the AWS SDK's), so tests that
/// build clients install it too. Safe to call any number of times.
pub fn install_tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
