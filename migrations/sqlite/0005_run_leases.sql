-- A running draft's lease: the process running it renews it while the run lasts, so a run
-- whose process died is noticed once its lease has passed. And who pressed Stop, until the
-- run has stopped.
ALTER TABLE drafts ADD COLUMN lease_until TEXT;
ALTER TABLE drafts ADD COLUMN stop_requested_by TEXT;
-- Who stopped a run that was stopped on request.
ALTER TABLE runs ADD COLUMN stopped_by TEXT;
