//! Counter attributes of a stats item.

use crate::targeting::RejectReason;

/// Gross clicks: people the campaign accepted, every click counted.
pub const CLICKS: &str = "clicks";
/// Clicks that were the visitor's first on the link in 24 hours.
pub const UNIQUE_CLICKS: &str = "unique_clicks";
/// Bots, crawlers, link previews and HEAD requests: redirected, not counted as clicks.
pub const BOT_CLICKS: &str = "bot_clicks";
/// People targeting sent to the fallback URL (and per reason below).
pub const REJECTED_CLICKS: &str = "rejected_clicks";
pub const IMPRESSIONS: &str = "impressions";

pub fn rejected(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::Country => "rejected_country",
        RejectReason::Device => "rejected_device",
        RejectReason::Os => "rejected_os",
    }
}

pub const CONVERSIONS: &str = "conversions";
pub const REVENUE: &str = "revenue_minor";
pub const COMMISSION: &str = "commission_minor";
