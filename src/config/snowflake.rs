//! A Snowflake connection's settings: `snowflake://USER@ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=ROLE`
//! in the URL, the secret beside it (`SNOWFLAKE_PASSWORD`, or a PKCS#8 key at
//! `SNOWFLAKE_PRIVATE_KEY_PATH` with `SNOWFLAKE_PRIVATE_KEY_PASSPHRASE` when it is encrypted),
//! and `SNOWFLAKE_API_URL` to reach a proxy or a local server instead of Snowflake.

use std::collections::HashMap;
use std::path::PathBuf;

use secrecy::SecretString;

use super::ConfigError;

#[derive(Debug, Clone)]
pub struct SnowflakeConfig {
    /// The account identifier (`myorg-myaccount`, or a locator such as `xy12345.eu-west-1`).
    pub account: String,
    pub user: String,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub warehouse: Option<String>,
    pub role: Option<String>,
    pub auth: SnowflakeAuth,
    /// `https://{account}.snowflakecomputing.com` unless `SNOWFLAKE_API_URL` says otherwise.
    pub api_url: String,
}

#[derive(Debug, Clone)]
pub enum SnowflakeAuth {
    Password(SecretString),
    /// Key-pair authentication: a signed JWT per login.
    KeyPair {
        path: PathBuf,
        passphrase: Option<SecretString>,
    },
}

/// Reads a `snowflake://` URL (its password, if it has one, is the credential) and the
/// credential settings.
pub(super) fn snowflake_config(
    setting: &str,
    url: &str,
    env: &HashMap<String, String>,
) -> Result<SnowflakeConfig, ConfigError> {
    let value = |name: &str| {
        env.get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let shape = "expected snowflake://USER@ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=ROLE";
    let parsed = url::Url::parse(url).map_err(|_| ConfigError::new(setting, shape))?;
    let decode = |text: &str| {
        percent_decode(text)
            .ok_or_else(|| ConfigError::new(setting, format!("{shape} (a %-escape is not UTF-8)")))
    };
    let user = decode(parsed.username())?;
    let account = parsed.host_str().unwrap_or_default().to_owned();
    if user.is_empty() || account.is_empty() {
        return Err(ConfigError::new(setting, shape));
    }
    let mut path = parsed
        .path_segments()
        .into_iter()
        .flatten()
        .filter(|segment| !segment.is_empty())
        .map(decode);
    let database = path.next().transpose()?;
    let schema = path.next().transpose()?;
    if path.next().is_some() {
        return Err(ConfigError::new(
            setting,
            format!("{shape} (too many path parts)"),
        ));
    }
    let mut warehouse = None;
    let mut role = None;
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "warehouse" => warehouse = Some(value.into_owned()),
            "role" => role = Some(value.into_owned()),
            other => {
                return Err(ConfigError::new(
                    setting,
                    format!("unknown Snowflake URL parameter `{other}` (known: warehouse, role)"),
                ));
            }
        }
    }
    let auth = match (parsed.password(), value("SNOWFLAKE_PRIVATE_KEY_PATH")) {
        (Some(password), _) => SnowflakeAuth::Password(SecretString::from(decode(password)?)),
        (None, Some(path)) => {
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(ConfigError::new(
                    "SNOWFLAKE_PRIVATE_KEY_PATH",
                    format!("no key file at {}", path.display()),
                ));
            }
            SnowflakeAuth::KeyPair {
                path,
                passphrase: value("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE").map(SecretString::from),
            }
        }
        (None, None) => match value("SNOWFLAKE_PASSWORD") {
            Some(password) => SnowflakeAuth::Password(SecretString::from(password)),
            None => {
                return Err(ConfigError::new(
                    "SNOWFLAKE_PASSWORD",
                    "a Snowflake connection needs SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH \
                     (key-pair authentication)",
                ));
            }
        },
    };
    let api_url = match value("SNOWFLAKE_API_URL") {
        Some(api) => match url::Url::parse(&api) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                api.trim_end_matches('/').to_owned()
            }
            _ => {
                return Err(ConfigError::new(
                    "SNOWFLAKE_API_URL",
                    format!("expected an http(s) URL, got `{api}`"),
                ));
            }
        },
        None => format!("https://{account}.snowflakecomputing.com"),
    };
    Ok(SnowflakeConfig {
        account,
        user,
        database,
        schema,
        warehouse,
        role,
        auth,
        api_url,
    })
}

fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn parse(url: &str, env: &[(&str, &str)]) -> Result<SnowflakeConfig, ConfigError> {
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        snowflake_config("WAREHOUSE_URL", url, &env)
    }

    #[test]
    fn a_url_names_account_user_database_schema_warehouse_and_role() {
        let config = parse(
            "snowflake://ANALYST@myorg-acct/SALES/PUBLIC?warehouse=SMALL_WH&role=QUERYBOT_RO",
            &[("SNOWFLAKE_PASSWORD", "pw")],
        )
        .expect("parses");
        assert_eq!(config.account, "myorg-acct");
        assert_eq!(config.user, "ANALYST");
        assert_eq!(config.database.as_deref(), Some("SALES"));
        assert_eq!(config.schema.as_deref(), Some("PUBLIC"));
        assert_eq!(config.warehouse.as_deref(), Some("SMALL_WH"));
        assert_eq!(config.role.as_deref(), Some("QUERYBOT_RO"));
        assert_eq!(config.api_url, "https://myorg-acct.snowflakecomputing.com");
        assert!(matches!(&config.auth, SnowflakeAuth::Password(p) if p.expose_secret() == "pw"));
    }

    #[test]
    fn the_password_may_sit_in_the_url_and_the_server_may_be_local() {
        let config = parse(
            "snowflake://me:p%40ss@acct/DB",
            &[("SNOWFLAKE_API_URL", "http://127.0.0.1:9999/")],
        )
        .expect("parses");
        assert!(matches!(&config.auth, SnowflakeAuth::Password(p) if p.expose_secret() == "p@ss"));
        assert_eq!(config.api_url, "http://127.0.0.1:9999");
        assert_eq!(config.schema, None);
    }

    #[test]
    fn bad_urls_and_missing_credentials_name_the_setting() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: [Case; 6] = [
            (
                "snowflake://acct/DB",
                &[("SNOWFLAKE_PASSWORD", "x")],
                "WAREHOUSE_URL",
            ),
            (
                "snowflake://u@acct/DB/S/extra",
                &[("SNOWFLAKE_PASSWORD", "x")],
                "WAREHOUSE_URL",
            ),
            (
                "snowflake://u@acct/DB?wh=X",
                &[("SNOWFLAKE_PASSWORD", "x")],
                "WAREHOUSE_URL",
            ),
            ("snowflake://u@acct/DB", &[], "SNOWFLAKE_PASSWORD"),
            (
                "snowflake://u@acct/DB",
                &[("SNOWFLAKE_PRIVATE_KEY_PATH", "/no/such/key.p8")],
                "SNOWFLAKE_PRIVATE_KEY_PATH",
            ),
            (
                "snowflake://u@acct/DB",
                &[
                    ("SNOWFLAKE_PASSWORD", "x"),
                    ("SNOWFLAKE_API_URL", "ftp://x"),
                ],
                "SNOWFLAKE_API_URL",
            ),
        ];
        for (url, env, setting) in cases {
            let error = parse(url, env).expect_err(url);
            assert_eq!(error.setting, setting, "{url}: {error}");
        }
    }
}
