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

/// A campaign id from a path: a slug the operator chose.
pub fn parse_campaign_id(text: &str) -> Result<CampaignId, AppError> {
    parse_slug("id", text).map(CampaignId::new)
}

/// A campaign as the operator described it, every field checked: what `put_campaign`
/// stores under the id.
#[derive(Debug, Clone)]
pub struct CampaignSpec {
    pub name: String,
    pub destination: url::Url,
    pub allowed_domains: Vec<String>,
    pub terms: Terms,
    pub upline: Option<UplinePlan>,
    pub targeting: crate::targeting::Targeting,
    pub attribution_window_days: u32,
    pub status: CampaignStatus,
}

impl CampaignRequest {
    /// The campaign, with its amounts read in the program `currency`, or an error for
    /// every field that is missing or wrong.
    pub fn parse(self, currency: Currency) -> Result<CampaignSpec, AppError> {
        let req = self;
        let mut errors = FieldErrors::default();
        let name = errors.required("name", req.name);
        let name = name.and_then(|n| errors.take("name", parse_name(&n)));
        let destination = errors
            .required("destination_url", req.destination_url)
            .and_then(|d| errors.take("destination_url", parse_destination(&d)));
        let mut allowed_domains = Vec::new();
        for (i, d) in req.allowed_domains.unwrap_or_default().iter().enumerate() {
            if let Some(d) = errors.take(&format!("allowed_domains[{i}]"), parse_allowed_domain(d))
            {
                allowed_domains.push(d);
            }
        }
        let terms = parse_terms(req.terms.unwrap_or_default(), currency, &mut errors);
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
        Ok(CampaignSpec {
            name,
            destination,
            allowed_domains,
            terms,
            upline,
            targeting,
            attribution_window_days,
            status,
        })
    }
}

impl TermsRequest {
    /// Terms with their amounts read in the program `currency`, or every field error.
    pub fn parse(self, currency: Currency) -> Result<Terms, AppError> {
        let mut errors = FieldErrors::default();
        let terms = parse_terms(self, currency, &mut errors);
        errors.into_result()?;
        Ok(terms)
    }
}

/// Creates or replaces a campaign under the id the operator chose.
pub async fn put_campaign(
    services: &Services,
    id: CampaignId,
    spec: CampaignSpec,
) -> Result<(Campaign, bool), AppError> {
    let existing = services.store.campaign(&id).await?;
    let campaign = campaign_of(services, id, spec, existing.as_ref());
    services.store.put_campaign(&campaign).await?;
    Ok((campaign, existing.is_none()))
}

/// Creates a campaign under an id no campaign has: of two operators creating the same id
/// at once, the second is told it is taken (`409`, naming `id`) instead of replacing the
/// first's.
pub async fn create_campaign(
    services: &Services,
    id: CampaignId,
    spec: CampaignSpec,
) -> Result<Campaign, AppError> {
    let campaign = campaign_of(services, id, spec, None);
    let item = crate::store::encode(crate::store::keys::campaign(&campaign.id), &campaign);
    match services
        .store
        .table()
        .put(item, crate::ports::Condition::NotExists)
        .await
    {
        Ok(()) => Ok(campaign),
        Err(crate::ports::TableError::ConditionFailed) => Err(AppError::Conflict {
            field: Some("id".into()),
            detail: format!(
                "{} is taken by another campaign; choose another id or edit that one",
                campaign.id
            ),
        }),
        Err(e) => Err(e.into()),
    }
}

fn campaign_of(
    services: &Services,
    id: CampaignId,
    spec: CampaignSpec,
    existing: Option<&Campaign>,
) -> Campaign {
    let now = services.now();
    Campaign {
        id,
        name: spec.name,
        destination_url: spec.destination.to_string(),
        allowed_domains: spec.allowed_domains,
        terms: spec.terms,
        upline: spec.upline,
        targeting: spec.targeting,
        attribution_window_days: spec.attribution_window_days,
        status: spec.status,
        created_at: existing.map_or(now, |c| c.created_at),
        updated_at: now,
    }
}

/// Whose terms an override sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideFor {
    Partner(PartnerId),
    Group(String),
}

impl OverrideFor {
    /// A group named in a path: a slug, like the groups partners are put in.
    pub fn group(text: &str) -> Result<Self, AppError> {
        parse_slug("group", text).map(OverrideFor::Group)
    }

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
    terms: Terms,
) -> Result<(Terms, bool), AppError> {
    let campaign = services
        .store
        .campaign(campaign_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no campaign {campaign_id}")))?;
    // A group needs no record: it exists once a partner is put in it.
    if let OverrideFor::Partner(p) = &target {
        services.store.require_partner(p).await?;
    }
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
