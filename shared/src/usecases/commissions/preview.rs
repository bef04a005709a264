//! What a sale would pay, before any happens: the console's campaign preview. The sale
//! is decided exactly as the payout stage would decide a real one now — the campaign's
//! (or the partner's override) terms, the upline plan, caps and tiers as they stand —
//! and nothing is written: no conversion, no lines, no counters.

use crate::commission::CommissionLine;
use crate::conversion::{Conversion, ConversionAmounts, ConversionStatus, parse_event};
use crate::error::{AppError, FieldErrors};
use crate::ids::{CampaignId, ConversionId, PartnerId};
use crate::money::Money;
use crate::services::Services;
use crate::usecases::admin::require_program;
use crate::usecases::postback::{LineItemRequest, parse_items};

/// The sale to preview, as typed.
#[derive(Debug, Default)]
pub struct PreviewRequest {
    pub partner_id: String,
    /// In the program currency, e.g. `"100.00"`.
    pub amount: String,
    /// `sale` when empty.
    pub event: String,
    pub items: Vec<LineItemRequest>,
    pub first_time_customer: Option<bool>,
}

/// The lines the sale would make: the partner's first, then one per paid upline level.
pub async fn preview(
    services: &Services,
    campaign_id: &CampaignId,
    request: PreviewRequest,
) -> Result<Vec<CommissionLine>, AppError> {
    let store = &services.store;
    let program = require_program(store).await?;
    if store.campaign(campaign_id).await?.is_none() {
        return Err(AppError::NotFound(format!("no campaign {campaign_id}")));
    }
    let mut errors = FieldErrors::default();
    let partner_id = PartnerId::from(request.partner_id.trim());
    let partner = if partner_id.as_str().is_empty() {
        errors.push("partner_id", "is required");
        None
    } else {
        let found = store.partner(&partner_id).await?;
        if found.is_none() {
            errors.push("partner_id", format!("no partner {partner_id}"));
        }
        found
    };
    let amount = errors.take("amount", Money::parse(&request.amount, program.currency));
    let event = if request.event.trim().is_empty() {
        Some("sale".to_string())
    } else {
        errors.take("event", parse_event(&request.event))
    };
    let items = parse_items(request.items, program.currency, &mut errors);
    let (partner, amount, event) = errors.finish((partner, amount, event))?;
    let now = services.now();
    let zero = Money::zero(program.currency);
    let conversion = Conversion {
        id: ConversionId::from("preview"),
        campaign_id: campaign_id.clone(),
        order_id: "preview".into(),
        partner_id: partner.id,
        link_code: None,
        click_id: None,
        clicked_at: None,
        attribution: Default::default(),
        unattributed_reason: None,
        amounts: ConversionAmounts {
            sale: amount,
            discount: zero,
            tax: zero,
            shipping: zero,
            refunded: zero,
        },
        event,
        items,
        customer_id: None,
        first_time_customer: request.first_time_customer,
        original: None,
        subs: Default::default(),
        subscription: None,
        refunded_original_minor: 0,
        status: ConversionStatus::Recorded,
        created_at: now,
    };
    let inputs = super::load::inputs(services, &program, &conversion).await?;
    Ok(super::decide::decide(&conversion, &inputs, now).lines)
}
