-- querybot's own state. Timestamps are UTC RFC 3339 text with milliseconds, the same in every
-- backend, so one set of queries serves PostgreSQL and SQLite and text order is time order.

CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,
    platform    TEXT NOT NULL,
    workspace   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    thread      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (platform, workspace, channel, thread)
);

-- A draft is SQL waiting for its asker's confirmation, then its execution state.
CREATE TABLE drafts (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    author          TEXT NOT NULL,
    connection      TEXT NOT NULL,
    question        TEXT NOT NULL,
    sql             TEXT NOT NULL,
    explanation     TEXT,
    estimated_rows  BIGINT,
    repair_rounds   BIGINT NOT NULL DEFAULT 0,
    -- LLM tokens spent writing (and repairing) the SQL.
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    state           TEXT NOT NULL
        CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled', 'expired')),
    claimed_by      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX drafts_by_state ON drafts (state, created_at);
CREATE INDEX drafts_by_conversation ON drafts (conversation_id);

-- One question asked in a conversation; its SQL and state live in its draft, if one was made.
CREATE TABLE turns (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    question        TEXT NOT NULL,
    draft_id        TEXT REFERENCES drafts (id) ON DELETE SET NULL,
    failure         TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX turns_by_conversation ON turns (conversation_id, id);

-- History and audit of every execution against a warehouse.
CREATE TABLE runs (
    id                TEXT PRIMARY KEY,
    draft_id          TEXT REFERENCES drafts (id) ON DELETE SET NULL,
    requested_by      TEXT NOT NULL,
    connection        TEXT NOT NULL,
    sql               TEXT NOT NULL,
    row_count         BIGINT,
    truncated         INTEGER NOT NULL DEFAULT 0, -- 1 when a cap cut the result
    duration_ms       BIGINT NOT NULL,
    error             TEXT,
    prompt_tokens     BIGINT,
    completion_tokens BIGINT,
    created_at        TEXT NOT NULL
);
CREATE INDEX runs_by_time ON runs (created_at);
CREATE INDEX runs_by_draft ON runs (draft_id);

-- Platform event ids already handled, so retried deliveries are dropped on any replica.
CREATE TABLE processed_events (
    event_id    TEXT PRIMARY KEY,
    received_at TEXT NOT NULL
);
CREATE INDEX processed_events_by_time ON processed_events (received_at);

-- Verified question and SQL pairs promoted from chat, used as examples in prompts.
CREATE TABLE examples (
    id          TEXT PRIMARY KEY,
    connection  TEXT NOT NULL,
    question    TEXT NOT NULL,
    sql         TEXT NOT NULL,
    promoted_by TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX examples_by_connection ON examples (connection);

-- The last introspected catalog of each warehouse connection, as JSON.
CREATE TABLE catalogs (
    connection   TEXT PRIMARY KEY,
    catalog      TEXT NOT NULL,
    refreshed_at TEXT NOT NULL
);
