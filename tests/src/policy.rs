//! IAM parity: adapters that allow a function exactly what its policy in `template.yaml`
//! grants, read from the template itself. A scenario run through them fails — and the
//! violation is recorded for the test to name — wherever the code would be refused
//! `AccessDenied` on AWS, which moto and the embedded store never do.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use upline_domain::ports::{
    Condition, Index, Item, Key, MailError, Mailer, OutgoingEmail, Page, Queue, QueueError,
    QueueName, SortKeyCondition, Table, TableError, TxOp, Update,
};
use yaml_rust2::{Yaml, YamlLoader};

/// What one function may do: (action, resource) pairs, resources as the template names
/// them once intrinsic functions are peeled (`Table.Arn`, `${Table.Arn}/index/gsi1`,
/// `EmailsQueue.Arn`).
pub struct Policy {
    pub function: String,
    grants: BTreeSet<(String, String)>,
    violations: Mutex<Vec<String>>,
}

/// The workspace's `template.yaml`, parsed.
pub fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

/// Strings inside a value, whatever intrinsic functions wrap them.
pub fn strings_in(v: &Yaml) -> Vec<String> {
    match v {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Array(a) => a.iter().flat_map(strings_in).collect(),
        Yaml::Hash(h) => h.values().flat_map(strings_in).collect(),
        _ => vec![],
    }
}

impl Policy {
    /// `function`'s policy (its logical id in the template, e.g. `SignupFunction`).
    pub fn of(function: &str) -> Arc<Policy> {
        let template = template();
        let f = &template["Resources"][function];
        assert!(!f.is_badvalue(), "no {function} in template.yaml");
        let mut grants = BTreeSet::new();
        for policy in f["Properties"]["Policies"].as_vec().into_iter().flatten() {
            for statement in policy["Statement"].as_vec().into_iter().flatten() {
                assert_eq!(statement["Effect"].as_str(), Some("Allow"));
                let actions = strings_in(&statement["Action"]);
                let resources = strings_in(&statement["Resource"]);
                for a in &actions {
                    for r in &resources {
                        grants.insert((a.clone(), r.clone()));
                    }
                }
            }
        }
        Arc::new(Policy {
            function: function.to_string(),
            grants,
            violations: Mutex::new(Vec::new()),
        })
    }

    fn allows(&self, action: &str, resource_suffix: &str) -> bool {
        self.grants
            .iter()
            .any(|(a, r)| a == action && r.ends_with(resource_suffix))
    }

    fn check(&self, action: &str, resource: &str, what: &str) -> Result<(), String> {
        if self.allows(action, resource) {
            return Ok(());
        }
        let v = format!("{} may not {action} on {resource} ({what})", self.function);
        self.violations.lock().unwrap().push(v.clone());
        Err(v)
    }

    /// What the scenario did that the policy does not grant.
    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }
}

fn denied(e: String) -> TableError {
    TableError::Unavailable(format!("AccessDenied: {e}"))
}

fn index_resource(index: Index) -> String {
    match index.attribute_names() {
        None => "Table.Arn".to_string(),
        Some(_) => format!("Table.Arn}}/index/{}", index.name()),
    }
}

/// A Table that allows only what the policy grants.
pub struct PolicedTable {
    pub inner: Arc<dyn Table>,
    pub policy: Arc<Policy>,
}

impl PolicedTable {
    fn op(&self, op: &TxOp) -> Result<(), TableError> {
        let (action, key) = match op {
            TxOp::Put(item, _) => ("dynamodb:PutItem", &item.key),
            TxOp::Update(k, _, _) => ("dynamodb:UpdateItem", k),
            TxOp::Delete(k, _) => ("dynamodb:DeleteItem", k),
            TxOp::Check(k, _) => ("dynamodb:ConditionCheckItem", k),
        };
        self.policy
            .check(action, "Table.Arn", &key.pk)
            .map_err(denied)
    }
}

#[async_trait]
impl Table for PolicedTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.policy
            .check("dynamodb:GetItem", "Table.Arn", &key.pk)
            .map_err(denied)?;
        self.inner.get(key).await
    }

    async fn query(
        &self,
        index: Index,
        partition: &str,
        condition: &SortKeyCondition,
        forward: bool,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, TableError> {
        self.policy
            .check("dynamodb:Query", &index_resource(index), partition)
            .map_err(denied)?;
        self.inner
            .query(index, partition, condition, forward, limit, cursor)
            .await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        self.op(&TxOp::Put(item.clone(), Condition::None))?;
        self.inner.put(item, condition).await
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Condition,
    ) -> Result<Item, TableError> {
        self.policy
            .check("dynamodb:UpdateItem", "Table.Arn", &key.pk)
            .map_err(denied)?;
        self.inner.update(key, update, condition).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), TableError> {
        self.policy
            .check("dynamodb:DeleteItem", "Table.Arn", &key.pk)
            .map_err(denied)?;
        self.inner.delete(key, condition).await
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        // TransactWriteItems needs the item action of every operation in it.
        for op in &ops {
            self.op(op)?;
        }
        self.inner.transact(ops).await
    }
}

/// The template's logical id of a queue.
pub fn queue_resource(queue: QueueName) -> &'static str {
    match queue {
        QueueName::Clicks => "ClicksQueue.Arn",
        QueueName::Conversions => "ConversionsQueue.Arn",
        QueueName::Emails => "EmailsQueue.Arn",
        QueueName::PartnerPostbacks => "PartnerPostbacksQueue.Arn",
    }
}

pub fn dead_letter_resource(queue: QueueName) -> &'static str {
    match queue {
        QueueName::Clicks => "ClicksDeadLetterQueue.Arn",
        QueueName::Conversions => "ConversionsDeadLetterQueue.Arn",
        QueueName::Emails => "EmailsDeadLetterQueue.Arn",
        QueueName::PartnerPostbacks => "PartnerPostbacksDeadLetterQueue.Arn",
    }
}

/// A Queue that sends (and counts dead letters) only where the policy allows.
pub struct PolicedQueue {
    pub inner: Arc<dyn Queue>,
    pub policy: Arc<Policy>,
}

#[async_trait]
impl Queue for PolicedQueue {
    async fn send(&self, queue: QueueName, bodies: Vec<String>) -> Result<(), QueueError> {
        self.policy
            .check("sqs:SendMessage", queue_resource(queue), queue.as_str())
            .map_err(|e| QueueError::Unavailable(format!("AccessDenied: {e}")))?;
        self.inner.send(queue, bodies).await
    }

    async fn dead_letter_count(&self, queue: QueueName) -> Result<Option<u64>, QueueError> {
        self.policy
            .check(
                "sqs:GetQueueAttributes",
                dead_letter_resource(queue),
                queue.as_str(),
            )
            .map_err(|e| QueueError::Unavailable(format!("AccessDenied: {e}")))?;
        self.inner.dead_letter_count(queue).await
    }
}

/// A Mailer that sends only if the policy grants SES.
pub struct PolicedMailer {
    pub inner: Arc<dyn Mailer>,
    pub policy: Arc<Policy>,
}

#[async_trait]
impl Mailer for PolicedMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let allowed = self
            .policy
            .grants
            .iter()
            .any(|(a, r)| a == "ses:SendRawEmail" && r.contains(":identity/"));
        if !allowed {
            let v = format!("{} may not ses:SendRawEmail", self.policy.function);
            self.policy.violations.lock().unwrap().push(v.clone());
            return Err(MailError::Transient(format!("AccessDenied: {v}")));
        }
        self.inner.send(email).await
    }
}

/// Sends to a dead-letter queue only where the policy allows (the Lambda bridge's
/// `DeadLetters`), recording what was sent like [`crate::DeadLettered`].
pub struct PolicedDeadLetters {
    pub inner: crate::DeadLettered,
    pub policy: Arc<Policy>,
}

#[async_trait]
impl upline_aws::lambda_sqs::DeadLetters for PolicedDeadLetters {
    async fn send_to_dead_letters(
        &self,
        queue: QueueName,
        body: &str,
        reason: &str,
    ) -> Result<(), QueueError> {
        let dlq = queue_resource(queue).replace("Queue.Arn", "DeadLetterQueue.Arn");
        self.policy
            .check("sqs:SendMessage", &dlq, queue.as_str())
            .map_err(|e| QueueError::Unavailable(format!("AccessDenied: {e}")))?;
        self.inner.send_to_dead_letters(queue, body, reason).await
    }
}
