//! Export benchmark: 1,000,000 rows x 10 columns from PostgreSQL to a CSV file, querybot next
//! to `psql \copy` on the same query, same server, same machine, in the same run.
//!
//! querybot is measured as a person meets it: the release binary's `ask --yes` (a local fake
//! LLM answers with the SQL at once), so the figure covers the guard, the read-only
//! transaction, decoding, the preview, the chart decision and the CSV. Each side runs three
//! times under `/usr/bin/time`; the medians of wall time and peak RSS are reported, with the
//! ratio the goal is stated in (querybot's throughput at least 80% of psql's, peak RSS at most
//! 40 MB).
//!
//! Needs a PostgreSQL server (`BENCH_DATABASE_URL`, default the tests' local one) and `psql`;
//! creates the database `querybot_bench` and its table once. Run with
//! `cargo bench --bench export`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[path = "common/llm.rs"]
mod llm;

const ROWS: u64 = 1_000_000;
const RUNS: usize = 3;
const QUERY: &str = "SELECT id, customer, amount, ratio, quantity, status, note, created_on, \
                     created_at, paid FROM export_wide ORDER BY id";

fn main() {
    let server = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let database = prepare(&server);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let llm = runtime.block_on(llm::fake_llm(QUERY, Duration::ZERO));
    let out = tempfile::tempdir().expect("temp dir");

    let psql_file = out.path().join("psql.csv");
    let copy = format!(
        "\\copy ({QUERY}) TO '{}' WITH CSV HEADER",
        psql_file.display()
    );
    let psql: Vec<Measured> = (0..RUNS)
        .map(|_| measure(Command::new("psql").args([database.as_str(), "-q", "-c", &copy])))
        .collect();
    let psql_lines = lines(&psql_file);

    let querybot: Vec<Measured> = (0..RUNS)
        .map(|run| {
            let dir = out.path().join(format!("querybot-{run}"));
            let mut command = Command::new(env!("CARGO_BIN_EXE_querybot"));
            command
                .args(["ask", "export everything", "--yes", "--out"])
                .arg(&dir)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("WAREHOUSE_URL", &database)
                .env(
                    "DATABASE_URL",
                    format!("sqlite://{}/store.db", out.path().display()),
                )
                .env("QUERYBOT_DATA_DIR", out.path())
                .env("LLM_PROVIDER", "openai")
                .env("LLM_API_KEY", "bench")
                .env("LLM_BASE_URL", &llm)
                .env("LLM_MODEL", "bench")
                .env("QUERYBOT_MAX_ROWS", (ROWS * 2).to_string())
                .env("QUERYBOT_MAX_RESULT_BYTES", (4u64 << 30).to_string())
                .env("QUERYBOT_STATEMENT_TIMEOUT", "600");
            let measured = measure(&mut command);
            let csv = std::fs::read_dir(&dir)
                .expect("the output folder")
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .find(|path| path.extension().is_some_and(|e| e == "csv"))
                .expect("a CSV file");
            assert_eq!(lines(&csv), psql_lines, "querybot wrote every row");
            measured
        })
        .collect();

    let (psql, querybot) = (median(&psql), median(&querybot));
    println!("export of {ROWS} rows x 10 columns, median of {RUNS} runs each");
    println!("| | wall | rows/s | peak RSS |");
    println!("|---|---|---|---|");
    for (name, m) in [("psql \\copy", psql), ("querybot ask --yes", querybot)] {
        println!(
            "| {name} | {:.2} s | {:.0} | {:.1} MB |",
            m.wall.as_secs_f64(),
            ROWS as f64 / m.wall.as_secs_f64(),
            m.peak_kb as f64 / 1024.0
        );
    }
    println!(
        "querybot throughput / psql throughput: {:.0}% (goal >= 80%); peak RSS {:.1} MB (goal <= 40 MB)",
        100.0 * psql.wall.as_secs_f64() / querybot.wall.as_secs_f64(),
        querybot.peak_kb as f64 / 1024.0
    );
}

#[derive(Debug, Clone, Copy)]
struct Measured {
    wall: Duration,
    peak_kb: u64,
}

/// Runs `command` under `/usr/bin/time`, which reports wall seconds and peak RSS in KB.
fn measure(command: &mut Command) -> Measured {
    let report = tempfile::NamedTempFile::new().expect("a temp file");
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%e %M", "-o"])
        .arg(report.path())
        .arg(command.get_program())
        .args(command.get_args())
        .env_clear()
        .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdout(std::process::Stdio::null());
    if command.get_envs().next().is_none() {
        timed.envs(std::env::vars_os());
    }
    let status = timed.status().expect("/usr/bin/time runs");
    assert!(status.success(), "{command:?} failed");
    let text = std::fs::read_to_string(report.path()).expect("the time report");
    let mut fields = text.split_whitespace();
    let wall: f64 = fields.next().and_then(|s| s.parse().ok()).expect("seconds");
    let peak_kb: u64 = fields.next().and_then(|s| s.parse().ok()).expect("KB");
    Measured {
        wall: Duration::from_secs_f64(wall),
        peak_kb,
    }
}

fn median(runs: &[Measured]) -> Measured {
    let mut walls: Vec<Duration> = runs.iter().map(|m| m.wall).collect();
    let mut peaks: Vec<u64> = runs.iter().map(|m| m.peak_kb).collect();
    walls.sort();
    peaks.sort_unstable();
    Measured {
        wall: walls[walls.len() / 2],
        peak_kb: peaks[peaks.len() / 2],
    }
}

/// The records in a CSV file (no field in the table holds a newline).
fn lines(path: &Path) -> usize {
    let bytes = std::fs::read(path).expect("a CSV file");
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Creates `querybot_bench` and its million-row table on first use; returns its URL.
fn prepare(server: &str) -> String {
    let psql = |url: &str, sql: &str| {
        let output = Command::new("psql")
            .args([url, "-qtA", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let exists = psql(
        server,
        "SELECT count(*) FROM pg_database WHERE datname = 'querybot_bench'",
    );
    if exists == "0" {
        psql(server, "CREATE DATABASE querybot_bench");
    }
    let database = match server.rsplit_once('/') {
        Some((base, _)) => format!("{base}/querybot_bench"),
        None => panic!("BENCH_DATABASE_URL names no database: {server}"),
    };
    let present = psql(
        &database,
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'export_wide'",
    );
    if present == "0" {
        eprintln!("creating export_wide ({ROWS} rows), once");
        psql(
            &database,
            &format!(
                "CREATE TABLE export_wide AS SELECT g AS id, 'customer ' || (g % 5000) AS customer, \
                 round((g % 100000) / 7.0, 2)::numeric(12, 2) AS amount, (g % 1000) / 3.0::float8 AS ratio, \
                 (g % 97)::integer AS quantity, (ARRAY['open', 'paid', 'late, \"really\"'])[1 + g % 3] AS status, \
                 CASE WHEN g % 10 = 0 THEN NULL ELSE md5(g::text) END AS note, \
                 DATE '2020-01-01' + (g % 1500) AS created_on, \
                 TIMESTAMP '2020-01-01' + g * INTERVAL '1 second' AS created_at, g % 2 = 0 AS paid \
                 FROM generate_series(1, {ROWS}) AS g"
            ),
        );
        psql(&database, "ANALYZE export_wide");
    }
    database
}
