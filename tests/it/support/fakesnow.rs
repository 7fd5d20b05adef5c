//! fakesnow, a Snowflake emulator speaking Snowflake's driver protocol over HTTP, as a real
//! peer for the Snowflake warehouse. `.ci/run` starts it and sets `QUERYBOT_FAKESNOW_URL`;
//! each test logs in to a database of its own, which fakesnow creates.

use serde_json::{Value, json};

/// fakesnow's address; `None` where it is not running (then Snowflake tests say so and
/// pass only outside CI, where `.ci/run` always starts it).
pub(crate) fn url() -> Option<String> {
    match std::env::var("QUERYBOT_FAKESNOW_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the Snowflake tests: QUERYBOT_FAKESNOW_URL is not set"
            );
            eprintln!(
                "fakesnow is not running (QUERYBOT_FAKESNOW_URL unset): Snowflake stories not told"
            );
            None
        }
    }
}

/// A database of one's own in fakesnow, and the settings that connect querybot to it.
pub(crate) struct FakeSnowDatabase {
    pub(crate) api_url: String,
    pub(crate) database: String,
    token: String,
    client: reqwest::Client,
}

impl FakeSnowDatabase {
    pub(crate) async fn create(api_url: &str) -> FakeSnowDatabase {
        let database = format!("QB_{}", uuid::Uuid::new_v4().simple()).to_uppercase();
        let client = reqwest::Client::new();
        let login: Value = client
            .post(format!(
                "{api_url}/session/v1/login-request?databaseName={database}&schemaName=PUBLIC"
            ))
            .json(&json!({"data": {"ACCOUNT_NAME": "test", "LOGIN_NAME": "seeder", "PASSWORD": "x", "SESSION_PARAMETERS": {}}}))
            .send()
            .await
            .expect("fakesnow answers")
            .json()
            .await
            .expect("a login answer");
        let token = login["data"]["token"].as_str().expect("a token").to_owned();
        FakeSnowDatabase {
            api_url: api_url.to_owned(),
            database,
            token,
            client,
        }
    }

    /// Runs statements one by one (Snowflake takes one per request).
    pub(crate) async fn run_script(&self, script: &str) {
        for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let answer: Value = self
                .client
                .post(format!(
                    "{}/queries/v1/query-request?requestId={}",
                    self.api_url,
                    uuid::Uuid::new_v4()
                ))
                .header(
                    "Authorization",
                    format!("Snowflake Token=\"{}\"", self.token),
                )
                .header("Accept", "application/snowflake")
                .json(&json!({"sqlText": statement, "asyncExec": false}))
                .send()
                .await
                .expect("fakesnow answers")
                .json()
                .await
                .expect("a query answer");
            assert_eq!(answer["success"], json!(true), "{statement}: {answer}");
        }
    }

    /// The connection URL for the Warehouse under test; the password goes in the URL.
    pub(crate) fn warehouse_url(&self) -> String {
        format!(
            "snowflake://tester:secret@test/{}/PUBLIC?warehouse=TEST_WH",
            self.database
        )
    }
}
