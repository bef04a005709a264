//! Measures the DynamoDB size of every kind of item Upline writes, for docs/data-model.md:
//! runs the demo program, a click and a sale on a temporary embedded store, then sizes
//! each stored item the way DynamoDB does (attribute name bytes plus value bytes; a number
//! counts about one byte per two digits plus one).
//!
//! `cargo run -p upline-tests --example item_sizes`

use std::collections::BTreeMap;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use upline_domain::ports::Attr;
use upline_local::{HostConfig, start};

const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");

fn kind(pk: &str, sk: &str) -> String {
    let p = pk.split('#').next().unwrap_or(pk);
    match (p, sk.split('#').next().unwrap_or(sk)) {
        ("PROGRAM", s) => format!("PROGRAM/{s}"),
        ("CONVERSION", "LINE") => "CONVERSION/LINE (commission line)".into(),
        (p, _) => p.to_string(),
    }
}

fn size(pk: &str, sk: &str, attrs: &BTreeMap<String, Attr>) -> usize {
    let mut n = "pk".len() + pk.len() + "sk".len() + sk.len();
    for (name, value) in attrs {
        n += name.len()
            + match value {
                Attr::S(s) => s.len(),
                Attr::N(v) => v.to_string().trim_start_matches('-').len().div_ceil(2) + 1,
            };
    }
    n
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = HostConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().to_path_buf());
    config.public_base_url = Some("https://go.example.com".into());
    let host = start(config).await.unwrap();
    let demo = host.first_start.demo.clone().unwrap();
    upline_tests::install_tls_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let ada = demo.partners.last().unwrap();
    let link = ada
        .link_url
        .replace("https://go.example.com", &format!("http://{}", host.addr));
    let r = client
        .get(link)
        .header("user-agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let click_id = location.split("click_id=").nth(1).unwrap();
    let body = serde_json::json!({"click_id": click_id, "order_id": "order-2026-000123", "amount": "100.00", "currency": "USD"});
    client
        .post(format!("http://{}/v1/postbacks", host.addr))
        .bearer_auth(&demo.postback_secret)
        .json(&body)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    host.stop().await;

    let db = redb::Database::open(dir.path().join("upline.redb")).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(ITEMS).unwrap();
    let mut largest: BTreeMap<String, usize> = BTreeMap::new();
    for entry in table.iter().unwrap() {
        let (k, v) = entry.unwrap();
        let (pk, sk) = k.value();
        let attrs: BTreeMap<String, Attr> = serde_json::from_slice(v.value()).unwrap();
        let e = largest.entry(kind(pk, sk)).or_default();
        *e = (*e).max(size(pk, sk, &attrs));
    }
    println!("{:<36} {:>6}", "item", "bytes");
    for (k, n) in largest {
        println!("{k:<36} {n:>6}");
    }
}
