//! The built binary, run as a user would: exit codes, stdout and one-line errors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;

use crate::support::testdata;

/// Runs `querybot` in an empty folder with only the given settings (no `.env`, no TOML).
fn querybot(args: &[&str], settings: &[(&str, &str)], stdin: &str) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_querybot"))
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("QUERYBOT_LOG", "warn")
        .envs(settings.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    let output = child.wait_with_output().expect("binary finishes");
    (output, dir)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn verdicts(output: &Output) -> Vec<Json> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn guard_writes_one_verdict_per_statement() {
    let input = [
        r#""SELECT status, count(*) FROM orders GROUP BY status""#,
        r#""DELETE FROM orders""#,
        "",
        r#""SELECT * FROM hr_salaries""#,
        "not json",
    ]
    .join("\n");
    let (output, _dir) = querybot(
        &[
            "guard",
            "--dialect",
            "postgres",
            "--tables",
            "orders,customers",
        ],
        &[],
        &input,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let verdicts = verdicts(&output);
    let allowed: Vec<bool> = verdicts.iter().map(|v| v["allowed"] == true).collect();
    assert_eq!(allowed, [true, false, false, false]);
    assert!(
        verdicts[0]["sql"]
            .as_str()
            .is_some_and(|sql| sql.contains("GROUP BY status"))
    );
    assert!(verdicts[0]["reason"].is_null());
    for rejected in &verdicts[1..] {
        let reason = rejected["reason"].as_str().expect("a reason");
        assert!(
            reason.ends_with('.') && reason.len() > 20,
            "a readable sentence: {reason}"
        );
        assert!(rejected["sql"].is_null());
    }
}

#[test]
fn guard_reads_tables_from_a_live_connection() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chinook.sqlite");
    std::fs::copy(testdata("sample_dbs/Chinook_Sqlite.sqlite"), &path).expect("copy");
    let url = format!("sqlite://{}", path.display());
    let input = "\"SELECT Name FROM Artist LIMIT 5\"\n\"SELECT * FROM sqlite_master\"\n\"SELECT * FROM Nope\"\n";
    let (output, _dir) = querybot(&["guard", "--connection", &url], &[], input);
    assert!(output.status.success(), "{}", stderr(&output));
    let allowed: Vec<bool> = verdicts(&output)
        .iter()
        .map(|v| v["allowed"] == true)
        .collect();
    assert_eq!(allowed, [true, false, false]);
}

#[test]
fn demo_data_then_catalog_refresh_and_show() {
    let data = tempfile::tempdir().expect("temp dir");
    let data_dir = data.path().display().to_string();
    let settings = [("QUERYBOT_DATA_DIR", data_dir.as_str())];
    let (output, _dir) = querybot(&["demo-data"], &settings, "");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("orders:"), "{}", stdout(&output));
    assert!(data.path().join("demo.sqlite").exists());

    let (output, _dir) = querybot(&["catalog", "refresh"], &settings, "");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("default: "),
        "{}",
        stdout(&output)
    );

    let (output, _dir) = querybot(&["catalog", "show"], &settings, "");
    assert!(output.status.success(), "{}", stderr(&output));
    let catalog: Json = serde_json::from_str(&stdout(&output)).expect("catalog JSON");
    let tables = catalog["tables"].as_array().expect("tables");
    assert!(tables.iter().any(|t| t["name"] == "orders"));
}

#[test]
fn a_bad_setting_stops_with_one_line_naming_it() {
    let (output, _dir) = querybot(&["doctor"], &[("QUERYBOT_MAX_ROWS", "lots")], "");
    assert!(!output.status.success());
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("QUERYBOT_MAX_ROWS") && message.contains("lots"),
        "{message}"
    );
}

#[test]
fn an_unreachable_store_is_one_clear_line_without_the_password() {
    let settings = [(
        "DATABASE_URL",
        "postgres://bot:hunter2@127.0.0.1:1/querybot",
    )];
    let (output, _dir) = querybot(&["migrate"], &settings, "");
    assert!(!output.status.success());
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("cannot reach the store"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn doctor_reports_each_connection() {
    let data = tempfile::tempdir().expect("temp dir");
    let data_dir = data.path().display().to_string();
    let settings = [
        ("QUERYBOT_DATA_DIR", data_dir.as_str()),
        (
            "WAREHOUSE_URL",
            "postgres://bot:hunter2@127.0.0.1:1/warehouse",
        ),
    ];
    let (output, _dir) = querybot(&["doctor"], &settings, "");
    assert!(
        !output.status.success(),
        "an unreachable warehouse fails the check"
    );
    let report = stdout(&output);
    assert!(
        report.contains("warehouse `default` (postgres)"),
        "{report}"
    );
    assert!(
        report.contains("FAILED: cannot reach warehouse `default`"),
        "{report}"
    );
    assert!(!report.contains("hunter2"), "{report}");
}
