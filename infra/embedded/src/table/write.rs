//! Conditional writes: one operation alone or several in one transaction, each checked
//! against its condition inside redb's single write transaction before anything is written.

use redb::WriteTransaction;
use upline_domain::ports::table::{apply_update, check_transaction, condition_holds};
use upline_domain::ports::{Attr, Condition, Index, Item, TableError, TxOp};

use super::items::{read_item, write_item};

/// The most operations one transaction takes: redb has no limit of its own, and one
/// commit for a batch of clicks is worth more than DynamoDB's 100; this bounds how long
/// one transaction holds the writer.
pub(crate) const TRANSACTION_LIMIT: usize = 5_000;

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

/// The item `op` leaves (`None`: none), computed and checked before anything is written,
/// so a refused operation leaves the group's transaction clean.
fn outcome(op: &TxOp, current: Option<&Item>) -> Result<Option<Item>, TableError> {
    match op {
        TxOp::Put(item, _) => {
            validate_item(item)?;
            Ok(Some(item.clone()))
        }
        TxOp::Update(key, update, _) => {
            let next = apply_update(key, current.cloned(), update)?;
            validate_item(&next)?;
            Ok(Some(next))
        }
        TxOp::Delete(..) => Ok(None),
        TxOp::Check(..) => Ok(current.cloned()),
    }
}

/// Writes what [`outcome`] decided.
fn apply(
    txn: &WriteTransaction,
    op: &TxOp,
    current: Option<&Item>,
    after: Option<&Item>,
) -> Result<(), TableError> {
    match op {
        TxOp::Check(..) => Ok(()),
        TxOp::Delete(..) if current.is_none() => Ok(()),
        _ => write_item(txn, op.key(), current, after),
    }
}

fn condition_of(op: &TxOp) -> &Condition {
    match op {
        TxOp::Put(_, c) | TxOp::Update(_, _, c) | TxOp::Delete(_, c) | TxOp::Check(_, c) => c,
    }
}

/// Runs one operation alone in `txn`; returns the item as it is afterwards.
pub(super) fn single(txn: &WriteTransaction, op: TxOp) -> Result<Option<Item>, TableError> {
    let current = read_item(txn, op.key())?;
    if !condition_holds(condition_of(&op), current.as_ref()) {
        return Err(TableError::ConditionFailed);
    }
    let after = outcome(&op, current.as_ref())?;
    apply(txn, &op, current.as_ref(), after.as_ref())?;
    Ok(after)
}

/// Runs `ops` all or none in `txn`: every condition and every resulting item is checked
/// before the first write.
pub(super) fn transact(txn: &WriteTransaction, ops: Vec<TxOp>) -> Result<(), TableError> {
    check_transaction(&ops, TRANSACTION_LIMIT)?;
    let mut current = Vec::with_capacity(ops.len());
    let mut failed = Vec::with_capacity(ops.len());
    for op in &ops {
        let item = read_item(txn, op.key())?;
        failed.push(!condition_holds(condition_of(op), item.as_ref()));
        current.push(item);
    }
    if failed.iter().any(|f| *f) {
        return Err(TableError::TransactionCancelled { failed });
    }
    let after = ops
        .iter()
        .zip(&current)
        .map(|(op, item)| outcome(op, item.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    for ((op, item), after) in ops.iter().zip(&current).zip(&after) {
        apply(txn, op, item.as_ref(), after.as_ref())?;
    }
    Ok(())
}
