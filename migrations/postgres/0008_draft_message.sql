-- The message that shows a draft (a Slack ts, a Discord channel/message), so that querybot
-- can update it without an inbound event: after taking back a run whose process died.
ALTER TABLE drafts ADD COLUMN message TEXT;
