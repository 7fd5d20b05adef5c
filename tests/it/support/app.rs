//! Spawns the real app on 127.0.0.1:0 with its own store and data folder.

use std::collections::HashMap;

use querybot::app::App;
use querybot::config::Config;
use tokio::sync::oneshot;

pub(crate) struct TestApp {
    pub(crate) address: String,
    pub(crate) client: reqwest::Client,
    pub(crate) store: querybot::store::Store,
    _data: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// What SIGTERM does to `serve`.
    pub(crate) fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Waits for `serve` to return after [`TestApp::shut_down`].
    pub(crate) async fn served(&mut self) -> anyhow::Result<()> {
        match self.served.take() {
            Some(served) => served.await.expect("serve did not panic"),
            None => Ok(()),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request reaches the app")
    }
}

/// Builds the app from settings as the binary would, with a temp data folder and store.
pub(crate) async fn spawn_app(settings: &[(&str, &str)]) -> TestApp {
    let data = tempfile::tempdir().expect("temp dir");
    let mut env: HashMap<String, String> = settings
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.entry("QUERYBOT_DATA_DIR".into())
        .or_insert_with(|| data.path().display().to_string());
    env.entry("QUERYBOT_LOG".into())
        .or_insert_with(|| "warn".into());
    let config = Config::from_env(&env).expect("test settings are valid");
    let app = App::build(config).await.expect("app builds");
    let store = app.store.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let (shutdown, stop) = oneshot::channel::<()>();
    let served = tokio::spawn(app.serve(listener, async move {
        let _ = stop.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::new(),
        store,
        _data: data,
        shutdown: Some(shutdown),
        served: Some(served),
    }
}

/// The app's Bot wired to a fake LLM, with a temp data folder (demo warehouse) and store.
pub(crate) struct TestBot {
    pub(crate) app: App,
    pub(crate) bot: querybot::bot::Bot,
    _data: tempfile::TempDir,
}

pub(crate) async fn test_bot(
    llm: &crate::support::fake_llm::FakeLlm,
    settings: &[(&str, &str)],
) -> TestBot {
    let data = tempfile::tempdir().expect("temp dir");
    let mut env: HashMap<String, String> = llm
        .settings()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    env.insert(
        "QUERYBOT_DATA_DIR".into(),
        data.path().display().to_string(),
    );
    env.insert("QUERYBOT_LOG".into(), "warn".into());
    env.extend(
        settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let config = Config::from_env(&env).expect("test settings are valid");
    let app = App::build(config).await.expect("app builds");
    TestBot {
        bot: app.bot.clone(),
        app,
        _data: data,
    }
}
