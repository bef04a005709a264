//! Opens the chosen backend: the redb file and outbox in the data folder, or DynamoDB,
//! SQS and SES. Past this point the host sees only the ports.

use std::path::PathBuf;
use std::sync::Arc;

use upline_aws::{AwsClients, DynamoTable, SesMailer, SqsQueues};
use upline_domain::clock::Clock;
use upline_domain::ports::{Mailer, Queue, QueueConsumer, Table};
use upline_domain::secrets::SecretsKey;
use upline_embedded::{CloseWatch, DEFAULT_MAX_RECEIVES, EmbeddedStore, OutboxMailer};

use crate::secrets::data_dir_secrets_key;
use crate::{Backend, HostConfig, HostError};

/// The adapters behind the ports, as the chosen backend provides them.
pub(crate) struct Adapters {
    pub(crate) table: Arc<dyn Table>,
    pub(crate) queue: Arc<dyn Queue>,
    pub(crate) consumer: Arc<dyn QueueConsumer>,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) outbox: Option<PathBuf>,
    pub(crate) closed: Option<CloseWatch>,
    pub(crate) secrets_key: SecretsKey,
}

pub(crate) fn adapters(config: &HostConfig, clock: Arc<dyn Clock>) -> Result<Adapters, HostError> {
    match &config.backend {
        Backend::Embedded => {
            upline_embedded::private::private_dir(&config.data_dir)
                .map_err(|e| HostError::DataDir(config.data_dir.display().to_string(), e))?;
            let path = config.data_dir.join("upline.redb");
            let store = EmbeddedStore::open(&path, clock, DEFAULT_MAX_RECEIVES)?;
            let outbox = config.data_dir.join("outbox");
            let mailer = OutboxMailer::new(outbox.clone(), config.mail_from.clone())
                .map_err(|e| HostError::DataDir(outbox.display().to_string(), e))?;
            let secrets_key = match &config.secrets_key {
                Some(k) => k.clone(),
                None => data_dir_secrets_key(&config.data_dir)?,
            };
            Ok(Adapters {
                secrets_key,
                closed: Some(store.close_watch()),
                table: Arc::new(store.clone()),
                queue: Arc::new(store.clone()),
                consumer: Arc::new(store),
                mailer: Arc::new(mailer),
                outbox: Some(outbox),
            })
        }
        Backend::Aws(aws) => {
            let clients = AwsClients::new(&aws.sdk);
            let queues = SqsQueues::new(clients.sqs, aws.queues.clone());
            let mailer = SesMailer::new(
                clients.ses,
                aws.mail_from.clone(),
                aws.ses_configuration_set.clone(),
            );
            let secrets_key = config.secrets_key.clone().ok_or_else(|| {
                HostError::Setup(
                    "the AWS backend needs UPLINE_SECRETS_KEY (64 hex characters)".into(),
                )
            })?;
            Ok(Adapters {
                secrets_key,
                table: Arc::new(DynamoTable::new(clients.dynamodb, aws.table.clone())),
                queue: Arc::new(queues.clone()),
                consumer: Arc::new(queues),
                mailer: Arc::new(mailer),
                outbox: None,
                closed: None,
            })
        }
    }
}
