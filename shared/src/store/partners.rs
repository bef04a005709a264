//! Partners, their uniqueness markers and API keys.

use super::*;
use crate::ids::PartnerId;

impl Store {
    pub async fn partner(&self, id: &PartnerId) -> Result<Option<Partner>, AppError> {
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
    ) -> Result<Option<PartnerId>, AppError> {
        Ok(self
            .table
            .get(&keys::referral_code(code))
            .await?
            .and_then(|i| i.s("owner").map(PartnerId::from)))
    }

    pub async fn partner_id_by_email(&self, email: &str) -> Result<Option<PartnerId>, AppError> {
        Ok(self
            .table
            .get(&keys::partner_email(email))
            .await?
            .and_then(|i| i.s("owner").map(PartnerId::from)))
    }

    pub async fn partners(&self, page: &PageQuery) -> Result<PageOf<Partner>, AppError> {
        self.page_of(Index::Gsi2, &keys::partners_listing(), page)
            .await
    }

    /// Every partner, newest first: what the console searches and filters in (a program
    /// has thousands of partners, not millions; pages stay one query each).
    pub async fn all_partners(&self) -> Result<Vec<Partner>, AppError> {
        let mut items = self
            .query_all(
                Index::Gsi2,
                &keys::partners_listing(),
                &crate::ports::SortKeyCondition::All,
            )
            .await?;
        items.reverse();
        items.iter().map(crate::store::decode).collect()
    }

    /// The partner, or a 404 naming it.
    pub async fn require_partner(&self, id: &PartnerId) -> Result<Partner, AppError> {
        self.partner(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no partner {id}")))
    }

    /// Saves a partner the caller read and changed, if it still exists.
    pub async fn save_partner(&self, partner: &Partner) -> Result<(), AppError> {
        self.table
            .transact(vec![Store::partner_put(partner, Condition::Exists)])
            .await?;
        Ok(())
    }

    /// Commits `ops`, which are conditional on what the caller read of a partner; if the
    /// partner changed meanwhile, the answer is a conflict on its `status` saying `what`
    /// to do.
    pub async fn commit_unless_changed(&self, ops: Vec<TxOp>, what: &str) -> Result<(), AppError> {
        self.table.transact(ops).await.map_err(|e| match e {
            TableError::TransactionCancelled { .. } => AppError::Conflict {
                field: Some("status".into()),
                detail: what.to_string(),
            },
            other => other.into(),
        })
    }

    pub fn api_key_put(hash: &str, principal: &Principal) -> TxOp {
        TxOp::Put(encode(keys::api_key(hash), principal), Condition::NotExists)
    }

    pub async fn principal(&self, key_hash: &str) -> Result<Option<Principal>, AppError> {
        self.get_entity(&keys::api_key(key_hash)).await
    }
}
