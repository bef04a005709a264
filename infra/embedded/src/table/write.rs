//! Conditional writes: one operation alone or several in one transaction, each checked
//! against its condition inside redb's single write transaction before anything is written.

use redb::WriteTransaction;
use upline_domain::ports::table::{apply_update, check_transaction, condition_holds};
use upline_domain::ports::{Attr, Condition, Index, Item, TableError, TxOp};

use super::items::{read_item, storage, write_item};
use crate::EmbeddedStore;

/// Checks keys and index attributes the way DynamoDB would refuse them.
fn validate_item(item: &Item) -> Result<(), TableError> {
    if item.key.pk.is_empty() || item.key.sk.is_empty() {
        return Err(TableError::Invalid("keys must not be empty".into()));
    }
    for index in Index::SECONDARY {
        let (p, s) = index.attribute_names().expect("secondary");
        for name in [p, s] {
            match item.attrs.get(name) {
                Some(Attr::N(_)) => {
                    return Err(TableError::Invalid(format!(
                        "index attribute {name} must be a string"
                    )));
                }
                Some(Attr::S(v)) if v.is_empty() => {
                    return Err(TableError::Invalid(format!(
                        "index attribute {name} must not be empty"
                    )));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn apply(
    txn: &WriteTransaction,
    op: &TxOp,
    current: Option<Item>,
) -> Result<Option<Item>, TableError> {
    match op {
        TxOp::Put(item, _) => {
            validate_item(item)?;
            write_item(txn, &item.key, current.as_ref(), Some(item))?;
            Ok(Some(item.clone()))
        }
        TxOp::Update(key, update, _) => {
            let next = apply_update(key, current.clone(), update)?;
            validate_item(&next)?;
            write_item(txn, key, current.as_ref(), Some(&next))?;
            Ok(Some(next))
        }
        TxOp::Delete(key, _) => {
            if current.is_some() {
                write_item(txn, key, current.as_ref(), None)?;
            }
            Ok(None)
        }
        TxOp::Check(..) => Ok(current),
    }
}

fn condition_of(op: &TxOp) -> &Condition {
    match op {
        TxOp::Put(_, c) | TxOp::Update(_, _, c) | TxOp::Delete(_, c) | TxOp::Check(_, c) => c,
    }
}

/// Runs one operation alone; returns the item as it is afterwards.
pub(super) fn single(store: &EmbeddedStore, op: TxOp) -> Result<Option<Item>, TableError> {
    let txn = store.begin_write()?;
    let current = read_item(&txn, op.key())?;
    if !condition_holds(condition_of(&op), current.as_ref()) {
        return Err(TableError::ConditionFailed);
    }
    let after = apply(&txn, &op, current)?;
    txn.commit().map_err(storage)?;
    Ok(after)
}

impl EmbeddedStore {
    pub(super) fn transact_sync(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        check_transaction(&ops)?;
        let txn = self.begin_write()?;
        let mut current = Vec::with_capacity(ops.len());
        let mut failed = Vec::with_capacity(ops.len());
        for op in &ops {
            let item = read_item(&txn, op.key())?;
            failed.push(!condition_holds(condition_of(op), item.as_ref()));
            current.push(item);
        }
        if failed.iter().any(|f| *f) {
            // Dropping the transaction aborts it: nothing was written.
            return Err(TableError::TransactionCancelled { failed });
        }
        for (op, item) in ops.iter().zip(current) {
            apply(&txn, op, item)?;
        }
        txn.commit().map_err(storage)
    }
}
