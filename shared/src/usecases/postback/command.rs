//! A postback parsed: its fields checked, every problem reported at once, into the
//! command the recording acts on.

use super::*;

/// A postback's fields, parsed and checked (every problem reported at once), with the two
/// things checking depends on read: the subscription it renews and the exchange rate of
/// its currency.
pub(super) struct PostbackCommand {
    pub(super) subscription_id: Option<String>,
    pub(super) subscription: Option<Subscription>,
    pub(super) claims: Option<(String, click_id::ClickIdClaims)>,
    pub(super) promo_text: Option<String>,
    pub(super) order_id: String,
    /// As sent, in the postback's currency.
    pub(super) amount: Money,
    /// The amount in the program currency, when the postback's was another.
    pub(super) amount_in_program: Option<i64>,
    pub(super) rate: Option<ExchangeRate>,
    pub(super) event: String,
    pub(super) discount_minor: i64,
    pub(super) tax_minor: i64,
    pub(super) shipping_minor: i64,
    pub(super) items: Vec<LineItem>,
    pub(super) customer_id: Option<String>,
    pub(super) new_customer: Option<bool>,
}

// Long: one field after another, each checked where it is read so that every problem
// is reported at once; the steps are in the order the postback's fields are documented.
pub(super) async fn parse_postback(
    services: &Services,
    program: &crate::program::Program,
    req: PostbackRequest,
) -> Result<PostbackCommand, AppError> {
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
    let (order_id, amount, event) = errors.finish((order_id, amount, event))?;
    Ok(PostbackCommand {
        subscription_id,
        subscription,
        claims,
        promo_text,
        order_id,
        amount,
        amount_in_program,
        rate,
        event,
        discount_minor,
        tax_minor,
        shipping_minor,
        items,
        customer_id,
        new_customer: req.new_customer,
    })
}
