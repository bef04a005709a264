//! Campaigns: what partners promote (a destination the traffic lands on, the domains deep
//! links may point to) and the terms partners earn on it.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::clock::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    /// Where a tracking link sends visitors; the click id is appended to its query.
    pub destination_url: String,
    /// Hosts (besides the destination's own) that deep links may point to.
    pub allowed_domains: Vec<String>,
    pub terms: Terms,
    /// This campaign's own upline plan, in place of the program's.
    #[serde(default)]
    pub upline: Option<crate::program::UplinePlan>,
    pub status: CampaignStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Active,
    Paused,
}

pub use crate::terms::Terms;

/// Checks that a destination is an absolute http(s) URL with a host.
pub fn parse_destination(text: &str) -> Result<Url, String> {
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
pub fn parse_allowed_domain(text: &str) -> Result<String, String> {
    let host = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if ok {
        Ok(host)
    } else {
        Err(format!(
            "{text:?} is not a host name such as shop.example.com"
        ))
    }
}

impl Campaign {
    /// The URL a click is sent to: the destination with `click_id` added to its query,
    /// keeping the destination's own parameters.
    pub fn landing_url(&self, click_id: &str) -> Result<String, String> {
        let mut url = parse_destination(&self.destination_url)?;
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "click_id")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut q = url.query_pairs_mut();
            q.clear();
            for (k, v) in &kept {
                q.append_pair(k, v);
            }
            q.append_pair("click_id", click_id);
        }
        Ok(url.to_string())
    }
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
            status: CampaignStatus::Active,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
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
