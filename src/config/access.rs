//! Teams: who may do what. `[access]` gives people and groups a role, `[limits]` bounds how
//! much anyone may ask and run, and a connection may say who may use it (`allow`) and as
//! which database role each person's queries run (`[connections.NAME.db_roles]`).
//!
//! People, groups and channels are written the same way everywhere ([`Identity`]):
//! `slack:U0123`, `slack:group:S0456`, `slack:channel:C0789`, `discord:1234…`,
//! `discord:role:5678…`, `discord:channel:9012…`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;

use super::ConfigError;

/// What a person may do. Ordered: each role may do everything the one before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Asks, sees drafts and answers, runs only drafts whose SQL is a verified query.
    Viewer,
    /// Asks, runs and edits SQL.
    Analyst,
    /// All that, and the admin commands.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "analyst" => Some(Role::Analyst),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person, a group or a channel on a chat platform, as the configuration names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity(String);

impl Identity {
    /// Parses `text`, or says what forms an identity takes.
    pub fn parse(text: &str) -> Result<Identity, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let slack_id = |id: &str, first: &[char]| {
            id.len() >= 2
                && id.starts_with(first)
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        let discord_id = |id: &str| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit());
        let valid = match parts.as_slice() {
            ["slack", user] => slack_id(user, &['U', 'W']),
            ["slack", "group", group] => slack_id(group, &['S']),
            ["slack", "channel", channel] => slack_id(channel, &['C', 'G', 'D']),
            ["discord", user] => discord_id(user),
            ["discord", "role" | "channel", id] => discord_id(id),
            _ => false,
        };
        if valid {
            Ok(Identity(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not a person, group or channel: expected slack:U…, \
                 slack:group:S…, slack:channel:C…, discord:<id>, discord:role:<id> or \
                 discord:channel:<id>"
            ))
        }
    }

    /// The identity of a person on a platform (`slack`, `discord`).
    pub fn person(platform: &str, user: &str) -> Identity {
        Identity(format!("{platform}:{user}"))
    }

    /// A group a person belongs to: a Slack user group, a Discord role.
    pub fn group(platform: &str, group: &str) -> Identity {
        let kind = if platform == "discord" {
            "role"
        } else {
            "group"
        };
        Identity(format!("{platform}:{kind}:{group}"))
    }

    /// A channel a question is asked in.
    pub fn channel(platform: &str, channel: &str) -> Identity {
        Identity(format!("{platform}:channel:{channel}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A Slack user group's id (`S0456`), for looking up its members.
    pub fn slack_group(&self) -> Option<&str> {
        self.0.strip_prefix("slack:group:")
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[access]`: roles by identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    /// The role of everyone the lists do not name.
    pub default_role: Role,
    /// Roles given by name; a person named (or in a group named) under several roles has the
    /// highest.
    pub roles: BTreeMap<Identity, Role>,
    /// Whom a refusal tells people to ask ("@dana or #data-help").
    pub contact: Option<String>,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            default_role: Role::Analyst,
            roles: BTreeMap::new(),
            contact: None,
        }
    }
}

/// `[limits]`: how much one person, one workspace and one connection may use. Zero turns a
/// limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageLimits {
    pub questions_per_hour: u32,
    pub runs_per_hour: u32,
    /// Questions per hour from one Slack workspace or Discord server, everyone together.
    pub workspace_questions_per_hour: u32,
    /// LLM tokens per day (UTC) per connection.
    pub tokens_per_day: u64,
    /// Whether admins are held to the limits too.
    pub limit_admins: bool,
}

impl Default for UsageLimits {
    fn default() -> Self {
        UsageLimits {
            questions_per_hour: 30,
            runs_per_hour: 60,
            workspace_questions_per_hour: 600,
            tokens_per_day: 0,
            limit_admins: false,
        }
    }
}

/// Who may use one connection, and as which database role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionAccess {
    /// People, groups and channels that may use the connection; `None` lets everyone.
    pub allow: Option<Vec<Identity>>,
    /// The database role each identity's queries run as; the connection's own for others.
    pub db_roles: BTreeMap<Identity, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileAccess {
    default_role: Option<String>,
    #[serde(default)]
    admins: Vec<String>,
    #[serde(default)]
    analysts: Vec<String>,
    #[serde(default)]
    viewers: Vec<String>,
    contact: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileLimits {
    questions_per_hour: Option<u64>,
    runs_per_hour: Option<u64>,
    workspace_questions_per_hour: Option<u64>,
    tokens_per_day: Option<u64>,
    limit_admins: Option<bool>,
}

pub(super) fn access_config(
    env: &HashMap<String, String>,
    file: FileAccess,
) -> Result<AccessConfig, ConfigError> {
    let default_role = match env
        .get("QUERYBOT_DEFAULT_ROLE")
        .filter(|v| !v.trim().is_empty())
        .cloned()
        .map(|v| ("QUERYBOT_DEFAULT_ROLE", v))
        .or(file.default_role.map(|v| ("access.default_role", v)))
    {
        None => Role::Analyst,
        Some((setting, text)) => Role::parse(text.trim()).ok_or_else(|| {
            ConfigError::new(
                setting,
                format!("expected viewer, analyst or admin, got `{text}`"),
            )
        })?,
    };
    let mut roles = BTreeMap::new();
    // Higher roles come later: a person named under several gets the highest.
    for (setting, names, role) in [
        ("access.viewers", file.viewers, Role::Viewer),
        ("access.analysts", file.analysts, Role::Analyst),
        ("access.admins", file.admins, Role::Admin),
    ] {
        for name in names {
            let identity = Identity::parse(&name).map_err(|e| ConfigError::new(setting, e))?;
            roles.insert(identity, role);
        }
    }
    Ok(AccessConfig {
        default_role,
        roles,
        contact: file.contact.filter(|c| !c.trim().is_empty()),
    })
}

pub(super) fn usage_limits(
    env: &HashMap<String, String>,
    file: FileLimits,
) -> Result<UsageLimits, ConfigError> {
    let defaults = UsageLimits::default();
    let number = |variable: &str, from_file: Option<u64>| -> Result<Option<u64>, ConfigError> {
        match env.get(variable).filter(|v| !v.trim().is_empty()) {
            Some(text) => text.trim().parse().map(Some).map_err(|_| {
                ConfigError::new(
                    variable,
                    format!("expected a whole number (0 turns the limit off), got `{text}`"),
                )
            }),
            None => Ok(from_file),
        }
    };
    let per_hour = |variable: &str, from_file: Option<u64>, default: u32| {
        number(variable, from_file)?.map_or(Ok(default), |n| {
            u32::try_from(n).map_err(|_| ConfigError::new(variable, format!("{n} is too large")))
        })
    };
    let limit_admins = match env
        .get("QUERYBOT_LIMIT_ADMINS")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        None => file.limit_admins.unwrap_or(defaults.limit_admins),
        Some("on" | "true" | "1") => true,
        Some("off" | "false" | "0") => false,
        Some(other) => {
            return Err(ConfigError::new(
                "QUERYBOT_LIMIT_ADMINS",
                format!("expected on or off, got `{other}`"),
            ));
        }
    };
    Ok(UsageLimits {
        questions_per_hour: per_hour(
            "QUERYBOT_LIMIT_QUESTIONS",
            file.questions_per_hour,
            defaults.questions_per_hour,
        )?,
        runs_per_hour: per_hour(
            "QUERYBOT_LIMIT_RUNS",
            file.runs_per_hour,
            defaults.runs_per_hour,
        )?,
        workspace_questions_per_hour: per_hour(
            "QUERYBOT_LIMIT_WORKSPACE_QUESTIONS",
            file.workspace_questions_per_hour,
            defaults.workspace_questions_per_hour,
        )?,
        tokens_per_day: number("QUERYBOT_LIMIT_TOKENS", file.tokens_per_day)?
            .unwrap_or(defaults.tokens_per_day),
        limit_admins,
    })
}

/// A connection's `allow` and `db_roles`, checked.
pub(super) fn connection_access(
    name: &str,
    allow: Option<Vec<String>>,
    db_roles: BTreeMap<String, String>,
) -> Result<ConnectionAccess, ConfigError> {
    let allow = allow
        .map(|names| {
            names
                .iter()
                .map(|n| Identity::parse(n))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ConfigError::new(&format!("connections.{name}.allow"), e))
        })
        .transpose()?;
    let mut roles = BTreeMap::new();
    for (who, role) in db_roles {
        let setting = format!("connections.{name}.db_roles");
        let identity = Identity::parse(&who).map_err(|e| ConfigError::new(&setting, e))?;
        if identity.as_str().contains(":channel:") {
            return Err(ConfigError::new(
                &setting,
                format!("`{who}` is a channel; database roles belong to people and groups"),
            ));
        }
        let valid = !role.is_empty()
            && role.len() <= 63
            && role
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(ConfigError::new(
                &setting,
                format!("`{role}` is not a database role name (letters, digits, `_`, `-`)"),
            ));
        }
        roles.insert(identity, role);
    }
    Ok(ConnectionAccess {
        allow,
        db_roles: roles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_take_the_documented_forms_only() {
        for good in [
            "slack:U0123",
            "slack:W0123",
            "slack:group:S0456",
            "slack:channel:C0789",
            "discord:123456789012345678",
            "discord:role:5678",
            "discord:channel:9012",
        ] {
            assert!(Identity::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "U0123",
            "slack:u0123",
            "slack:group:U1",
            "discord:abc",
            "discord:role:",
            "teams:U1",
            "slack:T1:U1",
        ] {
            assert!(Identity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_highest_role_naming_a_person_wins() {
        let file = FileAccess {
            admins: vec!["slack:U1".into()],
            viewers: vec!["slack:U1".into(), "slack:U2".into()],
            ..FileAccess::default()
        };
        let access = access_config(&HashMap::new(), file).expect("valid");
        assert_eq!(access.roles[&Identity::person("slack", "U1")], Role::Admin);
        assert_eq!(access.roles[&Identity::person("slack", "U2")], Role::Viewer);
        assert_eq!(access.default_role, Role::Analyst);
    }
}
