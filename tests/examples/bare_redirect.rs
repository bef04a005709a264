//! The yardstick for `scripts/load-redirect`: an HTTP server on the same stack as the
//! local host (tokio, hyper through axum) whose one handler answers a fixed 302. Whatever
//! the host does beyond this — resolving the link, signing a click id, keeping the click —
//! is what the load test measures.
//!
//! `bare_redirect PORT` (0: any free port); prints `listening on ADDR` once it is.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let app = Router::new().fallback(|| async {
        let mut r = StatusCode::FOUND.into_response();
        r.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_static("https://shop.example.com/spring?click_id=x"),
        );
        r
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("a free port");
    println!("listening on {}", listener.local_addr().expect("bound"));
    axum::serve(listener, app).await.expect("serving");
}
