//! Upline's domain crate: pure. Money and rates, programs, campaigns, partners, links,
//! click ids, conversions, the commission engine, queue messages, the ports the outside
//! world must provide, the entity mapping above the Table port, and the use cases that
//! every function runs over those ports. No AWS SDK, no HTTP server, no filesystem.

pub mod attribution;
pub mod campaign;
pub mod click_id;
pub mod clock;
pub mod commission;
pub mod config;
pub mod conversion;
pub mod emails;
pub mod error;
pub mod ids;
pub mod messages;
pub mod money;
pub mod operator;
pub mod partner;
pub mod payout;
pub mod ports;
pub mod postback_auth;
pub mod program;
pub mod public_address;
pub mod public_urls;
pub mod secrets;
pub mod services;
pub mod signing;
pub mod signup_form;
pub mod store;
pub mod storefronts;
pub mod targeting;
pub mod terms;
pub mod tracking;
pub mod usecases;
pub mod visitor;
