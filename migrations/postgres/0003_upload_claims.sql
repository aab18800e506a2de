-- Completing or cancelling an upload first claims it (one at a time); a claim older than a
-- few minutes is from a crashed process and may be taken over.
ALTER TABLE uploads ADD COLUMN claimed_at BIGINT;
CREATE INDEX uploads_open_expiry ON uploads(completed_at, expires_at);
CREATE INDEX uploads_creator ON uploads(created_by, completed_at);
