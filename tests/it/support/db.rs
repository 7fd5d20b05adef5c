//! Throwaway databases: a fresh PostgreSQL database per test, or an SQLite file in a temp dir.

use std::path::PathBuf;

use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

/// A table and two views over it, one without `security_barrier` (which may leak the rows
/// it filters out) and one with it.
pub(crate) const VIEWS_WITH_AND_WITHOUT_BARRIER: &str = "CREATE TABLE accounts (id int, owner text, tier text); \
     CREATE VIEW v_plain AS SELECT id, owner FROM accounts WHERE tier <> 'internal'; \
     CREATE VIEW v_barrier WITH (security_barrier) AS SELECT id, owner FROM accounts WHERE tier <> 'internal';";

/// The server tests create their databases on (`TEST_DATABASE_URL`).
pub(crate) fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A PostgreSQL database that exists for one test and is dropped after it.
pub(crate) struct PgDatabase {
    pub(crate) name: String,
    pub(crate) url: String,
    /// Login roles made for this database, dropped with it.
    roles: std::sync::Mutex<Vec<String>>,
}

impl PgDatabase {
    pub(crate) async fn create() -> PgDatabase {
        let name = format!("querybot_test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&server_url())
            .await
            .expect("PostgreSQL for tests is reachable at TEST_DATABASE_URL");
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("test database is created");
        let base = server_url();
        let (server, _) = base
            .rsplit_once('/')
            .expect("TEST_DATABASE_URL names a database");
        PgDatabase {
            url: format!("{server}/{name}"),
            name,
            roles: std::sync::Mutex::default(),
        }
    }

    /// A login role `<database>_<suffix>` that may connect, given `grants` (in which `{role}`
    /// names it); returns its URL. The role is dropped with the database.
    pub(crate) async fn role(&self, suffix: &str, grants: &str) -> String {
        let role = format!("{}_{suffix}", self.name);
        self.roles.lock().expect("roles lock").push(role.clone());
        self.run_script(&format!(
            "CREATE ROLE {role} LOGIN; GRANT CONNECT ON DATABASE {} TO {role}; {}",
            self.name,
            grants.replace("{role}", &role)
        ))
        .await;
        self.url.replacen("postgres@", &format!("{role}@"), 1)
    }

    /// Runs a script of several statements (fixtures, grants) as the administrator.
    pub(crate) async fn run_script(&self, script: &str) {
        let mut conn = PgConnection::connect(&self.url)
            .await
            .expect("test database is reachable");
        sqlx::raw_sql(sqlx::AssertSqlSafe(script.to_owned()))
            .execute(&mut conn)
            .await
            .expect("script runs");
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let roles = std::mem::take(&mut *self.roles.lock().unwrap_or_else(|e| e.into_inner()));
        // Drop runs outside any runtime guarantee, so use a private one on its own thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server_url()).await.ok()?;
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                admin.execute(sqlx::AssertSqlSafe(drop)).await.ok()?;
                // With the database gone, its roles own nothing and hold no grants.
                for role in roles {
                    let drop = format!("DROP ROLE IF EXISTS {role}");
                    admin.execute(sqlx::AssertSqlSafe(drop)).await.ok()?;
                }
                Some(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// An SQLite file in its own temporary folder, removed with it.
pub(crate) struct SqliteFile {
    _dir: tempfile::TempDir,
    pub(crate) path: PathBuf,
}

impl SqliteFile {
    pub(crate) fn new(file_name: &str) -> SqliteFile {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(file_name);
        SqliteFile { _dir: dir, path }
    }

    pub(crate) fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}
