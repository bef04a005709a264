//! The JSON shapes of refunds: the request storefronts and operators send, and the
//! answer with the reversing lines it wrote.

use serde::{Deserialize, Serialize};

use crate::conversion::RefundKind;
use crate::money::Currency;
use crate::usecases::input::{DecimalText, IdText};

/// Unknown fields are ignored, as on postbacks.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct RefundRequest {
    /// The storefront's id for this refund; repeats with the same id change nothing.
    pub refund_id: Option<IdText>,
    /// Which conversion: its id, or the order id (with the campaign when several
    /// campaigns could have it).
    pub conversion_id: Option<String>,
    pub order_id: Option<IdText>,
    pub campaign_id: Option<String>,
    /// How much was given back; everything not yet refunded when absent.
    pub amount: Option<DecimalText>,
    /// Instead of `amount`: the order's refunded total as it now stands (what platforms
    /// that count refunds cumulatively send); the refund is what it adds to what was
    /// refunded before, so repeats and late deliveries change nothing.
    pub refunded_total: Option<DecimalText>,
    /// A refund counted on a wider base than the sale (a store's refund including tax the
    /// sale did not) takes back at most what is left instead of being refused. Set by
    /// the store receiver, not by requests.
    #[serde(skip)]
    pub up_to_rest: bool,
    pub currency: Option<String>,
    /// `refund` (default) or `chargeback`.
    pub kind: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RefundOutcome {
    pub refund_id: String,
    pub conversion_id: String,
    pub kind: RefundKind,
    pub amount: String,
    pub currency: Currency,
    /// The conversion's refunded total after this refund.
    pub refunded_total: String,
    /// False when this repeated a refund already recorded.
    pub created: bool,
    /// The reversing lines written, level by level.
    pub reversals: Vec<ReversalView>,
}

#[derive(Debug, Serialize)]
pub struct ReversalView {
    pub partner_id: String,
    pub level: u8,
    pub amount: String,
}
