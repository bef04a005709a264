//! Condition and update expressions: the port's conditions and updates written as
//! DynamoDB expression text, with the attribute names and values they refer to.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use upline_domain::ports::{Condition, Update};

use super::codec::{AttrMap, to_dynamo};

/// A condition expression with its names and values, to attach to a request.
#[derive(Default)]
pub(super) struct Expr {
    pub(super) text: Option<String>,
    pub(super) names: HashMap<String, String>,
    pub(super) values: AttrMap,
}

pub(super) fn condition_expr(c: &Condition) -> Expr {
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
pub(super) fn update_expr(update: &Update, condition: &Condition) -> (Option<String>, Expr) {
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

pub(super) fn opt_map<T>(m: HashMap<String, T>) -> Option<HashMap<String, T>> {
    (!m.is_empty()).then_some(m)
}
