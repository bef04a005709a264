//! The mass-payment files an operator uploads to PayPal or Wise, and the generic CSV.

use super::{Payout, PayoutDetails, PayoutStatus, ReceiverType};
use crate::error::Invalid;
use crate::money::{Currency, format_minor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Every payout, with its method and destination: for a bank's bulk upload or a
    /// spreadsheet.
    Generic,
    /// PayPal Payouts web upload: no header row; recipient, amount, currency, an id of
    /// at most 30 characters, a note. One currency per file.
    Paypal,
    /// Wise batch payment ("send to bank accounts") template columns.
    Wise,
}

impl ExportFormat {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        match text {
            "generic" => Ok(ExportFormat::Generic),
            "paypal" => Ok(ExportFormat::Paypal),
            "wise" => Ok(ExportFormat::Wise),
            other => Err(Invalid(format!(
                "must be generic, paypal or wise, got {other:?}"
            ))),
        }
    }
}

/// Renders the payouts waiting to be paid as a CSV file in `format`. PayPal files hold
/// one currency, so a `currency` filter applies; payouts whose method does not suit the
/// format are left out (the generic file has them all).
pub fn export_csv(
    payouts: &[Payout],
    format: ExportFormat,
    currency: Option<Currency>,
    source_currency: Currency,
) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let amount = |p: &Payout| format_minor(p.amounts.amount.minor(), p.amounts.currency());
    let selected = payouts
        .iter()
        .filter(|p| p.status == PayoutStatus::Pending)
        .filter(|p| currency.is_none_or(|c| c == p.amounts.currency()));
    // Writing to a Vec cannot fail; the results are checked by the tests' parsing.
    match format {
        ExportFormat::Generic => {
            let _ = w.write_record([
                "payout_id",
                "partner_id",
                "partner_name",
                "partner_email",
                "amount",
                "currency",
                "lines",
                "method",
                "destination",
                "period",
            ]);
            for p in selected {
                let (method, destination) = p
                    .details
                    .as_ref()
                    .map_or(("", String::new()), |d| (d.method(), d.destination()));
                let _ = w.write_record([
                    p.id.as_str(),
                    &p.partner_id,
                    &p.partner_name,
                    &p.partner_email,
                    &amount(p),
                    p.amounts.currency().code(),
                    &p.line_count.to_string(),
                    method,
                    &destination,
                    &p.run_id,
                ]);
            }
        }
        ExportFormat::Paypal => {
            for p in selected {
                let Some(PayoutDetails::Paypal { email }) = &p.details else {
                    continue;
                };
                let _ = w.write_record([
                    email.as_str(),
                    &amount(p),
                    p.amounts.currency().code(),
                    &paypal_customer_id(p),
                    &format!("Commissions for {}", p.run_id),
                ]);
            }
        }
        ExportFormat::Wise => {
            let _ = w.write_record([
                "name",
                "recipientEmail",
                "paymentReference",
                "receiverType",
                "amountCurrency",
                "amount",
                "sourceCurrency",
                "targetCurrency",
                "IBAN",
                "BIC",
            ]);
            for p in selected {
                let Some(PayoutDetails::BankTransfer {
                    account_holder,
                    iban,
                    bic,
                    receiver_type,
                }) = &p.details
                else {
                    continue;
                };
                let receiver = match receiver_type {
                    ReceiverType::Person => "PERSON",
                    ReceiverType::Business => "INSTITUTION",
                };
                let _ = w.write_record([
                    account_holder.as_str(),
                    &p.partner_email,
                    &wise_reference(p),
                    receiver,
                    // The partner receives exactly the statement's amount.
                    "target",
                    &amount(p),
                    source_currency.code(),
                    p.amounts.currency().code(),
                    iban,
                    bic.as_deref().unwrap_or(""),
                ]);
            }
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// PayPal's customer id: at most 30 characters, no spaces. The payout id is longer, so
/// the period and the partner's id (truncated) identify the payment in PayPal's report.
fn paypal_customer_id(p: &Payout) -> String {
    let id: String = format!("{}-{}", p.run_id, p.partner_id)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',')
        .collect();
    id.chars().take(30).collect()
}

/// Wise payment references are short and plain: letters, digits, spaces and dashes.
fn wise_reference(p: &Payout) -> String {
    format!("Commissions {}", p.run_id)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-')
        .take(35)
        .collect()
}
