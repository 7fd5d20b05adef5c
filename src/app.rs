//! Builds querybot's components from the configuration and serves them over HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::bot::{Bot, RunPermission};
use crate::config::{Config, demo_warehouse_path};
use crate::demo;
use crate::llm;
use crate::pipeline::{Pipeline, Settings, examples};
use crate::store::Store;
#[cfg(feature = "discord")]
use crate::surface::discord::{self, Discord};
#[cfg(feature = "slack")]
use crate::surface::slack::{self, Slack};
use crate::surface::{Courier, Interrupted};
use crate::warehouse::{self, Connections};
use tokio_util::task::TaskTracker;

/// Everything a running bot holds.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub warehouses: Connections,
    pub bot: Bot,
    /// The Slack surface, when Slack is configured.
    #[cfg(feature = "slack")]
    pub slack: Option<Slack>,
    /// The Discord surface, when Discord is configured.
    #[cfg(feature = "discord")]
    pub discord: Option<Discord>,
    /// Work the surfaces started for acknowledged deliveries; shutdown waits for it.
    pub tasks: TaskTracker,
}

impl App {
    /// Opens the store (applying migrations) and the warehouse pools. With no warehouse
    /// configured, writes the demo warehouse first if it is missing.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        ensure_demo_warehouse(&config).await?;
        let store = Store::connect(&config.store_url).await?;
        store
            .migrate()
            .await
            .context("cannot prepare the store's tables")?;
        let mut warehouses = BTreeMap::new();
        let mut verified = BTreeMap::new();
        for (name, connection) in &config.connections {
            let warehouse = warehouse::connect(connection)?;
            warehouses.insert(name.clone(), warehouse);
            if let Some(path) = &connection.examples {
                verified.insert(name.clone(), examples::load(path)?);
            }
        }
        let warehouses = Connections::new(warehouses);
        check_db_roles(&config, &warehouses).await?;
        let permission = if config.anyone_may_run {
            RunPermission::Anyone
        } else {
            RunPermission::Author
        };
        let pipeline = Pipeline::new(
            store.clone(),
            warehouses.clone(),
            llm::connect(&config.llm),
            Settings::from_config(&config),
            verified,
        );
        let bot = Bot::new(
            pipeline,
            permission,
            crate::bot::Access::from_config(&config),
            config.usage_limits,
        )
        .admitting(config.max_questions_in_flight);
        let tasks = TaskTracker::new();
        #[cfg(not(feature = "slack"))]
        if config.slack.enabled() {
            anyhow::bail!(
                "Slack is configured (SLACK_BOT_TOKEN or SLACK_CLIENT_ID), but this querybot was \
                 built without Slack support; build it with the `slack` feature (on by default)"
            );
        }
        #[cfg(not(feature = "discord"))]
        if config.discord.enabled() {
            anyhow::bail!(
                "Discord is configured (DISCORD_TOKEN), but this querybot was built without \
                 Discord support; build it with the `discord` feature (on by default)"
            );
        }
        #[cfg(feature = "slack")]
        let slack = if config.slack.enabled() {
            let slack = Slack::new(
                bot.clone(),
                crate::bot::SurfaceState::new(store.clone()),
                config.slack.clone(),
                config.channels.slack.clone(),
                tasks.clone(),
            )
            .context("cannot set up Slack")?;
            Some(slack)
        } else {
            None
        };
        #[cfg(feature = "discord")]
        let discord = config.discord.enabled().then(|| {
            Discord::new(
                bot.clone(),
                crate::bot::SurfaceState::new(store.clone()),
                config.discord.clone(),
                config.channels.discord.clone(),
                tasks.clone(),
            )
        });
        Ok(App {
            config: Arc::new(config),
            store,
            warehouses,
            bot,
            #[cfg(feature = "slack")]
            slack,
            #[cfg(feature = "discord")]
            discord,
            tasks,
        })
    }

    /// Serves HTTP on `listener` until `shutdown` completes, then drains: readiness turns 503
    /// and new deliveries are refused (platforms retry them elsewhere), Socket Mode closes,
    /// and work already acknowledged may finish for `QUERYBOT_SHUTDOWN_GRACE` before the
    /// server stops.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let address = listener.local_addr().context("listener has no address")?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        // Without a surface built in, there is nothing to add.
        #[cfg_attr(not(any(feature = "slack", feature = "discord")), allow(unused_mut))]
        let mut couriers: Vec<Arc<dyn Courier>> = Vec::new();
        #[cfg(feature = "slack")]
        if let Some(slack) = &self.slack {
            couriers.push(Arc::new(slack.clone()));
        }
        #[cfg(feature = "discord")]
        if let Some(discord) = &self.discord {
            couriers.push(Arc::new(discord.clone()));
        }
        tokio::spawn(recover_deliveries(
            self.store.clone(),
            couriers.clone(),
            self.tasks.clone(),
            stopped.clone(),
        ));
        tokio::spawn(recover_runs(self.store.clone(), couriers, stopped.clone()));
        tokio::spawn(housekeeping(self.store.clone(), stopped.clone()));
        #[cfg(feature = "slack")]
        if let (Some(slack), Some(token)) = (&self.slack, &self.config.slack.app_token) {
            tracing::info!("Slack Socket Mode on");
            tokio::spawn(slack::socket_mode(
                slack.clone(),
                token.clone(),
                stopped.clone(),
            ));
        }
        // A gateway that stops for good (a bad token, an intent not enabled) stops the process
        // with the reason; a clean close at shutdown is awaited before exit.
        let (gateway_failed, mut gateway_failure) = tokio::sync::mpsc::channel::<String>(1);
        #[cfg(feature = "discord")]
        let gateway = self.discord.clone().map(|discord| {
            tracing::info!("Discord gateway on");
            let stopped = stopped.clone();
            tokio::spawn(async move {
                if let Err(error) = discord::serve(discord, stopped).await {
                    let _ = gateway_failed.send(crate::bot::error_chain(&error)).await;
                }
            })
        });
        #[cfg(not(feature = "discord"))]
        let gateway: Option<tokio::task::JoinHandle<()>> = {
            drop(gateway_failed);
            None
        };
        tracing::info!(%address, "serving HTTP");
        let health = crate::http::Health {
            store: self.store.clone(),
            warehouse: self.warehouses.default_connection().clone(),
            tasks: self.tasks.clone(),
        };
        // Without a surface built in, there is nothing to add.
        #[cfg_attr(not(any(feature = "slack", feature = "discord")), allow(unused_mut))]
        let mut surfaces = axum::Router::new();
        #[cfg(feature = "slack")]
        if let Some(slack) = &self.slack {
            surfaces = surfaces.merge(slack::router(slack.clone()));
        }
        #[cfg(feature = "discord")]
        if let Some(discord) = &self.discord {
            surfaces = surfaces.merge(discord::router(discord.clone()));
        }
        let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(
            axum::serve(listener, crate::http::router(health, surfaces))
                .with_graceful_shutdown(async move {
                    let _ = http_stopped.await;
                })
                .into_future(),
        );
        let fatal = tokio::select! {
            () = shutdown => None,
            Some(problem) = gateway_failure.recv() => Some(problem),
        };
        // From here on: not ready, no new deliveries, no new Socket Mode envelopes.
        self.tasks.close();
        let _ = stop.send(true);
        let grace = self.config.shutdown_grace;
        tracing::info!(
            in_flight = self.tasks.len(),
            grace_s = grace.as_secs(),
            "draining"
        );
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                unfinished = self.tasks.len(),
                "shutdown grace over: stopping questions and runs in flight"
            );
            // Each tells its thread (a run's draft becomes runnable again) before the exit.
            self.bot.shut_down();
            if tokio::time::timeout(STOP_TELLING, self.tasks.wait())
                .await
                .is_err()
            {
                tracing::warn!(
                    unfinished = self.tasks.len(),
                    "work in flight did not stop in time"
                );
            }
        }
        if let Some(gateway) = gateway {
            // The gateway closes at once; a hung connection must not hold the exit.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), gateway).await;
        }
        for warehouse in self.warehouses.iter() {
            warehouse.close().await;
        }
        let _ = stop_http.send(());
        let served = match server.await {
            Ok(served) => served.context("HTTP server failed"),
            Err(error) => Err(anyhow::anyhow!("HTTP server task failed: {error}")),
        };
        match fatal {
            Some(problem) => Err(anyhow::anyhow!(problem)),
            None => served,
        }
    }
}

/// How long work in flight has, after the grace, to tell its threads it stopped.
const STOP_TELLING: std::time::Duration = std::time::Duration::from_secs(3);

/// How long a draft waits for Run before it expires.
const DRAFT_LIFETIME_HOURS: i64 = 24;
/// How long delivery ids are kept for dedupe; platforms stop retrying within minutes.
const EVENT_MEMORY_HOURS: i64 = 48;

/// Keeps this process's claims on the deliveries it handles, and takes back those another
/// process acknowledged and left unhandled (it died), for the courier of their platform to
/// handle again. Claims are renewed until the last work in flight ends, through the drain;
/// nothing is taken back once shutdown begins.
async fn recover_deliveries(
    store: Store,
    couriers: Vec<Arc<dyn Courier>>,
    tasks: TaskTracker,
    stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(crate::store::DELIVERY_RENEWAL);
    loop {
        every.tick().await;
        let now = chrono::Utc::now();
        if let Err(error) = store.renew_deliveries(now).await {
            tracing::warn!(%error, "cannot renew the claims on deliveries in hand");
        }
        if *stopped.borrow() {
            if tasks.is_empty() {
                return;
            }
            continue;
        }
        let platforms: Vec<&str> = couriers.iter().map(|c| c.platform().as_str()).collect();
        match store.reclaim_deliveries(now, &platforms).await {
            Ok((taken, given_up)) => {
                for event in given_up {
                    tracing::error!(
                        event = event.as_str(),
                        attempts = crate::store::DELIVERY_ATTEMPTS,
                        "a delivery failed every attempt to handle it; given up"
                    );
                }
                for delivery in taken {
                    let platform = delivery.event.platform();
                    if let Some(courier) =
                        couriers.iter().find(|c| c.platform().as_str() == platform)
                    {
                        courier.replay(delivery).await;
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot look for deliveries left unhandled"),
        }
    }
}

/// Takes back, every half lease, the runs whose process is gone (their lease passed): each
/// draft is runnable again, its run recorded as interrupted, and its conversation told, on
/// the platform it is on, until shutdown. Answers whose process died while posting them are
/// told too, with the draft showing it ran but was not all posted.
async fn recover_runs(
    store: Store,
    couriers: Vec<Arc<dyn Courier>>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(crate::store::RUN_LEASE / 2);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = every.tick() => {}
        }
        match store.recover_abandoned_runs(chrono::Utc::now()).await {
            Ok(drafts) => {
                for draft in drafts {
                    tracing::warn!(draft_id = %draft.id, "a run's process stopped before it finished; the draft is runnable again");
                    tell_interrupted(&store, &couriers, &draft, Interrupted::Run).await;
                }
            }
            Err(error) => tracing::warn!(%error, "cannot look for abandoned runs"),
        }
        match store.recover_undelivered_answers(chrono::Utc::now()).await {
            Ok(drafts) => {
                for draft in drafts {
                    tracing::warn!(draft_id = %draft.id, "an answer's process stopped while posting it; the thread is told");
                    tell_interrupted(&store, &couriers, &draft, Interrupted::Answer).await;
                }
            }
            Err(error) => tracing::warn!(%error, "cannot look for answers left half posted"),
        }
    }
}

/// Tells a taken-back run's conversation, through the surface of its platform.
async fn tell_interrupted(
    store: &Store,
    couriers: &[Arc<dyn Courier>],
    draft: &crate::store::Draft,
    what: Interrupted,
) {
    let conversation = match store.conversation_key(draft.conversation).await {
        Ok(Some(conversation)) => conversation,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(%error, "cannot find an interrupted run's conversation");
            return;
        }
    };
    let Some(courier) = couriers
        .iter()
        .find(|c| c.platform() == conversation.platform)
    else {
        return;
    };
    if let Err(error) = courier.tell_interrupted(&conversation, draft, what).await {
        tracing::warn!(%error, draft_id = %draft.id, "cannot tell a conversation its run was interrupted");
    }
}

/// Expires stale drafts, forgets old delivery ids and old uses counted against limits,
/// every ten minutes, until shutdown.
async fn housekeeping(store: Store, mut stopped: tokio::sync::watch::Receiver<bool>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = every.tick() => {}
        }
        let now = chrono::Utc::now();
        match store
            .expire_drafts(now - chrono::Duration::hours(DRAFT_LIFETIME_HOURS))
            .await
        {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "expired unconfirmed drafts"),
            Err(error) => tracing::warn!(%error, "cannot expire drafts"),
        }
        if let Err(error) = store.forget_usage(now - chrono::Duration::days(1)).await {
            tracing::warn!(%error, "cannot forget old uses counted against limits");
        }
        if let Err(error) = store
            .forget_events(now - chrono::Duration::hours(EVENT_MEMORY_HOURS))
            .await
        {
            tracing::warn!(%error, "cannot forget old delivery ids");
        }
    }
}

/// Stops start-up when a connection maps people to a database role querybot cannot act as,
/// naming the setting; a warehouse that cannot be reached now is checked at each run instead.
async fn check_db_roles(config: &Config, warehouses: &Connections) -> anyhow::Result<()> {
    for (name, connection) in &config.connections {
        let mut roles: Vec<String> = connection.access.db_roles.values().cloned().collect();
        roles.sort();
        roles.dedup();
        let Some(warehouse) = warehouses.get(name).filter(|_| !roles.is_empty()) else {
            continue;
        };
        match warehouse.unusable_roles(&roles).await {
            Ok(unusable) => {
                if let Some((role, why)) = unusable.first() {
                    anyhow::bail!(
                        "connections.{name}.db_roles: querybot cannot act as database role `{role}`: {why}"
                    );
                }
            }
            Err(error) => tracing::warn!(
                connection = %name,
                error = %crate::bot::error_chain(&error),
                "cannot check the database roles now; each run will"
            ),
        }
    }
    Ok(())
}

async fn ensure_demo_warehouse(config: &Config) -> anyhow::Result<()> {
    let path = demo_warehouse_path(&config.data_dir);
    if config.uses_demo_warehouse() && !path.exists() {
        tracing::info!(path = %path.display(), "no warehouse configured: writing the demo warehouse");
        demo::generate(&path, demo::DEFAULT_SEED)
            .await
            .with_context(|| format!("cannot write the demo warehouse at {}", path.display()))?;
    }
    Ok(())
}
