//! The Table port on DynamoDB, one to one: items are DynamoDB items (`pk`, `sk`, string
//! attributes as `S`, integers as `N`), the three indexes are GSIs named `gsi1`, `gsi2` and `gsi3`,
//! conditions become condition expressions, and transactions are `TransactWriteItems`
//! with cancellation reasons mapped back to the operations that failed.

mod codec;
mod errors;
mod expressions;
mod transact;

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use upline_domain::ports::table::check_query_limit;
use upline_domain::ports::{
    Condition, Index, Item, Key, Page, SortKeyCondition, Table, TableError, TxOp, Update,
};

use codec::{decode_cursor, encode_cursor, from_dynamo, item_map, key_map};
use errors::map_error;
use expressions::{condition_expr, opt_map, update_expr};

#[derive(Clone, Debug)]
pub struct DynamoTable {
    client: Client,
    table: String,
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoTable {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_error)?;
        out.item.map(from_dynamo).transpose()
    }

    async fn query(
        &self,
        index: Index,
        partition: &str,
        condition: &SortKeyCondition,
        forward: bool,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, TableError> {
        check_query_limit(limit)?;
        let (pk_name, sk_name) = index.attribute_names().unwrap_or(("pk", "sk"));
        let mut names = HashMap::from([("#p".to_string(), pk_name.to_string())]);
        let mut values =
            HashMap::from([(":p".to_string(), AttributeValue::S(partition.to_string()))]);
        let mut text = "#p = :p".to_string();
        match condition {
            SortKeyCondition::All => {}
            SortKeyCondition::BeginsWith(prefix) => {
                names.insert("#s".into(), sk_name.into());
                values.insert(":a".into(), AttributeValue::S(prefix.clone()));
                text.push_str(" AND begins_with(#s, :a)");
            }
            SortKeyCondition::Between(a, b) => {
                names.insert("#s".into(), sk_name.into());
                values.insert(":a".into(), AttributeValue::S(a.clone()));
                values.insert(":b".into(), AttributeValue::S(b.clone()));
                text.push_str(" AND #s BETWEEN :a AND :b");
            }
        }
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(text)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(forward)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        request = match index {
            // Base-table reads are strongly consistent; GSIs cannot be.
            Index::Primary => request.consistent_read(true),
            secondary => request.index_name(secondary.name()),
        };
        if let Some(c) = cursor {
            request = request.set_exclusive_start_key(Some(decode_cursor(c)?));
        }
        let out = request
            .send()
            .await
            .map_err(map_error)
            .map_err(|e| match e {
                // A decodable cursor whose key does not fit this query's partition or index.
                TableError::Invalid(_) if cursor.is_some() => TableError::BadCursor,
                other => other,
            })?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_dynamo)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match out.last_evaluated_key {
            Some(k) if !k.is_empty() => Some(encode_cursor(&k)?),
            _ => None,
        };
        Ok(Page { items, next })
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        let e = condition_expr(&condition);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_map(&item)))
            .set_condition_expression(e.text)
            .set_expression_attribute_names(opt_map(e.names))
            .set_expression_attribute_values(opt_map(e.values))
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Condition,
    ) -> Result<Item, TableError> {
        let (update_text, e) = update_expr(&update, &condition);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .set_update_expression(update_text)
            .set_condition_expression(e.text)
            .set_expression_attribute_names(opt_map(e.names))
            .set_expression_attribute_values(opt_map(e.values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(map_error)?;
        from_dynamo(out.attributes.unwrap_or_else(|| key_map(key)))
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), TableError> {
        let e = condition_expr(&condition);
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .set_condition_expression(e.text)
            .set_expression_attribute_names(opt_map(e.names))
            .set_expression_attribute_values(opt_map(e.values))
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        self.transact_write(ops).await
    }
}
