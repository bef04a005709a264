//! Use cases: what the platform does, over the ports. HTTP routers and queue handlers in
//! `functions/` parse their input, call one of these, and render the result; the local
//! host and the Lambdas run exactly this code.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod commissions;
pub mod console_sign_in;
pub mod conversion_lifecycle;
pub mod disputes;
pub mod emails;
pub mod idempotency;
pub mod input;
pub mod operators;
pub mod partner_area;
pub mod partner_lifecycle;
pub mod partner_postbacks;
pub mod payouts;
pub mod postback;
pub mod promo_codes;
pub mod rate_limits;
pub mod refunds;
pub mod reports;
pub mod sign_in;
pub mod signup;
pub mod stores;
pub mod tracking;
