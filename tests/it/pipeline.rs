//! Question to answer through the real Bot: a fake LLM over HTTP, real SQLite and PostgreSQL
//! warehouses, files on disk.

use std::time::Duration;

use querybot::bot::{Person, Question};
use querybot::pipeline::{Answer, RunOptions};
use querybot::present::ChartKind;
use querybot::store::{ConversationKey, Draft, DraftState, Platform, UserId};

use crate::support::app::{TestBot, test_bot};
use crate::support::db::PgDatabase;
use crate::support::fake_llm::{FakeLlm, Step, sql_reply};
use crate::support::testdata;

const MONTHLY_2024: &str = "SELECT strftime('%Y-%m', order_date) AS month, count(*) AS orders \
     FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01' \
     GROUP BY 1 ORDER BY 1";

fn ask(question: &str, thread: &str) -> Question {
    Question {
        conversation: ConversationKey {
            platform: Platform::Slack,
            workspace: "T1".into(),
            channel: "C1".into(),
            thread: thread.into(),
        },
        by: asker(),
        connection: "default".into(),
        text: question.into(),
    }
}

fn asker() -> Person {
    Person::new(UserId::new("slack:T1:U1"))
}

async fn drafted(bot: &TestBot, question: &str, thread: &str) -> Draft {
    match bot.bot.ask(&ask(question, thread)).await {
        Ok(draft) => draft,
        Err(failure) => panic!("expected a draft, got {failure:?}"),
    }
}

async fn answered(bot: &TestBot, draft: &Draft) -> Answer {
    match bot
        .bot
        .run(draft.id, &asker(), &RunOptions::default())
        .await
    {
        Ok(answer) => answer,
        Err(failure) => panic!("expected an answer, got {failure:?}"),
    }
}

fn failure_message<T: std::fmt::Debug>(outcome: Result<T, querybot::bot::Failure>) -> String {
    match outcome {
        Err(failure) => failure.user_message,
        Ok(other) => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_question_becomes_a_draft_then_a_table_chart_and_csv() {
    let llm = FakeLlm::start().await;
    llm.script([sql_reply(MONTHLY_2024, "Counts orders per month in 2024.")]);
    let bot = test_bot(&llm, &[]).await;

    let draft = drafted(&bot, "How many orders per month in 2024?", "t1").await;
    assert_eq!(draft.state, DraftState::Pending);
    assert!(draft.sql.contains("strftime"));
    assert_eq!(
        draft.explanation.as_deref(),
        Some("Counts orders per month in 2024.")
    );
    assert_eq!(draft.repair_rounds, 0);
    assert!(draft.prompt_tokens > 0);

    let request = &llm.requests()[0];
    assert_eq!(request.authorization.as_deref(), Some("Bearer test-key"));
    let prompt = request.text();
    assert!(
        prompt.contains("orders") && prompt.contains("SQLite"),
        "schema and dialect in the prompt"
    );
    assert!(prompt.contains("How many orders per month in 2024?"));

    let answer = answered(&bot, &draft).await;
    assert_eq!(answer.row_count, 12);
    assert_eq!(answer.preview.rows.len(), 12);
    assert_eq!(answer.preview.rows[0][0].to_string(), "2024-01");
    let chart = answer
        .chart
        .as_ref()
        .expect("months and counts make a chart");
    assert_eq!(chart.kind, ChartKind::Line);
    let decoder = png::Decoder::new(std::io::Cursor::new(
        std::fs::read(&chart.path).expect("chart file"),
    ));
    let info = decoder.read_info().expect("a PNG").info().clone();
    assert!(info.width >= 600 && info.height >= 300);
    let csv = std::fs::read_to_string(&answer.csv).expect("csv file");
    assert_eq!(csv.lines().count(), 13, "header and twelve months");
    assert!(csv.starts_with("month,orders"));

    assert_eq!(
        llm.requests().len(),
        1,
        "no result data goes back to the LLM"
    );
    let runs = bot.app.store.recent_runs(1).await.expect("runs");
    assert_eq!(runs[0].record.row_count, Some(12));
    assert!(runs[0].record.prompt_tokens.is_some_and(|t| t > 0));
    let stored = bot
        .app
        .store
        .draft(draft.id)
        .await
        .expect("read")
        .expect("draft");
    assert_eq!(stored.state, DraftState::Done);
}

#[tokio::test]
async fn postgres_answers_a_category_question_with_a_bar_chart() {
    let db = PgDatabase::create().await;
    db.run_script(&std::fs::read_to_string(testdata("guard/fixture.sql")).expect("fixture"))
        .await;
    let llm = FakeLlm::start().await;
    llm.script([sql_reply(
        "SELECT status, sum(amount) AS revenue FROM orders GROUP BY status ORDER BY revenue DESC",
        "Revenue by order status.",
    )]);
    let bot = test_bot(&llm, &[("WAREHOUSE_URL", db.url.as_str())]).await;
    let draft = drafted(&bot, "revenue by status", "t1").await;
    assert!(
        draft.estimated_rows.is_some(),
        "PostgreSQL's planner estimates rows"
    );
    assert!(llm.requests()[0].text().contains("PostgreSQL"));
    let answer = answered(&bot, &draft).await;
    assert_eq!(answer.row_count, 3);
    assert_eq!(answer.chart.as_ref().map(|c| c.kind), Some(ChartKind::Bar));
}

#[tokio::test]
async fn a_follow_up_in_the_thread_edits_the_previous_query() {
    let llm = FakeLlm::start().await;
    let narrowed = "SELECT strftime('%Y-%m', o.order_date) AS month, count(*) AS orders \
         FROM orders o JOIN customers c ON c.customer_id = o.customer_id \
         JOIN regions r ON r.region_id = c.region_id \
         WHERE r.name = 'Europe' AND o.order_date >= '2024-01-01' AND o.order_date < '2025-01-01' \
         GROUP BY 1 ORDER BY 1";
    llm.script([
        sql_reply(MONTHLY_2024, "Orders per month in 2024."),
        sql_reply(narrowed, "Orders per month in 2024, Europe only."),
    ]);
    let bot = test_bot(&llm, &[]).await;
    let first = drafted(&bot, "How many orders per month in 2024?", "thread-9").await;
    let first_answer = answered(&bot, &first).await;
    let second = drafted(&bot, "now only for Europe", "thread-9").await;
    assert_eq!(second.conversation, first.conversation);

    let follow_up = &llm.requests()[1];
    let messages = follow_up.body["messages"].as_array().expect("messages");
    let replayed = messages.iter().any(|m| {
        m["role"] == "assistant"
            && m["content"]
                .as_str()
                .is_some_and(|c| c.contains("strftime"))
    });
    assert!(replayed, "the previous SQL is part of the follow-up prompt");
    assert!(
        follow_up
            .text()
            .contains("How many orders per month in 2024?")
    );
    assert_eq!(follow_up.last_user_message(), "now only for Europe");

    let second_answer = answered(&bot, &second).await;
    let total = |answer: &Answer| -> i64 {
        answer
            .preview
            .rows
            .iter()
            .map(|r| r[1].as_f64().unwrap_or(0.0) as i64)
            .sum()
    };
    assert!(
        total(&second_answer) < total(&first_answer),
        "Europe is a part of all orders"
    );

    llm.script([sql_reply(MONTHLY_2024, "Orders per month.")]);
    let other = drafted(&bot, "How many orders per month in 2024?", "another").await;
    assert_ne!(other.conversation, first.conversation);
}

#[tokio::test]
async fn sql_naming_a_missing_column_is_repaired() {
    let llm = FakeLlm::start().await;
    llm.script([
        sql_reply(
            "SELECT sum(total_amount) AS revenue FROM orders",
            "Total revenue.",
        ),
        sql_reply(
            "SELECT sum(net_amount) AS revenue FROM order_totals",
            "Total revenue.",
        ),
    ]);
    let bot = test_bot(&llm, &[]).await;
    let draft = drafted(&bot, "total revenue", "t1").await;
    assert_eq!(draft.repair_rounds, 1);
    assert!(draft.sql.contains("net_amount"));
    let repair = llm.requests()[1].last_user_message();
    assert!(
        repair.contains("total_amount"),
        "the database's complaint goes back: {repair}"
    );
}

#[tokio::test]
async fn prose_around_the_sql_is_accepted() {
    let llm = FakeLlm::start().await;
    llm.script([Step::Reply(
        "Sure! Here is the query you need:\nSELECT count(*) AS customers FROM customers;\nIt counts every customer."
            .into(),
    )]);
    let bot = test_bot(&llm, &[]).await;
    let draft = drafted(&bot, "how many customers?", "t1").await;
    assert!(draft.sql.to_lowercase().contains("count(*)"));
    let answer = answered(&bot, &draft).await;
    assert_eq!(answer.row_count, 1);
    assert!(answer.chart.is_none(), "a single value makes no chart");
}

#[tokio::test]
async fn sql_that_stays_unsafe_is_refused_after_the_repair_rounds() {
    let llm = FakeLlm::start().await;
    llm.respond_with(|_| sql_reply("DELETE FROM orders", "Removes the orders."));
    let bot = test_bot(&llm, &[("LLM_REPAIR_ROUNDS", "2")]).await;
    let message = failure_message(bot.bot.ask(&ask("delete all orders", "t1")).await);
    assert!(
        message.starts_with("I couldn't write a valid read-only query"),
        "{message}"
    );
    assert_eq!(llm.requests().len(), 3, "one attempt and two repairs");
    let conversation = bot
        .app
        .store
        .conversation(&ask("", "t1").conversation)
        .await
        .expect("conversation");
    let turns = bot.app.store.turns(conversation, 5).await.expect("turns");
    assert_eq!(turns.len(), 1);
    assert!(
        turns[0]
            .failure
            .as_deref()
            .is_some_and(|f| f.contains("repair")),
        "{turns:?}"
    );
}

#[tokio::test]
async fn an_unanswerable_question_says_why() {
    let llm = FakeLlm::start().await;
    llm.script([Step::Reply(
        "CANNOT: the database has no weather data.".into(),
    )]);
    let bot = test_bot(&llm, &[]).await;
    let message = failure_message(bot.bot.ask(&ask("will it rain tomorrow?", "t1")).await);
    assert!(message.contains("no weather data"), "{message}");
}

#[tokio::test]
async fn an_llm_that_keeps_failing_is_retried_then_reported() {
    let llm = FakeLlm::start().await;
    llm.script([
        Step::Status(500, None),
        Step::Status(503, None),
        Step::Status(500, None),
    ]);
    let bot = test_bot(&llm, &[]).await;
    let message = failure_message(bot.bot.ask(&ask("orders per month", "t1")).await);
    assert!(
        message.contains("failed with a server error (500)"),
        "{message}"
    );
    assert!(message.contains(&llm.base_url), "says which LLM: {message}");
    assert_eq!(llm.requests().len(), 3, "the first try and two retries");
}

#[tokio::test]
async fn a_rate_limited_llm_is_waited_for() {
    let llm = FakeLlm::start().await;
    llm.script([
        Step::Status(429, Some(1)),
        sql_reply(MONTHLY_2024, "Orders per month."),
    ]);
    let bot = test_bot(&llm, &[]).await;
    drafted(&bot, "orders per month in 2024", "t1").await;
    let requests = llm.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[1].at - requests[0].at >= Duration::from_millis(900),
        "Retry-After is honoured"
    );
}

#[tokio::test]
async fn an_llm_that_hangs_times_out_with_a_clear_message() {
    let llm = FakeLlm::start().await;
    llm.respond_with(|_| Step::Hang(Duration::from_secs(5)));
    let bot = test_bot(&llm, &[("LLM_TIMEOUT", "1"), ("LLM_MAX_RETRIES", "1")]).await;
    let message = failure_message(bot.bot.ask(&ask("orders per month", "t1")).await);
    assert!(message.contains("did not answer in time"), "{message}");
}

#[tokio::test]
async fn an_empty_question_never_reaches_the_llm() {
    let llm = FakeLlm::start().await;
    let bot = test_bot(&llm, &[]).await;
    let message = failure_message(bot.bot.ask(&ask("   ", "t1")).await);
    assert!(message.starts_with("Ask a question"), "{message}");
    assert!(llm.requests().is_empty());
}

#[tokio::test]
async fn a_draft_runs_once_and_only_for_its_author() {
    let llm = FakeLlm::start().await;
    llm.script([sql_reply(MONTHLY_2024, "Orders per month.")]);
    let bot = test_bot(&llm, &[]).await;
    let draft = drafted(&bot, "orders per month in 2024", "t1").await;

    let stranger = Person::new(UserId::new("slack:T1:U2"));
    let message = failure_message(
        bot.bot
            .run(draft.id, &stranger, &RunOptions::default())
            .await,
    );
    assert!(
        message.starts_with("Only the person who asked"),
        "{message}"
    );

    let (user, options) = (asker(), RunOptions::default());
    let (first, second) = tokio::join!(
        bot.bot.run(draft.id, &user, &options),
        bot.bot.run(draft.id, &user, &options),
    );
    let answers = [&first, &second].iter().filter(|r| r.is_ok()).count();
    assert_eq!(answers, 1, "two clicks run the query once");
    assert_eq!(bot.app.store.recent_runs(10).await.expect("runs").len(), 1);
}

#[tokio::test]
async fn an_edit_is_guarded_and_a_cancel_is_final() {
    let llm = FakeLlm::start().await;
    llm.script([sql_reply(MONTHLY_2024, "Orders per month.")]);
    let bot = test_bot(&llm, &[]).await;
    let draft = drafted(&bot, "orders per month in 2024", "t1").await;

    let rejected = bot
        .bot
        .edit(draft.id, &asker(), "DROP TABLE orders")
        .await
        .expect_err("unsafe");
    assert!(
        rejected.user_message.contains("Edit the SQL"),
        "{}",
        rejected.user_message
    );
    let edited = bot
        .bot
        .edit(draft.id, &asker(), "SELECT count(*) AS n FROM orders")
        .await
        .expect("a safe edit is accepted");
    assert!(edited.sql.contains("count(*)"));

    let cancelled = bot.bot.cancel(draft.id, &asker()).await.expect("cancelled");
    assert_eq!(cancelled.state, DraftState::Cancelled);
    let message = failure_message(
        bot.bot
            .run(draft.id, &asker(), &RunOptions::default())
            .await,
    );
    assert!(message.contains("cancelled"), "{message}");
}

#[tokio::test]
async fn a_slow_query_is_stopped_and_explained() {
    let llm = FakeLlm::start().await;
    llm.script([sql_reply(
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
        "Counts forever.",
    )]);
    let bot = test_bot(&llm, &[("QUERYBOT_STATEMENT_TIMEOUT", "1")]).await;
    let draft = drafted(&bot, "count to infinity", "t1").await;
    let message = failure_message(
        bot.bot
            .run(draft.id, &asker(), &RunOptions::default())
            .await,
    );
    assert!(
        message.starts_with("The query ran longer than 1 second and"),
        "{message}"
    );
    let runs = bot.app.store.recent_runs(1).await.expect("runs");
    assert!(
        runs[0]
            .record
            .error
            .as_deref()
            .is_some_and(|e| e.contains("longer than"))
    );
    let stored = bot
        .app
        .store
        .draft(draft.id)
        .await
        .expect("read")
        .expect("draft");
    assert_eq!(stored.state, DraftState::Failed);
}

#[tokio::test]
async fn summaries_are_off_unless_enabled_and_then_see_only_the_preview() {
    let llm = FakeLlm::start().await;
    llm.script([
        sql_reply(
            "SELECT name AS region FROM regions ORDER BY name",
            "Lists the regions.",
        ),
        Step::Reply("There are five regions, from Asia Pacific to North America.".into()),
    ]);
    let bot = test_bot(&llm, &[("QUERYBOT_SUMMARIES", "on")]).await;
    let draft = drafted(&bot, "list the regions", "t1").await;
    let answer = answered(&bot, &draft).await;
    assert_eq!(
        answer.summary.as_deref(),
        Some("There are five regions, from Asia Pacific to North America.")
    );
    let summary_request = &llm.requests()[1];
    assert!(
        summary_request.text().contains("Europe"),
        "the preview is what gets summarised"
    );
    let runs = bot.app.store.recent_runs(1).await.expect("runs");
    assert!(
        runs[0].record.completion_tokens > Some(draft.completion_tokens),
        "summary tokens count"
    );
}

#[tokio::test]
async fn a_data_error_never_quotes_rows_a_view_hides() {
    let db = PgDatabase::create().await;
    db.run_script(
        "CREATE TABLE accounts (id int PRIMARY KEY, owner text, tier text); \
         INSERT INTO accounts SELECT n, 'owner' || n, CASE WHEN n = 8 THEN 'internal' ELSE 'public' END \
         FROM generate_series(1, 10) AS n; \
         CREATE FUNCTION visible(tier text) RETURNS bool LANGUAGE plpgsql COST 10000 \
           AS $$ BEGIN RETURN tier <> 'internal'; END $$; \
         CREATE VIEW v_visible AS SELECT id, owner, tier FROM accounts WHERE visible(tier);",
    )
    .await;
    let reader = db
        .role("viewer", "GRANT SELECT ON v_visible TO {role};")
        .await;
    // The view lacks security_barrier, so PostgreSQL evaluates this cheaper WHERE before the
    // view's costly filter, on the row the view hides; the failing cast quotes that row.
    let leaking = "SELECT id FROM v_visible WHERE CASE WHEN id = 8 THEN CAST(owner || ' ' || tier AS int) ELSE 0 END = 1";
    let llm = FakeLlm::start().await;
    llm.script([sql_reply(leaking, "Looks for one account.")]);
    let bot = test_bot(&llm, &[("WAREHOUSE_URL", reader.as_str())]).await;
    let draft = drafted(&bot, "which account is number one?", "t1").await;
    let message = failure_message(
        bot.bot
            .run(draft.id, &asker(), &RunOptions::default())
            .await,
    );
    assert!(!message.contains("owner8"), "{message}");
    assert!(
        message.contains("a value in the data could not be converted or computed"),
        "{message}"
    );
    // The leak is real (the hidden row is in the database's text), and the operator still
    // sees it in the run's record.
    let runs = bot.app.store.recent_runs(1).await.expect("runs");
    let error = runs[0].record.error.as_deref().unwrap_or_default();
    assert!(error.contains("\"owner8 internal\""), "{error}");
}

#[test]
fn a_statement_too_deep_for_the_stack_is_refused_on_a_serving_runtime() {
    // The runtime `serve` runs on: multi-threaded, 2 MiB worker stacks.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(2 * 1024 * 1024)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let llm = FakeLlm::start().await;
        let deep = format!("SELECT {}1", "1+".repeat(32_700));
        llm.respond_with(move |_| sql_reply(&deep, "Adds up."));
        let bot = test_bot(&llm, &[("LLM_REPAIR_ROUNDS", "1")]).await;
        let bot = std::sync::Arc::new(bot);
        let worker = bot.clone();
        let outcome = tokio::spawn(async move { worker.bot.ask(&ask("add it up", "t1")).await })
            .await
            .expect("the worker survived");
        let message = failure_message(outcome);
        assert!(
            message.contains("too long or too deeply nested"),
            "{message}"
        );
        // And the process still answers.
        llm.respond_with(|_| sql_reply(MONTHLY_2024, "Counts orders per month in 2024."));
        drafted(&bot, "orders per month", "t2").await;
    });
}

/// The linking index (and the guard's policy) of a catalog is built once per catalog version:
/// questions reuse it, and a refresh (on any replica: the store's version changes) rebuilds it.
#[tokio::test]
async fn the_linking_index_is_kept_until_the_catalog_is_refreshed() {
    let llm = FakeLlm::start().await;
    let bot = test_bot(&llm, &[]).await;
    let pipeline = bot.bot.pipeline();
    let warehouse = pipeline
        .warehouses()
        .get("default")
        .expect("the default connection")
        .clone();
    let max_age = Duration::from_secs(3600);
    let known = |pipeline: &querybot::pipeline::Pipeline| {
        let warehouse = warehouse.clone();
        let pipeline = pipeline.clone();
        async move {
            pipeline
                .usable_catalog(warehouse.as_ref(), None, max_age)
                .await
                .expect("catalog")
        }
    };
    let first = known(pipeline).await;
    let second = known(pipeline).await;
    assert!(
        std::sync::Arc::ptr_eq(&first, &second),
        "the second question reuses the index"
    );
    assert!(first.catalog().tables.iter().any(|t| t.name == "orders"));
    // A refresh, as `catalog refresh` or `/ask admin refresh` does it, by another process:
    // only the stored version tells.
    tokio::time::sleep(Duration::from_millis(5)).await;
    querybot::pipeline::catalog::refresh(pipeline.store(), warehouse.as_ref(), None)
        .await
        .expect("refresh");
    let third = known(pipeline).await;
    assert!(
        !std::sync::Arc::ptr_eq(&second, &third),
        "a refreshed catalog gets a new index"
    );
    assert!(third.version > second.version);
    assert!(std::sync::Arc::ptr_eq(&third, &known(pipeline).await));
}
