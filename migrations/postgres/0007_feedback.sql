-- That a draft's SQL is one of its connection's verified queries, and whose, as JSON.
ALTER TABLE drafts ADD COLUMN verified TEXT;

-- What people said of an answer: good (a thumbs-up) or bad, with what was wrong.
CREATE TABLE feedback (
    id       TEXT PRIMARY KEY,
    draft_id TEXT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    person   TEXT NOT NULL,
    verdict  TEXT NOT NULL CHECK (verdict IN ('good', 'bad')),
    comment  TEXT,
    at       TEXT NOT NULL
);
CREATE INDEX feedback_by_draft ON feedback (draft_id);
