//! Storefronts that report sales by webhook — Shopify, WooCommerce, Stripe and Paddle —
//! in their own formats and signed their own ways. This module owns what is the same
//! for all of them: the connected store (`store`), checking a delivery's signature
//! (`signatures`), exact amounts (`amounts`), and the platform-neutral events
//! (`event`) that each platform's reader turns its payloads into.

pub mod amounts;
pub mod event;
pub mod paddle;
pub mod shopify;
pub mod signatures;
pub mod store;
pub mod stripe;
pub mod woocommerce;

pub use event::{Delivery, OrderRef, RefundAmount, StoreEvent, StoreOrder, StoreRefund};
pub use signatures::{Platform, SignatureError, verify};
pub use store::{ConnectedStore, StoreOptions, StoreRequest, StoreSpec};

use crate::error::AppError;

/// Reads a verified delivery of `store`: what it says, platform by platform. A body that
/// does not read is an error naming the field (answered `400`).
pub fn read(
    store: &ConnectedStore,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<Delivery, AppError> {
    match store.platform {
        Platform::Shopify => shopify::read(store, header, body),
        Platform::Woocommerce => woocommerce::read(store, header, body),
        Platform::Stripe => stripe::read(store, body),
        Platform::Paddle => paddle::read(store, body),
    }
}

/// A JSON body in the platform's shape; `400` naming where it stopped reading otherwise.
fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(body)
        .map_err(|e| AppError::field("body", format!("is not the JSON this event carries: {e}")))
}

/// The event's object, already parsed as JSON, in the shape its type carries.
fn object<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    serde_json::from_value(value)
        .map_err(|e| AppError::field("data", format!("is not the object this event carries: {e}")))
}

/// The Upline click id in a landing page's address (`?click_id=…`, which the redirect
/// adds, or `?upline_click_id=…`), if any. Relative addresses (Shopify's `landing_site`
/// is a path) are read against a placeholder origin.
pub fn click_id_in_url(address: &str) -> Option<String> {
    let url = url::Url::parse(address)
        .or_else(|_| url::Url::parse("https://shop.invalid").and_then(|b| b.join(address)))
        .ok()?;
    url.query_pairs()
        .find(|(k, v)| (k == "click_id" || k == "upline_click_id") && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
}

/// What an order line is known by in the engine's SKU rates: its SKU, or else the first
/// of `fallbacks` (a variant or product id, as `variant-<id>`) the platform sent, or
/// else its position.
fn line_sku(
    sku: Option<&str>,
    fallbacks: &[(&str, Option<&serde_json::Value>)],
    position: usize,
) -> String {
    sku.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| {
            fallbacks.iter().find_map(|(prefix, id)| {
                id.and_then(scalar_text)
                    .filter(|v| v != "0")
                    .map(|v| format!("{prefix}-{v}"))
            })
        })
        .unwrap_or_else(|| format!("line-{position}"))
}

/// A JSON value that is an id: a number or non-empty text.
fn scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn the_click_id_is_found_in_full_and_relative_landing_addresses() {
        assert_eq!(
            click_id_in_url("/products/tee?utm_source=x&click_id=abc.def").as_deref(),
            Some("abc.def")
        );
        assert_eq!(
            click_id_in_url("https://shop.example/?upline_click_id=xyz").as_deref(),
            Some("xyz")
        );
        assert_eq!(click_id_in_url("/?click_id="), None);
        assert_eq!(click_id_in_url("https://shop.example/"), None);
    }
}
