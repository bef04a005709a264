//! The commission engine: from a conversion, the campaign's terms and the converting
//! partner's upline, the commission lines — the partner's own (level 0) and one per paid
//! upline level — each carrying an explanation of its rule, base, rate and level.
//!
//! Pure and deterministic: the same inputs always give the same lines, so a redelivered
//! conversion recomputes identical lines and the store's conditions keep them single.

use crate::ids::{CampaignId, ConversionId, LineId, PartnerId, PayoutId};
use serde::{Deserialize, Serialize};

use rust_decimal::Decimal;

use crate::clock::Timestamp;
use crate::money::{Currency, Money, Percent, format_minor, round_minor};
use crate::program::{UplineBase, UplinePlan};
use crate::terms::{
    Cap, CapMetric, CapPeriod, CapUsage, CommissionBase, Terms, TierMetric, TierUsage,
};

/// A stored commission line. Lines are never edited in amount; corrections are new lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionLine {
    /// `<conversion id>:<level>`: the business key that keeps a line single.
    pub id: LineId,
    pub conversion_id: ConversionId,
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
    pub level: u8,
    pub amount_minor: i64,
    pub currency: Currency,
    pub status: LineStatus,
    /// Until then the line is pending: refunds and chargebacks can still reverse it.
    pub hold_until: Timestamp,
    pub explanation: Explanation,
    pub created_at: Timestamp,
    /// For a reversing line: the refund or chargeback it reverses for. Reversing lines
    /// carry negative amounts; the original line is never edited.
    #[serde(default)]
    pub reverses: Option<String>,
    /// The payout an approved line was put in; it stays approved until that payout is
    /// marked paid (the line becomes paid) or failed (the line is payable again).
    #[serde(default)]
    pub payout_id: Option<PayoutId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    Pending,
    Approved,
    Rejected,
    Paid,
}

impl LineStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            LineStatus::Pending => "pending",
            LineStatus::Approved => "approved",
            LineStatus::Rejected => "rejected",
            LineStatus::Paid => "paid",
        }
    }
}

/// Why a line has its amount, in fields and in one sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub rule: Rule,
    pub level: u8,
    /// What the rate was applied to, in minor units of the line's currency.
    pub base_minor: i64,
    pub rate: Option<Percent>,
    pub cpa_minor: Option<i64>,
    /// Every component of the amount, exact (rounding happens once, on the total).
    #[serde(default)]
    pub parts: Vec<Part>,
    /// Why nothing (or less) was paid: a qualification rule that failed.
    #[serde(default)]
    pub not_paid_because: Option<String>,
    /// The conversion into the program currency, when the sale was in another one.
    #[serde(default)]
    pub exchange: Option<String>,
    /// Which terms applied to the partner's line, when not the campaign's own.
    #[serde(default)]
    pub terms: Option<String>,
    /// The performance tier the partner's line was computed at, if one was reached.
    #[serde(default)]
    pub tier: Option<String>,
    /// For a subscription renewal: which month of the subscription it pays for.
    #[serde(default)]
    pub renewal: Option<String>,
    /// How the conversion was credited to the partner: click, promo code or
    /// subscription, and why when there was a choice.
    #[serde(default)]
    pub attribution: Option<String>,
    pub summary: String,
}

/// One component of a line's amount: its label and its exact value in major units
/// (`"4.005"` — the line's total is what gets rounded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub label: String,
    pub amount: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// No terms pay on this conversion.
    NoTerms,
    /// The conversion does not qualify (amount, event type, returning customer).
    NotQualified,
    Cpa,
    RevenueShare,
    /// Rates per line item (SKU, category, or the campaign share per item).
    Itemized,
    /// A fixed amount plus a share.
    Hybrid,
    /// Bonuses only.
    Bonus,
    /// An upline level's share of the direct commission.
    UplineOfCommission,
    /// An upline level's share of the sale.
    UplineOfSale,
    /// Reverses part or all of a line after a refund or chargeback.
    Reversal,
    /// Over a cap: recorded, paid nothing.
    Capped,
}

/// A product line of an order, as the storefront reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub sku: String,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
}

impl LineItem {
    pub fn total_minor(&self) -> i64 {
        self.quantity.saturating_mul(self.unit_price_minor)
    }
}

/// What was sold, as the engine needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sale {
    pub event: String,
    /// The gross amount the storefront reported.
    pub amount: Money,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub shipping_minor: i64,
    pub items: Vec<LineItem>,
    /// `None` when the postback gave neither a customer id nor a new-customer flag.
    pub first_time_customer: Option<bool>,
    /// For a subscription renewal: whole months since the subscription started.
    pub renewal_month: Option<u32>,
}

impl Sale {
    /// A plain sale of `amount`: no items, no adjustments, customer unknown.
    pub fn of(amount: Money) -> Self {
        Sale {
            event: "sale".into(),
            amount,
            discount_minor: 0,
            tax_minor: 0,
            shipping_minor: 0,
            items: vec![],
            first_time_customer: None,
            renewal_month: None,
        }
    }
}

/// One level of the converting partner's upline, nearest recruiter first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UplineSeat {
    /// A recruiter who may earn the level.
    Earner(PartnerId),
    /// A level whose recruiter may not earn (not approved, under the forfeit rule): it
    /// keeps its place, so the levels above are paid at their own rates, and pays no one.
    Forfeited,
}

/// A line as the engine produces it, before it gets ids and a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineDraft {
    pub partner_id: PartnerId,
    pub level: u8,
    pub amount: Money,
    pub explanation: Explanation,
}

/// Computes every line for `sale` by `partner_id`, whose eligible upline is `upline`
/// (nearest recruiter first), with no cap used and no tier reached. See
/// [`compute_lines_in`].
pub fn compute_lines(
    sale: &Sale,
    terms: &Terms,
    plan: &UplinePlan,
    partner_id: &PartnerId,
    upline: &[UplineSeat],
) -> Vec<LineDraft> {
    let no_usage = |_: &Cap| CapUsage::default();
    compute_lines_in(
        sale,
        terms,
        plan,
        partner_id,
        upline,
        &no_usage,
        TierUsage::default(),
    )
}

/// Every line for `sale`: the partner's, then one per paid upline level. The partner's
/// line uses the highest tier `volume` reaches, if the terms have tiers. Levels beyond
/// the plan's depth earn nothing; levels whose rate is zero get no line; a conversion that
/// does not qualify, or would go over one of the campaign's caps (`usage` says what each
/// cap's period has used so far), pays no one and gets a zero line saying why.
pub fn compute_lines_in(
    sale: &Sale,
    terms: &Terms,
    plan: &UplinePlan,
    partner_id: &PartnerId,
    upline: &[UplineSeat],
    usage: &dyn Fn(&Cap) -> CapUsage,
    volume: TierUsage,
) -> Vec<LineDraft> {
    let currency = sale.amount.currency();
    let base = commission_base(sale, &terms.base);
    // A renewal earns only under recurring terms, for their months, at their later rate.
    let renewal_terms;
    let terms = match sale.renewal_month {
        None => terms,
        Some(month) => match renewal_rule(terms, month) {
            Ok(t) => {
                renewal_terms = t;
                &renewal_terms
            }
            Err(why) => {
                let mut zero = direct_line(
                    &Sale::of(Money::zero(currency)),
                    &Terms::default(),
                    partner_id,
                );
                zero.explanation.rule = Rule::NotQualified;
                zero.explanation.summary = format!("Not paid: {why}");
                zero.explanation.not_paid_because = Some(why);
                zero.explanation.base_minor = base;
                zero.explanation.renewal =
                    Some(format!("renewal, month {month} of the subscription"));
                return vec![zero];
            }
        },
    };
    let tier = terms.tier_for(volume);
    let tiered;
    let terms = match tier {
        Some(t) => {
            tiered = terms.with_tier(t);
            &tiered
        }
        None => terms,
    };
    let mut direct = direct_line(sale, terms, partner_id);
    if let Some(month) = sale.renewal_month {
        direct.explanation.renewal = Some(format!("renewal, month {month} of the subscription"));
    }
    if let Some(t) = tier {
        let reached = match t.metric {
            TierMetric::ApprovedConversions => format!("{} approved conversions", t.from),
            TierMetric::ApprovedRevenue => {
                format!("{} approved revenue", Money::from_minor(t.from, currency))
            }
        };
        direct.explanation.tier = Some(format!("{} (from {reached} this month)", t.name));
    }
    if direct.explanation.rule == Rule::NotQualified {
        return vec![direct];
    }
    if let Some(why) = over_cap(terms, usage, direct.amount) {
        direct.explanation.rule = Rule::Capped;
        direct.explanation.summary =
            format!("Not paid: {why} (it would have earned {})", direct.amount);
        direct.explanation.not_paid_because = Some(why);
        direct.amount = Money::zero(currency);
        return vec![direct];
    }
    let direct_amount = direct.amount;
    let mut lines = vec![direct];
    for (i, seat) in upline.iter().take(usize::from(plan.depth)).enumerate() {
        let level = (i + 1) as u8;
        let UplineSeat::Earner(recruiter) = seat else {
            continue;
        };
        let rate = plan.rate_for_level(level);
        if rate.is_zero() {
            continue;
        }
        let (base, rule, what) = match plan.base {
            UplineBase::DirectCommission => (
                direct_amount,
                Rule::UplineOfCommission,
                "the direct commission",
            ),
            UplineBase::Sale => (
                Money::from_minor(base, currency),
                Rule::UplineOfSale,
                "the sale",
            ),
        };
        let amount = base.percent(rate);
        // The one exact component, as on direct lines: the amount before its rounding.
        let exact = Decimal::from(base.minor()) * rate.as_decimal() / Decimal::ONE_HUNDRED;
        lines.push(LineDraft {
            partner_id: recruiter.clone(),
            level,
            amount,
            explanation: Explanation {
                rule,
                level,
                base_minor: base.minor(),
                rate: Some(rate),
                cpa_minor: None,
                parts: vec![Part {
                    label: format!("{rate} of {what} {base}"),
                    amount: exact_text(exact, currency),
                }],
                not_paid_because: None,
                exchange: None,
                terms: None,
                tier: None,
                renewal: None,
                attribution: None,
                summary: format!(
                    "Level {level} upline: {rate} of {what} {} = {}",
                    base, amount
                ),
            },
        });
    }
    lines
}

/// The terms a renewal in `month` earns under, or why it earns nothing.
fn renewal_rule(terms: &Terms, month: u32) -> Result<Terms, String> {
    let Some(recurring) = &terms.recurring else {
        return Err("subscription renewals do not earn on this campaign".into());
    };
    if let Some(m) = recurring.months
        && month >= m
    {
        return Err(format!(
            "renewals earn for the subscription's first {m} months, and this is month {month}"
        ));
    }
    let mut t = terms.clone();
    if let Some(later) = &recurring.later
        && month >= later.after_months
    {
        if later.cpa_minor.is_some() {
            t.cpa_minor = later.cpa_minor;
            t.cpa_by_event.clear();
        }
        if later.revenue_share.is_some() {
            t.revenue_share = later.revenue_share;
        }
    }
    // Renewals are not new customers, whatever the postback says.
    t.qualification.first_time_customer_only = false;
    t.bonuses.new_customer_minor = None;
    Ok(t)
}

/// The first cap this conversion would go over, as a sentence.
fn over_cap(terms: &Terms, usage: &dyn Fn(&Cap) -> CapUsage, earns: Money) -> Option<String> {
    terms.caps.iter().find_map(|cap| {
        let used = usage(cap);
        let period = match cap.period {
            CapPeriod::Day => "daily",
            CapPeriod::Month => "monthly",
        };
        match cap.metric {
            CapMetric::Conversions if used.conversions.saturating_add(1) > cap.limit => Some(format!(
                "the {period} cap of {} conversions for this partner on this campaign is reached",
                cap.limit
            )),
            CapMetric::Commission if used.commission_minor.saturating_add(earns.minor()) > cap.limit => Some(format!(
                "the {period} cap of {} commission for this partner on this campaign would be exceeded ({} used)",
                Money::from_minor(cap.limit, earns.currency()),
                Money::from_minor(used.commission_minor, earns.currency())
            )),
            _ => None,
        }
    })
}

/// The amount revenue shares apply to: gross, less what the campaign excludes; never
/// below zero.
pub fn commission_base(sale: &Sale, base: &CommissionBase) -> i64 {
    // Saturating: every input is bounded at the edge, and a base is never below zero, so
    // even a stored amount from before the bounds cannot wrap into a large base.
    let mut b = sale.amount.minor();
    if base.net_of_discount {
        b = b.saturating_sub(sale.discount_minor);
    }
    if base.net_of_tax {
        b = b.saturating_sub(sale.tax_minor);
    }
    if base.net_of_shipping {
        b = b.saturating_sub(sale.shipping_minor);
    }
    b.max(0)
}

/// Why a conversion does not qualify, if it does not.
fn disqualification(sale: &Sale, terms: &Terms) -> Option<String> {
    let q = &terms.qualification;
    let currency = sale.amount.currency();
    if !q.events.is_empty() && !q.events.contains(&sale.event) {
        let allowed: Vec<&str> = q.events.iter().map(String::as_str).collect();
        return Some(format!(
            "the event {:?} does not earn here (only {})",
            sale.event,
            allowed.join(", ")
        ));
    }
    if let Some(min) = q.min_amount_minor
        && sale.amount.minor() < min
    {
        return Some(format!(
            "the amount {} is below the minimum {}",
            sale.amount,
            Money::from_minor(min, currency)
        ));
    }
    if q.first_time_customer_only {
        match sale.first_time_customer {
            Some(true) => {}
            Some(false) => {
                return Some(
                    "only a customer's first conversion earns, and this customer converted before"
                        .into(),
                );
            }
            None => {
                return Some(
                    "only first-time customers earn, and the postback did not say (send customer_id or new_customer)".into(),
                );
            }
        }
    }
    None
}

/// Exact minor units as major-unit text: 400.5 cents → "4.005".
fn exact_text(minor: Decimal, currency: crate::money::Currency) -> String {
    (minor / Decimal::from(10i64.pow(u32::from(currency.exponent()))))
        .normalize()
        .to_string()
}

fn direct_line(sale: &Sale, terms: &Terms, partner_id: &PartnerId) -> LineDraft {
    let currency = sale.amount.currency();
    let base_minor = commission_base(sale, &terms.base);
    let mut parts: Vec<(String, Decimal)> = Vec::new();
    let zero = |rule: Rule, why: Option<String>, summary: String| LineDraft {
        partner_id: partner_id.clone(),
        level: 0,
        amount: Money::zero(currency),
        explanation: Explanation {
            rule,
            level: 0,
            base_minor,
            rate: terms.revenue_share,
            cpa_minor: terms.cpa_minor,
            parts: vec![],
            not_paid_because: why,
            exchange: None,
            terms: None,
            tier: None,
            renewal: None,
            attribution: None,
            summary,
        },
    };
    if let Some(why) = disqualification(sale, terms) {
        return zero(
            Rule::NotQualified,
            Some(why.clone()),
            format!("Not paid: {why}"),
        );
    }

    let cpa = terms
        .cpa_by_event
        .get(&sale.event)
        .copied()
        .or(terms.cpa_minor);
    if let Some(c) = cpa {
        parts.push((format!("CPA for {}", sale.event), Decimal::from(c)));
    }
    let itemized =
        !sale.items.is_empty() && (!terms.items.is_empty() || terms.revenue_share.is_some());
    if itemized {
        let items_gross: i64 = sale
            .items
            .iter()
            .map(LineItem::total_minor)
            .fold(0, i64::saturating_add);
        for item in &sale.items {
            let total = Decimal::from(item.total_minor());
            let excluded = terms.items.excluded_skus.contains(&item.sku)
                || item
                    .category
                    .as_ref()
                    .is_some_and(|c| terms.items.excluded_categories.contains(c));
            let label = format!("{} × {}", item.sku, item.quantity);
            if excluded {
                parts.push((format!("{label}: excluded"), Decimal::ZERO));
                continue;
            }
            let (rate, source) = match (
                terms.items.by_sku.get(&item.sku),
                item.category
                    .as_ref()
                    .and_then(|c| terms.items.by_category.get(c)),
                terms.revenue_share,
            ) {
                (Some(r), _, _) => (*r, "SKU rate"),
                (None, Some(r), _) => (*r, "category rate"),
                (None, None, Some(r)) => (r, "campaign rate"),
                (None, None, None) => continue,
            };
            // An order-level discount is shared across items in proportion to their value.
            let item_base = if terms.base.net_of_discount && items_gross > 0 {
                total - Decimal::from(sale.discount_minor) * total / Decimal::from(items_gross)
            } else {
                total
            }
            .max(Decimal::ZERO);
            let amount = item_base * rate.as_decimal() / Decimal::ONE_HUNDRED;
            parts.push((
                format!(
                    "{label}: {rate} ({source}) of {}",
                    exact_text(item_base, currency)
                ),
                amount,
            ));
        }
    } else if let Some(r) = terms.revenue_share {
        let amount = Decimal::from(base_minor) * r.as_decimal() / Decimal::ONE_HUNDRED;
        let what = if terms.base.is_gross() {
            "sale"
        } else {
            "net amount"
        };
        parts.push((
            format!(
                "{r} revenue share of the {} {what}",
                Money::from_minor(base_minor, currency)
            ),
            amount,
        ));
    }
    let shares = itemized || terms.revenue_share.is_some();
    if sale.first_time_customer == Some(true)
        && let Some(b) = terms.bonuses.new_customer_minor
    {
        parts.push(("new-customer bonus".into(), Decimal::from(b)));
    }
    if let Some(ov) = terms.bonuses.order_value
        && sale.amount.minor() >= ov.threshold_minor
    {
        parts.push((
            format!(
                "order-value bonus (from {})",
                Money::from_minor(ov.threshold_minor, currency)
            ),
            Decimal::from(ov.bonus_minor),
        ));
    }
    if parts.is_empty() {
        return zero(
            Rule::NoTerms,
            None,
            "No commission terms apply to this conversion".into(),
        );
    }
    let rule = match (cpa.is_some(), shares) {
        (true, true) => Rule::Hybrid,
        (false, true) if itemized => Rule::Itemized,
        (false, true) => Rule::RevenueShare,
        (true, false) => Rule::Cpa,
        (false, false) => Rule::Bonus,
    };
    let exact: Decimal = parts.iter().map(|(_, a)| *a).sum();
    let amount = Money::from_minor(round_minor(exact), currency);
    let summary = match parts.as_slice() {
        [(label, _)] => format!("{label} = {amount}"),
        many => format!(
            "{} = {amount}",
            many.iter()
                .map(|(l, a)| format!("{l} ({})", exact_text(*a, currency)))
                .collect::<Vec<_>>()
                .join(" + ")
        ),
    };
    LineDraft {
        partner_id: partner_id.clone(),
        level: 0,
        amount,
        explanation: Explanation {
            rule,
            level: 0,
            base_minor,
            rate: terms.revenue_share,
            cpa_minor: cpa,
            parts: parts
                .into_iter()
                .map(|(label, a)| Part {
                    label,
                    amount: exact_text(a, currency),
                })
                .collect(),
            not_paid_because: None,
            exchange: None,
            terms: None,
            tier: None,
            renewal: None,
            attribution: None,
            summary,
        },
    }
}

/// How much each line is reversed by a refund of `refund_minor`, when `refunded_before`
/// of the conversion's `total_minor` was already refunded. Each line's reversal is its
/// share of the *cumulative* refund, rounded with the platform rule, less what earlier
/// refunds reversed: so refunds that add up to the whole amount reverse every line
/// exactly, in any number of steps, and no line is ever reversed past what it paid.
/// Returned amounts are positive (the reversing lines carry them negated).
pub fn reversal_amounts(
    lines: &[i64],
    total_minor: i64,
    refunded_before: i64,
    refund_minor: i64,
) -> Vec<i64> {
    if total_minor <= 0 {
        // Nothing was sold: a line earned (a CPA on a zero-amount lead) is reversed whole.
        return lines
            .iter()
            .map(|l| if refunded_before == 0 { *l } else { 0 })
            .collect();
    }
    let share = |line: i64, refunded: i64| {
        round_minor(Decimal::from(line) * Decimal::from(refunded) / Decimal::from(total_minor))
    };
    let after = (refunded_before + refund_minor).min(total_minor);
    lines
        .iter()
        .map(|&l| share(l, after) - share(l, refunded_before))
        .collect()
}

/// The stable id of a conversion's line at `level`.
pub fn line_id(conversion_id: &ConversionId, level: u8) -> LineId {
    LineId::new(format!("{conversion_id}:{level}"))
}

/// Human form of a minor-unit amount with its currency, for emails and summaries.
pub fn display_amount(minor: i64, currency: Currency) -> String {
    format!("{} {}", format_minor(minor, currency), currency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::LevelRates;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::from_code("USD").unwrap())
    }

    fn p(s: &str) -> Percent {
        Percent::parse(s).unwrap()
    }

    fn chain(n: usize) -> Vec<UplineSeat> {
        (1..=n)
            .map(|i| UplineSeat::Earner(format!("up{i}").into()))
            .collect()
    }

    mod no_overflow {
        //! No input the edge accepts makes any money computation of the engine overflow
        //! (tests build with overflow checks, so an overflow fails the property).
        use super::*;
        use crate::money::MAX_AMOUNT_MINOR;
        use crate::program::{LevelRates, UplineBase};

        fn amount() -> impl Strategy<Value = i64> {
            prop_oneof![
                Just(0i64),
                Just(MAX_AMOUNT_MINOR),
                0..=MAX_AMOUNT_MINOR,
                0..=100_000i64,
            ]
        }

        fn percent() -> impl Strategy<Value = Percent> {
            (0u32..=100_000_000).prop_map(|n| Percent::new(Decimal::new(i64::from(n), 6)).unwrap())
        }

        prop_compose! {
            /// Items as the edge accepts them: each total and their sum within the bound.
            fn items()(raw in prop::collection::vec((1i64..=1_000_000, amount(), any::<bool>()), 0..6)) -> Vec<LineItem> {
                let mut total = 0i64;
                let mut out = Vec::new();
                for (i, (quantity, unit, in_shoes)) in raw.into_iter().enumerate() {
                    let unit = unit / quantity;
                    let line = quantity * unit;
                    if total + line > MAX_AMOUNT_MINOR {
                        break;
                    }
                    total += line;
                    out.push(LineItem {
                        sku: format!("sku-{i}"),
                        category: in_shoes.then(|| "shoes".to_string()),
                        quantity,
                        unit_price_minor: unit,
                    });
                }
                out
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]
            #[test]
            fn any_accepted_sale_terms_and_refund_compute_without_overflow(
                gross in amount(),
                discount in amount(),
                tax in amount(),
                shipping in amount(),
                items in items(),
                cpa in prop::option::of(amount()),
                share in prop::option::of(percent()),
                sku_rate in percent(),
                shoes_rate in percent(),
                bonus in prop::option::of(amount()),
                net in any::<(bool, bool, bool)>(),
                levels in prop::collection::vec(percent(), 0..=10),
                on_sale in any::<bool>(),
                refunded_before in 0..=MAX_AMOUNT_MINOR,
                refund in 1..=MAX_AMOUNT_MINOR,
            ) {
                let currency = Currency::from_code("USD").unwrap();
                let sale = Sale {
                    event: "sale".into(),
                    amount: Money::from_minor(gross, currency),
                    discount_minor: discount,
                    tax_minor: tax,
                    shipping_minor: shipping,
                    items,
                    first_time_customer: Some(true),
                    renewal_month: None,
                };
                let mut terms = Terms {
                    cpa_minor: cpa,
                    revenue_share: share,
                    base: CommissionBase {
                        net_of_discount: net.0,
                        net_of_tax: net.1,
                        net_of_shipping: net.2,
                    },
                    ..Terms::default()
                };
                terms.items.by_sku.insert("sku-0".into(), sku_rate);
                terms.items.by_category.insert("shoes".into(), shoes_rate);
                terms.bonuses.new_customer_minor = bonus;
                let plan = UplinePlan {
                    depth: levels.len() as u8,
                    rates: LevelRates::Explicit { levels },
                    base: if on_sale { UplineBase::Sale } else { UplineBase::DirectCommission },
                    skip: Default::default(),
                };
                let lines = compute_lines(&sale, &terms, &plan, &"p".into(), &chain(10));
                let amounts: Vec<i64> = lines.iter().map(|l| l.amount.minor()).collect();
                for a in &amounts {
                    prop_assert!(*a >= 0);
                }
                // Refunds: the reversal of what is refunded, never more than each line.
                let before = refunded_before.min(gross);
                let reversals = reversal_amounts(&amounts, gross, before, refund);
                for (r, a) in reversals.iter().zip(&amounts) {
                    prop_assert!(*r >= 0 && r <= a, "reversal {r} of line {a}");
                }
            }
        }
    }

    #[test]
    fn revenue_share_pays_the_share_of_the_sale() {
        let terms = Terms {
            cpa_minor: None,
            revenue_share: Some(p("10")),
            ..Terms::default()
        };
        let lines = compute_lines(
            &Sale::of(usd(10_000)),
            &terms,
            &UplinePlan::off(),
            &"a".into(),
            &[],
        );
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].amount.minor(), 1_000);
        assert_eq!(lines[0].explanation.rule, Rule::RevenueShare);
        assert_eq!(
            lines[0].explanation.summary,
            "10% revenue share of the 100.00 USD sale = 10.00 USD"
        );
    }

    #[test]
    fn hybrid_terms_add_cpa_and_share() {
        let terms = Terms {
            cpa_minor: Some(500),
            revenue_share: Some(p("2.5")),
            ..Terms::default()
        };
        let lines = compute_lines(
            &Sale::of(usd(4_010)),
            &terms,
            &UplinePlan::off(),
            &"a".into(),
            &[],
        );
        // 2.5 % of 40.10 = 1.0025 → 1.00; plus 5.00
        assert_eq!(lines[0].amount.minor(), 600);
        assert_eq!(lines[0].explanation.rule, Rule::Hybrid);
    }

    #[test]
    fn upline_levels_earn_their_rate_of_the_direct_commission() {
        let terms = Terms {
            cpa_minor: None,
            revenue_share: Some(p("10")),
            ..Terms::default()
        };
        let plan = UplinePlan {
            depth: 2,
            rates: LevelRates::FixedStep {
                first: p("50"),
                step: p("25"),
            },
            base: UplineBase::DirectCommission,
            skip: Default::default(),
        };
        let lines = compute_lines(
            &Sale::of(usd(10_000)),
            &terms,
            &plan,
            &"a".into(),
            &chain(3),
        );
        let got: Vec<_> = lines
            .iter()
            .map(|l| (l.partner_id.as_str(), l.level, l.amount.minor()))
            .collect();
        assert_eq!(got, vec![("a", 0, 1_000), ("up1", 1, 500), ("up2", 2, 250)]);
        assert_eq!(
            lines[1].explanation.summary,
            "Level 1 upline: 50% of the direct commission 10.00 USD = 5.00 USD"
        );
        // Every line carries its exact parts, upline lines too.
        let parts: Vec<(&str, &str)> = lines[2]
            .explanation
            .parts
            .iter()
            .map(|p| (p.label.as_str(), p.amount.as_str()))
            .collect();
        assert_eq!(
            parts,
            vec![("25% of the direct commission 10.00 USD", "2.5")]
        );
    }

    #[test]
    fn depths_zero_to_ten_pay_exactly_the_decremented_rates() {
        let terms = Terms {
            cpa_minor: Some(10_000),
            revenue_share: None,
            ..Terms::default()
        };
        for depth in 0..=10u8 {
            let plan = UplinePlan {
                depth,
                rates: LevelRates::FixedStep {
                    first: p("10"),
                    step: p("1"),
                },
                base: UplineBase::DirectCommission,
                skip: Default::default(),
            };
            let lines = compute_lines(
                &Sale::of(usd(50_000)),
                &terms,
                &plan,
                &"a".into(),
                &chain(12),
            );
            assert_eq!(lines.len(), 1 + usize::from(depth), "depth {depth}");
            for line in &lines[1..] {
                // Level k earns (11 - k) % of the 100.00 CPA.
                let expected = (11 - i64::from(line.level)) * 100;
                assert_eq!(
                    line.amount.minor(),
                    expected,
                    "depth {depth} level {}",
                    line.level
                );
            }
        }
    }

    #[test]
    fn a_shorter_upline_than_the_depth_pays_only_the_levels_that_exist() {
        let terms = Terms {
            cpa_minor: Some(1_000),
            revenue_share: None,
            ..Terms::default()
        };
        let plan = UplinePlan {
            depth: 5,
            rates: LevelRates::Explicit {
                levels: vec![p("10"); 5],
            },
            base: UplineBase::Sale,
            skip: Default::default(),
        };
        let lines = compute_lines(
            &Sale::of(usd(10_000)),
            &terms,
            &plan,
            &"a".into(),
            &chain(2),
        );
        assert_eq!(lines.len(), 3);
        assert!(lines[1..].iter().all(|l| l.amount.minor() == 1_000));
    }

    #[test]
    fn a_partial_refund_reverses_each_line_in_proportion() {
        // 30.00 of a 100.00 sale refunded: 30 % of each line.
        assert_eq!(
            reversal_amounts(&[1_000, 500, 250], 10_000, 0, 3_000),
            vec![300, 150, 75]
        );
        // Then the rest: what is left of each line, exactly.
        assert_eq!(
            reversal_amounts(&[1_000, 500, 250], 10_000, 3_000, 7_000),
            vec![700, 350, 175]
        );
    }

    proptest! {
        #[test]
        fn refunds_adding_up_to_the_sale_net_every_line_to_zero(
            lines in proptest::collection::vec(0i64..1_000_000, 1..12),
            total in 1i64..100_000_000,
            cuts in proptest::collection::vec(1u32..1000, 0..6),
        ) {
            // Split the total into refunds at arbitrary points.
            let mut points: Vec<i64> = cuts.iter().map(|c| total * i64::from(*c) / 1000).collect();
            points.push(total);
            points.sort();
            let mut before = 0;
            let mut reversed = vec![0i64; lines.len()];
            for p in points {
                let step = p - before;
                for (r, a) in reversed.iter_mut().zip(reversal_amounts(&lines, total, before, step)) {
                    prop_assert!(a >= 0);
                    *r += a;
                }
                for (r, l) in reversed.iter().zip(&lines) {
                    prop_assert!(r <= l, "reversed {} of a {} line", r, l);
                }
                before = p;
            }
            prop_assert_eq!(reversed, lines);
        }

        #[test]
        fn a_refund_never_reverses_more_than_was_paid(
            lines in proptest::collection::vec(0i64..1_000_000, 1..12),
            total in 1i64..100_000_000,
            before_frac in 0u32..=1000,
            refund_frac in 0u32..=2000,
        ) {
            let before = total * i64::from(before_frac) / 1000;
            let refund = total * i64::from(refund_frac) / 1000;
            let earlier = reversal_amounts(&lines, total, 0, before);
            let now = reversal_amounts(&lines, total, before, refund);
            for ((e, n), l) in earlier.iter().zip(&now).zip(&lines) {
                prop_assert!(e + n <= *l);
            }
        }
    }

    fn arb_plan() -> impl Strategy<Value = UplinePlan> {
        let pct =
            (0u32..=100_000).prop_map(|n| Percent::new(Decimal::new(i64::from(n), 3)).unwrap());
        let rates = prop_oneof![
            proptest::collection::vec(pct.clone(), 0..12)
                .prop_map(|levels| LevelRates::Explicit { levels }),
            (pct.clone(), pct.clone())
                .prop_map(|(first, step)| LevelRates::FixedStep { first, step }),
            (pct, 0u32..=100).prop_map(|(first, f)| LevelRates::Factor {
                first,
                factor: Decimal::new(i64::from(f), 2)
            }),
        ];
        let base = prop_oneof![Just(UplineBase::DirectCommission), Just(UplineBase::Sale)];
        (0u8..=10, rates, base).prop_map(|(depth, rates, base)| UplinePlan {
            depth,
            rates,
            base,
            skip: Default::default(),
        })
    }

    proptest! {
        #[test]
        fn lines_are_deterministic(sale in 0i64..10_000_000_000, cpa in proptest::option::of(0i64..1_000_000),
                                   share in proptest::option::of(0u32..=100_000), plan in arb_plan(), n in 0usize..12) {
            let terms = Terms { cpa_minor: cpa, revenue_share: share.map(|s| Percent::new(Decimal::new(i64::from(s), 3)).unwrap()),
            ..Terms::default() };
            let a = compute_lines(&Sale::of(usd(sale)), &terms, &plan, &"a".into(), &chain(n));
            let b = compute_lines(&Sale::of(usd(sale)), &terms, &plan, &"a".into(), &chain(n));
            prop_assert_eq!(a, b);
        }

        #[test]
        fn no_line_exceeds_what_its_rate_allows(sale in 0i64..10_000_000_000, cpa in proptest::option::of(0i64..1_000_000),
                                   share in proptest::option::of(0u32..=100_000), plan in arb_plan(), n in 0usize..12) {
            let terms = Terms { cpa_minor: cpa, revenue_share: share.map(|s| Percent::new(Decimal::new(i64::from(s), 3)).unwrap()),
            ..Terms::default() };
            let lines = compute_lines(&Sale::of(usd(sale)), &terms, &plan, &"a".into(), &chain(n));
            let hundred = Decimal::ONE_HUNDRED;
            // The direct line is the CPA plus the share, off by at most half a cent.
            let exact_direct = Decimal::from(cpa.unwrap_or(0))
                + terms.revenue_share.map_or(Decimal::ZERO, |r| Decimal::from(sale) * r.as_decimal() / hundred);
            prop_assert!((Decimal::from(lines[0].amount.minor()) - exact_direct).abs() <= Decimal::new(5, 1));
            // Upline lines: only levels within depth and the chain, each within half a cent
            // of rate × base, and together never above the rates' sum times the base plus
            // half a cent per line.
            prop_assert!(lines.len() <= 1 + usize::from(plan.depth).min(n));
            let mut total = Decimal::ZERO;
            let mut allowed = Decimal::ZERO;
            for line in &lines[1..] {
                prop_assert!(line.level >= 1 && line.level <= plan.depth);
                let base = match plan.base {
                    UplineBase::DirectCommission => lines[0].amount.minor(),
                    UplineBase::Sale => sale,
                };
                let exact = Decimal::from(base) * plan.rate_for_level(line.level).as_decimal() / hundred;
                prop_assert!((Decimal::from(line.amount.minor()) - exact).abs() <= Decimal::new(5, 1));
                prop_assert!(line.amount.minor() >= 0);
                total += Decimal::from(line.amount.minor());
                allowed += exact + Decimal::new(5, 1);
            }
            prop_assert!(total <= allowed);
        }
    }
}
