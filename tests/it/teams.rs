//! Teams, through the real surfaces: roles from people and groups (a Slack user group read
//! from Slack, a Discord role that comes with the event), connections open to a group only,
//! limits that say when to try again, and queries that run under each person's own database
//! role, where PostgreSQL's row-level security decides what they see.

use std::time::Duration;

use querybot::store::DraftState;

use crate::support::chat::{self, Action, Chat, Who};
use crate::support::db::PgDatabase;
use crate::support::fake_llm::sql_reply;
use crate::support::{fake_discord, fake_slack};

const COUNT_ORDERS: &str = "SELECT count(*) AS orders FROM orders";
const COUNT_CUSTOMERS: &str = "SELECT count(*) AS customers FROM customers";

#[derive(Clone, Copy)]
enum Surface {
    Slack,
    Discord,
}

impl Surface {
    /// How the access rules name the one group there is, which holds the asker only: a Slack
    /// user group, a Discord role.
    fn analysts(self) -> String {
        match self {
            Surface::Slack => format!("slack:group:{}", fake_slack::ANALYSTS_GROUP),
            Surface::Discord => format!("discord:role:{}", fake_discord::ANALYSTS_ROLE),
        }
    }

    /// How the access rules name the asker.
    fn asker(self) -> String {
        match self {
            Surface::Slack => "slack:U1".to_owned(),
            Surface::Discord => format!("discord:{}", fake_discord::ASKER),
        }
    }

    /// The `[channels.…]` table and key that bind the shared channel.
    fn channel(self) -> (&'static str, String) {
        match self {
            Surface::Slack => ("slack", chat::SLACK_CHANNEL.to_owned()),
            Surface::Discord => ("discord", fake_discord::CHANNEL.to_string()),
        }
    }
}

/// A chat on `surface` with `rules` as its configuration file, in a folder that also holds
/// the demo warehouse (`WAREHOUSE`, relative to it) and `files`.
async fn team_chat(
    surface: Surface,
    rules: &str,
    files: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> (Box<dyn Chat>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    querybot::demo::generate(
        &dir.path().join("demo.sqlite"),
        querybot::demo::DEFAULT_SEED,
    )
    .await
    .expect("demo warehouse");
    let at = |name: &str| dir.path().join(name).display().to_string();
    for (name, text) in files {
        std::fs::write(at(name), text).expect("file");
    }
    let rules = rules.replace("{dir}", &dir.path().display().to_string());
    std::fs::write(at("querybot.toml"), rules).expect("rules");
    let (config, warehouse) = (
        at("querybot.toml"),
        format!("sqlite://{}", at("demo.sqlite")),
    );
    let mut settings = vec![
        ("QUERYBOT_CONFIG", config.as_str()),
        ("WAREHOUSE_URL", warehouse.as_str()),
    ];
    settings.extend_from_slice(extra);
    let chat: Box<dyn Chat> = match surface {
        Surface::Slack => Box::new(chat::slack(&settings).await),
        Surface::Discord => Box::new(chat::discord(&settings).await),
    };
    (chat, dir)
}

/// Viewers by default, analysts by group: a viewer may run a verified query but not another
/// one; the asker, an analyst through their group, runs anything.
async fn a_viewer_runs_only_verified_queries(surface: Surface) {
    let rules = format!(
        "examples = \"{{dir}}/verified.yaml\"\n[access]\ndefault_role = \"viewer\"\n\
         analysts = [\"{}\"]\n",
        surface.analysts()
    );
    let verified = format!("- question: how many orders are there?\n  sql: {COUNT_ORDERS}\n");
    let (chat, _dir) = team_chat(surface, &rules, &[("verified.yaml", &verified)], &[]).await;
    chat.llm().script([
        sql_reply(COUNT_CUSTOMERS, "Counts customers."),
        sql_reply(COUNT_ORDERS, "Counts orders."),
        sql_reply(COUNT_CUSTOMERS, "Counts customers."),
    ]);
    let unverified = chat.ask_as(Who::Stranger, "how many customers?").await;
    chat.click(Who::Stranger, &unverified, Action::Run).await;
    let told = chat.private_notices(Who::Stranger, 1).await;
    assert!(told[0].contains("verified queries only"), "{told:?}");
    let verified = chat.ask_as(Who::Stranger, "how many orders?").await;
    chat.click(Who::Stranger, &verified, Action::Run).await;
    let answer = chat.answer(&verified, 1).await;
    let csv = String::from_utf8_lossy(&answer.files.last().expect("a CSV").1).into_owned();
    assert_eq!(csv.lines().next(), Some("orders"), "{csv}");
    let analysts = chat.ask("how many customers?").await;
    chat.click(Who::Asker, &analysts, Action::Run).await;
    chat.answer(&analysts, 2).await;
    let unrun = chat
        .app()
        .store
        .draft(unverified.draft.parse().expect("an id"))
        .await
        .expect("read")
        .expect("draft");
    assert_eq!(unrun.state, DraftState::Pending, "the refused run left it");
}

/// A connection open to one group: others are refused with whom to ask, and the refusal is
/// audited; the group's member asks as usual.
async fn a_connection_open_to_a_group_refuses_everyone_else(surface: Surface) {
    let (platform, channel) = surface.channel();
    let rules = format!(
        "[access]\ncontact = \"the data team\"\n\
         [connections.sales]\nurl = \"sqlite://{{dir}}/demo.sqlite\"\nallow = [\"{}\"]\n\
         [channels.{platform}]\n\"{channel}\" = \"sales\"\n",
        surface.analysts()
    );
    let (chat, _dir) = team_chat(surface, &rules, &[], &[]).await;
    chat.llm()
        .respond_with(|_| sql_reply(COUNT_ORDERS, "Counts orders."));
    chat.send_question(Who::Stranger, "how many orders?").await;
    chat.says("is open only to the people and channels it lists; ask the data team")
        .await;
    chat.ask("how many orders?").await;
    assert_eq!(
        chat.llm().requests().len(),
        1,
        "the refused question cost nothing"
    );
    let audit = chat
        .app()
        .store
        .audit_since(chrono::Utc::now() - chrono::Duration::minutes(1))
        .await
        .expect("audit");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].entry.action, "ask");
    assert_eq!(audit[0].entry.connection.as_deref(), Some("sales"));
}

/// The question past the limit is refused with the time to wait.
async fn a_question_past_the_limit_says_when_to_ask_again(surface: Surface) {
    let (chat, _dir) = team_chat(surface, "", &[], &[("QUERYBOT_LIMIT_QUESTIONS", "2")]).await;
    chat.llm()
        .respond_with(|_| sql_reply(COUNT_ORDERS, "Counts orders."));
    chat.ask("how many orders?").await;
    chat.ask("how many orders now?").await;
    chat.send_question(Who::Asker, "and now?").await;
    chat.says("asked 2 questions in the last hour; you can ask again in 60 minutes")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(chat.llm().requests().len(), 2);
    // Another person's limit is their own.
    chat.ask_as(Who::Stranger, "how many orders?").await;
}

/// `history` lists the person's questions with Re-run, which drafts the same SQL again for
/// confirmation; the admin commands answer admins and refuse everyone else.
async fn history_reruns_and_admin_commands(surface: Surface) {
    let rules = format!("[access]\nadmins = [\"{}\"]\n", surface.asker());
    let (chat, _dir) = team_chat(surface, &rules, &[], &[]).await;
    chat.llm()
        .script([sql_reply(COUNT_ORDERS, "Counts orders.")]);
    let first = chat.ask("how many orders?").await;
    chat.click(Who::Asker, &first, Action::Run).await;
    chat.answer(&first, 1).await;
    chat.send_question(Who::Asker, "history").await;
    chat.says("Re-run").await;
    let again = chat.rerun(Who::Asker, &first).await;
    let shown = chat.draft_text(&again, 1).await;
    assert!(shown.contains("count(*)"), "the same SQL: {shown}");
    assert_eq!(chat.llm().requests().len(), 1, "a Re-run asks no LLM");
    chat.click(Who::Asker, &again, Action::Run).await;
    chat.answer(&again, 2).await;

    chat.send_question(Who::Asker, "admin status").await;
    chat.says("answering").await;
    chat.send_question(Who::Stranger, "admin refresh").await;
    chat.says("is for admins").await;
    let audit = chat
        .app()
        .store
        .audit_since(chrono::Utc::now() - chrono::Duration::minutes(1))
        .await
        .expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.entry.action == "admin refresh" && a.entry.outcome == "refused"),
        "{audit:?}"
    );
}

/// Runs have their own limit, and a second click on a draft already run does not use one.
async fn a_run_past_the_limit_says_when_to_run_again(surface: Surface) {
    let (chat, _dir) = team_chat(surface, "", &[], &[("QUERYBOT_LIMIT_RUNS", "1")]).await;
    chat.llm()
        .respond_with(|_| sql_reply(COUNT_ORDERS, "Counts orders."));
    let first = chat.ask("how many orders?").await;
    chat.click(Who::Asker, &first, Action::Run).await;
    chat.answer(&first, 1).await;
    chat.click(Who::Asker, &first, Action::Run).await;
    let told = chat.private_notices(Who::Asker, 1).await;
    assert!(told[0].contains("already been run"), "{told:?}");
    let second = chat.ask("how many orders now?").await;
    chat.click(Who::Asker, &second, Action::Run).await;
    chat.says("run 1 query in the last hour; you can run one again in 60 minutes")
        .await;
    assert_eq!(chat.answers_so_far(), 1);
}

macro_rules! on_both_surfaces {
    ($($story:ident),* $(,)?) => {
        mod slack_surface {
            $(#[tokio::test]
            async fn $story() {
                super::$story(super::Surface::Slack).await;
            })*
        }
        mod discord_surface {
            $(#[tokio::test]
            async fn $story() {
                super::$story(super::Surface::Discord).await;
            })*
        }
    };
}

on_both_surfaces!(
    a_viewer_runs_only_verified_queries,
    a_connection_open_to_a_group_refuses_everyone_else,
    a_question_past_the_limit_says_when_to_ask_again,
    history_reruns_and_admin_commands,
    a_run_past_the_limit_says_when_to_run_again,
);

/// Two people ask the same question of a PostgreSQL warehouse whose row-level security
/// gives each their region: each gets their own rows, and the one whose role may not read
/// a column never has it in the schema the model sees.
#[tokio::test]
async fn each_person_sees_what_their_database_role_may_see() {
    let db = PgDatabase::create().await;
    db.run_script(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT NOT NULL, \
         amount NUMERIC NOT NULL, margin NUMERIC NOT NULL); \
         INSERT INTO orders VALUES (1, 'EU', 10, 2), (2, 'EU', 20, 4), (3, 'US', 5, 1);",
    )
    .await;
    let eu = format!("{}_eu", db_name(&db.url));
    let us = format!("{}_us", db_name(&db.url));
    db.role(
        "eu",
        "GRANT USAGE ON SCHEMA public TO {role}; \
                   GRANT SELECT (id, region, amount) ON orders TO {role};",
    )
    .await;
    db.role(
        "us",
        "GRANT USAGE ON SCHEMA public TO {role}; GRANT SELECT ON orders TO {role};",
    )
    .await;
    db.run_script(&format!(
        "ALTER TABLE orders ENABLE ROW LEVEL SECURITY; \
         CREATE POLICY eu_only ON orders TO {eu} USING (region = 'EU'); \
         CREATE POLICY us_only ON orders TO {us} USING (region = 'US');"
    ))
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("querybot.toml");
    std::fs::write(
        &config,
        format!(
            "[connections.default]\nurl = \"{}\"\n[connections.default.db_roles]\n\
             \"slack:U1\" = \"{eu}\"\n\"slack:U2\" = \"{us}\"\n",
            db.url
        ),
    )
    .expect("rules");
    let config = config.display().to_string();
    let chat = chat::slack(&[("QUERYBOT_CONFIG", config.as_str())]).await;
    let totals = "SELECT region, sum(amount) AS total FROM orders GROUP BY region ORDER BY region";
    chat.llm()
        .respond_with(move |_| sql_reply(totals, "Totals by region."));
    let asker = chat.ask("totals by region").await;
    chat.click(Who::Asker, &asker, Action::Run).await;
    let eu_rows = chat.answer(&asker, 1).await;
    let stranger = chat.ask_as(Who::Stranger, "totals by region").await;
    chat.click(Who::Stranger, &stranger, Action::Run).await;
    let us_rows = chat.answer(&stranger, 2).await;
    let csv = |answer: &chat::Answered| {
        String::from_utf8_lossy(&answer.files.last().expect("a CSV").1).into_owned()
    };
    assert_eq!(csv(&eu_rows), "region,total\r\nEU,30\r\n");
    assert_eq!(csv(&us_rows), "region,total\r\nUS,5\r\n");
    let prompts: Vec<String> = chat.llm().requests().iter().map(|r| r.text()).collect();
    assert!(!prompts[0].contains("margin"), "{}", prompts[0]);
    assert!(prompts[1].contains("margin"), "{}", prompts[1]);
    let runs = chat.app().store.recent_runs(5).await.expect("runs");
    let mut roles: Vec<Option<String>> = runs.iter().map(|r| r.record.db_role.clone()).collect();
    roles.sort();
    assert_eq!(roles, [Some(eu), Some(us)]);
}

fn db_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or_default()
}

/// A database role querybot cannot act as stops start-up naming the setting; one that goes
/// away while serving turns each question into one sentence saying so, and no draft.
#[tokio::test]
async fn a_database_role_querybot_cannot_take_is_named() {
    let db = PgDatabase::create().await;
    db.run_script("CREATE TABLE orders (id INTEGER PRIMARY KEY);")
        .await;
    let reader = format!("{}_reader", db_name(&db.url));
    db.role(
        "reader",
        "GRANT USAGE ON SCHEMA public TO {role}; GRANT SELECT ON orders TO {role};",
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("querybot.toml");
    let rules = |role: &str| {
        format!(
            "[connections.default]\nurl = \"{}\"\n[connections.default.db_roles]\n\"slack:U1\" = \"{role}\"\n",
            db.url
        )
    };
    std::fs::write(&config, rules("no_such_role_anywhere")).expect("rules");
    let env: std::collections::HashMap<String, String> = [
        ("QUERYBOT_CONFIG".to_owned(), config.display().to_string()),
        (
            "QUERYBOT_DATA_DIR".to_owned(),
            dir.path().display().to_string(),
        ),
    ]
    .into();
    let refused =
        querybot::app::App::build(querybot::config::Config::from_env(&env).expect("valid"))
            .await
            .err()
            .expect("start-up stops");
    let refused = format!("{refused:#}");
    assert!(
        refused.contains("connections.default.db_roles")
            && refused.contains("no_such_role_anywhere")
            && refused.contains("does not exist"),
        "{refused}"
    );

    std::fs::write(&config, rules(&reader)).expect("rules");
    let config = config.display().to_string();
    let chat = chat::slack(&[("QUERYBOT_CONFIG", config.as_str())]).await;
    chat.llm()
        .respond_with(|_| sql_reply("SELECT count(*) AS n FROM orders", "Counts orders."));
    let gone = format!("{reader}_gone");
    db.run_script(&format!("ALTER ROLE {reader} RENAME TO {gone}"))
        .await;
    chat.send_question(Who::Asker, "how many orders?").await;
    chat.says("which the warehouse refused").await;
    assert!(chat.llm().requests().is_empty(), "nothing was drafted");
    db.run_script(&format!("ALTER ROLE {gone} RENAME TO {reader}"))
        .await;
}
