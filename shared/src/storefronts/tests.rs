//! The platform readers on the fixtures in `events/stores/`: what each payload says, on
//! each amount basis, and what is ignored and why.

use super::*;
use crate::clock::Timestamp;
use crate::conversion::RefundKind;
use crate::ids::{CampaignId, StoreId};
use crate::money::{Currency, Money};
use store::{AmountBasis, StoreOptions, StripeMode};

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../events/stores/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn store(platform: Platform, options: StoreOptions) -> ConnectedStore {
    ConnectedStore {
        id: StoreId::new("s"),
        platform,
        campaign_id: CampaignId::new("shop"),
        secrets: vec![],
        options,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
    }
}

fn headers(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

fn money(minor: i64, code: &str) -> Money {
    Money::from_minor(minor, Currency::from_code(code).unwrap())
}

fn only_order(d: Delivery) -> StoreOrder {
    match d.events.as_slice() {
        [StoreEvent::Order(o)] => (**o).clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_shopify_order_on_each_basis() {
    let h = headers(&[
        ("x-shopify-topic", "orders/paid"),
        ("x-shopify-webhook-id", "w1"),
    ]);
    let body = fixture("shopify/orders-paid.json");
    let subtotal = store(Platform::Shopify, StoreOptions::default());
    let o = only_order(read(&subtotal, &h, body.as_bytes()).unwrap());
    assert_eq!(o.amount, money(5750, "USD"));
    assert_eq!((o.tax.minor(), o.shipping.minor()), (0, 0));
    let items: Vec<(String, i64, i64)> = o
        .items
        .iter()
        .map(|i| (i.sku.clone(), i.quantity, i.unit_price_minor))
        .collect();
    assert_eq!(
        items,
        [("TEE-RED-M".into(), 2, 2250), ("MUG-01".into(), 1, 1250)]
    );
    assert_eq!(
        o.click_ids,
        ["CLICKID", "CLICKID"],
        "cart attribute, then landing page"
    );
    assert_eq!(o.customer_id.as_deref(), Some("7391026485123"));
    let total = store(
        Platform::Shopify,
        StoreOptions {
            amount_basis: AmountBasis::Total,
            ..StoreOptions::default()
        },
    );
    let o = only_order(read(&total, &h, body.as_bytes()).unwrap());
    assert_eq!(
        (o.amount, o.tax, o.shipping),
        (money(6710, "USD"), money(460, "USD"), money(500, "USD"))
    );
}

#[test]
fn a_shopify_refund_takes_back_items_on_the_subtotal_basis_and_money_on_the_total() {
    let h = headers(&[("x-shopify-topic", "refunds/create")]);
    let body = fixture("shopify/refunds-create.json");
    let read_refund = |basis| {
        let s = store(
            Platform::Shopify,
            StoreOptions {
                amount_basis: basis,
                ..StoreOptions::default()
            },
        );
        match read(&s, &h, body.as_bytes()).unwrap().events.remove(0) {
            StoreEvent::Refund(r) => r,
            other => panic!("{other:?}"),
        }
    };
    let r = read_refund(AmountBasis::Subtotal);
    assert_eq!(r.amount, RefundAmount::Exact(money(2250, "USD")));
    assert_eq!(r.order, OrderRef::one("5718234901827"));
    assert_eq!(
        read_refund(AmountBasis::Total).amount,
        RefundAmount::Exact(money(2430, "USD"))
    );
}

#[test]
fn shopify_reads_the_shops_money() {
    let h = headers(&[("x-shopify-topic", "refunds/create")]);
    // The customer paid in euros; the shop's books (and Upline's) are in dollars.
    let body = fixture("shopify/refunds-create.json").replace(
        r#""presentment_money": {
          "amount": "22.50",
          "currency_code": "USD""#,
        r#""presentment_money": {
          "amount": "20.70",
          "currency_code": "EUR""#,
    );
    assert!(body.contains("EUR"), "the fixture's layout changed");
    let s = store(Platform::Shopify, StoreOptions::default());
    let StoreEvent::Refund(r) = read(&s, &h, body.as_bytes()).unwrap().events.remove(0) else {
        panic!()
    };
    assert_eq!(r.amount, RefundAmount::Exact(money(2250, "USD")));
    // A refund without money or items (a restock only) is nothing to take back.
    let empty =
        r#"{"id": 9, "order_id": 5718234901827, "refund_line_items": [], "transactions": []}"#;
    let d = read(&s, &h, empty.as_bytes()).unwrap();
    assert!(
        matches!(d.events.as_slice(), [StoreEvent::Ignore(_)]),
        "{d:?}"
    );
}

#[test]
fn woocommerce_pings_refunds_and_statuses() {
    assert!(woocommerce::is_ping(
        fixture("woocommerce/ping.txt").as_bytes()
    ));
    assert!(!woocommerce::is_ping(b"webhook_id=12&x=1"));
    let s = store(Platform::Woocommerce, StoreOptions::default());
    let h = headers(&[("x-wc-webhook-topic", "order.updated")]);
    let d = read(
        &s,
        &h,
        fixture("woocommerce/order-refunded.json").as_bytes(),
    )
    .unwrap();
    let [StoreEvent::Order(o), StoreEvent::Refund(r)] = d.events.as_slice() else {
        panic!("{:?}", d.events)
    };
    assert_eq!(o.amount, money(5750, "EUR"));
    assert_eq!(o.promo_codes, ["upline10"]);
    assert_eq!(
        r.amount,
        RefundAmount::ShareOf {
            given: money(2700, "EUR"),
            of: money(7500, "EUR")
        }
    );
    assert_eq!(r.refund_id, "woocommerce-refund-4830");
    let other = headers(&[("x-wc-webhook-topic", "product.updated")]);
    let d = read(&s, &other, b"{}").unwrap();
    assert!(matches!(d.events.as_slice(), [StoreEvent::Ignore(_)]));
}

#[test]
fn stripe_invoices_name_their_subscription_in_either_api_version() {
    let s = store(Platform::Stripe, StoreOptions::default());
    let none = headers(&[]);
    for file in [
        "stripe/invoice-paid-cycle.json",
        "stripe/invoice-paid-cycle-basil.json",
    ] {
        let o = only_order(read(&s, &none, fixture(file).as_bytes()).unwrap());
        let sub = o.subscription.unwrap();
        assert_eq!(
            (sub.id.as_str(), sub.renewal),
            ("sub_1RuG2bHk2QwXy9LmT8pW3xRa", true),
            "{file}"
        );
        assert_eq!(o.amount, money(2900, "USD"));
    }
    // A subscription's checkout is recorded under its first invoice.
    let o = only_order(
        read(
            &s,
            &none,
            fixture("stripe/checkout-session-subscription.json").as_bytes(),
        )
        .unwrap(),
    );
    assert_eq!(o.order_id, "in_1RuG2bHk2QwXy9LmY6fK0cVz");
    assert_eq!(o.click_ids, ["CLICKID"]);
    // Live events on a test-mode store are ignored.
    let test = store(
        Platform::Stripe,
        StoreOptions {
            mode: Some(StripeMode::Test),
            ..StoreOptions::default()
        },
    );
    let d = read(
        &test,
        &none,
        fixture("stripe/checkout-session-completed.json").as_bytes(),
    )
    .unwrap();
    assert!(matches!(d.events.as_slice(), [StoreEvent::Ignore(r)] if r.contains("live-mode")));
    let lost = read(
        &s,
        &none,
        fixture("stripe/dispute-closed-lost.json").as_bytes(),
    )
    .unwrap();
    assert!(matches!(
        lost.events.as_slice(),
        [StoreEvent::Refund(r)] if r.kind == RefundKind::Chargeback && r.amount == RefundAmount::Rest
    ));
}

#[test]
fn paddle_renewals_and_adjustments_waiting_for_approval() {
    let s = store(Platform::Paddle, StoreOptions::default());
    let none = headers(&[]);
    let o = only_order(
        read(
            &s,
            &none,
            fixture("paddle/transaction-completed.json").as_bytes(),
        )
        .unwrap(),
    );
    assert_eq!(o.amount, money(4410, "EUR"));
    assert!(o.subscription.as_ref().is_some_and(|s| !s.renewal));
    let o = only_order(
        read(
            &s,
            &none,
            fixture("paddle/transaction-renewal.json").as_bytes(),
        )
        .unwrap(),
    );
    assert!(o.subscription.as_ref().is_some_and(|s| s.renewal));
    let pending = fixture("paddle/adjustment-refund-approved.json").replace(
        "\"status\": \"approved\"",
        "\"status\": \"pending_approval\"",
    );
    let d = read(&s, &none, pending.as_bytes()).unwrap();
    assert!(matches!(d.events.as_slice(), [StoreEvent::Ignore(r)] if r.contains("once approved")));
    let d = read(
        &s,
        &none,
        fixture("paddle/adjustment-chargeback.json").as_bytes(),
    )
    .unwrap();
    assert!(
        matches!(d.events.as_slice(), [StoreEvent::Refund(r)] if r.kind == RefundKind::Chargeback)
    );
}

#[test]
fn a_body_that_does_not_read_names_what_is_wrong() {
    let s = store(Platform::Stripe, StoreOptions::default());
    let err = read(&s, &headers(&[]), b"not json").unwrap_err();
    assert!(
        matches!(err, crate::error::AppError::Invalid(ref f) if f[0].field == "body"),
        "{err:?}"
    );
    let bad_amount = r#"{"id":"evt","type":"checkout.session.completed","livemode":true,
        "data":{"object":{"id":"cs","payment_status":"paid","currency":"usd","amount_total":"x"}}}"#;
    let err = read(&s, &headers(&[]), bad_amount.as_bytes()).unwrap_err();
    assert!(
        matches!(err, crate::error::AppError::Invalid(ref f) if f[0].field == "data"),
        "{err:?}"
    );
}
