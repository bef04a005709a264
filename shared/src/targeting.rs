//! Campaign targeting: which visitors a campaign accepts (countries, device types,
//! operating systems), where the others go (the fallback URL, counted as rejected with the
//! reason), and per-audience destinations chosen by the first matching rule.

use crate::error::Invalid;
use serde::{Deserialize, Serialize};

use crate::campaign::parse_destination;
use crate::visitor::{Device, Os, Visitor};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targeting {
    /// ISO 3166 alpha-2 codes the campaign accepts; empty accepts every country.
    #[serde(default)]
    pub countries: Vec<String>,
    /// Device types the campaign accepts; empty accepts every device.
    #[serde(default)]
    pub devices: Vec<Device>,
    /// Operating systems the campaign accepts; empty accepts every OS.
    #[serde(default)]
    pub os: Vec<Os>,
    /// Where rejected visitors go. Required once anything is restricted, so a rejected
    /// visitor never lands on the offer untracked.
    #[serde(default)]
    pub fallback_url: Option<String>,
    /// Destinations by audience, tried in order; a rule without conditions matches all.
    #[serde(default)]
    pub rules: Vec<TargetRule>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRule {
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub devices: Vec<Device>,
    #[serde(default)]
    pub os: Vec<Os>,
    pub url: String,
}

/// Why a visitor was turned away; each has its own counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    Country,
    Device,
    Os,
}

impl RejectReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            RejectReason::Country => "country",
            RejectReason::Device => "device",
            RejectReason::Os => "os",
        }
    }
}

/// What targeting decided for one visitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send the visitor on, to the matching rule's URL if one matched.
    Accept { rule_url: Option<String> },
    /// Send the visitor to the fallback, uncredited.
    Reject {
        reason: RejectReason,
        fallback_url: String,
    },
}

fn accepts<T: PartialEq>(allowed: &[T], value: Option<&T>) -> bool {
    allowed.is_empty() || value.is_some_and(|v| allowed.contains(v))
}

impl TargetRule {
    fn matches(&self, v: &Visitor) -> bool {
        accepts(&self.countries, v.country.as_ref())
            && accepts(&self.devices, Some(&v.device))
            && accepts(&self.os, Some(&v.os))
    }
}

impl Targeting {
    pub fn is_restricted(&self) -> bool {
        !(self.countries.is_empty() && self.devices.is_empty() && self.os.is_empty())
    }

    /// Checks restrictions in a fixed order (country, device, OS) so the reason is stable,
    /// then picks the first matching rule. A visitor whose country is unknown does not
    /// match a country restriction.
    pub fn decide(&self, v: &Visitor) -> Decision {
        let reject = |reason| Decision::Reject {
            reason,
            fallback_url: self.fallback_url.clone().unwrap_or_default(),
        };
        if !accepts(&self.countries, v.country.as_ref()) {
            return reject(RejectReason::Country);
        }
        if !accepts(&self.devices, Some(&v.device)) {
            return reject(RejectReason::Device);
        }
        if !accepts(&self.os, Some(&v.os)) {
            return reject(RejectReason::Os);
        }
        Decision::Accept {
            rule_url: self
                .rules
                .iter()
                .find(|r| r.matches(v))
                .map(|r| r.url.clone()),
        }
    }
}

/// Normalises a country code: two ASCII letters, upper case.
pub fn parse_country(text: &str) -> Result<String, Invalid> {
    let c = text.trim().to_ascii_uppercase();
    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(c)
    } else {
        Err(Invalid(format!(
            "{text:?} is not a two-letter country code such as DE"
        )))
    }
}

/// Targeting as an operator sends it, with device and OS names as text.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetingRequest {
    pub countries: Option<Vec<String>>,
    pub devices: Option<Vec<String>>,
    pub os: Option<Vec<String>>,
    pub fallback_url: Option<String>,
    pub rules: Option<Vec<TargetRuleRequest>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetRuleRequest {
    pub countries: Option<Vec<String>>,
    pub devices: Option<Vec<String>>,
    pub os: Option<Vec<String>>,
    pub url: Option<String>,
}

type Audience = (Vec<String>, Vec<Device>, Vec<Os>);

fn parse_audience(
    prefix: &str,
    countries: Option<Vec<String>>,
    devices: Option<Vec<String>>,
    os: Option<Vec<String>>,
    errors: &mut crate::error::FieldErrors,
) -> Audience {
    let mut out: Audience = (vec![], vec![], vec![]);
    for (i, c) in countries.unwrap_or_default().iter().enumerate() {
        if let Some(c) = errors.take(&format!("{prefix}countries[{i}]"), parse_country(c)) {
            out.0.push(c);
        }
    }
    for (i, d) in devices.unwrap_or_default().iter().enumerate() {
        if let Some(d) = errors.take(&format!("{prefix}devices[{i}]"), Device::parse(d)) {
            out.1.push(d);
        }
    }
    for (i, o) in os.unwrap_or_default().iter().enumerate() {
        if let Some(o) = errors.take(&format!("{prefix}os[{i}]"), Os::parse(o)) {
            out.2.push(o);
        }
    }
    out
}

/// Validates targeting, naming each bad field under `targeting.`.
pub fn parse_targeting(req: TargetingRequest, errors: &mut crate::error::FieldErrors) -> Targeting {
    let (countries, devices, os) =
        parse_audience("targeting.", req.countries, req.devices, req.os, errors);
    let fallback_url = req.fallback_url.and_then(|u| {
        errors
            .take("targeting.fallback_url", parse_destination(&u))
            .map(|u| u.to_string())
    });
    let mut rules = Vec::new();
    for (i, r) in req.rules.unwrap_or_default().into_iter().enumerate() {
        let prefix = format!("targeting.rules[{i}].");
        let (countries, devices, os) =
            parse_audience(&prefix, r.countries, r.devices, r.os, errors);
        let url = errors
            .required(&format!("{prefix}url"), r.url)
            .and_then(|u| errors.take(&format!("{prefix}url"), parse_destination(&u)));
        if let Some(url) = url {
            rules.push(TargetRule {
                countries,
                devices,
                os,
                url: url.to_string(),
            });
        }
    }
    let targeting = Targeting {
        countries,
        devices,
        os,
        fallback_url,
        rules,
    };
    if targeting.is_restricted() && targeting.fallback_url.is_none() {
        errors.push(
            "targeting.fallback_url",
            "is required when countries, devices or os restrict the campaign: rejected visitors go there",
        );
    }
    targeting
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visitor(country: Option<&str>, device: Device, os: Os) -> Visitor {
        Visitor {
            country: country.map(str::to_string),
            device,
            os,
            bot: None,
        }
    }

    fn rule(countries: &[&str], url: &str) -> TargetRule {
        TargetRule {
            countries: countries.iter().map(|c| c.to_string()).collect(),
            url: url.into(),
            ..TargetRule::default()
        }
    }

    #[test]
    fn restrictions_reject_with_the_first_failing_reason() {
        let t = Targeting {
            countries: vec!["DE".into(), "AT".into()],
            devices: vec![Device::Mobile],
            os: vec![Os::Ios],
            fallback_url: Some("https://fallback.example.com/".into()),
            rules: vec![],
        };
        let cases = [
            (visitor(Some("DE"), Device::Mobile, Os::Ios), None),
            (
                visitor(Some("FR"), Device::Mobile, Os::Ios),
                Some(RejectReason::Country),
            ),
            (
                visitor(None, Device::Mobile, Os::Ios),
                Some(RejectReason::Country),
            ),
            (
                visitor(Some("AT"), Device::Desktop, Os::Ios),
                Some(RejectReason::Device),
            ),
            (
                visitor(Some("AT"), Device::Mobile, Os::Android),
                Some(RejectReason::Os),
            ),
        ];
        for (v, expected) in cases {
            let got = match t.decide(&v) {
                Decision::Accept { .. } => None,
                Decision::Reject {
                    reason,
                    fallback_url,
                } => {
                    assert_eq!(fallback_url, "https://fallback.example.com/");
                    Some(reason)
                }
            };
            assert_eq!(got, expected, "{v:?}");
        }
    }

    #[test]
    fn rules_are_tried_in_order_and_a_rule_without_conditions_catches_all() {
        let t = Targeting {
            rules: vec![
                rule(&["DE", "AT"], "https://shop.example.de/"),
                TargetRule {
                    devices: vec![Device::Mobile],
                    url: "https://m.example.com/".into(),
                    ..TargetRule::default()
                },
                rule(&[], "https://intl.example.com/"),
            ],
            ..Targeting::default()
        };
        let url = |v: Visitor| match t.decide(&v) {
            Decision::Accept { rule_url } => rule_url,
            Decision::Reject { .. } => panic!("rejected"),
        };
        assert_eq!(
            url(visitor(Some("AT"), Device::Mobile, Os::Ios)).as_deref(),
            Some("https://shop.example.de/")
        );
        assert_eq!(
            url(visitor(Some("US"), Device::Mobile, Os::Ios)).as_deref(),
            Some("https://m.example.com/")
        );
        assert_eq!(
            url(visitor(None, Device::Desktop, Os::Linux)).as_deref(),
            Some("https://intl.example.com/")
        );
        let without_catch_all = Targeting {
            rules: vec![rule(&["DE"], "https://shop.example.de/")],
            ..Targeting::default()
        };
        assert_eq!(
            without_catch_all.decide(&visitor(Some("US"), Device::Desktop, Os::Linux)),
            Decision::Accept { rule_url: None }
        );
    }

    #[test]
    fn bad_targeting_names_every_field() {
        let mut errors = crate::error::FieldErrors::default();
        parse_targeting(
            TargetingRequest {
                countries: Some(vec!["Germany".into()]),
                devices: Some(vec!["phone".into()]),
                os: Some(vec!["ios".into()]),
                fallback_url: None,
                rules: Some(vec![TargetRuleRequest {
                    url: Some("javascript:alert(1)".into()),
                    ..TargetRuleRequest::default()
                }]),
            },
            &mut errors,
        );
        let fields: Vec<String> = errors.fields().map(str::to_string).collect();
        assert_eq!(
            fields,
            [
                "targeting.countries[0]",
                "targeting.devices[0]",
                "targeting.rules[0].url",
                "targeting.fallback_url"
            ]
        );
    }
}
