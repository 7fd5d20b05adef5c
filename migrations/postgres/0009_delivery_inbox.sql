-- A delivery is kept with its payload until it is handled, so that one acknowledged by a
-- process that then died is handled after all, by whichever replica takes it first.
ALTER TABLE processed_events ADD COLUMN payload TEXT;
-- The process handling it, and until when its claim holds unless renewed.
ALTER TABLE processed_events ADD COLUMN owner TEXT;
ALTER TABLE processed_events ADD COLUMN lease_until TEXT;
ALTER TABLE processed_events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
-- The message already posted for it (a question's placeholder), which a replay reuses.
ALTER TABLE processed_events ADD COLUMN message TEXT;
CREATE INDEX processed_events_unhandled ON processed_events (lease_until) WHERE payload IS NOT NULL;
