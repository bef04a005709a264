//! Ports: the traits the domain needs from the outside world. Adapters in `infra/`
//! implement them (DynamoDB/SQS/SES on AWS; redb/outbox locally); nothing here knows which.

pub mod mailer;
pub mod queue;
pub mod table;

pub use mailer::{MailError, Mailer, OutgoingEmail};
pub use queue::{
    Delivery, DeliveryOutcome, MessageHandler, Queue, QueueConsumer, QueueError, QueueName,
};
pub use table::{
    Attr, Condition, Index, Item, Key, Page, SortKeyCondition, Table, TableError, TxOp, Update,
};
