//! Campaigns: what partners promote (a destination the traffic lands on, the domains deep
//! links may point to) and the terms partners earn on it.

use crate::error::Invalid;
use crate::ids::CampaignId;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::clock::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub name: String,
    /// Where a tracking link sends visitors; the click id is appended to its query.
    pub destination_url: String,
    /// Hosts (besides the destination's own) that deep links may point to.
    pub allowed_domains: Vec<String>,
    pub terms: Terms,
    /// This campaign's own upline plan, in place of the program's.
    #[serde(default)]
    pub upline: Option<crate::program::UplinePlan>,
    /// Which visitors the campaign accepts and where each audience lands.
    #[serde(default)]
    pub targeting: crate::targeting::Targeting,
    /// How long after a click a conversion still earns (days); also the click cookie's
    /// lifetime.
    #[serde(default = "default_attribution_window_days")]
    pub attribution_window_days: u32,
    pub status: CampaignStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The industry's usual 30 days.
pub const DEFAULT_ATTRIBUTION_WINDOW_DAYS: u32 = 30;
/// Longer than any program we know of pays on.
pub const MAX_ATTRIBUTION_WINDOW_DAYS: u32 = 365;

fn default_attribution_window_days() -> u32 {
    DEFAULT_ATTRIBUTION_WINDOW_DAYS
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Active,
    Paused,
}

pub use crate::terms::Terms;

/// Checks that a destination is an absolute http(s) URL with a host.
pub fn parse_destination(text: &str) -> Result<Url, Invalid> {
    let url = Url::parse(text.trim()).map_err(|e| format!("is not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must use http or https".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must have a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    Ok(url)
}

/// Normalises an allowed-domain entry: a bare host name, lower case, no scheme or path.
pub fn parse_allowed_domain(text: &str) -> Result<String, Invalid> {
    let host = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if ok {
        Ok(host)
    } else {
        Err(Invalid(format!(
            "{text:?} is not a host name such as shop.example.com"
        )))
    }
}

impl Campaign {
    /// Whether `host` is the destination's host or one the campaign allows (an allowed
    /// domain covers its subdomains: `shop.example.com` allows `eu.shop.example.com`).
    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let destination_host = parse_destination(&self.destination_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        destination_host
            .iter()
            .chain(self.allowed_domains.iter())
            .any(|allowed| host == *allowed || host.ends_with(&format!(".{allowed}")))
    }

    /// A deep link the partner asked for, if it is safe: an absolute http(s) URL, without
    /// credentials or control characters, on a host the campaign allows. Anything else —
    /// relative or protocol-relative URLs, other schemes in any case or encoding, tricks
    /// with `@`, backslashes or look-alike hosts — is refused, and the visitor goes to the
    /// campaign destination instead. Never an open redirect.
    pub fn deep_link(&self, requested: &str) -> Option<Url> {
        let text = requested.trim();
        if text.is_empty()
            || text.len() > 2_000
            || text.chars().any(|c| c.is_control() || c == '\\')
        {
            return None;
        }
        let url = Url::parse(text).ok()?;
        let safe = matches!(url.scheme(), "http" | "https")
            && url.username().is_empty()
            && url.password().is_none()
            && url.host_str().is_some_and(|h| self.allows_host(h));
        safe.then_some(url)
    }

    /// Where a click lands: the deep link if one is given and safe, else the destination.
    pub fn landing_url_for(
        &self,
        click_id: &str,
        deep_link: Option<&str>,
    ) -> Result<String, Invalid> {
        self.landing_url_with(click_id, deep_link, None)
    }

    /// [`Campaign::landing_url_for`] where a targeting rule may replace the destination
    /// (a safe deep link still wins: it is the partner's explicit choice of page).
    pub fn landing_url_with(
        &self,
        click_id: &str,
        deep_link: Option<&str>,
        rule_url: Option<&str>,
    ) -> Result<String, Invalid> {
        match (deep_link.and_then(|d| self.deep_link(d)), rule_url) {
            (Some(url), _) => Ok(with_click_id(url, click_id)),
            (None, Some(rule)) => Ok(with_click_id(parse_destination(rule)?, click_id)),
            (None, None) => self.landing_url(click_id),
        }
    }

    /// Whether a page on `origin` (a browser's `Origin` header) belongs to the campaign,
    /// so the click snippet there may read the click id it registers.
    pub fn allows_origin(&self, origin: &str) -> bool {
        Url::parse(origin).ok().is_some_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(|h| self.allows_host(h))
        })
    }

    /// The URL a click is sent to: the destination with `click_id` added to its query,
    /// keeping the destination's own parameters.
    pub fn landing_url(&self, click_id: &str) -> Result<String, Invalid> {
        let url = parse_destination(&self.destination_url)?;
        Ok(with_click_id(url, click_id))
    }
}

/// The placeholder a destination may put in a query value to say where the click id
/// goes (`?client_reference_id={click_id}` for a Stripe Payment Link).
pub const CLICK_ID_MACRO: &str = "{click_id}";

/// `url` with `click_id` in its query, its other parameters kept in order: in place of
/// each `{click_id}` placeholder if the destination has one, otherwise as `click_id`.
fn with_click_id(mut url: Url, click_id: &str) -> String {
    {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let placed = pairs.iter().any(|(_, v)| v == CLICK_ID_MACRO);
        let mut q = url.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            if v == CLICK_ID_MACRO {
                q.append_pair(k, click_id);
            } else if placed || k != "click_id" {
                q.append_pair(k, v);
            }
        }
        if !placed {
            q.append_pair("click_id", click_id);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign(dest: &str) -> Campaign {
        Campaign {
            id: "c1".into(),
            name: "Spring".into(),
            destination_url: dest.into(),
            allowed_domains: vec![],
            terms: Terms::default(),
            upline: None,
            targeting: Default::default(),
            attribution_window_days: DEFAULT_ATTRIBUTION_WINDOW_DAYS,
            status: CampaignStatus::Active,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn a_click_id_placeholder_takes_the_click_id_where_the_destination_wants_it() {
        let c = campaign(
            "https://buy.stripe.com/test_abc?client_reference_id={click_id}&prefilled_email=",
        );
        assert_eq!(
            c.landing_url("AbC-1_x").unwrap(),
            "https://buy.stripe.com/test_abc?client_reference_id=AbC-1_x&prefilled_email="
        );
    }

    #[test]
    fn landing_url_keeps_the_destinations_query_and_adds_the_click_id() {
        let c = campaign("https://shop.example.com/p?utm_source=partner&x=1#top");
        assert_eq!(
            c.landing_url("abc").unwrap(),
            "https://shop.example.com/p?utm_source=partner&x=1&click_id=abc#top"
        );
    }

    #[test]
    fn a_click_id_already_in_the_destination_is_replaced_not_doubled() {
        let c = campaign("https://shop.example.com/?click_id=old");
        assert_eq!(
            c.landing_url("new").unwrap(),
            "https://shop.example.com/?click_id=new"
        );
    }

    fn shop() -> Campaign {
        let mut c = campaign("https://shop.example.com/spring?utm_source=upline");
        c.allowed_domains = vec!["blog.example.com".into(), "example.net".into()];
        c
    }

    #[test]
    fn deep_links_to_allowed_hosts_keep_their_path_and_query() {
        let c = shop();
        for ok in [
            "https://shop.example.com/boots?size=42",
            "http://shop.example.com/",
            "https://SHOP.Example.COM/x",
            "https://blog.example.com/review",
            "https://eu.example.net/",
            "https://shop.example.com:8443/p",
        ] {
            assert!(c.deep_link(ok).is_some(), "{ok} refused");
        }
        assert_eq!(
            c.landing_url_for("abc", Some("https://shop.example.com/boots?size=42"))
                .unwrap(),
            "https://shop.example.com/boots?size=42&click_id=abc"
        );
    }

    #[test]
    fn hostile_deep_links_fall_back_to_the_destination() {
        let c = shop();
        let hostile = [
            "//evil.com",
            "//evil.com/shop.example.com",
            "/\\evil.com",
            "https://evil.com",
            "https://shop.example.com@evil.com",
            "https://shop.example.com:pw@evil.com/",
            "https://user@shop.example.com/",
            "https://evil.com/?u=https://shop.example.com",
            "https://evil.com#shop.example.com",
            "https://shop.example.com.evil.com/",
            "https://evilshop.example.com.co/",
            "https://notexample.net/",
            "https://evil.com\\@shop.example.com",
            "https:\\\\evil.com",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(document.cookie)",
            "%6A%61%76%61script:alert(1)",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            "vbscript:msgbox(1)",
            "ftp://shop.example.com/",
            "file:///etc/passwd",
            "https://shop.example.com\r\nLocation: https://evil.com",
            "https://evil.com\t.shop.example.com",
            "  https://evil.com  ",
            "https:evil.com",
            "https://[::1]/",
            "http://127.0.0.1/",
            "",
        ];
        assert!(hostile.len() >= 20);
        for url in hostile {
            assert!(c.deep_link(url).is_none(), "{url:?} was accepted");
            assert_eq!(
                c.landing_url_for("abc", Some(url)).unwrap(),
                "https://shop.example.com/spring?utm_source=upline&click_id=abc",
                "{url:?}"
            );
        }
    }

    #[test]
    fn destinations_must_be_http_urls_with_a_host() {
        assert!(parse_destination("javascript:alert(1)").is_err());
        assert!(parse_destination("/relative").is_err());
        assert!(parse_destination("ftp://x.com/").is_err());
        assert!(parse_destination("https://user:pw@x.com/").is_err());
        assert!(parse_destination("https://x.com/").is_ok());
    }

    #[test]
    fn allowed_domains_are_bare_hosts() {
        assert_eq!(
            parse_allowed_domain("Shop.Example.com.").unwrap(),
            "shop.example.com"
        );
        assert!(parse_allowed_domain("https://x.com").is_err());
        assert!(parse_allowed_domain("x..com").is_err());
    }
}
