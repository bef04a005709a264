//! Cross-crate test support: the adapter conformance suites (written once against the
//! ports, run against every adapter set) and the harness that runs the local host on a
//! random loopback port for end-to-end tests.

pub mod aws;
pub mod conformance;
pub mod host;
pub mod samples;
