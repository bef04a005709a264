//! The receiver: a delivery checked (store, signature, shop), read, acted on once, and
//! logged. Errors are the answers: `404` unknown store, `401` bad signature (nothing
//! stored), `400` a body that does not read (logged), `503` storage failed (nothing
//! marked, so the platform's retry does it again).

use super::*;

/// Receives one delivery for store `id`. `header` looks a request header up by its
/// lower-case name; `body` is the raw request body.
#[tracing::instrument(skip_all, fields(store = %id))]
pub async fn receive(
    services: &Services,
    id: &StoreId,
    header: &(dyn Fn(&str) -> Option<String> + Sync),
    body: &[u8],
    correlation_id: &str,
) -> Result<Receipt, AppError> {
    let store = admin::require(services, id).await?;
    // WooCommerce pings a webhook, unsigned, when it is saved.
    if store.platform == Platform::Woocommerce
        && header("x-wc-webhook-signature").is_none()
        && crate::storefronts::woocommerce::is_ping(body)
    {
        // Not logged: anyone can send an unsigned ping.
        return Ok(Receipt::of(vec![
            Action::new(Outcome::Ignored)
                .because("WooCommerce's ping on saving the webhook: connected"),
        ]));
    }
    authenticate(services, &store, header, body)?;
    let delivery = match crate::storefronts::read(&store, header, body) {
        Ok(d) => d,
        Err(e) => {
            log_unreadable(services, &store, header, &e).await;
            return Err(e);
        }
    };
    let dedupe_id = delivery
        .id
        .as_ref()
        .filter(|_| store.platform.delivery_ids_are_unique());
    if let Some(delivery_id) = dedupe_id
        && let Some(earlier) = earlier_delivery(services, &store, delivery_id).await?
    {
        let receipt = Receipt::of(vec![Action {
            outcome: Outcome::Duplicate,
            reason: Some(format!(
                "delivery {delivery_id} was received before: {}",
                earlier.first.outcome.as_str()
            )),
            ..earlier.first
        }]);
        log(
            services,
            &store,
            Some(delivery_id),
            &delivery.topic,
            &receipt,
        )
        .await;
        return Ok(receipt);
    }
    let mut actions = Vec::new();
    for event in delivery.events {
        actions.push(act(services, &store, event, correlation_id).await?);
    }
    let receipt = Receipt::of(actions);
    if let Some(delivery_id) = dedupe_id {
        remember_delivery(services, &store, delivery_id, &receipt).await?;
    }
    log(
        services,
        &store,
        delivery.id.as_deref(),
        &delivery.topic,
        &receipt,
    )
    .await;
    Ok(receipt)
}

async fn act(
    services: &Services,
    store: &ConnectedStore,
    event: StoreEvent,
    correlation_id: &str,
) -> Result<Action, AppError> {
    match event {
        StoreEvent::Order(order) => orders::record(services, store, *order, correlation_id).await,
        StoreEvent::Refund(refund) => takeback::refund(services, store, refund).await,
        StoreEvent::Hold { order, dispute_id } => {
            takeback::hold(services, store, &order, &dispute_id, true).await
        }
        StoreEvent::Release { order, dispute_id } => {
            takeback::hold(services, store, &order, &dispute_id, false).await
        }
        StoreEvent::Aliases { order_id, aliases } => {
            orders::remember_aliases(services, store, &order_id, &aliases).await?;
            takeback::apply_waiting(services, store, &aliases, Some(&order_id)).await?;
            Ok(Action::new(Outcome::Ignored)
                .because(format!("other ids of order {order_id} noted"))
                .order(&order_id))
        }
        StoreEvent::Ignore(reason) => Ok(Action::new(Outcome::Ignored).because(reason)),
    }
}

/// The signature over the raw body against each of the store's secrets, and for Shopify
/// the shop the delivery names.
fn authenticate(
    services: &Services,
    store: &ConnectedStore,
    header: &(dyn Fn(&str) -> Option<String> + Sync),
    body: &[u8],
) -> Result<(), AppError> {
    let secrets: Vec<String> = store
        .secrets
        .iter()
        .map(|s| services.store.open(SECRET_PURPOSE, s))
        .collect::<Result<_, _>>()?;
    let headers: Vec<(&str, Option<String>)> = [
        "x-shopify-hmac-sha256",
        "x-wc-webhook-signature",
        "stripe-signature",
        "paddle-signature",
    ]
    .into_iter()
    .map(|name| (name, header(name)))
    .collect();
    let lookup = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    };
    let secret_refs: Vec<&[u8]> = secrets.iter().map(String::as_bytes).collect();
    crate::storefronts::verify(store.platform, lookup, body, &secret_refs, services.now())
        .map_err(|e| AppError::Unauthorized(e.to_string()))?;
    if store.platform == Platform::Shopify {
        let shop = header("x-shopify-shop-domain").map(|s| s.trim().to_ascii_lowercase());
        if shop.as_deref() != store.options.shop_domain.as_deref() {
            return Err(AppError::Unauthorized(format!(
                "X-Shopify-Shop-Domain is {:?}, not this store's shop {}",
                shop.unwrap_or_default(),
                store.options.shop_domain.as_deref().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// How long a delivery id is remembered: longer than any platform retries (Stripe, the
/// longest, for three days).
const DELIVERY_MEMORY_DAYS: i64 = 30;

/// How long the delivery log keeps an entry.
const LOG_DAYS: i64 = 90;

async fn earlier_delivery(
    services: &Services,
    store: &ConnectedStore,
    delivery_id: &str,
) -> Result<Option<Receipt>, AppError> {
    let Some(item) = services
        .store
        .table()
        .get(&keys::store_delivery(&store.id, delivery_id))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(decode(&item)?))
}

async fn remember_delivery(
    services: &Services,
    store: &ConnectedStore,
    delivery_id: &str,
    receipt: &Receipt,
) -> Result<(), AppError> {
    let expires = services.now().plus_days(DELIVERY_MEMORY_DAYS);
    let item =
        encode(keys::store_delivery(&store.id, delivery_id), receipt).with("ttl", expires.secs());
    services.store.table().put(item, Condition::None).await?;
    Ok(())
}

/// Adds the delivery to the store's log. The delivery has been acted on already, so a
/// failure here is logged rather than failing it.
async fn log(
    services: &Services,
    store: &ConnectedStore,
    delivery_id: Option<&str>,
    topic: &str,
    receipt: &Receipt,
) {
    let record = DeliveryRecord {
        at: services.now().to_rfc3339(),
        delivery_id: delivery_id.map(str::to_string),
        event: topic.to_string(),
        outcome: receipt.outcome().as_str().to_string(),
        reason: receipt.first.reason.clone(),
        actions: receipt.actions.clone(),
        order_id: receipt.first.order_id.clone(),
        conversion_id: receipt.first.conversion_id.clone(),
    };
    write_log(services, store, &record).await;
}

async fn log_unreadable(
    services: &Services,
    store: &ConnectedStore,
    header: &(dyn Fn(&str) -> Option<String> + Sync),
    error: &AppError,
) {
    let topic = ["x-shopify-topic", "x-wc-webhook-topic"]
        .iter()
        .find_map(|h| header(h))
        .unwrap_or_else(|| "unknown".into());
    let reason = error.describe();
    let record = DeliveryRecord {
        at: services.now().to_rfc3339(),
        delivery_id: None,
        event: topic,
        outcome: "unreadable".into(),
        reason: Some(reason),
        actions: vec![],
        order_id: None,
        conversion_id: None,
    };
    write_log(services, store, &record).await;
}

async fn write_log(services: &Services, store: &ConnectedStore, record: &DeliveryRecord) {
    let now = services.now();
    let key = keys::store_log(&store.id, now, &services.new_id());
    let item = encode(key, record).with("ttl", now.plus_days(LOG_DAYS).secs());
    if let Err(e) = services.store.table().put(item, Condition::None).await {
        tracing::error!(store = %store.id, error = %e, "a store delivery was not logged");
    }
}
