//! querybot's own processes, killed: a run left "running" by a process that got SIGKILL is
//! taken back by another replica on the same store once its lease passes: its draft runnable
//! again, the run recorded as interrupted, and the thread told. A question acknowledged and
//! not yet answered is answered by the next process, once.

use std::process::Stdio;
use std::time::{Duration, Instant};

use querybot::config::SecretUrl;
use querybot::store::{DraftState, Store};

use crate::support::chat;
use crate::support::db::PgDatabase;
use crate::support::fake_llm::{FakeLlm, Step, sql_reply};
use crate::support::fake_slack::{self, FakeSlack, TEAM_ID};

/// Counts to a billion: still running when the process is killed.
const SLOW: &str = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r \
                    WHERE n < 1000000000) SELECT count(*) AS n FROM r";

/// A `querybot serve` process of its own, killed when dropped.
struct Replica {
    child: tokio::process::Child,
    address: String,
}

impl Replica {
    async fn start(settings: &[(&'static str, String)], data: &std::path::Path) -> Replica {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let address = format!("127.0.0.1:{port}");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_querybot"))
            .arg("serve")
            .current_dir(data)
            .env_clear()
            .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
            .env("QUERYBOT_DATA_DIR", data)
            .env("QUERYBOT_LISTEN", &address)
            .env("QUERYBOT_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("serve starts");
        let replica = Replica {
            child,
            address: format!("http://{address}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while reqwest::get(format!("{}/healthz", replica.address))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "serve did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        replica
    }

    /// SIGKILL, and waits until the process is gone.
    async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("gone");
    }

    /// `/ask text` from U1 in #sales.
    async fn ask(&self, text: &str, trigger: &str) {
        let form = serde_urlencoded::to_string([
            ("team_id", TEAM_ID),
            ("channel_id", "C0SALES"),
            ("user_id", "U1"),
            ("command", "/ask"),
            ("text", text),
            ("response_url", ""),
            ("trigger_id", trigger),
        ])
        .expect("form");
        self.slack("/slack/commands", "application/x-www-form-urlencoded", form)
            .await;
    }

    /// Presses Run, as U1, on the first draft the fake Slack was shown; returns the draft's
    /// id and message ts.
    async fn run_shown_draft(&self, slack: &FakeSlack, trigger: &str) -> (String, String) {
        let shown = slack.wait_for("chat.update", 1).await.remove(0);
        let draft_id = chat::slack_draft_id(&shown.params)
            .unwrap_or_else(|| panic!("a draft with Run: {:?}", shown.params));
        let message = shown.param("ts").expect("the draft's ts");
        let click = fake_slack::click_payload("U1", "querybot_run", &draft_id, &message, trigger);
        let form = serde_urlencoded::to_string([("payload", click.to_string())]).expect("form");
        self.slack(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            form,
        )
        .await;
        (draft_id, message)
    }

    /// A signed Slack request, as Slack sends it.
    async fn slack(&self, path: &str, content_type: &str, body: String) {
        let url = format!("{}{path}", self.address);
        let response =
            fake_slack::send_signed(&reqwest::Client::new(), &url, content_type, body).await;
        assert_eq!(response.status(), 200);
    }
}

/// What every replica of a test is started with: the fakes and the shared store.
fn settings(db: &PgDatabase, llm: &FakeLlm, slack: &FakeSlack) -> Vec<(&'static str, String)> {
    let mut settings = llm.settings();
    settings.extend(slack.settings());
    settings.push(("DATABASE_URL", db.url.clone()));
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_process_is_killed_is_taken_back_by_another_replica() {
    let db = PgDatabase::create().await;
    let (llm, slack) = (FakeLlm::start().await, FakeSlack::start().await);
    llm.script([sql_reply(SLOW, "Counts to a billion.")]);
    let data = tempfile::tempdir().expect("temp dir");
    let settings = settings(&db, &llm, &slack);
    let mut first = Replica::start(&settings, data.path()).await;
    first.ask("count to a billion", "trigger-crash-ask").await;
    let (draft_id, message) = first.run_shown_draft(&slack, "trigger-crash-run").await;
    let running = slack.wait_for("chat.update", 2).await.remove(1);
    assert!(
        running.params.to_string().contains("Running"),
        "{:?}",
        running.params
    );

    first.kill().await;
    let store = Store::connect(&SecretUrl::new(db.url.clone()))
        .await
        .expect("store");
    let id = draft_id.parse().expect("a draft id");
    let state = |store: Store| async move { store.draft(id).await.expect("read").map(|d| d.state) };
    assert_eq!(
        state(store.clone()).await,
        Some(DraftState::Running),
        "left running"
    );

    let _second = Replica::start(&settings, data.path()).await;
    let deadline = Instant::now() + Duration::from_secs(45);
    while state(store.clone()).await != Some(DraftState::Pending) {
        assert!(
            Instant::now() < deadline,
            "the other replica did not take the run back"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The thread is told, and the draft shows its Run button again.
    let told = slack.wait_for("chat.postMessage", 2).await.remove(1);
    assert_eq!(told.param("thread_ts").as_deref(), Some(message.as_str()));
    assert!(
        told.params.to_string().contains("interrupted by a restart"),
        "{:?}",
        told.params
    );
    let again = slack.wait_for("chat.update", 3).await.remove(2);
    assert_eq!(again.param("ts").as_deref(), Some(message.as_str()));
    assert_eq!(
        chat::slack_draft_id(&again.params).as_deref(),
        Some(draft_id.as_str())
    );
    let runs = store.recent_runs(5).await.expect("runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        runs[0].record.error.as_deref(),
        Some(querybot::store::INTERRUPTED)
    );
    assert_eq!(
        runs[0].record.requested_by.as_str(),
        format!("slack:{TEAM_ID}:U1")
    );
}

/// A question acknowledged by a process that was killed before the draft was ready: it is not
/// lost (Slack will not send it again) but answered by the next process, in the placeholder
/// the first one posted, once; the store keeps nothing unhandled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_whose_process_is_killed_before_the_draft_is_answered_after_restart() {
    let db = PgDatabase::create().await;
    let (llm, slack) = (FakeLlm::start().await, FakeSlack::start().await);
    // The first process waits on the LLM when it is killed; the next one gets the answer.
    llm.script([
        Step::Hang(Duration::from_secs(120)),
        sql_reply("SELECT 42 AS answer", "The answer."),
    ]);
    let data = tempfile::tempdir().expect("temp dir");
    let settings = settings(&db, &llm, &slack);
    let mut first = Replica::start(&settings, data.path()).await;
    first
        .ask("what is the answer", "trigger-crash-question")
        .await;
    let placeholder = slack.wait_for("chat.postMessage", 1).await.remove(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while llm.requests().is_empty() {
        assert!(Instant::now() < deadline, "the LLM was never asked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill().await;
    let store = Store::connect(&SecretUrl::new(db.url.clone()))
        .await
        .expect("store");
    assert_eq!(store.unhandled_deliveries().await.expect("count"), 1);

    let _second = Replica::start(&settings, data.path()).await;
    // The first process's claim lapses (30 s), and the next look (every 10 s) takes it.
    let deadline = Instant::now() + Duration::from_secs(50);
    let shown = loop {
        if let Some(shown) = slack.calls_to("chat.update").pop() {
            break shown;
        }
        assert!(Instant::now() < deadline, "the question was not answered");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let placeholder_ts = placeholder.response["ts"]
        .as_str()
        .expect("the placeholder's ts")
        .to_owned();
    assert_eq!(
        shown.param("ts").as_deref(),
        Some(placeholder_ts.as_str()),
        "the draft replaces the first process's placeholder"
    );
    let draft_id = chat::slack_draft_id(&shown.params)
        .unwrap_or_else(|| panic!("a draft with Run: {:?}", shown.params));
    let draft = store
        .draft(draft_id.parse().expect("a draft id"))
        .await
        .expect("read")
        .expect("the draft is stored");
    assert_eq!(draft.sql.trim(), "SELECT 42 AS answer");
    assert_eq!(draft.state, DraftState::Pending);
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.unhandled_deliveries().await.expect("count") != 0 {
        assert!(Instant::now() < deadline, "the delivery stays unhandled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing twice: one placeholder, one draft, and the LLM asked once more, not again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        slack.calls_to("chat.postMessage").len(),
        1,
        "one placeholder"
    );
    assert_eq!(llm.requests().len(), 2);
}

/// An answer whose process is killed while its files are being uploaded: the query ran and
/// is recorded, so it is not run again, but the thread is told that part of the answer may
/// be missing and the draft stops saying "Running…", by whichever process comes next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_whose_process_is_killed_while_posting_it_is_accounted_for_after_restart() {
    let db = PgDatabase::create().await;
    let (llm, slack) = (FakeLlm::start().await, FakeSlack::start().await);
    llm.script([sql_reply("SELECT 1 AS one", "One.")]);
    slack.delay_uploads(Duration::from_secs(120));
    let data = tempfile::tempdir().expect("temp dir");
    let settings = settings(&db, &llm, &slack);
    let mut first = Replica::start(&settings, data.path()).await;
    first.ask("one", "trigger-crash-upload-ask").await;
    let (draft_id, message) = first
        .run_shown_draft(&slack, "trigger-crash-upload-run")
        .await;
    // The answer is posted; its first file is being uploaded (and held) when the kill comes.
    slack.wait_for("files.getUploadURLExternal", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill().await;
    let store = Store::connect(&SecretUrl::new(db.url.clone()))
        .await
        .expect("store");
    let id = draft_id.parse().expect("a draft id");
    let draft = store.draft(id).await.expect("read").expect("the draft");
    assert_eq!(
        draft.state,
        DraftState::Done,
        "the run finished and is recorded"
    );

    let _second = Replica::start(&settings, data.path()).await;
    let deadline = Instant::now() + Duration::from_secs(50);
    let told = loop {
        let told = slack.calls_to("chat.postMessage").into_iter().find(|call| {
            call.params
                .to_string()
                .contains("restarted while posting this answer")
        });
        if let Some(told) = told {
            break told;
        }
        assert!(Instant::now() < deadline, "the thread was not told");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(told.param("thread_ts").as_deref(), Some(message.as_str()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !slack.calls_to("chat.update").iter().any(|call| {
        call.param("ts").as_deref() == Some(message.as_str())
            && call.params.to_string().contains("could not be posted")
    }) {
        assert!(
            Instant::now() < deadline,
            "the draft still says it is running"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Not run again, and nothing left for another replica to take.
    let runs = store.recent_runs(5).await.expect("runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(
        store
            .recover_undelivered_answers(later)
            .await
            .expect("look")
            .is_empty()
    );
    assert_eq!(
        store.draft(id).await.expect("read").expect("draft").state,
        DraftState::Done
    );
}
