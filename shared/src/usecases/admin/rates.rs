//! Exchange rates into the program currency.

use super::*;

impl ExchangeRateRequest {
    /// The rate at which sales in `currency` (named by the path) convert into the
    /// program currency.
    pub fn parse(
        self,
        currency: &str,
        program_currency: Currency,
    ) -> Result<crate::money::ExchangeRate, AppError> {
        let from = Currency::from_code(currency).map_err(|e| AppError::field("currency", e))?;
        if from == program_currency {
            return Err(AppError::field(
                "currency",
                format!("{from} is the program currency; it needs no rate"),
            ));
        }
        let text = self
            .rate
            .ok_or_else(|| AppError::field("rate", "is required"))?;
        crate::money::ExchangeRate::parse(from, program_currency, &text.0)
            .map_err(|e| AppError::field("rate", e))
    }
}

/// Sets the rate at which sales in the rate's currency are converted into the program
/// currency. Conversions already stored keep the rate they were converted at.
pub async fn put_exchange_rate(
    services: &Services,
    rate: crate::money::ExchangeRate,
) -> Result<crate::money::ExchangeRate, AppError> {
    services.store.put_exchange_rate(&rate).await?;
    Ok(rate)
}
