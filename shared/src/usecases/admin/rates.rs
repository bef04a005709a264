//! Exchange rates into the program currency.

use super::*;

/// Sets the rate at which sales in `currency` are converted into the program currency.
/// Conversions already stored keep the rate they were converted at.
pub async fn put_exchange_rate(
    services: &Services,
    currency: &str,
    req: ExchangeRateRequest,
) -> Result<crate::money::ExchangeRate, AppError> {
    let program = require_program(&services.store).await?;
    let from = Currency::from_code(currency).map_err(|e| AppError::field("currency", e))?;
    if from == program.currency {
        return Err(AppError::field(
            "currency",
            format!("{from} is the program currency; it needs no rate"),
        ));
    }
    let text = req
        .rate
        .ok_or_else(|| AppError::field("rate", "is required"))?;
    let rate = crate::money::ExchangeRate::parse(from, program.currency, &text.0)
        .map_err(|e| AppError::field("rate", e))?;
    services.store.put_exchange_rate(&rate).await?;
    Ok(rate)
}
