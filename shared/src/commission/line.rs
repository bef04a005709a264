//! Commission lines as stored, their statuses, and the explanation each carries of
//! why it has its amount.

use super::*;

/// A stored commission line. Lines are never edited in amount; corrections are new lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionLine {
    /// `<conversion id>:<level>`: the business key that keeps a line single.
    pub id: LineId,
    pub conversion_id: ConversionId,
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
    pub level: u8,
    /// Negative on reversing lines.
    #[serde(flatten, with = "crate::money::stored")]
    pub amount: Money,
    pub status: LineStatus,
    /// Until then the line is pending: refunds and chargebacks can still reverse it.
    pub hold_until: Timestamp,
    pub explanation: Explanation,
    pub created_at: Timestamp,
    /// For a reversing line: the refund or chargeback it reverses for. Reversing lines
    /// carry negative amounts; the original line is never edited.
    #[serde(default)]
    pub reverses: Option<String>,
    /// The payout an approved line was put in; it stays approved until that payout is
    /// marked paid (the line becomes paid) or failed (the line is payable again).
    #[serde(default)]
    pub payout_id: Option<PayoutId>,
    /// A dispute (chargeback) opened on the sale: the line is not approved while it is
    /// set, whatever its hold; the dispute's close releases it or reverses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_for: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    Pending,
    Approved,
    Rejected,
    Paid,
}

impl LineStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            LineStatus::Pending => "pending",
            LineStatus::Approved => "approved",
            LineStatus::Rejected => "rejected",
            LineStatus::Paid => "paid",
        }
    }
}

/// Why a line has its amount, in fields and in one sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub rule: Rule,
    pub level: u8,
    /// What the rate was applied to, in minor units of the line's currency.
    pub base_minor: i64,
    pub rate: Option<Percent>,
    pub cpa_minor: Option<i64>,
    /// Every component of the amount, exact (rounding happens once, on the total).
    #[serde(default)]
    pub parts: Vec<Part>,
    /// Why nothing (or less) was paid: a qualification rule that failed.
    #[serde(default)]
    pub not_paid_because: Option<String>,
    /// The conversion into the program currency, when the sale was in another one.
    #[serde(default)]
    pub exchange: Option<String>,
    /// Which terms applied to the partner's line, when not the campaign's own.
    #[serde(default)]
    pub terms: Option<String>,
    /// The performance tier the partner's line was computed at, if one was reached.
    #[serde(default)]
    pub tier: Option<String>,
    /// For a subscription renewal: which month of the subscription it pays for.
    #[serde(default)]
    pub renewal: Option<String>,
    /// How the conversion was credited to the partner: click, promo code or
    /// subscription, and why when there was a choice.
    #[serde(default)]
    pub attribution: Option<String>,
    pub summary: String,
}

impl Explanation {
    /// The explanation as labelled facts, as the pages show it under a line: each part of
    /// the amount, then whichever of the reasons, terms, tier, renewal, attribution and
    /// exchange apply, then what the line reverses.
    pub fn details(&self, reverses: Option<&String>) -> Vec<(String, String)> {
        let mut details: Vec<(String, String)> = self
            .parts
            .iter()
            .map(|p| (p.label.clone(), p.amount.clone()))
            .collect();
        for (label, value) in [
            ("Not paid because", self.not_paid_because.as_ref()),
            ("Terms", self.terms.as_ref()),
            ("Tier", self.tier.as_ref()),
            ("Renewal", self.renewal.as_ref()),
            ("Credited by", self.attribution.as_ref()),
            ("Exchange", self.exchange.as_ref()),
            ("Reverses", reverses),
        ] {
            if let Some(v) = value {
                details.push((label.to_string(), v.clone()));
            }
        }
        details
    }

    /// An explanation with its rule, level, base and sentence, and nothing else yet: the
    /// engine and the refund stage fill in what applies.
    pub fn new(rule: Rule, level: u8, base_minor: i64, summary: String) -> Self {
        Explanation {
            rule,
            level,
            base_minor,
            rate: None,
            cpa_minor: None,
            parts: vec![],
            not_paid_because: None,
            exchange: None,
            terms: None,
            tier: None,
            renewal: None,
            attribution: None,
            summary,
        }
    }
}

/// One component of a line's amount: its label and its exact value in major units
/// (`"4.005"` — the line's total is what gets rounded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub label: String,
    pub amount: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// No terms pay on this conversion.
    NoTerms,
    /// The conversion does not qualify (amount, event type, returning customer).
    NotQualified,
    Cpa,
    RevenueShare,
    /// Rates per line item (SKU, category, or the campaign share per item).
    Itemized,
    /// A fixed amount plus a share.
    Hybrid,
    /// Bonuses only.
    Bonus,
    /// An upline level's share of the direct commission.
    UplineOfCommission,
    /// An upline level's share of the sale.
    UplineOfSale,
    /// Reverses part or all of a line after a refund or chargeback.
    Reversal,
    /// Over a cap: recorded, paid nothing.
    Capped,
}

/// The stable id of a conversion's line at `level`.
pub fn line_id(conversion_id: &ConversionId, level: u8) -> LineId {
    LineId::new(format!("{conversion_id}:{level}"))
}

/// Human form of a minor-unit amount with its currency, for emails and summaries.
pub fn display_amount(minor: i64, currency: Currency) -> String {
    format!("{} {}", format_minor(minor, currency), currency)
}
