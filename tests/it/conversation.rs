//! The conversation every chat surface must hold, written once and told on each surface
//! against its own fake platform: ask -> draft -> Run -> answer with table, chart and CSV in
//! the thread; follow-ups remember; one run however many clicks; strangers run nothing;
//! Cancel; Edit; Stop, also from another replica; 429s; repeated deliveries, also across
//! replicas sharing a store.

use std::time::{Duration, Instant};

use crate::support::chat::{self, Action, Chat, Who, on_every_surface};
use crate::support::db::PgDatabase;
use crate::support::fake_llm::sql_reply;

const MONTHLY_2024: &str = "SELECT strftime('%Y-%m', order_date) AS month, count(*) AS orders \
     FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01' \
     GROUP BY 1 ORDER BY 1";
const COUNT: &str = "SELECT count(*) AS orders FROM orders";

on_every_surface!(
    ask_draft_run_answers_in_the_thread_with_table_chart_and_csv,
    a_follow_up_continues_with_the_previous_sql_in_mind,
    two_clicks_run_once,
    a_strangers_click_runs_nothing_and_is_told_privately,
    cancel_closes_the_draft,
    edit_refuses_a_write_and_saves_a_valid_query,
    a_rate_limited_post_waits_for_the_platform_and_goes_through,
    one_event_delivered_four_times_is_answered_once,
    a_run_cut_off_by_shutdown_is_runnable_again_and_the_thread_is_told,
    stop_cancels_the_run_and_offers_the_draft_again,
    a_thumbs_up_verifies_the_answer_and_a_thumbs_down_says_why,
);

async fn ask_draft_run_answers_in_the_thread_with_table_chart_and_csv(chat: &mut dyn Chat) {
    chat.llm()
        .script([sql_reply(MONTHLY_2024, "Counts orders per month in 2024.")]);
    let drafted = chat.ask("how many orders per month in 2024?").await;
    let shown = chat.draft_text(&drafted, 1).await;
    assert!(shown.contains("strftime"), "the SQL is shown: {shown}");
    assert!(shown.contains("Counts orders per month"), "{shown}");

    chat.click(Who::Asker, &drafted, Action::Run).await;
    let answer = chat.answer(&drafted, 1).await;
    assert!(
        answer.text.contains("2024-01"),
        "the table: {}",
        answer.text
    );
    assert!(answer.text.contains("12 rows"), "{}", answer.text);
    let names: Vec<&str> = answer.files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["chart.png", "result.csv"]);
    assert!(answer.files[0].1.starts_with(b"\x89PNG"));
    let csv = String::from_utf8_lossy(&answer.files[1].1).into_owned();
    assert!(csv.starts_with("month,orders"), "{csv}");
    assert_eq!(csv.lines().count(), 13);
    assert!(chat.draft_text(&drafted, 2).await.contains("Running"));
    let done = chat.draft_text(&drafted, 3).await;
    assert!(done.contains("Ran by"), "{done}");
    assert!(done.contains("12 rows"), "{done}");
    assert!(
        !done.contains("querybot_run"),
        "no buttons once run: {done}"
    );
}

async fn a_follow_up_continues_with_the_previous_sql_in_mind(chat: &mut dyn Chat) {
    chat.llm().script([
        sql_reply(MONTHLY_2024, "Orders per month."),
        sql_reply(
            "SELECT count(*) AS orders FROM orders WHERE status = 'refunded'",
            "Refunded orders.",
        ),
    ]);
    let first = chat.ask("orders per month in 2024").await;
    let second = chat.follow_up(&first, "now only the refunded ones").await;
    assert_eq!(second.thread, first.thread, "the same conversation");
    assert_ne!(second.draft, first.draft);
    assert!(chat.draft_text(&second, 1).await.contains("refunded"));
    let prompt = chat.llm().requests()[1].text();
    assert!(
        prompt.contains("strftime"),
        "the earlier SQL is in the prompt"
    );
}

async fn two_clicks_run_once(chat: &mut dyn Chat) {
    chat.llm().script([sql_reply(COUNT, "Counts orders.")]);
    let drafted = chat.ask("how many orders?").await;
    chat.click(Who::Asker, &drafted, Action::Run).await;
    chat.click(Who::Asker, &drafted, Action::Run).await;
    chat.answer(&drafted, 1).await;
    let told = chat.private_notices(Who::Asker, 1).await;
    assert!(told[0].to_lowercase().contains("already"), "{told:?}");
    chat.draft_text(&drafted, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(chat.answers_so_far(), 1, "one answer");
    let runs = chat.app().store.recent_runs(10).await.expect("runs");
    assert_eq!(runs.len(), 1, "one execution");
}

async fn a_strangers_click_runs_nothing_and_is_told_privately(chat: &mut dyn Chat) {
    chat.llm().script([sql_reply(COUNT, "Counts orders.")]);
    let drafted = chat.ask("how many orders?").await;
    chat.click(Who::Stranger, &drafted, Action::Run).await;
    let told = chat.private_notices(Who::Stranger, 1).await;
    assert!(told[0].contains("Only the person who asked"), "{told:?}");
    assert!(
        chat.app()
            .store
            .recent_runs(10)
            .await
            .expect("runs")
            .is_empty()
    );
    chat.click(Who::Stranger, &drafted, Action::Cancel).await;
    chat.private_notices(Who::Stranger, 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(chat.answers_so_far(), 0);
}

async fn cancel_closes_the_draft(chat: &mut dyn Chat) {
    chat.llm().script([sql_reply(COUNT, "Counts orders.")]);
    let drafted = chat.ask("how many orders?").await;
    chat.click(Who::Asker, &drafted, Action::Cancel).await;
    let closed = chat.draft_text(&drafted, 2).await;
    assert!(closed.contains("Cancelled by"), "{closed}");
    assert!(!closed.contains("querybot_run"), "{closed}");
    chat.click(Who::Asker, &drafted, Action::Run).await;
    chat.private_notices(Who::Asker, 1).await;
    assert!(
        chat.app()
            .store
            .recent_runs(10)
            .await
            .expect("runs")
            .is_empty()
    );
}

async fn edit_refuses_a_write_and_saves_a_valid_query(chat: &mut dyn Chat) {
    chat.llm().script([sql_reply(COUNT, "Counts orders.")]);
    let drafted = chat.ask("how many orders?").await;
    let refused = chat
        .edit(&drafted, "DELETE FROM orders")
        .await
        .expect_err("a write is refused");
    assert!(!refused.is_empty(), "the editor says why");
    chat.edit(
        &drafted,
        "SELECT count(*) AS n FROM orders WHERE status = 'shipped'",
    )
    .await
    .expect("a valid edit is saved");
    let shown = chat.draft_text(&drafted, 2).await;
    assert!(
        shown.contains("shipped"),
        "the draft shows the edit: {shown}"
    );
    chat.click(Who::Asker, &drafted, Action::Run).await;
    let answer = chat.answer(&drafted, 1).await;
    let csv = String::from_utf8_lossy(&answer.files.last().expect("a CSV").1).into_owned();
    assert_eq!(csv.lines().next(), Some("n"), "the edited SQL ran: {csv}");
}

async fn a_rate_limited_post_waits_for_the_platform_and_goes_through(chat: &mut dyn Chat) {
    chat.llm().script([sql_reply(COUNT, "Counts orders.")]);
    chat.rate_limit_next_post();
    let drafted = chat.ask("how many orders?").await;
    assert!(chat.draft_text(&drafted, 1).await.contains("count(*)"));
    let attempts = chat.post_attempts();
    assert_eq!(attempts[0].1, 429);
    assert_eq!(attempts[1].1, 200);
    assert!(
        attempts[1].0 - attempts[0].0 >= Duration::from_millis(900),
        "the platform's wait is honoured"
    );
}

async fn one_event_delivered_four_times_is_answered_once(chat: &mut dyn Chat) {
    chat.llm()
        .respond_with(|_| sql_reply(COUNT, "Counts orders."));
    chat.deliver_repeatedly("how many orders?", 4).await;
    // A later, different question proves the repeats were all handled before it.
    let marker = chat.ask("and customers?").await;
    chat.draft_text(&marker, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        chat.llm().requests().len(),
        2,
        "one LLM call per distinct question"
    );
}

/// Counting to a billion outlasts the one-second grace the stories run with, and any wait
/// for a Stop.
const SLOW: &str = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r \
                    WHERE n < 1000000000) SELECT count(*) AS n FROM r";

async fn a_run_cut_off_by_shutdown_is_runnable_again_and_the_thread_is_told(chat: &mut dyn Chat) {
    chat.llm().script([sql_reply(SLOW, "Counts to a billion.")]);
    let drafted = chat.ask("count to a billion").await;
    chat.click(Who::Asker, &drafted, Action::Run).await;
    assert!(chat.draft_text(&drafted, 2).await.contains("Running"));
    chat.app_mut().shut_down();
    tokio::time::timeout(Duration::from_secs(10), chat.app_mut().served())
        .await
        .expect("serve stops after its grace")
        .expect("cleanly");
    chat.said_in_thread(&drafted, "interrupted by a restart")
        .await;
    let again = chat.draft_text(&drafted, 3).await;
    assert!(
        again.contains("querybot_run"),
        "the draft has its buttons again: {again}"
    );
    let draft = chat
        .app()
        .store
        .draft(drafted.draft.parse().expect("a draft id"))
        .await
        .expect("read")
        .expect("the draft");
    assert_eq!(draft.state, querybot::store::DraftState::Pending);
}

/// Stop: only the person who ran it may stop it; the query is cancelled within two seconds,
/// the thread says so, the draft names who stopped it and can be run again, and the run is
/// recorded as stopped by them.
async fn stop_cancels_the_run_and_offers_the_draft_again(chat: &mut dyn Chat) {
    chat.llm().script([sql_reply(SLOW, "Counts to a billion.")]);
    let drafted = chat.ask("count to a billion").await;
    chat.click(Who::Asker, &drafted, Action::Run).await;
    let running = chat.draft_text(&drafted, 2).await;
    assert!(running.contains("Running"), "{running}");
    assert!(
        running.contains("querybot_stop"),
        "a Stop button: {running}"
    );
    assert!(!running.contains("querybot_run"), "{running}");
    chat.click(Who::Stranger, &drafted, Action::Stop).await;
    chat.private_notices(Who::Stranger, 1).await;
    let pressed = Instant::now();
    chat.click(Who::Asker, &drafted, Action::Stop).await;
    let stopped = chat.draft_text(&drafted, 3).await;
    assert!(
        pressed.elapsed() < Duration::from_secs(2),
        "stopped {:?} after the click",
        pressed.elapsed()
    );
    assert!(stopped.contains("Stopped by"), "{stopped}");
    assert!(
        stopped.contains("querybot_run"),
        "runnable again: {stopped}"
    );
    chat.said_in_thread(&drafted, "was stopped before it finished")
        .await;
    let store = &chat.app().store;
    let draft = store
        .draft(drafted.draft.parse().expect("a draft id"))
        .await
        .expect("read")
        .expect("the draft");
    assert_eq!(draft.state, querybot::store::DraftState::Pending);
    let runs = store.recent_runs(10).await.expect("runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].record.stopped_by, Some(draft.author.clone()));
    assert_eq!(chat.answers_so_far(), 0);
}

/// 👍 from an analyst makes the answer a verified query: the next question drafted as that
/// SQL says who verified it; 👎 asks what was wrong and keeps it with the answer.
async fn a_thumbs_up_verifies_the_answer_and_a_thumbs_down_says_why(chat: &mut dyn Chat) {
    chat.llm()
        .respond_with(|_| sql_reply(COUNT, "Counts orders."));
    let drafted = chat.ask("how many orders?").await;
    assert!(!chat.draft_text(&drafted, 1).await.contains("Verified"));
    chat.click(Who::Asker, &drafted, Action::Run).await;
    chat.answer(&drafted, 1).await;
    chat.click(Who::Asker, &drafted, Action::Good).await;
    let told = chat.private_notices(Who::Asker, 1).await;
    assert!(told[0].contains("Saved as a verified query"), "{told:?}");
    let store = &chat.app().store;
    let verified = store.verified_queries(Some("default")).await.expect("read");
    assert_eq!(verified.len(), 1, "{verified:?}");
    assert_eq!(verified[0].question, "how many orders?");

    let again = chat.follow_up(&drafted, "how many orders, again?").await;
    let shown = chat.draft_text(&again, 1).await;
    assert!(shown.contains("Verified by"), "the badge: {shown}");

    chat.say_what_was_wrong(Who::Stranger, &drafted, "it counts cancelled orders too")
        .await;
    chat.private_notices(Who::Stranger, 1).await;
    let id = drafted.draft.parse().expect("a draft id");
    let feedback = eventually_feedback(chat, id, 2).await;
    assert_eq!(feedback[0].verdict, "good");
    assert_eq!(feedback[1].verdict, "bad");
    assert_eq!(
        feedback[1].comment.as_deref(),
        Some("it counts cancelled orders too")
    );
}

async fn eventually_feedback(
    chat: &dyn Chat,
    draft: querybot::store::DraftId,
    n: usize,
) -> Vec<querybot::store::Feedback> {
    for _ in 0..100 {
        let feedback = chat.app().store.feedback(draft).await.expect("read");
        if feedback.len() >= n {
            return feedback;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("waited in vain for {n} feedback entries");
}

/// A run on one replica stopped from another: the click reaches the other replica, which
/// records it in the store, and the replica running the query cancels it at its next lease
/// renewal.
async fn stop_reaches_a_run_on_another_replica(chat: &mut dyn Chat, database_url: &str) {
    chat.add_replica(&[("DATABASE_URL", database_url)]).await;
    chat.llm().script([sql_reply(SLOW, "Counts to a billion.")]);
    let drafted = chat.ask("count to a billion").await;
    chat.send_clicks_to(0);
    chat.click(Who::Asker, &drafted, Action::Run).await;
    assert!(chat.draft_text(&drafted, 2).await.contains("Running"));
    chat.send_clicks_to(1);
    let pressed = Instant::now();
    chat.click(Who::Asker, &drafted, Action::Stop).await;
    let stopped = chat.draft_text(&drafted, 3).await;
    assert!(
        pressed.elapsed() < Duration::from_secs(3),
        "stopped {:?} after the click",
        pressed.elapsed()
    );
    assert!(stopped.contains("Stopped by"), "{stopped}");
}

#[tokio::test]
async fn slack_stop_reaches_a_run_on_another_replica() {
    let db = PgDatabase::create().await;
    let mut chat = chat::slack(&[("DATABASE_URL", db.url.as_str())]).await;
    stop_reaches_a_run_on_another_replica(&mut chat, &db.url).await;
}

#[tokio::test]
async fn discord_stop_reaches_a_run_on_another_replica() {
    let db = PgDatabase::create().await;
    let mut chat = chat::discord(&[("DATABASE_URL", db.url.as_str())]).await;
    stop_reaches_a_run_on_another_replica(&mut chat, &db.url).await;
    assert_eq!(chat.violations(), Vec::<String>::new());
}

/// Two replicas on one PostgreSQL store: each gets every delivery, one answers.
async fn two_replicas_answer_once(chat: &mut dyn Chat, database_url: &str) {
    chat.add_replica(&[("DATABASE_URL", database_url)]).await;
    one_event_delivered_four_times_is_answered_once(chat).await;
}

#[tokio::test]
async fn two_slack_replicas_sharing_a_store_answer_once() {
    let db = PgDatabase::create().await;
    let mut chat = chat::slack(&[("DATABASE_URL", db.url.as_str())]).await;
    two_replicas_answer_once(&mut chat, &db.url).await;
}

#[tokio::test]
async fn two_discord_replicas_sharing_a_store_answer_once() {
    let db = PgDatabase::create().await;
    let mut chat = chat::discord(&[("DATABASE_URL", db.url.as_str())]).await;
    two_replicas_answer_once(&mut chat, &db.url).await;
    assert_eq!(chat.violations(), Vec::<String>::new());
}
