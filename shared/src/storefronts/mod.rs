//! Storefronts that report sales by webhook — Shopify, WooCommerce, Stripe and Paddle —
//! in their own formats and signed their own ways. This module owns what is the same
//! for all of them, starting with checking a delivery's signature (`signatures`).

pub mod signatures;

pub use signatures::{Platform, SignatureError, verify};
