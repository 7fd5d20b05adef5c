//! Load benchmark: `querybot serve` beside Slack Bolt for Python (async, under uvicorn) in the
//! same run, on the same fake Slack and the same fake LLM, on one machine.
//!
//! Each scenario starts a fresh server, sends signed `/ask` commands on a fixed schedule (open
//! loop: each is its own task, so a late answer never delays the next send; each
//! acknowledgement is timed from when its request was sent, and how late the sender's timer
//! sent them is reported beside it), waits until every draft is shown, then reads the
//! server's peak RSS and CPU time from `/proc`.
//! Start-up (process start to first HTTP answer) and idle RSS come with every scenario.
//! Scenarios:
//!
//! - `rate-50`, `rate-100`, `rate-200`: that many questions a second for `LOAD_SECONDS`
//!   (default 20), spread over 500 channels and 1,000 people;
//! - `burst-channels`: 50 questions at once, one in each of 50 channels;
//! - `burst-one-channel`: 50 questions at once in one channel, where Slack's pace of about one
//!   post a second per channel is what limits.
//!
//! The fake LLM answers after `LOAD_LLM_MS` (default 2,000 ms). Every scenario runs
//! `LOAD_RUNS` times (default 3) per server and the median of each figure is reported. An
//! argument filters scenarios by name. Bolt comes from `BOLT_PYTHON` or a virtualenv made
//! once under `target/`; `BOLT_PYTHON=` (empty) measures querybot alone. Run with
//! `cargo bench --bench load`.

mod fakes;
#[path = "../common/llm.rs"]
mod llm;
mod peers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use fakes::FakeSlack;
use peers::{Kind, Server, Setting};

/// Channels and people the rate scenarios spread questions over.
const CHANNELS: usize = 500;
const PEOPLE: usize = 1_000;
const BURST: usize = 50;

#[derive(Debug, Clone, Copy)]
enum Scenario {
    /// Questions a second.
    Rate(u32),
    /// `BURST` questions at once, in this many channels (round robin).
    Burst(usize),
}

impl Scenario {
    fn name(self) -> String {
        match self {
            Scenario::Rate(rate) => format!("rate-{rate}"),
            Scenario::Burst(1) => "burst-one-channel".to_owned(),
            Scenario::Burst(_) => "burst-channels".to_owned(),
        }
    }
}

/// What one run of a scenario measured.
#[derive(Debug, Clone, Default)]
struct Outcome {
    sent: usize,
    errors: usize,
    /// Questions told to ask again later (beyond the in-flight bound).
    refused: usize,
    ack_p50: Duration,
    ack_p99: Duration,
    ack_max: Duration,
    /// How late the sender's timer sent requests (its own delay, not the server's), p99.
    send_lag_p99: Duration,
    drafts: usize,
    /// Drafts shown per second, from the first question sent to the last draft shown.
    drafts_per_s: f64,
    /// From the last question sent to the last draft shown.
    drain: Duration,
    /// From a burst sent to its last draft shown.
    ask_to_draft_max: Option<Duration>,
    peak_rss_mb: f64,
    /// From the process started to its first HTTP answer.
    start_up: Duration,
    /// Resident memory once up, before the first question.
    idle_rss_mb: f64,
    cpu_ms_per_request: f64,
    rate_limited: u64,
}

fn main() {
    let seconds: u32 = setting("LOAD_SECONDS", 20);
    let runs: usize = setting("LOAD_RUNS", 3);
    let latency = Duration::from_millis(setting("LOAD_LLM_MS", 2_000));
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let scenarios: Vec<Scenario> = [
        Scenario::Rate(50),
        Scenario::Rate(100),
        Scenario::Rate(200),
        Scenario::Burst(BURST),
        Scenario::Burst(1),
    ]
    .into_iter()
    .filter(|s| {
        filter
            .as_ref()
            .is_none_or(|f| s.name().contains(f.as_str()))
    })
    .collect();
    let python = peers::bolt_python();
    if let Err(why) = &python {
        eprintln!("Bolt is left out: {why}");
    }

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let work = tempfile::tempdir().expect("a work folder");
        let warehouse = work.path().join("chinook.sqlite");
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/testdata/sample_dbs/Chinook_Sqlite.sqlite"
            ),
            &warehouse,
        )
        .expect("the Chinook sample database beside the repository");
        let slack = FakeSlack::start().await;
        let llm_url = llm::fake_llm(fakes::SQL, latency).await;
        let setting = Setting {
            slack: &slack,
            llm_url: &llm_url,
            warehouse: &warehouse,
            work: work.path(),
        };
        let mut kinds = vec![Kind::Querybot];
        if python.is_ok() {
            kinds.push(Kind::Bolt);
        }
        println!(
            "load: {seconds} s per rate, LLM {} ms, {runs} runs per figure (median)\n",
            latency.as_millis()
        );
        println!(
            "| scenario | server | sent | errors | refused | ack p50 | ack p99 | ack max | send lag p99 | drafts | drafts/s | drain | ask→draft max | peak RSS | CPU/request | 429s | start-up | idle RSS |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for scenario in scenarios {
            for &kind in &kinds {
                let mut outcomes = Vec::new();
                for _ in 0..runs {
                    slack.reset();
                    let server = Server::start(kind, &setting, python.as_deref().ok()).await;
                    outcomes.push(run(scenario, seconds, latency, &server, &slack).await);
                }
                print_row(&scenario.name(), kind.name(), &median(&outcomes));
            }
        }
        let calls = slack.calls();
        eprintln!("\nlast scenario's Slack calls: {calls:?}");
    });
}

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One question: its channel and its due time from the start.
struct Ask {
    due: Duration,
    channel: String,
    user: String,
}

fn schedule(scenario: Scenario, seconds: u32) -> Vec<Ask> {
    match scenario {
        Scenario::Rate(rate) => (0..(rate * seconds) as usize)
            .map(|i| Ask {
                due: Duration::from_secs_f64(i as f64 / f64::from(rate)),
                channel: format!("C{:04}", i % CHANNELS),
                user: format!("U{:04}", i % PEOPLE),
            })
            .collect(),
        Scenario::Burst(channels) => (0..BURST)
            .map(|i| Ask {
                due: Duration::ZERO,
                channel: format!("C{:04}", i % channels),
                user: format!("U{:04}", i % PEOPLE),
            })
            .collect(),
    }
}

async fn run(
    scenario: Scenario,
    seconds: u32,
    latency: Duration,
    server: &Server,
    slack: &FakeSlack,
) -> Outcome {
    let asks = schedule(scenario, seconds);
    let cpu_before = peers::cpu_time(server.pid());
    let idle_rss_mb = peers::rss_kb(server.pid()) as f64 / 1024.0;
    let http = reqwest::Client::new();
    let url = Arc::new(server.commands_url.clone());
    let start = Instant::now() + Duration::from_millis(100);
    let mut sends = Vec::with_capacity(asks.len());
    for (i, ask) in asks.iter().enumerate() {
        let due = start + ask.due;
        let body = serde_urlencoded::to_string([
            ("token", "verification-token-unused"),
            ("team_id", "T0001"),
            ("team_domain", "fake"),
            ("channel_id", ask.channel.as_str()),
            ("channel_name", "bench"),
            ("user_id", ask.user.as_str()),
            ("user_name", "asker"),
            ("command", "/ask"),
            (
                "text",
                &format!("q{i}: how many invoices are there per billing country?"),
            ),
            ("api_app_id", "A0BOT"),
            ("response_url", ""),
            ("trigger_id", &format!("{i}.bench")),
        ])
        .expect("a form");
        let (http, url) = (http.clone(), url.clone());
        sends.push(tokio::spawn(async move {
            tokio::time::sleep_until(due.into()).await;
            let sending = Instant::now();
            let timestamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default()
                .to_string();
            let sent = http
                .post(url.as_str())
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-slack-request-timestamp", &timestamp)
                .header("x-slack-signature", sign(&timestamp, &body))
                .body(body)
                .send()
                .await;
            let (ok, refused) = match sent {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    // querybot's "busy, please ask again in about N seconds", in the response.
                    Ok(body) => (true, body.windows(16).any(|w| w == b"please ask again")),
                    Err(_) => (false, false),
                },
                _ => (false, false),
            };
            (sending.elapsed(), sending.duration_since(due), ok, refused)
        }));
    }
    let (mut acks, mut lags) = (
        Vec::with_capacity(sends.len()),
        Vec::with_capacity(sends.len()),
    );
    let (mut errors, mut refused) = (0, 0);
    for send in sends {
        let (took, lag, ok, busy) = send.await.expect("a send");
        acks.push(took);
        lags.push(lag);
        errors += usize::from(!ok);
        refused += usize::from(busy);
    }
    lags.sort();
    let last_due = start + asks.last().map(|a| a.due).unwrap_or_default();
    // Slack's pace makes the one-channel burst take about a second a question.
    let patience = latency + Duration::from_secs(15);
    let drafts = slack.wait_for_drafts(asks.len(), patience).await;
    let cpu = peers::cpu_time(server.pid()).saturating_sub(cpu_before);
    let peak = peers::peak_rss_kb(server.pid());

    acks.sort();
    let at = |q: f64| acks[((acks.len() - 1) as f64 * q).round() as usize];
    let last_draft = drafts.iter().max().copied().unwrap_or(start);
    // Every question of a burst is sent at `start`: its slowest draft is the last one.
    let ask_to_draft_max = match scenario {
        Scenario::Burst(_) => Some(last_draft.saturating_duration_since(start)),
        Scenario::Rate(_) => None,
    };
    Outcome {
        sent: asks.len(),
        errors,
        refused,
        ack_p50: at(0.5),
        ack_p99: at(0.99),
        ack_max: at(1.0),
        send_lag_p99: lags[((lags.len() - 1) as f64 * 0.99).round() as usize],
        drafts: drafts.len(),
        drafts_per_s: drafts.len() as f64
            / last_draft
                .saturating_duration_since(start)
                .as_secs_f64()
                .max(1e-3),
        drain: last_draft.saturating_duration_since(last_due),
        ask_to_draft_max,
        peak_rss_mb: peak as f64 / 1024.0,
        start_up: server.start_up,
        idle_rss_mb,
        cpu_ms_per_request: cpu.as_secs_f64() * 1000.0 / asks.len() as f64,
        rate_limited: slack.rate_limited(),
    }
}

/// Slack's request signature: `v0=` HMAC-SHA256 of `v0:timestamp:body`.
fn sign(timestamp: &str, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(peers::SIGNING_SECRET.as_bytes()).expect("any key length");
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// The median of each figure over the runs.
fn median(outcomes: &[Outcome]) -> Outcome {
    fn mid<T: Copy + PartialOrd>(mut values: Vec<T>) -> T {
        values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        values[values.len() / 2]
    }
    let of = |f: fn(&Outcome) -> f64| mid(outcomes.iter().map(f).collect());
    let time = |f: fn(&Outcome) -> Duration| mid(outcomes.iter().map(f).collect());
    Outcome {
        sent: outcomes[0].sent,
        errors: of(|o| o.errors as f64) as usize,
        refused: of(|o| o.refused as f64) as usize,
        ack_p50: time(|o| o.ack_p50),
        ack_p99: time(|o| o.ack_p99),
        ack_max: time(|o| o.ack_max),
        send_lag_p99: time(|o| o.send_lag_p99),
        drafts: of(|o| o.drafts as f64) as usize,
        drafts_per_s: of(|o| o.drafts_per_s),
        drain: time(|o| o.drain),
        ask_to_draft_max: outcomes[0]
            .ask_to_draft_max
            .map(|_| time(|o| o.ask_to_draft_max.unwrap_or_default())),
        peak_rss_mb: of(|o| o.peak_rss_mb),
        start_up: time(|o| o.start_up),
        idle_rss_mb: of(|o| o.idle_rss_mb),
        cpu_ms_per_request: of(|o| o.cpu_ms_per_request),
        rate_limited: of(|o| o.rate_limited as f64) as u64,
    }
}

fn print_row(scenario: &str, server: &str, o: &Outcome) {
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!(
        "| {scenario} | {server} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.2} s | {} | {:.1} MB | {:.2} ms | {} | {} | {:.1} MB |",
        o.sent,
        o.errors,
        o.refused,
        ms(o.ack_p50),
        ms(o.ack_p99),
        ms(o.ack_max),
        ms(o.send_lag_p99),
        o.drafts,
        o.drafts_per_s,
        o.drain.as_secs_f64(),
        o.ask_to_draft_max
            .map_or("—".to_owned(), |d| format!("{:.2} s", d.as_secs_f64())),
        o.peak_rss_mb,
        o.cpu_ms_per_request,
        o.rate_limited,
        ms(o.start_up),
        o.idle_rss_mb,
    );
}
