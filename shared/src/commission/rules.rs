//! The rules that stop or cut a line: renewals outside recurring terms, caps, and
//! qualification (minimum sale, first-time customers, events).

use super::*;
use crate::error::Invalid;

/// The terms a renewal in `month` earns under, or why it earns nothing.
pub(super) fn renewal_rule(terms: &Terms, month: u32) -> Result<Terms, Invalid> {
    let Some(recurring) = &terms.recurring else {
        return Err("subscription renewals do not earn on this campaign".into());
    };
    if let Some(m) = recurring.months
        && month >= m
    {
        return Err(Invalid(format!(
            "renewals earn for the subscription's first {m} months, and this is month {month}"
        )));
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
pub(super) fn over_cap(
    terms: &Terms,
    usage: &dyn Fn(&Cap) -> CapUsage,
    earns: Money,
) -> Option<String> {
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

/// Why a conversion does not qualify, if it does not.
pub(super) fn disqualification(sale: &Sale, terms: &Terms) -> Option<String> {
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
