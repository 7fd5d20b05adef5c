//! A Snowflake session over HTTPS: log in (password or key pair, session parameters sent with
//! the login), run a statement, wait for a long one by polling and abort it at its deadline,
//! log in again once when the session expires, fetch result chunks, and close the session.
//!
//! A statement request is never retried on an HTTP 500 (it may have run); connecting, 429 and
//! 503 are retried a few times.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::sync::Mutex;

use super::jwt::KeyPair;
use super::protocol::{Envelope, LoginData, QueryData, SESSION_EXPIRED, STILL_RUNNING};
use crate::config::{SnowflakeAuth, SnowflakeConfig};
use crate::warehouse::StopSignal;

/// Attempts for a request Snowflake answered 429 or 503, or that could not connect.
const ATTEMPTS: u32 = 3;
/// The first pause while polling a running statement; it doubles up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(2);

/// What went wrong talking to Snowflake.
#[derive(Debug, thiserror::Error)]
pub(super) enum SessionError {
    #[error("cannot reach Snowflake")]
    Unreachable(#[source] reqwest::Error),
    /// Snowflake refused the login (wrong account, password or key, a disabled user ...).
    #[error("Snowflake refused the login: {0}")]
    Login(String),
    /// Snowflake refused the statement: its code, SQL state and message.
    #[error("{message}")]
    Statement {
        code: String,
        sql_state: Option<String>,
        message: String,
        query_id: Option<String>,
        /// Snowflake answered with a server error (HTTP 5xx), not a verdict on the SQL.
        internal: bool,
    },
    #[error("the statement ran past its deadline and was aborted")]
    Timeout(Duration),
    #[error("the statement was aborted on Stop")]
    Stopped,
    #[error("Snowflake's answer could not be read: {0}")]
    Protocol(String),
}

/// One statement to run, and what bounds it.
struct Query<'a> {
    sql: &'a str,
    started: Instant,
    deadline: Duration,
    tag: &'a str,
    stop: &'a StopSignal,
}

/// A statement Snowflake has accepted: what aborting it takes.
struct Running<'a> {
    query: &'a Query<'a>,
    request_id: &'a str,
    token: &'a str,
}

pub(super) struct Session {
    http: reqwest::Client,
    config: SnowflakeConfig,
    key: Option<KeyPair>,
    token: Mutex<Option<String>>,
}

impl Session {
    pub(super) fn new(config: SnowflakeConfig) -> Result<Session, String> {
        let key = match &config.auth {
            SnowflakeAuth::KeyPair { path, passphrase } => {
                Some(KeyPair::load(path, passphrase.as_ref())?)
            }
            SnowflakeAuth::Password(_) => None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("querybot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Session {
            http,
            config,
            key,
            token: Mutex::new(None),
        })
    }

    pub(super) fn config(&self) -> &SnowflakeConfig {
        &self.config
    }

    /// The session token, logging in first if there is none.
    /// Logs in unless the session holds a token already: whether the login is accepted.
    pub(super) async fn check(&self) -> Result<(), SessionError> {
        self.token().await.map(|_| ())
    }

    async fn token(&self) -> Result<String, SessionError> {
        let mut token = self.token.lock().await;
        if let Some(token) = token.as_ref() {
            return Ok(token.clone());
        }
        let fresh = self.login().await?;
        *token = Some(fresh.clone());
        Ok(fresh)
    }

    async fn forget_token(&self, stale: &str) {
        let mut token = self.token.lock().await;
        if token.as_deref() == Some(stale) {
            *token = None;
        }
    }

    async fn login(&self) -> Result<String, SessionError> {
        let config = &self.config;
        let mut data = json!({
            "CLIENT_APP_ID": "querybot",
            "CLIENT_APP_VERSION": env!("CARGO_PKG_VERSION"),
            "ACCOUNT_NAME": config.account.split('.').next().unwrap_or(&config.account).to_uppercase(),
            "LOGIN_NAME": config.user,
            "CLIENT_ENVIRONMENT": {"APPLICATION": "querybot", "OS": std::env::consts::OS},
            "SESSION_PARAMETERS": {
                "QUERY_TAG": "querybot",
                "CLIENT_SESSION_KEEP_ALIVE": false,
            },
        });
        match (&config.auth, &self.key) {
            (SnowflakeAuth::Password(password), _) => {
                data["PASSWORD"] = json!(password.expose_secret());
            }
            (SnowflakeAuth::KeyPair { .. }, Some(key)) => {
                data["AUTHENTICATOR"] = json!("SNOWFLAKE_JWT");
                data["TOKEN"] = json!(key.token(
                    &config.account,
                    &config.user,
                    chrono::Utc::now().timestamp()
                ));
            }
            (SnowflakeAuth::KeyPair { .. }, None) => {
                return Err(SessionError::Login(
                    "the private key was not loaded".to_owned(),
                ));
            }
        }
        let mut url = url::Url::parse(&format!("{}/session/v1/login-request", config.api_url))
            .map_err(|e| SessionError::Protocol(e.to_string()))?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("requestId", &uuid::Uuid::new_v4().to_string());
            for (key, value) in [
                ("databaseName", &config.database),
                ("schemaName", &config.schema),
                ("warehouse", &config.warehouse),
                ("roleName", &config.role),
            ] {
                if let Some(value) = value {
                    query.append_pair(key, value);
                }
            }
        }
        let body = json!({ "data": data });
        let response = self
            .send(|| self.http.post(url.clone()).json(&body))
            .await?;
        let envelope: Envelope<LoginData> = read(response).await?;
        match envelope
            .data
            .and_then(|d| d.token)
            .filter(|_| envelope.success)
        {
            Some(token) => Ok(token),
            None => Err(SessionError::Login(format!(
                "{} ({})",
                envelope
                    .message
                    .unwrap_or_else(|| "no reason given".to_owned()),
                envelope.code.unwrap_or_default()
            ))),
        }
    }

    /// Runs one statement until it finishes or `deadline` passes (then aborts it), logging in
    /// again once if the session expired.
    pub(super) async fn query(
        &self,
        sql: &str,
        deadline: Duration,
        tag: &str,
        stop: &StopSignal,
    ) -> Result<QueryData, SessionError> {
        let started = Instant::now();
        let query = Query {
            sql,
            started,
            deadline,
            tag,
            stop,
        };
        match self.query_once(&query).await {
            Err(SessionError::Statement { code, .. })
                if SESSION_EXPIRED.contains(&code.as_str()) =>
            {
                tracing::info!("Snowflake session expired; logging in again");
                self.query_once(&query).await
            }
            other => other,
        }
    }

    async fn query_once(&self, query: &Query<'_>) -> Result<QueryData, SessionError> {
        let token = self.token().await?;
        let request_id = uuid::Uuid::new_v4().to_string();
        let url = format!(
            "{}/queries/v1/query-request?requestId={request_id}",
            self.config.api_url
        );
        // The statement's own timeout, so Snowflake stops it even if querybot is gone.
        let body = json!({
            "sqlText": query.sql,
            "asyncExec": false,
            "sequenceId": 1,
            "isInternal": false,
            "parameters": {
                "STATEMENT_TIMEOUT_IN_SECONDS": query.deadline.as_secs().max(1),
                "QUERY_TAG": query.tag,
            },
        });
        let running = Running {
            query,
            request_id: &request_id,
            token: &token,
        };
        let (internal, mut envelope) = self
            .unless_stopped(&running, async {
                let response = self
                    .send(|| self.authorized(self.http.post(&url), &token).json(&body))
                    .await?;
                let internal = response.status().is_server_error();
                Ok((internal, read::<QueryData>(response).await?))
            })
            .await?;
        let mut pause = FIRST_POLL;
        loop {
            let code = envelope.code.clone().unwrap_or_default();
            if SESSION_EXPIRED.contains(&code.as_str()) {
                self.forget_token(&token).await;
            }
            if !STILL_RUNNING.contains(&code.as_str()) {
                return outcome(envelope, internal);
            }
            let result_url = envelope
                .data
                .as_ref()
                .and_then(|d| d.get_result_url.clone())
                .ok_or_else(|| {
                    SessionError::Protocol("a running statement without a result URL".to_owned())
                })?;
            if query.started.elapsed() + pause >= query.deadline {
                self.abort(&running).await;
                return Err(SessionError::Timeout(query.deadline));
            }
            let url = format!("{}{result_url}", self.config.api_url);
            envelope = self
                .unless_stopped(&running, async {
                    tokio::time::sleep(pause).await;
                    let response = self
                        .send(|| self.authorized(self.http.get(&url), &token))
                        .await?;
                    read(response).await
                })
                .await?;
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    /// Waits for `work` on a running statement unless Stop is raised first; then the
    /// statement is aborted in Snowflake, whatever querybot was waiting for (the first answer,
    /// which Snowflake holds back for a while, a pause between polls, or a poll).
    async fn unless_stopped<T>(
        &self,
        running: &Running<'_>,
        work: impl Future<Output = Result<T, SessionError>>,
    ) -> Result<T, SessionError> {
        tokio::select! {
            biased;
            () = running.query.stop.raised() => {
                self.abort(running).await;
                Err(SessionError::Stopped)
            }
            done = work => done,
        }
    }

    /// Asks Snowflake to stop a statement (best effort: it is logged when it fails).
    async fn abort(&self, running: &Running<'_>) {
        let url = format!("{}/queries/v1/abort-request", self.config.api_url);
        let body = json!({ "sqlText": running.query.sql, "requestId": running.request_id });
        let aborted = self
            .send(|| {
                self.authorized(self.http.post(&url), running.token)
                    .json(&body)
            })
            .await;
        if let Err(error) = aborted {
            tracing::warn!(%error, "cannot abort a Snowflake statement");
        }
    }

    /// Downloads a result chunk: its bytes, with the headers Snowflake named.
    pub(super) async fn chunk(&self, url: &str, data: &QueryData) -> Result<Vec<u8>, SessionError> {
        let response = self
            .send(|| {
                let mut request = self.http.get(url);
                match (&data.chunk_headers, &data.qrmk) {
                    (Some(headers), _) if !headers.is_empty() => {
                        for (name, value) in headers {
                            request = request.header(name, value);
                        }
                    }
                    (_, Some(qrmk)) => {
                        request = request
                            .header("x-amz-server-side-encryption-customer-algorithm", "AES256")
                            .header("x-amz-server-side-encryption-customer-key", qrmk);
                    }
                    _ => {}
                }
                request
            })
            .await?;
        if !response.status().is_success() {
            return Err(SessionError::Protocol(format!(
                "a result chunk answered {}",
                response.status()
            )));
        }
        let bytes = response.bytes().await.map_err(SessionError::Unreachable)?;
        gunzip_if_needed(bytes.to_vec())
    }

    /// Ends the session in Snowflake (best effort).
    pub(super) async fn close(&self) {
        let Some(token) = self.token.lock().await.take() else {
            return;
        };
        let url = format!("{}/session?delete=true", self.config.api_url);
        if let Err(error) = self.authorized(self.http.post(&url), &token).send().await {
            tracing::debug!(%error, "cannot close the Snowflake session");
        }
    }

    fn authorized(&self, request: reqwest::RequestBuilder, token: &str) -> reqwest::RequestBuilder {
        request
            .header("Authorization", format!("Snowflake Token=\"{token}\""))
            .header("Accept", "application/snowflake")
    }

    /// Sends a request, again after a connect error, a 429 or a 503 (a few times, with a
    /// pause); never after a 500, which may mean the statement ran.
    async fn send(
        &self,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SessionError> {
        let mut attempt = 1;
        loop {
            let retry = match request().send().await {
                Ok(response)
                    if matches!(
                        response.status(),
                        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                    ) =>
                {
                    if attempt >= ATTEMPTS {
                        return Ok(response);
                    }
                    retry_after(&response)
                        .unwrap_or(Duration::from_millis(250 * u64::from(attempt)))
                }
                Ok(response) => return Ok(response),
                Err(error) if error.is_connect() && attempt < ATTEMPTS => {
                    Duration::from_millis(250 * u64::from(attempt))
                }
                Err(error) => return Err(SessionError::Unreachable(error)),
            };
            tokio::time::sleep(retry.min(Duration::from_secs(10))).await;
            attempt += 1;
        }
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// Reads Snowflake's JSON envelope, whatever the status (errors come as JSON too).
async fn read<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<Envelope<T>, SessionError> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(SessionError::Unreachable)?;
    serde_json::from_slice(&bytes).map_err(|error| {
        let start = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
        SessionError::Protocol(format!("HTTP {status}, {error}: {start}"))
    })
}

/// A finished statement's data, or its refusal with Snowflake's code, state and query id.
fn outcome(envelope: Envelope<QueryData>, internal: bool) -> Result<QueryData, SessionError> {
    if envelope.success {
        return envelope
            .data
            .ok_or_else(|| SessionError::Protocol("a result without data".to_owned()));
    }
    let data = envelope.data.unwrap_or_default();
    Err(SessionError::Statement {
        code: envelope.code.or(data.error_code).unwrap_or_default(),
        sql_state: data.sql_state,
        message: envelope.message.unwrap_or_else(|| "no message".to_owned()),
        query_id: data.query_id,
        internal,
    })
}

/// Chunks may arrive gzip-compressed without saying so.
fn gunzip_if_needed(bytes: Vec<u8>) -> Result<Vec<u8>, SessionError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(bytes.as_slice()),
        &mut out,
    )
    .map_err(|e| SessionError::Protocol(format!("a gzip chunk could not be read: {e}")))?;
    Ok(out)
}
