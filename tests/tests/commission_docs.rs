//! The worked examples of `docs/commissions.md` are tests: every ```json example block is
//! run through the admin API's terms and upline parsers and the commission engine, and
//! must give exactly the lines it documents.

use serde_json::Value;
use upline_domain::commission::{LineItem, Sale, UplineSeat, compute_lines_in, reversal_amounts};
use upline_domain::error::FieldErrors;
use upline_domain::money::{Currency, Money, format_minor};
use upline_domain::program::UplinePlan;
use upline_domain::terms::{Cap, CapPeriod, CapUsage, TierUsage};
use upline_domain::usecases::admin::{TermsRequest, UplineRequest, parse_terms, parse_upline};

fn examples() -> Vec<Value> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/commissions.md"
    ))
    .unwrap();
    let mut out = Vec::new();
    let mut block: Option<String> = None;
    for line in doc.lines() {
        match &mut block {
            None if line.trim() == "```json example" => block = Some(String::new()),
            Some(text) if line.trim() == "```" => {
                out.push(
                    serde_json::from_str(text)
                        .unwrap_or_else(|e| panic!("bad example: {e}\n{text}")),
                );
                block = None;
            }
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    out
}

fn money(v: &Value, currency: Currency) -> Money {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Money::parse(&text, currency).unwrap()
}

fn sale(s: &Value, currency: Currency) -> Sale {
    let minor = |name: &str| s.get(name).map_or(0, |v| money(v, currency).minor());
    Sale {
        event: s["event"].as_str().unwrap_or("sale").to_string(),
        amount: money(&s["amount"], currency),
        discount_minor: minor("discount"),
        tax_minor: minor("tax"),
        shipping_minor: minor("shipping"),
        items: s["line_items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| LineItem {
                        sku: i["sku"].as_str().unwrap().to_string(),
                        category: i["category"].as_str().map(str::to_string),
                        quantity: i["quantity"].as_i64().unwrap(),
                        unit_price_minor: money(&i["unit_price"], currency).minor(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        first_time_customer: s["new_customer"].as_bool(),
        renewal_month: s["renewal_month"].as_u64().map(|m| m as u32),
    }
}

#[test]
fn every_worked_example_in_the_commissions_doc_holds() {
    let usd = Currency::from_code("USD").unwrap();
    let all = examples();
    assert!(all.len() >= 15, "found only {} examples", all.len());
    for ex in all {
        let name = ex["name"].as_str().unwrap();
        let mut errors = FieldErrors::default();
        let request: TermsRequest = serde_json::from_str(&ex["terms"].to_string()).unwrap();
        let terms = parse_terms(request, usd, &mut errors);
        let plan = match ex.get("upline") {
            Some(u) => {
                let request: UplineRequest = serde_json::from_str(&u.to_string()).unwrap();
                parse_upline(&request, &mut errors)
            }
            None => Some(UplinePlan::off()),
        };
        errors
            .into_result()
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let plan = plan.unwrap();
        let recruiters = ex["upline_partners"]
            .as_u64()
            .unwrap_or(u64::from(plan.depth));
        let chain: Vec<UplineSeat> = (1..=recruiters)
            .map(|i| UplineSeat::Earner(format!("recruiter-{i}").into()))
            .collect();
        let usage = |cap: &Cap| {
            let period = match cap.period {
                CapPeriod::Day => "day",
                CapPeriod::Month => "month",
            };
            let u = &ex["cap_usage"][period];
            CapUsage {
                conversions: u["conversions"].as_i64().unwrap_or(0),
                commission_minor: u.get("commission").map_or(0, |c| money(c, usd).minor()),
            }
        };
        let volume = TierUsage {
            approved_conversions: ex["tier_usage"]["approved_conversions"]
                .as_i64()
                .unwrap_or(0),
            approved_revenue_minor: ex["tier_usage"]
                .get("approved_revenue")
                .map_or(0, |r| money(r, usd).minor()),
        };
        let lines = compute_lines_in(
            &sale(&ex["sale"], usd),
            &terms,
            &plan,
            &"partner".into(),
            &chain,
            &usage,
            volume,
        );
        if let Some(refunds) = ex["refunds"].as_array() {
            let paid: Vec<i64> = lines.iter().map(|l| l.amount.minor()).collect();
            let total = money(&ex["sale"]["amount"], usd).minor();
            let mut before = 0;
            for (refund, want) in refunds
                .iter()
                .zip(ex["expect_reversals"].as_array().unwrap())
            {
                let amount = money(refund, usd).minor();
                let got: Vec<String> = reversal_amounts(&paid, total, before, amount)
                    .into_iter()
                    .map(|r| format_minor(r, usd))
                    .collect();
                let want: Vec<String> = want
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                assert_eq!(got, want, "{name}: refund of {refund}");
                before += amount;
            }
        }
        let expected = ex["expect"].as_array().unwrap();
        assert_eq!(lines.len(), expected.len(), "{name}: {lines:#?}");
        for (line, want) in lines.iter().zip(expected) {
            assert_eq!(
                u64::from(line.level),
                want["level"].as_u64().unwrap(),
                "{name}"
            );
            assert_eq!(
                format_minor(line.amount.minor(), usd),
                want["amount"].as_str().unwrap(),
                "{name}: {}",
                line.explanation.summary
            );
            if let Some(rule) = want.get("rule") {
                assert_eq!(
                    &serde_json::to_value(line.explanation.rule).unwrap(),
                    rule,
                    "{name}"
                );
            }
            if let Some(why) = want["why"].as_str() {
                let given = line
                    .explanation
                    .not_paid_because
                    .as_deref()
                    .unwrap_or_default();
                assert!(
                    given.contains(why),
                    "{name}: {given:?} does not say {why:?}"
                );
            }
        }
    }
}
