//! Payout runs: approve what is due, group every payable line per partner and currency,
//! keep balances under the minimum for later, and make one payout per partner with its
//! statement; then the operator's verdicts (paid, failed) and the partner's balance.
//!
//! A run is keyed by its period, so running a period again finds it and creates nothing.
//! Every step is conditional and resumable: a line joins a payout only while it is still
//! in the payable index (`gsi3pk = PAYABLE`), a payout is finished only from `building`,
//! so a run that stopped part-way (a Lambda timeout) is completed by running it again.
//!
//! One module per step, re-exported here under the same paths; the writes they share
//! are below.

mod balance;
mod reads;
mod run;
mod schedule;
mod settle;

pub use balance::*;
pub use reads::*;
pub use run::*;
pub use schedule::*;
pub use settle::*;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::commission::{CommissionLine, LineStatus, display_amount};
use crate::error::AppError;
use crate::messages::{EmailRequest, Message};
use crate::money::{Currency, Money, format_minor};
use crate::payout::{
    ExportFormat, Payout, PayoutAmounts, PayoutRun, PayoutStatus, Period, RunStatus, StatementLine,
    export_csv,
};
use crate::ports::{Attr, Condition, Index, QueueName, SortKeyCondition, TableError, TxOp};
use crate::services::Services;
use crate::store::{PageQuery, Store, decode, encode, keys, status_is};
use crate::usecases::admin::require_program;
use crate::usecases::conversion_lifecycle::approve_due_lines;

/// Lines per claiming transaction: each takes two writes (the line, its statement copy)
/// and DynamoDB allows 100 per transaction.
const CLAIM_CHUNK: usize = 45;
/// Lines per settling transaction (one write each).
const SETTLE_CHUNK: usize = 90;

fn run_put(run: &PayoutRun, condition: Condition) -> TxOp {
    let item = encode(keys::payout_run(&run.id), run)
        .with(
            "status",
            match run.status {
                RunStatus::Running => "running",
                RunStatus::Complete => "complete",
            },
        )
        .with("gsi1pk", keys::payout_runs_listing())
        .with("gsi1sk", keys::time_ordered(run.created_at, &run.id));
    TxOp::Put(item, condition)
}

fn payout_put(payout: &Payout, condition: Condition) -> TxOp {
    let item = encode(keys::payout(&payout.id), payout)
        .with("status", payout.status.as_str())
        .with("gsi1pk", keys::run_payouts(&payout.run_id))
        .with(
            "gsi1sk",
            format!("{}#{}", payout.partner_id, payout.amounts.currency().code()),
        )
        .with("gsi2pk", keys::partner_payouts(&payout.partner_id))
        .with("gsi2sk", keys::time_ordered(payout.created_at, &payout.id));
    TxOp::Put(item, condition)
}

async fn write(services: &Services, op: TxOp) -> Result<(), TableError> {
    services.store.table().transact(vec![op]).await
}
