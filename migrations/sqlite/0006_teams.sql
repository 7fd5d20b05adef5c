-- The database role a run's query ran as, where the connection maps people to roles.
ALTER TABLE runs ADD COLUMN db_role TEXT;

-- One use that counts against a limit (a question, a run), under a key naming whose
-- limit it is ("questions:slack:U1"). Kept for a day.
CREATE TABLE usage (
    key TEXT NOT NULL,
    at  TEXT NOT NULL
);
CREATE INDEX usage_by_key ON usage (key, at);

-- One row per limit key: taking a slot locks its row, so replicas sharing the store count
-- exactly.
CREATE TABLE limit_keys (
    key TEXT PRIMARY KEY
);

-- Refusals and admin actions: who, what, on which connection, and why.
CREATE TABLE audit (
    id         TEXT PRIMARY KEY,
    at         TEXT NOT NULL,
    person     TEXT NOT NULL,
    action     TEXT NOT NULL,
    connection TEXT,
    outcome    TEXT NOT NULL,
    detail     TEXT
);
CREATE INDEX audit_by_time ON audit (at);
