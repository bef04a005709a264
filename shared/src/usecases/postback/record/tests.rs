//! Unit tests of the pure steps of recording a postback: the conversion it makes and the
//! subscription a first payment starts.

use super::*;
use rust_decimal::Decimal;

fn currency(code: &str) -> Currency {
    Currency::from_code(code).unwrap()
}

fn command() -> PostbackCommand {
    PostbackCommand {
        subscription_id: None,
        subscription: None,
        claims: None,
        promo_text: None,
        order_id: "o-1".into(),
        amount: Money::from_minor(10_000, currency("USD")),
        amount_in_program: None,
        rate: None,
        event: "sale".into(),
        discount_minor: 500,
        tax_minor: 0,
        shipping_minor: 250,
        items: vec![],
        customer_id: Some("cust-1".into()),
        new_customer: None,
    }
}

fn credit(unattributed: Option<&str>) -> Credit {
    Credit {
        partner_id: "p-ada".into(),
        campaign_id: "spring-sale".into(),
        link_code: Some("spring01".into()),
        click_id: Some("clk-1".into()),
        clicked_at: Some(Timestamp(1)),
        attribution: Attribution::default(),
        unattributed: unattributed.map(str::to_string),
    }
}

#[test]
fn a_sale_in_the_program_currency_is_recorded_as_sent() {
    let c = new_conversion(
        &command(),
        &credit(None),
        "c-1".into(),
        Some(true),
        Default::default(),
        Timestamp(9),
    );
    assert_eq!(c.amounts.sale, Money::from_minor(10_000, currency("USD")));
    assert_eq!(c.amounts.discount.minor(), 500);
    assert_eq!(c.amounts.shipping.minor(), 250);
    assert_eq!(c.original, None);
    assert_eq!(c.status, ConversionStatus::Recorded);
    assert_eq!(
        (c.partner_id.as_str(), c.created_at),
        ("p-ada", Timestamp(9))
    );
    assert_eq!(c.first_time_customer, Some(true));
}

#[test]
fn a_converted_sale_keeps_the_original_and_records_the_program_amount() {
    let mut cmd = command();
    cmd.amount = Money::from_minor(10_000, currency("GBP"));
    cmd.amount_in_program = Some(11_700);
    cmd.rate = Some(ExchangeRate {
        from: currency("GBP"),
        to: currency("EUR"),
        rate: Decimal::new(117, 2),
    });
    let c = new_conversion(
        &cmd,
        &credit(None),
        "c-1".into(),
        None,
        Default::default(),
        Timestamp(9),
    );
    assert_eq!(c.amounts.sale, Money::from_minor(11_700, currency("EUR")));
    assert_eq!(c.amounts.discount.currency(), currency("EUR"));
    assert_eq!(
        c.original.unwrap().amount,
        Money::from_minor(10_000, currency("GBP"))
    );
}

#[test]
fn an_unattributed_credit_records_the_reason_and_starts_no_subscription() {
    let mut cmd = command();
    cmd.subscription_id = Some("sub-1".into());
    let stale = credit(Some("click clk-1 is too old"));
    let c = new_conversion(
        &cmd,
        &stale,
        "c-1".into(),
        None,
        Default::default(),
        Timestamp(9),
    );
    assert_eq!(c.status, ConversionStatus::Unattributed);
    assert_eq!(
        c.unattributed_reason.as_deref(),
        Some("click clk-1 is too old")
    );
    assert_eq!(started_subscription(&cmd, &stale, &c), None);
    // An earning first payment starts it, from this conversion.
    let c = new_conversion(
        &cmd,
        &credit(None),
        "c-2".into(),
        None,
        Default::default(),
        Timestamp(9),
    );
    let sub = started_subscription(&cmd, &credit(None), &c).unwrap();
    assert_eq!(
        (sub.first_conversion_id.as_str(), sub.started_at),
        ("c-2", Timestamp(9))
    );
    assert!(!c.subscription.unwrap().renewal);
}
