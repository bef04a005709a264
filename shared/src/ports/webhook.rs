//! The outgoing-call port: how Upline calls a partner's own tracker (their postback URL).
//! The adapter refuses addresses that are not on the public internet, so a partner cannot
//! point Upline at its own network.

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Not called: the URL's host is, or resolves to, a non-public address.
    #[error("refused: {0}")]
    Refused(String),
    /// Called but no answer: connection, TLS or timeout.
    #[error("failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait PostbackCaller: Send + Sync {
    /// GETs `url` without following redirects; any HTTP answer is `Ok(status)`.
    async fn get(&self, url: &str) -> Result<u16, CallError>;
}
