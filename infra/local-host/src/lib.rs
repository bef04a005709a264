//! The local host: the whole platform in one process. It serves every route of every HTTP
//! function on one address and runs every queue consumer in the background, composing the
//! same function libraries the Lambdas run. By default state lives in a data folder (the
//! redb file and the email outbox) and survives restarts; with the AWS backend it runs as
//! one long-lived service on DynamoDB, SQS (polled) and SES instead.

pub mod cli;
pub mod consumers;
mod demo;
pub mod logging;
pub mod serve;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use upline_aws::{AwsClients, DynamoTable, QueueUrls, SesMailer, SqsQueues};
use upline_domain::click_id::ClickSecret;
use upline_domain::clock::{Clock, SystemClock};
use upline_domain::ids::{Ids, RandomIds};
use upline_domain::ports::{
    Condition, Item, Mailer, MessageHandler, Queue, QueueConsumer, QueueName, Table, TableError,
};
use upline_domain::secrets::{Secret, SecretsKey};
use upline_domain::services::{Deployment, Services};
use upline_domain::store::keys;
use upline_domain::usecases::admin::create_admin_key;
use upline_embedded::{CloseWatch, DEFAULT_MAX_RECEIVES, EmbeddedStore, OutboxMailer};

pub use demo::DemoProgram;

use crate::consumers::ConsumerSettings;

/// Where the host keeps its state and sends its mail.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A redb file and an outbox folder under the data folder.
    Embedded,
    Aws(Box<AwsBackend>),
}

#[derive(Clone, Debug)]
pub struct AwsBackend {
    pub sdk: aws_config::SdkConfig,
    pub table: String,
    pub queues: HashMap<QueueName, QueueUrls>,
    pub mail_from: String,
    pub ses_configuration_set: Option<String>,
}

#[derive(Clone, Debug)]
pub struct HostConfig {
    pub addr: SocketAddr,
    pub backend: Backend,
    /// The embedded backend's folder (ignored on AWS).
    pub data_dir: PathBuf,
    /// Seed the demo program when the store is new.
    pub seed_demo: bool,
    /// Use this admin key instead of generating one on first start.
    pub admin_key: Option<Secret>,
    /// The key secrets in the store are sealed with; on the embedded backend the data
    /// folder's `secrets.key` when not given.
    pub secrets_key: Option<SecretsKey>,
    /// Base URL of tracking links; defaults to `http://<bound address>`.
    pub public_base_url: Option<String>,
    pub mail_from: String,
    /// The click cookie's `Domain` (none: the tracking host only).
    pub cookie_domain: Option<String>,
    /// The header carrying the visitor's country (CloudFront's by default).
    pub country_header: Option<String>,
    /// Lets partners' postback URLs point at this machine or a private network, for
    /// trying postbacks locally. Off by default, as in production.
    pub allow_private_postbacks: bool,
    /// Per-caller limits (failed authentication, signups); production's by default.
    pub rate_limits: upline_domain::services::RateLimits,
    /// The HTTP server's deadlines for request heads, bodies and answers.
    pub timeouts: serve::Timeouts,
    /// How often the payout schedule runs (approvals past the hold, payout runs on the
    /// program's cadence), as EventBridge does hourly on AWS; `None` turns it off.
    pub schedule_every: Option<std::time::Duration>,
}

impl HostConfig {
    pub fn new(addr: SocketAddr, data_dir: PathBuf) -> Self {
        HostConfig {
            addr,
            backend: Backend::Embedded,
            data_dir,
            seed_demo: true,
            admin_key: None,
            secrets_key: None,
            public_base_url: None,
            mail_from: "Upline <partners@upline.local>".into(),
            cookie_domain: None,
            country_header: None,
            allow_private_postbacks: false,
            rate_limits: Default::default(),
            timeouts: Default::default(),
            schedule_every: Some(std::time::Duration::from_secs(3600)),
        }
    }
}

/// What a first start created and can show only once.
#[derive(Debug, Default)]
pub struct FirstStart {
    /// The generated admin key (absent when one was configured or on later starts).
    pub admin_key: Option<String>,
    pub demo: Option<DemoProgram>,
}

pub struct RunningHost {
    pub addr: SocketAddr,
    pub base_url: String,
    /// The email outbox folder (embedded backend only).
    pub outbox: Option<PathBuf>,
    pub first_start: FirstStart,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    closed: Option<CloseWatch>,
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Open(#[from] upline_embedded::OpenError),
    #[error("cannot use the data folder {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("setting up the store failed: {0}")]
    Setup(String),
}

/// What the local host's click secret is sealed as in the store.
const CLICK_SECRET_PURPOSE: &str = "deployment.click_secret";

/// The deployment's click secret, made on first start and kept in the store, sealed.
async fn click_secret(
    store: &dyn Table,
    ids: &dyn Ids,
    sealing: &SecretsKey,
) -> Result<(ClickSecret, bool), HostError> {
    let setup = |e: TableError| HostError::Setup(e.to_string());
    let key = keys::deployment_secrets();
    let fresh = sealing.seal(CLICK_SECRET_PURPOSE, &hex::encode(ids.random_bytes(32)));
    let first = match store
        .put(
            Item::new(key.clone()).with("click_secret", fresh),
            Condition::NotExists,
        )
        .await
    {
        Ok(()) => true,
        Err(TableError::ConditionFailed) => false,
        Err(e) => return Err(setup(e)),
    };
    let item = store
        .get(&key)
        .await
        .map_err(setup)?
        .ok_or_else(|| HostError::Setup("secrets vanished".into()))?;
    let stored = item
        .s("click_secret")
        .ok_or_else(|| HostError::Setup("stored click secret is missing".into()))?;
    let opened = sealing.open(CLICK_SECRET_PURPOSE, stored).map_err(|e| {
        HostError::Setup(format!("{e} (is this the data folder's own secrets.key?)"))
    })?;
    let bytes = hex::decode(&opened)
        .map_err(|_| HostError::Setup("stored click secret is unreadable".into()))?;
    if !upline_domain::secrets::is_sealed(stored) {
        // Sealed from now on: a data folder from before secrets were sealed.
        let item = Item::new(key.clone())
            .with("click_secret", sealing.seal(CLICK_SECRET_PURPOSE, &opened));
        store.put(item, Condition::Exists).await.map_err(setup)?;
    }
    let secret = ClickSecret::new(bytes).map_err(|e| HostError::Setup(e.into()))?;
    Ok((secret, first))
}

/// Every HTTP route of every function, on one router.
pub fn router(services: &Services, tracking: upline_redirect::TrackingSettings) -> Router {
    Router::new()
        .merge(upline_redirect::router(upline_redirect::state(
            services.clone(),
            tracking,
        )))
        .merge(upline_postback::router(services.clone()))
        .merge(upline_signup::router(services.clone()))
        .merge(upline_api::router(services.clone()))
        .fallback(upline_http::not_found)
}

/// The secrets key of an embedded data folder: `secrets.key` beside the store, made
/// (owner-only) on first start. Whoever has the folder has the key too — the seal
/// protects copies of the store file and exports, not the folder itself.
fn data_dir_secrets_key(data_dir: &std::path::Path) -> Result<SecretsKey, HostError> {
    let path = data_dir.join("secrets.key");
    let dir_error = |e| HostError::DataDir(path.display().to_string(), e);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let fresh = SecretsKey::generate_hex();
            upline_embedded::private::write_private(&path, fresh.as_bytes()).map_err(dir_error)?;
            fresh
        }
        Err(e) => return Err(dir_error(e)),
    };
    upline_embedded::private::private_file(&path).map_err(dir_error)?;
    SecretsKey::from_hex(&text).map_err(|e| HostError::Setup(format!("{}: {e}", path.display())))
}

/// The adapters behind the ports, as the chosen backend provides them.
struct Adapters {
    table: Arc<dyn Table>,
    queue: Arc<dyn Queue>,
    consumer: Arc<dyn QueueConsumer>,
    mailer: Arc<dyn Mailer>,
    outbox: Option<PathBuf>,
    closed: Option<CloseWatch>,
    secrets_key: SecretsKey,
}

fn adapters(config: &HostConfig, clock: Arc<dyn Clock>) -> Result<Adapters, HostError> {
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

/// Starts the host; returns once it is listening.
pub async fn start(config: HostConfig) -> Result<RunningHost, HostError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ids: Arc<dyn Ids> = Arc::new(RandomIds);
    let Adapters {
        table,
        queue,
        consumer,
        mailer,
        outbox,
        closed,
        secrets_key,
    } = adapters(&config, clock.clone())?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| HostError::Bind(config.addr, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| HostError::Bind(config.addr, e))?;
    let base_url = config
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();

    let (secret, first) = click_secret(table.as_ref(), ids.as_ref(), &secrets_key).await?;
    let mut services = Services::new(
        table,
        queue,
        clock,
        ids,
        Deployment {
            click_secret: Some(secret),
            public_base_url: base_url.clone(),
            allow_private_postbacks: config.allow_private_postbacks,
        },
    );
    services.rate_limits = config.rate_limits;
    let services = services.with_secrets_key(secrets_key, None);
    let mut first_start = FirstStart::default();
    let setup = |e: upline_domain::error::AppError| match e {
        upline_domain::error::AppError::Invalid(fields) => HostError::Setup(
            fields
                .iter()
                .map(|f| format!("{} {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => HostError::Setup(other.to_string()),
    };
    match (&config.admin_key, first) {
        (Some(k), _) => {
            create_admin_key(&services, "local", Some(k.expose()))
                .await
                .map_err(setup)?;
        }
        (None, true) => {
            let key = create_admin_key(&services, "local", None)
                .await
                .map_err(setup)?;
            first_start.admin_key = Some(key.secret);
        }
        (None, false) => {}
    }
    if first && config.seed_demo {
        first_start.demo = Some(demo::seed(&services).await.map_err(setup)?);
    }

    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let health = consumers::ConsumerHealth::default();
    let policy = if config.allow_private_postbacks {
        upline_webhooks::AddressPolicy::AllowPrivate
    } else {
        upline_webhooks::AddressPolicy::PublicOnly
    };
    let caller = Arc::new(upline_webhooks::HttpPostbackCaller::new(policy));
    let handlers: [(QueueName, Arc<dyn MessageHandler>, usize); 4] = [
        // Clicks come in bulk: bigger batches mean fewer counter writes.
        (
            QueueName::Clicks,
            Arc::new(upline_clicks::ClickRecorder::new(services.store.clone())),
            50,
        ),
        (
            QueueName::Conversions,
            Arc::new(upline_payout::CommissionCalculator::new(services.clone())),
            10,
        ),
        (
            QueueName::Emails,
            Arc::new(upline_email::EmailSender::new(
                services.store.clone(),
                mailer,
                base_url.clone(),
            )),
            10,
        ),
        (
            QueueName::PartnerPostbacks,
            Arc::new(upline_partner_postbacks::PartnerPostbackSender::new(
                services.clone(),
                caller,
            )),
            10,
        ),
    ];
    for (queue, handler, batch_size) in handlers {
        let settings = ConsumerSettings {
            batch_size,
            ..ConsumerSettings::default()
        };
        tasks.push(tokio::spawn(consumers::supervise(
            consumer.clone(),
            queue,
            handler,
            settings,
            stop_rx.clone(),
            health.clone(),
        )));
    }
    if let Some(every) = config.schedule_every {
        tasks.push(tokio::spawn(run_schedule(
            services.clone(),
            every,
            stop_rx.clone(),
        )));
    }
    let defaults = upline_redirect::TrackingSettings::default();
    let tracking = upline_redirect::TrackingSettings {
        country_header: config
            .country_header
            .as_deref()
            .map_or(defaults.country_header, |h| h.trim().to_ascii_lowercase()),
        cookie_domain: config.cookie_domain.clone(),
        // Browsers drop Secure cookies set over plain HTTP (except on localhost).
        secure_cookie: base_url.starts_with("https://"),
        ..defaults
    };
    let app = router(&services, tracking).layer(axum::middleware::from_fn_with_state(
        health,
        health_of_the_host,
    ));
    tasks.push(tokio::spawn(serve::serve(
        listener,
        app,
        config.timeouts,
        stop_rx.clone(),
    )));
    Ok(RunningHost {
        addr,
        base_url,
        outbox,
        first_start,
        stop,
        tasks,
        closed,
    })
}

/// `/health` on the local host also answers for the background consumers: `503` naming
/// the queues whose consumer is down, so a supervisor or a person sees it at once.
async fn health_of_the_host(
    axum::extract::State(health): axum::extract::State<consumers::ConsumerHealth>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if request.uri().path() != "/health" {
        return next.run(request).await;
    }
    let down = health.down();
    if down.is_empty() {
        return next.run(request).await;
    }
    let text: Vec<String> = down
        .iter()
        .map(|(queue, why)| format!("the {queue} consumer is down: {why}"))
        .collect();
    (axum::http::StatusCode::SERVICE_UNAVAILABLE, text.join("\n")).into_response()
}

/// The local stand-in for the hourly EventBridge schedule: the same scheduled work the
/// payout function does on AWS, first right after start, then every `every`.
async fn run_schedule(
    services: Services,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match upline_domain::usecases::payouts::scheduled(&services).await {
            Ok(outcome) => {
                tracing::info!(
                    requeued = outcome.requeued_conversions,
                    approved = outcome.approved_lines,
                    runs = outcome.runs.len(),
                    "schedule ran"
                );
            }
            Err(e) => tracing::warn!(error = %e, "scheduled approvals and payout runs failed"),
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM — what `kill`, systemd and container
/// runtimes send — so either stops the host gracefully: requests in flight finish,
/// consumers settle their batch, the store closes.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl RunningHost {
    /// Stops serving and consuming, waits for in-flight work, and closes the store.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        // The server returns once connections are told to close; a connection task may
        // still be dropping its handle on the store. Wait for the file to close, briefly.
        if let Some(closed) = self.closed {
            for _ in 0..500 {
                if closed.is_closed() {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            tracing::warn!("the store is still open five seconds after stopping");
        }
    }
}
