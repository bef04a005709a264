//! Queue messages: one versioned envelope (type, version, id, time, correlation id,
//! payload) shared by every producer and consumer, and the typed payloads it carries.
//!
//! A consumer that cannot decode an envelope, or meets a type or version it does not
//! know, treats the message as poison: retrying could never help.

use crate::ids::{ConversionId, PartnerId};
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::tracking::Click;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u32,
    /// Unique per message; consumers that must act once use it (or a business key).
    pub id: String,
    pub time: Timestamp,
    /// Carried from the request that caused the work through every later stage.
    pub correlation_id: String,
    pub payload: serde_json::Value,
}

/// What the stages tell each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A redirect happened; the click recorder stores it and counts it.
    ClickRecorded(Click),
    /// A conversion was stored; the payout stage computes its commission lines.
    ConversionRecorded { conversion_id: ConversionId },
    /// An email is due; the email stage renders and sends it once.
    EmailRequested(EmailRequest),
    /// An email to an operator (not a partner) is due: the console's sign-in links.
    OperatorEmailRequested(OperatorEmailRequest),
    /// A conversion's status changed; the partner's own postback URL is to be called.
    PartnerPostbackDue(PartnerPostbackDue),
}

/// One call of a partner's postback URL. `delivery_id` is the idempotency key: once a call
/// succeeded, redeliveries change nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerPostbackDue {
    pub delivery_id: String,
    pub partner_id: PartnerId,
    pub conversion_id: ConversionId,
    pub status: PostbackStatus,
}

/// The conversion status a partner postback reports (the `{status}` macro).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostbackStatus {
    Pending,
    Approved,
    Rejected,
    Reversed,
}

impl PostbackStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PostbackStatus::Pending => "pending",
            PostbackStatus::Approved => "approved",
            PostbackStatus::Rejected => "rejected",
            PostbackStatus::Reversed => "reversed",
        }
    }
}

impl std::fmt::Display for PostbackStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An email to a partner about one event. `email_id` is the idempotency key: the email
/// stage sends each id at most once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailRequest {
    pub email_id: String,
    pub partner_id: PartnerId,
    pub template: crate::emails::EmailTemplate,
    pub data: serde_json::Value,
}

/// An email to an operator of the program, who is no partner: it names its address.
/// `email_id` is the idempotency key, as for partners' emails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorEmailRequest {
    pub email_id: String,
    pub to: String,
    pub template: crate::emails::EmailTemplate,
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not an envelope: {0}")]
    NotAnEnvelope(String),
    #[error("unknown message type {kind} v{version}")]
    UnknownType { kind: String, version: u32 },
    #[error("bad payload for {kind}: {reason}")]
    BadPayload { kind: String, reason: String },
}

#[derive(Serialize, Deserialize)]
struct ConversionRecordedV1 {
    conversion_id: ConversionId,
}

impl Message {
    fn kind(&self) -> &'static str {
        match self {
            Message::ClickRecorded(_) => "click.recorded",
            Message::ConversionRecorded { .. } => "conversion.recorded",
            Message::EmailRequested(_) => "email.requested",
            Message::OperatorEmailRequested(_) => "operator_email.requested",
            Message::PartnerPostbackDue(_) => "partner_postback.due",
        }
    }

    /// Wraps the message in an envelope and serialises it.
    pub fn encode(&self, id: &str, time: Timestamp, correlation_id: &str) -> String {
        let payload = match self {
            Message::ClickRecorded(c) => serde_json::to_value(c),
            Message::ConversionRecorded { conversion_id } => {
                serde_json::to_value(ConversionRecordedV1 {
                    conversion_id: conversion_id.clone(),
                })
            }
            Message::EmailRequested(e) => serde_json::to_value(e),
            Message::OperatorEmailRequested(e) => serde_json::to_value(e),
            Message::PartnerPostbackDue(p) => serde_json::to_value(p),
        }
        .expect("message payloads are plain data");
        let envelope = Envelope {
            kind: self.kind().to_string(),
            version: 1,
            id: id.to_string(),
            time,
            correlation_id: correlation_id.to_string(),
            payload,
        };
        serde_json::to_string(&envelope).expect("envelopes are plain data")
    }

    /// Reads an envelope and its payload.
    pub fn decode(body: &str) -> Result<(Envelope, Message), DecodeError> {
        let envelope: Envelope =
            serde_json::from_str(body).map_err(|e| DecodeError::NotAnEnvelope(e.to_string()))?;
        let bad = |e: serde_json::Error| DecodeError::BadPayload {
            kind: envelope.kind.clone(),
            reason: e.to_string(),
        };
        let payload = envelope.payload.clone();
        let message = match (envelope.kind.as_str(), envelope.version) {
            ("click.recorded", 1) => {
                Message::ClickRecorded(serde_json::from_value(payload).map_err(bad)?)
            }
            ("conversion.recorded", 1) => {
                let v: ConversionRecordedV1 = serde_json::from_value(payload).map_err(bad)?;
                Message::ConversionRecorded {
                    conversion_id: v.conversion_id,
                }
            }
            ("email.requested", 1) => {
                Message::EmailRequested(serde_json::from_value(payload).map_err(bad)?)
            }
            ("operator_email.requested", 1) => {
                Message::OperatorEmailRequested(serde_json::from_value(payload).map_err(bad)?)
            }
            ("partner_postback.due", 1) => {
                Message::PartnerPostbackDue(serde_json::from_value(payload).map_err(bad)?)
            }
            (kind, version) => {
                return Err(DecodeError::UnknownType {
                    kind: kind.to_string(),
                    version,
                });
            }
        };
        Ok((envelope, message))
    }
}

/// Decodes a delivery for a consumer that takes one kind of message (`pick` returns its
/// payload). Anything else is dead-lettered with the reason: retrying cannot help.
pub fn decode_for<T>(
    message_id: &str,
    body: &str,
    pick: impl FnOnce(Message) -> Option<T>,
) -> Result<(Envelope, T), crate::ports::DeliveryOutcome> {
    match Message::decode(body) {
        Ok((envelope, message)) => {
            let kind = envelope.kind.clone();
            match pick(message) {
                Some(payload) => Ok((envelope, payload)),
                None => {
                    tracing::error!(message_id, kind = %kind, "message of the wrong type for this queue");
                    Err(crate::ports::DeliveryOutcome::DeadLetter(format!(
                        "a {kind} message does not belong on this queue"
                    )))
                }
            }
        }
        Err(e) => {
            tracing::error!(message_id, error = %e, "undecodable message");
            Err(crate::ports::DeliveryOutcome::DeadLetter(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_the_envelope() {
        let m = Message::ConversionRecorded {
            conversion_id: "c-1".into(),
        };
        let body = m.encode("m-1", Timestamp(5), "corr-1");
        let (env, back) = Message::decode(&body).unwrap();
        assert_eq!(back, m);
        assert_eq!(env.correlation_id, "corr-1");
        assert_eq!(env.kind, "conversion.recorded");
    }

    #[test]
    fn unknown_types_and_versions_are_reported_not_guessed() {
        let body = r#"{"type":"conversion.recorded","version":9,"id":"x","time":1,"correlation_id":"c","payload":{}}"#;
        assert!(matches!(
            Message::decode(body),
            Err(DecodeError::UnknownType { version: 9, .. })
        ));
        assert!(matches!(
            Message::decode("not json"),
            Err(DecodeError::NotAnEnvelope(_))
        ));
        let body = r#"{"type":"conversion.recorded","version":1,"id":"x","time":1,"correlation_id":"c","payload":{"x":1}}"#;
        assert!(matches!(
            Message::decode(body),
            Err(DecodeError::BadPayload { .. })
        ));
    }
}
