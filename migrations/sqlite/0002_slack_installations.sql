-- Slack workspaces that installed querybot through OAuth. The bot token is encrypted by the
-- application (ChaCha20-Poly1305, key from SLACK_TOKEN_KEY) before it is stored.
CREATE TABLE slack_installations (
    team_id         TEXT PRIMARY KEY,
    enterprise_id   TEXT,
    team_name       TEXT,
    bot_user_id     TEXT NOT NULL,
    bot_token       TEXT NOT NULL,
    scope           TEXT NOT NULL,
    app_id          TEXT,
    installed_by    TEXT,
    installed_at    TEXT NOT NULL
);

-- OAuth `state` values handed out by /slack/install, checked once by the callback.
CREATE TABLE oauth_states (
    state       TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
);
