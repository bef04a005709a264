//! Storefront postbacks: a sale (or other event) reported server to server becomes a
//! conversion, stored exactly once per campaign and order id, then handed to the payout
//! stage. The answer is 2xx only once the conversion is durably stored.

use serde::{Deserialize, Serialize};

use crate::click_id::{self, ClickIdError};
use crate::clock::Timestamp;
use crate::commission::LineItem;
use crate::error::{AppError, FieldErrors};
use crate::messages::Message;
use crate::money::{Currency, ExchangeRate, MAX_AMOUNT_MINOR, Money, format_minor};
use crate::ports::TxOp;
use crate::ports::{Condition, QueueName, TableError};
use crate::program::AttributionPriority;
use crate::services::Services;
use crate::store::{Store, keys};
use crate::store::{decode, encode};
use crate::tracking::{
    Attribution, AttributionMethod, Conversion, ConversionStatus, Link, OriginalAmount,
    Subscription, SubscriptionPayment, months_between, parse_event, parse_order_id,
};
use crate::usecases::admin::require_program;
use crate::usecases::input::{DecimalText, IdText};
use crate::usecases::promo_codes::{self, PromoCode};

/// Unknown fields are ignored: storefronts send what their platform sends.
#[derive(Debug, Deserialize, Default)]
pub struct PostbackRequest {
    pub click_id: Option<String>,
    pub order_id: Option<IdText>,
    /// The gross order amount.
    pub amount: Option<DecimalText>,
    pub currency: Option<String>,
    pub event: Option<String>,
    pub discount: Option<DecimalText>,
    pub tax: Option<DecimalText>,
    pub shipping: Option<DecimalText>,
    pub line_items: Option<Vec<LineItemRequest>>,
    /// The storefront's customer id: makes first-time-customer rules work.
    pub customer_id: Option<IdText>,
    /// Overrides what Upline knows of the customer.
    pub new_customer: Option<bool>,
    /// The storefront's subscription id: the first payment starts the subscription, and
    /// later ones are renewals, attributed to the same partner without a click id.
    pub subscription_id: Option<IdText>,
    /// A promo code used at checkout: credits the partner it is assigned to.
    pub promo_code: Option<IdText>,
}

#[derive(Debug, Deserialize)]
pub struct LineItemRequest {
    pub sku: Option<IdText>,
    pub category: Option<String>,
    pub quantity: Option<IdText>,
    pub unit_price: Option<DecimalText>,
}

/// Most line items one postback may carry.
pub const MAX_LINE_ITEMS: usize = 100;

fn parse_items(
    items: Vec<LineItemRequest>,
    currency: Currency,
    errors: &mut FieldErrors,
) -> Vec<LineItem> {
    if items.len() > MAX_LINE_ITEMS {
        errors.push(
            "line_items",
            format!("at most {MAX_LINE_ITEMS} items per postback"),
        );
        return vec![];
    }
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let f = |name: &str| format!("line_items[{i}].{name}");
        let sku = errors.required(&f("sku"), item.sku).and_then(|s| {
            let s = s.0.trim().to_string();
            let ok = !s.is_empty() && s.len() <= 64 && !s.chars().any(char::is_control);
            errors.take(
                &f("sku"),
                if ok {
                    Ok(s)
                } else {
                    Err("must be 1 to 64 printable characters")
                },
            )
        });
        let quantity = errors
            .required(&f("quantity"), item.quantity)
            .and_then(|q| {
                let n =
                    q.0.parse::<i64>()
                        .ok()
                        .filter(|n| (1..=1_000_000).contains(n));
                errors.take(
                    &f("quantity"),
                    n.ok_or("must be a whole number from 1 to 1000000"),
                )
            });
        let unit_price = errors
            .required(&f("unit_price"), item.unit_price)
            .and_then(|p| {
                let m = errors.take(&f("unit_price"), Money::parse(&p.0, currency))?;
                errors.take(
                    &f("unit_price"),
                    if m.is_negative() {
                        Err("must not be negative")
                    } else {
                        Ok(m.minor())
                    },
                )
            });
        let category = item
            .category
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty());
        if let (Some(sku), Some(quantity), Some(unit_price_minor)) = (sku, quantity, unit_price) {
            if quantity
                .checked_mul(unit_price_minor)
                .is_none_or(|t| t > MAX_AMOUNT_MINOR)
            {
                errors.push(
                    &f("quantity"),
                    format!(
                        "quantity × unit_price exceeds the largest amount, {}",
                        Money::from_minor(MAX_AMOUNT_MINOR, currency)
                    ),
                );
                continue;
            }
            out.push(LineItem {
                sku,
                category,
                quantity,
                unit_price_minor,
            });
        }
    }
    out
}

/// The items' total must stay within the largest amount too (checked again after an
/// exchange rate applies, since a rate above 1 grows it).
fn check_items_total(items: &[LineItem], currency: Currency, errors: &mut FieldErrors) {
    let total = items.iter().try_fold(0i64, |sum, i| {
        sum.checked_add(i.quantity.checked_mul(i.unit_price_minor)?)
    });
    if total.is_none_or(|t| t > MAX_AMOUNT_MINOR) {
        errors.push(
            "line_items",
            format!(
                "the items add up to more than the largest amount, {}",
                Money::from_minor(MAX_AMOUNT_MINOR, currency)
            ),
        );
    }
}

/// An amount in the program's currency: converted at `rate` when the sale came in another
/// one, refused (naming `field`) when the result would pass the largest amount.
fn in_program_currency(
    rate: Option<ExchangeRate>,
    field: &str,
    minor: i64,
    errors: &mut FieldErrors,
) -> i64 {
    let Some(rate) = rate else {
        return minor;
    };
    rate.convert(minor).unwrap_or_else(|| {
        errors.push(
            field,
            format!(
                "converted to {} at {} it exceeds the largest amount, {}",
                rate.to,
                rate.rate.normalize(),
                Money::from_minor(MAX_AMOUNT_MINOR, rate.to)
            ),
        );
        0
    })
}

/// An optional non-negative adjustment in the postback's currency.
fn adjustment(
    errors: &mut FieldErrors,
    field: &str,
    text: Option<DecimalText>,
    currency: Option<Currency>,
) -> i64 {
    let (Some(t), Some(c)) = (text, currency) else {
        return 0;
    };
    match errors.take(field, Money::parse(&t.0, c)) {
        Some(m) if m.is_negative() => {
            errors.push(field, "must not be negative");
            0
        }
        Some(m) => m.minor(),
        None => 0,
    }
}

#[derive(Debug)]
pub struct PostbackOutcome {
    pub conversion: Conversion,
    /// False when this postback repeated one already recorded.
    pub created: bool,
}

#[derive(Debug, Serialize)]
pub struct ConversionView {
    pub id: String,
    pub campaign_id: String,
    pub order_id: String,
    pub partner_id: String,
    pub link_code: Option<String>,
    pub click_id: Option<String>,
    pub clicked_at: Option<String>,
    /// How the partner was credited (click, promo code, subscription) and why.
    pub attribution: Attribution,
    /// Why nobody earns on it, for unattributed conversions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unattributed_reason: Option<String>,
    pub amount: String,
    pub currency: Currency,
    pub event: String,
    pub discount: String,
    pub tax: String,
    pub shipping: String,
    pub line_items: Vec<LineItemView>,
    pub customer_id: Option<String>,
    pub first_time_customer: Option<bool>,
    /// The amount as the storefront sent it, when it was in another currency.
    pub original_amount: Option<String>,
    pub original_currency: Option<Currency>,
    pub exchange_rate: Option<String>,
    /// The subscription this payment belongs to, and whether it is a renewal.
    pub subscription: Option<SubscriptionPayment>,
    /// The click's sub-ids (`sub1`..`sub5`), when known.
    pub subs: std::collections::BTreeMap<String, String>,
    pub refunded: String,
    pub status: ConversionStatus,
    pub created_at: String,
}

#[derive(Debug, Serialize)]
pub struct LineItemView {
    pub sku: String,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price: String,
}

impl ConversionView {
    pub fn of(c: &Conversion) -> Self {
        ConversionView {
            id: c.id.clone(),
            campaign_id: c.campaign_id.clone(),
            order_id: c.order_id.clone(),
            partner_id: c.partner_id.clone(),
            link_code: c.link_code.clone(),
            click_id: c.click_id.clone(),
            clicked_at: c.clicked_at.map(|t| t.to_rfc3339()),
            attribution: c.attribution.clone(),
            unattributed_reason: c.unattributed_reason.clone(),
            amount: format_minor(c.amount_minor, c.currency),
            currency: c.currency,
            event: c.event.clone(),
            discount: format_minor(c.discount_minor, c.currency),
            tax: format_minor(c.tax_minor, c.currency),
            shipping: format_minor(c.shipping_minor, c.currency),
            line_items: c
                .items
                .iter()
                .map(|i| LineItemView {
                    sku: i.sku.clone(),
                    category: i.category.clone(),
                    quantity: i.quantity,
                    unit_price: format_minor(i.unit_price_minor, c.currency),
                })
                .collect(),
            customer_id: c.customer_id.clone(),
            first_time_customer: c.first_time_customer,
            original_amount: c
                .original
                .as_ref()
                .map(|o| format_minor(o.amount_minor, o.currency)),
            original_currency: c.original.as_ref().map(|o| o.currency),
            exchange_rate: c
                .original
                .as_ref()
                .map(|o| o.rate.rate.normalize().to_string()),
            subscription: c.subscription.clone(),
            subs: c.subs.clone(),
            refunded: format_minor(c.refunded_minor, c.currency),
            status: c.status,
            created_at: c.created_at.to_rfc3339(),
        }
    }
}

#[tracing::instrument(skip_all, fields(correlation_id = %correlation_id))]
pub async fn record_postback(
    services: &Services,
    req: PostbackRequest,
    correlation_id: &str,
) -> Result<PostbackOutcome, AppError> {
    let program = require_program(&services.store).await?;
    let click_secret = services.deployment.click_secret()?;
    let mut errors = FieldErrors::default();
    // A renewal of a known subscription is attributed to it, with or without a click id.
    let subscription_id = req.subscription_id.and_then(|id| {
        let id = id.0.trim().to_string();
        let ok = !id.is_empty() && id.len() <= 128 && !id.chars().any(char::is_control);
        errors.take(
            "subscription_id",
            if ok {
                Ok(id)
            } else {
                Err("must be 1 to 128 printable characters")
            },
        )
    });
    let subscription: Option<Subscription> = match &subscription_id {
        Some(id) => match services.store.table().get(&keys::subscription(id)).await? {
            Some(item) => Some(decode(&item)?),
            None => None,
        },
        None => None,
    };
    // A renewal is credited through its subscription; anything else needs a click id or
    // a promo code.
    let click_id_text = req.click_id.filter(|c| !c.trim().is_empty());
    let promo_text = req
        .promo_code
        .map(|p| p.0.trim().to_string())
        .filter(|p| !p.is_empty());
    if subscription.is_none() && click_id_text.is_none() && promo_text.is_none() {
        errors.push(
            "click_id",
            "is required unless the postback carries a promo_code or the subscription_id of a known subscription",
        );
    }
    let claims = match (&subscription, click_id_text) {
        (Some(_), _) | (None, None) => None,
        (None, Some(id)) => {
            let result = click_id::verify(click_secret, &id).map(|c| (id, c));
            errors.take(
                "click_id",
                result.map_err(|e| match e {
                    ClickIdError::Malformed => {
                        "is not a click id issued by this program".to_string()
                    }
                    ClickIdError::BadSignature => {
                        "was altered or forged: its signature does not match".to_string()
                    }
                }),
            )
        }
    };
    let order_id = errors.required("order_id", req.order_id);
    let order_id = order_id.and_then(|o| errors.take("order_id", parse_order_id(&o.0)));
    let currency = errors.required("currency", req.currency);
    let currency = currency.and_then(|c| errors.take("currency", Currency::from_code(&c)));
    // A sale in another currency is converted at the operator's rate.
    let rate = match currency {
        Some(c) if c != program.currency => {
            let rate = services.store.exchange_rate(c).await?;
            if rate.is_none() {
                errors.push(
                    "currency",
                    format!(
                        "is {c} but the program pays in {}, and no {c} rate is set: PUT /v1/admin/exchange-rates/{c}",
                        program.currency
                    ),
                );
            }
            rate
        }
        _ => None,
    };
    let amount = errors.required("amount", req.amount);
    let amount = match (amount, currency) {
        (Some(a), Some(c)) => errors.take("amount", Money::parse(&a.0, c)).and_then(|m| {
            if m.is_negative() {
                errors.push("amount", "must not be negative; report refunds as refunds");
                None
            } else {
                Some(m)
            }
        }),
        _ => None,
    };
    let event = match req.event {
        None => Some("sale".to_string()),
        Some(e) => errors.take("event", parse_event(&e)),
    };
    let discount_minor = adjustment(&mut errors, "discount", req.discount, currency);
    let tax_minor = adjustment(&mut errors, "tax", req.tax, currency);
    let shipping_minor = adjustment(&mut errors, "shipping", req.shipping, currency);
    let mut items = match (req.line_items, currency) {
        (Some(items), Some(c)) => parse_items(items, c, &mut errors),
        _ => vec![],
    };
    if let Some(c) = currency {
        check_items_total(&items, c, &mut errors);
    }
    // Everything in the program's currency, each amount checked against the bound.
    let amount_in_program =
        amount.map(|a| in_program_currency(rate, "amount", a.minor(), &mut errors));
    let discount_minor = in_program_currency(rate, "discount", discount_minor, &mut errors);
    let tax_minor = in_program_currency(rate, "tax", tax_minor, &mut errors);
    let shipping_minor = in_program_currency(rate, "shipping", shipping_minor, &mut errors);
    if let Some(r) = rate {
        for (i, item) in items.iter_mut().enumerate() {
            let field = format!("line_items[{i}].unit_price");
            item.unit_price_minor =
                in_program_currency(Some(r), &field, item.unit_price_minor, &mut errors);
        }
        check_items_total(&items, r.to, &mut errors);
    }
    let customer_id = req.customer_id.and_then(|c| {
        let c = c.0.trim().to_string();
        let ok = !c.is_empty() && c.len() <= 128 && !c.chars().any(char::is_control);
        errors.take(
            "customer_id",
            if ok {
                Ok(c)
            } else {
                Err("must be 1 to 128 printable characters")
            },
        )
    });
    errors.into_result()?;
    let (Some(order_id), Some(amount), Some(event)) = (order_id, amount, event) else {
        return Err(AppError::Internal("validated fields missing".into()));
    };
    let now = services.now();
    let credit = match &subscription {
        // Renewals stay with the partner who brought the subscriber (lifetime attribution).
        Some(sub) => Credit {
            partner_id: sub.partner_id.clone(),
            campaign_id: sub.campaign_id.clone(),
            link_code: sub.link_code.clone(),
            click_id: sub.click_id.clone(),
            clicked_at: sub.clicked_at,
            attribution: Attribution {
                method: AttributionMethod::Subscription,
                promo_code: None,
                note: Some(format!(
                    "subscription {} started with conversion {}",
                    sub.subscription_id, sub.first_conversion_id
                )),
            },
            unattributed: None,
        },
        None => {
            attribute(
                services,
                program.attribution_priority,
                claims,
                promo_text.as_deref(),
                now,
            )
            .await?
        }
    };
    // A repeat (refresh, retry, back button) answers with the conversion already stored.
    if let Some(existing) = replay(
        services,
        &credit.campaign_id,
        &order_id,
        amount,
        correlation_id,
    )
    .await?
    {
        return Ok(existing);
    }
    // A customer is new unless the storefront says otherwise or Upline has seen them.
    let seen_before = match &customer_id {
        Some(c) => services
            .store
            .table()
            .get(&keys::customer(c))
            .await?
            .is_some(),
        None => false,
    };
    let first_time_customer = req
        .new_customer
        .or_else(|| customer_id.as_ref().map(|_| !seen_before));
    // The click's sub-ids, if its record has landed (clicks are recorded off the hot path).
    let subs = match &credit.click_id {
        Some(id) => services
            .store
            .click(id)
            .await?
            .map(|c| c.subs)
            .unwrap_or_default(),
        None => Default::default(),
    };
    let amount_minor = amount_in_program.unwrap_or(amount.minor());
    let (currency_used, original) = match rate {
        Some(r) => (
            r.to,
            Some(OriginalAmount {
                amount_minor: amount.minor(),
                currency: amount.currency(),
                rate: r,
            }),
        ),
        None => (amount.currency(), None),
    };
    let conversion = Conversion {
        id: services.new_id(),
        campaign_id: credit.campaign_id.clone(),
        order_id: order_id.clone(),
        partner_id: credit.partner_id.clone(),
        link_code: credit.link_code.clone(),
        click_id: credit.click_id.clone(),
        clicked_at: credit.clicked_at,
        attribution: credit.attribution.clone(),
        unattributed_reason: credit.unattributed.clone(),
        amount_minor,
        currency: currency_used,
        event,
        discount_minor,
        tax_minor,
        shipping_minor,
        items,
        original,
        subs,
        subscription: subscription_id.as_ref().map(|id| SubscriptionPayment {
            subscription_id: id.clone(),
            renewal: subscription.is_some(),
            month: subscription
                .as_ref()
                .map_or(0, |s| months_between(s.started_at, now)),
        }),
        customer_id: customer_id.clone(),
        first_time_customer,
        refunded_minor: 0,
        refunded_original_minor: 0,
        status: if credit.unattributed.is_some() {
            ConversionStatus::Unattributed
        } else {
            ConversionStatus::Recorded
        },
        created_at: now,
    };
    let mut ops = vec![
        Store::unique_marker(
            keys::order(&conversion.campaign_id, &order_id),
            &conversion.id,
        ),
        Store::conversion_put(&conversion, Condition::NotExists),
    ];
    if let (Some(c), false) = (&customer_id, seen_before) {
        ops.push(Store::unique_marker(keys::customer(c), &conversion.id));
    }
    if let (Some(id), None, None) = (&subscription_id, &subscription, &credit.unattributed) {
        let started = Subscription {
            subscription_id: id.clone(),
            campaign_id: conversion.campaign_id.clone(),
            partner_id: conversion.partner_id.clone(),
            link_code: conversion.link_code.clone(),
            click_id: conversion.click_id.clone(),
            clicked_at: conversion.clicked_at,
            attribution: conversion.attribution.clone(),
            started_at: now,
            first_conversion_id: conversion.id.clone(),
        };
        ops.push(TxOp::Put(
            encode(keys::subscription(id), &started),
            Condition::NotExists,
        ));
    }
    match services.store.table().transact(ops).await {
        Ok(()) => {}
        Err(TableError::TransactionCancelled { .. }) => {
            // A concurrent identical postback stored it first.
            return replay(
                services,
                &credit.campaign_id,
                &order_id,
                amount,
                correlation_id,
            )
            .await?
            .ok_or_else(|| AppError::Unavailable("the conversion is being stored; retry".into()));
        }
        Err(e) => return Err(e.into()),
    }
    // An unattributed conversion is kept for the record; no partner earns on it.
    if conversion.status == ConversionStatus::Recorded {
        hand_to_payout(services, &conversion, correlation_id).await?;
    }
    Ok(PostbackOutcome {
        conversion,
        created: true,
    })
}

/// Who a conversion is credited to, and how.
struct Credit {
    partner_id: String,
    campaign_id: String,
    link_code: Option<String>,
    click_id: Option<String>,
    clicked_at: Option<Timestamp>,
    attribution: Attribution,
    /// Set when nobody earns: the reason.
    unattributed: Option<String>,
}

/// A verified click as a candidate for the credit.
struct ClickCandidate {
    link: Link,
    click_id: String,
    clicked_at: Timestamp,
    /// The click is older than its campaign's attribution window (the reason, if so).
    expired: Option<String>,
}

impl ClickCandidate {
    fn credit(self, note: Option<String>) -> Credit {
        Credit {
            partner_id: self.link.partner_id,
            campaign_id: self.link.campaign_id,
            link_code: Some(self.link.code),
            click_id: Some(self.click_id),
            clicked_at: Some(self.clicked_at),
            attribution: Attribution {
                method: AttributionMethod::Click,
                promo_code: None,
                note,
            },
            unattributed: self.expired,
        }
    }
}

fn promo_credit(promo: PromoCode, note: Option<String>) -> Credit {
    Credit {
        partner_id: promo.partner_id,
        campaign_id: promo.campaign_id,
        link_code: None,
        click_id: None,
        clicked_at: None,
        attribution: Attribution {
            method: AttributionMethod::PromoCode,
            promo_code: Some(promo.code),
            note,
        },
        unattributed: None,
    }
}

/// Decides between the click and the promo code a postback carries. A click older than
/// its campaign's window cannot earn: with a valid code the code wins, otherwise the
/// conversion is recorded unattributed with the reason. With both valid and for different
/// partners, the program's priority decides; the explanation says which won and why.
async fn attribute(
    services: &Services,
    priority: AttributionPriority,
    claims: Option<(String, crate::click_id::ClickIdClaims)>,
    promo_text: Option<&str>,
    now: Timestamp,
) -> Result<Credit, AppError> {
    let store = &services.store;
    let click = match claims {
        None => None,
        Some((click_id, claims)) => {
            let link = store.link(&claims.link_code).await?.ok_or_else(|| {
                AppError::field(
                    "click_id",
                    format!("names link {}, which does not exist", claims.link_code),
                )
            })?;
            let campaign = store.campaign(&link.campaign_id).await?.ok_or_else(|| {
                AppError::field(
                    "click_id",
                    format!("names campaign {}, which does not exist", link.campaign_id),
                )
            })?;
            let days = campaign.attribution_window_days;
            let expired = (now > claims.clicked_at.plus_days(i64::from(days))).then(|| {
                format!(
                    "click {click_id} was made {} and campaign {} credits clicks for {days} days",
                    claims.clicked_at.to_rfc3339(),
                    campaign.id
                )
            });
            Some(ClickCandidate {
                link,
                click_id,
                clicked_at: claims.clicked_at,
                expired,
            })
        }
    };
    let promo = match promo_text {
        Some(code) => promo_codes::find(store, code).await?,
        None => None,
    };
    let unknown_code = match (promo_text, &promo) {
        (Some(code), None) => Some(format!("promo code {code} is not assigned to any partner")),
        _ => None,
    };
    Ok(match (click, promo) {
        (None, None) => {
            return Err(AppError::field(
                "promo_code",
                unknown_code.unwrap_or_else(|| "is required without a click_id".into()),
            ));
        }
        (None, Some(p)) => promo_credit(p, None),
        (Some(c), None) => c.credit(unknown_code),
        (Some(c), Some(p)) if c.expired.is_some() => {
            let note = format!(
                "{}; the promo code still earns",
                c.expired.unwrap_or_default()
            );
            promo_credit(p, Some(note))
        }
        (Some(c), Some(p)) if c.link.partner_id == p.partner_id => {
            let note = format!("the click {} was the same partner's", c.click_id);
            promo_credit(p, Some(note))
        }
        (Some(c), Some(p)) => match priority {
            AttributionPriority::PromoCode => {
                let note = format!(
                    "the postback also named click {} of partner {}; the program credits promo codes first",
                    c.click_id, c.link.partner_id
                );
                promo_credit(p, Some(note))
            }
            AttributionPriority::Click => {
                let note = format!(
                    "the postback also named promo code {} of partner {}; the program credits clicks first",
                    p.code, p.partner_id
                );
                c.credit(Some(note))
            }
        },
    })
}

/// The stored conversion for this order, if any. Handing it to payout again is harmless
/// (payout is idempotent) and heals a postback whose first hand-off failed.
async fn replay(
    services: &Services,
    campaign_id: &str,
    order_id: &str,
    amount: Money,
    correlation_id: &str,
) -> Result<Option<PostbackOutcome>, AppError> {
    let Some(id) = services
        .store
        .conversion_id_for_order(campaign_id, order_id)
        .await?
    else {
        return Ok(None);
    };
    let conversion =
        services.store.conversion(&id).await?.ok_or_else(|| {
            AppError::Internal(format!("order marker names missing conversion {id}"))
        })?;
    // Compare with what the storefront sent the first time, before any conversion.
    let (first_minor, first_currency) = match &conversion.original {
        Some(o) => (o.amount_minor, o.currency),
        None => (conversion.amount_minor, conversion.currency),
    };
    if first_minor != amount.minor() || first_currency != amount.currency() {
        return Err(AppError::Conflict {
            field: Some("order_id".into()),
            detail: format!(
                "order {order_id} was already recorded with amount {} {}; a changed amount needs a refund or adjustment, not a second postback",
                format_minor(first_minor, first_currency),
                first_currency
            ),
        });
    }
    if conversion.status == ConversionStatus::Recorded {
        hand_to_payout(services, &conversion, correlation_id).await?;
    }
    Ok(Some(PostbackOutcome {
        conversion,
        created: false,
    }))
}

async fn hand_to_payout(
    services: &Services,
    conversion: &Conversion,
    correlation_id: &str,
) -> Result<(), AppError> {
    let message = Message::ConversionRecorded {
        conversion_id: conversion.id.clone(),
    };
    services
        .publish(QueueName::Conversions, &[message], correlation_id)
        .await
        .map_err(|e| {
            tracing::error!(conversion_id = %conversion.id, error = %e, "conversion stored but not queued; a retried postback re-queues it");
            AppError::Unavailable("the conversion is stored but could not be queued; send the postback again".into())
        })
}

/// How long a conversion may stay `recorded` before the sweep hands it to the commission
/// stage again: far longer than a queue hand-off takes, short enough that a partner's
/// sale shows up the same hour.
pub const STUCK_AFTER_MILLIS: i64 = 5 * 60 * 1000;

/// The most conversions one sweep re-queues from each partition of the open index; the
/// next hourly sweep takes the rest.
const SWEEP_BATCH: usize = 200;

/// How many times the sweep re-queues one conversion before it gives up: one that the
/// commission stage dead-letters every time (a missing campaign, a bug) would otherwise
/// come back every hour and keep its dead-letter alarm ringing.
pub const MAX_SWEEPS: i64 = 3;

/// Hands conversions that were stored but never reached the commission stage (the
/// process died between the two, or the queue refused the hand-off and the storefront
/// never retried) to the stage again. Safe to repeat: the stage is idempotent on the
/// conversion id. A conversion re-queued [`MAX_SWEEPS`] times is moved out of the sweep's
/// way (to `AWAITING#GAVE_UP`) with an error in the log. Returns how many were re-queued.
#[tracing::instrument(skip_all)]
pub async fn requeue_stuck_conversions(services: &Services) -> Result<usize, AppError> {
    let before = Timestamp(services.now().millis() - STUCK_AFTER_MILLIS);
    let stuck = services
        .store
        .conversions_awaiting_commission(before, SWEEP_BATCH)
        .await?;
    let table = services.store.table();
    let still_recorded = || {
        Condition::AttrEquals(
            "status".into(),
            crate::ports::Attr::S(ConversionStatus::Recorded.as_str().into()),
        )
    };
    let mut messages = Vec::new();
    for (conversion, sweeps) in stuck {
        if conversion.status != ConversionStatus::Recorded {
            continue;
        }
        let key = keys::conversion(&conversion.id);
        let update = if sweeps >= MAX_SWEEPS {
            tracing::error!(conversion_id = %conversion.id, sweeps, "a conversion never reached its commission lines; the sweep gave up on it (see the conversions dead-letter queue)");
            crate::ports::Update::default().set("gsi3pk", keys::GAVE_UP_AWAITING)
        } else {
            crate::ports::Update::default().add("sweeps", 1)
        };
        match table.update(&key, update, still_recorded()).await {
            Ok(_) if sweeps < MAX_SWEEPS => messages.push(Message::ConversionRecorded {
                conversion_id: conversion.id.clone(),
            }),
            Ok(_) | Err(TableError::ConditionFailed) => {}
            Err(e) => {
                tracing::warn!(conversion_id = %conversion.id, error = %e, "a stuck conversion was not re-queued this time");
            }
        }
    }
    if !messages.is_empty() {
        tracing::warn!(
            count = messages.len(),
            "conversions found stuck in recorded; re-queued"
        );
        services
            .publish(QueueName::Conversions, &messages, "sweep")
            .await?;
    }
    Ok(messages.len())
}
