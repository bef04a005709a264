//! Tracking links and raw clicks.

use super::*;
use crate::ids::{CampaignId, LinkCode, PartnerId};

impl Store {
    pub async fn link(&self, code: &LinkCode) -> Result<Option<Link>, AppError> {
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
        partner_id: &PartnerId,
        campaign_id: &CampaignId,
    ) -> Result<Option<LinkCode>, AppError> {
        Ok(self
            .table
            .get(&keys::link_of(partner_id, campaign_id))
            .await?
            .and_then(|i| i.s("owner").map(LinkCode::from)))
    }

    pub async fn links_of(&self, partner_id: &PartnerId) -> Result<Vec<Link>, AppError> {
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
}
