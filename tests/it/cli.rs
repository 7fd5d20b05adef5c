//! The built binary, run as a user would: exit codes, stdout and one-line errors.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;

use crate::support::db::{PgDatabase, VIEWS_WITH_AND_WITHOUT_BARRIER};
use crate::support::fake_llm::{FakeLlm, sql_reply};
use crate::support::fakesnow::{self, FakeSnowDatabase};
use crate::support::testdata;

/// Runs `querybot` in an empty folder with only the given settings (no `.env`, no TOML).
fn querybot(args: &[&str], settings: &[(&str, &str)], stdin: &str) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = querybot_in(dir.path(), args, settings, stdin);
    (output, dir)
}

/// Runs `querybot` in `dir` with only the given settings.
fn querybot_in(dir: &Path, args: &[&str], settings: &[(&str, &str)], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_querybot"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(settings.iter().copied());
    run_with_stdin(command, stdin)
}

/// Runs `command` with `stdin` written to it, collecting its output.
fn run_with_stdin(mut command: Command, stdin: &str) -> Output {
    let mut child = command
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
    child.wait_with_output().expect("binary finishes")
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
fn guard_refuses_a_deep_chain_on_a_two_megabyte_stack() {
    // `1+1+…+1` up to the size limit once overflowed the stack while its tree was dropped.
    let deep = format!("SELECT {}1", "1+".repeat(32_700));
    let input = format!("{}\n\"SELECT 1 + 1\"\n", Json::String(deep));
    let dir = tempfile::tempdir().expect("temp dir");
    let mut shell = Command::new("sh");
    shell
        .args([
            "-c",
            r#"ulimit -s 2048 && exec "$0" guard --dialect postgres --tables orders"#,
        ])
        .arg(env!("CARGO_BIN_EXE_querybot"))
        .current_dir(dir.path())
        .env_clear();
    let output = run_with_stdin(shell, &input);
    assert!(
        output.status.success(),
        "{:?}: {}",
        output.status,
        stderr(&output)
    );
    let verdicts = verdicts(&output);
    assert_eq!(verdicts.len(), 2, "{}", stdout(&output));
    assert_eq!(verdicts[0]["allowed"], false);
    assert!(
        verdicts[0]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("too long or too deeply nested")),
        "{}",
        verdicts[0]
    );
    assert_eq!(verdicts[1]["allowed"], true);
}

#[tokio::test]
async fn catalog_refresh_names_leaky_views_and_skip_leaves_them_out() {
    let db = PgDatabase::create().await;
    db.run_script(VIEWS_WITH_AND_WITHOUT_BARRIER).await;
    let allow = [("WAREHOUSE_URL", db.url.as_str())];
    let (output, _dir) = querybot(&["catalog", "refresh"], &allow, "");
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    assert!(
        printed.contains("note: view v_plain has neither security_barrier nor security_invoker"),
        "{printed}"
    );
    assert!(!printed.contains("v_barrier"), "{printed}");
    let input = "\"SELECT id FROM v_plain\"\n";
    let (output, _dir) = querybot(&["guard"], &allow, input);
    assert_eq!(verdicts(&output)[0]["allowed"], true, "{}", stderr(&output));

    let skip = [
        ("WAREHOUSE_URL", db.url.as_str()),
        ("QUERYBOT_VIEWS_WITHOUT_BARRIER", "skip"),
    ];
    let (output, _dir) = querybot(&["catalog", "refresh"], &skip, "");
    assert!(
        stdout(&output).contains("it is left out"),
        "{}",
        stdout(&output)
    );
    let (output, _dir) = querybot(&["guard"], &skip, input);
    assert_eq!(
        verdicts(&output)[0]["allowed"],
        false,
        "{}",
        stderr(&output)
    );
}

#[test]
fn config_check_shows_each_value_with_its_source_and_hides_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("querybot.toml"),
        "max_rows = 500\n[llm]\nmodel = \"llama3\"\n[connections.finance]\nurl = \"postgres://bot:hunter2@db/finance\"\n\
         allow = [\"slack:group:S1\"]\n[connections.finance.db_roles]\n\"slack:U2\" = \"fin_reader\"\n\
         [access]\nadmins = [\"slack:U1\"]\n[limits]\nquestions_per_hour = 12\n",
    )
    .expect("toml written");
    std::fs::write(
        dir.path().join(".env"),
        "LLM_API_KEY=sk-very-secret\nQUERYBOT_SUMMARIES=on\n",
    )
    .expect(".env written");
    let settings = [
        ("QUERYBOT_STATEMENT_TIMEOUT", "45"),
        ("DATABASE_URL", "postgres://u:pw-secret@127.0.0.1:1/db"),
    ];
    let output = querybot_in(dir.path(), &["config", "check"], &settings, "");
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    let line = |setting: &str| {
        printed
            .lines()
            .find(|line| line.split_whitespace().next() == Some(setting))
            .unwrap_or_else(|| panic!("no {setting} in {printed}"))
            .to_owned()
    };
    assert!(line("QUERYBOT_STATEMENT_TIMEOUT").ends_with("45 s  (environment)"));
    assert!(line("QUERYBOT_MAX_ROWS").ends_with("500  (TOML)"));
    assert!(line("LLM_MODEL").ends_with("llama3  (TOML)"));
    assert!(line("LLM_API_KEY").ends_with("(set, hidden)  (.env)"));
    assert!(line("QUERYBOT_SUMMARIES").ends_with("on  (.env)"));
    assert!(line("QUERYBOT_PREVIEW_ROWS").ends_with("20  (default)"));
    assert!(line("connections.finance.url").contains("postgres://bot:***@db/finance"));
    assert!(line("access.admins").ends_with("[slack:U1]  (TOML)"));
    assert!(line("QUERYBOT_DEFAULT_ROLE").ends_with("analyst  (default)"));
    assert!(line("QUERYBOT_LIMIT_QUESTIONS").ends_with("12 per hour  (TOML)"));
    assert!(line("connections.finance.allow").ends_with("[slack:group:S1]  (TOML)"));
    assert!(line("connections.finance.db_roles.slack:U2").ends_with("fin_reader  (TOML)"));
    for secret in ["sk-very-secret", "hunter2", "pw-secret"] {
        assert!(!printed.contains(secret), "{printed}");
    }
}

#[test]
fn an_unknown_toml_key_is_named_with_the_closest_known_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (toml, expected) in [
        (
            "max_row = 5\n",
            "querybot.toml line 1: unknown key `max_row`; did you mean `max_rows`?",
        ),
        (
            "[llm]\nmodle = \"x\"\n",
            "querybot.toml line 2: unknown key `modle`; did you mean `model`?",
        ),
        ("zebra = 1\n", "querybot.toml line 1: unknown key `zebra`"),
    ] {
        std::fs::write(dir.path().join("querybot.toml"), toml).expect("toml written");
        let output = querybot_in(dir.path(), &["config", "check"], &[], "");
        assert_eq!(output.status.code(), Some(2));
        let message = stderr(&output);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.trim_end().ends_with(expected), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_asks_the_local_server() {
    let app = crate::support::app::spawn_app(&[]).await;
    let port = app.address.rsplit(':').next().expect("a port").to_owned();
    let listen = format!("0.0.0.0:{port}");
    let output = tokio::task::spawn_blocking(move || {
        querybot(&["health"], &[("QUERYBOT_LISTEN", listen.as_str())], "").0
    })
    .await
    .expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "ok");
    drop(app);

    let listen = format!("127.0.0.1:{}", closed_port());
    let (output, _dir) = querybot(&["health"], &[("QUERYBOT_LISTEN", listen.as_str())], "");
    assert!(!output.status.success());
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
}

/// A port that was free a moment ago, so nothing listens there.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn store_urls_in_every_form_create_the_file_and_its_folders() {
    let dir = tempfile::tempdir().expect("temp dir");
    let absolute = dir.path().join("abs/state/querybot.db");
    let forms = [
        (
            "sqlite:relative/store/state.db".to_owned(),
            dir.path().join("relative/store/state.db"),
        ),
        (
            "sqlite://./dotted/state.db".to_owned(),
            dir.path().join("dotted/state.db"),
        ),
        ("sqlite://plain.db".to_owned(), dir.path().join("plain.db")),
        (
            "sqlite:state:v2.db".to_owned(),
            dir.path().join("state:v2.db"),
        ),
        (format!("sqlite://{}", absolute.display()), absolute.clone()),
        (
            format!("sqlite:{}?mode=rwc", dir.path().join("q.db").display()),
            dir.path().join("q.db"),
        ),
    ];
    for (url, file) in forms {
        let output = querybot_in(dir.path(), &["migrate"], &[("DATABASE_URL", &url)], "");
        assert!(output.status.success(), "{url}: {}", stderr(&output));
        assert!(file.is_file(), "{url} did not create {}", file.display());
        // A second start opens the same file rather than failing or starting afresh.
        let output = querybot_in(dir.path(), &["migrate"], &[("DATABASE_URL", &url)], "");
        assert!(output.status.success(), "{url} again: {}", stderr(&output));
    }
}

#[test]
fn an_in_memory_store_works_for_a_one_off_command() {
    let (output, _dir) = querybot(&["migrate"], &[("DATABASE_URL", "sqlite::memory:")], "");
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn an_unwritable_store_location_is_named_with_its_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("not-a-folder"), "x").expect("file written");
    let url = "sqlite://not-a-folder/state.db";
    let output = querybot_in(dir.path(), &["migrate"], &[("DATABASE_URL", url)], "");
    assert!(!output.status.success());
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("cannot open the store file not-a-folder/state.db")
            && message.contains("not a folder"),
        "{message}"
    );
    assert!(!message.contains("code: 14"), "{message}");
}

#[test]
fn warehouse_urls_in_every_form_open_an_existing_file_and_name_a_missing_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = querybot_in(
        dir.path(),
        &["demo-data", "--path", "wh/shop.sqlite"],
        &[],
        "",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let absolute = dir.path().join("wh/shop.sqlite");
    for url in [
        "sqlite:wh/shop.sqlite".to_owned(),
        "sqlite://./wh/shop.sqlite".to_owned(),
        "sqlite://wh/shop.sqlite".to_owned(),
        format!("sqlite://{}", absolute.display()),
    ] {
        let output = querybot_in(
            dir.path(),
            &["catalog", "refresh"],
            &[("WAREHOUSE_URL", &url)],
            "",
        );
        assert!(output.status.success(), "{url}: {}", stderr(&output));
        assert!(
            stdout(&output).starts_with("default: "),
            "{url}: {}",
            stdout(&output)
        );
    }

    let settings = [("WAREHOUSE_URL", "sqlite://wh/missing.sqlite")];
    let output = querybot_in(dir.path(), &["catalog", "refresh"], &settings, "");
    assert!(!output.status.success());
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("wh/missing.sqlite") && message.contains("does not exist"),
        "{message}"
    );
    assert!(
        !dir.path().join("wh/missing.sqlite").exists(),
        "a warehouse file is never created"
    );
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

/// Settings for the binary pointing at a fake LLM, with its own data folder.
fn llm_settings(llm: &FakeLlm, data: &tempfile::TempDir) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = llm
        .settings()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    settings.push((
        "QUERYBOT_DATA_DIR".into(),
        data.path().display().to_string(),
    ));
    settings
}

fn as_refs(settings: &[(String, String)]) -> Vec<(&str, &str)> {
    settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_prints_the_sql_and_runs_only_with_yes() {
    let llm = FakeLlm::start().await;
    let sql = "SELECT c.name AS category, count(*) AS products FROM products p \
               JOIN categories c ON c.category_id = p.category_id GROUP BY c.name ORDER BY 2 DESC";
    llm.respond_with(move |_| sql_reply(sql, "Products per category."));
    let data = tempfile::tempdir().expect("temp dir");
    let settings = llm_settings(&llm, &data);

    let (output, _dir) = querybot(&["ask", "products per category"], &as_refs(&settings), "");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("GROUP BY"), "{}", stdout(&output));
    assert!(stdout(&output).contains("--yes"));

    let out = data.path().join("answer");
    let out_arg = out.display().to_string();
    let (output, _dir) = querybot(
        &[
            "ask",
            "products per category",
            "--yes",
            "--json",
            "--out",
            &out_arg,
        ],
        &as_refs(&settings),
        "",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let answer: Json = serde_json::from_str(stdout(&output).trim()).expect("one JSON object");
    assert_eq!(
        answer["columns"],
        serde_json::json!(["category", "products"])
    );
    assert_eq!(answer["total_rows"], 8);
    assert_eq!(answer["chart"]["kind"], "bar");
    assert!(out.join("chart.png").exists() && out.join("result.csv").exists());
    assert_eq!(answer["csv"], out.join("result.csv").display().to_string());
    let conversation = answer["conversation"]
        .as_str()
        .expect("conversation id")
        .to_owned();

    let (output, _dir) = querybot(
        &[
            "ask",
            "only the top three",
            "--json",
            "--conversation",
            &conversation,
        ],
        &as_refs(&settings),
        "",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let follow_up: Json = serde_json::from_str(stdout(&output).trim()).expect("JSON");
    assert_eq!(follow_up["conversation"], conversation.as_str());
    let last = llm.requests().pop().expect("a request");
    assert!(
        last.text().contains("products per category"),
        "the thread is replayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_reports_an_unreachable_llm_in_one_sentence() {
    let data = tempfile::tempdir().expect("temp dir");
    let data_dir = data.path().display().to_string();
    // Default retries and log level: a refused connection is not retried, and a person
    // sees the one sentence, not log lines.
    let settings = [
        ("QUERYBOT_DATA_DIR", data_dir.as_str()),
        ("LLM_BASE_URL", "http://127.0.0.1:1/v1"),
    ];
    let (output, _dir) = querybot(&["ask", "how many orders?"], &settings, "");
    assert!(!output.status.success());
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with("No LLM answered at http://127.0.0.1:1/v1: start Ollama there"),
        "{message}"
    );

    // -v shows the log again.
    let (output, _dir) = querybot(&["ask", "-v", "how many orders?"], &settings, "");
    let message = stderr(&output);
    assert!(message.contains(" INFO "), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_asks_before_running_and_follows_up() {
    let llm = FakeLlm::start().await;
    llm.script([
        sql_reply(
            "SELECT count(*) AS customers FROM customers",
            "Counts customers.",
        ),
        sql_reply(
            "SELECT count(*) AS customers FROM customers WHERE segment = 'corporate'",
            "Corporate only.",
        ),
        sql_reply("SELECT count(*) AS orders FROM orders", "Counts orders."),
    ]);
    let data = tempfile::tempdir().expect("temp dir");
    let settings = llm_settings(&llm, &data);
    let input =
        "how many customers?\ny\nonly corporate ones\nn\n/new\nhow many orders?\ny\n/quit\n";
    let (output, _dir) = querybot(&["chat"], &as_refs(&settings), input);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert_eq!(
        text.matches("Run? [y]es / [e]dit / [n]o").count(),
        3,
        "{text}"
    );
    assert!(text.contains("1200"), "customers are counted: {text}");
    assert!(text.contains("Cancelled; nothing was run."), "{text}");
    let requests = llm.requests();
    assert!(
        requests[1].text().contains("how many customers?"),
        "a follow-up replays the thread"
    );
    assert!(
        !requests[2].text().contains("how many customers?"),
        "/new starts over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_reports_execution_accuracy() {
    let llm = FakeLlm::start().await;
    llm.respond_with(|request| {
        let question = request["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned();
        let sql = if question.starts_with("How many customers") {
            "SELECT count(*) AS customers FROM customers"
        } else if question.starts_with("How many products") {
            "SELECT c.name AS category, count(p.product_id) AS products FROM categories c \
             JOIN products p ON p.category_id = c.category_id GROUP BY c.name ORDER BY 2 DESC"
        } else if question.starts_with("How many orders were refunded") {
            "SELECT count(*) FROM orders WHERE status = 'refunded'"
        } else {
            "SELECT code FROM regions"
        };
        sql_reply(sql, "Answers the question.")
    });
    let data = tempfile::tempdir().expect("temp dir");
    let settings = llm_settings(&llm, &data);
    let questions = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/data/demo_questions.csv"
    );
    let (output, _dir) = querybot(&["eval", "--questions", questions], &as_refs(&settings), "");
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stdout(&output);
    assert!(
        report.contains("execution accuracy: 3/4 (75.0%)"),
        "{report}"
    );
    assert!(
        report.contains("FAIL 4 List the regions. — different result"),
        "{report}"
    );
    assert!(
        report.contains("skip 5 What is nope? — gold SQL failed here"),
        "{report}"
    );
    let refunded = llm
        .requests()
        .iter()
        .any(|r| r.text().contains("status 'refunded'"));
    assert!(refunded, "the corpus's instructions go with the question");
}

/// `querybot eval` on a Snowflake connection: both the gold and the drafted SQL run in
/// Snowflake (fakesnow), and the report grades them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_runs_against_a_snowflake_connection() {
    let Some(api_url) = fakesnow::url() else {
        return;
    };
    let db = FakeSnowDatabase::create(&api_url).await;
    db.run_script(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, country TEXT); \
         INSERT INTO customers VALUES (1, 'Ada', 'DE'), (2, 'Bo', 'FR'), (3, 'Cy', 'DE')",
    )
    .await;
    let llm = FakeLlm::start().await;
    llm.respond_with(|request| {
        let asked = request["messages"].to_string();
        let sql = if asked.contains("How many customers") {
            "SELECT count(*) AS n FROM customers"
        } else {
            // Wrong on purpose: every customer, not only those in Germany.
            "SELECT name FROM customers"
        };
        sql_reply(sql, "Answers the question.")
    });
    let data = tempfile::tempdir().expect("temp dir");
    let questions = data.path().join("questions.csv");
    std::fs::write(
        &questions,
        "db_name,db_type,query_category,query,question,instructions\n\
         shop,snowflake,count,SELECT count(*) FROM customers,How many customers are there?,\n\
         shop,snowflake,where,\"SELECT name FROM customers WHERE country = 'DE'\",Which customers are in Germany?,\n",
    )
    .expect("questions");
    let mut settings = llm_settings(&llm, &data);
    settings.push(("WAREHOUSE_URL".into(), db.warehouse_url()));
    settings.push(("SNOWFLAKE_API_URL".into(), api_url.clone()));
    let questions = questions.display().to_string();
    let (output, _dir) = querybot(
        &["eval", "--questions", &questions],
        &as_refs(&settings),
        "",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stdout(&output);
    assert!(
        report.contains("execution accuracy: 1/2 (50.0%)"),
        "{report}"
    );
    assert!(
        report.contains("FAIL 2 Which customers are in Germany?"),
        "{report}"
    );
}

/// The team commands on one store: history and usage of two questions, the audit export in
/// both formats, and verified queries imported, listed, exported as YAML and removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_records_are_listed_exported_and_managed_from_the_terminal() {
    let llm = FakeLlm::start().await;
    llm.respond_with(|_| sql_reply("SELECT count(*) AS n FROM orders", "Counts orders."));
    let data = tempfile::tempdir().expect("temp dir");
    let settings = llm_settings(&llm, &data);
    let settings = as_refs(&settings);
    for question in ["how many orders?", "and customers?"] {
        let (output, _dir) = querybot(&["ask", question, "--yes"], &settings, "");
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let run = |args: &[&str]| {
        let (output, _dir) = querybot(args, &settings, "");
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    };
    let history = run(&["history", "--user", "console"]);
    assert_eq!(history.lines().count(), 2, "{history}");
    assert!(
        history
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with("and customers?"),
        "{history}"
    );
    assert!(history.contains("[done · 1 rows]"), "{history}");
    let usage = run(&["usage"]);
    assert!(usage.contains("default  console"), "{usage}");

    let today = chrono::Utc::now().date_naive().to_string();
    let jsonl = run(&["audit", "export", "--since", &today]);
    let records: Vec<Json> = jsonl
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    let kinds: Vec<&str> = records.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "asked").count(),
        2,
        "{jsonl}"
    );
    assert_eq!(kinds.iter().filter(|k| **k == "ran").count(), 2, "{jsonl}");
    let ran = records.iter().find(|r| r["kind"] == "ran").expect("a run");
    assert_eq!(ran["outcome"], "ok");
    assert_eq!(ran["rows"], 1);
    let csv = run(&["audit", "export", "--since", &today, "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(reader.records().count(), records.len(), "{csv}");

    let yaml = data.path().join("verified.yaml");
    std::fs::write(
        &yaml,
        "- question: how many orders?\n  sql: SELECT count(*) AS n FROM orders\n\
         - question: orders, again\n  sql: select COUNT(*) as n\n    from orders\n",
    )
    .expect("yaml");
    let yaml = yaml.display().to_string();
    let imported = run(&["examples", "import", &yaml]);
    assert!(
        imported.contains("Imported 1 verified queries"),
        "{imported}"
    );
    assert!(imported.contains("1 were there already"), "{imported}");
    let listed = run(&["examples", "list"]);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    let exported = run(&["examples", "export"]);
    let pairs: Vec<Json> = serde_yaml_ng::from_str(&exported).expect("the YAML examples read");
    assert_eq!(pairs[0]["sql"], "SELECT count(*) AS n FROM orders");
    let id = listed.split_whitespace().next().expect("an id").to_owned();
    assert!(run(&["examples", "remove", &id]).contains("Removed"));
    assert!(run(&["examples", "list"]).contains("No verified queries yet."));
}

/// `eval --verified` grades the team's verified queries, each drafted without its own pair
/// among the examples the model sees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_on_verified_queries_holds_each_one_out() {
    let llm = FakeLlm::start().await;
    llm.respond_with(|request| {
        let asked = request["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned();
        let sql = if asked.contains("How many orders") {
            "SELECT count(*) AS n FROM orders"
        } else {
            "SELECT count(*) AS c FROM products"
        };
        sql_reply(sql, "Counts.")
    });
    let data = tempfile::tempdir().expect("temp dir");
    let settings = llm_settings(&llm, &data);
    let settings = as_refs(&settings);
    let yaml = data.path().join("verified.yaml");
    std::fs::write(
        &yaml,
        "- question: How many orders are there?\n  sql: SELECT count(*) AS n FROM orders\n\
         - question: How many customers are there?\n  sql: SELECT count(*) AS c FROM customers\n",
    )
    .expect("yaml");
    let yaml = yaml.display().to_string();
    let (output, _dir) = querybot(&["examples", "import", &yaml], &settings, "");
    assert!(output.status.success(), "{}", stderr(&output));
    let (output, _dir) = querybot(&["eval", "--verified"], &settings, "");
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stdout(&output);
    assert!(
        report.contains("execution accuracy: 1/2 (50.0%)"),
        "{report}"
    );
    for request in llm.requests() {
        let text = request.text();
        let asked = request.body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .map(|m| m["content"].to_string())
            .unwrap_or_default();
        let own = if asked.contains("How many orders") {
            "AS n FROM orders"
        } else {
            "AS c FROM customers"
        };
        assert!(!text.contains(own), "its own pair is held out: {text}");
    }
}
