//! A partner's tracker for tests: a real HTTP server on a loopback port that records every
//! request it gets and answers with the statuses it was told, in order (the last one
//! repeating).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;

#[derive(Default)]
struct Shared {
    answers: Vec<u16>,
    received: Vec<String>,
}

pub struct PostbackReceiver {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    shared: Arc<Mutex<Shared>>,
    server: tokio::task::JoinHandle<()>,
}

async fn record(
    State(shared): State<Arc<Mutex<Shared>>>,
    OriginalUri(uri): OriginalUri,
) -> StatusCode {
    let mut s = shared.lock().unwrap();
    s.received.push(uri.to_string());
    let n = s.received.len();
    let code = s
        .answers
        .get(n - 1)
        .or(s.answers.last())
        .copied()
        .unwrap_or(200);
    StatusCode::from_u16(code).unwrap()
}

impl PostbackReceiver {
    /// Starts the server; it answers `answers[0]` to the first request, and so on.
    pub async fn start(answers: &[u16]) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            answers: answers.to_vec(),
            received: vec![],
        }));
        let app = Router::new().fallback(record).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        PostbackReceiver {
            base_url: format!("http://{addr}"),
            shared,
            server,
        }
    }

    /// The path and query of every request so far, in order.
    pub fn received(&self) -> Vec<String> {
        self.shared.lock().unwrap().received.clone()
    }
}

impl Drop for PostbackReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}
