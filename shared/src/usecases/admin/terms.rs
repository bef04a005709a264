//! A campaign's commission terms as the admin API sends them: CPA, shares, item rates,
//! qualification, bonuses, caps, tiers and recurring terms, each field checked.

use super::*;

fn parse_recurring(errors: &mut FieldErrors, r: RecurringRequest, currency: Currency) -> Recurring {
    if r.months == Some(0) {
        errors.push(
            "terms.recurring.months",
            "must be at least 1, or absent for life",
        );
    }
    let later = r.later.and_then(|l| {
        let after = errors.required("terms.recurring.later.after_months", l.after_months);
        let cpa_minor = l
            .cpa
            .as_ref()
            .and_then(|c| amount(errors, "terms.recurring.later.cpa", c, currency));
        let revenue_share = l.revenue_share_percent.as_ref().and_then(|p| {
            errors.take(
                "terms.recurring.later.revenue_share_percent",
                Percent::parse(&p.0),
            )
        });
        Some(LaterRate {
            after_months: after?,
            cpa_minor,
            revenue_share,
        })
    });
    Recurring {
        months: r.months,
        later,
    }
}

fn parse_tiers(errors: &mut FieldErrors, tiers: Vec<TierRequest>, currency: Currency) -> Vec<Tier> {
    let mut out = Vec::new();
    for (i, t) in tiers.into_iter().enumerate() {
        let f = |n: &str| format!("terms.tiers[{i}].{n}");
        let name = errors.required(&f("name"), t.name);
        let name = name.and_then(|n| errors.take(&f("name"), parse_name(&n)));
        let metric = match t.metric.as_deref() {
            Some("approved_conversions") => Some(TierMetric::ApprovedConversions),
            Some("approved_revenue") => Some(TierMetric::ApprovedRevenue),
            other => {
                errors.push(
                    &f("metric"),
                    format!("must be approved_conversions or approved_revenue, got {other:?}"),
                );
                None
            }
        };
        let from = errors.required(&f("from"), t.from);
        let from = match (metric, from) {
            (Some(TierMetric::ApprovedConversions), Some(v)) => {
                let n = v.0.parse::<i64>().ok().filter(|n| *n >= 1);
                errors.take(
                    &f("from"),
                    n.ok_or("must be a whole number of conversions, at least 1"),
                )
            }
            (Some(TierMetric::ApprovedRevenue), Some(v)) => {
                amount(errors, &f("from"), &v, currency)
            }
            _ => None,
        };
        let cpa_minor = t
            .cpa
            .as_ref()
            .and_then(|c| amount(errors, &f("cpa"), c, currency));
        let revenue_share = t
            .revenue_share_percent
            .as_ref()
            .and_then(|r| errors.take(&f("revenue_share_percent"), Percent::parse(&r.0)));
        if cpa_minor.is_none()
            && revenue_share.is_none()
            && t.cpa.is_none()
            && t.revenue_share_percent.is_none()
        {
            errors.push(
                &f("revenue_share_percent"),
                "a tier sets a cpa, a revenue_share_percent, or both",
            );
        }
        if let (Some(name), Some(metric), Some(from)) = (name, metric, from) {
            out.push(Tier {
                name,
                metric,
                from,
                cpa_minor,
                revenue_share,
            });
        }
    }
    out
}

fn parse_caps(errors: &mut FieldErrors, caps: Vec<CapRequest>, currency: Currency) -> Vec<Cap> {
    let mut out = Vec::new();
    for (i, c) in caps.into_iter().enumerate() {
        let f = |n: &str| format!("terms.caps[{i}].{n}");
        let period = match c.period.as_deref() {
            Some("day") => Some(CapPeriod::Day),
            Some("month") => Some(CapPeriod::Month),
            other => {
                errors.push(&f("period"), format!("must be day or month, got {other:?}"));
                None
            }
        };
        let metric = match c.metric.as_deref() {
            Some("conversions") => Some(CapMetric::Conversions),
            Some("commission") => Some(CapMetric::Commission),
            other => {
                errors.push(
                    &f("metric"),
                    format!("must be conversions or commission, got {other:?}"),
                );
                None
            }
        };
        let limit = errors.required(&f("limit"), c.limit);
        let limit = match (metric, limit) {
            (Some(CapMetric::Conversions), Some(l)) => {
                let n = l.0.parse::<i64>().ok().filter(|n| *n >= 0);
                errors.take(
                    &f("limit"),
                    n.ok_or("must be a whole number of conversions"),
                )
            }
            (Some(CapMetric::Commission), Some(l)) => amount(errors, &f("limit"), &l, currency),
            _ => None,
        };
        if let (Some(period), Some(metric), Some(limit)) = (period, metric, limit) {
            out.push(Cap {
                period,
                metric,
                limit,
            });
        }
    }
    out
}

/// A non-negative amount in the program currency, or a field error.
fn amount(
    errors: &mut FieldErrors,
    field: &str,
    text: &DecimalText,
    currency: Currency,
) -> Option<i64> {
    let m = errors.take(field, Money::parse(&text.0, currency))?;
    if m.is_negative() {
        errors.push(field, "must not be negative");
        return None;
    }
    Some(m.minor())
}

fn percent_map(
    errors: &mut FieldErrors,
    field: &str,
    map: Option<BTreeMap<String, DecimalText>>,
) -> BTreeMap<String, Percent> {
    let mut out = BTreeMap::new();
    for (k, v) in map.unwrap_or_default() {
        if let Some(p) = errors.take(&format!("{field}.{k}"), Percent::parse(&v.0)) {
            out.insert(k, p);
        }
    }
    out
}

fn event_names(
    errors: &mut FieldErrors,
    field: &str,
    names: impl IntoIterator<Item = String>,
) -> Vec<String> {
    names
        .into_iter()
        .enumerate()
        .filter_map(|(i, n)| errors.take(&format!("{field}[{i}]"), parse_event(&n)))
        .collect()
}

/// Reads a campaign's terms; amounts are in the program currency.
pub fn parse_terms(t: TermsRequest, currency: Currency, errors: &mut FieldErrors) -> Terms {
    let cpa_minor = t
        .cpa
        .as_ref()
        .and_then(|c| amount(errors, "terms.cpa", c, currency));
    let mut cpa_by_event = BTreeMap::new();
    for (event, v) in t.cpa_by_event.unwrap_or_default() {
        let field = format!("terms.cpa_by_event.{event}");
        let name = errors.take(&field, parse_event(&event));
        if let (Some(name), Some(a)) = (name, amount(errors, &field, &v, currency)) {
            cpa_by_event.insert(name, a);
        }
    }
    let revenue_share = t
        .revenue_share_percent
        .as_ref()
        .and_then(|r| errors.take("terms.revenue_share_percent", Percent::parse(&r.0)));
    let caps = parse_caps(errors, t.caps.unwrap_or_default(), currency);
    let tiers = parse_tiers(errors, t.tiers.unwrap_or_default(), currency);
    let recurring = t.recurring.map(|r| parse_recurring(errors, r, currency));
    let b = t.base.unwrap_or_default();
    let q = t.qualification.unwrap_or_default();
    let bonuses = t.bonuses.unwrap_or_default();
    let order_value = bonuses.order_value.and_then(|ov| {
        let threshold = errors.required("terms.bonuses.order_value.threshold", ov.threshold);
        let bonus = errors.required("terms.bonuses.order_value.bonus", ov.bonus);
        let threshold = threshold
            .and_then(|v| amount(errors, "terms.bonuses.order_value.threshold", &v, currency));
        let bonus =
            bonus.and_then(|v| amount(errors, "terms.bonuses.order_value.bonus", &v, currency));
        Some(OrderValueBonus {
            threshold_minor: threshold?,
            bonus_minor: bonus?,
        })
    });
    Terms {
        cpa_minor,
        cpa_by_event,
        revenue_share,
        base: CommissionBase {
            net_of_discount: b.net_of_discount.unwrap_or(false),
            net_of_tax: b.net_of_tax.unwrap_or(false),
            net_of_shipping: b.net_of_shipping.unwrap_or(false),
        },
        items: ItemRates {
            by_sku: percent_map(errors, "terms.sku_rates", t.sku_rates),
            by_category: percent_map(errors, "terms.category_rates", t.category_rates),
            excluded_skus: t.excluded_skus.unwrap_or_default().into_iter().collect(),
            excluded_categories: t
                .excluded_categories
                .unwrap_or_default()
                .into_iter()
                .collect(),
        },
        qualification: Qualification {
            min_amount_minor: q
                .min_amount
                .as_ref()
                .and_then(|m| amount(errors, "terms.qualification.min_amount", m, currency)),
            events: event_names(
                errors,
                "terms.qualification.events",
                q.events.unwrap_or_default(),
            )
            .into_iter()
            .collect(),
            first_time_customer_only: q.first_time_customer_only.unwrap_or(false),
        },
        bonuses: Bonuses {
            new_customer_minor: bonuses
                .new_customer
                .as_ref()
                .and_then(|v| amount(errors, "terms.bonuses.new_customer", v, currency)),
            order_value,
        },
        caps,
        tiers,
        recurring,
    }
}
