//! Unit tests of `conversion`: the stored form of conversions and refunds is the one
//! items have always had, now that the entities hold `Money`.

use serde_json::json;

use super::*;

/// A conversion as items written before `Money` in entities hold it: amounts as
/// `*_minor` next to `currency`, the adjustments absent when zero.
fn stored_before() -> serde_json::Value {
    json!({
        "id": "c-1",
        "campaign_id": "spring-sale",
        "order_id": "o-1",
        "partner_id": "p-1",
        "link_code": "abc",
        "click_id": null,
        "clicked_at": null,
        "amount_minor": 12_345,
        "currency": "EUR",
        "event": "sale",
        "tax_minor": 200,
        "original": {
            "amount_minor": 10_000,
            "currency": "GBP",
            "rate": {"from": "GBP", "to": "EUR", "rate": "1.2345"}
        },
        "refunded_minor": 45,
        "refunded_original_minor": 36,
        "status": "commissioned",
        "created_at": 1_700_000_000_000_i64
    })
}

#[test]
fn conversions_stored_before_read_back_with_their_amounts() {
    let c: Conversion = serde_json::from_value(stored_before()).unwrap();
    let eur = Currency::from_code("EUR").unwrap();
    assert_eq!(c.amounts.sale, Money::from_minor(12_345, eur));
    assert_eq!(c.amounts.tax, Money::from_minor(200, eur));
    assert_eq!(c.amounts.discount, Money::zero(eur));
    assert_eq!(c.amounts.refunded, Money::from_minor(45, eur));
    let original = c.original.as_ref().unwrap();
    assert_eq!(
        original.amount,
        Money::from_minor(10_000, Currency::from_code("GBP").unwrap())
    );
    assert_eq!(c.link_code.as_ref().unwrap(), "abc");
}

#[test]
fn conversions_are_written_in_the_stored_shape() {
    let c: Conversion = serde_json::from_value(stored_before()).unwrap();
    let written = serde_json::to_value(&c).unwrap();
    for (key, value) in [
        ("amount_minor", json!(12_345)),
        ("currency", json!("EUR")),
        ("discount_minor", json!(0)),
        ("tax_minor", json!(200)),
        ("shipping_minor", json!(0)),
        ("refunded_minor", json!(45)),
        ("refunded_original_minor", json!(36)),
    ] {
        assert_eq!(written[key], value, "{key}");
    }
    assert_eq!(written["original"]["amount_minor"], json!(10_000));
    assert_eq!(written["original"]["currency"], json!("GBP"));
    for gone in ["amounts", "sale", "amount"] {
        assert!(written.get(gone).is_none(), "{gone} written");
    }
    // And what is written reads back as the same conversion.
    assert_eq!(serde_json::from_value::<Conversion>(written).unwrap(), c);
}

#[test]
fn refunds_keep_amount_minor_and_currency() {
    let stored = json!({
        "refund_id": "r-1",
        "conversion_id": "c-1",
        "kind": "chargeback",
        "amount_minor": 500,
        "currency": "USD",
        "reason": null,
        "at": 1_700_000_000_000_i64
    });
    let r: Refund = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(r.amount.minor(), 500);
    assert_eq!(serde_json::to_value(&r).unwrap(), stored);
}
