//! A store's order recorded as a conversion, through the same use case as postbacks
//! (`record_postback`): the same checks, the same once-per-order idempotency, the same
//! commission stage.
//!
//! Attribution, the same for every platform, in this order: a renewal of a subscription
//! already credited; an Upline click id the order carries (verified like any click id: a
//! forged one is passed over, with the reason kept); a promo code assigned to a partner;
//! a known customer (linked to the partner on their first credited order, so repeat
//! orders pay the campaign's recurring terms). Clicks and codes of another campaign than
//! the store's are passed over too. With none of these the order is answered
//! `unattributed` with every reason, and nothing is stored.

use super::takeback;
use super::*;
use crate::conversion::Subscription;
use crate::usecases::postback::{LineItemRequest, PostbackRequest, record_postback};

pub(super) async fn record(
    services: &Services,
    store: &ConnectedStore,
    order: StoreOrder,
    correlation_id: &str,
) -> Result<Action, AppError> {
    let order_id = order.order_id.clone();
    let done = |a: Action| Ok(a.order(&order_id));
    // Noted whatever comes of the order: a later event may name it by another id.
    remember_aliases(services, store, &order.order_id, &order.aliases).await?;
    let mut passed_over: Vec<String> = Vec::new();
    let customer_key = order
        .customer_id
        .as_ref()
        .map(|c| customer_link_id(&store.id, c));
    // A renewal of a credited subscription stays with its partner.
    let renews = match &order.subscription {
        Some(s) if s.renewal => {
            if subscription_known(services, &s.id).await? {
                Some(s.id.clone())
            } else {
                passed_over.push(format!(
                    "subscription {} was never credited to a partner",
                    s.id
                ));
                None
            }
        }
        _ => None,
    };
    let (click_id, promo_code) = if renews.is_some() {
        (None, None)
    } else {
        (
            usable_click(services, store, &order.click_ids, &mut passed_over).await?,
            usable_code(services, store, &order.promo_codes, &mut passed_over).await?,
        )
    };
    let customer_known = match &customer_key {
        Some(k) if renews.is_none() && click_id.is_none() && promo_code.is_none() => {
            subscription_known(services, k).await?
        }
        _ => false,
    };
    let subscription_id = match (&renews, &click_id, &promo_code) {
        (Some(id), _, _) => Some(id.clone()),
        // A first payment of a subscription, credited, starts it.
        (None, Some(_), _) | (None, _, Some(_)) => order
            .subscription
            .as_ref()
            .filter(|s| !s.renewal)
            .map(|s| s.id.clone()),
        (None, None, None) if customer_known => customer_key.clone(),
        (None, None, None) => {
            if order.click_ids.is_empty() && order.promo_codes.is_empty() {
                passed_over.push("the order carries no Upline click id or promo code".into());
            }
            if customer_key.is_some() {
                passed_over.push("the customer has no credited order before".into());
            }
            return done(Action::new(Outcome::Unattributed).because(passed_over.join("; ")));
        }
    };
    let request = postback_request(store, &order, click_id, promo_code, subscription_id);
    let outcome = match record_postback(services, request, correlation_id).await {
        Ok(o) => o,
        // The same order with another amount: the first recording stands.
        Err(AppError::Conflict { detail, .. }) => {
            return done(Action::new(Outcome::Duplicate).because(detail));
        }
        // A signed order that cannot be recorded as it is (a currency without a rate):
        // answered 200 so the platform does not disable the webhook, the reason logged.
        Err(AppError::Invalid(fields)) => {
            let why = crate::error::describe_fields(&fields);
            tracing::warn!(store = %store.id, order_id = %order_id, reason = %why, "a store order was not recorded");
            return done(Action::new(Outcome::Ignored).because(why));
        }
        Err(e) => return Err(e),
    };
    let conversion = &outcome.conversion;
    if let Some(key) = &customer_key
        && conversion.status != crate::conversion::ConversionStatus::Unattributed
    {
        link_customer(services, key, conversion).await?;
    }
    // A click past its campaign's window is kept for the record, credited to nobody.
    let mut action = Action::new(match (outcome.created, conversion.status) {
        (false, _) => Outcome::Duplicate,
        (true, crate::conversion::ConversionStatus::Unattributed) => Outcome::Unattributed,
        (true, _) => Outcome::Recorded,
    })
    .conversion(&conversion.id);
    let mut notes = passed_over;
    if let Some(reason) = &conversion.unattributed_reason {
        notes.push(reason.clone());
    }
    if let Some(note) = &conversion.attribution.note {
        notes.push(note.clone());
    }
    if !notes.is_empty() {
        action = action.because(notes.join("; "));
    }
    // Refunds that arrived before the order are applied now.
    let mut ids = vec![order.order_id.clone()];
    ids.extend(order.aliases.iter().cloned());
    takeback::apply_waiting(services, store, &ids, None).await?;
    done(action)
}

/// The subscription (or customer link) under `id` was credited before.
async fn subscription_known(services: &Services, id: &str) -> Result<bool, AppError> {
    Ok(services
        .store
        .table()
        .get(&keys::subscription(id))
        .await?
        .is_some())
}

/// What a store's customer is linked to a partner under: the store keeps customer ids of
/// different shops apart.
fn customer_link_id(store: &StoreId, customer: &str) -> String {
    format!(
        "{}{store}:{customer}",
        crate::attribution::CUSTOMER_LINK_PREFIX
    )
}

/// The first click id that verifies, names an existing link and belongs to the store's
/// campaign; why each other one was passed over goes to `passed_over`.
async fn usable_click(
    services: &Services,
    store: &ConnectedStore,
    candidates: &[String],
    passed_over: &mut Vec<String>,
) -> Result<Option<String>, AppError> {
    let secret = services.deployment.click_secret()?;
    let mut seen = std::collections::BTreeSet::new();
    // The same id may come twice (a cart attribute and the landing page's query).
    for id in candidates.iter().filter(|c| seen.insert(c.as_str())) {
        let claims = match crate::click_id::verify(secret, id) {
            Ok(c) => c,
            Err(crate::click_id::ClickIdError::Malformed) => {
                passed_over.push(format!("click id {id:?} is not one this program issued"));
                continue;
            }
            Err(crate::click_id::ClickIdError::BadSignature) => {
                tracing::warn!(store = %store.id, click_id = %id, "a store order carried a forged click id");
                passed_over.push(format!("click id {id:?} was altered or forged"));
                continue;
            }
        };
        match services.store.link(&claims.link_code).await? {
            None => passed_over.push(format!(
                "click id {id:?} names link {}, which does not exist",
                claims.link_code
            )),
            Some(link) if link.campaign_id != store.campaign_id => passed_over.push(format!(
                "click id {id:?} is for campaign {}; this store credits {}",
                link.campaign_id, store.campaign_id
            )),
            Some(_) => return Ok(Some(id.clone())),
        }
    }
    Ok(None)
}

/// The first code assigned to a partner on the store's campaign.
async fn usable_code(
    services: &Services,
    store: &ConnectedStore,
    codes: &[String],
    passed_over: &mut Vec<String>,
) -> Result<Option<String>, AppError> {
    for code in codes {
        match crate::usecases::promo_codes::find(&services.store, code).await? {
            None => passed_over.push(format!("promo code {code} is not assigned to any partner")),
            Some(p) if p.campaign_id != store.campaign_id => passed_over.push(format!(
                "promo code {code} is for campaign {}; this store credits {}",
                p.campaign_id, store.campaign_id
            )),
            Some(_) => return Ok(Some(code.clone())),
        }
    }
    Ok(None)
}

/// The order in the postback's terms; amounts are exact already, written in their
/// currency's decimals and read back exactly.
fn postback_request(
    store: &ConnectedStore,
    order: &StoreOrder,
    click_id: Option<String>,
    promo_code: Option<String>,
    subscription_id: Option<String>,
) -> PostbackRequest {
    let text = |m: crate::money::Money| Some(DecimalText(format_minor(m.minor(), m.currency())));
    let currency = order.amount.currency();
    PostbackRequest {
        click_id,
        order_id: Some(IdText(order.order_id.clone())),
        amount: text(order.amount),
        currency: Some(currency.code().to_string()),
        event: None,
        discount: text(order.discount),
        tax: text(order.tax),
        shipping: text(order.shipping),
        line_items: (!order.items.is_empty()).then(|| {
            order
                .items
                .iter()
                .map(|i| LineItemRequest {
                    sku: Some(IdText(i.sku.chars().take(64).collect())),
                    category: i.category.clone(),
                    quantity: Some(IdText(i.quantity.to_string())),
                    unit_price: Some(DecimalText(format_minor(i.unit_price_minor, currency))),
                })
                .collect()
        }),
        customer_id: order
            .customer_id
            .as_ref()
            .map(|c| IdText(format!("{}:{c}", store.id))),
        new_customer: None,
        subscription_id: subscription_id.map(IdText),
        promo_code: promo_code.map(IdText),
    }
}

/// The order's other ids, so a refund or dispute that names one finds the order.
pub(super) async fn remember_aliases(
    services: &Services,
    store: &ConnectedStore,
    order_id: &str,
    aliases: &[String],
) -> Result<(), AppError> {
    for alias in aliases.iter().filter(|a| *a != order_id) {
        let item = crate::ports::Item::new(keys::store_order_alias(&store.id, alias))
            .with("order_id", order_id);
        services.store.table().put(item, Condition::None).await?;
    }
    Ok(())
}

/// Links the customer to the conversion's partner, unless they are linked already (the
/// first credited order decides).
async fn link_customer(
    services: &Services,
    key: &str,
    conversion: &crate::conversion::Conversion,
) -> Result<(), AppError> {
    let link = Subscription::started_by(key, conversion);
    match services
        .store
        .table()
        .put(encode(keys::subscription(key), &link), Condition::NotExists)
        .await
    {
        Ok(()) | Err(crate::ports::TableError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
