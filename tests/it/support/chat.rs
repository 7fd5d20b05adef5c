//! One way to drive a conversation on any chat surface, so that the stories every surface
//! must tell are written once (`on_every_surface!`): a person asks, sees the draft, clicks,
//! gets the answer; each surface says it in its own protocol against its own fake.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::app::{TestApp, spawn_app};
use super::fake_discord::{self, BOT_USER, FakeDiscord};
use super::fake_llm::FakeLlm;
use super::fake_slack::{self, FakeSlack, TEAM_ID};

/// Who acts: the person who asked, or someone else in the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    Asker,
    Stranger,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Action {
    Run,
    Edit,
    Cancel,
    Stop,
    /// 👍 / 👎 under the draft's answer.
    Good,
    Bad,
    /// Re-run beside the draft's question in a history.
    Rerun,
}

/// A draft on screen: its id, the message that shows it, the conversation's thread.
#[derive(Debug, Clone)]
pub(crate) struct Drafted {
    pub(crate) draft: String,
    pub(crate) message: String,
    pub(crate) thread: String,
}

/// An answer in the thread: its text and its files.
#[derive(Debug, Clone)]
pub(crate) struct Answered {
    pub(crate) text: String,
    pub(crate) files: Vec<(String, Vec<u8>)>,
}

#[async_trait]
pub(crate) trait Chat: Send + Sync {
    fn llm(&self) -> &FakeLlm;
    fn app(&self) -> &TestApp;
    fn app_mut(&mut self) -> &mut TestApp;
    /// Asks in the shared channel (a slash command on Slack, a mention on Discord); returns
    /// once the draft shows.
    async fn ask(&self, question: &str) -> Drafted {
        self.ask_as(Who::Asker, question).await
    }
    async fn ask_as(&self, who: Who, question: &str) -> Drafted;
    /// Asks as `who` without waiting for anything.
    async fn send_question(&self, who: Who, question: &str);
    /// Waits until querybot says something containing `text` anywhere.
    async fn says(&self, text: &str);
    /// Re-run of `drafted` from a history; returns once the new draft shows.
    async fn rerun(&self, who: Who, drafted: &Drafted) -> Drafted;
    /// 👎 on the draft's answer, then `text` in the modal that opens, submitted.
    async fn say_what_was_wrong(&self, who: Who, drafted: &Drafted, text: &str);

    /// Continues the conversation in its thread; returns once the new draft shows.
    async fn follow_up(&self, drafted: &Drafted, text: &str) -> Drafted;
    async fn click(&self, who: Who, drafted: &Drafted, action: Action);
    /// The draft message's text once it has been shown `versions` times (1 = the draft).
    async fn draft_text(&self, drafted: &Drafted, versions: usize) -> String;
    /// The `n`th answer with its files in the draft's thread, waiting for it.
    async fn answer(&self, drafted: &Drafted, n: usize) -> Answered;
    /// How many answers with files there are now.
    fn answers_so_far(&self) -> usize;
    /// Waits until querybot says something containing `text` in the draft's thread.
    async fn said_in_thread(&self, drafted: &Drafted, text: &str);
    /// Sends later clicks to one replica (where the platform lets a test choose).
    fn send_clicks_to(&self, replica: usize);
    /// What only `who` was shown, waiting for `n` of them.
    async fn private_notices(&self, who: Who, n: usize) -> Vec<String>;
    /// Submits SQL in the draft's editor: `Err` holds what the editor said.
    async fn edit(&self, drafted: &Drafted, sql: &str) -> Result<(), String>;
    /// The next post into a channel is refused with the platform's 429.
    fn rate_limit_next_post(&self);
    /// Every attempt to post into a channel so far: when, and the status it got.
    fn post_attempts(&self) -> Vec<(Instant, u16)>;
    /// Delivers the same question event `copies` times to every replica.
    async fn deliver_repeatedly(&self, question: &str, copies: usize);
    /// Starts another replica in front of the same fakes, with these settings too.
    async fn add_replica(&mut self, extra: &[(&str, &str)]);
    /// Every request the platform would have refused, on platforms that check.
    fn violations(&self) -> Vec<String>;
}

/// Runs a story (`async fn(&mut dyn Chat)`) once per surface, each with its own fakes.
macro_rules! on_every_surface {
    ($($story:ident),* $(,)?) => {
        mod slack_surface {
            $(
                #[tokio::test]
                async fn $story() {
                    let mut chat = crate::support::chat::slack(&[("QUERYBOT_SHUTDOWN_GRACE", "1")]).await;
                    super::$story(&mut chat).await;
                }
            )*
        }
        mod discord_surface {
            $(
                #[tokio::test]
                async fn $story() {
                    let mut chat = crate::support::chat::discord(&[("QUERYBOT_SHUTDOWN_GRACE", "1")]).await;
                    super::$story(&mut chat).await;
                    assert_eq!(crate::support::chat::Chat::violations(&chat), Vec::<String>::new());
                }
            )*
        }
    };
}
pub(crate) use on_every_surface;

const WAIT: Duration = Duration::from_secs(15);

/// Polls `check` until it finds something, for at most [`WAIT`].
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "waited in vain for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Settings from the fakes, then `base`, then `extra` (later ones win).
pub(crate) fn settings_of(
    parts: Vec<Vec<(&'static str, String)>>,
    base: &[(String, String)],
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    parts
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.to_owned(), v))
        .chain(base.iter().cloned())
        .chain(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .collect()
}

pub(crate) async fn spawn(settings: &[(String, String)]) -> TestApp {
    let refs: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    spawn_app(&refs).await
}

// ---------------------------------------------------------------------------------------
// Slack

pub(crate) struct SlackChat {
    /// Numbers each click's trigger id: Slack makes one per click, and dedupes by it.
    clicks: std::sync::atomic::AtomicUsize,
    /// The replica interactions go to.
    clicks_to: std::sync::atomic::AtomicUsize,
    apps: Vec<TestApp>,
    slack: FakeSlack,
    llm: FakeLlm,
    settings: Vec<(String, String)>,
}

pub(crate) async fn slack(extra: &[(&str, &str)]) -> SlackChat {
    let (llm, slack) = (FakeLlm::start().await, FakeSlack::start().await);
    let settings = settings_of(vec![llm.settings(), slack.settings()], &[], extra);
    let app = spawn(&settings).await;
    SlackChat {
        clicks: std::sync::atomic::AtomicUsize::new(0),
        clicks_to: std::sync::atomic::AtomicUsize::new(0),
        apps: vec![app],
        slack,
        llm,
        settings,
    }
}

pub(crate) const SLACK_CHANNEL: &str = "C0SALES";

fn slack_user(who: Who) -> &'static str {
    match who {
        Who::Asker => "U1",
        Who::Stranger => "U2",
    }
}

impl SlackChat {
    async fn post(
        &self,
        app: &TestApp,
        path: &str,
        content_type: &str,
        body: String,
    ) -> reqwest::Response {
        let url = format!("{}{path}", app.address);
        fake_slack::send_signed(&app.client, &url, content_type, body).await
    }

    async fn interaction(&self, payload: Value) -> reqwest::Response {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form");
        let replica = self.clicks_to.load(std::sync::atomic::Ordering::Relaxed);
        self.post(
            &self.apps[replica],
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            body,
        )
        .await
    }

    /// Waits for a draft whose id is not among `known`: its message and id.
    async fn new_draft(&self, known: &[String]) -> (String, String) {
        eventually("a new draft", || {
            self.slack
                .calls_to("chat.update")
                .into_iter()
                .find_map(|call| {
                    let draft = slack_draft_id(&call.params)?;
                    (!known.contains(&draft)).then(|| (call.param("ts").unwrap_or_default(), draft))
                })
        })
        .await
    }

    fn drafts(&self) -> Vec<String> {
        self.slack
            .calls_to("chat.update")
            .iter()
            .filter_map(|call| slack_draft_id(&call.params))
            .collect()
    }
}

/// The draft id a Slack message's Run button carries.
pub(crate) fn slack_draft_id(params: &Value) -> Option<String> {
    params["blocks"]
        .as_array()?
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| e["action_id"] == "querybot_run")?["value"]
        .as_str()
        .map(str::to_owned)
}

#[async_trait]
impl Chat for SlackChat {
    fn llm(&self) -> &FakeLlm {
        &self.llm
    }

    fn app(&self) -> &TestApp {
        &self.apps[0]
    }

    fn app_mut(&mut self) -> &mut TestApp {
        &mut self.apps[0]
    }

    async fn ask_as(&self, who: Who, question: &str) -> Drafted {
        let known = self.drafts();
        self.send_question(who, question).await;
        let (message, draft) = self.new_draft(&known).await;
        Drafted {
            draft,
            thread: message.clone(),
            message,
        }
    }

    async fn send_question(&self, who: Who, question: &str) {
        // Slack makes a trigger per command, and querybot dedupes deliveries by it.
        let trigger = format!(
            "trigger-ask-{}",
            self.clicks
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let body = serde_urlencoded::to_string([
            ("team_id", TEAM_ID),
            ("channel_id", SLACK_CHANNEL),
            ("user_id", slack_user(who)),
            ("command", "/ask"),
            ("text", question),
            (
                "response_url",
                &format!("http://{}/response/1", self.slack.address),
            ),
            ("trigger_id", &trigger),
        ])
        .expect("form");
        let response = self
            .post(
                &self.apps[0],
                "/slack/commands",
                "application/x-www-form-urlencoded",
                body,
            )
            .await;
        assert_eq!(response.status(), 200);
    }

    async fn rerun(&self, who: Who, drafted: &Drafted) -> Drafted {
        let known = self.drafts();
        self.click(who, drafted, Action::Rerun).await;
        let (message, draft) = self.new_draft(&known).await;
        Drafted {
            draft,
            thread: message.clone(),
            message,
        }
    }

    async fn say_what_was_wrong(&self, who: Who, drafted: &Drafted, text: &str) {
        let opened = self.slack.calls_to("views.open").len();
        self.click(who, drafted, Action::Bad).await;
        let view = self
            .slack
            .wait_for("views.open", opened + 1)
            .await
            .remove(opened);
        assert_eq!(view.params["view"]["callback_id"], "querybot_feedback");
        let metadata = view.params["view"]["private_metadata"]
            .as_str()
            .expect("metadata")
            .to_owned();
        let submit = json!({
            "type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": slack_user(who)},
            "view": {"id": format!("V{opened}"), "callback_id": "querybot_feedback",
                     "private_metadata": metadata,
                     "state": {"values": {"comment": {"comment": {"type": "plain_text_input", "value": text}}}}}
        });
        let response = self.interaction(submit).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.text().await.expect("a body"),
            "",
            "the modal closes"
        );
    }

    async fn says(&self, text: &str) {
        eventually(&format!("`{text}` said"), || {
            let said = ["chat.postMessage", "chat.update", "chat.postEphemeral"]
                .iter()
                .flat_map(|method| self.slack.calls_to(method))
                .any(|c| c.params.to_string().contains(text));
            said.then_some(())
        })
        .await
    }

    async fn follow_up(&self, drafted: &Drafted, text: &str) -> Drafted {
        let known = self.drafts();
        let reply = json!({
            "type": "message", "channel": SLACK_CHANNEL, "channel_type": "channel", "user": "U1",
            "text": text, "ts": format!("1700000050.{:06}", known.len()), "thread_ts": drafted.thread
        });
        let body =
            fake_slack::event_callback(&format!("EvFollow{}", known.len()), reply).to_string();
        self.post(&self.apps[0], "/slack/events", "application/json", body)
            .await;
        let (message, draft) = self.new_draft(&known).await;
        Drafted {
            draft,
            message,
            thread: drafted.thread.clone(),
        }
    }

    async fn click(&self, who: Who, drafted: &Drafted, action: Action) {
        let action_id = match action {
            Action::Run => "querybot_run",
            Action::Edit => "querybot_edit",
            Action::Cancel => "querybot_cancel",
            Action::Stop => "querybot_stop",
            Action::Good => "querybot_good",
            Action::Bad => "querybot_bad",
            Action::Rerun => "querybot_rerun",
        };
        let payload = fake_slack::click_payload(
            slack_user(who),
            action_id,
            &drafted.draft,
            &drafted.message,
            &format!(
                "trigger-click-{}",
                self.clicks
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
        );
        assert_eq!(self.interaction(payload).await.status(), 200);
    }

    async fn draft_text(&self, drafted: &Drafted, versions: usize) -> String {
        eventually(&format!("version {versions} of the draft"), || {
            let shown: Vec<String> = self
                .slack
                .calls_to("chat.update")
                .iter()
                .filter(|c| c.param("ts").as_deref() == Some(drafted.message.as_str()))
                .map(|c| c.params["blocks"].to_string())
                .collect();
            shown.get(versions - 1).cloned()
        })
        .await
    }

    async fn answer(&self, drafted: &Drafted, n: usize) -> Answered {
        let uploads = eventually(&format!("answer {n}"), || {
            let uploads = self.slack.uploads();
            let csvs = uploads
                .iter()
                .filter(|u| u.filename == "result.csv")
                .count();
            (csvs >= n).then_some(uploads)
        })
        .await;
        let text = self
            .slack
            .calls_to("chat.postMessage")
            .into_iter()
            .filter(|c| c.param("thread_ts").as_deref() == Some(drafted.thread.as_str()) && c.ok())
            .filter(|c| !c.params.to_string().contains("writing SQL"))
            .nth(n - 1)
            .map(|c| c.params["blocks"].to_string())
            .unwrap_or_default();
        Answered {
            text,
            files: uploads.into_iter().map(|u| (u.filename, u.bytes)).collect(),
        }
    }

    fn answers_so_far(&self) -> usize {
        self.slack
            .uploads()
            .iter()
            .filter(|u| u.filename == "result.csv")
            .count()
    }

    async fn said_in_thread(&self, drafted: &Drafted, text: &str) {
        eventually(&format!("`{text}` in the thread"), || {
            self.slack
                .calls_to("chat.postMessage")
                .iter()
                .filter(|c| c.param("thread_ts").as_deref() == Some(drafted.thread.as_str()))
                .any(|c| c.params.to_string().contains(text))
                .then_some(())
        })
        .await
    }

    fn send_clicks_to(&self, replica: usize) {
        self.clicks_to
            .store(replica, std::sync::atomic::Ordering::Relaxed);
    }

    async fn private_notices(&self, who: Who, n: usize) -> Vec<String> {
        eventually(&format!("{n} private notices"), || {
            let told: Vec<String> = self
                .slack
                .calls_to("chat.postEphemeral")
                .iter()
                .filter(|c| c.param("user").as_deref() == Some(slack_user(who)))
                .map(|c| c.params["blocks"].to_string())
                .collect();
            (told.len() >= n).then_some(told)
        })
        .await
    }

    async fn edit(&self, drafted: &Drafted, sql: &str) -> Result<(), String> {
        let opened = self.slack.calls_to("views.open").len();
        self.click(Who::Asker, drafted, Action::Edit).await;
        let view = self
            .slack
            .wait_for("views.open", opened + 1)
            .await
            .remove(opened);
        let metadata = view.params["view"]["private_metadata"]
            .as_str()
            .expect("metadata")
            .to_owned();
        let submit = json!({
            "type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": "U1"},
            "view": {"id": "V1", "callback_id": "querybot_edit_sql", "private_metadata": metadata,
                     "state": {"values": {"sql": {"sql": {"type": "plain_text_input", "value": sql}}}}}
        });
        let response = self.interaction(submit).await;
        let text = response.text().await.expect("a body");
        if text.is_empty() {
            return Ok(());
        }
        let errors: Value = serde_json::from_str(&text).expect("errors json");
        Err(errors["errors"]["sql"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    fn rate_limit_next_post(&self) {
        self.slack.rate_limit_next("chat.postMessage", 1);
    }

    fn post_attempts(&self) -> Vec<(Instant, u16)> {
        self.slack
            .calls_to("chat.postMessage")
            .iter()
            .map(|c| (c.at, c.status))
            .collect()
    }

    async fn deliver_repeatedly(&self, question: &str, copies: usize) {
        let known = self.drafts();
        let event = fake_slack::mention(question, "1700000900.000100");
        let body = fake_slack::event_callback("EvRepeated", event).to_string();
        let deliveries = self
            .apps
            .iter()
            .flat_map(|app| std::iter::repeat_n(app, copies))
            .map(|app| self.post(app, "/slack/events", "application/json", body.clone()));
        for response in futures_util::future::join_all(deliveries).await {
            assert_eq!(response.status(), 200);
        }
        self.new_draft(&known).await;
    }

    async fn add_replica(&mut self, extra: &[(&str, &str)]) {
        let settings = settings_of(vec![], &self.settings, extra);
        self.apps.push(spawn(&settings).await);
    }

    fn violations(&self) -> Vec<String> {
        Vec::new()
    }
}

// ---------------------------------------------------------------------------------------
// Discord

pub(crate) struct DiscordChat {
    apps: Vec<TestApp>,
    discord: FakeDiscord,
    llm: FakeLlm,
    settings: Vec<(String, String)>,
}

pub(crate) async fn discord(extra: &[(&str, &str)]) -> DiscordChat {
    let (llm, discord) = (FakeLlm::start().await, FakeDiscord::start().await);
    let settings = settings_of(vec![llm.settings(), discord.settings()], &[], extra);
    let app = spawn(&settings).await;
    discord.wait_identified(1).await;
    DiscordChat {
        apps: vec![app],
        discord,
        llm,
        settings,
    }
}

const MESSAGE: &str = "/channels/{channel_id}/messages/{message_id}";
const MESSAGES: &str = "/channels/{channel_id}/messages";
const CALLBACK: &str = "/interactions/{interaction_id}/{interaction_token}/callback";
const FOLLOWUP: &str = "/webhooks/{webhook_id}/{webhook_token}";

fn discord_user(who: Who) -> u64 {
    match who {
        Who::Asker => fake_discord::ASKER,
        Who::Stranger => fake_discord::STRANGER,
    }
}

fn discord_draft_id(body: &Value) -> Option<String> {
    body["components"]
        .as_array()?
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .find_map(|b| {
            b["custom_id"]
                .as_str()?
                .strip_prefix("querybot_run:")
                .map(str::to_owned)
        })
}

impl DiscordChat {
    fn drafts(&self) -> Vec<String> {
        self.discord
            .requests()
            .iter()
            .filter(|r| r.is("PATCH", MESSAGE) && r.status < 300)
            .filter_map(|r| discord_draft_id(&r.body))
            .collect()
    }

    async fn new_draft(&self, known: &[String], thread: Option<String>) -> Drafted {
        let (path, draft) = eventually("a new draft", || {
            self.discord.requests().into_iter().find_map(|r| {
                let draft = discord_draft_id(&r.body).filter(|_| r.is("PATCH", MESSAGE))?;
                (!known.contains(&draft)).then_some((r.path, draft))
            })
        })
        .await;
        let message = path.rsplit('/').next().unwrap_or_default().to_owned();
        let channel = path.split('/').nth(2).unwrap_or_default().to_owned();
        Drafted {
            draft,
            message,
            thread: thread.unwrap_or(channel),
        }
    }

    fn answers(&self) -> Vec<fake_discord::Request> {
        self.discord
            .requests()
            .into_iter()
            .filter(|r| r.is("POST", MESSAGES) && r.status < 300)
            .filter(|r| r.files.iter().any(|(_, name, _)| name == "result.csv"))
            .collect()
    }
}

#[async_trait]
impl Chat for DiscordChat {
    fn llm(&self) -> &FakeLlm {
        &self.llm
    }

    fn app(&self) -> &TestApp {
        &self.apps[0]
    }

    fn app_mut(&mut self) -> &mut TestApp {
        &mut self.apps[0]
    }

    async fn ask_as(&self, who: Who, question: &str) -> Drafted {
        let known = self.drafts();
        let text = format!("<@{BOT_USER}> {question}");
        let asked = self
            .discord
            .say(discord_user(who), fake_discord::CHANNEL, &text, true);
        // The question's thread has the question's id.
        self.new_draft(&known, Some(asked.to_string())).await
    }

    async fn send_question(&self, who: Who, question: &str) {
        let text = format!("<@{BOT_USER}> {question}");
        self.discord
            .say(discord_user(who), fake_discord::CHANNEL, &text, true);
    }

    async fn rerun(&self, who: Who, drafted: &Drafted) -> Drafted {
        let known = self.drafts();
        self.click(who, drafted, Action::Rerun).await;
        self.new_draft(&known, Some(drafted.thread.clone())).await
    }

    async fn say_what_was_wrong(&self, who: Who, drafted: &Drafted, text: &str) {
        let modals = |discord: &FakeDiscord| -> Vec<Value> {
            discord
                .requests()
                .into_iter()
                .filter(|r| r.is("POST", CALLBACK) && r.body["type"] == json!(9))
                .map(|r| r.body)
                .collect()
        };
        let before = modals(&self.discord).len();
        self.click(who, drafted, Action::Bad).await;
        let modal = eventually("the feedback modal", || {
            modals(&self.discord).get(before).cloned()
        })
        .await;
        let custom_id = modal["data"]["custom_id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let input = modal["data"]["components"][0]["components"][0]["custom_id"]
            .as_str()
            .expect("an input")
            .to_owned();
        let message: u64 = drafted.message.parse().expect("a message id");
        let submitted =
            self.discord
                .submit_modal(discord_user(who), message, &custom_id, &input, text);
        self.discord.dispatch_interaction(&submitted);
    }

    async fn says(&self, text: &str) {
        eventually(&format!("`{text}` said"), || {
            self.discord
                .requests()
                .iter()
                .any(|r| r.status < 300 && r.body.to_string().contains(text))
                .then_some(())
        })
        .await
    }

    async fn follow_up(&self, drafted: &Drafted, text: &str) -> Drafted {
        let known = self.drafts();
        let thread: u64 = drafted.thread.parse().expect("a thread id");
        self.discord.say(
            fake_discord::ASKER,
            thread,
            &format!("<@{BOT_USER}> {text}"),
            true,
        );
        self.new_draft(&known, Some(drafted.thread.clone())).await
    }

    async fn click(&self, who: Who, drafted: &Drafted, action: Action) {
        let action = match action {
            Action::Run => "querybot_run",
            Action::Edit => "querybot_edit",
            Action::Cancel => "querybot_cancel",
            Action::Stop => "querybot_stop",
            Action::Good => "querybot_good",
            Action::Bad => "querybot_bad",
            Action::Rerun => "querybot_rerun",
        };
        let message: u64 = drafted.message.parse().expect("a message id");
        let payload = self.discord.click(
            discord_user(who),
            message,
            &format!("{action}:{}", drafted.draft),
        );
        self.discord.dispatch_interaction(&payload);
    }

    async fn draft_text(&self, drafted: &Drafted, versions: usize) -> String {
        let message: u64 = drafted.message.parse().expect("a message id");
        // The first version is the placeholder the draft replaced.
        let what = format!("version {versions} of the draft {message}");
        eventually(&what, || {
            self.discord.history(message).get(versions).cloned()
        })
        .await
    }

    async fn answer(&self, drafted: &Drafted, n: usize) -> Answered {
        let files = eventually(&format!("answer {n}"), || {
            self.answers().into_iter().nth(n - 1)
        })
        .await;
        let text = self
            .discord
            .requests()
            .into_iter()
            .filter(|r| {
                r.is("POST", MESSAGES) && r.path == format!("/channels/{}/messages", drafted.thread)
            })
            .filter(|r| r.files.is_empty() && !r.content().contains("writing SQL"))
            .nth(n - 1)
            .map(|r| r.content())
            .unwrap_or_default();
        Answered {
            text,
            files: files
                .files
                .into_iter()
                .map(|(_, name, bytes)| (name, bytes))
                .collect(),
        }
    }

    fn answers_so_far(&self) -> usize {
        self.answers().len()
    }

    async fn said_in_thread(&self, drafted: &Drafted, text: &str) {
        let path = format!("/channels/{}/messages", drafted.thread);
        eventually(&format!("`{text}` in the thread"), || {
            self.discord
                .requests()
                .iter()
                .filter(|r| r.is("POST", MESSAGES) && r.path == path && r.status < 300)
                .any(|r| r.content().contains(text))
                .then_some(())
        })
        .await
    }

    /// Discord's gateway sends every event to every session: each replica gets the click,
    /// and the store decides which handles it.
    fn send_clicks_to(&self, _replica: usize) {}

    async fn private_notices(&self, who: Who, n: usize) -> Vec<String> {
        let user = discord_user(who);
        eventually(&format!("{n} private notices"), || {
            let told: Vec<String> = self
                .discord
                .requests()
                .iter()
                .filter(|r| r.acting == Some(user) && r.status < 300)
                .filter_map(|r| {
                    if r.is("POST", FOLLOWUP) && r.body["flags"] == json!(64) {
                        return Some(r.content());
                    }
                    let data = &r.body["data"];
                    (r.is("POST", CALLBACK) && data["flags"] == json!(64))
                        .then(|| data["content"].as_str().unwrap_or_default().to_owned())
                })
                .collect();
            (told.len() >= n).then_some(told)
        })
        .await
    }

    async fn edit(&self, drafted: &Drafted, sql: &str) -> Result<(), String> {
        let callbacks = |discord: &FakeDiscord| -> Vec<Value> {
            discord
                .requests()
                .into_iter()
                .filter(|r| r.is("POST", CALLBACK))
                .map(|r| r.body)
                .collect()
        };
        let before = callbacks(&self.discord).len();
        self.click(Who::Asker, drafted, Action::Edit).await;
        let modal = eventually("the editor", || {
            callbacks(&self.discord).get(before).cloned()
        })
        .await;
        assert_eq!(modal["type"], json!(9), "a modal: {modal}");
        let custom_id = modal["data"]["custom_id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let message: u64 = drafted.message.parse().expect("a message id");
        let submitted =
            self.discord
                .submit_modal(fake_discord::ASKER, message, &custom_id, "sql", sql);
        self.discord.dispatch_interaction(&submitted);
        let answer = eventually("the edit's answer", || {
            callbacks(&self.discord).get(before + 1).cloned()
        })
        .await;
        match answer["type"].as_u64() {
            Some(7) => Ok(()),
            _ => Err(answer["data"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned()),
        }
    }

    fn rate_limit_next_post(&self) {
        self.discord.rate_limit_next("POST", MESSAGES, 1, 1.0);
    }

    fn post_attempts(&self) -> Vec<(Instant, u16)> {
        self.discord
            .requests()
            .iter()
            .filter(|r| r.is("POST", MESSAGES))
            .map(|r| (r.at, r.status))
            .collect()
    }

    async fn deliver_repeatedly(&self, question: &str, copies: usize) {
        let known = self.drafts();
        let text = format!("<@{BOT_USER}> {question}");
        self.discord
            .say(fake_discord::ASKER, fake_discord::CHANNEL, &text, true);
        for _ in 1..copies {
            self.discord.redeliver_last("MESSAGE_CREATE");
        }
        self.new_draft(&known, None).await;
    }

    async fn add_replica(&mut self, extra: &[(&str, &str)]) {
        let settings = settings_of(vec![], &self.settings, extra);
        self.apps.push(spawn(&settings).await);
        self.discord.wait_identified(self.apps.len()).await;
    }

    fn violations(&self) -> Vec<String> {
        self.discord.violations()
    }
}
