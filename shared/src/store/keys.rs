//! Key construction, in one place: every item's partition and sort key, and every
//! index key, is built here and nowhere else.

use super::*;
use crate::ids::{
    CampaignId, ConversionId, LineId, LinkCode, PartnerId, PayoutId, PayoutRunId, PromoCodeId,
    StoreId,
};

pub fn program() -> Key {
    Key::new("PROGRAM", "SETTINGS")
}
pub fn campaign(id: &CampaignId) -> Key {
    Key::new("PROGRAM", format!("CAMPAIGN#{id}"))
}
pub fn partner(id: &PartnerId) -> Key {
    Key::new(format!("PARTNER#{id}"), "PROFILE")
}
pub fn partner_email(email: &str) -> Key {
    Key::new(format!("EMAIL#{email}"), "EMAIL")
}
pub fn referral_code(code: &str) -> Key {
    Key::new(format!("REFCODE#{code}"), "REFCODE")
}
pub fn api_key(hash: &str) -> Key {
    Key::new(format!("APIKEY#{hash}"), "APIKEY")
}
pub fn link(code: &LinkCode) -> Key {
    Key::new(format!("LINK#{code}"), "LINK")
}
pub fn link_of(partner_id: &PartnerId, campaign_id: &CampaignId) -> Key {
    Key::new(format!("LINKOF#{partner_id}#{campaign_id}"), "LINKOF")
}
pub fn click(click_id: &str) -> Key {
    Key::new(format!("CLICK#{click_id}"), "CLICK")
}
pub fn conversion(id: &ConversionId) -> Key {
    Key::new(format!("CONVERSION#{id}"), "CONVERSION")
}
pub fn order(campaign_id: &CampaignId, order_id: &str) -> Key {
    Key::new(format!("ORDER#{campaign_id}#{order_id}"), "ORDER")
}
pub fn line(conversion_id: &ConversionId, level: u8) -> Key {
    Key::new(
        format!("CONVERSION#{conversion_id}"),
        format!("LINE#{level:02}"),
    )
}
/// A reversing line sorts right after the line it reverses.
pub fn reversal_line(conversion_id: &ConversionId, level: u8, refund_id: &str) -> Key {
    Key::new(
        format!("CONVERSION#{conversion_id}"),
        format!("LINE#{level:02}#REV#{refund_id}"),
    )
}
pub fn refund(conversion_id: &ConversionId, refund_id: &str) -> Key {
    Key::new(
        format!("CONVERSION#{conversion_id}"),
        format!("REFUND#{refund_id}"),
    )
}
pub fn stats(day: Day, campaign_id: &CampaignId, partner_id: &PartnerId) -> Key {
    Key::new(
        format!("STATS#{day}"),
        format!("{campaign_id}#{partner_id}"),
    )
}
pub fn subscription(subscription_id: &str) -> Key {
    Key::new(format!("SUBSCRIPTION#{subscription_id}"), "SUBSCRIPTION")
}
/// Marks a storefront customer as seen: their first conversion wrote it.
pub fn customer(customer_id: &str) -> Key {
    Key::new(format!("CUSTOMER#{customer_id}"), "CUSTOMER")
}
pub fn email_sent(email_id: &str) -> Key {
    Key::new(format!("EMAILSENT#{email_id}"), "EMAILSENT")
}
/// One rate limit's counter for one subject (a hashed client address or target) in
/// one fixed window.
pub fn rate_window(limit: &str, subject_hash: &str, window_start_secs: i64) -> Key {
    Key::new(
        format!("RATE#{limit}#{subject_hash}"),
        format!("{window_start_secs:012}"),
    )
}
/// A pending sign-in by email link, under the hash of its token.
pub fn sign_in_token(token_hash: &str) -> Key {
    Key::new(format!("SIGNIN#{token_hash}"), "SIGNIN")
}
/// A browser session, under the hash of its id.
pub fn session(id_hash: &str) -> Key {
    Key::new(format!("SESSION#{id_hash}"), "SESSION")
}
/// A pending console sign-in (an operator's emailed link), under the hash of its token:
/// apart from partners' so neither population's token opens the other's door.
pub fn operator_sign_in_token(token_hash: &str) -> Key {
    Key::new(format!("OPSIGNIN#{token_hash}"), "OPSIGNIN")
}
/// An operator's console session, under the hash of its id.
pub fn operator_session(id_hash: &str) -> Key {
    Key::new(format!("OPSESSION#{id_hash}"), "OPSESSION")
}
pub fn deployment_secrets() -> Key {
    Key::new("DEPLOYMENT", "SECRETS")
}
/// A partner's approved volume on a campaign in the month containing `at`, for tiers.
pub fn tier_volume(partner_id: &PartnerId, campaign_id: &CampaignId, at: Timestamp) -> Key {
    Key::new(
        format!("TIER#{partner_id}#{campaign_id}"),
        format!("MONTH#{}", &at.day().to_string()[..7]),
    )
}
/// Terms that replace a campaign's for one partner, or for a group of partners.
pub fn partner_terms(campaign_id: &CampaignId, partner_id: &PartnerId) -> Key {
    Key::new(
        format!("CAMPAIGN#{campaign_id}"),
        format!("TERMS#PARTNER#{partner_id}"),
    )
}
pub fn group_terms(campaign_id: &CampaignId, group: &str) -> Key {
    Key::new(
        format!("CAMPAIGN#{campaign_id}"),
        format!("TERMS#GROUP#{group}"),
    )
}
/// A partner's cap usage on a campaign for the day or month containing `at`.
pub fn cap_usage(
    partner_id: &PartnerId,
    campaign_id: &CampaignId,
    period: crate::terms::CapPeriod,
    at: Timestamp,
) -> Key {
    let day = at.day().to_string();
    let sk = match period {
        crate::terms::CapPeriod::Day => format!("DAY#{day}"),
        crate::terms::CapPeriod::Month => format!("MONTH#{}", &day[..7]),
    };
    Key::new(format!("CAP#{partner_id}#{campaign_id}"), sk)
}
/// The operator's rate for converting `currency` into the program currency.
pub fn exchange_rate(currency: &str) -> Key {
    Key::new("PROGRAM", format!("FXRATE#{currency}"))
}
/// A visitor's last unique click on a link (the visitor is a hash of the hashed IP
/// and the user agent).
pub fn unique_visitor(link_code: &LinkCode, visitor: &str) -> Key {
    Key::new(format!("UNIQUE#{link_code}#{visitor}"), "UNIQUE")
}
/// A partner's counters for one sub-id value on one day and campaign.
pub fn sub_stats(
    partner_id: &PartnerId,
    day: Day,
    campaign_id: &CampaignId,
    sub: &str,
    value: &str,
) -> Key {
    Key::new(
        format!("SUBSTATS#{partner_id}"),
        format!("{day}#{campaign_id}#{sub}#{value}"),
    )
}
/// A partner's own postback URL template.
pub fn partner_postback(partner_id: &PartnerId) -> Key {
    Key::new(format!("PARTNER#{partner_id}"), "POSTBACK")
}
/// Written once a partner postback was delivered, so redeliveries do not call again.
pub fn partner_postback_delivered(delivery_id: &str) -> Key {
    Key::new(format!("PBSENT#{delivery_id}"), "PBSENT")
}
pub fn partner_postback_log_partition(partner_id: &PartnerId) -> String {
    format!("PARTNER#{partner_id}#POSTBACKLOG")
}
pub fn partner_postback_log(partner_id: &PartnerId, at: Timestamp, id: &str) -> Key {
    Key::new(
        partner_postback_log_partition(partner_id),
        time_ordered(at, id),
    )
}
pub fn promo_code(code: &PromoCodeId) -> Key {
    Key::new(format!("PROMO#{code}"), "PROMO")
}
/// An operator of the console, under their lower-case email.
pub fn operator(email: &str) -> Key {
    Key::new("PROGRAM", format!("OPERATOR#{email}"))
}
pub const OPERATORS_PREFIX: &str = "OPERATOR#";
/// A connected storefront.
pub fn store(id: &StoreId) -> Key {
    Key::new("PROGRAM", format!("STORE#{id}"))
}
pub const STORES_PREFIX: &str = "STORE#";
/// One webhook delivery to a store, by the platform's own delivery or event id: written
/// once the delivery was acted on, so a redelivery answers `duplicate`.
pub fn store_delivery(store: &StoreId, delivery_id: &str) -> Key {
    Key::new(
        format!("STOREDELIVERY#{store}#{delivery_id}"),
        "STOREDELIVERY",
    )
}
pub fn store_log_partition(store: &StoreId) -> String {
    format!("STORE#{store}#DELIVERIES")
}
/// A store's delivery log entry, newest last in sort order.
pub fn store_log(store: &StoreId, at: Timestamp, id: &str) -> Key {
    Key::new(store_log_partition(store), time_ordered(at, id))
}
/// Another id a store's platform gives an order (a Stripe payment intent or charge of
/// an invoice), naming the order id the conversion was recorded under.
pub fn store_order_alias(store: &StoreId, alias: &str) -> Key {
    Key::new(format!("STOREREF#{store}#{alias}"), "STOREREF")
}
/// How far the hold-period sweep has fully approved.
pub fn approval_sweep() -> Key {
    Key::new("PROGRAM", "APPROVAL_SWEEP")
}

/// Index partitions.
pub fn partners_listing() -> String {
    "PARTNERS".into()
}
pub fn partner_links(partner_id: &PartnerId) -> String {
    format!("PARTNER#{partner_id}#LINKS")
}
pub fn partner_promo_codes(partner_id: &PartnerId) -> String {
    format!("PARTNER#{partner_id}#PROMOS")
}
pub fn promo_codes_listing() -> String {
    "PROMOS".into()
}
pub fn partner_lines(partner_id: &PartnerId) -> String {
    format!("PARTNER#{partner_id}#LINES")
}
pub fn partner_conversions(partner_id: &PartnerId) -> String {
    format!("PARTNER#{partner_id}#CONVERSIONS")
}
pub fn partner_stats(partner_id: &PartnerId) -> String {
    format!("PARTNER#{partner_id}#STATS")
}
/// How many index partitions one day's conversions, and separately one day's commission
/// lines, are spread over. A conversion is written to its day twice (recorded, then
/// commissioned) and a sale with a ten-level upline writes eleven lines: at 2,000 such
/// sales a second that is 22,000 line writes a second, about 690 per shard, under an
/// index partition's 1,000 (`docs/data-model.md` has the arithmetic).
pub const DAY_SHARDS: u32 = 32;

/// A stable shard of `id` among `shards`: the same id always lands in the same one, so a
/// rewrite never moves an item between partitions.
fn shard_of(id: &str, shards: u32) -> u32 {
    id.bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % shards
}

/// The index partition of a conversion in its day's listing.
pub fn conversions_on(day: Day, conversion_id: &ConversionId) -> String {
    format!(
        "CONVERSIONS#{day}#{:02}",
        shard_of(conversion_id, DAY_SHARDS)
    )
}

/// Every partition of one day's conversions: its shards, then the unsharded partition
/// conversions were written to before the day was sharded (read, never written).
pub fn conversions_of_day(day: Day) -> Vec<String> {
    day_shards(&format!("CONVERSIONS#{day}"))
}

fn day_shards(unsharded: &str) -> Vec<String> {
    (0..DAY_SHARDS)
        .map(|n| format!("{unsharded}#{n:02}"))
        .chain([unsharded.to_string()])
        .collect()
}
pub fn recruits_of(partner_id: &PartnerId) -> String {
    format!("RECRUITS#{partner_id}")
}
pub fn email_template(name: &str) -> Key {
    Key::new("EMAILTEMPLATE", name)
}
pub fn payout_run(period: &PayoutRunId) -> Key {
    Key::new(format!("PAYOUTRUN#{period}"), "RUN")
}
pub fn payout_runs_listing() -> String {
    "PAYOUTRUNS".into()
}
pub fn payout(id: &PayoutId) -> Key {
    Key::new(format!("PAYOUT#{id}"), "PAYOUT")
}
/// A statement line: the commission line as the payout took it.
pub fn statement_line(payout_id: &PayoutId, line_id: &LineId) -> Key {
    Key::new(format!("PAYOUT#{payout_id}"), format!("LINE#{line_id}"))
}
pub fn run_payouts(run_id: &PayoutRunId) -> String {
    format!("RUNPAYOUTS#{run_id}")
}
pub fn partner_payouts(partner_id: &PartnerId) -> String {
    format!("PARTNERPAYOUTS#{partner_id}")
}
/// The open-lines index partition of a partner's pending lines.
pub fn pending_lines(partner_id: &PartnerId) -> String {
    format!("PENDING#{partner_id}")
}
/// The open-lines index partition of every approved line not yet in a payout.
pub const PAYABLE_LINES: &str = "PAYABLE";
/// A payable line's place in that partition: by partner, then currency, then time.
pub fn payable_line(partner_id: &PartnerId, currency: Currency, time_ordered: &str) -> String {
    format!("{partner_id}#{}#{time_ordered}", currency.code())
}
/// The prefix of one partner's payable lines (all currencies).
pub fn payable_prefix(partner_id: &PartnerId) -> String {
    format!("{partner_id}#")
}
/// The index partition of a commission line in its day's listing: the shard of its
/// conversion, so a sale's lines and its conversion share a shard number.
pub fn lines_on(day: Day, conversion_id: &ConversionId) -> String {
    format!("LINES#{day}#{:02}", shard_of(conversion_id, DAY_SHARDS))
}

/// Every partition of one day's commission lines (as `conversions_of_day`).
pub fn lines_of_day(day: Day) -> Vec<String> {
    day_shards(&format!("LINES#{day}"))
}

/// How many open-index partitions hold conversions still waiting for their commission
/// lines: a conversion passes through once (written, then rewritten when commissioned),
/// so spreading them keeps each partition far below an index partition's write rate.
pub const AWAITING_SHARDS: u32 = 8;

/// The open-index partition of a conversion still `recorded`, by a stable hash of its id.
pub fn awaiting_commission(conversion_id: &ConversionId) -> String {
    awaiting_shard(shard_of(conversion_id, AWAITING_SHARDS))
}

pub fn awaiting_shard(shard: u32) -> String {
    format!("AWAITING#{shard}")
}

/// Where the sweep moves a conversion it gave up re-queueing: out of the shards it
/// reads, into one an operator can list.
pub const GAVE_UP_AWAITING: &str = "AWAITING#GAVE_UP";

/// A sort key that orders by time, then by id: 13 zero-padded digits of milliseconds.
pub fn time_ordered(at: Timestamp, id: &str) -> String {
    format!("{:013}#{id}", at.millis().max(0))
}
