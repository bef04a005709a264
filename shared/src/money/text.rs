//! Exact decimals and minor-unit amounts written as text straight into a buffer.
//!
//! The engine writes several numbers into every commission line's explanation. Through
//! `Decimal`'s own `Display` (digits by repeated division of a 96-bit integer) and a
//! `String` per number, that text was a third of the engine's time; here a number costs
//! one integer-to-digits conversion and no allocation of its own.

use std::fmt::{self, Write};

use rust_decimal::Decimal;

use super::{Currency, Money, Percent};

/// Writes `d` as `Decimal`'s `Display` does: every digit its scale holds (`1.50` stays
/// `1.50`), or, with `trim`, without trailing fractional zeros, as its `normalize()` would
/// show (`1.5`, and `0` for any zero).
pub fn write_decimal(out: &mut impl Write, d: Decimal, trim: bool) -> fmt::Result {
    let mantissa = d.mantissa();
    let mut digits_buf = itoa::Buffer::new();
    let digits = digits_buf.format(mantissa.unsigned_abs());
    let scale = d.scale() as usize;
    if mantissa < 0 {
        out.write_char('-')?;
    } else if d.is_sign_negative() && !trim {
        // A negative zero keeps its sign in `Display`; `normalize()` drops it.
        out.write_char('-')?;
    }
    let (whole, leading_zeros, frac) = if digits.len() > scale {
        let (w, f) = digits.split_at(digits.len() - scale);
        (w, 0, f)
    } else {
        ("0", scale - digits.len(), digits)
    };
    let frac = if trim {
        frac.trim_end_matches('0')
    } else {
        frac
    };
    out.write_str(whole)?;
    if frac.is_empty() {
        // Trimming removed every fractional digit: only zeros were there.
        return if trim || scale == 0 {
            Ok(())
        } else {
            out.write_char('.')
                .and_then(|_| write_zeros(out, leading_zeros))
        };
    }
    out.write_char('.')?;
    write_zeros(out, leading_zeros)?;
    out.write_str(frac)
}

fn write_zeros(out: &mut impl Write, n: usize) -> fmt::Result {
    (0..n).try_for_each(|_| out.write_char('0'))
}

/// Writes `minor` units of `currency` in major units with exactly the currency's decimal
/// places: `12345` USD → `123.45`, `-5` USD → `-0.05`, `500` JPY → `500`.
pub fn write_minor(out: &mut impl Write, minor: i64, currency: Currency) -> fmt::Result {
    let exp = usize::from(currency.exponent());
    if minor < 0 {
        out.write_char('-')?;
    }
    let mut digits_buf = itoa::Buffer::new();
    let digits = digits_buf.format(minor.unsigned_abs());
    if exp == 0 {
        return out.write_str(digits);
    }
    if digits.len() > exp {
        let (whole, frac) = digits.split_at(digits.len() - exp);
        out.write_str(whole)?;
        out.write_char('.')?;
        out.write_str(frac)
    } else {
        out.write_str("0.")?;
        write_zeros(out, exp - digits.len())?;
        out.write_str(digits)
    }
}

/// Appends `money` as its `Display` writes it (`123.45 USD`), without the formatting
/// machinery's dispatch: the engine writes two or three amounts into every line.
pub fn push_money(out: &mut String, money: Money) {
    // Writing into a String cannot fail.
    let _ = write_minor(out, money.minor(), money.currency());
    out.push(' ');
    out.push_str(money.currency().code());
}

/// Appends `rate` as its `Display` writes it (`7.5%`).
pub fn push_percent(out: &mut String, rate: Percent) {
    let _ = write_decimal(out, rate.as_decimal(), false);
    out.push('%');
}

/// Appends an integer in decimal digits.
pub fn push_integer(out: &mut String, n: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(n));
}
