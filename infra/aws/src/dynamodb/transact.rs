//! Transactions as `TransactWriteItems`: each operation becomes one transact item with
//! its condition, and a cancellation is mapped back to the operations whose condition failed.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Put, TransactWriteItem, Update as DynamoUpdate,
};
use upline_domain::ports::table::{MAX_TRANSACTION_OPS, check_transaction};
use upline_domain::ports::{TableError, TxOp};

use super::DynamoTable;
use super::codec::{item_map, key_map};
use super::errors::{build_error, map_error};
use super::expressions::{condition_expr, opt_map, update_expr};

impl DynamoTable {
    pub(super) async fn transact_write(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        check_transaction(&ops, MAX_TRANSACTION_OPS)?;
        let mut items = Vec::with_capacity(ops.len());
        for op in &ops {
            let item = match op {
                TxOp::Put(item, c) => {
                    let e = condition_expr(c);
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item_map(item)))
                        .set_condition_expression(e.text)
                        .set_expression_attribute_names(opt_map(e.names))
                        .set_expression_attribute_values(opt_map(e.values))
                        .build()
                        .map_err(build_error)?;
                    TransactWriteItem::builder().put(put).build()
                }
                TxOp::Update(key, update, c) => {
                    let (text, e) = update_expr(update, c);
                    let text = text.ok_or_else(|| {
                        TableError::Invalid("a transactional update must change something".into())
                    })?;
                    let upd = DynamoUpdate::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .update_expression(text)
                        .set_condition_expression(e.text)
                        .set_expression_attribute_names(opt_map(e.names))
                        .set_expression_attribute_values(opt_map(e.values))
                        .build()
                        .map_err(build_error)?;
                    TransactWriteItem::builder().update(upd).build()
                }
                TxOp::Delete(key, c) => {
                    let e = condition_expr(c);
                    let del = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .set_condition_expression(e.text)
                        .set_expression_attribute_names(opt_map(e.names))
                        .set_expression_attribute_values(opt_map(e.values))
                        .build()
                        .map_err(build_error)?;
                    TransactWriteItem::builder().delete(del).build()
                }
                TxOp::Check(key, c) => {
                    let e = condition_expr(c);
                    // DynamoDB requires a condition on a check; "none" holds for any item.
                    let text = e.text.unwrap_or_else(|| {
                        "attribute_exists(pk) OR attribute_not_exists(pk)".into()
                    });
                    let check = ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .condition_expression(text)
                        .set_expression_attribute_names(opt_map(e.names))
                        .set_expression_attribute_values(opt_map(e.values))
                        .build()
                        .map_err(build_error)?;
                    TransactWriteItem::builder().condition_check(check).build()
                }
            };
            items.push(item);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(ctx)) => match ctx.into_err() {
                TransactWriteItemsError::TransactionCanceledException(e) => {
                    let reasons = e.cancellation_reasons();
                    let failed: Vec<bool> = (0..ops.len())
                        .map(|i| {
                            reasons.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
                        })
                        .collect();
                    if failed.iter().any(|f| *f) {
                        Err(TableError::TransactionCancelled { failed })
                    } else if reasons.iter().any(|r| r.code() == Some("ThrottlingError")) {
                        Err(TableError::Throttled)
                    } else {
                        Err(TableError::TransactionConflict)
                    }
                }
                other => Err(match other.code() {
                    Some("TransactionConflictException" | "TransactionInProgressException") => {
                        TableError::TransactionConflict
                    }
                    Some(
                        "ProvisionedThroughputExceededException"
                        | "ThrottlingException"
                        | "RequestLimitExceeded",
                    ) => TableError::Throttled,
                    Some("ValidationException") => TableError::Invalid(
                        other.message().unwrap_or("validation failed").to_string(),
                    ),
                    _ => TableError::Unavailable(format!("{other:?}")),
                }),
            },
            Err(e) => Err(map_error(e)),
        }
    }
}
