//! Load: everything a conversion's commission is decided on, read from the store — the
//! campaign's upline plan and the converting partner's upline, the partner's standing,
//! the terms that apply to them, what their caps have used and their tier volume.

use std::collections::{BTreeMap, BTreeSet};

use crate::commission::UplineSeat;
use crate::conversion::Conversion;
use crate::error::AppError;
use crate::ids::PartnerId;
use crate::partner::PartnerStatus;
use crate::ports::Key;
use crate::program::{Program, SkipRule, UplinePlan};
use crate::services::Services;
use crate::store::keys;
use crate::terms::{CapPeriod, CapUsage, Terms, TermsSource, TierUsage};

/// What [`super::decide::decide`] needs besides the conversion and the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Inputs {
    /// Days a line stays pending, from the program.
    pub hold_days: u32,
    /// The campaign's own upline plan, or the program's.
    pub plan: UplinePlan,
    /// The converting partner's upline under `plan`, nearest recruiter first.
    pub upline: Vec<UplineSeat>,
    /// The converting partner's status; `None` when the partner is not on record.
    pub partner_status: Option<PartnerStatus>,
    pub terms: Terms,
    pub terms_source: TermsSource,
    /// What each cap period of `terms` has used so far.
    pub caps: BTreeMap<CapPeriod, CapRead>,
    /// The partner's approved volume this month; only read when `terms` have tiers.
    pub volume: TierUsage,
}

/// One cap period's usage as read: re-checked when writing, so two racing conversions
/// cannot both take the last place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CapRead {
    pub key: Key,
    /// The stored count of conversions; `None` when the period has no item yet.
    pub conversions: Option<i64>,
    pub usage: CapUsage,
}

/// Reads the inputs of `conversion`'s commission under `program`.
pub(super) async fn inputs(
    services: &Services,
    program: &Program,
    conversion: &Conversion,
) -> Result<Inputs, AppError> {
    let store = &services.store;
    let campaign = store
        .campaign(&conversion.campaign_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("campaign {}", conversion.campaign_id)))?;
    // A campaign may pay its upline on its own plan.
    let plan = campaign
        .upline
        .clone()
        .unwrap_or_else(|| program.upline.clone());
    let upline = upline_of(services, &conversion.partner_id, plan.depth, plan.skip).await?;
    let partner = store.partner(&conversion.partner_id).await?;
    let (terms, terms_source) = store.terms_for(&campaign, partner.as_ref()).await?;
    let caps = cap_usage(services, conversion, &terms).await?;
    // Only terms with tiers need the month's approved volume.
    let volume = if terms.tiers.is_empty() {
        TierUsage::default()
    } else {
        store
            .tier_volume(
                &conversion.partner_id,
                &conversion.campaign_id,
                services.now(),
            )
            .await?
    };
    Ok(Inputs {
        hold_days: program.hold_days,
        plan,
        upline,
        partner_status: partner.map(|p| p.status),
        terms,
        terms_source,
        caps,
        volume,
    })
}

/// What each cap period of `terms` has used so far, for the conversion's partner and
/// campaign in the period the conversion falls in.
async fn cap_usage(
    services: &Services,
    conversion: &Conversion,
    terms: &Terms,
) -> Result<BTreeMap<CapPeriod, CapRead>, AppError> {
    let periods: BTreeSet<CapPeriod> = terms.caps.iter().map(|c| c.period).collect();
    let mut used = BTreeMap::new();
    for period in periods {
        let key = keys::cap_usage(
            &conversion.partner_id,
            &conversion.campaign_id,
            period,
            conversion.created_at,
        );
        let item = services.store.table().get(&key).await?;
        let conversions = item.as_ref().and_then(|i| i.n("conversions"));
        let usage = CapUsage {
            conversions: conversions.unwrap_or(0),
            commission_minor: item
                .as_ref()
                .and_then(|i| i.n("commission_minor"))
                .unwrap_or(0),
        };
        used.insert(
            period,
            CapRead {
                key,
                conversions,
                usage,
            },
        );
    }
    Ok(used)
}

/// How far up a chain compression looks for approved recruiters.
const MAX_CHAIN_WALK: usize = 100;

/// The recruiters above `partner_id`, nearest first, one entry per paid level up to
/// `depth`: the recruiter, or [`UplineSeat::Forfeited`] for a forfeited level. A recruiter who is not
/// approved either forfeits their level (the chain continues above them at the next
/// level) or, with [`SkipRule::Compress`], is passed over so the next approved recruiter
/// takes the level.
pub async fn upline_of(
    services: &Services,
    partner_id: &PartnerId,
    depth: u8,
    skip: SkipRule,
) -> Result<Vec<UplineSeat>, AppError> {
    let mut chain = Vec::new();
    let mut seen = vec![partner_id.clone()];
    let mut current = services.store.partner(partner_id).await?;
    while chain.len() < usize::from(depth) && seen.len() <= MAX_CHAIN_WALK {
        let Some(recruiter_id) = current.as_ref().and_then(|p| p.recruited_by.clone()) else {
            break;
        };
        if seen.contains(&recruiter_id) {
            // Cycles are refused when recruiters are set; if data says otherwise, stop.
            tracing::error!(
                %partner_id,
                %recruiter_id,
                "recruitment cycle found; upline cut"
            );
            break;
        }
        seen.push(recruiter_id.clone());
        let recruiter = services.store.partner(&recruiter_id).await?;
        let eligible = recruiter
            .as_ref()
            .is_some_and(|r| r.status == PartnerStatus::Approved);
        match (eligible, skip) {
            (true, _) => chain.push(UplineSeat::Earner(recruiter_id)),
            (false, SkipRule::Forfeit) => chain.push(UplineSeat::Forfeited),
            (false, SkipRule::Compress) => {}
        }
        current = recruiter;
    }
    Ok(chain)
}
