//! A connected store: which platform sends its webhooks, which campaign its sales are
//! credited under, the secrets its deliveries are signed with (kept sealed), and the
//! platform's options. Parsed from the operator's request here, every field at once.

use serde::{Deserialize, Serialize};

use super::Platform;
use crate::clock::Timestamp;
use crate::error::{AppError, FieldErrors};
use crate::ids::{CampaignId, StoreId};

/// At most this many secrets are accepted at once: the current one and, during a
/// rotation, the one before it.
pub const MAX_SECRETS: usize = 2;

/// What a store's signing secrets are sealed as.
pub const SECRET_PURPOSE: &str = "store.webhook_secret";

/// A store as kept. `secrets` are sealed under the secrets key (HMAC schemes need the
/// secret itself, so it cannot be hashed); they are never shown again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedStore {
    pub id: StoreId,
    pub platform: Platform,
    pub campaign_id: CampaignId,
    pub secrets: Vec<String>,
    pub options: StoreOptions,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Which Shopify topic records the sale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderTopic {
    /// `orders/paid`: credited once the money is captured (the default).
    #[serde(rename = "orders/paid")]
    OrdersPaid,
    /// `orders/create`: credited when the order is placed, for shops that capture later.
    #[serde(rename = "orders/create")]
    OrdersCreate,
}

/// What a sale's amount is taken to be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmountBasis {
    /// The items after discounts, without tax and shipping (the default).
    #[default]
    Subtotal,
    /// What the customer paid, tax and shipping included.
    Total,
}

/// Which of a Stripe account's modes a store takes events from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StripeMode {
    #[default]
    Live,
    Test,
}

/// The platform's options. Each applies to the platforms named; the others leave it
/// unset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreOptions {
    /// Shopify: the shop's `*.myshopify.com` domain, which every delivery must name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_domain: Option<String>,
    /// Shopify: which topic records the sale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_topic: Option<OrderTopic>,
    /// Shopify: test orders are ignored unless this is set.
    #[serde(default)]
    pub include_test_orders: bool,
    /// Every platform: what a sale's amount is taken to be.
    #[serde(default)]
    pub amount_basis: AmountBasis,
    /// WooCommerce: the order statuses that mean paid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paid_statuses: Vec<String>,
    /// Stripe: live or test events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<StripeMode>,
}

impl StoreOptions {
    pub fn order_topic(&self) -> OrderTopic {
        self.order_topic.unwrap_or(OrderTopic::OrdersPaid)
    }

    /// The WooCommerce statuses that mean paid: `processing` and `completed` unless set.
    pub fn paid_statuses(&self) -> Vec<String> {
        if self.paid_statuses.is_empty() {
            vec!["processing".into(), "completed".into()]
        } else {
            self.paid_statuses.clone()
        }
    }

    pub fn stripe_mode(&self) -> StripeMode {
        self.mode.unwrap_or_default()
    }
}

/// The operator's request to connect or change a store (`PUT /v1/admin/stores/{id}`).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreRequest {
    pub platform: Option<String>,
    pub campaign_id: Option<String>,
    /// Replaces the secrets: one, or two while a rotation is under way.
    #[serde(default, deserialize_with = "secret_list")]
    pub secrets: Option<Vec<String>>,
    /// Starts a rotation: this secret is checked first, the newest one before it still
    /// accepted (without having to send it again).
    #[serde(default, deserialize_with = "secret_text")]
    pub add_secret: Option<String>,
    pub shop_domain: Option<String>,
    pub order_topic: Option<String>,
    pub include_test_orders: Option<bool>,
    pub amount_basis: Option<String>,
    pub paid_statuses: Option<Vec<String>>,
    pub mode: Option<String>,
}

// A request's secrets never appear in debug output or in an error about their shape
// (serde's own messages quote the value).
impl std::fmt::Debug for StoreRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreRequest")
            .field("platform", &self.platform)
            .field("campaign_id", &self.campaign_id)
            .field("secrets", &self.secrets.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

fn secret_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                _ => Err(serde::de::Error::custom("must be a list of strings")),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        _ => Err(serde::de::Error::custom(
            "must be a list of strings (one, or two while rotating)",
        )),
    }
}

fn secret_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s)),
        _ => Err(serde::de::Error::custom("must be a string")),
    }
}

/// A store request once read: the plain secrets still to be sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSpec {
    pub platform: Platform,
    pub campaign_id: CampaignId,
    pub secrets: SecretsChange,
    pub options: StoreOptions,
}

/// What a request does to a store's secrets.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretsChange {
    /// Keep the ones stored (a change of options only).
    Keep,
    Replace(Vec<String>),
    /// Put this one first and keep the newest stored one after it.
    Add(String),
}

// Secrets never appear in debug output.
impl std::fmt::Debug for SecretsChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretsChange::Keep => f.write_str("Keep"),
            SecretsChange::Replace(s) => write!(f, "Replace({} secrets)", s.len()),
            SecretsChange::Add(_) => f.write_str("Add(…)"),
        }
    }
}

impl Platform {
    pub fn parse(text: &str) -> Result<Platform, String> {
        match text.trim() {
            "shopify" => Ok(Platform::Shopify),
            "woocommerce" => Ok(Platform::Woocommerce),
            "stripe" => Ok(Platform::Stripe),
            "paddle" => Ok(Platform::Paddle),
            other => Err(format!(
                "must be shopify, woocommerce, stripe or paddle, got {other:?}"
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Platform::Shopify => "shopify",
            Platform::Woocommerce => "woocommerce",
            Platform::Stripe => "stripe",
            Platform::Paddle => "paddle",
        }
    }
}

/// A store id from a path: lower-case letters, digits, `-` and `_`.
pub fn parse_store_id(text: &str) -> Result<StoreId, AppError> {
    crate::usecases::admin::parse_slug("id", text).map(StoreId::new)
}

impl StoreRequest {
    /// Every field checked at once. `existing` is the store being changed, if any: a
    /// change keeps whatever it leaves out (secrets included); a new store needs them.
    /// `campaigns` are the program's campaigns, one of which the store must credit.
    pub fn parse(
        self,
        existing: Option<&ConnectedStore>,
        campaigns: &[CampaignId],
    ) -> Result<StoreSpec, AppError> {
        let mut errors = FieldErrors::default();
        let platform = match (self.platform, existing) {
            (Some(p), _) => errors.take("platform", Platform::parse(&p)),
            (None, Some(e)) => Some(e.platform),
            (None, None) => {
                errors.push(
                    "platform",
                    "is required: shopify, woocommerce, stripe or paddle",
                );
                None
            }
        };
        let campaign_id = match (self.campaign_id, existing) {
            // Refunds find earlier orders under the store's campaign.
            (Some(c), Some(e)) if c.trim() != e.campaign_id.as_str() => {
                errors.push(
                    "campaign_id",
                    format!(
                        "a connected store keeps its campaign ({}); connect another store for another campaign",
                        e.campaign_id
                    ),
                );
                None
            }
            (Some(c), _) => errors.take(
                "campaign_id",
                match crate::usecases::admin::parse_slug("campaign_id", c.trim()) {
                    Err(_) => Err("must be a campaign id (a-z, 0-9, - and _)".to_string()),
                    Ok(id) if !campaigns.iter().any(|k| *k == id) => {
                        Err(format!("names campaign {id}, which does not exist"))
                    }
                    Ok(id) => Ok(CampaignId::new(id)),
                },
            ),
            (None, Some(e)) => Some(e.campaign_id.clone()),
            (None, None) => {
                errors.push(
                    "campaign_id",
                    "is required: the campaign its sales are credited under",
                );
                None
            }
        };
        let secrets = parse_secrets(self.secrets, self.add_secret, existing, &mut errors);
        // A change starts from the store's options, on the same platform.
        let mut options = match existing {
            Some(e) if platform == Some(e.platform) => e.options.clone(),
            _ => StoreOptions::default(),
        };
        if let Some(include) = self.include_test_orders {
            options.include_test_orders = include;
        }
        let basis = self.amount_basis.map(|b| match b.trim() {
            "subtotal" => Ok(AmountBasis::Subtotal),
            "total" => Ok(AmountBasis::Total),
            other => Err(format!("must be subtotal or total, got {other:?}")),
        });
        if let Some(b) = basis.and_then(|b| errors.take("amount_basis", b)) {
            options.amount_basis = b;
        }
        // Options of one platform are refused on another, so a typo is not silently
        // ignored.
        let only = |errors: &mut FieldErrors, field: &str, on: Platform, given: bool| {
            if given && platform.is_some_and(|p| p != on) {
                errors.push(field, format!("applies only to {} stores", on.as_str()));
                false
            } else {
                given
            }
        };
        if only(
            &mut errors,
            "shop_domain",
            Platform::Shopify,
            self.shop_domain.is_some(),
        ) {
            options.shop_domain = self
                .shop_domain
                .and_then(|d| errors.take("shop_domain", parse_shop_domain(&d)));
        }
        if platform == Some(Platform::Shopify)
            && options.shop_domain.is_none()
            && !errors.fields().any(|f| f == "shop_domain")
        {
            errors.push(
                "shop_domain",
                "is required for Shopify: the shop's *.myshopify.com domain",
            );
        }
        if only(
            &mut errors,
            "order_topic",
            Platform::Shopify,
            self.order_topic.is_some(),
        ) {
            options.order_topic = self.order_topic.and_then(|t| {
                errors.take(
                    "order_topic",
                    match t.trim() {
                        "orders/paid" => Ok(OrderTopic::OrdersPaid),
                        "orders/create" => Ok(OrderTopic::OrdersCreate),
                        other => Err(format!(
                            "must be orders/paid or orders/create, got {other:?}"
                        )),
                    },
                )
            });
        }
        only(
            &mut errors,
            "include_test_orders",
            Platform::Shopify,
            self.include_test_orders.is_some(),
        );
        if only(
            &mut errors,
            "paid_statuses",
            Platform::Woocommerce,
            self.paid_statuses.is_some(),
        ) {
            let statuses = self.paid_statuses.unwrap_or_default();
            for (i, s) in statuses.iter().enumerate() {
                let ok = !s.is_empty()
                    && s.len() <= 40
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_');
                if !ok {
                    errors.push(
                        &format!("paid_statuses[{i}]"),
                        "must be a WooCommerce status slug such as processing or completed",
                    );
                }
            }
            if statuses.is_empty() {
                errors.push("paid_statuses", "must name at least one status");
            }
            options.paid_statuses = statuses;
        }
        if only(&mut errors, "mode", Platform::Stripe, self.mode.is_some()) {
            options.mode = self.mode.and_then(|m| {
                errors.take(
                    "mode",
                    match m.trim() {
                        "live" => Ok(StripeMode::Live),
                        "test" => Ok(StripeMode::Test),
                        other => Err(format!("must be live or test, got {other:?}")),
                    },
                )
            });
        }
        let (platform, campaign_id, secrets) = errors.finish((platform, campaign_id, secrets))?;
        Ok(StoreSpec {
            platform,
            campaign_id,
            secrets,
            options,
        })
    }
}

fn parse_secrets(
    secrets: Option<Vec<String>>,
    add: Option<String>,
    existing: Option<&ConnectedStore>,
    errors: &mut FieldErrors,
) -> Option<SecretsChange> {
    let check = |field: &str, s: &str, errors: &mut FieldErrors| -> Option<String> {
        let s = s.trim();
        let ok = (16..=256).contains(&s.len()) && s.chars().all(|c| c.is_ascii_graphic());
        if ok {
            Some(s.to_string())
        } else {
            errors.push(
                field,
                "must be the platform's signing secret: 16 to 256 printable characters without spaces",
            );
            None
        }
    };
    match (secrets, add) {
        (Some(_), Some(_)) => {
            errors.push("add_secret", "give either secrets or add_secret, not both");
            None
        }
        (Some(list), None) => {
            if list.is_empty() || list.len() > MAX_SECRETS {
                errors.push(
                    "secrets",
                    format!("must hold 1 to {MAX_SECRETS} secrets (two while rotating)"),
                );
                return None;
            }
            let checked: Vec<Option<String>> = list
                .iter()
                .enumerate()
                .map(|(i, s)| check(&format!("secrets[{i}]"), s, errors))
                .collect();
            checked
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(SecretsChange::Replace)
        }
        (None, Some(s)) => {
            if existing.is_none() {
                errors.push(
                    "add_secret",
                    "is for rotating a connected store's secret; a new store takes secrets",
                );
                return None;
            }
            check("add_secret", &s, errors).map(SecretsChange::Add)
        }
        (None, None) if existing.is_some() => Some(SecretsChange::Keep),
        (None, None) => {
            errors.push(
                "secrets",
                "is required: the signing secret the platform shows for this webhook",
            );
            None
        }
    }
}

/// A Shopify shop's own domain, `name.myshopify.com`, as the platform sends it.
fn parse_shop_domain(text: &str) -> Result<String, String> {
    let d = text.trim().to_ascii_lowercase();
    let name = d.strip_suffix(".myshopify.com").unwrap_or("");
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(d)
    } else {
        Err(format!(
            "must be the shop's myshopify.com domain (e.g. acme.myshopify.com), got {text:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: serde_json::Value) -> StoreRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_shopify_store_needs_its_shop_domain_and_a_secret() {
        let err = req(serde_json::json!({"platform": "shopify", "campaign_id": "shop"}))
            .parse(None, &[CampaignId::new("shop")])
            .unwrap_err();
        let AppError::Invalid(fields) = err else {
            panic!("{err:?}")
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["secrets", "shop_domain"], "{fields:?}");
    }

    #[test]
    fn options_of_another_platform_are_refused_by_name() {
        let err = req(serde_json::json!({
            "platform": "stripe", "campaign_id": "saas", "secrets": ["whsec_0123456789abcdef"],
            "shop_domain": "acme.myshopify.com", "paid_statuses": ["completed"]
        }))
        .parse(None, &[])
        .unwrap_err();
        let AppError::Invalid(fields) = err else {
            panic!("{err:?}")
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            ["campaign_id", "shop_domain", "paid_statuses"],
            "{fields:?}"
        );
    }

    #[test]
    fn a_change_keeps_the_secrets_and_a_rotation_adds_one() {
        let existing = ConnectedStore {
            id: StoreId::new("shop"),
            platform: Platform::Woocommerce,
            campaign_id: CampaignId::new("shop"),
            secrets: vec!["sealed".into()],
            options: StoreOptions::default(),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        };
        let spec = req(serde_json::json!({"paid_statuses": ["completed"]}))
            .parse(Some(&existing), &[])
            .unwrap();
        assert_eq!(spec.secrets, SecretsChange::Keep);
        assert_eq!(spec.options.paid_statuses(), ["completed"]);
        let spec = req(serde_json::json!({"add_secret": "a-brand-new-secret-42"}))
            .parse(Some(&existing), &[])
            .unwrap();
        assert_eq!(
            spec.options.paid_statuses,
            Vec::<String>::new(),
            "kept as stored"
        );
        assert_eq!(
            spec.secrets,
            SecretsChange::Add("a-brand-new-secret-42".into())
        );
        assert!(
            req(serde_json::json!({"secrets": ["one-secret-of-16+", "two-secret-of-16+", "three-secret-of-16"]}))
                .parse(Some(&existing), &[])
                .is_err()
        );
    }
}
