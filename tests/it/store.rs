//! The store's behaviour, one suite run against both SQLite and PostgreSQL.

use std::sync::Arc;

use chrono::{Duration, Utc};
use querybot::catalog::{Catalog, Column, Table, TableKind};
use querybot::config::SecretUrl;
use querybot::dialect::Dialect;
use querybot::store::{
    ConversationId, ConversationKey, DraftState, EventId, NewDraft, NewRun, Platform, Scan,
    SlackInstallation, Store, UserId,
};

use crate::support::db::{PgDatabase, SqliteFile};

/// Keeps a test's database alive as long as its store.
enum Backing {
    Postgres(PgDatabase),
    Sqlite(SqliteFile),
}

impl Backing {
    fn url(&self) -> SecretUrl {
        match self {
            Backing::Postgres(db) => SecretUrl::new(db.url.clone()),
            Backing::Sqlite(file) => SecretUrl::new(format!("{}?mode=rwc", file.url())),
        }
    }

    /// A second, independent connection pool on the same database (a second replica).
    async fn open(&self) -> Store {
        let store = Store::connect(&self.url()).await.expect("store connects");
        store.migrate().await.expect("migrations apply");
        store
    }
}

async fn postgres() -> (Backing, Store) {
    let backing = Backing::Postgres(PgDatabase::create().await);
    let store = backing.open().await;
    (backing, store)
}

async fn sqlite() -> (Backing, Store) {
    let backing = Backing::Sqlite(SqliteFile::new("store.sqlite"));
    let store = backing.open().await;
    (backing, store)
}

/// Declares each story once and runs it on both backends.
macro_rules! on_both_stores {
    ($($story:ident),* $(,)?) => {
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                let (backing, store) = super::postgres().await;
                super::$story(&backing, store).await;
            })*
        }
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                let (backing, store) = super::sqlite().await;
                super::$story(&backing, store).await;
            })*
        }
    };
}

on_both_stores!(
    a_thread_has_exactly_one_conversation,
    a_draft_goes_from_pending_to_done,
    an_answer_left_half_posted_is_taken_back_once,
    concurrent_claims_from_two_replicas_have_one_winner,
    a_failed_run_fails_its_draft_and_is_recorded,
    only_pending_drafts_can_be_edited_or_cancelled,
    stale_pending_drafts_expire,
    retried_events_are_seen_once,
    a_delivery_left_unhandled_is_taken_back_once,
    handled_and_renewed_deliveries_are_not_taken_back,
    a_delivery_that_keeps_failing_is_given_up,
    turns_carry_the_current_sql_of_their_drafts,
    a_draft_for_an_unknown_conversation_leaves_nothing_behind,
    catalogs_are_cached_per_connection,
    migrating_twice_changes_nothing,
    promoted_examples_belong_to_their_connection,
    slack_installations_are_kept_per_team,
    an_oauth_state_works_once_and_not_when_stale,
    a_stop_reaches_the_runner_and_leaves_the_draft_runnable,
    two_replicas_take_exactly_the_limit_and_say_how_long_to_wait,
    refusals_are_audited_in_order,
);

fn thread(thread: &str) -> ConversationKey {
    ConversationKey {
        platform: Platform::Slack,
        workspace: "T01".into(),
        channel: "C01".into(),
        thread: thread.into(),
    }
}

fn new_draft(conversation: ConversationId, question: &str, sql: &str) -> NewDraft {
    NewDraft {
        conversation,
        author: UserId::new("slack:T01:U01"),
        connection: "default".into(),
        question: question.into(),
        sql: sql.into(),
        explanation: Some("Counts orders.".into()),
        estimated_rows: Some(1),
        scan: Some(Scan {
            bytes: 12_884_901_888,
            partitions: Some((14, 300)),
            over_limit: true,
        }),
        repair_rounds: 0,
        prompt_tokens: 900,
        completion_tokens: 40,
        verified: Some(querybot::store::Verified {
            by: Some("slack:T01:U09".into()),
            on: chrono::NaiveDate::from_ymd_opt(2026, 12, 1),
        }),
    }
}

/// A pending draft (`SELECT 1`) in a conversation of its own thread.
async fn pending_draft(store: &Store, thread_ts: &str) -> querybot::store::Draft {
    let conversation = store
        .conversation(&thread(thread_ts))
        .await
        .expect("conversation");
    store
        .create_draft(new_draft(conversation, "q", "SELECT 1"))
        .await
        .expect("draft")
}

fn run_of(draft: &querybot::store::Draft, error: Option<&str>) -> NewRun {
    NewRun {
        draft: Some(draft.id),
        requested_by: UserId::new("slack:T01:U01"),
        connection: draft.connection.clone(),
        sql: draft.sql.clone(),
        row_count: error.is_none().then_some(12),
        truncated: false,
        duration_ms: 34,
        error: error.map(str::to_owned),
        prompt_tokens: Some(1_200),
        completion_tokens: Some(80),
        stopped_by: None,
        db_role: None,
    }
}

async fn a_thread_has_exactly_one_conversation(_: &Backing, store: Store) {
    let first = store
        .conversation(&thread("1700000000.000100"))
        .await
        .expect("created");
    let again = store
        .conversation(&thread("1700000000.000100"))
        .await
        .expect("found");
    let other = store
        .conversation(&thread("1700000000.000200"))
        .await
        .expect("created");
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert_eq!(
        store.conversation_key(first).await.expect("read"),
        Some(thread("1700000000.000100"))
    );
}

async fn a_draft_goes_from_pending_to_done(_: &Backing, store: Store) {
    let conversation = store
        .conversation(&thread("t"))
        .await
        .expect("conversation");
    let draft = store
        .create_draft(new_draft(
            conversation,
            "how many orders?",
            "SELECT count(*) FROM orders",
        ))
        .await
        .expect("draft stored");
    assert_eq!(draft.state, DraftState::Pending);
    assert_eq!((draft.prompt_tokens, draft.completion_tokens), (900, 40));
    assert_eq!(
        draft.scan.map(|s| (s.bytes, s.partitions, s.over_limit)),
        Some((12_884_901_888, Some((14, 300)), true)),
        "the plan's scan is kept"
    );
    assert_eq!(
        store.draft(draft.id).await.expect("read").as_ref(),
        Some(&draft)
    );

    let clicker = UserId::new("slack:T01:U02");
    let claimed = store
        .claim_draft(draft.id, &clicker)
        .await
        .expect("claim")
        .expect("won");
    assert_eq!(claimed.state, DraftState::Running);
    assert_eq!(claimed.claimed_by, Some(clicker.clone()));
    assert!(
        store
            .claim_draft(draft.id, &clicker)
            .await
            .expect("claim")
            .is_none()
    );

    store
        .record_run(&run_of(&claimed, None))
        .await
        .expect("run recorded");
    let done = store.draft(draft.id).await.expect("read").expect("exists");
    assert_eq!(done.state, DraftState::Done);
    assert!(
        store
            .claim_draft(draft.id, &clicker)
            .await
            .expect("claim")
            .is_none()
    );

    let runs = store.recent_runs(10).await.expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].record, run_of(&claimed, None));
}

/// The answer of a done draft is held while it is posted; a hold that lapsed (its process
/// died) is taken back by exactly one replica, and a delivered answer never is.
async fn an_answer_left_half_posted_is_taken_back_once(backing: &Backing, store: Store) {
    let clicker = UserId::new("slack:T01:U02");
    let mut posted = Vec::new();
    for name in ["delivered", "left"] {
        let draft = pending_draft(&store, name).await;
        assert!(
            !store.hold_answer(draft.id).await.expect("hold"),
            "not done yet"
        );
        let claimed = store
            .claim_draft(draft.id, &clicker)
            .await
            .expect("claim")
            .expect("won");
        store
            .record_run(&run_of(&claimed, None))
            .await
            .expect("run recorded");
        assert!(store.hold_answer(draft.id).await.expect("hold"));
        posted.push(draft.id);
    }
    store.answer_delivered(posted[0]).await.expect("delivered");
    let now = Utc::now();
    assert!(
        store
            .recover_undelivered_answers(now)
            .await
            .expect("look")
            .is_empty(),
        "a live hold is left alone"
    );
    let later = now + Duration::seconds(31);
    let replica = backing.open().await;
    let racers: Vec<_> = [store.clone(), replica.clone(), store.clone(), replica]
        .into_iter()
        .map(|store| tokio::spawn(async move { store.recover_undelivered_answers(later).await }))
        .collect();
    let mut taken = Vec::new();
    for racer in racers {
        taken.extend(racer.await.expect("task").expect("look"));
    }
    let ids: Vec<_> = taken.iter().map(|d| d.id).collect();
    assert_eq!(ids, vec![posted[1]], "only the half-posted one, once");
    assert_eq!(taken[0].state, DraftState::Done);
    assert_eq!(taken[0].claimed_by.as_ref(), Some(&clicker));
}

async fn concurrent_claims_from_two_replicas_have_one_winner(backing: &Backing, store: Store) {
    let replica = backing.open().await;
    for round in 0..5 {
        let draft = pending_draft(&store, &format!("race-{round}")).await;
        let stores = Arc::new([store.clone(), replica.clone()]);
        let claims: Vec<_> = (0..8)
            .map(|i| {
                let stores = stores.clone();
                tokio::spawn(async move {
                    let user = UserId::new(format!("user-{i}"));
                    stores[i % 2]
                        .claim_draft(draft.id, &user)
                        .await
                        .expect("claim runs")
                })
            })
            .collect();
        let mut winners = 0;
        for claim in claims {
            winners += usize::from(claim.await.expect("task").is_some());
        }
        assert_eq!(winners, 1, "round {round}: exactly one claim wins");
    }
}

async fn a_failed_run_fails_its_draft_and_is_recorded(_: &Backing, store: Store) {
    let draft = pending_draft(&store, "t").await;
    let claimed = store
        .claim_draft(draft.id, &UserId::new("u"))
        .await
        .expect("claim")
        .expect("won");
    store
        .record_run(&run_of(
            &claimed,
            Some("the query ran longer than 30 s and was stopped"),
        ))
        .await
        .expect("run recorded");
    assert_eq!(
        store.draft(draft.id).await.expect("read").map(|d| d.state),
        Some(DraftState::Failed)
    );
    let runs = store.recent_runs(1).await.expect("runs");
    assert_eq!(
        runs[0].record.error.as_deref(),
        Some("the query ran longer than 30 s and was stopped")
    );
    assert_eq!(runs[0].record.row_count, None);
}

async fn only_pending_drafts_can_be_edited_or_cancelled(_: &Backing, store: Store) {
    let draft = pending_draft(&store, "t").await;
    let edited = store
        .edit_draft(draft.id, "SELECT 2", Some("Edited by hand."), None)
        .await
        .expect("edit")
        .expect("pending drafts can be edited");
    assert_eq!(edited.sql, "SELECT 2");
    assert_eq!(edited.estimated_rows, None);
    assert_eq!(edited.scan, None, "an edit's plan is not the old one's");
    assert!(store.cancel_draft(draft.id).await.expect("cancel"));
    assert!(!store.cancel_draft(draft.id).await.expect("cancel again"));
    assert!(
        store
            .edit_draft(draft.id, "SELECT 3", None, None)
            .await
            .expect("edit")
            .is_none()
    );
    assert!(
        store
            .claim_draft(draft.id, &UserId::new("u"))
            .await
            .expect("claim")
            .is_none()
    );
    assert_eq!(
        store.draft(draft.id).await.expect("read").map(|d| d.state),
        Some(DraftState::Cancelled)
    );
}

async fn stale_pending_drafts_expire(_: &Backing, store: Store) {
    let conversation = store
        .conversation(&thread("t"))
        .await
        .expect("conversation");
    let old = store
        .create_draft(new_draft(conversation, "q1", "SELECT 1"))
        .await
        .expect("draft");
    let running = store
        .create_draft(new_draft(conversation, "q2", "SELECT 2"))
        .await
        .expect("draft");
    store
        .claim_draft(running.id, &UserId::new("u"))
        .await
        .expect("claim");
    assert_eq!(
        store
            .expire_drafts(Utc::now() - Duration::hours(1))
            .await
            .expect("expire"),
        0
    );
    assert_eq!(
        store
            .expire_drafts(Utc::now() + Duration::seconds(1))
            .await
            .expect("expire"),
        1
    );
    assert_eq!(
        store.draft(old.id).await.expect("read").map(|d| d.state),
        Some(DraftState::Expired)
    );
    assert_eq!(
        store
            .draft(running.id)
            .await
            .expect("read")
            .map(|d| d.state),
        Some(DraftState::Running)
    );
    // The claim took a lease; until it passes, the run is its process's.
    let recover = |at| store.recover_abandoned_runs(at);
    assert!(recover(Utc::now()).await.expect("recover").is_empty());
    let later = Utc::now() + Duration::seconds(21);
    let recovered = recover(later).await.expect("recover");
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].id, running.id);
    assert_eq!(
        recovered[0].state,
        DraftState::Pending,
        "a run whose process died is runnable again"
    );
    assert!(
        recover(later).await.expect("recover").is_empty(),
        "taken back once"
    );
    let runs = store.recent_runs(5).await.expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].record.draft, Some(running.id));
    assert_eq!(
        runs[0].record.error.as_deref(),
        Some(querybot::store::INTERRUPTED)
    );
}

async fn retried_events_are_seen_once(backing: &Backing, store: Store) {
    let replica = backing.open().await;
    let event: EventId = "Ev08MFMKH6".parse().expect("event id");
    let deliveries: Vec<_> = (0..4)
        .map(|i| {
            let store = if i % 2 == 0 {
                store.clone()
            } else {
                replica.clone()
            };
            let event = event.clone();
            tokio::spawn(async move { store.first_sighting(&event).await.expect("dedupe runs") })
        })
        .collect();
    let mut first = 0;
    for delivery in deliveries {
        first += usize::from(delivery.await.expect("task"));
    }
    assert_eq!(first, 1, "four deliveries of one event are handled once");
    assert_eq!(
        store
            .forget_events(Utc::now() + Duration::seconds(1))
            .await
            .expect("forget"),
        1
    );
    assert!(store.first_sighting(&event).await.expect("dedupe"));
}

/// A delivery acknowledged by a process that then died: once its claim lapses, replicas
/// racing to take it back get it exactly once, with its payload and what was posted for it.
async fn a_delivery_left_unhandled_is_taken_back_once(backing: &Backing, store: Store) {
    let event: EventId = "slack:trigger:T-left".parse().expect("event id");
    let now = Utc::now();
    assert!(
        store
            .accept_delivery(&event, "{\"q\":1}", now)
            .await
            .expect("accept")
    );
    assert!(
        !store
            .accept_delivery(&event, "{}", now)
            .await
            .expect("again"),
        "a redelivery is not a second delivery"
    );
    store
        .note_delivery_message(&event, "1700000000.000100")
        .await
        .expect("note");
    // Within the claim nothing is taken back.
    let (taken, _) = store
        .reclaim_deliveries(now, &["slack"])
        .await
        .expect("reclaim");
    assert!(taken.is_empty(), "a live claim is left alone: {taken:?}");
    let later = now + Duration::seconds(31);
    let replica = backing.open().await;
    let racers: Vec<_> = [store.clone(), replica.clone(), store.clone(), replica]
        .into_iter()
        .map(|store| tokio::spawn(async move { store.reclaim_deliveries(later, &["slack"]).await }))
        .collect();
    let mut taken = Vec::new();
    for racer in racers {
        taken.extend(racer.await.expect("task").expect("reclaim").0);
    }
    assert_eq!(taken.len(), 1, "one replica takes it: {taken:?}");
    assert_eq!(taken[0].event, event);
    assert_eq!(taken[0].payload, "{\"q\":1}");
    assert_eq!(taken[0].message.as_deref(), Some("1700000000.000100"));
    assert_eq!(taken[0].attempt, 2);
    // A platform this process does not serve is left for another.
    let other: EventId = "discord:message:42".parse().expect("event id");
    store
        .accept_delivery(&other, "{}", now)
        .await
        .expect("accept");
    let (taken, _) = store
        .reclaim_deliveries(later, &["slack"])
        .await
        .expect("reclaim");
    assert!(taken.is_empty(), "{taken:?}");
    store.delivery_handled(&event).await.expect("handled");
    store.delivery_handled(&other).await.expect("handled");
    assert_eq!(store.unhandled_deliveries().await.expect("count"), 0);
}

async fn handled_and_renewed_deliveries_are_not_taken_back(_: &Backing, store: Store) {
    let now = Utc::now();
    let handled: EventId = "slack:Ev-handled".parse().expect("event id");
    let renewed: EventId = "slack:Ev-renewed".parse().expect("event id");
    let released: EventId = "slack:Ev-released".parse().expect("event id");
    for event in [&handled, &renewed, &released] {
        store
            .accept_delivery(event, "{}", now)
            .await
            .expect("accept");
    }
    store.delivery_handled(&handled).await.expect("handled");
    // This process renews what it still holds, 25 s on: good for another 30 s.
    let renewal = now + Duration::seconds(25);
    assert!(store.renew_deliveries(renewal).await.expect("renew") >= 2);
    // A process shutting down releases what it cannot finish: it is taken at once.
    store
        .release_delivery(&released, renewal)
        .await
        .expect("release");
    let check = renewal + Duration::seconds(1);
    let (taken, _) = store
        .reclaim_deliveries(check, &["slack"])
        .await
        .expect("reclaim");
    let taken: Vec<_> = taken.into_iter().map(|d| d.event).collect();
    assert_eq!(taken, vec![released], "only the released one is taken back");
}

async fn a_delivery_that_keeps_failing_is_given_up(_: &Backing, store: Store) {
    let event: EventId = "slack:Ev-poison".parse().expect("event id");
    let mut now = Utc::now();
    store
        .accept_delivery(&event, "{}", now)
        .await
        .expect("accept");
    let mut attempts = 1;
    loop {
        now += Duration::seconds(31);
        let (taken, given_up) = store
            .reclaim_deliveries(now, &["slack"])
            .await
            .expect("reclaim");
        if !given_up.is_empty() {
            assert_eq!(given_up, vec![event.clone()]);
            break;
        }
        assert_eq!(taken.len(), 1);
        attempts += 1;
        assert!(attempts <= 10, "never given up");
    }
    assert_eq!(
        attempts,
        querybot::store::DELIVERY_ATTEMPTS,
        "handled as many times as allowed, then given up"
    );
    assert_eq!(store.unhandled_deliveries().await.expect("count"), 0);
}

async fn turns_carry_the_current_sql_of_their_drafts(_: &Backing, store: Store) {
    let conversation = store
        .conversation(&thread("t"))
        .await
        .expect("conversation");
    let first = store
        .create_draft(new_draft(conversation, "orders per month", "SELECT 1"))
        .await
        .expect("draft");
    store
        .edit_draft(first.id, "SELECT 'edited'", None, None)
        .await
        .expect("edit");
    store
        .record_failed_turn(
            conversation,
            "and the weather?",
            "no SQL in the model's answer",
        )
        .await
        .expect("failed turn");
    store
        .create_draft(new_draft(conversation, "only 2024", "SELECT 3"))
        .await
        .expect("draft");
    let other = store
        .conversation(&thread("other"))
        .await
        .expect("conversation");
    store
        .create_draft(new_draft(other, "elsewhere", "SELECT 4"))
        .await
        .expect("draft");

    let turns = store.turns(conversation, 10).await.expect("turns");
    let summary: Vec<(&str, Option<&str>, Option<&str>)> = turns
        .iter()
        .map(|t| (t.question.as_str(), t.sql.as_deref(), t.failure.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("orders per month", Some("SELECT 'edited'"), None),
            (
                "and the weather?",
                None,
                Some("no SQL in the model's answer")
            ),
            ("only 2024", Some("SELECT 3"), None),
        ]
    );
    let last_two: Vec<String> = store
        .turns(conversation, 2)
        .await
        .expect("turns")
        .into_iter()
        .map(|t| t.question)
        .collect();
    assert_eq!(last_two, ["and the weather?", "only 2024"]);
}

async fn a_draft_for_an_unknown_conversation_leaves_nothing_behind(_: &Backing, store: Store) {
    let missing = ConversationId::new();
    assert!(
        store
            .create_draft(new_draft(missing, "q", "SELECT 1"))
            .await
            .is_err()
    );
    assert!(store.turns(missing, 10).await.expect("turns").is_empty());
    assert!(
        store
            .expire_drafts(Utc::now() + Duration::hours(1))
            .await
            .expect("expire")
            == 0
    );
}

async fn catalogs_are_cached_per_connection(_: &Backing, store: Store) {
    assert!(store.catalog("default").await.expect("read").is_none());
    let catalog = Catalog {
        dialect: Dialect::Postgres,
        tables: vec![Table {
            schema: "public".into(),
            name: "orders".into(),
            kind: TableKind::Table,
            comment: Some("One row per order — ünïcode kept".into()),
            row_estimate: Some(500),
            columns: vec![Column {
                name: "status".into(),
                data_type: "text".into(),
                nullable: true,
                comment: None,
                samples: vec!["paid".into(), "refunded".into()],
            }],
            primary_key: vec![],
            foreign_keys: vec![],
            caveat: None,
        }],
    };
    store
        .save_catalog("default", &catalog)
        .await
        .expect("saved");
    let mut changed = catalog.clone();
    changed.tables[0].row_estimate = Some(501);
    store
        .save_catalog("default", &changed)
        .await
        .expect("replaced");
    let (cached, refreshed_at) = store
        .catalog("default")
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(cached, changed);
    assert!(Utc::now() - refreshed_at < Duration::minutes(1));
    assert!(store.catalog("finance").await.expect("read").is_none());
}

async fn migrating_twice_changes_nothing(backing: &Backing, store: Store) {
    store.migrate().await.expect("second migration is a no-op");
    let again = backing.open().await;
    again.check().await.expect("store answers");
}

async fn promoted_examples_belong_to_their_connection(_: &Backing, store: Store) {
    let by = UserId::new("slack:T01:U01");
    store
        .promote_example("default", "orders per month", "SELECT 1", &by)
        .await
        .expect("promoted");
    store
        .promote_example("finance", "revenue", "SELECT 2", &by)
        .await
        .expect("promoted");
    store
        .promote_example("default", "top customers", "SELECT 3", &by)
        .await
        .expect("promoted");
    let examples = store.examples("default").await.expect("read");
    assert_eq!(
        examples,
        [
            ("orders per month".to_owned(), "SELECT 1".to_owned()),
            ("top customers".to_owned(), "SELECT 3".to_owned())
        ]
    );
}

async fn slack_installations_are_kept_per_team(_: &Backing, store: Store) {
    let install = SlackInstallation {
        team_id: "T0001".into(),
        enterprise_id: None,
        team_name: Some("Acme".into()),
        bot_user_id: "UBOT".into(),
        bot_token: "encrypted-token".into(),
        scope: "commands,chat:write".into(),
        app_id: Some("A1".into()),
        installed_by: Some("U1".into()),
    };
    store
        .save_slack_installation(&install)
        .await
        .expect("saved");
    let reinstalled = SlackInstallation {
        bot_token: "rotated".into(),
        ..install.clone()
    };
    store
        .save_slack_installation(&reinstalled)
        .await
        .expect("replaced");
    assert_eq!(
        store.slack_installation("T0001").await.expect("read"),
        Some(reinstalled)
    );
    assert_eq!(store.slack_installation("T0002").await.expect("read"), None);
    assert!(
        store
            .delete_slack_installation("T0001")
            .await
            .expect("deleted")
    );
    assert!(
        !store
            .delete_slack_installation("T0001")
            .await
            .expect("gone")
    );
    assert_eq!(store.slack_installation("T0001").await.expect("read"), None);
}

async fn an_oauth_state_works_once_and_not_when_stale(_: &Backing, store: Store) {
    store.create_oauth_state("s1").await.expect("created");
    let ten_minutes_ago = Utc::now() - Duration::minutes(10);
    assert!(
        store
            .take_oauth_state("s1", ten_minutes_ago)
            .await
            .expect("taken")
    );
    assert!(
        !store
            .take_oauth_state("s1", ten_minutes_ago)
            .await
            .expect("used up")
    );
    assert!(
        !store
            .take_oauth_state("never-issued", ten_minutes_ago)
            .await
            .expect("unknown")
    );
    store.create_oauth_state("s2").await.expect("created");
    assert!(
        !store
            .take_oauth_state("s2", Utc::now() + Duration::seconds(1))
            .await
            .expect("stale")
    );
}

async fn a_stop_reaches_the_runner_and_leaves_the_draft_runnable(_: &Backing, store: Store) {
    let draft = pending_draft(&store, "1700000000.000900").await;
    let (runner, stopper) = (UserId::new("slack:T01:U01"), UserId::new("slack:T01:U09"));
    assert!(
        !store.request_stop(draft.id, &stopper).await.expect("stop"),
        "a pending draft has nothing to stop"
    );
    let claimed = store
        .claim_draft(draft.id, &runner)
        .await
        .expect("claim")
        .expect("won");
    assert_eq!(store.renew_run(draft.id).await.expect("renew"), Some(None));
    assert!(store.request_stop(draft.id, &stopper).await.expect("stop"));
    // A second Stop does not replace the first.
    assert!(store.request_stop(draft.id, &runner).await.expect("stop"));
    assert_eq!(
        store.renew_run(draft.id).await.expect("renew"),
        Some(Some(stopper.clone()))
    );
    let stopped = NewRun {
        stopped_by: Some(stopper.clone()),
        ..run_of(&claimed, Some("stopped"))
    };
    store.record_run(&stopped).await.expect("recorded");
    let after = store.draft(draft.id).await.expect("read").expect("draft");
    assert_eq!(after.state, DraftState::Pending);
    assert_eq!(after.claimed_by, None);
    assert_eq!(store.renew_run(draft.id).await.expect("renew"), None);
    let runs = store.recent_runs(5).await.expect("runs");
    assert_eq!(runs[0].record.stopped_by, Some(stopper));
    // Runnable again, with no Stop left over from the last run.
    store
        .claim_draft(draft.id, &runner)
        .await
        .expect("claim")
        .expect("won again");
    assert_eq!(store.renew_run(draft.id).await.expect("renew"), Some(None));
}

async fn two_replicas_take_exactly_the_limit_and_say_how_long_to_wait(
    backing: &Backing,
    store: Store,
) {
    let replica = backing.open().await;
    let stores = Arc::new([store.clone(), replica]);
    let hour = std::time::Duration::from_secs(3600);
    let takes: Vec<_> = (0..12)
        .map(|i| {
            let stores = stores.clone();
            tokio::spawn(async move {
                stores[i % 2]
                    .take_slot("questions:slack:T1:U1", 5, hour)
                    .await
                    .expect("counted")
            })
        })
        .collect();
    let mut waits = Vec::new();
    for take in takes {
        if let Some(wait) = take.await.expect("task") {
            waits.push(wait);
        }
    }
    assert_eq!(waits.len(), 7, "exactly five of twelve are taken");
    for wait in waits {
        assert!(
            wait > std::time::Duration::from_secs(3590) && wait <= hour,
            "the oldest use leaves the window in about an hour: {wait:?}"
        );
    }
    // Another person's limit is their own.
    assert_eq!(
        store
            .take_slot("questions:slack:T1:U2", 5, hour)
            .await
            .expect("counted"),
        None
    );
    assert_eq!(
        store
            .forget_usage(Utc::now() + Duration::seconds(1))
            .await
            .expect("forgot"),
        6
    );
    assert_eq!(
        store
            .take_slot("questions:slack:T1:U1", 5, hour)
            .await
            .expect("counted"),
        None,
        "forgotten uses no longer count"
    );
}

async fn refusals_are_audited_in_order(_: &Backing, store: Store) {
    let since = Utc::now() - Duration::seconds(1);
    for (action, detail) in [("run", "not verified"), ("ask", "not allowed")] {
        store
            .audit(&querybot::store::AuditEntry {
                person: UserId::new("slack:T1:U2"),
                action: action.to_owned(),
                connection: Some("finance".to_owned()),
                outcome: "refused".to_owned(),
                detail: Some(detail.to_owned()),
            })
            .await
            .expect("audited");
    }
    let audited = store.audit_since(since).await.expect("read");
    let actions: Vec<&str> = audited.iter().map(|a| a.entry.action.as_str()).collect();
    assert_eq!(actions, ["run", "ask"]);
    assert!(
        store
            .audit_since(Utc::now() + Duration::seconds(5))
            .await
            .expect("read")
            .is_empty()
    );
}
