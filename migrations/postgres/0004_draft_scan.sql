-- What a draft's plan says it will scan (bytes and partitions, where the warehouse tells),
-- as JSON, and whether that is more than the bot warns above.
ALTER TABLE drafts ADD COLUMN scan TEXT;
