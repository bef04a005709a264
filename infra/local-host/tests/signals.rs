//! The `upline-local` binary stops gracefully on SIGTERM, as it does on Ctrl-C: what
//! `kill`, systemd and container runtimes send must not cut requests or the store off.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn start(data: &std::path::Path) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_upline-local"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--schedule-every",
            "0",
            "--data-dir",
        ])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a welcome line").unwrap();
    assert!(first.starts_with("Upline is running at "), "{first}");
    // Keep reading so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

#[test]
fn sigterm_stops_the_host_gracefully_and_the_store_opens_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = start(&data);
    signal(child.id(), "TERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // A process killed by the signal has no exit code; a graceful stop exits 0.
    assert_eq!(status.code(), Some(0), "{status:?}");
    // The store was closed cleanly: the same folder starts again (redb would refuse a
    // file another process still holds).
    let mut again = start(&data);
    signal(again.id(), "INT");
    assert_eq!(again.wait().unwrap().code(), Some(0));
}
