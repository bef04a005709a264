//! Parse: a refund request's fields read into a [`RefundCommand`], every field error
//! found at once. Which conversion the request names is read here too; looking it up is
//! the load step's, which adds its own errors before [`Parsed::finish`] reports them all.

use crate::conversion::{Conversion, RefundKind, parse_order_id};
use crate::error::{AppError, FieldErrors};

use super::RefundRequest;

/// A refund request once read: everything but the amount, which is read in a currency
/// that may be the conversion's, so [`super::decide`] reads it once the conversion is
/// known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RefundCommand {
    pub refund_id: String,
    pub kind: RefundKind,
    /// The amount as sent; everything not yet refunded when absent.
    pub amount: Option<String>,
    /// The refunded total as sent, instead of an amount.
    pub refunded_total: Option<String>,
    /// Take back at most what is left (a store's refund on a wider base).
    pub up_to_rest: bool,
    /// The currency code as sent; the sale's own currency when absent.
    pub currency: Option<String>,
    /// At most 500 characters of the reason sent.
    pub reason: Option<String>,
}

/// Which conversion a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// Its id, as sent (the id wins when an order id is sent too).
    Id(String),
    /// An order id, in one campaign or in whichever campaign has it.
    Order {
        order: String,
        campaign: Option<String>,
    },
}

/// A request's fields as read so far: each a value or an error in `errors`.
pub(super) struct Parsed {
    refund_id: Option<String>,
    kind: Option<RefundKind>,
    /// `None` when the request names no conversion usably (its error is in `errors`).
    pub target: Option<Target>,
    /// The errors found so far; the conversion's look-up adds its own.
    pub errors: FieldErrors,
    amount: Option<String>,
    refunded_total: Option<String>,
    up_to_rest: bool,
    currency: Option<String>,
    reason: Option<String>,
}

/// Reads every field of `req` that does not need the conversion.
pub(super) fn parse(req: &RefundRequest) -> Parsed {
    let mut errors = FieldErrors::default();
    let refund_id = errors
        .required("refund_id", req.refund_id.clone())
        .and_then(|r| {
            let r = r.0.trim().to_string();
            let ok = !r.is_empty() && r.len() <= 64 && r.chars().all(|c| c.is_ascii_graphic());
            errors.take(
                "refund_id",
                if ok {
                    Ok(r)
                } else {
                    Err("must be 1 to 64 printable characters without spaces")
                },
            )
        });
    let kind = match req.kind.as_deref() {
        None | Some("refund") => Some(RefundKind::Refund),
        Some("chargeback") => Some(RefundKind::Chargeback),
        Some(other) => {
            errors.push(
                "kind",
                format!("must be refund or chargeback, got {other:?}"),
            );
            None
        }
    };
    if req.amount.is_some() && req.refunded_total.is_some() {
        errors.push("refunded_total", "give amount or refunded_total, not both");
    }
    let target = target(req, &mut errors);
    Parsed {
        refund_id,
        kind,
        target,
        errors,
        amount: req.amount.as_ref().map(|a| a.0.clone()),
        refunded_total: req.refunded_total.as_ref().map(|a| a.0.clone()),
        up_to_rest: req.up_to_rest,
        currency: req.currency.clone(),
        reason: req.reason.as_ref().map(|r| r.chars().take(500).collect()),
    }
}

/// The conversion id if one was sent, else the order id (required then) and campaign.
fn target(req: &RefundRequest, errors: &mut FieldErrors) -> Option<Target> {
    if let Some(id) = &req.conversion_id {
        return Some(Target::Id(id.clone()));
    }
    let Some(order) = req.order_id.as_ref() else {
        errors.push("order_id", "is required (or give conversion_id)");
        return None;
    };
    let order = errors.take("order_id", parse_order_id(&order.0))?;
    Some(Target::Order {
        order,
        campaign: req.campaign_id.clone(),
    })
}

impl Parsed {
    /// The command and its conversion, once the conversion was looked up; or every
    /// field error of the request at once.
    pub(super) fn finish(
        self,
        conversion: Option<Conversion>,
    ) -> Result<(RefundCommand, Conversion), AppError> {
        let (refund_id, kind, conversion) =
            self.errors
                .finish((self.refund_id, self.kind, conversion))?;
        let command = RefundCommand {
            refund_id,
            kind,
            amount: self.amount,
            refunded_total: self.refunded_total,
            up_to_rest: self.up_to_rest,
            currency: self.currency,
            reason: self.reason,
        };
        Ok((command, conversion))
    }
}
