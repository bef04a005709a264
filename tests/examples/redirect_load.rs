//! Load on the local host's redirect, side by side with a bare 302 server
//! (`bare_redirect`), as `scripts/load-redirect` runs it.
//!
//! Each server is its own release process pinned to core 0; wrk drives it from core 1 with
//! a browser's user agent. Rounds alternate (bare, host, bare, host …) so both see the same
//! machine. A host round ends when wrk stops *and* the host has recorded a click for every
//! redirect wrk saw answered (read from the admin report's counters), and its rate is
//! counted over that whole time; the next round starts only then. Prints every round, the
//! medians and the ratio. Bounded: each round lasts SECONDS, and waiting for clicks gives
//! up after two minutes.
//!
//! `redirect_load SECONDS CONNECTIONS ROUNDS`, from `target/release/examples` beside
//! `bare_redirect` and `../upline-local`.

// Timing and rate figures, not money: floats are fine here.
#![allow(clippy::float_arithmetic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process, killed when dropped.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM first, so the host flushes and closes its store.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `program args` on core 0 and reads its standard output until `ready` says the
/// lines so far are enough; returns them.
fn start_on_core0(
    program: &Path,
    args: &[&str],
    log: &Path,
    ready: impl Fn(&[String]) -> bool,
) -> (Server, Vec<String>) {
    let mut child = Command::new("taskset")
        .arg("-c")
        .arg("0")
        .arg(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("a log file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut lines = Vec::new();
    let server = Server { child };
    for line in stdout.lines() {
        lines.push(line.expect("utf-8 output"));
        if ready(&lines) {
            return (server, lines);
        }
    }
    panic!(
        "{} stopped before it was ready; see {}",
        program.display(),
        log.display()
    );
}

struct Round {
    requests: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Round {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// A wrk latency figure ("812.00us", "1.23ms", "2.01s") in milliseconds.
fn millis(figure: &str) -> f64 {
    let (number, scale) = if let Some(n) = figure.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = figure.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = figure.strip_suffix('s') {
        (n, 1e3)
    } else {
        panic!("not a wrk latency: {figure}")
    };
    number.parse::<f64>().expect("a number") * scale
}

/// Runs wrk on core 1 against `url`; returns what it answered and its own duration.
fn wrk(url: &str, seconds: u64, connections: usize) -> Round {
    let out = Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1", "--latency"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("-H")
        .arg(format!("User-Agent: {}", upline_tests::host::BROWSER))
        .arg(url)
        .output()
        .expect("wrk runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx or 3xx responses"),
        "some answers were not redirects:\n{text}"
    );
    let field = |label: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("wrk printed no {label:?} line:\n{text}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let requests_line = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .unwrap_or_else(|| panic!("wrk printed no request count:\n{text}"));
    let words: Vec<&str> = requests_line.split_whitespace().collect();
    let requests: u64 = words[0].parse().expect("a count");
    let seconds = millis(words[3].trim_end_matches(',')) / 1e3;
    Round {
        requests,
        seconds,
        p50_ms: millis(&field("50%")[1]),
        p99_ms: millis(&field("99%")[1]),
    }
}

/// Every click the host has counted (people, bots and turned-away visitors), from the
/// admin report over the last 30 days.
async fn clicks_recorded(client: &reqwest::Client, base: &str, admin_key: &str) -> u64 {
    let report: serde_json::Value = client
        .get(format!("{base}/v1/admin/reports"))
        .bearer_auth(admin_key)
        .send()
        .await
        .expect("the host answers")
        .error_for_status()
        .expect("the report")
        .json()
        .await
        .expect("JSON");
    let totals = &report["totals"];
    ["clicks", "bot_clicks", "rejected_clicks"]
        .iter()
        .map(|k| totals[*k].as_u64().expect("a count"))
        .sum()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn show(name: &str, r: &Round) {
    println!(
        "  {name:<34} {:>9} redirects in {:>6.2} s = {:>8.0} /s   p50 {:>6.2} ms   p99 {:>6.2} ms",
        r.requests,
        r.seconds,
        r.rate(),
        r.p50_ms,
        r.p99_ms
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let connections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);

    let here: PathBuf = std::env::current_exe()
        .expect("own path")
        .parent()
        .expect("examples folder")
        .to_path_buf();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (_bare, lines) = start_on_core0(
        &here.join("bare_redirect"),
        &["0"],
        &dir.path().join("bare.log"),
        |l| !l.is_empty(),
    );
    let bare_url = format!(
        "http://{}/r/anything",
        lines[0].trim_start_matches("listening on ")
    );
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("a UTF-8 path");
    let (_host, lines) = start_on_core0(
        &here.join("../upline-local"),
        &[
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            data_arg,
            "--schedule-every",
            "0",
        ],
        &dir.path().join("host.log"),
        |l| l.last().is_some_and(|l| l.starts_with("Stop with")),
    );
    let base = lines[0]
        .strip_prefix("Upline is running at ")
        .and_then(|l| l.split_whitespace().next())
        .expect("the host's address")
        .to_string();
    let admin_key = lines
        .iter()
        .position(|l| l.starts_with("Admin key"))
        .map(|i| lines[i + 1].trim().to_string())
        .expect("the admin key");
    let link = lines
        .iter()
        .rev()
        .find_map(|l| l.split("  link ").nth(1))
        .and_then(|l| l.split_whitespace().next())
        .expect("a demo link")
        .to_string();
    let host_url = format!("{link}?sub1=load");

    upline_tests::install_tls_provider();
    // A fresh connection per poll: the host closes idle ones while wrk runs.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client");
    let mut recorded = clicks_recorded(&client, &base, &admin_key).await;
    println!(
        "{rounds} rounds of {seconds} s, {connections} connections, servers on core 0, wrk on core 1:"
    );
    let (mut bare_rounds, mut host_rounds) = (Vec::new(), Vec::new());
    let mut all_recorded = true;
    for round in 1..=rounds {
        let bare = wrk(&bare_url, seconds, connections);
        show(&format!("round {round}: bare 302 server"), &bare);
        bare_rounds.push(bare);

        let started = Instant::now();
        let served = wrk(&host_url, seconds, connections);
        let expected = recorded + served.requests;
        let give_up = Instant::now() + Duration::from_secs(120);
        let mut now = clicks_recorded(&client, &base, &admin_key).await;
        while now < expected && Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(10)).await;
            now = clicks_recorded(&client, &base, &admin_key).await;
        }
        let until_recorded = started.elapsed().as_secs_f64();
        let host = Round {
            seconds: until_recorded,
            ..served
        };
        show(
            &format!("round {round}: Upline /r/{{code}} + recorded"),
            &host,
        );
        println!(
            "  {:<34} {} of {} redirects' clicks recorded, the last {:.0} ms after wrk stopped",
            "",
            now - recorded,
            served.requests,
            (until_recorded - served.seconds).max(0.0) * 1e3
        );
        all_recorded &= now >= expected;
        // Requests wrk cut off at its deadline may still land: settle before the next round.
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let later = clicks_recorded(&client, &base, &admin_key).await;
            if later == now {
                break;
            }
            now = later;
        }
        recorded = now;
        host_rounds.push(host);
    }
    let rate = |r: &[Round]| median(r.iter().map(Round::rate).collect());
    let p99 = |r: &[Round]| median(r.iter().map(|x| x.p99_ms).collect());
    let (bare_rate, host_rate) = (rate(&bare_rounds), rate(&host_rounds));
    println!(
        "medians: bare {bare_rate:.0} /s (p99 {:.2} ms), Upline {host_rate:.0} /s with every click recorded (p99 {:.2} ms)",
        p99(&bare_rounds),
        p99(&host_rounds)
    );
    println!(
        "ratio: {:.2} of the bare server; p99 {:.1}x the bare server's",
        host_rate / bare_rate,
        p99(&host_rounds) / p99(&bare_rounds)
    );
    if all_recorded {
        println!("every redirect's click was recorded");
    } else {
        println!("NOT every redirect's click was recorded within two minutes");
        std::process::exit(1);
    }
}
