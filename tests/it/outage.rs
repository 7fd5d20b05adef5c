//! querybot's own database going away while serving (its PostgreSQL restarted, a network
//! cut), then coming back: readiness says which check fails, a question gets one sentence
//! instead of silence, and service resumes without a restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

use crate::support::chat::{self, Chat};
use crate::support::db::PgDatabase;
use crate::support::fake_llm::sql_reply;
use crate::support::fake_slack::{self, TEAM_ID};

/// A TCP relay to PostgreSQL that the test can cut (dropping every open connection and
/// refusing new ones) and restore.
struct Relay {
    address: std::net::SocketAddr,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let relay = Relay {
            address: listener.local_addr().expect("address"),
            cut: Arc::default(),
            open: Arc::default(),
        };
        let (cut, open) = (relay.cut.clone(), relay.open.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if cut.load(Ordering::SeqCst) {
                    continue;
                }
                let target = target.clone();
                let relayed = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open.lock().expect("open").push(relayed.abort_handle());
            }
        });
        relay
    }

    /// A relay to `db`'s server, and `db`'s URL through it.
    async fn to(db: &PgDatabase) -> (Relay, url::Url) {
        let mut url = url::Url::parse(&db.url).expect("a URL");
        let target = format!(
            "{}:{}",
            url.host_str().unwrap_or("127.0.0.1"),
            url.port().unwrap_or(5432)
        );
        let relay = Relay::start(target).await;
        url.set_port(Some(relay.address.port())).expect("a port");
        url.set_host(Some("127.0.0.1")).expect("a host");
        (relay, url)
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for connection in self.open.lock().expect("open").drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_goes_away_is_said_and_service_resumes_when_it_is_back() {
    let db = PgDatabase::create().await;
    let (relay, url) = Relay::to(&db).await;
    let chat = chat::slack(&[("DATABASE_URL", url.as_str())]).await;
    chat.llm()
        .respond_with(|_| sql_reply("SELECT count(*) AS n FROM orders", "Counts orders."));
    chat.ask("how many orders?").await;

    relay.cut();
    let ready = readiness(&chat).await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert_ne!(body["checks"]["store"], "ok", "{body}");
    assert_eq!(body["checks"]["warehouse"], "ok", "{body}");
    let answered = slash_ask(&chat, "how many orders now?", "trigger-outage-1").await;
    assert_eq!(answered["text"], querybot::bot::STORE_DOWN, "{answered}");

    relay.restore();
    let ready = readiness(&chat).await;
    assert_eq!(ready.status(), 200, "ready again without a restart");
    chat.ask("and how many orders now?").await;
}

async fn readiness(chat: &dyn Chat) -> reqwest::Response {
    let app = chat.app();
    app.client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .expect("answers")
}

/// `/ask text` to the chat's app, signed as Slack signs it; the response's JSON, if any.
async fn slash_ask(chat: &dyn Chat, text: &str, trigger: &str) -> Value {
    let body = serde_urlencoded::to_string([
        ("team_id", TEAM_ID),
        ("channel_id", chat::SLACK_CHANNEL),
        ("user_id", "U1"),
        ("command", "/ask"),
        ("text", text),
        ("response_url", ""),
        ("trigger_id", trigger),
    ])
    .expect("form");
    let app = chat.app();
    let url = format!("{}/slack/commands", app.address);
    let response =
        fake_slack::send_signed(&app.client, &url, "application/x-www-form-urlencoded", body).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap_or(Value::Null)
}

/// On Discord an interaction that cannot be recorded is answered privately with the same
/// sentence: Discord takes one first response per interaction, so replicas cannot answer
/// it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_interaction_while_the_store_is_away_is_told_so() {
    use crate::support::fake_discord::{ASKER, CHANNEL, FakeDiscord};
    use crate::support::fake_llm::FakeLlm;
    let db = PgDatabase::create().await;
    let (relay, url) = Relay::to(&db).await;
    let (llm, discord) = (FakeLlm::start().await, FakeDiscord::start().await);
    let settings = chat::settings_of(
        vec![llm.settings(), discord.settings()],
        &[],
        &[("DATABASE_URL", url.as_str())],
    );
    let _app = chat::spawn(&settings).await;
    discord.wait_identified(1).await;
    relay.cut();
    let ask = discord.slash_ask(ASKER, CHANNEL, "how many orders?");
    discord.dispatch_interaction(&ask);
    let callback = discord
        .wait_for(
            "POST",
            "/interactions/{interaction_id}/{interaction_token}/callback",
            1,
        )
        .await
        .remove(0);
    assert_eq!(callback.body["type"], 4, "{}", callback.body);
    assert_eq!(callback.body["data"]["flags"], 64, "privately");
    let said = callback.body["data"]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(said.contains("database is not answering"), "{said}");
    assert!(llm.requests().is_empty());
}
