//! The `PostbackCaller` adapter: GETs partners' postback URLs with reqwest, refusing any
//! host that is — or resolves to — an address off the public internet. The check happens
//! where the connection is made (the resolver hands reqwest only checked addresses), so a
//! name that resolves somewhere private after it was saved is still refused, and redirects
//! are not followed, so a public URL cannot bounce the call inward.

use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use upline_domain::ports::{CallError, PostbackCaller};
use upline_domain::public_address::{is_public, refusal};

/// Which addresses may be called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Production: public internet only.
    PublicOnly,
    /// Local development and tests: anything, loopback included.
    AllowPrivate,
}

#[derive(Debug)]
struct NotPublic(String);

impl std::fmt::Display for NotPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotPublic {}

/// Resolves with the system resolver and keeps only addresses the policy allows.
struct CheckedResolver {
    policy: AddressPolicy,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy == AddressPolicy::AllowPrivate || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = Box::new(NotPublic(format!(
                    "{host} resolves only to non-public addresses"
                )));
                return Err(err);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

pub struct HttpPostbackCaller {
    client: reqwest::Client,
    policy: AddressPolicy,
}

impl HttpPostbackCaller {
    pub fn new(policy: AddressPolicy) -> Self {
        // reqwest takes the process's TLS provider; install ring, which the AWS clients
        // use too (a no-op if something installed one first).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .user_agent("Upline-Postback/1")
            .dns_resolver(Arc::new(CheckedResolver { policy }))
            .build()
            .expect("a client with these settings always builds");
        HttpPostbackCaller { client, policy }
    }

    /// Refuses URLs whose host is written as a non-public address or a local name; names
    /// are checked again when they are resolved.
    fn check_host(&self, url: &url::Url) -> Result<(), CallError> {
        if self.policy == AddressPolicy::AllowPrivate {
            return Ok(());
        }
        let host = url
            .host()
            .ok_or_else(|| CallError::Refused("the URL has no host".into()))?;
        match refusal(&host) {
            Some(why) => Err(CallError::Refused(why)),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl PostbackCaller for HttpPostbackCaller {
    async fn get(&self, url: &str) -> Result<u16, CallError> {
        let parsed = url::Url::parse(url).map_err(|e| CallError::Refused(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(CallError::Refused(format!("scheme {}", parsed.scheme())));
        }
        self.check_host(&parsed)?;
        match self.client.get(parsed).send().await {
            Ok(resp) => Ok(resp.status().as_u16()),
            Err(e) => {
                // The resolver's refusal arrives wrapped in reqwest's and hyper's errors.
                let mut source = e.source();
                while let Some(s) = source {
                    if let Some(np) = s.downcast_ref::<NotPublic>() {
                        return Err(CallError::Refused(np.0.clone()));
                    }
                    source = s.source();
                }
                Err(CallError::Failed(e.to_string()))
            }
        }
    }
}
