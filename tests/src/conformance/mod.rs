//! Conformance suites for the Table and Queue ports. Each check is an async function over
//! a fixture; `tests/*_conformance.rs` instantiate them for each adapter set, so a
//! behaviour difference between adapters is a failing test, not a surprise in production.

pub mod queue;
pub mod table;

/// Generates one `#[tokio::test]` per named check, each with a fresh fixture from `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($suite:path, $make:expr, [$($check:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                use $suite as suite;
                let fixture = $make.await;
                suite::$check(&fixture).await;
            }
        )*
    };
}
