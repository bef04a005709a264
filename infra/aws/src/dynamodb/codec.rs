//! Conversions between the port's values and DynamoDB's: keys and items to and from
//! `AttributeValue` maps, and a query's last evaluated key to and from an opaque cursor.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use upline_domain::ports::{Attr, Item, Key, TableError};

pub(super) type AttrMap = HashMap<String, AttributeValue>;

pub(super) fn key_map(key: &Key) -> AttrMap {
    HashMap::from([
        ("pk".to_string(), AttributeValue::S(key.pk.clone())),
        ("sk".to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

pub(super) fn to_dynamo(a: &Attr) -> AttributeValue {
    match a {
        Attr::S(s) => AttributeValue::S(s.clone()),
        Attr::N(n) => AttributeValue::N(n.to_string()),
    }
}

pub(super) fn item_map(item: &Item) -> AttrMap {
    let mut m = key_map(&item.key);
    for (name, value) in &item.attrs {
        m.insert(name.clone(), to_dynamo(value));
    }
    m
}

pub(super) fn from_dynamo(mut m: AttrMap) -> Result<Item, TableError> {
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

pub(super) fn encode_cursor(key: &AttrMap) -> Result<String, TableError> {
    let mut plain = serde_json::Map::new();
    for (k, v) in key {
        match v {
            AttributeValue::S(s) => plain.insert(k.clone(), serde_json::Value::String(s.clone())),
            other => return Err(TableError::Invalid(format!("cursor key {k} is {other:?}"))),
        };
    }
    Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).expect("plain data")))
}

pub(super) fn decode_cursor(cursor: &str) -> Result<AttrMap, TableError> {
    let bad = || TableError::BadCursor;
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let plain: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(plain
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect())
}
