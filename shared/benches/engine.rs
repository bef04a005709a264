//! Commission engine throughput on one core, in three shapes: a sale of one item with no
//! upline; five line items (SKU, category and campaign rates, an exclusion, a shared
//! discount) with a two-level upline; the same five items with a ten-level upline. Prints
//! conversions per second for each.
//!
//! `cargo bench -p upline-domain --bench engine`. Under `cargo test` (no `--bench`
//! argument) it runs a thousand conversions, as a smoke test of the same code.

// Timing and rate figures, not money: floats are fine here.
#![allow(clippy::float_arithmetic)]

use std::hint::black_box;
use std::time::Instant;

use rust_decimal::Decimal;
use upline_domain::commission::{LineItem, Sale, UplineSeat, compute_lines};
use upline_domain::money::{Currency, Money, Percent};
use upline_domain::program::{LevelRates, UplineBase, UplinePlan};
use upline_domain::terms::{CommissionBase, ItemRates, Terms};

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let conversions: u64 = if benching { 1_000_000 } else { 1_000 };
    for (items, levels) in [(1, 0), (5, 2), (5, 10)] {
        run(conversions, items, levels);
    }
}

/// Decides `conversions` sales of `item_count` items (1 or 5) for a partner with `levels`
/// upline levels, and prints the rate.
fn run(conversions: u64, item_count: usize, levels: u8) {
    let usd = Currency::from_code("USD").unwrap();
    let p = |s: &str| Percent::parse(s).unwrap();
    let mut items = ItemRates::default();
    items.by_sku.insert("SKU-1".into(), p("15"));
    items.by_category.insert("socks".into(), p("5"));
    items.excluded_categories.insert("gift-cards".into());
    let terms = Terms {
        cpa_minor: Some(200),
        revenue_share: Some(p("8")),
        base: CommissionBase {
            net_of_discount: true,
            ..CommissionBase::default()
        },
        items,
        ..Terms::default()
    };
    let plan = UplinePlan {
        depth: levels,
        rates: LevelRates::Factor {
            first: p("40"),
            factor: Decimal::new(7, 1),
        },
        base: UplineBase::DirectCommission,
        skip: Default::default(),
    };
    let upline: Vec<UplineSeat> = (1..=levels)
        .map(|i| UplineSeat::Earner(format!("partner-{i}").into()))
        .collect();
    let item = |sku: &str, category: &str, quantity: i64, price: i64| LineItem {
        sku: sku.into(),
        category: Some(category.into()),
        quantity,
        unit_price_minor: price,
    };
    // The sales are built before the clock starts: parsing a postback into a `Sale` is the
    // postback's cost, not the engine's. Amounts vary so no result can be hoisted out of
    // the loop.
    let sales: Vec<Sale> = (0..194i64)
        .map(|n| {
            let bump = n % 97;
            Sale {
                event: "sale".into(),
                amount: Money::from_minor(25_000 + bump, usd),
                discount_minor: 1_000 + bump,
                tax_minor: 0,
                shipping_minor: 0,
                items: [
                    item("SKU-1", "boots", 1, 12_000 + bump),
                    item("SKU-2", "socks", 3, 499),
                    item("SKU-3", "hats", 1, 2_000),
                    item("SKU-4", "gift-cards", 1, 5_000),
                    item("SKU-5", "belts", 2, 2_250 + bump),
                ]
                .into_iter()
                .take(item_count)
                .collect(),
                first_time_customer: Some(n % 2 == 0),
                renewal_month: None,
            }
        })
        .collect();
    let start = Instant::now();
    let mut lines = 0usize;
    let mut paid = 0i64;
    for n in 0..conversions {
        let sale = &sales[(n % 194) as usize];
        let out = compute_lines(black_box(sale), &terms, &plan, &"partner-0".into(), &upline);
        lines += out.len();
        paid += out.iter().map(|l| l.amount.minor()).sum::<i64>();
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(paid);
    println!(
        "engine: {conversions} conversions × {item_count} items × {levels} upline levels → {lines} lines in {secs:.2} s on one core: {:>9.0} conversions/s",
        conversions as f64 / secs
    );
}
