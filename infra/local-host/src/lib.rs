//! The local host: the whole platform in one process. It serves every route of every HTTP
//! function on one address and runs every queue consumer in the background, composing the
//! same function libraries the Lambdas run. By default state lives in a data folder (the
//! redb file and the email outbox) and survives restarts; with the AWS backend it runs as
//! one long-lived service on DynamoDB, SQS (polled) and SES instead.

mod adapters;
mod background;
pub mod cli;
pub mod click_buffer;
mod config;
pub mod consumers;
mod demo;
mod host;
pub mod logging;
mod routes;
mod secrets;
pub mod serve;

pub use config::{AwsBackend, Backend, HostConfig};
pub use demo::DemoProgram;
pub use host::{FirstStart, HostError, RunningHost, start, stop_signal};
pub use routes::router;
