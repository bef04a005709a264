//! A partner's commission lines as their statement shows them: filtered by status, in
//! pages, each with the order and the date of the conversion it pays for.

use std::collections::BTreeMap;

use crate::clock::Timestamp;
use crate::commission::{CommissionLine, LineStatus};
use crate::error::AppError;
use crate::ids::PartnerId;
use crate::store::{PageOf, PageQuery, Store};

/// Store pages one request reads at most while looking for lines of one status, so a
/// filter that matches nothing costs a bounded read.
const MAX_PAGES_SCANNED: usize = 10;

/// A line with the conversion facts a partner recognises it by.
#[derive(Debug, Clone)]
pub struct LineOnStatement {
    pub line: CommissionLine,
    /// The storefront's order reference.
    pub order_id: Option<String>,
    pub converted_at: Option<Timestamp>,
}

/// One page of the partner's lines, newest first, of `status` if given. Whole store pages
/// are read (a page may hold more than `page.limit` lines, never skips one), until enough
/// lines match or [`MAX_PAGES_SCANNED`] pages were read; `next` continues from there.
pub async fn lines_of_partner(
    store: &Store,
    partner_id: &PartnerId,
    status: Option<LineStatus>,
    page: &PageQuery,
) -> Result<PageOf<LineOnStatement>, AppError> {
    let mut found = Vec::new();
    let mut query = page.clone();
    let mut next;
    let mut scanned = 0;
    loop {
        let read = store.lines_of_partner(partner_id, &query).await?;
        scanned += 1;
        found.extend(
            read.items
                .into_iter()
                .filter(|l| status.is_none_or(|s| l.status == s)),
        );
        next = read.next;
        match &next {
            Some(cursor) if found.len() < page.limit && scanned < MAX_PAGES_SCANNED => {
                query.cursor = Some(cursor.clone());
            }
            _ => break,
        }
    }
    let mut conversions = BTreeMap::new();
    for line in &found {
        if !conversions.contains_key(&line.conversion_id) {
            let c = store.conversion(&line.conversion_id).await?;
            conversions.insert(line.conversion_id.clone(), c);
        }
    }
    let items = found
        .into_iter()
        .map(|line| {
            let conversion: Option<&crate::conversion::Conversion> = conversions
                .get(&line.conversion_id)
                .and_then(Option::as_ref);
            LineOnStatement {
                order_id: conversion.map(|c| c.order_id.clone()),
                converted_at: conversion.map(|c| c.created_at),
                line,
            }
        })
        .collect();
    Ok(PageOf { items, next })
}
