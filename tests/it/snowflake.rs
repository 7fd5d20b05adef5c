//! What the Snowflake emulator cannot show, against a local stub speaking the same protocol
//! (shapes from Snowflake's own driver tests, `testdata/snowflake/gosnowflake-wiremock`):
//! results in chunks, in order, with their headers, and not fetched past a cap; a long query
//! polled, and aborted at its deadline; an expired session logged into again; 429/503 retried
//! and a 500 not; Snowflake's real Arrow encodings; `EXPLAIN` refusing an unknown column; and
//! key-pair login with a JWT signed by the configured key; recorded answers of Snowflake
//! itself.

use std::collections::VecDeque;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StructArray};
use arrow_schema::{DataType, Field, Schema};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use querybot::config::ConnectionConfig;
use querybot::guard::GuardedSql;
use querybot::warehouse::{self, Caps, Collected, Value, Warehouse, WarehouseError};
use serde_json::{Value as Json, json};

use crate::support::testdata;
use crate::support::warehouse::{CAPS, snowflake_connection};

/// What the stub answers to a query request: a script of bodies, each with a status.
#[derive(Default)]
struct Stub {
    queries: VecDeque<(StatusCode, Json)>,
    results: VecDeque<Json>,
    chunks: Vec<Vec<u8>>,
    /// What the stub saw: paths, and chunk requests' headers.
    seen: Vec<String>,
    chunk_headers: Vec<Option<String>>,
    logins: Vec<Json>,
    /// The query strings of the logins (database, warehouse, role).
    login_queries: Vec<String>,
    /// Answers to logins, before the default success.
    login_answers: VecDeque<Json>,
    /// How long the stub holds a query request before answering (Snowflake holds one for up
    /// to 45 s while the statement runs).
    query_hold: Duration,
}

type Shared = Arc<Mutex<Stub>>;

async fn start(stub: Stub) -> (SocketAddr, Shared) {
    let shared = Arc::new(Mutex::new(stub));
    let app = Router::new()
        .route("/session/v1/login-request", post(login))
        .route("/queries/v1/query-request", post(query))
        .route("/queries/v1/abort-request", post(abort))
        .route("/queries/{id}/result", get(result))
        .route("/chunks/{n}", get(chunk))
        .route("/session", post(close))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("stub serves") });
    (address, shared)
}

async fn login(State(stub): State<Shared>, uri: axum::http::Uri, body: Bytes) -> Response {
    let body: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
    let mut stub = stub.lock().expect("stub");
    stub.login_queries
        .push(uri.query().unwrap_or_default().to_owned());
    stub.seen.push("login".into());
    stub.logins.push(body);
    let n = stub.logins.len();
    let answer = stub
        .login_answers
        .pop_front()
        .unwrap_or_else(|| json!({"success": true, "data": {"token": format!("token-{n}")}}));
    axum::Json(answer).into_response()
}

async fn query(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
    let hold = shared.lock().expect("stub").query_hold;
    tokio::time::sleep(hold).await;
    let mut stub = shared.lock().expect("stub");
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    stub.seen.push(format!(
        "query {} [{}] {token}",
        body["sqlText"].as_str().unwrap_or_default(),
        body["parameters"]["QUERY_TAG"].as_str().unwrap_or_default()
    ));
    match stub.queries.pop_front() {
        Some((status, answer)) => (status, axum::Json(answer)).into_response(),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "no script").into_response(),
    }
}

async fn result(State(stub): State<Shared>) -> Response {
    let mut stub = stub.lock().expect("stub");
    stub.seen.push("poll".into());
    let answer = stub.results.pop_front().unwrap_or_else(|| running("q1"));
    axum::Json(answer).into_response()
}

async fn abort(State(stub): State<Shared>, body: Bytes) -> Response {
    let body: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
    let mut stub = stub.lock().expect("stub");
    // An abort names the request it stops.
    let named = body["requestId"].as_str().is_some_and(|id| !id.is_empty());
    stub.seen.push(
        if named {
            "abort"
        } else {
            "abort without a request id"
        }
        .into(),
    );
    axum::Json(json!({"success": true})).into_response()
}

async fn close(State(stub): State<Shared>) -> Response {
    stub.lock().expect("stub").seen.push("close".into());
    axum::Json(json!({"success": true})).into_response()
}

async fn chunk(State(stub): State<Shared>, Path(n): Path<usize>, headers: HeaderMap) -> Response {
    // The first chunk is the slowest, so a client that does not keep order would show it.
    if n == 0 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut stub = stub.lock().expect("stub");
    stub.seen.push(format!("chunk {n}"));
    let header = headers
        .get("x-chunk-secret")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    stub.chunk_headers.push(header);
    match stub.chunks.get(n) {
        Some(bytes) => bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// "Still running", as Snowflake answers it (its driver tests' recording).
fn running(_id: &str) -> Json {
    recorded("query/long_running_query.json")
}

/// The first response body of one of Snowflake's driver-test recordings.
fn recorded(file: &str) -> Json {
    let path = testdata("snowflake/gosnowflake-wiremock").join(file);
    let text = std::fs::read_to_string(&path).expect("a recording");
    let recording: Json = serde_json::from_str(&text).expect("JSON");
    recording["mappings"][0]["response"]["jsonBody"].clone()
}

/// An Arrow IPC stream of one batch.
fn ipc(batch: &RecordBatch) -> Vec<u8> {
    let mut writer =
        arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &batch.schema()).expect("a writer");
    writer.write(batch).expect("written");
    writer.finish().expect("finished");
    writer.into_inner().expect("bytes")
}

fn numbers(from: i64, to: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("N", DataType::Int64, true)]));
    let values: ArrayRef = Arc::new(Int64Array::from((from..=to).collect::<Vec<_>>()));
    RecordBatch::try_new(schema, vec![values]).expect("a batch")
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// A finished result: the rowtype, the inline part, and chunk URLs on the stub.
fn finished(rowtype: Json, inline: &[u8], chunks: usize, address: SocketAddr) -> Json {
    let chunks: Vec<Json> = (0..chunks)
        .map(|n| json!({"url": format!("http://{address}/chunks/{n}"), "rowCount": 3}))
        .collect();
    json!({"success": true, "data": {
        "queryId": "q1", "queryResultFormat": "arrow", "rowtype": rowtype,
        "rowsetBase64": base64(inline), "chunks": chunks,
        "chunkHeaders": {"x-chunk-secret": "s3cr3t"},
    }})
}

fn int_rowtype() -> Json {
    json!([{"name": "N", "type": "fixed", "scale": 0, "precision": 38, "nullable": true}])
}

fn connection(address: SocketAddr) -> ConnectionConfig {
    snowflake_connection(
        "snowflake://tester:secret@test/DB/PUBLIC?warehouse=WH&role=READER",
        &format!("http://{address}"),
    )
}

/// `sql` guarded against a catalog of one table `T`; the guard is not the subject here.
fn guarded(sql: &str) -> GuardedSql {
    use querybot::catalog::{self, Catalog, Table, TableKind};
    use querybot::guard::{self, Policy, Verdict};
    let column = |name: &str| catalog::Column {
        name: name.to_owned(),
        data_type: "NUMBER".to_owned(),
        nullable: true,
        comment: None,
        samples: Vec::new(),
    };
    let catalog = Catalog {
        dialect: querybot::dialect::Dialect::Snowflake,
        tables: vec![Table {
            schema: "PUBLIC".to_owned(),
            name: "T".to_owned(),
            kind: TableKind::Table,
            comment: None,
            row_estimate: None,
            columns: vec![column("N"), column("NO_SUCH_COLUMN")],
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
            caveat: None,
        }],
    };
    match guard::check(sql, &Policy::from_catalog(&catalog)) {
        Verdict::Allowed(sql) => sql,
        Verdict::Rejected(rejection) => panic!("{sql}: {}", rejection.reason()),
    }
}

/// Runs SQL the stub answers.
async fn run(
    warehouse: &dyn Warehouse,
    caps: &Caps,
) -> (
    Result<querybot::warehouse::Execution, WarehouseError>,
    Collected,
) {
    let mut rows = Collected::default();
    let sql = guarded("SELECT n FROM t");
    let result = warehouse.execute(&sql, caps, &mut rows).await;
    (result, rows)
}

fn ints(rows: &Collected) -> Vec<i64> {
    rows.rows
        .iter()
        .map(|row| match row[0] {
            Value::Int(n) => n,
            ref other => panic!("not an int: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn the_inline_part_comes_first_then_the_chunks_in_order_with_their_headers() {
    let (address, stub) = start(Stub::default()).await;
    {
        let mut stub = stub.lock().expect("stub");
        stub.chunks = vec![
            ipc(&numbers(4, 6)),
            gzip(&ipc(&numbers(7, 9))),
            ipc(&numbers(10, 12)),
        ];
        let answer = finished(int_rowtype(), &ipc(&numbers(1, 3)), 3, address);
        stub.queries.push_back((StatusCode::OK, answer));
    }
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    let draft = uuid::Uuid::new_v4();
    let caps = Caps {
        draft: Some(draft),
        ..CAPS
    };
    let (result, rows) = run(warehouse.as_ref(), &caps).await;
    assert_eq!(result.expect("runs").row_count, 12);
    assert_eq!(ints(&rows), (1..=12).collect::<Vec<_>>());
    {
        let state = stub.lock().expect("stub");
        assert!(
            state
                .chunk_headers
                .iter()
                .all(|h| h.as_deref() == Some("s3cr3t")),
            "chunk headers are sent: {:?}",
            state.chunk_headers
        );
        let login = &state.logins[0];
        assert_eq!(login["data"]["PASSWORD"], json!("secret"));
        assert_eq!(
            login["data"]["SESSION_PARAMETERS"]["QUERY_TAG"],
            json!("querybot")
        );
        let query = state
            .seen
            .iter()
            .find(|s| s.starts_with("query"))
            .expect("a query");
        assert!(query.ends_with("Snowflake Token=\"token-1\""), "{query}");
        assert!(
            query.contains(&format!("[querybot draft {draft}]")),
            "the draft is in the query tag: {query}"
        );
    }
    warehouse.close().await;
    let seen = stub.lock().expect("stub").seen.clone();
    assert_eq!(
        seen.last().map(String::as_str),
        Some("close"),
        "the session ends: {seen:?}"
    );
}

#[tokio::test]
async fn a_cap_reached_early_leaves_the_later_chunks_unfetched() {
    let (address, stub) = start(Stub::default()).await;
    {
        let mut stub = stub.lock().expect("stub");
        stub.chunks = (0..12)
            .map(|n| ipc(&numbers(n * 10 + 1, n * 10 + 10)))
            .collect();
        let answer = finished(int_rowtype(), &[], 12, address);
        stub.queries.push_back((StatusCode::OK, answer));
    }
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    let caps = Caps {
        max_rows: 15,
        ..CAPS
    };
    let (result, rows) = run(warehouse.as_ref(), &caps).await;
    let execution = result.expect("runs");
    assert_eq!(execution.row_count, 15);
    assert!(execution.truncated.is_some());
    assert_eq!(ints(&rows), (1..=15).collect::<Vec<_>>());
    let fetched = stub.lock().expect("stub").chunk_headers.len();
    assert!(fetched < 12, "{fetched} of 12 chunks fetched");
}

#[tokio::test]
async fn a_long_query_is_polled_until_it_finishes() {
    let (address, stub) = start(Stub::default()).await;
    {
        let mut stub = stub.lock().expect("stub");
        stub.queries.push_back((StatusCode::OK, running("q1")));
        stub.results.push_back(running("q1"));
        let answer = finished(int_rowtype(), &ipc(&numbers(1, 2)), 0, address);
        stub.results.push_back(answer);
    }
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    let (result, rows) = run(warehouse.as_ref(), &CAPS).await;
    result.expect("runs");
    assert_eq!(ints(&rows), [1, 2]);
    let seen = stub.lock().expect("stub").seen.clone();
    assert_eq!(seen.iter().filter(|s| *s == "poll").count(), 2, "{seen:?}");
}

#[tokio::test]
async fn a_query_past_its_deadline_is_aborted_in_snowflake() {
    let (address, stub) = start(Stub::default()).await;
    stub.lock()
        .expect("stub")
        .queries
        .push_back((StatusCode::OK, running("q1")));
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    let caps = Caps {
        timeout: Duration::from_secs(1),
        ..CAPS
    };
    let started = std::time::Instant::now();
    let (result, _) = run(warehouse.as_ref(), &caps).await;
    assert!(
        matches!(result, Err(WarehouseError::Timeout { limit }) if limit == Duration::from_secs(1)),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    let seen = stub.lock().expect("stub").seen.clone();
    assert_eq!(seen.last().map(String::as_str), Some("abort"), "{seen:?}");
}

/// Stop pressed at `after`, against a stub scripted by `script`: the statement is aborted in
/// Snowflake and the run ends as stopped within two seconds.
async fn stop_aborts(script: impl FnOnce(&mut Stub), after: Duration) {
    let mut stub = Stub::default();
    script(&mut stub);
    let (address, stub) = start(stub).await;
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    let token = tokio_util::sync::CancellationToken::new();
    let caps = Caps {
        timeout: Duration::from_secs(60),
        stop: querybot::warehouse::StopSignal::new(token.clone()),
        ..CAPS
    };
    let pressed = tokio::spawn(async move {
        tokio::time::sleep(after).await;
        token.cancel();
        std::time::Instant::now()
    });
    let (result, _) = run(warehouse.as_ref(), &caps).await;
    let stopped_after = pressed.await.expect("pressed").elapsed();
    assert!(matches!(result, Err(WarehouseError::Stopped)), "{result:?}");
    assert!(stopped_after < Duration::from_secs(2), "{stopped_after:?}");
    let seen = stub.lock().expect("stub").seen.clone();
    assert_eq!(seen.last().map(String::as_str), Some("abort"), "{seen:?}");
}

#[tokio::test]
async fn stop_aborts_a_statement_snowflake_is_still_holding() {
    stop_aborts(
        |stub| {
            stub.query_hold = Duration::from_secs(30);
            stub.queries.push_back((StatusCode::OK, running("q1")));
        },
        Duration::from_millis(300),
    )
    .await;
}

#[tokio::test]
async fn stop_aborts_a_statement_being_polled() {
    // The first pauses between polls are short; Stop comes during the longer ones.
    stop_aborts(
        |stub| stub.queries.push_back((StatusCode::OK, running("q1"))),
        Duration::from_millis(1500),
    )
    .await;
}

#[tokio::test]
async fn an_expired_session_logs_in_again_once() {
    let (address, stub) = start(Stub::default()).await;
    {
        let mut stub = stub.lock().expect("stub");
        let expired = json!({"success": false, "code": "390112",
            "message": "Your session has expired. Please login again.", "data": {}});
        stub.queries.push_back((StatusCode::OK, expired));
        let answer = finished(int_rowtype(), &ipc(&numbers(1, 1)), 0, address);
        stub.queries.push_back((StatusCode::OK, answer));
    }
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    let (result, rows) = run(warehouse.as_ref(), &CAPS).await;
    result.expect("runs after logging in again");
    assert_eq!(ints(&rows), [1]);
    let stub = stub.lock().expect("stub");
    assert_eq!(stub.logins.len(), 2);
    assert!(
        stub.seen.last().is_some_and(|s| s.ends_with("token-2\"")),
        "{:?}",
        stub.seen
    );
}

#[tokio::test]
async fn busy_answers_are_retried_but_a_server_error_is_not() {
    let (address, stub) = start(Stub::default()).await;
    {
        let mut stub = stub.lock().expect("stub");
        stub.queries
            .push_back((StatusCode::SERVICE_UNAVAILABLE, json!({"success": false})));
        stub.queries
            .push_back((StatusCode::TOO_MANY_REQUESTS, json!({"success": false})));
        let answer = finished(int_rowtype(), &ipc(&numbers(1, 1)), 0, address);
        stub.queries.push_back((StatusCode::OK, answer));
        stub.queries.push_back((
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"success": false, "code": "261000", "message": "internal", "data": null}),
        ));
    }
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    let (result, _) = run(warehouse.as_ref(), &CAPS).await;
    result.expect("runs after two busy answers");
    let (result, _) = run(warehouse.as_ref(), &CAPS).await;
    assert!(result.is_err(), "a 500 is an error");
    let queries = stub
        .lock()
        .expect("stub")
        .seen
        .iter()
        .filter(|s| s.starts_with("query"))
        .count();
    assert_eq!(queries, 4, "three tries for the first, one for the second");
}

#[tokio::test]
async fn snowflakes_own_arrow_encodings_decode_to_the_right_values() {
    use chrono::{NaiveDate, TimeZone, Utc};
    let (address, stub) = start(Stub::default()).await;
    // Scaled integers for NUMBER(10,2), TIME(3) and TIMESTAMP_NTZ(3); the TZ struct with an
    // offset of +02:00 (timezone = 1440 + 120).
    let tz_fields = vec![
        Field::new("epoch", DataType::Int64, false),
        Field::new("fraction", DataType::Int32, false),
        Field::new("timezone", DataType::Int32, false),
    ];
    let tz = StructArray::from(vec![
        (
            Arc::new(tz_fields[0].clone()),
            Arc::new(Int64Array::from(vec![1_709_205_255])) as ArrayRef,
        ),
        (
            Arc::new(tz_fields[1].clone()),
            Arc::new(Int32Array::from(vec![500_000_000])) as ArrayRef,
        ),
        (
            Arc::new(tz_fields[2].clone()),
            Arc::new(Int32Array::from(vec![1_560])) as ArrayRef,
        ),
    ]);
    let schema = Arc::new(Schema::new(vec![
        Field::new("PRICE", DataType::Int64, true),
        Field::new("AT", DataType::Int64, true),
        Field::new("WHEN_NTZ", DataType::Int64, true),
        Field::new("WHEN_TZ", DataType::Struct(tz_fields.into()), true),
        Field::new("SHAPE", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1_234_567])),
            Arc::new(Int64Array::from(vec![45_296_789])),
            Arc::new(Int64Array::from(vec![1_709_212_455_123])),
            Arc::new(tz),
            Arc::new(arrow_array::StringArray::from(vec!["POINT(1 2)"])),
        ],
    )
    .expect("a batch");
    let rowtype = json!([
        {"name": "PRICE", "type": "fixed", "scale": 2, "precision": 10},
        {"name": "AT", "type": "time", "scale": 3},
        {"name": "WHEN_NTZ", "type": "timestamp_ntz", "scale": 3},
        {"name": "WHEN_TZ", "type": "timestamp_tz", "scale": 9},
        {"name": "SHAPE", "type": "geography"},
    ]);
    let answer = finished(rowtype, &ipc(&batch), 0, address);
    stub.lock()
        .expect("stub")
        .queries
        .push_back((StatusCode::OK, answer));
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    let (result, rows) = run(warehouse.as_ref(), &CAPS).await;
    let execution = result.expect("runs");
    let row = &rows.rows[0];
    assert_eq!(row[0], Value::Decimal("12345.67".parse().expect("decimal")));
    assert_eq!(
        row[1],
        Value::Time(chrono::NaiveTime::from_hms_milli_opt(12, 34, 56, 789).expect("time"))
    );
    let ntz = NaiveDate::from_ymd_opt(2024, 2, 29)
        .and_then(|d| d.and_hms_milli_opt(13, 14, 15, 123))
        .expect("timestamp");
    assert_eq!(row[2], Value::Timestamp(ntz));
    let tz = Utc
        .with_ymd_and_hms(2024, 2, 29, 11, 14, 15)
        .single()
        .expect("instant")
        + chrono::Duration::milliseconds(500);
    assert_eq!(
        row[3],
        Value::TimestampTz(tz),
        "the epoch is UTC whatever the offset"
    );
    assert_eq!(
        row[4],
        Value::Text("POINT(1 2)".into()),
        "an unknown type is text"
    );
    assert_eq!(execution.columns[0].type_name, "NUMBER(10,2)");
}

#[tokio::test]
async fn explain_refuses_an_unknown_column_as_snowflake_says_it() {
    let (address, stub) = start(Stub::default()).await;
    let refused = json!({"success": false, "code": "000904",
        "message": "SQL compilation error: error line 1 at position 7\ninvalid identifier 'NO_SUCH_COLUMN'",
        "data": {"errorCode": "000904", "sqlState": "42000", "queryId": "q9"}});
    stub.lock()
        .expect("stub")
        .queries
        .push_back((StatusCode::OK, refused));
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    let sql = guarded("SELECT no_such_column FROM t");
    match warehouse.explain(&sql, &CAPS).await {
        Err(WarehouseError::Rejected {
            message,
            data_error,
        }) => {
            assert!(
                message.contains("invalid identifier 'NO_SUCH_COLUMN'"),
                "{message}"
            );
            assert!(!data_error);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let seen = stub.lock().expect("stub").seen.clone();
    assert!(
        seen.iter()
            .any(|s| s.contains("query EXPLAIN USING JSON SELECT")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn explain_says_how_much_the_query_will_scan() {
    let (address, stub) = start(Stub::default()).await;
    let plan = json!({"GlobalStats": {"partitionsTotal": 300, "partitionsAssigned": 14,
        "bytesAssigned": 1_288_490_189u64}, "Operations": [[{"id": 0, "operation": "Result"}]]});
    let schema = Arc::new(Schema::new(vec![Field::new(
        "content",
        DataType::Utf8,
        true,
    )]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(arrow_array::StringArray::from(vec![
            plan.to_string(),
        ]))],
    )
    .expect("a batch");
    let rowtype = json!([{"name": "content", "type": "text"}]);
    stub.lock()
        .expect("stub")
        .queries
        .push_back((StatusCode::OK, finished(rowtype, &ipc(&batch), 0, address)));
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    let plan = warehouse
        .explain(&guarded("SELECT n FROM t"), &CAPS)
        .await
        .expect("plans");
    assert_eq!(plan.scanned_bytes, Some(1_288_490_189));
    assert_eq!(plan.partitions, Some((14, 300)));
}

#[tokio::test]
async fn key_pair_login_sends_a_jwt_signed_by_the_configured_key() {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;
    for (key, passphrase) in [
        ("snowflake_key.p8", None),
        ("snowflake_key_encrypted.p8", Some("correct-horse")),
    ] {
        let (address, stub) = start(Stub::default()).await;
        let answer = finished(int_rowtype(), &ipc(&numbers(1, 1)), 0, address);
        stub.lock()
            .expect("stub")
            .queries
            .push_back((StatusCode::OK, answer));
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/data")
            .join(key);
        let mut env: std::collections::HashMap<String, String> = [
            ("SNOWFLAKE_API_URL".to_owned(), format!("http://{address}")),
            (
                "SNOWFLAKE_PRIVATE_KEY_PATH".to_owned(),
                path.display().to_string(),
            ),
        ]
        .into();
        if let Some(passphrase) = passphrase {
            env.insert("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE".into(), passphrase.into());
        }
        let connection = querybot::config::connection_from_url(
            "test",
            "snowflake://analyst@myorg-acct/DB",
            &env,
        )
        .expect("a key-pair connection");
        let warehouse = warehouse::connect(&connection).expect("connects");
        let (result, _) = run(warehouse.as_ref(), &CAPS).await;
        result.expect("runs");
        let login = stub.lock().expect("stub").logins[0]["data"].clone();
        assert_eq!(login["AUTHENTICATOR"], json!("SNOWFLAKE_JWT"));
        assert!(login.get("PASSWORD").is_none());
        let token = login["TOKEN"].as_str().expect("a token");
        let parts: Vec<&str> = token.split('.').collect();
        let decode = |part: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .expect("base64url")
        };
        let claims: Json = serde_json::from_slice(&decode(parts[1])).expect("claims");
        assert_eq!(claims["sub"], json!("MYORG-ACCT.ANALYST"));
        assert!(
            claims["iss"]
                .as_str()
                .is_some_and(|iss| iss.starts_with("MYORG-ACCT.ANALYST.SHA256:")),
            "{claims}"
        );
        let public = std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/it/data/snowflake_key.pub"),
        )
        .expect("public key");
        let verifying = VerifyingKey::<sha2::Sha256>::new(
            rsa::RsaPublicKey::from_public_key_pem(&public).expect("pem"),
        );
        let signature = Signature::try_from(decode(parts[2]).as_slice()).expect("signature");
        verifying
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("signed by the configured key");
    }
}

#[tokio::test]
async fn doctor_logs_in_and_says_who_querybot_is_and_what_it_can_read() {
    let Some(api_url) = crate::support::fakesnow::url() else {
        return;
    };
    let db = crate::support::fakesnow::FakeSnowDatabase::create(&api_url).await;
    db.run_script("CREATE TABLE orders (id INTEGER); CREATE TABLE customers (id INTEGER)")
        .await;
    let data = tempfile::tempdir().expect("temp dir");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_querybot"))
        .arg("doctor")
        .current_dir(data.path())
        .env_clear()
        .env("QUERYBOT_DATA_DIR", data.path())
        .env("QUERYBOT_LOG", "warn")
        .env("WAREHOUSE_URL", db.warehouse_url())
        .env("SNOWFLAKE_API_URL", &api_url)
        .output()
        .await
        .expect("doctor runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.contains("warehouse `default` (snowflake)"),
        "{report}"
    );
    assert!(report.contains("ok (user tester,"), "{report}");
    assert!(report.contains("2 tables readable"), "{report}");
    assert!(
        !report.contains("secret"),
        "no password in the report: {report}"
    );
}

#[tokio::test]
async fn the_catalog_has_comments_keys_and_sample_values_of_few_valued_text() {
    let Some(api_url) = crate::support::fakesnow::url() else {
        return;
    };
    let db = crate::support::fakesnow::FakeSnowDatabase::create(&api_url).await;
    db.run_script(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT, note TEXT) COMMENT = 'one row per order'; \
         INSERT INTO orders VALUES (1, 'shipped', 'a'), (2, 'placed', 'b'), (3, 'shipped', 'c'), \
         (4, 'refunded', 'd'), (5, 'placed', 'e'), (6, 'placed', 'f'), (7, 'placed', 'g'), \
         (8, 'placed', 'h'), (9, 'placed', 'i'), (10, 'placed', 'j'), (11, 'placed', 'k')",
    )
    .await;
    let warehouse =
        warehouse::connect(&snowflake_connection(&db.warehouse_url(), &api_url)).expect("connects");
    let catalog = warehouse.introspect().await.expect("introspects");
    let orders = catalog
        .tables
        .iter()
        .find(|t| t.name == "ORDERS")
        .expect("orders");
    assert_eq!(orders.comment.as_deref(), Some("one row per order"));
    assert_eq!(orders.primary_key, ["ID"]);
    let column = |name: &str| {
        orders
            .columns
            .iter()
            .find(|c| c.name == name)
            .expect("a column")
    };
    assert_eq!(column("STATUS").samples, ["placed", "refunded", "shipped"]);
    assert!(
        column("NOTE").samples.is_empty(),
        "eleven values are too many to sample"
    );
}

#[tokio::test]
async fn snowflakes_recorded_answers_are_read_a_json_rowset_and_a_refused_login() {
    let (address, stub) = start(Stub::default()).await;
    stub.lock()
        .expect("stub")
        .queries
        .push_back((StatusCode::OK, recorded("select1.json")));
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    let (result, rows) = run(warehouse.as_ref(), &CAPS).await;
    assert_eq!(result.expect("runs").columns[0].name, "1");
    assert_eq!(
        rows.rows,
        [vec![Value::Int(1)]],
        "a JSON rowset is typed by its rowtype"
    );

    let (address, stub) = start(Stub::default()).await;
    stub.lock()
        .expect("stub")
        .login_answers
        .push_back(recorded("auth/password/invalid_password.json"));
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    match warehouse.check().await {
        Err(WarehouseError::Unusable { problem, .. }) => {
            assert!(
                problem.contains("Incorrect username or password"),
                "{problem}"
            );
            assert!(problem.contains("tester"), "names the user: {problem}");
        }
        other => panic!("expected a refused login, got {other:?}"),
    }
}

/// A person's database role is a login parameter on Snowflake: their queries go through a
/// session of their own, logged in with that role, and the connection's own stays as it is.
#[tokio::test]
async fn a_persons_role_runs_in_a_session_logged_in_with_it() {
    let (address, stub) = start(Stub::default()).await;
    {
        let mut stub = stub.lock().expect("stub");
        for _ in 0..2 {
            let answer = finished(int_rowtype(), &ipc(&numbers(1, 1)), 0, address);
            stub.queries.push_back((StatusCode::OK, answer));
        }
    }
    let warehouse = warehouse::connect(&connection(address)).expect("connects");
    run(warehouse.as_ref(), &CAPS)
        .await
        .0
        .expect("runs as the connection");
    let as_analyst = Caps {
        role: Some("ANALYST_EU".to_owned()),
        ..CAPS
    };
    run(warehouse.as_ref(), &as_analyst)
        .await
        .0
        .expect("runs as the analyst");
    let stub = stub.lock().expect("stub");
    assert_eq!(stub.login_queries.len(), 2, "{:?}", stub.login_queries);
    assert!(
        stub.login_queries[0].contains("roleName=READER"),
        "{:?}",
        stub.login_queries
    );
    assert!(
        stub.login_queries[1].contains("roleName=ANALYST_EU"),
        "{:?}",
        stub.login_queries
    );
    let queries: Vec<&String> = stub
        .seen
        .iter()
        .filter(|s| s.starts_with("query"))
        .collect();
    assert!(queries[0].ends_with("token-1\""), "{queries:?}");
    assert!(queries[1].ends_with("token-2\""), "{queries:?}");
}
