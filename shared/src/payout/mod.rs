//! Payouts, pure: the program's payout settings (cadence, minimum), pay periods, how a
//! partner wants to be paid (method and validated details), payouts and payout runs as
//! stored, and the mass-payment files an operator uploads to PayPal or Wise.

mod details;
mod export;
mod period;
mod records;

pub use details::{PayoutDetails, ReceiverType, parse_bic, parse_iban};
pub use export::{ExportFormat, export_csv};
pub use period::{Cadence, PayoutSettings, Period};
pub use records::{Payout, PayoutAmounts, PayoutRun, PayoutStatus, RunStatus, StatementLine};

#[cfg(test)]
mod tests;
