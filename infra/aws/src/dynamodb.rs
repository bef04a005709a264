//! The Table port on DynamoDB, one to one: items are DynamoDB items (`pk`, `sk`, string
//! attributes as `S`, integers as `N`), the three indexes are GSIs named `gsi1`, `gsi2` and `gsi3`,
//! conditions become condition expressions, and transactions are `TransactWriteItems`
//! with cancellation reasons mapped back to the operations that failed.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem,
    Update as DynamoUpdate,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use upline_domain::ports::table::{check_query_limit, check_transaction};
use upline_domain::ports::{
    Attr, Condition, Index, Item, Key, Page, SortKeyCondition, Table, TableError, TxOp, Update,
};

type AttrMap = HashMap<String, AttributeValue>;

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

fn key_map(key: &Key) -> AttrMap {
    HashMap::from([
        ("pk".to_string(), AttributeValue::S(key.pk.clone())),
        ("sk".to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

fn to_dynamo(a: &Attr) -> AttributeValue {
    match a {
        Attr::S(s) => AttributeValue::S(s.clone()),
        Attr::N(n) => AttributeValue::N(n.to_string()),
    }
}

fn item_map(item: &Item) -> AttrMap {
    let mut m = key_map(&item.key);
    for (name, value) in &item.attrs {
        m.insert(name.clone(), to_dynamo(value));
    }
    m
}

fn from_dynamo(mut m: AttrMap) -> Result<Item, TableError> {
    let mut take_s = |name: &str| match m.remove(name) {
        Some(AttributeValue::S(s)) => Ok(s),
        other => Err(TableError::Invalid(format!("item key {name} is {other:?}"))),
    };
    let key = Key::new(take_s("pk")?, take_s("sk")?);
    let mut item = Item::new(key);
    for (name, value) in m {
        let attr = match value {
            AttributeValue::S(s) => Attr::S(s),
            AttributeValue::N(n) => Attr::N(n.parse().map_err(|_| {
                TableError::Invalid(format!("attribute {name} = {n} is not an integer"))
            })?),
            other => {
                return Err(TableError::Invalid(format!(
                    "attribute {name} has unsupported type {other:?}"
                )));
            }
        };
        item.attrs.insert(name, attr);
    }
    Ok(item)
}

/// A condition expression with its names and values, to attach to a request.
#[derive(Default)]
struct Expr {
    text: Option<String>,
    names: HashMap<String, String>,
    values: AttrMap,
}

fn condition_expr(c: &Condition) -> Expr {
    let mut e = Expr::default();
    e.text = condition_text(c, &mut e.names, &mut e.values);
    e
}

/// The expression text of one condition, adding the names and values it uses; numbered
/// so the branches of `Any` do not collide.
fn condition_text(
    c: &Condition,
    names: &mut HashMap<String, String>,
    values: &mut AttrMap,
) -> Option<String> {
    let n = names.len();
    match c {
        Condition::None => None,
        Condition::NotExists => Some("attribute_not_exists(pk)".into()),
        Condition::Exists => Some("attribute_exists(pk)".into()),
        Condition::AttrEquals(name, value) => {
            names.insert(format!("#c{n}"), name.clone());
            values.insert(format!(":c{n}"), to_dynamo(value));
            Some(format!("#c{n} = :c{n}"))
        }
        Condition::AttrLessThan(name, bound) => {
            names.insert(format!("#c{n}"), name.clone());
            values.insert(format!(":c{n}"), AttributeValue::N(bound.to_string()));
            Some(format!("#c{n} < :c{n}"))
        }
        Condition::AttrMissing(name) => {
            names.insert(format!("#c{n}"), name.clone());
            Some(format!("attribute_not_exists(#c{n})"))
        }
        Condition::All(options) => {
            let parts: Vec<String> = options
                .iter()
                .filter_map(|o| condition_text(o, names, values))
                .map(|t| format!("({t})"))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" AND "))
        }
        Condition::Any(options) => {
            let parts: Vec<String> = options
                .iter()
                .map(|o| {
                    condition_text(o, names, values).unwrap_or_else(|| {
                        "attribute_exists(pk) OR attribute_not_exists(pk)".into()
                    })
                })
                .map(|t| format!("({t})"))
                .collect();
            // An empty `Any` never holds: DynamoDB has no literal false, so ask for an
            // item that both exists and does not.
            Some(if parts.is_empty() {
                "attribute_exists(pk) AND attribute_not_exists(pk)".into()
            } else {
                parts.join(" OR ")
            })
        }
    }
}

/// The update text (`SET #s0 = :s0, … ADD #a0 :a0, …`, `None` when it changes nothing)
/// and the condition, sharing one set of names and values.
fn update_expr(update: &Update, condition: &Condition) -> (Option<String>, Expr) {
    let mut e = condition_expr(condition);
    let mut sets = Vec::new();
    for (i, (name, value)) in update.set.iter().enumerate() {
        e.names.insert(format!("#s{i}"), name.clone());
        e.values.insert(format!(":s{i}"), to_dynamo(value));
        sets.push(format!("#s{i} = :s{i}"));
    }
    let mut adds = Vec::new();
    for (i, (name, delta)) in update.add.iter().enumerate() {
        e.names.insert(format!("#a{i}"), name.clone());
        e.values
            .insert(format!(":a{i}"), AttributeValue::N(delta.to_string()));
        adds.push(format!("#a{i} :a{i}"));
    }
    let mut clauses = Vec::new();
    if !sets.is_empty() {
        clauses.push(format!("SET {}", sets.join(", ")));
    }
    if !adds.is_empty() {
        clauses.push(format!("ADD {}", adds.join(", ")));
    }
    let text = (!clauses.is_empty()).then(|| clauses.join(" "));
    (text, e)
}

fn opt_map<T>(m: HashMap<String, T>) -> Option<HashMap<String, T>> {
    (!m.is_empty()).then_some(m)
}

/// Maps an SDK error by its code, so throttling, validation and outages stay distinct.
fn map_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> TableError {
    match e.code() {
        Some("ConditionalCheckFailedException") => TableError::ConditionFailed,
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded",
        ) => TableError::Throttled,
        Some("TransactionConflictException") => TableError::TransactionConflict,
        Some("ValidationException") => {
            TableError::Invalid(e.message().unwrap_or("validation failed").to_string())
        }
        Some(code) => {
            TableError::Unavailable(format!("{code}: {}", e.message().unwrap_or_default()))
        }
        None => TableError::Unavailable(format!("{e:?}")),
    }
}

fn encode_cursor(key: &AttrMap) -> Result<String, TableError> {
    let mut plain = serde_json::Map::new();
    for (k, v) in key {
        match v {
            AttributeValue::S(s) => plain.insert(k.clone(), serde_json::Value::String(s.clone())),
            other => return Err(TableError::Invalid(format!("cursor key {k} is {other:?}"))),
        };
    }
    Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).expect("plain data")))
}

fn decode_cursor(cursor: &str) -> Result<AttrMap, TableError> {
    let bad = || TableError::BadCursor;
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let plain: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(plain
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect())
}

fn build_error(e: impl std::fmt::Display) -> TableError {
    TableError::Invalid(e.to_string())
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
        check_transaction(&ops)?;
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
