//! A partner's tracking link as they share it: the link itself, or a deep link to one
//! page of the shop, with their own sub-ids. The redirect drops an unsafe deep link or a
//! bad sub-id silently (a visitor must never see an error); here, where the partner
//! builds the link, each is refused with its reason, by the same rules.

use std::collections::BTreeMap;

use crate::campaign::Campaign;
use crate::error::{AppError, FieldErrors};
use crate::tracking::{Link, SUB_IDS, parse_subs};

/// What a partner asks for: a page of the shop (`url`) and sub-id values, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkRecipe {
    pub url: Option<String>,
    pub subs: BTreeMap<String, String>,
}

impl LinkRecipe {
    /// The recipe in a query or a form: `url` and `sub1` … `sub5`, blanks ignored.
    pub fn from_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut recipe = LinkRecipe::default();
        for (name, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            if name == "url" {
                recipe.url = Some(value.to_string());
            } else if SUB_IDS.contains(&name) {
                recipe.subs.insert(name.to_string(), value.to_string());
            }
        }
        recipe
    }

    pub fn is_empty(&self) -> bool {
        self.url.is_none() && self.subs.is_empty()
    }
}

/// The shareable URL of `link` with `recipe` applied, or every field error: a deep link
/// the campaign does not allow, a sub-id value the redirect would drop.
pub fn build_link(
    base_url: &str,
    link: &Link,
    campaign: &Campaign,
    recipe: &LinkRecipe,
) -> Result<String, AppError> {
    let mut errors = FieldErrors::default();
    let deep = recipe.url.as_deref().and_then(|wanted| {
        let safe = campaign.deep_link(wanted);
        if safe.is_none() {
            let mut hosts = vec![
                url::Url::parse(&campaign.destination_url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_default(),
            ];
            hosts.extend(campaign.allowed_domains.iter().cloned());
            errors.push(
                "url",
                format!(
                    "must be an http or https address on {} (or a subdomain of one)",
                    hosts.join(", ")
                ),
            );
        }
        safe
    });
    let kept = parse_subs(recipe.subs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for name in recipe.subs.keys() {
        if !kept.contains_key(name) {
            errors.push(name, "must be at most 100 characters, without line breaks");
        }
    }
    errors.into_result()?;
    let mut url = url::Url::parse(&crate::public_urls::link_url(base_url, &link.code))
        .map_err(|e| AppError::Internal(format!("the link URL does not parse: {e}").into()))?;
    {
        let mut query = url.query_pairs_mut();
        if let Some(deep) = &deep {
            query.append_pair("url", deep.as_str());
        }
        for (name, value) in &kept {
            query.append_pair(name, value);
        }
    }
    let mut text = url.to_string();
    if text.ends_with('?') {
        text.pop();
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::CampaignStatus;
    use crate::clock::Timestamp;

    fn campaign() -> Campaign {
        Campaign {
            id: "spring".into(),
            name: "Spring".into(),
            destination_url: "https://shop.example.com/spring".into(),
            allowed_domains: vec!["example.net".into()],
            terms: Default::default(),
            upline: None,
            targeting: Default::default(),
            attribution_window_days: 30,
            status: CampaignStatus::Active,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn link() -> Link {
        Link {
            code: "k8s2m4xq".into(),
            partner_id: "p-ada".into(),
            campaign_id: "spring".into(),
            created_at: Timestamp(0),
        }
    }

    fn recipe(pairs: &[(&str, &str)]) -> LinkRecipe {
        LinkRecipe::from_pairs(pairs.iter().copied())
    }

    const BASE: &str = "https://go.example.com";

    #[test]
    fn a_plain_link_is_the_link() {
        let url = build_link(BASE, &link(), &campaign(), &recipe(&[("url", " ")])).unwrap();
        assert_eq!(url, "https://go.example.com/r/k8s2m4xq");
    }

    #[test]
    fn deep_links_and_sub_ids_are_encoded_into_the_query() {
        let url = build_link(
            BASE,
            &link(),
            &campaign(),
            &recipe(&[
                ("url", "https://eu.example.net/boots?size=42&c=red"),
                ("sub2", "news letter"),
                ("sub1", "fb"),
                ("other", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(
            url,
            "https://go.example.com/r/k8s2m4xq?url=https%3A%2F%2Feu.example.net%2Fboots%3Fsize%3D42%26c%3Dred&sub1=fb&sub2=news+letter"
        );
        // The redirect reads back exactly what was asked for.
        let parsed = url::Url::parse(&url).unwrap();
        let pairs: BTreeMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(pairs["url"], "https://eu.example.net/boots?size=42&c=red");
        assert_eq!(pairs["sub2"], "news letter");
    }

    #[test]
    fn what_the_redirect_would_drop_is_refused_with_its_reason() {
        let long = "x".repeat(101);
        let e = build_link(
            BASE,
            &link(),
            &campaign(),
            &recipe(&[
                ("url", "https://shop.example.com.evil.com/"),
                ("sub1", &long),
                ("sub3", "ok"),
            ]),
        )
        .unwrap_err();
        let AppError::Invalid(errors) = e else {
            panic!("{e:?}")
        };
        let named: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["url", "sub1"]);
        assert!(errors[0].message.contains("shop.example.com, example.net"));
        for unsafe_url in ["javascript:alert(1)", "//evil.com", "https://a@evil.com"] {
            let r = build_link(BASE, &link(), &campaign(), &recipe(&[("url", unsafe_url)]));
            assert!(r.is_err(), "{unsafe_url}");
        }
    }
}
