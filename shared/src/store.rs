//! The single-table data model: every entity's key, its index entries and its mapping to
//! and from a Table item, written once, above the Table port. `docs/data-model.md` lists
//! the same keys with the access pattern each serves.
//!
//! Entities are stored as a JSON `body` attribute plus the few top-level attributes that
//! conditions, counters, indexes and TTL need. Keys are upper-case prefixes joined by `#`.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::campaign::Campaign;
use crate::clock::{Day, Timestamp};
use crate::commission::{CommissionLine, LineStatus};
use crate::error::AppError;
use crate::ids::Principal;
use crate::money::{Currency, ExchangeRate};
use crate::partner::Partner;
use crate::ports::{
    Attr, Condition, Index, Item, Key, Page, SortKeyCondition, Table, TableError, TxOp, Update,
};
use crate::program::Program;
use crate::secrets::SecretsKey;
use crate::terms::{Terms, TermsSource, TierUsage};
use crate::tracking::{Click, Conversion, Link};

/// How long raw click records are kept (the TTL); counters keep the totals for good.
pub const CLICK_RETENTION_DAYS: i64 = 90;

/// Key construction, in one place.
pub mod keys {
    use super::*;

    pub fn program() -> Key {
        Key::new("PROGRAM", "SETTINGS")
    }
    pub fn campaign(id: &str) -> Key {
        Key::new("PROGRAM", format!("CAMPAIGN#{id}"))
    }
    pub fn partner(id: &str) -> Key {
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
    pub fn link(code: &str) -> Key {
        Key::new(format!("LINK#{code}"), "LINK")
    }
    pub fn link_of(partner_id: &str, campaign_id: &str) -> Key {
        Key::new(format!("LINKOF#{partner_id}#{campaign_id}"), "LINKOF")
    }
    pub fn click(click_id: &str) -> Key {
        Key::new(format!("CLICK#{click_id}"), "CLICK")
    }
    pub fn conversion(id: &str) -> Key {
        Key::new(format!("CONVERSION#{id}"), "CONVERSION")
    }
    pub fn order(campaign_id: &str, order_id: &str) -> Key {
        Key::new(format!("ORDER#{campaign_id}#{order_id}"), "ORDER")
    }
    pub fn line(conversion_id: &str, level: u8) -> Key {
        Key::new(
            format!("CONVERSION#{conversion_id}"),
            format!("LINE#{level:02}"),
        )
    }
    /// A reversing line sorts right after the line it reverses.
    pub fn reversal_line(conversion_id: &str, level: u8, refund_id: &str) -> Key {
        Key::new(
            format!("CONVERSION#{conversion_id}"),
            format!("LINE#{level:02}#REV#{refund_id}"),
        )
    }
    pub fn refund(conversion_id: &str, refund_id: &str) -> Key {
        Key::new(
            format!("CONVERSION#{conversion_id}"),
            format!("REFUND#{refund_id}"),
        )
    }
    pub fn stats(day: Day, campaign_id: &str, partner_id: &str) -> Key {
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
    pub fn deployment_secrets() -> Key {
        Key::new("DEPLOYMENT", "SECRETS")
    }
    /// A partner's approved volume on a campaign in the month containing `at`, for tiers.
    pub fn tier_volume(partner_id: &str, campaign_id: &str, at: Timestamp) -> Key {
        Key::new(
            format!("TIER#{partner_id}#{campaign_id}"),
            format!("MONTH#{}", &at.day().to_string()[..7]),
        )
    }
    /// Terms that replace a campaign's for one partner, or for a group of partners.
    pub fn partner_terms(campaign_id: &str, partner_id: &str) -> Key {
        Key::new(
            format!("CAMPAIGN#{campaign_id}"),
            format!("TERMS#PARTNER#{partner_id}"),
        )
    }
    pub fn group_terms(campaign_id: &str, group: &str) -> Key {
        Key::new(
            format!("CAMPAIGN#{campaign_id}"),
            format!("TERMS#GROUP#{group}"),
        )
    }
    /// A partner's cap usage on a campaign for the day or month containing `at`.
    pub fn cap_usage(
        partner_id: &str,
        campaign_id: &str,
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
    pub fn unique_visitor(link_code: &str, visitor: &str) -> Key {
        Key::new(format!("UNIQUE#{link_code}#{visitor}"), "UNIQUE")
    }
    /// A partner's counters for one sub-id value on one day and campaign.
    pub fn sub_stats(partner_id: &str, day: Day, campaign_id: &str, sub: &str, value: &str) -> Key {
        Key::new(
            format!("SUBSTATS#{partner_id}"),
            format!("{day}#{campaign_id}#{sub}#{value}"),
        )
    }
    /// A partner's own postback URL template.
    pub fn partner_postback(partner_id: &str) -> Key {
        Key::new(format!("PARTNER#{partner_id}"), "POSTBACK")
    }
    /// Written once a partner postback was delivered, so redeliveries do not call again.
    pub fn partner_postback_delivered(delivery_id: &str) -> Key {
        Key::new(format!("PBSENT#{delivery_id}"), "PBSENT")
    }
    pub fn partner_postback_log_partition(partner_id: &str) -> String {
        format!("PARTNER#{partner_id}#POSTBACKLOG")
    }
    pub fn partner_postback_log(partner_id: &str, at: Timestamp, id: &str) -> Key {
        Key::new(
            partner_postback_log_partition(partner_id),
            time_ordered(at, id),
        )
    }
    pub fn promo_code(code: &str) -> Key {
        Key::new(format!("PROMO#{code}"), "PROMO")
    }
    /// How far the hold-period sweep has fully approved.
    pub fn approval_sweep() -> Key {
        Key::new("PROGRAM", "APPROVAL_SWEEP")
    }

    /// Index partitions.
    pub fn partners_listing() -> String {
        "PARTNERS".into()
    }
    pub fn partner_links(partner_id: &str) -> String {
        format!("PARTNER#{partner_id}#LINKS")
    }
    pub fn partner_promo_codes(partner_id: &str) -> String {
        format!("PARTNER#{partner_id}#PROMOS")
    }
    pub fn promo_codes_listing() -> String {
        "PROMOS".into()
    }
    pub fn partner_lines(partner_id: &str) -> String {
        format!("PARTNER#{partner_id}#LINES")
    }
    pub fn partner_conversions(partner_id: &str) -> String {
        format!("PARTNER#{partner_id}#CONVERSIONS")
    }
    pub fn partner_stats(partner_id: &str) -> String {
        format!("PARTNER#{partner_id}#STATS")
    }
    pub fn conversions_on(day: Day) -> String {
        format!("CONVERSIONS#{day}")
    }
    pub fn recruits_of(partner_id: &str) -> String {
        format!("RECRUITS#{partner_id}")
    }
    pub fn email_template(name: &str) -> Key {
        Key::new("EMAILTEMPLATE", name)
    }
    pub fn payout_run(period: &str) -> Key {
        Key::new(format!("PAYOUTRUN#{period}"), "RUN")
    }
    pub fn payout_runs_listing() -> String {
        "PAYOUTRUNS".into()
    }
    pub fn payout(id: &str) -> Key {
        Key::new(format!("PAYOUT#{id}"), "PAYOUT")
    }
    /// A statement line: the commission line as the payout took it.
    pub fn statement_line(payout_id: &str, line_id: &str) -> Key {
        Key::new(format!("PAYOUT#{payout_id}"), format!("LINE#{line_id}"))
    }
    pub fn run_payouts(run_id: &str) -> String {
        format!("RUNPAYOUTS#{run_id}")
    }
    pub fn partner_payouts(partner_id: &str) -> String {
        format!("PARTNERPAYOUTS#{partner_id}")
    }
    /// The open-lines index partition of a partner's pending lines.
    pub fn pending_lines(partner_id: &str) -> String {
        format!("PENDING#{partner_id}")
    }
    /// The open-lines index partition of every approved line not yet in a payout.
    pub const PAYABLE_LINES: &str = "PAYABLE";
    /// A payable line's place in that partition: by partner, then currency, then time.
    pub fn payable_line(partner_id: &str, currency: Currency, time_ordered: &str) -> String {
        format!("{partner_id}#{}#{time_ordered}", currency.code())
    }
    /// The prefix of one partner's payable lines (all currencies).
    pub fn payable_prefix(partner_id: &str) -> String {
        format!("{partner_id}#")
    }
    pub fn lines_on(day: Day) -> String {
        format!("LINES#{day}")
    }

    /// How many open-index partitions hold conversions still waiting for their commission
    /// lines: a conversion passes through once (written, then rewritten when commissioned),
    /// so spreading them keeps each partition far below an index partition's write rate.
    pub const AWAITING_SHARDS: u32 = 8;

    /// The open-index partition of a conversion still `recorded`, by a stable hash of its id.
    pub fn awaiting_commission(conversion_id: &str) -> String {
        let shard = conversion_id
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
            % AWAITING_SHARDS;
        awaiting_shard(shard)
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
}

/// Counter attributes of a stats item.
pub mod counters {
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
}

/// One (day, campaign, partner) row of counters.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize)]
pub struct StatsRow {
    pub day: String,
    pub campaign_id: String,
    pub partner_id: String,
    /// For sub-id rows: `sub1=value`; empty for the main counters.
    pub sub: String,
    pub clicks: i64,
    pub unique_clicks: i64,
    pub bot_clicks: i64,
    pub rejected_clicks: i64,
    pub rejected_country: i64,
    pub rejected_device: i64,
    pub rejected_os: i64,
    pub impressions: i64,
    pub conversions: i64,
    pub revenue_minor: i64,
    pub commission_minor: i64,
}

/// Serialises an entity into an item under `key`.
pub fn encode<T: Serialize>(key: Key, entity: &T) -> Item {
    let body = serde_json::to_string(entity).expect("entities are plain data");
    Item::new(key).with("body", body)
}

/// Reads an entity back from its item's body.
pub fn decode<T: DeserializeOwned>(item: &Item) -> Result<T, AppError> {
    let body = item
        .s("body")
        .ok_or_else(|| AppError::Internal(format!("item {:?} has no body", item.key)))?;
    serde_json::from_str(body)
        .map_err(|e| AppError::Internal(format!("item {:?} does not decode: {e}", item.key)))
}

/// Typed access to the table for every entity of the domain.
#[derive(Clone)]
pub struct Store {
    table: Arc<dyn Table>,
    /// Seals and opens the secrets kept in the table; functions that never read a
    /// secret run without it and pass sealed values through untouched.
    secrets: Option<Arc<SecretsKey>>,
    /// During a key rotation, the key values sealed before it still open with.
    previous_secrets: Option<Arc<SecretsKey>>,
}

/// What the program's postback secret is sealed as.
pub const POSTBACK_SECRET_PURPOSE: &str = "program.postback_secret";

impl Store {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Store {
            table,
            secrets: None,
            previous_secrets: None,
        }
    }

    /// This store, also opening values sealed with `key` (the one before a rotation);
    /// every write seals with the current key.
    pub fn with_previous_secrets_key(mut self, key: SecretsKey) -> Self {
        self.previous_secrets = Some(Arc::new(key));
        self
    }

    /// This store, sealing secrets with `key` on write and opening them on read.
    pub fn with_secrets_key(mut self, key: SecretsKey) -> Self {
        self.secrets = Some(Arc::new(key));
        self
    }

    /// A secret as stored: sealed when a key is configured.
    pub fn seal(&self, purpose: &str, plaintext: &str) -> String {
        match &self.secrets {
            Some(key) => key.seal(purpose, plaintext),
            None => plaintext.to_string(),
        }
    }

    /// A hash of `data` for `purpose` that only holders of the secrets key can recompute
    /// (plain SHA-256 where no key is configured).
    pub fn keyed_hash(&self, purpose: &str, data: &str) -> String {
        match &self.secrets {
            Some(key) => key.keyed_hash(purpose, data),
            None => {
                use sha2::{Digest, Sha256};
                let digest = Sha256::new()
                    .chain_update(purpose.as_bytes())
                    .chain_update(b"\0")
                    .chain_update(data.as_bytes())
                    .finalize();
                hex::encode(&digest[..16])
            }
        }
    }

    /// A stored secret's plaintext; sealed values need the key.
    pub fn open(&self, purpose: &str, stored: &str) -> Result<String, AppError> {
        match &self.secrets {
            Some(key) => key
                .open(purpose, stored)
                .or_else(|e| match &self.previous_secrets {
                    Some(previous) => previous.open(purpose, stored),
                    None => Err(e),
                })
                .map_err(|e| AppError::Internal(e.to_string())),
            None if crate::secrets::is_sealed(stored) => Err(AppError::Internal(
                crate::secrets::SecretsError::NoKey(purpose.to_string()).to_string(),
            )),
            None => Ok(stored.to_string()),
        }
    }

    pub fn table(&self) -> &Arc<dyn Table> {
        &self.table
    }

    async fn get_entity<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, AppError> {
        match self.table.get(key).await? {
            Some(item) => Ok(Some(decode(&item)?)),
            None => Ok(None),
        }
    }

    /// Every item of an index partition, following pages (for small partitions only).
    pub async fn query_all(
        &self,
        index: Index,
        partition: &str,
        condition: &SortKeyCondition,
    ) -> Result<Vec<Item>, AppError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .table
                .query(index, partition, condition, true, 500, cursor.as_deref())
                .await?;
            out.extend(page.items);
            match page.next {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Pages through several partitions in the order given, as one list: how time-bucketed
    /// listings (one partition per day) are read newest first. The cursor names the
    /// partition it stopped in and the table's cursor within it.
    pub async fn query_buckets(
        &self,
        index: Index,
        partitions: &[String],
        forward: bool,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, AppError> {
        let (mut at, mut inner) = match cursor {
            Some(c) => decode_bucket_cursor(c)?,
            None => (0, None),
        };
        let mut items = Vec::new();
        while at < partitions.len() && items.len() < limit {
            let page = self
                .table
                .query(
                    index,
                    &partitions[at],
                    &SortKeyCondition::All,
                    forward,
                    limit - items.len(),
                    inner.as_deref(),
                )
                .await?;
            items.extend(page.items);
            match page.next {
                Some(next) => inner = Some(next),
                None => {
                    at += 1;
                    inner = None;
                }
            }
        }
        let next = (at < partitions.len()).then(|| encode_bucket_cursor(at, inner.as_deref()));
        Ok(Page { items, next })
    }

    // ----- program and campaigns

    /// The program, its postback secret opened when this store has the key (functions
    /// without it see the sealed text, which they never use).
    pub async fn program(&self) -> Result<Option<Program>, AppError> {
        let Some(mut program) = self.get_entity::<Program>(&keys::program()).await? else {
            return Ok(None);
        };
        if self.secrets.is_some() {
            program.postback_secret =
                self.open(POSTBACK_SECRET_PURPOSE, &program.postback_secret)?;
        }
        Ok(Some(program))
    }

    pub async fn put_program(&self, program: &Program) -> Result<(), AppError> {
        let mut stored = program.clone();
        stored.postback_secret = self.seal(POSTBACK_SECRET_PURPOSE, &program.postback_secret);
        Ok(self
            .table
            .put(encode(keys::program(), &stored), Condition::None)
            .await?)
    }

    pub async fn campaign(&self, id: &str) -> Result<Option<Campaign>, AppError> {
        self.get_entity(&keys::campaign(id)).await
    }

    pub async fn put_campaign(&self, campaign: &Campaign) -> Result<(), AppError> {
        Ok(self
            .table
            .put(
                encode(keys::campaign(&campaign.id), campaign),
                Condition::None,
            )
            .await?)
    }

    pub async fn campaigns(&self) -> Result<Vec<Campaign>, AppError> {
        self.query_all(
            Index::Primary,
            "PROGRAM",
            &SortKeyCondition::BeginsWith("CAMPAIGN#".into()),
        )
        .await?
        .iter()
        .map(decode)
        .collect()
    }

    pub async fn exchange_rate(&self, from: Currency) -> Result<Option<ExchangeRate>, AppError> {
        self.get_entity(&keys::exchange_rate(from.code())).await
    }

    pub async fn put_exchange_rate(&self, rate: &ExchangeRate) -> Result<(), AppError> {
        Ok(self
            .table
            .put(
                encode(keys::exchange_rate(rate.from.code()), rate),
                Condition::None,
            )
            .await?)
    }

    pub async fn exchange_rates(&self) -> Result<Vec<ExchangeRate>, AppError> {
        self.query_all(
            Index::Primary,
            "PROGRAM",
            &SortKeyCondition::BeginsWith("FXRATE#".into()),
        )
        .await?
        .iter()
        .map(decode)
        .collect()
    }

    /// The terms that apply to `partner` on `campaign`, and where they come from: the
    /// partner's own override, else their group's, else the campaign's.
    pub async fn terms_for(
        &self,
        campaign: &Campaign,
        partner: Option<&Partner>,
    ) -> Result<(Terms, TermsSource), AppError> {
        if let Some(p) = partner {
            if let Some(t) = self
                .get_entity(&keys::partner_terms(&campaign.id, &p.id))
                .await?
            {
                return Ok((t, TermsSource::Partner));
            }
            if let Some(g) = &p.group
                && let Some(t) = self.get_entity(&keys::group_terms(&campaign.id, g)).await?
            {
                return Ok((t, TermsSource::Group(g.clone())));
            }
        }
        Ok((campaign.terms.clone(), TermsSource::Campaign))
    }

    pub async fn put_terms_override(&self, key: Key, terms: &Terms) -> Result<bool, AppError> {
        let existed = self.table.get(&key).await?.is_some();
        self.table.put(encode(key, terms), Condition::None).await?;
        Ok(!existed)
    }

    pub async fn delete_terms_override(&self, key: Key) -> Result<bool, AppError> {
        match self.table.delete(&key, Condition::Exists).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Counts a conversion whose line was just approved toward its partner's tiers.
    pub fn tier_volume_add(conversion: &Conversion, approved_at: Timestamp) -> TxOp {
        TxOp::Update(
            keys::tier_volume(&conversion.partner_id, &conversion.campaign_id, approved_at),
            Update::default().add("approved_conversions", 1).add(
                "approved_revenue_minor",
                conversion.amount_minor - conversion.refunded_minor,
            ),
            Condition::None,
        )
    }

    pub async fn tier_volume(
        &self,
        partner_id: &str,
        campaign_id: &str,
        at: Timestamp,
    ) -> Result<TierUsage, AppError> {
        let item = self
            .table
            .get(&keys::tier_volume(partner_id, campaign_id, at))
            .await?;
        Ok(TierUsage {
            approved_conversions: item
                .as_ref()
                .and_then(|i| i.n("approved_conversions"))
                .unwrap_or(0),
            approved_revenue_minor: item
                .as_ref()
                .and_then(|i| i.n("approved_revenue_minor"))
                .unwrap_or(0),
        })
    }

    // ----- partners and keys

    pub async fn partner(&self, id: &str) -> Result<Option<Partner>, AppError> {
        self.get_entity(&keys::partner(id)).await
    }

    /// The put of a partner profile with its listing index entry and status attribute.
    /// Writes a partner whose key is unchanged since it was read: the write fails if a
    /// rotation landed meanwhile, so a stale copy never brings a revoked key's hash back.
    pub fn partner_put(partner: &Partner, condition: Condition) -> TxOp {
        Store::partner_put_replacing_key(partner, partner.api_key_hash.as_deref(), condition)
    }

    /// Writes a partner whose API key hash was `key_was` when read (`None`: no key) and
    /// is now the partner's own; under `condition` as well. Concurrent rotations from one
    /// key therefore have exactly one winner.
    pub fn partner_put_replacing_key(
        partner: &Partner,
        key_was: Option<&str>,
        condition: Condition,
    ) -> TxOp {
        let key_guard = match key_was {
            // Partners stored before the hash became an attribute lack it; their old key
            // item's `Exists` delete in the rotation's transaction guards them instead.
            Some(hash) => Condition::Any(vec![
                Condition::AttrEquals("api_key_hash".into(), Attr::S(hash.to_string())),
                Condition::AttrMissing("api_key_hash".into()),
            ]),
            None => Condition::AttrMissing("api_key_hash".into()),
        };
        let item = encode(keys::partner(&partner.id), partner)
            .with("status", partner.status.as_str())
            .with(
                "recruited_by",
                partner.recruited_by.clone().unwrap_or_default(),
            )
            .with("gsi2pk", keys::partners_listing())
            .with(
                "gsi2sk",
                keys::time_ordered(partner.created_at, &partner.id),
            );
        // The recruiter's downline listing: one partition per recruiter.
        let item = match &partner.recruited_by {
            Some(recruiter) => item.with("gsi1pk", keys::recruits_of(recruiter)).with(
                "gsi1sk",
                keys::time_ordered(partner.created_at, &partner.id),
            ),
            None => item,
        };
        let item = match &partner.api_key_hash {
            Some(hash) => item.with("api_key_hash", hash.as_str()),
            None => item,
        };
        TxOp::Put(item, Condition::All(vec![condition, key_guard]))
    }

    pub fn unique_marker(key: Key, owner: &str) -> TxOp {
        TxOp::Put(Item::new(key).with("owner", owner), Condition::NotExists)
    }

    pub async fn partner_id_by_referral_code(
        &self,
        code: &str,
    ) -> Result<Option<String>, AppError> {
        Ok(self
            .table
            .get(&keys::referral_code(code))
            .await?
            .and_then(|i| i.s("owner").map(str::to_string)))
    }

    pub async fn partner_id_by_email(&self, email: &str) -> Result<Option<String>, AppError> {
        Ok(self
            .table
            .get(&keys::partner_email(email))
            .await?
            .and_then(|i| i.s("owner").map(str::to_string)))
    }

    pub async fn partners(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<Partner>, Option<String>), AppError> {
        let page = self
            .table
            .query(
                Index::Gsi2,
                &keys::partners_listing(),
                &SortKeyCondition::All,
                false,
                limit,
                cursor,
            )
            .await?;
        let partners = page.items.iter().map(decode).collect::<Result<_, _>>()?;
        Ok((partners, page.next))
    }

    pub fn api_key_put(hash: &str, principal: &Principal) -> TxOp {
        TxOp::Put(encode(keys::api_key(hash), principal), Condition::NotExists)
    }

    pub async fn principal(&self, key_hash: &str) -> Result<Option<Principal>, AppError> {
        self.get_entity(&keys::api_key(key_hash)).await
    }

    // ----- links and clicks

    pub async fn link(&self, code: &str) -> Result<Option<Link>, AppError> {
        self.get_entity(&keys::link(code)).await
    }

    pub fn link_put(link: &Link) -> TxOp {
        let item = encode(keys::link(&link.code), link)
            .with("gsi1pk", keys::partner_links(&link.partner_id))
            .with("gsi1sk", format!("{}#{}", link.campaign_id, link.code));
        TxOp::Put(item, Condition::NotExists)
    }

    pub async fn link_code_for(
        &self,
        partner_id: &str,
        campaign_id: &str,
    ) -> Result<Option<String>, AppError> {
        Ok(self
            .table
            .get(&keys::link_of(partner_id, campaign_id))
            .await?
            .and_then(|i| i.s("owner").map(str::to_string)))
    }

    pub async fn links_of(&self, partner_id: &str) -> Result<Vec<Link>, AppError> {
        self.query_all(
            Index::Gsi1,
            &keys::partner_links(partner_id),
            &SortKeyCondition::All,
        )
        .await?
        .iter()
        .map(decode)
        .collect()
    }

    /// A raw click record, kept for [`CLICK_RETENTION_DAYS`]; its existence is what makes
    /// counting a redelivered click a no-op.
    pub fn click_put(click: &Click) -> TxOp {
        let ttl = click.at.plus_days(CLICK_RETENTION_DAYS).secs();
        TxOp::Put(
            encode(keys::click(&click.click_id), click).with("ttl", ttl),
            Condition::NotExists,
        )
    }

    pub async fn click(&self, click_id: &str) -> Result<Option<Click>, AppError> {
        self.get_entity(&keys::click(click_id)).await
    }

    // ----- conversions and lines

    pub async fn conversion(&self, id: &str) -> Result<Option<Conversion>, AppError> {
        self.get_entity(&keys::conversion(id)).await
    }

    /// Conversions still `recorded` that were stored before `before`, oldest first, at
    /// most `limit` from each partition of the open index, each with how many sweeps have
    /// re-queued it already.
    pub async fn conversions_awaiting_commission(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Conversion, i64)>, AppError> {
        let upto = keys::time_ordered(before, "");
        let mut out = Vec::new();
        for shard in 0..keys::AWAITING_SHARDS {
            let page = self
                .table
                .query(
                    Index::Gsi3,
                    &keys::awaiting_shard(shard),
                    &SortKeyCondition::Between(String::new(), upto.clone()),
                    true,
                    limit,
                    None,
                )
                .await?;
            for item in &page.items {
                match decode::<Conversion>(item) {
                    Ok(c) => out.push((c, item.n("sweeps").unwrap_or(0))),
                    // One unreadable item must not stop the sweep of the others.
                    Err(e) => {
                        tracing::error!(key = ?item.key, error = %e, "an awaiting conversion does not decode")
                    }
                }
            }
        }
        Ok(out)
    }

    pub fn conversion_put(conversion: &Conversion, condition: Condition) -> TxOp {
        let sk = keys::time_ordered(conversion.created_at, &conversion.id);
        let mut item = encode(keys::conversion(&conversion.id), conversion)
            .with("status", conversion.status.as_str())
            .with("refunded_minor", conversion.refunded_minor)
            .with("gsi2pk", keys::conversions_on(conversion.created_at.day()))
            .with("gsi2sk", sk.clone());
        // While its lines are not written, the conversion sits in the open index, where
        // the sweep finds it if the hand-off to the queue never happened.
        if conversion.status == crate::tracking::ConversionStatus::Recorded {
            item = item
                .with("gsi3pk", keys::awaiting_commission(&conversion.id))
                .with("gsi3sk", sk.clone());
        }
        // Unattributed conversions are the operator's record, not the partner's.
        if conversion.status != crate::tracking::ConversionStatus::Unattributed {
            item = item
                .with("gsi1pk", keys::partner_conversions(&conversion.partner_id))
                .with("gsi1sk", sk);
        }
        TxOp::Put(item, condition)
    }

    pub async fn conversion_id_for_order(
        &self,
        campaign_id: &str,
        order_id: &str,
    ) -> Result<Option<String>, AppError> {
        Ok(self
            .table
            .get(&keys::order(campaign_id, order_id))
            .await?
            .and_then(|i| i.s("owner").map(str::to_string)))
    }

    /// A new line: written once.
    pub fn line_put(line: &CommissionLine) -> TxOp {
        Store::line_write(line, Condition::NotExists)
    }

    /// A line (new or changed in status) under `condition`.
    pub fn line_write(line: &CommissionLine, condition: Condition) -> TxOp {
        let sk = keys::time_ordered(line.created_at, &line.id);
        let key = match &line.reverses {
            None => keys::line(&line.conversion_id, line.level),
            Some(refund_id) => keys::reversal_line(&line.conversion_id, line.level, refund_id),
        };
        let mut item = encode(key, line)
            .with("status", line.status.as_str())
            .with("gsi1pk", keys::partner_lines(&line.partner_id))
            .with("gsi1sk", sk.clone())
            .with("gsi2pk", keys::lines_on(line.created_at.day()))
            .with("gsi2sk", sk.clone());
        // The open-lines index: pending lines per partner, and approved lines not yet in a
        // payout in one program-wide partition ordered by partner and currency, which is
        // what a payout run groups by. Every other line leaves the index.
        match (line.status, &line.payout_id) {
            (LineStatus::Pending, _) => {
                item = item
                    .with("gsi3pk", keys::pending_lines(&line.partner_id))
                    .with("gsi3sk", sk);
            }
            (LineStatus::Approved, None) => {
                item = item.with("gsi3pk", keys::PAYABLE_LINES).with(
                    "gsi3sk",
                    keys::payable_line(&line.partner_id, line.currency, &sk),
                );
            }
            (_, Some(payout_id)) => item = item.with("payout_id", payout_id.as_str()),
            _ => {}
        }
        TxOp::Put(item, condition)
    }

    pub async fn lines_of_conversion(
        &self,
        conversion_id: &str,
    ) -> Result<Vec<CommissionLine>, AppError> {
        self.query_all(
            Index::Primary,
            &keys::conversion(conversion_id).pk,
            &SortKeyCondition::BeginsWith("LINE#".into()),
        )
        .await?
        .iter()
        .map(decode)
        .collect()
    }

    pub async fn lines_of_partner(
        &self,
        partner_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<CommissionLine>, Option<String>), AppError> {
        let page = self
            .table
            .query(
                Index::Gsi1,
                &keys::partner_lines(partner_id),
                &SortKeyCondition::All,
                false,
                limit,
                cursor,
            )
            .await?;
        Ok((
            page.items.iter().map(decode).collect::<Result<_, _>>()?,
            page.next,
        ))
    }

    // ----- counters

    /// Adds to the counters of one (day, campaign, partner) row, creating it if needed.
    pub fn stats_add(
        day: Day,
        campaign_id: &str,
        partner_id: &str,
        deltas: &[(&str, i64)],
    ) -> TxOp {
        let mut update = Update::default()
            .set("day", day.to_string())
            .set("campaign_id", campaign_id)
            .set("partner_id", partner_id)
            .set("gsi1pk", keys::partner_stats(partner_id))
            .set("gsi1sk", format!("{day}#{campaign_id}"));
        for (name, delta) in deltas {
            update = update.add(name, *delta);
        }
        TxOp::Update(
            keys::stats(day, campaign_id, partner_id),
            update,
            Condition::None,
        )
    }

    /// Adds to a partner's counters for one sub-id value (`sub` is `sub1`..`sub5`).
    pub fn sub_stats_add(
        day: Day,
        partner_id: &str,
        campaign_id: &str,
        sub: &str,
        value: &str,
        deltas: &[(&str, i64)],
    ) -> TxOp {
        let mut update = Update::default()
            .set("day", day.to_string())
            .set("campaign_id", campaign_id)
            .set("partner_id", partner_id)
            .set("sub", sub)
            .set("sub_value", value);
        for (name, delta) in deltas {
            update = update.add(name, *delta);
        }
        TxOp::Update(
            keys::sub_stats(partner_id, day, campaign_id, sub, value),
            update,
            Condition::None,
        )
    }

    /// A partner's sub-id counter rows between two days, inclusive.
    pub async fn sub_stats_of_partner(
        &self,
        partner_id: &str,
        from: Day,
        to: Day,
    ) -> Result<Vec<StatsRow>, AppError> {
        let range = SortKeyCondition::Between(format!("{from}#"), format!("{to}#\u{10ffff}"));
        let items = self
            .query_all(Index::Primary, &format!("SUBSTATS#{partner_id}"), &range)
            .await?;
        Ok(items.iter().map(stats_row).collect())
    }

    /// Every counter row of the given days.
    pub async fn stats_on_days(&self, days: &[Day]) -> Result<Vec<StatsRow>, AppError> {
        let mut rows = Vec::new();
        for day in days {
            let items = self
                .query_all(
                    Index::Primary,
                    &format!("STATS#{day}"),
                    &SortKeyCondition::All,
                )
                .await?;
            rows.extend(items.iter().map(stats_row));
        }
        Ok(rows)
    }

    /// A partner's counter rows between two days, inclusive.
    pub async fn stats_of_partner(
        &self,
        partner_id: &str,
        from: Day,
        to: Day,
    ) -> Result<Vec<StatsRow>, AppError> {
        let range = SortKeyCondition::Between(format!("{from}#"), format!("{to}#\u{10ffff}"));
        let items = self
            .query_all(Index::Gsi1, &keys::partner_stats(partner_id), &range)
            .await?;
        Ok(items.iter().map(stats_row).collect())
    }
}

fn stats_row(item: &Item) -> StatsRow {
    let s = |n: &str| item.s(n).unwrap_or_default().to_string();
    let n = |n: &str| item.n(n).unwrap_or(0);
    let sub = match (item.s("sub"), item.s("sub_value")) {
        (Some(k), Some(v)) => format!("{k}={v}"),
        _ => String::new(),
    };
    StatsRow {
        day: s("day"),
        campaign_id: s("campaign_id"),
        partner_id: s("partner_id"),
        sub,
        clicks: n(counters::CLICKS),
        unique_clicks: n(counters::UNIQUE_CLICKS),
        bot_clicks: n(counters::BOT_CLICKS),
        rejected_clicks: n(counters::REJECTED_CLICKS),
        rejected_country: n("rejected_country"),
        rejected_device: n("rejected_device"),
        rejected_os: n("rejected_os"),
        impressions: n(counters::IMPRESSIONS),
        conversions: n(counters::CONVERSIONS),
        revenue_minor: n(counters::REVENUE),
        commission_minor: n(counters::COMMISSION),
    }
}

fn encode_bucket_cursor(at: usize, inner: Option<&str>) -> String {
    let mut m = BTreeMap::new();
    m.insert("b", serde_json::json!(at));
    if let Some(i) = inner {
        m.insert("c", serde_json::json!(i));
    }
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&m).expect("plain data"))
}

/// Reads a listing cursor this module made (public for the fuzz target).
pub fn decode_bucket_cursor(cursor: &str) -> Result<(usize, Option<String>), AppError> {
    let bad = || AppError::field("cursor", "is not a cursor this API returned");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let at = v.get("b").and_then(|b| b.as_u64()).ok_or_else(bad)? as usize;
    let inner = v.get("c").and_then(|c| c.as_str()).map(str::to_string);
    Ok((at, inner))
}

/// Whether a table error is the cancellation of a transaction by one of its conditions.
pub fn cancelled_by_condition(e: &TableError) -> bool {
    matches!(
        e,
        TableError::TransactionCancelled { .. } | TableError::ConditionFailed
    )
}

/// The value of an attribute as a string, for building conditions.
pub fn status_is(status: &str) -> Condition {
    Condition::AttrEquals("status".into(), Attr::S(status.to_string()))
}
