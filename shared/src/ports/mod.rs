//! Ports: the traits the domain needs from the outside world. Adapters in `infra/`
//! implement them (DynamoDB/SQS/SES on AWS; redb/outbox locally); nothing here knows which.

pub mod mailer;
pub mod queue;
pub mod table;
pub mod webhook;

pub use mailer::{MailError, Mailer, OutgoingEmail};
pub use queue::{
    Delivery, DeliveryOutcome, MessageHandler, Queue, QueueConsumer, QueueError, QueueName,
};
pub use table::{
    Attr, Condition, Index, Item, Key, Page, SortKeyCondition, Table, TableError, TxOp, Update,
};
pub use webhook::{CallError, PostbackCaller};

/// A store that backs a queue (the embedded adapter keeps both in one file) reports its
/// failures as the queue being unavailable.
impl From<TableError> for QueueError {
    fn from(e: TableError) -> Self {
        QueueError::Unavailable(e.to_string())
    }
}
