//! The program, its campaigns, exchange rates and terms (with the secrets they seal).

use super::*;
use crate::ids::{CampaignId, PartnerId};

impl Store {
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

    pub async fn campaign(&self, id: &CampaignId) -> Result<Option<Campaign>, AppError> {
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
                conversion.amounts.sale.minor() - conversion.amounts.refunded.minor(),
            ),
            Condition::None,
        )
    }

    pub async fn tier_volume(
        &self,
        partner_id: &PartnerId,
        campaign_id: &CampaignId,
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
}
