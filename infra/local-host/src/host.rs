//! Starting and stopping the host: builds the services on the backend's adapters, does
//! a first start's one-time setup, and launches the server and the background work
//! under one stop signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use upline_domain::clock::{Clock, SystemClock};
use upline_domain::ids::{Ids, RandomIds};
use upline_domain::services::{Deployment, Services};
use upline_domain::usecases::admin::create_admin_key;
use upline_embedded::CloseWatch;

use crate::adapters::{Adapters, adapters};
use crate::click_buffer::ClickBuffer;
use crate::routes::{health_of_the_host, router, tracking_settings};
use crate::secrets::click_secret;
use crate::{DemoProgram, HostConfig, background, consumers, demo, serve};

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
    clicks: Arc<ClickBuffer>,
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
    // Clicks wait in memory for a batched write; see click_buffer.rs for the loss bound.
    let recorder =
        upline_clicks::ClickRecorder::new(upline_domain::store::Store::new(table.clone()));
    let clicks = ClickBuffer::start(queue, Some(Arc::new(recorder)), config.click_buffer);
    let queue: Arc<dyn upline_domain::ports::Queue> = clicks.clone();
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
    let health = consumers::ConsumerHealth::default();
    let mut tasks = background::spawn_consumers(
        &services,
        consumer,
        mailer,
        &base_url,
        config.allow_private_postbacks,
        &stop_rx,
        &health,
    );
    if let Some(every) = config.schedule_every {
        tasks.push(tokio::spawn(background::run_schedule(
            services.clone(),
            every,
            stop_rx.clone(),
        )));
    }
    let tracking = tracking_settings(&config, &base_url);
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
        clicks,
        closed,
    })
}

/// Listens for Ctrl-C (SIGINT) or, on Unix, SIGTERM — what `kill`, systemd and container
/// runtimes send — and resolves on the first, so either stops the host gracefully:
/// requests in flight finish, consumers settle their batch, the store closes. The
/// listeners are installed when this is called, not when the future is first polled: a
/// signal sent as soon as the host says it is running must not kill it.
pub fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let interrupt = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, interrupt) {
                (Some(mut term), Some(mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

impl RunningHost {
    /// Stops serving and consuming, waits for in-flight work, and closes the store.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        // Requests have finished: what they buffered is written before the store closes.
        self.clicks.close().await;
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
