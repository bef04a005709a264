//! Campaigns and the terms overrides on them: ids operators choose, creating or
//! replacing a campaign, and per-partner or per-group terms.

use super::*;
use crate::ids::CampaignId;
use crate::ids::PartnerId;

/// Ids chosen by operators appear in URLs and keys: keep them plain.
pub fn parse_slug(field: &str, text: &str) -> Result<String, AppError> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(text.to_string())
    } else {
        Err(AppError::field(
            field,
            "must be 1 to 64 characters of a-z, 0-9, - and _",
        ))
    }
}

/// Creates or replaces a campaign under the id the operator chose.
pub async fn put_campaign(
    services: &Services,
    id: &str,
    req: CampaignRequest,
) -> Result<(Campaign, bool), AppError> {
    let id = CampaignId::new(parse_slug("id", id)?);
    let program = require_program(&services.store).await?;
    let existing = services.store.campaign(&id).await?;
    let mut errors = FieldErrors::default();
    let name = errors.required("name", req.name);
    let name = name.and_then(|n| errors.take("name", parse_name(&n)));
    let destination = errors
        .required("destination_url", req.destination_url)
        .and_then(|d| errors.take("destination_url", parse_destination(&d)));
    let mut allowed_domains = Vec::new();
    for (i, d) in req.allowed_domains.unwrap_or_default().iter().enumerate() {
        if let Some(d) = errors.take(&format!("allowed_domains[{i}]"), parse_allowed_domain(d)) {
            allowed_domains.push(d);
        }
    }
    let terms = parse_terms(req.terms.unwrap_or_default(), program.currency, &mut errors);
    let upline = req
        .upline
        .as_ref()
        .and_then(|u| parse_upline(u, &mut errors));
    let targeting =
        crate::targeting::parse_targeting(req.targeting.unwrap_or_default(), &mut errors);
    let max_window = crate::campaign::MAX_ATTRIBUTION_WINDOW_DAYS;
    let attribution_window_days = match req.attribution_window_days {
        None => crate::campaign::DEFAULT_ATTRIBUTION_WINDOW_DAYS,
        Some(d) if (1..=i64::from(max_window)).contains(&d) => d as u32,
        Some(_) => {
            errors.push(
                "attribution_window_days",
                format!("must be between 1 and {max_window}"),
            );
            crate::campaign::DEFAULT_ATTRIBUTION_WINDOW_DAYS
        }
    };
    let status = match req.status.as_deref() {
        None | Some("active") => CampaignStatus::Active,
        Some("paused") => CampaignStatus::Paused,
        Some(other) => {
            errors.push("status", format!("must be active or paused, got {other:?}"));
            CampaignStatus::Active
        }
    };
    let (name, destination) = errors.finish((name, destination))?;
    let now = services.now();
    let campaign = Campaign {
        id,
        name,
        destination_url: destination.to_string(),
        allowed_domains,
        terms,
        upline,
        targeting,
        attribution_window_days,
        status,
        created_at: existing.as_ref().map_or(now, |c| c.created_at),
        updated_at: now,
    };
    services.store.put_campaign(&campaign).await?;
    Ok((campaign, existing.is_none()))
}

/// Whose terms an override sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideFor {
    Partner(PartnerId),
    Group(String),
}

impl OverrideFor {
    fn key(&self, campaign_id: &CampaignId) -> crate::ports::Key {
        match self {
            OverrideFor::Partner(p) => crate::store::keys::partner_terms(campaign_id, p),
            OverrideFor::Group(g) => crate::store::keys::group_terms(campaign_id, g),
        }
    }
}

/// Replaces the campaign's terms for one partner or one group; returns the terms and
/// whether they are new.
pub async fn put_terms_override(
    services: &Services,
    campaign_id: &CampaignId,
    target: OverrideFor,
    req: TermsRequest,
) -> Result<(Terms, bool), AppError> {
    let program = require_program(&services.store).await?;
    let campaign = services
        .store
        .campaign(campaign_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no campaign {campaign_id}")))?;
    match &target {
        OverrideFor::Partner(p) => {
            if services.store.partner(p).await?.is_none() {
                return Err(AppError::NotFound(format!("no partner {p}")));
            }
        }
        OverrideFor::Group(g) => {
            parse_slug("group", g)?;
        }
    }
    let mut errors = FieldErrors::default();
    let terms = parse_terms(req, program.currency, &mut errors);
    errors.into_result()?;
    let created = services
        .store
        .put_terms_override(target.key(&campaign.id), &terms)
        .await?;
    Ok((terms, created))
}

/// Removes an override; the partner or group falls back to the campaign's terms.
pub async fn delete_terms_override(
    services: &Services,
    campaign_id: &CampaignId,
    target: OverrideFor,
) -> Result<(), AppError> {
    if services
        .store
        .delete_terms_override(target.key(campaign_id))
        .await?
    {
        Ok(())
    } else {
        Err(AppError::NotFound("no such override".into()))
    }
}
