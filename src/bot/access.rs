//! Who may do what, decided once for every surface: a person's role from `[access]`, whether
//! they may use a connection (`allow`), and the database role their queries run as
//! (`db_roles`). Surfaces say who acts ([`Person`]: their id and the groups and channels they
//! act from); nothing here knows how a platform finds those out.

use std::collections::BTreeMap;

use crate::config::{AccessConfig, Config, ConnectionAccess, Identity, Role};
use crate::store::UserId;

/// The terminal's user: the operator, who holds the configuration and its secrets anyway.
const CONSOLE: &str = "console";

/// Someone acting on a surface, as access rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: UserId,
    /// The person themself, their groups or roles, and the channels they act in.
    pub identities: Vec<Identity>,
}

impl Person {
    /// A person known only by id (the terminal, tests): their own identity, no groups.
    pub fn new(id: UserId) -> Person {
        let identities = own_identity(&id).into_iter().collect();
        Person { id, identities }
    }

    /// Adds groups (Slack user groups, Discord roles) and the channels the person acts in.
    pub fn with(mut self, identities: impl IntoIterator<Item = Identity>) -> Person {
        self.identities.extend(identities);
        self
    }
}

/// `slack:T1:U1` -> `slack:U1`; `discord:42` -> `discord:42`.
fn own_identity(id: &UserId) -> Option<Identity> {
    let platform = id.surface();
    matches!(platform, "slack" | "discord").then(|| Identity::person(platform, id.platform_user()))
}

/// The access rules of one configuration.
#[derive(Debug, Clone, Default)]
pub struct Access {
    config: AccessConfig,
    connections: BTreeMap<String, ConnectionAccess>,
}

impl Access {
    pub fn from_config(config: &Config) -> Access {
        Access {
            config: config.access.clone(),
            connections: config
                .connections
                .iter()
                .map(|(name, c)| (name.clone(), c.access.clone()))
                .collect(),
        }
    }

    /// The highest role any of the person's identities has, else the default role. The
    /// terminal's user is an admin.
    pub fn role(&self, person: &Person) -> Role {
        if person.id.as_str() == CONSOLE {
            return Role::Admin;
        }
        person
            .identities
            .iter()
            .filter_map(|identity| self.config.roles.get(identity))
            .max()
            .copied()
            .unwrap_or(self.config.default_role)
    }

    /// Whether the person may use `connection`: it lets everyone, or names one of their
    /// identities (themself, a group, the channel). The terminal's user may use every one.
    pub fn may_use(&self, connection: &str, person: &Person) -> bool {
        if person.id.as_str() == CONSOLE {
            return true;
        }
        match self
            .connections
            .get(connection)
            .and_then(|c| c.allow.as_ref())
        {
            None => true,
            Some(allowed) => person.identities.iter().any(|i| allowed.contains(i)),
        }
    }

    /// The database role the person's queries on `connection` run as: their own entry, else
    /// their first group's in the configuration's order; `None` runs as the connection's
    /// own role.
    pub fn db_role(&self, connection: &str, person: &Person) -> Option<String> {
        let roles = &self.connections.get(connection)?.db_roles;
        let own = own_identity(&person.id).and_then(|own| roles.get(&own));
        own.or_else(|| {
            roles
                .iter()
                .find(|(identity, _)| person.identities.contains(identity))
                .map(|(_, role)| role)
        })
        .cloned()
    }

    /// Whom refusals tell people to ask.
    pub fn contact(&self) -> &str {
        self.config.contact.as_deref().unwrap_or("an admin")
    }

    /// The Slack user groups the rules name, whose members the Slack surface looks up.
    pub fn slack_groups(&self) -> Vec<String> {
        let named = self.config.roles.keys().chain(
            self.connections
                .values()
                .flat_map(|c| c.allow.iter().flatten().chain(c.db_roles.keys())),
        );
        let mut groups: Vec<String> = named
            .filter_map(|i| i.slack_group().map(str::to_owned))
            .collect();
        groups.sort();
        groups.dedup();
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(toml_text: &str) -> Access {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("querybot.toml");
        std::fs::write(&path, toml_text).expect("toml");
        let env = [("QUERYBOT_CONFIG".to_owned(), path.display().to_string())].into();
        Access::from_config(&Config::from_env(&env).expect("valid"))
    }

    fn slack(user: &str, groups: &[&str]) -> Person {
        Person::new(UserId::new(format!("slack:T1:{user}")))
            .with(groups.iter().map(|g| Identity::group("slack", g)))
    }

    const RULES: &str = r#"
        [access]
        default_role = "viewer"
        admins = ["slack:U1"]
        analysts = ["slack:group:S1"]
        [connections.finance]
        url = "postgres://localhost/finance"
        allow = ["slack:group:S1", "slack:channel:C9"]
        [connections.finance.db_roles]
        "slack:group:S1" = "finance_analyst"
        "slack:U2" = "finance_lead"
    "#;

    #[test]
    fn roles_come_from_the_person_or_their_groups_else_the_default() {
        let access = access(RULES);
        assert_eq!(access.role(&slack("U1", &[])), Role::Admin);
        assert_eq!(access.role(&slack("U3", &["S1"])), Role::Analyst);
        assert_eq!(access.role(&slack("U4", &[])), Role::Viewer);
        assert_eq!(
            access.role(&Person::new(UserId::new("console"))),
            Role::Admin
        );
    }

    #[test]
    fn a_connection_allows_whom_it_names_including_channels() {
        let access = access(RULES);
        assert!(access.may_use("default", &slack("U4", &[])));
        assert!(access.may_use("finance", &slack("U3", &["S1"])));
        assert!(!access.may_use("finance", &slack("U4", &[])));
        let in_channel = slack("U4", &[]).with([Identity::channel("slack", "C9")]);
        assert!(access.may_use("finance", &in_channel));
    }

    #[test]
    fn a_persons_own_database_role_wins_over_their_groups() {
        let access = access(RULES);
        assert_eq!(
            access.db_role("finance", &slack("U2", &["S1"])).as_deref(),
            Some("finance_lead")
        );
        assert_eq!(
            access.db_role("finance", &slack("U3", &["S1"])).as_deref(),
            Some("finance_analyst")
        );
        assert_eq!(access.db_role("finance", &slack("U4", &[])), None);
        assert_eq!(access.db_role("default", &slack("U2", &[])), None);
        assert_eq!(access.slack_groups(), ["S1"]);
    }
}
